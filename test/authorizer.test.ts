// End-to-end behaviour of the authorizer handler against the loopback Stytch emulator: real HTTP,
// real RSA keys, real JWKS. Each `createAuthorizer()` is a cold container.

import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { type AuthorizerHandler, createAuthorizer, UNAUTHORIZED, UPSTREAM_FAULT } from "../lambda/authorizer";
import type { DecisionRecord } from "../lambda/lib/operations/log";
import { contextBytes, MAX_CONTEXT_BYTES } from "../lambda/lib/response/member-context";
import type { CreatedSession, StytchEmulator } from "../local/stytch-emulator";
import type { SecretsManagerEmulator } from "./emulator/secrets-manager-emulator";
import {
  httpV1Event,
  httpV2Event,
  ROUTE_ARN,
  restRequestEvent,
  STAGE_RESOURCE,
  tokenEvent,
} from "./support/authorizer-events";
import { UNHURRIED_TIMEOUTS, useSecretsManagerEmulator, useStytchEmulator } from "./support/fixtures";
import { forgeries } from "./support/forgeries";

let stytch: StytchEmulator;
let logLines: string[];

function envFor(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    STYTCH_PROJECT_ID: stytch.projectId,
    STYTCH_SECRET: stytch.secret,
    STYTCH_API_URL: stytch.url,
    ...UNHURRIED_TIMEOUTS,
    ...overrides,
  };
}

function bearer(token: string) {
  return restRequestEvent({ Authorization: `Bearer ${token}` });
}

/** Runs the handler and reports the outcome API Gateway would see. */
async function outcome(
  handler: AuthorizerHandler,
  event: Parameters<AuthorizerHandler>[0],
): Promise<"allow" | "401" | "500"> {
  try {
    await handler(event);
    return "allow";
  } catch (error) {
    return (error as Error).message === UNAUTHORIZED ? "401" : "500";
  }
}

useStytchEmulator((emulator) => (stytch = emulator));

beforeEach(() => {
  logLines = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logLines.push(args.map(String).join(" "));
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("allowing a valid session JWT", () => {
  test("a valid JWT in the Authorization header is allowed locally with the member's context and a stage-wide IAM policy", async () => {
    const session = stytch.createSession({
      roles: ["editor"],
      organizationSlug: "acme",
      customClaims: { plan: "pro" },
    });
    const handler = createAuthorizer(envFor());
    const response = await handler(bearer(session.sessionJwt));
    expect(response).toEqual({
      principalId: session.memberId,
      policyDocument: {
        Version: "2012-10-17",
        Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: STAGE_RESOURCE }],
      },
      context: {
        caller_type: "member",
        member_id: session.memberId,
        member_session_id: session.memberSessionId,
        organization_id: session.organizationId,
        organization_slug: "acme",
        roles: JSON.stringify(session.roles),
        auth_method: "jwt",
        session_expires_at: session.expiresAt,
        email: session.email,
        custom_claims: JSON.stringify({ plan: "pro" }),
        authentication_factors: expect.stringMatching(
          /^\[\{"type":"magic_link","delivery_method":"email","last_authenticated_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}\]$/,
        ),
      },
    });
    expect(stytch.calls.authenticate).toBe(0);
    expect(stytch.calls.jwks).toBe(1);
  });

  test("an authentic session with huge slug, email and custom claims is allowed with a context inside API Gateway's limits", async () => {
    /**
     * Finding 9f: a 5 KB slug plus 4 KB of email gave a 9.4 KB context, which can push the response
     * past API Gateway's limits. The member's identity stays; the over-long email is left out, with a
     * logged reason, instead of failing the request, and the custom claims still fit the budget.
     */
    const session = stytch.createSession({
      organizationSlug: "s".repeat(5_000),
      email: `${"e".repeat(4_000)}@example.com`,
      customClaims: { plan: "p".repeat(1_500) },
    });
    const handler = createAuthorizer(envFor());
    const response = await handler(bearer(session.sessionJwt));
    const context = (response as { context: Record<string, string | number | boolean> }).context;
    expect(context).toMatchObject({
      member_id: session.memberId,
      member_session_id: session.memberSessionId,
      organization_id: session.organizationId,
      organization_slug: "s".repeat(5_000),
      auth_method: "jwt",
      custom_claims: JSON.stringify({ plan: "p".repeat(1_500) }),
    });
    expect(context).not.toHaveProperty("email");
    expect(context).not.toHaveProperty("custom_claims_truncated");
    expect(contextBytes(context)).toBeLessThanOrEqual(MAX_CONTEXT_BYTES);
    expect(logLines.some((line) => line.includes("context_too_large"))).toBe(true);
  });

  test("a REST TOKEN event is allowed, with or without the Bearer prefix", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, tokenEvent(`Bearer ${session.sessionJwt}`))).toBe("allow");
    expect(await outcome(handler, tokenEvent(session.sessionJwt))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("an HTTP API 2.0 event gets a simple response, and the JWT may come from the cookies array", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    const response = await handler(httpV2Event({}, ["theme=dark", `stytch_session_jwt=${session.sessionJwt}`]));
    expect(response).toMatchObject({
      isAuthorized: true,
      context: { member_id: session.memberId, auth_method: "jwt" },
    });
    expect(response).not.toHaveProperty("policyDocument");
  });

  test("an HTTP API 2.0 event gets an IAM policy over the route's stage when configured for iam responses", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor({ STYTCH_HTTP_API_RESPONSE: "iam" }));
    const response = await handler(httpV2Event({ authorization: `Bearer ${session.sessionJwt}` }));
    expect(response).toMatchObject({
      principalId: session.memberId,
      policyDocument: { Statement: [{ Effect: "Allow", Resource: ROUTE_ARN.replace("/GET/me", "/*/*") }] },
    });
  });

  test("an HTTP API 1.0 event gets an IAM policy", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    const response = await handler(httpV1Event({ authorization: session.sessionJwt }));
    expect(response).toMatchObject({
      principalId: session.memberId,
      policyDocument: { Statement: [{ Resource: STAGE_RESOURCE }] },
    });
  });

  test("the Stytch JWT cookie in a REST REQUEST Cookie header is allowed", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    const response = await handler(
      restRequestEvent({
        Cookie: `a=b; stytch_session_jwt=${session.sessionJwt}; stytch_session=${session.sessionToken}`,
      }),
    );
    expect(response).toMatchObject({ context: { auth_method: "jwt" } });
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("a repeated JWT is answered from the verdict cache from its second request on", async () => {
    /**
     * A member's session JWT comes back with every request for five minutes, so the cache admits it on
     * its first successful verification: each token costs one verification, not two.
     */
    const session = stytch.createSession();
    const paths: string[] = [];
    const handler = createAuthorizer(envFor(), { onDecision: (record) => paths.push(record.path) });
    for (let i = 0; i < 4; i += 1) await handler(bearer(session.sessionJwt));
    expect(paths).toEqual(["local", "cache", "cache", "cache"]);
  });

  test("a remembered verdict is forgotten when its signing key leaves the key set", async () => {
    /**
     * Stytch retires a key (end of the rotation overlap, or an emergency). A token verified with that
     * key must not keep being allowed from memory; it is checked again and its kid is now unknown.
     * The token was issued a minute ago, so the key set fetched since then settles it: 401.
     */
    const session = stytch.createSession();
    const now = Math.floor(Date.now() / 1000);
    const jwt = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 60, nbf: now - 60, exp: now + 240 });
    const paths: string[] = [];
    const handler = createAuthorizer(envFor(), {
      onDecision: (record) => paths.push(`${record.outcome}:${record.path}`),
    });
    for (let i = 0; i < 3; i += 1) expect(await outcome(handler, bearer(jwt))).toBe("allow");
    const { previousKid, newKid } = stytch.rotateKeys();
    stytch.retireKey(previousKid);
    // A token signed with the new key makes the cache refetch the key set, which no longer has the old key.
    expect(await outcome(handler, bearer(stytch.createSession().sessionJwt))).toBe("allow");
    expect(stytch.currentKid).toBe(newKid);
    expect(await outcome(handler, bearer(jwt))).toBe("401");
    expect(paths).toEqual(["allow:local", "allow:cache", "allow:cache", "allow:local", "deny:local"]);
  });

  test("a remembered verdict never outlives the JWT's exp", async () => {
    /**
     * A JWT valid for two more seconds is verified locally and remembered. Once its exp passes, the
     * same string must not be allowed from memory: it is authentic but expired, so it goes to Stytch.
     */
    const session = stytch.createSession();
    const now = Math.floor(Date.now() / 1000);
    const jwt = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 298, nbf: now - 298, exp: now + 2 });
    const handler = createAuthorizer(envFor({ STYTCH_CLOCK_TOLERANCE_SECONDS: "0" }));
    expect(await outcome(handler, bearer(jwt))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await outcome(handler, bearer(jwt))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(1);
    expect(stytch.authenticateRequests[0]?.body).toEqual({ session_jwt: jwt });
  });
});

describe("denying bad or absent credentials without calling Stytch", () => {
  test("a request without any credential is Unauthorized", async () => {
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, restRequestEvent({ Accept: "application/json" }))).toBe("401");
    expect(await outcome(handler, httpV2Event({}))).toBe("401");
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("every forgery class is Unauthorized and never reaches the Stytch API", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    // Warm the key set, and make sure it is warm (allowed without Stytch: verified locally). Without one, the
    // forgeries would be screened without their signatures and sent to Stytch.
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(0);
    const results: Record<string, string> = {};
    for (const [name, token] of Object.entries(forgeries(stytch, session.memberSessionId))) {
      results[name] = await outcome(handler, bearer(token));
    }
    expect(Object.entries(results).filter(([, verdict]) => verdict !== "401")).toEqual([]);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("every forgery class is still Unauthorized when the clock turns a second while the forgeries are made", async () => {
    /**
     * Finding 6 (flaky under load): "signature of another token" was the genuine payload with `iat: now - 1`,
     * `now` read after the emulator had stamped the genuine iat. When a second boundary fell between the two
     * readings (more likely while an RSA signature is computed on a loaded machine), that "forgery" was
     * byte for byte the genuine token, and was allowed. Here the clock turns right after its first reading.
     */
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(0);
    const lastMillisecond = Math.floor(Date.now() / 1000) * 1000 - 1;
    let readings = 0;
    const clock = vi
      .spyOn(Date, "now")
      .mockImplementation(() => (readings++ === 0 ? lastMillisecond : lastMillisecond + 1));
    let tokens: Record<string, string>;
    try {
      tokens = forgeries(stytch, session.memberSessionId);
    } finally {
      clock.mockRestore();
    }
    const results: Record<string, string> = {};
    for (const [name, token] of Object.entries(tokens)) results[name] = await outcome(handler, bearer(token));
    expect(Object.entries(results).filter(([, verdict]) => verdict !== "401")).toEqual([]);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test.each([
    ["exp of 1e300", { exp: 1e300 }],
    ["exp past 8.64e12", { exp: 8.64e12 + 1 }],
    ["iat of 1e300", { iat: 1e300 }],
  ])("an authentic JWT with %s is Unauthorized (malformed), not a fault", async (_, overrides) => {
    /** Finding 9b: the RangeError of `new Date(1e300 * 1000).toISOString()` used to become a 503. */
    const session = stytch.createSession();
    const payload = stytch.sessionPayload(session.memberSessionId, overrides);
    const { expires_at: _expiresAt, ...sessionClaim } = payload["https://stytch.com/session"] as Record<
      string,
      unknown
    >;
    const token = stytch.signJwt(
      { alg: "RS256", typ: "JWT", kid: stytch.currentKid },
      { ...payload, "https://stytch.com/session": sessionClaim },
    );
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(token))).toBe("401");
    expect(
      logLines.some((line) => line.includes('"reason":"malformed"') || line.includes('"reason": "malformed"')),
    ).toBe(true);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("a forged JWT in a cookie is not rescued by a valid session cookie next to it", async () => {
    const session = stytch.createSession();
    const forged = forgeries(stytch, session.memberSessionId)["tampered payload"]!;
    const handler = createAuthorizer(envFor());
    expect(
      await outcome(
        handler,
        restRequestEvent({ cookie: `stytch_session_jwt=${forged}; stytch_session=${session.sessionToken}` }),
      ),
    ).toBe("401");
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("each denial is logged with its reason code and never with the credential", async () => {
    const session = stytch.createSession();
    const tokens = forgeries(stytch, session.memberSessionId);
    const handler = createAuthorizer(envFor());
    await outcome(handler, bearer(tokens["wrong issuer"]!));
    await outcome(handler, bearer(tokens["tampered payload"]!));
    await outcome(handler, bearer(tokens["RS384 with the project key"]!));
    await outcome(handler, restRequestEvent({}));
    const reasons = logLines.filter((line) => line.includes("request denied")).map((line) => JSON.parse(line).reason);
    expect(reasons).toEqual(["wrong_issuer", "bad_signature", "unsupported_algorithm", "missing_credential"]);
    const everything = logLines.join("\n");
    for (const token of [tokens["wrong issuer"]!, tokens["tampered payload"]!, session.sessionJwt, stytch.secret]) {
      expect(everything).not.toContain(token.split(".").pop());
    }
  });
});

describe("falling back to the Stytch API only where local verification cannot answer", () => {
  test("an opaque session token is checked with Stytch using HTTP Basic auth and only the token", async () => {
    const session = stytch.createSession({ roles: ["admin"] });
    const handler = createAuthorizer(envFor());
    const response = await handler(restRequestEvent({ Cookie: `stytch_session=${session.sessionToken}` }));
    expect(response).toMatchObject({
      principalId: session.memberId,
      context: {
        auth_method: "session_token",
        organization_id: session.organizationId,
        roles: JSON.stringify(session.roles),
        email: session.email,
      },
    });
    expect(stytch.authenticateRequests).toEqual([
      {
        body: { session_token: session.sessionToken },
        authorization: `Basic ${Buffer.from(`${stytch.projectId}:${stytch.secret}`).toString("base64")}`,
      },
    ]);
  });

  test("opaque-token verdicts are not reused: a revoked session is refused at once", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    const event = bearer(session.sessionToken);
    expect(await outcome(handler, event)).toBe("allow");
    stytch.revokeSession(session.memberSessionId);
    expect(await outcome(handler, event)).toBe("401");
    expect(stytch.calls.authenticate).toBe(2);
  });

  test("with STYTCH_SESSION_TOKEN_CACHE_SECONDS an opaque-token verdict is reused within the TTL", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor({ STYTCH_SESSION_TOKEN_CACHE_SECONDS: "60" }));
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("STYTCH_SESSION_TOKEN_CACHE_SECONDS never caches a JWT's remote verdict: in strict mode a revoked session's JWT is refused at once", async () => {
    /**
     * Finding 9c: the opaque-token cache also kept JWT verdicts, so with a 300 s cache in strict mode a
     * revoked session's JWT stayed allowed for 300 s. Strict mode sends a JWT to Stytch precisely so
     * that its answer is fresh.
     */
    const session = stytch.createSession();
    const handler = createAuthorizer(
      envFor({ STYTCH_SESSION_TOKEN_CACHE_SECONDS: "300", STYTCH_MAX_TOKEN_AGE_SECONDS: "0" }),
    );
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    stytch.revokeSession(session.memberSessionId);
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("401");
    expect(stytch.calls.authenticate).toBe(2);
  });

  test("a cached opaque-token verdict never outlives the session's expires_at, however long the cache setting", async () => {
    /**
     * Mutation-testing finding 9 §3: with STYTCH_SESSION_TOKEN_CACHE_SECONDS longer than the time the
     * session has left, the cached verdict must still end with the session.
     */
    const session = stytch.createSession({ durationMinutes: 2 / 60 });
    const handler = createAuthorizer(envFor({ STYTCH_SESSION_TOKEN_CACHE_SECONDS: "300" }));
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(session.expiresAt) - Date.now()) + 100));
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("401");
    expect(stytch.calls.authenticate).toBe(2);
  });

  test("replaying a dead opaque token costs one Stytch call, not one per request", async () => {
    /**
     * Finding 9e: Stytch's 404 session_not_found is definitive, so it is remembered briefly; a stranger
     * replaying one dead credential no longer spends our Stytch rate limit on every request.
     */
    const session = stytch.createSession();
    stytch.revokeSession(session.memberSessionId);
    const handler = createAuthorizer(envFor());
    for (let i = 0; i < 5; i += 1) expect(await outcome(handler, bearer(session.sessionToken))).toBe("401");
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("replaying an expired JWT of a revoked session costs one Stytch call", async () => {
    const session = stytch.createSession();
    const now = Math.floor(Date.now() / 1000);
    const expired = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 900, nbf: now - 900, exp: now - 600 });
    stytch.revokeSession(session.memberSessionId);
    const handler = createAuthorizer(envFor());
    for (let i = 0; i < 5; i += 1) expect(await outcome(handler, bearer(expired))).toBe("401");
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("faults are never remembered as rejections: after a 429 or a 500 the next request asks Stytch again", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    stytch.faults.authenticate = "429";
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("500");
    stytch.faults.authenticate = "500";
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("500");
    stytch.faults.authenticate = "none";
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(4);
  });

  test("identical credentials in flight at the same moment share one Stytch call", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    stytch.setLatency("authenticate", 100);
    try {
      const verdicts = await Promise.all(
        Array.from({ length: 10 }, () => outcome(handler, bearer(session.sessionToken))),
      );
      expect(verdicts).toEqual(Array(10).fill("allow"));
      expect(stytch.calls.authenticate).toBe(1);
    } finally {
      stytch.setLatency("authenticate", 0);
    }
  });

  test("an authentic but expired JWT is checked with Stytch and allowed while its session lives", async () => {
    const session = stytch.createSession();
    const now = Math.floor(Date.now() / 1000);
    const expired = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 900, nbf: now - 900, exp: now - 600 });
    const handler = createAuthorizer(envFor());
    const response = await handler(bearer(expired));
    expect(response).toMatchObject({
      principalId: session.memberId,
      context: { auth_method: "jwt", member_session_id: session.memberSessionId },
    });
    expect(stytch.authenticateRequests.map((request) => request.body)).toEqual([{ session_jwt: expired }]);
  });

  test("an authentic but expired JWT of a revoked session is Unauthorized, with reason revoked", async () => {
    const session = stytch.createSession();
    const now = Math.floor(Date.now() / 1000);
    const expired = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 900, nbf: now - 900, exp: now - 600 });
    stytch.revokeSession(session.memberSessionId);
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(expired))).toBe("401");
    expect(logLines.some((line) => line.includes('"reason": "revoked"') || line.includes('"reason":"revoked"'))).toBe(
      true,
    );
  });

  test("a JWT older than the maximum token age is checked with Stytch; a younger one is not", async () => {
    const session = stytch.createSession();
    const now = Math.floor(Date.now() / 1000);
    const old = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 120, nbf: now - 120, exp: now + 180 });
    const handler = createAuthorizer(
      envFor({ STYTCH_MAX_TOKEN_AGE_SECONDS: "60", STYTCH_CLOCK_TOLERANCE_SECONDS: "0" }),
    );
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(0);
    expect(await outcome(handler, bearer(old))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("strict mode (max token age 0) refuses a fresh JWT of a revoked session, which the default mode still allows", async () => {
    /**
     * Stytch's documented trade-off: a session JWT verifies locally for its 5 minutes even after the
     * session is revoked. Strict mode sends every JWT to Stytch, so revocation takes effect at once.
     */
    const session = stytch.createSession();
    stytch.revokeSession(session.memberSessionId);
    expect(await outcome(createAuthorizer(envFor()), bearer(session.sessionJwt))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(0);
    expect(
      await outcome(createAuthorizer(envFor({ STYTCH_MAX_TOKEN_AGE_SECONDS: "0" })), bearer(session.sessionJwt)),
    ).toBe("401");
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("strict mode still denies a forged JWT locally", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor({ STYTCH_MAX_TOKEN_AGE_SECONDS: "0" }));
    expect(await outcome(handler, bearer(forgeries(stytch, session.memberSessionId)["tampered payload"]!))).toBe("401");
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("treating upstream faults as faults, never as Unauthorized and never as Allow", () => {
  test("Stytch 500 is a fault after exactly one retry", async () => {
    const session = stytch.createSession();
    stytch.faults.authenticate = "500";
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("500");
    expect(stytch.calls.authenticate).toBe(2);
    expect(logLines.some((line) => line.includes("upstream_unavailable"))).toBe(true);
  });

  test("a single Stytch 503 is retried and the request allowed", async () => {
    const session = stytch.createSession();
    stytch.failNext("authenticate", "503");
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(2);
  });

  test("a dropped connection is retried once", async () => {
    const session = stytch.createSession();
    stytch.failNext("authenticate", "reset");
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(2);
  });

  test("Stytch 429 is a fault and is not retried", async () => {
    const session = stytch.createSession();
    stytch.faults.authenticate = "429";
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("500");
    expect(stytch.calls.authenticate).toBe(1);
    expect(logLines.some((line) => line.includes("upstream_rate_limited"))).toBe(true);
  });

  test("a hanging Stytch is a fault within the configured deadline", async () => {
    const session = stytch.createSession();
    stytch.faults.authenticate = "hang";
    const handler = createAuthorizer(envFor({ STYTCH_API_TIMEOUT_MS: "300" }));
    const started = Date.now();
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("500");
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(stytch.calls.authenticate).toBe(1);
    expect(logLines.some((line) => line.includes("upstream_timeout"))).toBe(true);
  });

  test("the deadline never runs past the Lambda's remaining time", async () => {
    const session = stytch.createSession();
    stytch.faults.authenticate = "hang";
    const handler = createAuthorizer(envFor({ STYTCH_API_TIMEOUT_MS: "10000" }));
    const started = Date.now();
    const context = { awsRequestId: "req-1", getRemainingTimeInMillis: () => 800 };
    await expect(handler(bearer(session.sessionToken), context)).rejects.toThrow(UPSTREAM_FAULT);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  test("a wrong project secret is a fault, not Unauthorized", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor({ STYTCH_SECRET: "secret-test-wrong-wrong-wrong-wrong-wrong" }));
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("500");
    expect(stytch.calls.authenticate).toBe(1);
    expect(logLines.some((line) => line.includes("upstream_credentials_rejected"))).toBe(true);
  });

  test("an unreachable JWKS on a cold container sends a well-formed JWT to Stytch", async () => {
    const session = stytch.createSession();
    stytch.faults.jwks = "500";
    const handler = createAuthorizer(envFor());
    const response = await handler(bearer(session.sessionJwt));
    expect(response).toMatchObject({ principalId: session.memberId, context: { auth_method: "jwt" } });
    expect(stytch.authenticateRequests.map((request) => request.body)).toEqual([{ session_jwt: session.sessionJwt }]);
  });

  test("with no JWKS, a JWT for another project is still denied without a Stytch call", async () => {
    const session = stytch.createSession();
    stytch.faults.jwks = "hang";
    const handler = createAuthorizer(envFor({ STYTCH_JWKS_TIMEOUT_MS: "200" }));
    expect(await outcome(handler, bearer(forgeries(stytch, session.memberSessionId)["wrong audience"]!))).toBe("401");
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("with no JWKS, a JWT with characters outside base64url is denied without a Stytch call", async () => {
    /**
     * With keys, an altered character fails the signature. Without keys nothing verifies the
     * signature, so the parser's strict alphabet check is what keeps such a token away from Stytch.
     */
    const session = stytch.createSession();
    const [h, p, sig] = session.sessionJwt.split(".") as [string, string, string];
    stytch.faults.jwks = "500";
    const handler = createAuthorizer(envFor());
    // Node's lenient decoder skips characters outside the alphabet, so this payload still decodes to the same JSON.
    const altered = `${p.slice(0, 8)}!!!!${p.slice(8)}`;
    expect(Buffer.from(altered, "base64url").equals(Buffer.from(p, "base64url"))).toBe(true);
    expect(await outcome(handler, bearer(`${h}.${altered}.${sig}`))).toBe("401");
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("no JWKS and no Stytch API is a fault", async () => {
    const session = stytch.createSession();
    stytch.faults.jwks = "oversized";
    stytch.faults.authenticate = "503";
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("500");
    expect(logLines.some((line) => line.includes("JWKS fetch failed"))).toBe(true);
  });

  test("an outage at Stytch does not affect a valid JWT once the keys are cached", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    stytch.faults.jwks = "500";
    stytch.faults.authenticate = "500";
    const other = stytch.createSession();
    expect(await outcome(handler, bearer(other.sessionJwt))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("the key set in a warm container", () => {
  test("50 concurrent requests on a cold container cause exactly one JWKS fetch", async () => {
    const sessions: CreatedSession[] = Array.from({ length: 50 }, () => stytch.createSession());
    stytch.setLatency("jwks", 50);
    try {
      const handler = createAuthorizer(envFor());
      const verdicts = await Promise.all(sessions.map((session) => outcome(handler, bearer(session.sessionJwt))));
      expect(verdicts).toEqual(Array(50).fill("allow"));
      expect(stytch.calls.jwks).toBe(1);
      expect(stytch.calls.authenticate).toBe(0);
    } finally {
      stytch.setLatency("jwks", 0);
    }
  });

  test("a JWT signed with a freshly rotated key triggers one refetch and is allowed", async () => {
    const handler = createAuthorizer(envFor());
    const before = stytch.createSession();
    expect(await outcome(handler, bearer(before.sessionJwt))).toBe("allow");
    stytch.rotateKeys();
    const after = stytch.createSession();
    expect(await outcome(handler, bearer(after.sessionJwt))).toBe("allow");
    expect(await outcome(handler, bearer(before.sessionJwt))).toBe("allow");
    expect(stytch.calls.jwks).toBe(2);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("a flood of invented kids never allows, never reaches Stytch, and costs at most one JWKS fetch per interval", async () => {
    /**
     * Tokens issued just now with invented kids could be signed with a key Stytch has just published,
     * so they get a retryable fault (never a 401 that would log a member out) while the key set may
     * not be refetched yet; tokens issued before our key set was fetched are plainly unknown: 401.
     * Finding 3: the retryable answer is decided as `unproven`, not as a fault (anyone can send one).
     */
    const session = stytch.createSession();
    const payload = stytch.sessionPayload(session.memberSessionId);
    const issued = payload.iat as number;
    // Signed up front, so that the requests below take milliseconds: the 3-s refetch interval is what is counted.
    const kids = Array.from({ length: 50 }, (_, i) => `jwk-test-${i.toString().padStart(8, "0")}`);
    const freshTokens = kids.map((kid) => stytch.signJwt({ alg: "RS256", typ: "JWT", kid }, payload));
    const oldTokens = kids.map((kid) =>
      stytch.signJwt({ alg: "RS256", typ: "JWT", kid }, { ...payload, iat: issued - 60, nbf: issued - 60 }),
    );
    const decisions: DecisionRecord[] = [];
    const handler = createAuthorizer(envFor(), { onDecision: (record) => decisions.push(record) });
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    const fresh: string[] = [];
    const old: string[] = [];
    for (let i = 0; i < 50; i += 1) {
      fresh.push(await outcome(handler, bearer(freshTokens[i]!)));
      old.push(await outcome(handler, bearer(oldTokens[i]!)));
    }
    expect(new Set(fresh)).toEqual(new Set(["500"]));
    expect(new Set(old)).toEqual(new Set(["401"]));
    const verdicts = new Set(decisions.slice(1).map((record) => `${record.outcome}:${record.path}:${record.reason}`));
    expect(verdicts).toEqual(new Set(["unproven:local:kid_not_yet_known", "deny:local:unknown_kid"]));
    // The warm-up fetch, plus one refetch for the first fresh invented kid.
    expect(stytch.calls.jwks).toBe(2);
    expect(stytch.calls.authenticate).toBe(0);
    expect(logLines.some((line) => line.includes("kid_not_yet_known"))).toBe(true);
    // The genuine key still works meanwhile.
    expect(await outcome(handler, bearer(stytch.createSession().sessionJwt))).toBe("allow");
  });

  test("a key published right after an invented kid arrived is never answered 401, and is allowed once the key set may be refetched", async () => {
    /**
     * Finding 9d: someone sends an invented kid (the key set is refetched), then Stytch rotates and
     * signs with the new key at once. Until the next refetch is allowed (3 s after the last) the new
     * JWT gets a retryable fault, never a 401; then it is allowed, even though invented kids keep coming.
     */
    const session = stytch.createSession();
    const payload = stytch.sessionPayload(session.memberSessionId);
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    const invented = () =>
      bearer(stytch.signJwt({ alg: "RS256", typ: "JWT", kid: `jwk-test-invented-${Math.random()}` }, payload));
    expect(await outcome(handler, invented())).toBe("500");
    const { newKid } = stytch.rotateKeys();
    const rotated = stytch.createSession().sessionJwt;
    const published = Date.now();
    const verdicts: string[] = [];
    while (Date.now() - published < 5_000) {
      await outcome(handler, invented());
      const verdict = await outcome(handler, bearer(rotated));
      verdicts.push(verdict);
      if (verdict === "allow") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(verdicts.at(-1)).toBe("allow");
    expect(verdicts).not.toContain("401");
    expect(Date.now() - published).toBeLessThan(5_000);
    expect(stytch.currentKid).toBe(newKid);
    expect(stytch.calls.authenticate).toBe(0);
    expect(stytch.calls.jwks).toBeLessThanOrEqual(4);
  });
});

describe("configuration", () => {
  test.each([
    ["a missing project ID", { STYTCH_PROJECT_ID: undefined }],
    ["a malformed project ID", { STYTCH_PROJECT_ID: "my-project" }],
    ["no secret at all", { STYTCH_SECRET: undefined }],
    ["a plain-http API URL on a public host", { STYTCH_API_URL: "http://api.example.com" }],
    ["an invalid max token age", { STYTCH_MAX_TOKEN_AGE_SECONDS: "-5" }],
  ])("%s makes every request a fault, even one with a valid JWT", async (_name, overrides) => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor(overrides));
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("500");
    expect(await outcome(handler, restRequestEvent({}))).toBe("500");
    expect(logLines.some((line) => line.includes("bad_config"))).toBe(true);
  });

  test("an event without a method or route ARN is a fault, not an Allow", async () => {
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    expect(await outcome(handler, tokenEvent(session.sessionJwt, "not-an-arn"))).toBe("500");
  });
});

describe("the project secret from Secrets Manager", () => {
  let secretsManager: SecretsManagerEmulator;
  const secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stytch-project-secret-AbCdEf";
  useSecretsManagerEmulator((emulator) => (secretsManager = emulator));

  test("the secret is read once per container and used for Stytch calls", async () => {
    secretsManager.secrets.set(secretArn, JSON.stringify({ secret: stytch.secret }));
    const handler = createAuthorizer(envFor({ STYTCH_SECRET: undefined, STYTCH_SECRET_ARN: secretArn }));
    for (let i = 0; i < 3; i += 1) {
      expect(await outcome(handler, bearer(stytch.createSession().sessionToken))).toBe("allow");
    }
    expect(secretsManager.calls.getSecretValue).toBe(1);
    expect(stytch.calls.authenticate).toBe(3);
  });

  test("a valid JWT never waits for Secrets Manager", async () => {
    secretsManager.failing = true;
    const handler = createAuthorizer(envFor({ STYTCH_SECRET: undefined, STYTCH_SECRET_ARN: secretArn }));
    expect(await outcome(handler, bearer(stytch.createSession().sessionJwt))).toBe("allow");
    expect(secretsManager.calls.getSecretValue).toBe(0);
  });

  test("an unreadable secret is a fault for requests that need Stytch", async () => {
    secretsManager.failing = true;
    const handler = createAuthorizer(envFor({ STYTCH_SECRET: undefined, STYTCH_SECRET_ARN: secretArn }));
    expect(await outcome(handler, bearer(stytch.createSession().sessionToken))).toBe("500");
    expect(stytch.calls.authenticate).toBe(0);
    expect(logLines.some((line) => line.includes("secret_unavailable"))).toBe(true);
  });

  test("an empty secret is a configuration fault", async () => {
    secretsManager.secrets.set(secretArn, "");
    const handler = createAuthorizer(envFor({ STYTCH_SECRET: undefined, STYTCH_SECRET_ARN: secretArn }));
    expect(await outcome(handler, bearer(stytch.createSession().sessionToken))).toBe("500");
    expect(logLines.some((line) => line.includes("bad_config"))).toBe(true);
  });
});

describe("hardening: remembered verdicts and rejections, on a hand-set clock", () => {
  /** Freezes Date (jose, the caches and the emulator all read it) at the start of the next whole second. */
  function freezeClockAtWholeSecond(): number {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = (Math.floor(Date.now() / 1000) + 1) * 1000;
    vi.setSystemTime(start);
    return start;
  }

  afterEach(() => {
    vi.useRealTimers();
  });

  test("a remembered JWT verdict ends at the maximum token age: a session revoked meanwhile is refused after one Stytch call", async () => {
    /**
     * Max age 3 s, no tolerance. The verdict is remembered only until iat + 3 s; after that the JWT is verified
     * again, and once jose finds it older than 3 s (ages are whole seconds, so from iat + 4 s) it goes to
     * Stytch, which knows the session was revoked.
     */
    const start = freezeClockAtWholeSecond();
    const session = stytch.createSession(); // its JWT is issued at `start`
    const paths: string[] = [];
    const handler = createAuthorizer(
      envFor({ STYTCH_MAX_TOKEN_AGE_SECONDS: "3", STYTCH_CLOCK_TOLERANCE_SECONDS: "0" }),
      {
        onDecision: (record) => paths.push(`${record.outcome}:${record.path}`),
      },
    );
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    vi.setSystemTime(start + 2_900);
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow");
    vi.setSystemTime(start + 3_100);
    stytch.revokeSession(session.memberSessionId);
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("allow"); // verified again, not remembered
    vi.setSystemTime(start + 4_000);
    expect(await outcome(handler, bearer(session.sessionJwt))).toBe("401");
    expect(paths).toEqual(["allow:local", "allow:cache", "allow:local", "deny:remote"]);
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("an opaque-token verdict is reused until its TTL ends and not at its end: a session revoked meanwhile is then refused", async () => {
    const start = freezeClockAtWholeSecond();
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor({ STYTCH_SESSION_TOKEN_CACHE_SECONDS: "2" }));
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    stytch.revokeSession(session.memberSessionId);
    vi.setSystemTime(start + 1_999);
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(1);
    vi.setSystemTime(start + 2_000);
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("401");
    expect(stytch.calls.authenticate).toBe(2);
  });

  test("with STYTCH_SESSION_TOKEN_CACHE_SECONDS set to 0, an opaque-token verdict is never reused, even within the same millisecond", async () => {
    freezeClockAtWholeSecond();
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor({ STYTCH_SESSION_TOKEN_CACHE_SECONDS: "0" }));
    for (let i = 0; i < 3; i += 1) expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(3);
  });

  test("an expired JWT: a 5xx is never remembered, a 404 is remembered for 30 s and then asked again", async () => {
    const start = freezeClockAtWholeSecond();
    const session = stytch.createSession();
    const now = Math.floor(start / 1000);
    const expired = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 900, nbf: now - 900, exp: now - 600 });
    const handler = createAuthorizer(envFor());
    stytch.faults.authenticate = "503";
    expect(await outcome(handler, bearer(expired))).toBe("500");
    expect(stytch.calls.authenticate).toBe(2); // one retry
    stytch.faults.authenticate = "none";
    expect(await outcome(handler, bearer(expired))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(3);
    stytch.revokeSession(session.memberSessionId);
    expect(await outcome(handler, bearer(expired))).toBe("401");
    vi.setSystemTime(start + 29_999);
    expect(await outcome(handler, bearer(expired))).toBe("401");
    expect(stytch.calls.authenticate).toBe(4);
    vi.setSystemTime(start + 30_000);
    expect(await outcome(handler, bearer(expired))).toBe("401");
    expect(stytch.calls.authenticate).toBe(5);
  });

  test("a Stytch 401 with an unknown error type is a fault, not a 401 to the member, and is not remembered as a rejection", async () => {
    freezeClockAtWholeSecond();
    const session = stytch.createSession();
    const handler = createAuthorizer(envFor());
    stytch.faults.authenticate = "401-unknown-error-type";
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("500");
    stytch.faults.authenticate = "none";
    expect(await outcome(handler, bearer(session.sessionToken))).toBe("allow");
    expect(stytch.calls.authenticate).toBe(2);
  });
});
