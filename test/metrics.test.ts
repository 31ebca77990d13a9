// The EMF records the real handlers write, against the loopback Stytch emulator (real HTTP, real keys):
// names, units, dimension sets and values for allows, denials and faults, one record per invocation at
// most, and never an id in a dimension. Plus the batching of hot-path allows, on a fake clock.

import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { type AuthorizerHandler, createAuthorizer, UPSTREAM_FAULT } from "../lambda/authorizer";
import {
  DIMENSION,
  DIMENSION_SETS,
  METRIC,
  OUTCOMES,
  PATHS,
  SERVICE_NAMES,
  STYTCH_ERROR_CLASSES,
} from "../lambda/lib/operations/metric-names";
import { DecisionMetrics } from "../lambda/lib/operations/metrics";
import { createRefreshHandler } from "../lambda/refresh";
import { createOrganizationSwitchHandler } from "../lambda/switch-organization";
import type { StytchEmulator } from "../local/stytch-emulator";
import { httpV2Event, restRequestEvent } from "./support/authorizer-events";
import { UNHURRIED_TIMEOUTS, useStytchEmulator } from "./support/fixtures";
import { foreignPrivateKey } from "./support/forgeries";

/** One EMF record as written (the parts the tests read). */
interface EmfRecord {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [key: string]: unknown;
}

let stytch: StytchEmulator;
let emf: EmfRecord[];
let logLines: string[];
const savedDisabled = process.env.POWERTOOLS_METRICS_DISABLED;
const savedInitializationType = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;

useStytchEmulator((emulator) => (stytch = emulator));

beforeAll(() => {
  // The test setup runs Powertools in dev mode, which turns metrics off unless told otherwise.
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  // As in a container Lambda starts for a request: the only kind that has a cold start.
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = "on-demand";
});
afterAll(() => {
  if (savedDisabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
  else process.env.POWERTOOLS_METRICS_DISABLED = savedDisabled;
  if (savedInitializationType === undefined) delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  else process.env.AWS_LAMBDA_INITIALIZATION_TYPE = savedInitializationType;
});

beforeEach(() => {
  emf = [];
  logLines = [];
  // In dev mode Powertools writes metrics and logs through the global console: EMF records are the
  // single-line JSON objects with an `_aws` key, everything else is a log line.
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      const line = args.map(String).join(" ");
      try {
        const parsed = JSON.parse(line) as Partial<EmfRecord>;
        if (parsed && typeof parsed === "object" && "_aws" in parsed) return void emf.push(parsed as EmfRecord);
      } catch {
        // not JSON: a log line
      }
      logLines.push(line);
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

function envFor(overrides: Record<string, string | undefined> = {}) {
  return {
    STYTCH_PROJECT_ID: stytch.projectId,
    STYTCH_SECRET: stytch.secret,
    STYTCH_API_URL: stytch.url,
    ...UNHURRIED_TIMEOUTS,
    ...overrides,
  };
}

let requestCounter = 0;
function lambdaContext(): Context {
  requestCounter += 1;
  return {
    awsRequestId: `request-${requestCounter}`,
    functionName: "stytch-authorizer-fn",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:stytch-authorizer-fn",
    memoryLimitInMB: "512",
    getRemainingTimeInMillis: () => 10_000,
  } as Context;
}

/** Runs one invocation and returns the EMF records it wrote (the test asserts how many). */
async function invoke(
  handler: AuthorizerHandler,
  token: string | undefined,
  context = lambdaContext(),
): Promise<EmfRecord[]> {
  const before = emf.length;
  await handler(restRequestEvent(token === undefined ? {} : { Authorization: `Bearer ${token}` }), context).catch(
    () => undefined,
  );
  return emf.slice(before);
}

function metricDefinitions(record: EmfRecord): Record<string, string> {
  return Object.fromEntries(record._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit]));
}

function dimensionSets(record: EmfRecord): string[][] {
  return record._aws.CloudWatchMetrics[0]!.Dimensions;
}

/** Every value a dimension may take: anything else (an id, a token) would be a leak and a cardinality bomb. */
const ALLOWED_DIMENSION_VALUES: Record<string, RegExp | readonly string[]> = {
  [DIMENSION.service]: Object.values(SERVICE_NAMES),
  [DIMENSION.outcome]: OUTCOMES,
  [DIMENSION.path]: PATHS,
  [DIMENSION.errorClass]: STYTCH_ERROR_CLASSES,
  [DIMENSION.reason]: /^[a-z_]{3,40}$/,
};

function assertLowCardinality(record: EmfRecord, ids: readonly string[]): void {
  for (const set of dimensionSets(record)) {
    for (const name of set) {
      const value = record[name];
      expect(typeof value, `dimension ${name}`).toBe("string");
      const allowed = ALLOWED_DIMENSION_VALUES[name];
      expect(allowed, `unexpected dimension ${name}`).toBeDefined();
      if (Array.isArray(allowed)) expect(allowed).toContain(value);
      else expect(value).toMatch(allowed as RegExp);
    }
  }
  const text = JSON.stringify(record);
  for (const id of ids) expect(text).not.toContain(id);
}

describe("the authorizer's EMF record", () => {
  test("an allow: Decisions=1 under [service] and [service, outcome, path], with the cold start, the key-set download and its age", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    const records = await invoke(handler, session.sessionJwt);
    expect(records).toHaveLength(1);
    const [record] = records as [EmfRecord];
    expect(record._aws.CloudWatchMetrics[0]!.Namespace).toBe("StytchAuthorizer");
    expect(dimensionSets(record)).toEqual([[...DIMENSION_SETS.total], [...DIMENSION_SETS.byOutcomeAndPath]]);
    expect(record).toMatchObject({ service: "stytch-authorizer", outcome: "allow", path: "local" });
    expect(metricDefinitions(record)).toEqual({
      [METRIC.decisions]: "Count",
      [METRIC.jwksRefreshes]: "Count",
      [METRIC.keySetAge]: "Seconds",
      [METRIC.coldStarts]: "Count",
    });
    expect(record[METRIC.decisions]).toBe(1);
    expect(record[METRIC.coldStarts]).toBe(1);
    expect(record[METRIC.jwksRefreshes]).toBe(1);
    expect(record[METRIC.keySetAge]).toBe(0);
    expect(record).not.toHaveProperty(DIMENSION.reason);
    assertLowCardinality(record, [
      session.memberId,
      session.organizationId,
      session.memberSessionId,
      session.sessionJwt,
    ]);
  });

  test("repeated allows within a second write one record per path, not one per invocation", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    expect(await invoke(handler, session.sessionJwt)).toHaveLength(1); // local: the container's first record
    const cached = await invoke(handler, session.sessionJwt); // the cache path's first allow opens its own batch
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatchObject({ outcome: "allow", path: "cache", [METRIC.decisions]: 1 });
    expect(cached[0]).not.toHaveProperty(METRIC.coldStarts);
    for (let i = 0; i < 20; i++) expect(await invoke(handler, session.sessionJwt)).toHaveLength(0);
    const other = stytch.createSession();
    expect(await invoke(handler, other.sessionJwt)).toHaveLength(0); // another local allow within the second: counted, not written
  });

  test("a denial: outcome deny with its reason under [service, reason], and no cold start a second time", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    await invoke(handler, session.sessionJwt);
    const forged = stytch.signJwt(
      { alg: "RS256", kid: stytch.currentKid, typ: "JWT" },
      stytch.sessionPayload(session.memberSessionId),
      { key: foreignPrivateKey() },
    );
    const records = await invoke(handler, forged);
    expect(records).toHaveLength(1);
    const [record] = records as [EmfRecord];
    expect(dimensionSets(record)).toEqual([
      [...DIMENSION_SETS.total],
      [...DIMENSION_SETS.byOutcomeAndPath],
      [...DIMENSION_SETS.byReason],
    ]);
    expect(record).toMatchObject({
      service: "stytch-authorizer",
      outcome: "deny",
      path: "local",
      reason: "bad_signature",
      [METRIC.decisions]: 1,
    });
    expect(metricDefinitions(record)).toEqual({ [METRIC.decisions]: "Count", [METRIC.keySetAge]: "Seconds" });
    assertLowCardinality(record, [session.memberId, session.organizationId, session.memberSessionId, forged]);
  });

  test("a valid member refused a route by the route table: outcome forbidden with its reason, at once", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(
      envFor({ STYTCH_ROUTE_PERMISSIONS: JSON.stringify({ "GET /me": { resource_id: "billing", action: "read" } }) }),
    );
    const before = emf.length;
    const answer = await handler(httpV2Event({ authorization: `Bearer ${session.sessionJwt}` }), lambdaContext());
    expect(answer).toMatchObject({ isAuthorized: false });
    const records = emf.slice(before);
    expect(records).toHaveLength(1);
    const [record] = records as [EmfRecord];
    expect(dimensionSets(record)).toEqual([
      [...DIMENSION_SETS.total],
      [...DIMENSION_SETS.byOutcomeAndPath],
      [...DIMENSION_SETS.byReason],
    ]);
    expect(record).toMatchObject({
      outcome: "forbidden",
      path: "local",
      reason: "permission_denied",
      [METRIC.decisions]: 1,
    });
    assertLowCardinality(record, [
      session.memberId,
      session.organizationId,
      session.memberSessionId,
      session.sessionJwt,
    ]);
  });

  test("a request without a credential is a denial on path none", async () => {
    const handler = createAuthorizer(envFor());
    const [record] = (await invoke(handler, undefined)) as [EmfRecord];
    expect(record).toMatchObject({
      outcome: "deny",
      path: "none",
      reason: "missing_credential",
      [METRIC.decisions]: 1,
    });
  });

  test("a fault: Stytch answers 500 twice; StytchErrors=2 of class 5xx, two latencies, the fault's reason", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    stytch.faults.authenticate = "500";
    const records = await invoke(handler, session.sessionToken);
    expect(records).toHaveLength(1);
    const [record] = records as [EmfRecord];
    expect(dimensionSets(record)).toEqual([
      [...DIMENSION_SETS.total],
      [...DIMENSION_SETS.byOutcomeAndPath],
      [...DIMENSION_SETS.byReason],
      [...DIMENSION_SETS.byErrorClass],
    ]);
    expect(record).toMatchObject({
      service: "stytch-authorizer",
      outcome: "fault",
      path: "remote",
      reason: "upstream_unavailable",
      errorClass: "5xx",
      [METRIC.decisions]: 1,
      [METRIC.stytchErrors]: 2,
    });
    expect(metricDefinitions(record)).toMatchObject({
      [METRIC.stytchErrors]: "Count",
      [METRIC.stytchLatency]: "Milliseconds",
    });
    const latencies = record[METRIC.stytchLatency] as number[];
    expect(latencies).toHaveLength(2);
    for (const latency of latencies) expect(latency).toBeGreaterThan(0);
    expect(stytch.calls.authenticate).toBe(2);
    assertLowCardinality(record, [
      session.memberId,
      session.organizationId,
      session.memberSessionId,
      session.sessionToken,
    ]);
  });

  test.each([
    ["429", "429", "upstream_rate_limited", {}],
    ["hang", "timeout", "upstream_timeout", { STYTCH_API_TIMEOUT_MS: "300" }],
  ] as const)("Stytch fault %s is counted as error class %s", async (fault, errorClass, reason, env) => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor(env));
    stytch.faults.authenticate = fault;
    const [record] = (await invoke(handler, session.sessionToken)) as [EmfRecord];
    expect(record).toMatchObject({ outcome: "fault", path: "remote", reason, errorClass, [METRIC.stytchErrors]: 1 });
  });

  test("a wrong project secret is error class credentials", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor({ STYTCH_SECRET: "secret-test-wrong-wrong-wrong-wrong-wrong-wrong" }));
    const [record] = (await invoke(handler, session.sessionToken)) as [EmfRecord];
    expect(record).toMatchObject({
      outcome: "fault",
      reason: "upstream_credentials_rejected",
      errorClass: "credentials",
      [METRIC.stytchErrors]: 1,
    });
  });

  test("an opaque token allowed by Stytch: an immediate record on path remote with one latency and no error", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    const [record] = (await invoke(handler, session.sessionToken)) as [EmfRecord];
    expect(record).toMatchObject({ outcome: "allow", path: "remote", [METRIC.decisions]: 1 });
    expect(record[METRIC.stytchLatency]).toBeGreaterThan(0);
    expect(record).not.toHaveProperty(METRIC.stytchErrors);
    expect(record).not.toHaveProperty(DIMENSION.errorClass);
    assertLowCardinality(record, [
      session.memberId,
      session.organizationId,
      session.memberSessionId,
      session.sessionToken,
    ]);
  });

  test("with a route table, the RBAC policy reads are Stytch attempts: their latencies ride on the allow's record", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor({ STYTCH_ROUTE_PERMISSIONS: '{"GET /me": "authenticated"}' }));
    const [record] = (await invoke(handler, session.sessionJwt)) as [EmfRecord];
    expect(record).toMatchObject({ outcome: "allow", path: "local", [METRIC.decisions]: 1 });
    // The project policy and the organization's: two reads, and no session ever went to Stytch.
    expect(stytch.calls.authenticate).toBe(0);
    expect(stytch.calls.rbacPolicy + stytch.calls.organizationPolicy).toBe(2);
    const latencies = record[METRIC.stytchLatency] as number[];
    expect(latencies).toHaveLength(2);
    for (const latency of latencies) expect(latency).toBeGreaterThan(0);
    expect(record).not.toHaveProperty(METRIC.stytchErrors);
  });

  test("with a route table, an RBAC policy outage is a fault whose record counts the failed policy reads as class 5xx", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor({ STYTCH_ROUTE_PERMISSIONS: '{"GET /me": "authenticated"}' }));
    stytch.faults.rbac = "503";
    const [record] = (await invoke(handler, session.sessionJwt)) as [EmfRecord];
    expect(record).toMatchObject({
      outcome: "fault",
      reason: "rbac_policy_unavailable",
      errorClass: "5xx",
      [METRIC.decisions]: 1,
    });
    // Both reads fail; the fault is decided when the first does, so the second may ride on the next record.
    expect(record[METRIC.stytchErrors]).toBeGreaterThanOrEqual(1);
    assertLowCardinality(record, [
      session.memberId,
      session.organizationId,
      session.memberSessionId,
      session.sessionJwt,
    ]);
  });

  test("a key-set outage: JwksRefreshFailures counted, the JWT goes to Stytch", async () => {
    stytch.faults.jwks = "500";
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    const [record] = (await invoke(handler, session.sessionJwt)) as [EmfRecord];
    expect(record).toMatchObject({ outcome: "allow", path: "remote" });
    expect(record[METRIC.jwksRefreshFailures]).toBeGreaterThanOrEqual(1);
    expect(record).not.toHaveProperty(METRIC.keySetAge); // no key set was ever in use
  });

  test("JWTs with invented kids and a fresh iat: outcome unproven with their reason, never fault, never a rotation", async () => {
    /**
     * Finding 3: anyone can sign a JWT under an invented kid. Issued just now, it could be signed with a key Stytch
     * has just published, so it keeps its retryable 503; but it proved nothing, and must not count as a fault.
     */
    const session = stytch.createSession();
    const payload = stytch.sessionPayload(session.memberSessionId);
    const forged = Array.from({ length: 60 }, (_, i) =>
      stytch.signJwt({ alg: "RS256", typ: "JWT", kid: `jwk-test-invented-${i}` }, payload, {
        key: foreignPrivateKey(),
      }),
    );
    const handler = createAuthorizer(envFor());
    expect(await invoke(handler, session.sessionJwt)).toHaveLength(1); // the key set is loaded
    const before = emf.length;
    for (const token of forged) {
      await expect(handler(restRequestEvent({ Authorization: `Bearer ${token}` }), lambdaContext())).rejects.toThrow(
        UPSTREAM_FAULT,
      );
    }
    const records = emf.slice(before);
    expect(records).toHaveLength(60); // each at once, like a denial
    expect(records.filter((record) => record.outcome === "fault")).toEqual([]);
    for (const record of records) {
      expect(dimensionSets(record)).toEqual([
        [...DIMENSION_SETS.total],
        [...DIMENSION_SETS.byOutcomeAndPath],
        [...DIMENSION_SETS.byReason],
      ]);
      expect(record).toMatchObject({
        outcome: "unproven",
        path: "local",
        reason: "kid_not_yet_known",
        [METRIC.decisions]: 1,
      });
      expect(record).not.toHaveProperty(METRIC.keySetRotations);
      assertLowCardinality(record, [session.memberId, session.organizationId, session.memberSessionId, ...forged]);
    }
    // One refetch for the first invented kid (the key set may predate it); it found nothing new.
    expect(records.reduce((sum, record) => sum + ((record[METRIC.jwksRefreshes] as number | undefined) ?? 0), 0)).toBe(
      1,
    );
    expect(stytch.calls.authenticate).toBe(0);
    // Still logged, with the reason and without the token, but not as an error.
    const logged = logLines
      .filter((line) => line.includes("kid_not_yet_known"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toHaveLength(60);
    for (const line of logged)
      expect(line).toMatchObject({
        level: "INFO",
        message: "request unproven",
        outcome: "unproven",
        reason: "kid_not_yet_known",
      });
    const everything = logLines.join("\n");
    for (const token of forged) expect(everything).not.toContain(token.split(".")[2]);
  });

  test("a genuine key rotation: the refetch finds the new kid, KeySetRotations=1 on the allow's own record, and the JWT is allowed", async () => {
    const handler = createAuthorizer(envFor());
    expect(await invoke(handler, stytch.createSession().sessionJwt)).toHaveLength(1); // the container's first record
    const { newKid } = stytch.rotateKeys();
    const session = stytch.createSession();
    const before = emf.length;
    const answer = await handler(restRequestEvent({ Authorization: `Bearer ${session.sessionJwt}` }), lambdaContext());
    expect(answer).toMatchObject({ principalId: session.memberId });
    expect(stytch.currentKid).toBe(newKid);
    // Within the same second as the first allow: a batched allow would wait, but a rotation is published at once.
    const records = emf.slice(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      outcome: "allow",
      path: "local",
      [METRIC.keySetRotations]: 1,
      [METRIC.jwksRefreshes]: 1,
    });
    expect(metricDefinitions(records[0]!)).toMatchObject({ [METRIC.keySetRotations]: "Count" });
    expect(stytch.calls.authenticate).toBe(0);
    // Counted once: the next allows with the new key are plain (and batched) again.
    expect(await invoke(handler, stytch.createSession().sessionJwt)).toHaveLength(0);
    const [next] = (await invoke(handler, undefined)) as [EmfRecord];
    expect(next).not.toHaveProperty(METRIC.keySetRotations);
  });

  test("the namespace comes from POWERTOOLS_METRICS_NAMESPACE; an invalid one falls back to the default and says so", async () => {
    const custom = createAuthorizer(envFor({ POWERTOOLS_METRICS_NAMESPACE: "Acme/Auth" }));
    const [record] = (await invoke(custom, undefined)) as [EmfRecord];
    expect(record._aws.CloudWatchMetrics[0]!.Namespace).toBe("Acme/Auth");
    const invalid = createAuthorizer(envFor({ POWERTOOLS_METRICS_NAMESPACE: "AWS/Lambda" }));
    const [fallback] = (await invoke(invalid, undefined)) as [EmfRecord];
    expect(fallback._aws.CloudWatchMetrics[0]!.Namespace).toBe("StytchAuthorizer");
    expect(logLines.some((line) => line.includes("invalid metrics namespace"))).toBe(true);
  });
});

describe("the authorizer's log lines", () => {
  test("a denial is logged with the Lambda context (request id, cold start, function name) and without the token", async () => {
    const handler = createAuthorizer(envFor());
    const forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
    const contexts = [lambdaContext(), lambdaContext()];
    for (const context of contexts) await invoke(handler, forged, context);
    const lines = logLines
      .filter((l) => l.includes("request denied"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    for (const [i, line] of lines.entries()) {
      expect(line).toMatchObject({
        function_request_id: contexts[i]!.awsRequestId,
        function_name: "stytch-authorizer-fn",
        outcome: "deny",
        reason: "malformed",
      });
      expect(typeof line.cold_start).toBe("boolean");
    }
    expect(lines[1]!.cold_start).toBe(false); // only a container's first invocation is a cold start
    expect(logLines.join("\n")).not.toContain(forged);
  });
});

describe("the cold start in the log lines", () => {
  /** A fresh module graph (a fresh Powertools logger), as in a new on-demand container. */
  async function freshContainer(): Promise<AuthorizerHandler> {
    vi.resetModules();
    vi.stubEnv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"); // Powertools reports cold starts only for on-demand containers
    const fresh = (await import("../lambda/authorizer")) as typeof import("../lambda/authorizer");
    return fresh.createAuthorizer(envFor());
  }
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  const denialLine = () => JSON.parse(logLines.find((l) => l.includes("request denied"))!) as Record<string, unknown>;

  test("a container's first invocation is logged as its cold start", async () => {
    const handler = await freshContainer();
    await invoke(handler, "not-a-token-at-all!!");
    expect(denialLine()).toMatchObject({ function_request_id: `request-${requestCounter}`, cold_start: true });
  });

  test("a container whose first invocation is a silent allow does not report its first denial as the cold start", async () => {
    const handler = await freshContainer();
    const session = stytch.createSession();
    expect(await invoke(handler, session.sessionJwt)).toHaveLength(1); // allowed locally: nothing logged at INFO
    expect(logLines.filter((l) => l.includes("request denied"))).toEqual([]);
    await invoke(handler, "not-a-token-at-all!!");
    expect(denialLine()).toMatchObject({ function_request_id: `request-${requestCounter}`, cold_start: false });
  });
});

describe("the cold start, told once: the log line and the metric agree", () => {
  /** A fresh module graph (fresh Powertools logger and metrics), as in a new container of the given kind. */
  async function freshContainer(initializationType: string, logLevel = "INFO"): Promise<AuthorizerHandler> {
    vi.resetModules();
    vi.stubEnv("AWS_LAMBDA_INITIALIZATION_TYPE", initializationType);
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", logLevel);
    const fresh = (await import("../lambda/authorizer")) as typeof import("../lambda/authorizer");
    return fresh.createAuthorizer(envFor());
  }
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  const logged = (message: string) =>
    logLines.filter((l) => l.includes(message)).map((l) => JSON.parse(l) as Record<string, unknown>);

  test("an on-demand container's first invocation, an allow logged at DEBUG: cold_start true in its log line and ColdStart 1 in its record; the second neither", async () => {
    const handler = await freshContainer("on-demand", "DEBUG");
    const session = stytch.createSession();
    const first = lambdaContext();
    const [record] = (await invoke(handler, session.sessionJwt, first)) as [EmfRecord];
    expect(record[METRIC.coldStarts]).toBe(1);
    expect(logged("request allowed")).toEqual([
      expect.objectContaining({ function_request_id: first.awsRequestId, cold_start: true }),
    ]);
    const second = lambdaContext();
    await invoke(handler, "not-a-token-at-all!!", second);
    const [denial] = logged("request denied");
    expect(denial).toMatchObject({ function_request_id: second.awsRequestId, cold_start: false });
    expect(emf.filter((r) => METRIC.coldStarts in r)).toHaveLength(1);
  });

  test("a provisioned-concurrency container has no cold start: cold_start false, and no ColdStart metric", async () => {
    const handler = await freshContainer("provisioned-concurrency");
    const [record] = (await invoke(handler, "not-a-token-at-all!!")) as [EmfRecord];
    expect(record).not.toHaveProperty(METRIC.coldStarts);
    expect(logged("request denied")).toEqual([expect.objectContaining({ cold_start: false })]);
  });
});

describe("the refresh endpoint's EMF record", () => {
  function refreshEvent(body: unknown) {
    return {
      httpMethod: "POST",
      path: "/auth/refresh",
      headers: { "content-type": "application/json" },
      multiValueHeaders: {},
      body: JSON.stringify(body),
      isBase64Encoded: false,
    } as unknown as Parameters<ReturnType<typeof createRefreshHandler>>[0];
  }

  test("a refresh is an allow on path remote under service stytch-refresh; a dead session a denial", async () => {
    const session = stytch.createSession();
    const handler = createRefreshHandler(envFor());
    let before = emf.length;
    expect((await handler(refreshEvent({ session_token: session.sessionToken }), lambdaContext())).statusCode).toBe(
      200,
    );
    let records = emf.slice(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      service: "stytch-refresh",
      outcome: "allow",
      path: "remote",
      [METRIC.decisions]: 1,
      [METRIC.coldStarts]: 1,
    });
    expect(records[0]![METRIC.stytchLatency]).toBeGreaterThan(0);
    assertLowCardinality(records[0]!, [
      session.memberId,
      session.organizationId,
      session.memberSessionId,
      session.sessionToken,
    ]);

    stytch.revokeSession(session.sessionToken);
    before = emf.length;
    expect((await handler(refreshEvent({ session_token: session.sessionToken }), lambdaContext())).statusCode).toBe(
      401,
    );
    records = emf.slice(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ service: "stytch-refresh", outcome: "deny", path: "remote", reason: "revoked" });
  });

  test("a JWT with an invented kid and a fresh iat is a retryable 503 counted as unproven, not as a fault", async () => {
    const session = stytch.createSession();
    const handler = createRefreshHandler(envFor());
    expect((await handler(refreshEvent({ session_jwt: session.sessionJwt }), lambdaContext())).statusCode).toBe(200); // the key set is loaded
    const forged = stytch.signJwt(
      { alg: "RS256", typ: "JWT", kid: "jwk-test-invented" },
      stytch.sessionPayload(session.memberSessionId),
      { key: foreignPrivateKey() },
    );
    const before = emf.length;
    const result = await handler(refreshEvent({ session_jwt: forged }), lambdaContext());
    expect(result).toMatchObject({ statusCode: 503, headers: { "retry-after": expect.any(String) } });
    const records = emf.slice(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      service: "stytch-refresh",
      outcome: "unproven",
      path: "local",
      reason: "kid_not_yet_known",
      [METRIC.decisions]: 1,
    });
    expect(stytch.calls.authenticate).toBe(1); // only the genuine refresh
  });
});

describe("the organization switch's EMF record", () => {
  function switchEvent(body: unknown) {
    return {
      httpMethod: "POST",
      path: "/auth/switch-organization",
      headers: { "content-type": "application/json" },
      multiValueHeaders: {},
      body: JSON.stringify(body),
      isBase64Encoded: false,
    } as unknown as Parameters<ReturnType<typeof createOrganizationSwitchHandler>>[0];
  }

  test("a switch is an allow on path remote under its own service; a refused one forbidden, never a fault", async () => {
    const session = stytch.createSession({ email: "metrics-switch@example.com", organizationSlug: "metrics-home" });
    const target = stytch.createMember({ email: "metrics-switch@example.com", organizationSlug: "metrics-away" });
    const stranger = stytch.createMember({ email: "someone@example.com", organizationSlug: "metrics-strangers" });
    const handler = createOrganizationSwitchHandler(envFor());
    const decide = async (organizationId: string, status: number) => {
      const before = emf.length;
      const result = await handler(
        switchEvent({ organization_id: organizationId, session_token: session.sessionToken }),
        lambdaContext(),
      );
      expect(result.statusCode).toBe(status);
      const records = emf.slice(before);
      expect(records).toHaveLength(1);
      return records[0]!;
    };
    const switched = await decide(target.organizationId, 200);
    expect(switched).toMatchObject({
      service: SERVICE_NAMES.organizationSwitch,
      outcome: "allow",
      path: "remote",
      [METRIC.decisions]: 1,
    });
    assertLowCardinality(switched, [session.memberId, target.memberId, target.organizationId, session.sessionToken]);
    // Stytch refusing the switch proved something about the member, not about us: forbidden, not a fault.
    expect(await decide(stranger.organizationId, 403)).toMatchObject({
      service: SERVICE_NAMES.organizationSwitch,
      outcome: "forbidden",
      path: "remote",
      reason: "organization_switch_refused",
    });
  });
});

describe("batching of hot-path allows", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setInterval"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("cache allows are published once per interval, as one count stamped with the first allow's time", () => {
    let now = 1_800_000_000_000;
    const metrics = new DecisionMetrics({
      service: "stytch-authorizer",
      flushIntervalMs: 1_000,
      now: () => now,
      env: {},
    });
    expect(metrics.allowed("cache")).toBe(true); // the first one opens the container's record
    expect(emf).toHaveLength(1);
    const firstPending = (now += 100);
    for (let i = 0; i < 5; i++) {
      expect(metrics.allowed("cache")).toBe(false);
      now += 100;
    }
    vi.advanceTimersByTime(1_000);
    expect(emf).toHaveLength(1); // nothing is written between invocations
    expect(metrics.allowed("cache")).toBe(true);
    expect(emf).toHaveLength(2);
    expect(emf[1]).toMatchObject({ outcome: "allow", path: "cache", [METRIC.decisions]: 6 });
    expect(emf[1]!._aws.Timestamp).toBe(firstPending);
    expect(metrics.allowed("cache")).toBe(false);
  });

  test("a denial is never held back, and local and cache allows are batched separately", () => {
    const metrics = new DecisionMetrics({ service: "stytch-authorizer", env: {} });
    metrics.allowed("cache");
    metrics.allowed("local");
    expect(emf.map((r) => r.path)).toEqual(["cache", "local"]);
    metrics.allowed("cache");
    metrics.decided("deny", "local", "bad_signature");
    expect(emf).toHaveLength(3);
    expect(emf[2]).toMatchObject({ outcome: "deny", reason: "bad_signature", [METRIC.decisions]: 1 });
  });
});
