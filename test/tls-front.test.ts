// The loopback TLS front's simulated network (the bench's cold starts rest on it): a request costs one round
// trip, a new connection two more; and what it counts. Only lower bounds and a generous ceiling are asserted:
// a timer can fire late on a busy machine, never early.

import { mkdtempSync, readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";
import { generateLoopbackCertificate } from "../local/tls-cert";
import { startTlsFront, type TlsFront } from "../local/tls-front";

const ROUND_TRIP_MS = 100;

let stytch: StytchEmulator;
let front: TlsFront;
let ca: Buffer;

beforeAll(async () => {
  stytch = await startStytchEmulator();
  const { certPath, keyPath } = generateLoopbackCertificate(mkdtempSync(join(tmpdir(), "tls-front-")));
  ca = readFileSync(certPath);
  front = await startTlsFront(
    "delayed",
    stytch.url,
    { cert: ca, key: readFileSync(keyPath) },
    {
      roundTripMs: ROUND_TRIP_MS,
    },
  );
});

afterAll(async () => {
  await front?.close();
  await stytch?.close();
});

/** GETs `path` through the front (trusting its certificate only) and resolves with the status and the time taken. */
function get(path: string, agent: Agent): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request(new URL(path, front.url), { agent, ca }, (response) => {
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }));
    })
      .on("error", reject)
      .end();
  });
}

test("a new connection's first answer waits three round trips, the next request on the same connection one", async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  try {
    const jwks = `/v1/b2b/sessions/jwks/${stytch.projectId}`;
    const first = await get(jwks, agent);
    const second = await get(jwks, agent);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.ms).toBeGreaterThanOrEqual(3 * ROUND_TRIP_MS - 1);
    expect(second.ms).toBeGreaterThanOrEqual(ROUND_TRIP_MS - 1);
    expect(second.ms).toBeLessThan(3 * ROUND_TRIP_MS); // the handshakes are not paid twice
  } finally {
    agent.destroy();
  }
});

test("it counts the key-set, RBAC-policy and other requests apart, and the connections", async () => {
  const before = { ...front.counts };
  const agent = new Agent({ keepAlive: false, ca });
  try {
    await get(`/v1/b2b/sessions/jwks/${stytch.projectId}`, agent);
    await get("/v1/b2b/rbac/policy", agent);
    await get("/v1/b2b/somewhere-else", agent);
  } finally {
    agent.destroy();
  }
  expect(front.counts.jwks - before.jwks).toBe(1);
  expect(front.counts.rbacPolicy - before.rbacPolicy).toBe(1);
  expect(front.counts.other - before.other).toBe(1);
  expect(front.counts.authenticate - before.authenticate).toBe(0);
  expect(front.counts.connections - before.connections).toBe(3);
});

test("a negative round trip is refused", async () => {
  await expect(startTlsFront("bad", stytch.url, { cert: ca, key: ca }, { roundTripMs: -1 })).rejects.toThrow(
    RangeError,
  );
});
