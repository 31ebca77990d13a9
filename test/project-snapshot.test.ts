// The snapshot format's one definition (lambda/lib/stytch/project-snapshot.ts), and the key filter it shares with
// the key-set cache (lambda/lib/session/usable-jwks.ts).

import { generateKeyPairSync } from "node:crypto";
import { describe, expect, test } from "vitest";
import { modulusBits, usableJwks } from "../lambda/lib/session/usable-jwks";
import {
  buildProjectSnapshot,
  checkProjectSnapshot,
  InvalidSnapshotError,
  parseProjectSnapshot,
  SNAPSHOT_FORMAT,
  snapshotAgeProblem,
  snapshotProjectProblem,
} from "../lambda/lib/stytch/project-snapshot";
import { DEMO_RBAC_POLICY } from "../local/stytch-emulator";

const PROJECT_ID = "project-test-11111111-2222-3333-4444-555555555555";
const TAKEN_AT = new Date("2026-11-30T12:00:00.000Z");

function rsaJwk(bits: number, kid = "jwk-test-1"): Record<string, unknown> {
  const jwk = generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
  return { ...jwk, kid, alg: "RS256", use: "sig" };
}

const KEY = rsaJwk(2048);

function snapshot(overrides: Record<string, unknown> = {}) {
  return {
    format: SNAPSHOT_FORMAT,
    project_id: PROJECT_ID,
    api_url: "https://test.stytch.com",
    taken_at: TAKEN_AT.toISOString(),
    jwks: { keys: [KEY] },
    rbac_policy: DEMO_RBAC_POLICY,
    ...overrides,
  };
}

function problemOf(value: unknown): string {
  try {
    checkProjectSnapshot(value);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSnapshotError);
    return (error as Error).message;
  }
  throw new Error("the snapshot was accepted");
}

describe("reading a snapshot", () => {
  test("a well-formed snapshot reads back as written, frozen", () => {
    const read = parseProjectSnapshot(JSON.stringify(snapshot()));
    expect(read).toEqual(snapshot());
    expect(Object.isFrozen(read.jwks.keys[0])).toBe(true);
  });

  test.each([
    ["not JSON", "{", "is not JSON"],
    ["an array", "[]", "is not a snapshot (not a JSON object)"],
    ["a bare RBAC policy", JSON.stringify({ policy: DEMO_RBAC_POLICY }), "is not a snapshot of this format"],
    [
      "another format version",
      JSON.stringify(snapshot({ format: "stytch-b2b-apigw-authorizer/snapshot@2" })),
      "format",
    ],
  ])("%s is refused", (_, text, message) => {
    expect(() => parseProjectSnapshot(text)).toThrow(message);
  });

  test.each([
    ["a project ID that is not one", { project_id: "acme" }, "has no valid project_id"],
    ["an api_url with a path", { api_url: "https://test.stytch.com/v1" }, "has no valid api_url"],
    ["plain http to a remote host", { api_url: "http://test.stytch.com" }, "has no valid api_url"],
    ["a taken_at that is not RFC 3339", { taken_at: "yesterday" }, "has no valid taken_at"],
    ["no key set", { jwks: undefined }, "has no key set"],
    ["an empty key set", { jwks: { keys: [] } }, "holds no usable key"],
    ["only a 1024-bit key", { jwks: { keys: [rsaJwk(1024)] } }, "holds no usable key"],
    ["only an RS512 key", { jwks: { keys: [{ ...KEY, alg: "RS512" }] } }, "holds no usable key"],
    ["only an encryption key", { jwks: { keys: [{ ...KEY, use: "enc" }] } }, "holds no usable key"],
    ["only a key without verify", { jwks: { keys: [{ ...KEY, key_ops: ["encrypt"] }] } }, "holds no usable key"],
    ["no RBAC policy", { rbac_policy: undefined }, "has no RBAC policy"],
    [
      "a role without permissions",
      { rbac_policy: { ...DEMO_RBAC_POLICY, roles: [{ role_id: "x" }] } },
      "malformed RBAC roles",
    ],
    [
      "a resource without actions",
      { rbac_policy: { ...DEMO_RBAC_POLICY, resources: [{ resource_id: "x" }] } },
      "malformed RBAC resources",
    ],
  ])("a snapshot with %s is refused", (_, overrides, message) => {
    expect(problemOf(snapshot(overrides))).toContain(message);
  });

  test("only the public members of a key are kept: a private exponent in the key set is never written or read on", () => {
    const privateJwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
    const read = checkProjectSnapshot(snapshot({ jwks: { keys: [{ ...privateJwk, kid: "k", ext: true }] } }));
    expect(Object.keys(read.jwks.keys[0]!).sort()).toEqual(["e", "kid", "kty", "n"]);
  });

  test("scopes may be absent (an empty list), and unknown members of the policy are dropped", () => {
    const { scopes: _scopes, ...withoutScopes } = DEMO_RBAC_POLICY;
    const read = checkProjectSnapshot(snapshot({ rbac_policy: { ...withoutScopes, extra: 1 } }));
    expect(read.rbac_policy.scopes).toEqual([]);
    expect(read.rbac_policy).not.toHaveProperty("extra");
  });

  test("buildProjectSnapshot refuses what a reader would refuse", () => {
    expect(() =>
      buildProjectSnapshot({
        projectId: PROJECT_ID,
        apiUrl: "https://test.stytch.com",
        takenAt: TAKEN_AT,
        jwks: { keys: [rsaJwk(1024)] },
        rbacPolicy: DEMO_RBAC_POLICY,
      }),
    ).toThrow(InvalidSnapshotError);
  });
});

describe("who may use it, and until when", () => {
  const read = checkProjectSnapshot(snapshot());

  test("a snapshot serves its own project only", () => {
    expect(snapshotProjectProblem(read, PROJECT_ID)).toBeUndefined();
    expect(snapshotProjectProblem(read, "project-test-00000000-0000-0000-0000-000000000000")).toBe(
      `was taken of project ${PROJECT_ID}, not of project-test-00000000-0000-0000-0000-000000000000`,
    );
  });

  test("it is trusted for its maximum age after taken_at, not a millisecond more", () => {
    const taken = TAKEN_AT.getTime();
    expect(snapshotAgeProblem(read, 60, taken + 59_999)).toBeUndefined();
    expect(snapshotAgeProblem(read, 60, taken + 60_000)).toMatch(/more than 60 seconds ago/);
  });

  test("a taken_at beyond a few minutes in the future is refused (it would stretch the trust)", () => {
    const taken = TAKEN_AT.getTime();
    expect(snapshotAgeProblem(read, 60, taken - 60_000)).toBeUndefined();
    expect(snapshotAgeProblem(read, 2_592_000, taken - 3_600_000)).toMatch(/taken in the future/);
  });
});

describe("the key filter shared with the key-set cache", () => {
  test("the modulus length is counted in bits, leading zero bytes aside", () => {
    expect(modulusBits(KEY.n as string)).toBe(2048);
    const withLeadingZero = Buffer.concat([Buffer.from([0]), Buffer.from(KEY.n as string, "base64url")]);
    expect(modulusBits(withLeadingZero.toString("base64url"))).toBe(2048);
    expect(modulusBits(rsaJwk(2047).n as string)).toBe(2047);
    expect(modulusBits("not base64url!")).toBe(0);
  });

  test("a 2047-bit key is skipped, a 2048-bit one kept, with only its public members", () => {
    expect(usableJwks({ keys: [rsaJwk(2047, "short"), KEY] })).toEqual([{ kid: "jwk-test-1", n: KEY.n, e: KEY.e }]);
  });
});
