// A cold container with a project snapshot (issue 15), end to end against the loopback Stytch emulator: the
// snapshot is taken by the snapshot command's own code, and every `createAuthorizer()` is a new container.

import type { APIGatewayRequestAuthorizerEventV2 } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { type AuthorizerHandler, createAuthorizer, UNAUTHORIZED } from "../lambda/authorizer";
import type { DecisionRecord } from "../lambda/lib/operations/log";
import type { FaultMode, StytchEmulator } from "../local/stytch-emulator";
import { restRequestEvent } from "./support/authorizer-events";
import { UNHURRIED_TIMEOUTS, useStytchEmulator } from "./support/fixtures";
import { forgeries } from "./support/forgeries";
import { snapshotFile, takeSnapshot, writeSnapshotFile } from "./support/snapshots";

const PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
const HTTP_PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default";
const TABLE = {
  "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
  "POST /orgs/{organization_id}/documents": { resource_id: "documents", action: "write" },
  "GET /me": "authenticated",
};
const DAY_MS = 86_400_000;

let stytch: StytchEmulator;
let decisions: DecisionRecord[];
let logLines: string[];
useStytchEmulator((emulator) => (stytch = emulator));

beforeEach(() => {
  decisions = [];
  logLines = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logLines.push(args.map(String).join(" "));
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const endpoint of ["authenticate", "jwks", "rbac"] as const) stytch.setLatency(endpoint, 0);
});

function authorizer(file: string | undefined, overrides: Record<string, string | undefined> = {}): AuthorizerHandler {
  return createAuthorizer(
    {
      STYTCH_PROJECT_ID: stytch.projectId,
      STYTCH_SECRET: stytch.secret,
      STYTCH_API_URL: stytch.url,
      ...UNHURRIED_TIMEOUTS,
      ...(file ? { STYTCH_SNAPSHOT_FILE: file } : {}),
      ...overrides,
    },
    { onDecision: (record) => decisions.push(record) },
  );
}

/** The same with the route table, answering for each request alone (the construct's default: no result cache). */
function routeTableAuthorizer(file: string | undefined, overrides: Record<string, string> = {}): AuthorizerHandler {
  return authorizer(file, {
    STYTCH_ROUTE_PERMISSIONS: JSON.stringify(TABLE),
    STYTCH_RESULTS_CACHE_TTL_SECONDS: "0",
    ...overrides,
  });
}

/** Every Stytch endpoint: the key set, the RBAC policies and the API. */
function stytchIs(mode: FaultMode): void {
  stytch.faults = { authenticate: mode, jwks: mode, rbac: mode, exchange: mode };
}

async function outcome(handler: AuthorizerHandler, event: Parameters<AuthorizerHandler>[0]): Promise<string> {
  try {
    const response = (await handler(event)) as { policyDocument?: { Statement: Array<{ Effect: string }> } };
    return response.policyDocument?.Statement.every((s) => s.Effect === "Allow") ? "allow" : "deny";
  } catch (error) {
    return (error as Error).message === UNAUTHORIZED ? "401" : "503";
  }
}

function bearer(token: string) {
  return restRequestEvent({ Authorization: `Bearer ${token}` });
}

/** An HTTP API payload 2.0 event for a concrete request to a route of the table. */
function httpEvent(token: string, routeKey: string, organizationId?: string): APIGatewayRequestAuthorizerEventV2 {
  const [method, resource] = routeKey.split(" ") as [string, string];
  const path = resource.replace("{organization_id}", organizationId ?? "");
  return {
    version: "2.0",
    type: "REQUEST",
    routeArn: `${HTTP_PREFIX}/${method}${path}`,
    identitySource: [],
    routeKey,
    rawPath: path,
    rawQueryString: "",
    headers: { authorization: `Bearer ${token}` },
    pathParameters: organizationId ? { organization_id: organizationId } : {},
    requestContext: {} as APIGatewayRequestAuthorizerEventV2["requestContext"],
  } as unknown as APIGatewayRequestAuthorizerEventV2;
}

/** What the client of an HTTP API in simple mode sees. */
async function httpStatus(handler: AuthorizerHandler, event: APIGatewayRequestAuthorizerEventV2): Promise<number> {
  try {
    return ((await handler(event)) as { isAuthorized: boolean }).isAuthorized ? 200 : 403;
  } catch (error) {
    return (error as Error).message === UNAUTHORIZED ? 401 : 503;
  }
}

/** A REST REQUEST event for a concrete request to a route of the table. */
function restEvent(token: string, routeKey: string, organizationId: string) {
  const [method, resource] = routeKey.split(" ") as [string, string];
  const path = resource.replace("{organization_id}", organizationId);
  return {
    ...restRequestEvent({ Authorization: `Bearer ${token}` }, `${PREFIX}/${method}${path}`),
    httpMethod: method,
    resource,
    path,
    pathParameters: { organization_id: organizationId },
  };
}

describe("Stytch unreachable at cold start", () => {
  test.each(["reset", "hang"] as const)(
    "Stytch %s: a valid session JWT is allowed from the snapshot, without any Stytch answer",
    async (mode) => {
      const file = await snapshotFile(stytch);
      const session = stytch.createSession({ roles: ["viewer"] });
      stytchIs(mode);
      const handler = authorizer(file);
      expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
      expect(decisions.at(-1)).toMatchObject({ outcome: "allow", path: "local", memberId: session.memberId });
      expect(stytch.calls.authenticate).toBe(0);
    },
  );

  test.each(["reset", "hang"] as const)(
    "Stytch %s: with a route table, a permitted route is allowed from the snapshot's RBAC policy (HTTP API and REST), another organization is 403",
    async (mode) => {
      const file = await snapshotFile(stytch);
      const viewer = stytch.createSession({ roles: ["viewer"] });
      const other = stytch.createSession({ roles: ["admin"], organizationSlug: "globex" });
      stytchIs(mode);
      const handler = routeTableAuthorizer(file);
      const documents = "GET /orgs/{organization_id}/documents";
      expect(await httpStatus(handler, httpEvent(viewer.sessionJwt, documents, viewer.organizationId))).toBe(200);
      expect(await httpStatus(handler, httpEvent(viewer.sessionJwt, "GET /me"))).toBe(200);
      expect(await outcome(handler, restEvent(viewer.sessionJwt, documents, viewer.organizationId))).toBe("allow");
      expect(await httpStatus(handler, httpEvent(viewer.sessionJwt, documents, other.organizationId))).toBe(403);
      expect(stytch.calls.authenticate).toBe(0);
    },
  );

  test("a route the project policy's roles refuse needs the organization's custom roles: 503 while Stytch cannot be reached, never an Allow", async () => {
    const file = await snapshotFile(stytch);
    const viewer = stytch.createSession({ roles: ["viewer"] });
    stytchIs("reset");
    const handler = routeTableAuthorizer(file);
    const write = httpEvent(viewer.sessionJwt, "POST /orgs/{organization_id}/documents", viewer.organizationId);
    expect(await httpStatus(handler, write)).toBe(503);
    expect(decisions.at(-1)).toMatchObject({ outcome: "fault", reason: "rbac_policy_unavailable" });
    // Back online, the organization's answer (no custom roles) settles it: 403, not a fault.
    stytchIs("none");
    expect(await httpStatus(handler, write)).toBe(403);
  });

  test("an IAM policy for every route (a cached REST answer) waits for the organization's custom roles: 503 while Stytch cannot be reached", async () => {
    const file = await snapshotFile(stytch);
    const viewer = stytch.createSession({ roles: ["viewer"] });
    stytchIs("reset");
    const handler = routeTableAuthorizer(file, { STYTCH_RESULTS_CACHE_TTL_SECONDS: "300" });
    const documents = restEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/documents", viewer.organizationId);
    expect(await outcome(handler, documents)).toBe("503");
    stytchIs("none");
    expect(await outcome(handler, documents)).toBe("allow");
  });

  test("an organization's custom role (one the project policy does not define) is decided with the organization's policy once Stytch answers", async () => {
    const file = await snapshotFile(stytch);
    const auditor = stytch.createSession({ roles: ["auditor"], organizationSlug: "initech" });
    stytch.setOrganizationRoles(auditor.organizationId, [
      { role_id: "auditor", permissions: [{ resource_id: "documents", actions: ["read"] }] },
    ]);
    stytchIs("reset");
    const handler = routeTableAuthorizer(file);
    const documents = httpEvent(auditor.sessionJwt, "GET /orgs/{organization_id}/documents", auditor.organizationId);
    expect(await httpStatus(handler, documents)).toBe(503);
    stytchIs("none");
    expect(await httpStatus(handler, documents)).toBe(200);
  });
});

describe("Stytch never answering", () => {
  test("the first Allow of a new container comes back while every Stytch request hangs: nothing of Stytch's was needed", async () => {
    const file = await snapshotFile(stytch);
    const viewer = stytch.createSession({ roles: ["viewer"] });
    stytchIs("hang");
    const handler = routeTableAuthorizer(file);
    const first = await httpStatus(
      handler,
      httpEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/documents", viewer.organizationId),
    );
    // The emulator never answers: this answer waited for no Stytch answer. And it came before the key-set download
    // gave up (10 s), which would have been logged.
    expect(logLines.filter((line) => line.includes("JWKS fetch failed"))).toEqual([]);
    expect(first).toBe(200);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ outcome: "allow", path: "local" });
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("a snapshot past its maximum age is never trusted, and never an outage of its own", () => {
  const stale: Array<[string, () => Promise<{ file: string; env?: Record<string, string> }>]> = [
    ["30 days by default", async () => ({ file: await snapshotFile(stytch, daysAgo(31)) })],
    [
      "STYTCH_SNAPSHOT_MAX_AGE_SECONDS",
      async () => ({
        file: await snapshotFile(stytch, new Date(Date.now() - 120_000)),
        env: { STYTCH_SNAPSHOT_MAX_AGE_SECONDS: "60" },
      }),
    ],
  ];

  test.each(stale)("past %s, while Stytch cannot be reached: a fault (503), never an Allow", async (_, make) => {
    const { file, env } = await make();
    const session = stytch.createSession();
    stytchIs("reset");
    const handler = authorizer(file, env);
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("503");
    expect(decisions.map((record) => record.outcome)).toEqual(["fault"]);
    expect(logLines.some((line) => line.includes("snapshot_expired"))).toBe(true);
  });

  test.each(stale)("past %s, with Stytch up: the key set comes from Stytch, as without a snapshot", async (_, make) => {
    const { file, env } = await make();
    const session = stytch.createSession();
    const handler = authorizer(file, env);
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    expect(stytch.calls.jwks).toBeGreaterThanOrEqual(1);
    expect(logLines.some((line) => line.includes("snapshot_expired"))).toBe(true);
  });

  test("a key only the stale snapshot holds verifies nothing, although Stytch is up", async () => {
    const file = await snapshotFile(stytch, daysAgo(31));
    const session = stytch.createSession();
    // Stytch rotates: the snapshot's key is gone from the live key set, and its JWT must not pass.
    const { previousKid } = stytch.rotateKeys();
    stytch.retireKey(previousKid);
    const handler = authorizer(file);
    // 401, or the retryable 503 of a kid the fresh key set may not show yet: never an Allow.
    expect(await outcome(handler, bearer(session.sessionJwt))).not.toBe("allow");
  });
});

describe("a snapshot that cannot be trusted is a configuration fault, never an Allow", () => {
  const cases: Array<[string, () => Promise<{ file: string; env?: Record<string, string> }>]> = [
    ["unreadable (no such file)", async () => ({ file: "/nonexistent/stytch-snapshot.json" })],
    ["not JSON", async () => ({ file: writeSnapshotFile("{ not json") })],
    [
      "of another project",
      async () => ({
        file: writeSnapshotFile({
          ...(await takeSnapshot(stytch)),
          project_id: "project-test-00000000-0000-0000-0000-000000000000",
        }),
      }),
    ],
    [
      "without a usable key (each key filtered out as a fetched one would be)",
      async () => {
        const snapshot = await takeSnapshot(stytch);
        const keys = snapshot.jwks.keys.map((key) => ({ ...key, alg: "RS512" }));
        return { file: writeSnapshotFile({ ...snapshot, jwks: { keys } }) };
      },
    ],
  ];

  test.each(cases)("a snapshot %s: every request is a fault (bad_config), although Stytch is up", async (_, make) => {
    const { file, env } = await make();
    const session = stytch.createSession();
    const handler = authorizer(file, env);
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("503");
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("503");
    expect(decisions.map((record) => `${record.outcome}:${record.reason}`)).toEqual([
      "fault:bad_config",
      "fault:bad_config",
    ]);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("a relative STYTCH_SNAPSHOT_FILE is read from LAMBDA_TASK_ROOT", async () => {
    const file = await snapshotFile(stytch);
    const session = stytch.createSession();
    stytchIs("reset");
    const [root, name] = [file.slice(0, file.lastIndexOf("/")), file.slice(file.lastIndexOf("/") + 1)];
    const handler = authorizer(name, { LAMBDA_TASK_ROOT: root });
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
  });
});

describe("the live key set replaces the snapshot's", () => {
  test("a key Stytch no longer publishes stops verifying once the key set lands, cached verdicts included (401)", async () => {
    const { previousKid: oldKid, newKid } = stytch.rotateKeys();
    const file = await snapshotFile(stytch); // both keys
    stytch.retireKey(oldKid); // …and Stytch serves only the new one from now on
    const session = stytch.createSession();
    // Signed with the retired key a minute ago (a key set fetched since would hold its key, were it still published).
    const issued = Math.floor(Date.now() / 1000) - 60;
    const retired = stytch.signJwt(
      { alg: "RS256", typ: "JWT", kid: oldKid },
      stytch.sessionPayload(session.memberSessionId, { iat: issued, nbf: issued, exp: issued + 300 }),
      { key: "previous" },
    );
    stytch.setLatency("jwks", 300); // the container's first key set arrives a moment after its first answers
    const handler = authorizer(file);
    expect(await outcome(handler, bearer(retired))).toBe("allow");
    expect(await outcome(handler, bearer(retired))).toBe("allow");
    expect(decisions.map((record) => record.path)).toEqual(["local", "cache"]);
    await until(async () => (await outcome(handler, bearer(retired))) === "401");
    expect(decisions.at(-1)).toMatchObject({ outcome: "deny", reason: "unknown_kid" });
    // The key Stytch still publishes keeps verifying, locally.
    expect(stytch.currentKid).toBe(newKid);
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    expect(decisions.at(-1)).toMatchObject({ path: "local" });
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("forged tokens gain nothing from the snapshot", () => {
  test("every forgery class is Unauthorized from the snapshot's keys alone, without a Stytch call", async () => {
    const file = await snapshotFile(stytch);
    const session = stytch.createSession();
    stytchIs("hang"); // only the snapshot's keys are at hand
    const handler = authorizer(file);
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    const results: Record<string, string> = {};
    for (const [name, token] of Object.entries(forgeries(stytch, session.memberSessionId))) {
      results[name] = await outcome(handler, bearer(token));
    }
    expect(Object.entries(results).filter(([, verdict]) => verdict !== "401")).toEqual([]);
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("without a snapshot", () => {
  test("a container with a route table fetches the project's RBAC policy at init, alongside the key set, before any request", async () => {
    routeTableAuthorizer(undefined);
    await until(async () => stytch.calls.jwks === 1 && stytch.calls.rbacPolicy === 1);
    expect(stytch.calls.organizationPolicy).toBe(0);
  });
});

function daysAgo(days: number): Date {
  return new Date(Date.now() - days * DAY_MS);
}

/** Waits until `condition` holds, at most 5 s (a loaded machine), checking every 20 ms. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const givingUpAt = Date.now() + 5_000;
  while (!(await condition())) {
    if (Date.now() > givingUpAt) throw new Error("the condition did not hold within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
