// The refresh endpoint against the loopback Stytch emulator: one test (at least) per status code.

import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { describe, expect, test } from "vitest";
import { UNAVAILABLE_BODY } from "../lambda/lib/response/unavailable";
import { createRefreshHandler, MAX_BODY_BYTES, type RefreshHandler } from "../lambda/refresh";
import type { StytchEmulator } from "../local/stytch-emulator";
import { UNHURRIED_TIMEOUTS, useStytchEmulator } from "./support/fixtures";
import { forgeries } from "./support/forgeries";
import { captureLogRecords } from "./support/log-capture";

let stytch: StytchEmulator;
const APP_ORIGIN = "https://app.example.com";

function envFor(overrides: Record<string, string | undefined> = {}) {
  return {
    STYTCH_PROJECT_ID: stytch.projectId,
    STYTCH_SECRET: stytch.secret,
    STYTCH_API_URL: stytch.url,
    REFRESH_ALLOWED_ORIGINS: `${APP_ORIGIN},http://localhost:3000`,
    ...UNHURRIED_TIMEOUTS,
    ...overrides,
  };
}

function restEvent(
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): APIGatewayProxyEvent {
  const headers = options.headers ?? {};
  return {
    httpMethod: options.method ?? "POST",
    path: "/auth/refresh",
    resource: "/auth/refresh",
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    body: options.body ?? null,
    isBase64Encoded: false,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent["requestContext"],
  };
}

function httpV2Event(options: {
  cookies?: string[];
  headers?: Record<string, string>;
  body?: string;
}): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /auth/refresh",
    rawPath: "/auth/refresh",
    rawQueryString: "",
    headers: options.headers ?? {},
    ...(options.cookies ? { cookies: options.cookies } : {}),
    ...(options.body ? { body: options.body } : {}),
    isBase64Encoded: false,
    requestContext: { http: { method: "POST", path: "/auth/refresh" } } as APIGatewayProxyEventV2["requestContext"],
  } as APIGatewayProxyEventV2;
}

function setCookies(result: APIGatewayProxyResult | APIGatewayProxyStructuredResultV2): string[] {
  if ("cookies" in result && result.cookies) return result.cookies;
  return ((result as APIGatewayProxyResult).multiValueHeaders?.["Set-Cookie"] ?? []).map(String);
}

function bodyOf(result: APIGatewayProxyResult | APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(String(result.body));
}

async function call(handler: RefreshHandler, event: APIGatewayProxyEvent | APIGatewayProxyEventV2) {
  return (await handler(event)) as APIGatewayProxyResult;
}

useStytchEmulator((emulator) => (stytch = emulator));

describe("200: a live session gets a fresh JWT and rotated cookies", () => {
  test("the session cookie is exchanged for a new JWT, with cookies that expire with the session", async () => {
    const session = stytch.createSession();
    const handler = createRefreshHandler(envFor());
    const result = await call(handler, restEvent({ headers: { Cookie: `stytch_session=${session.sessionToken}` } }));
    expect(result.statusCode).toBe(200);
    const body = bodyOf(result);
    expect(body).toEqual({
      session_jwt: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      session_expires_at: session.expiresAt,
      member_id: session.memberId,
      organization_id: session.organizationId,
    });
    expect(body).not.toHaveProperty("session_token");
    const expires = new Date(session.expiresAt).toUTCString();
    expect(setCookies(result)).toEqual([
      `stytch_session_jwt=${body.session_jwt as string}; Path=/; Expires=${expires}; Secure; SameSite=Lax`,
      `stytch_session=${session.sessionToken}; Path=/; Expires=${expires}; Secure; SameSite=Lax`,
    ]);
    expect(stytch.authenticateRequests.map((request) => request.body)).toEqual([
      { session_token: session.sessionToken },
    ]);
    expect(result.headers?.["cache-control"]).toBe("no-store");
  });

  test("an expired JWT in the Authorization header is refreshed", async () => {
    const session = stytch.createSession();
    const now = Math.floor(Date.now() / 1000);
    const expired = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 900, nbf: now - 900, exp: now - 600 });
    const result = await call(
      createRefreshHandler(envFor()),
      restEvent({ headers: { Authorization: `Bearer ${expired}` } }),
    );
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result).member_id).toBe(session.memberId);
    expect(bodyOf(result).session_jwt).not.toBe(expired);
    expect(stytch.authenticateRequests.map((request) => request.body)).toEqual([{ session_jwt: expired }]);
  });

  test("a JSON body credential works, and an HTTP API v2 event gets a cookies array", async () => {
    const session = stytch.createSession();
    const result = await createRefreshHandler(envFor())(
      httpV2Event({ body: JSON.stringify({ session_token: session.sessionToken }) }),
    );
    expect(result.statusCode).toBe(200);
    expect((result as APIGatewayProxyStructuredResultV2).cookies).toHaveLength(2);
    expect(result).not.toHaveProperty("multiValueHeaders");
  });

  test("HttpOnly, a cookie domain and returning the session token are options", async () => {
    const session = stytch.createSession();
    const handler = createRefreshHandler(
      envFor({
        REFRESH_COOKIE_HTTP_ONLY: "true",
        REFRESH_COOKIE_DOMAIN: "example.com",
        REFRESH_RETURN_SESSION_TOKEN: "true",
      }),
    );
    const result = await call(handler, restEvent({ headers: { Cookie: `stytch_session=${session.sessionToken}` } }));
    expect(bodyOf(result).session_token).toBe(session.sessionToken);
    for (const cookie of setCookies(result))
      expect(cookie).toMatch(/; Domain=example\.com; Secure; HttpOnly; SameSite=Lax$/);
  });

  test("session_duration_minutes extends the session within the configured bound", async () => {
    const session = stytch.createSession({ durationMinutes: 10 });
    const handler = createRefreshHandler(envFor({ REFRESH_MAX_SESSION_DURATION_MINUTES: "1440" }));
    const result = await call(
      handler,
      restEvent({
        headers: { Cookie: `stytch_session=${session.sessionToken}` },
        body: JSON.stringify({ session_duration_minutes: 720 }),
      }),
    );
    expect(result.statusCode).toBe(200);
    expect(stytch.authenticateRequests[0]?.body).toEqual({
      session_token: session.sessionToken,
      session_duration_minutes: 720,
    });
    expect(Date.parse(bodyOf(result).session_expires_at as string)).toBeGreaterThan(Date.now() + 700 * 60_000);
  });

  test("an allowed origin gets credentialed CORS headers", async () => {
    const session = stytch.createSession();
    const result = await call(
      createRefreshHandler(envFor()),
      restEvent({ headers: { Origin: APP_ORIGIN, Cookie: `stytch_session=${session.sessionToken}` } }),
    );
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({
      "access-control-allow-origin": APP_ORIGIN,
      "access-control-allow-credentials": "true",
      vary: "Origin",
    });
  });
});

describe("401: a dead or bad credential clears both cookies", () => {
  test("a revoked session is 401 and both cookies are cleared", async () => {
    const session = stytch.createSession();
    stytch.revokeSession(session.memberSessionId);
    const result = await call(
      createRefreshHandler(envFor()),
      restEvent({ headers: { Cookie: `stytch_session=${session.sessionToken}` } }),
    );
    expect(result.statusCode).toBe(401);
    expect(bodyOf(result)).toEqual({ message: "Unauthorized", reason: "revoked" });
    const cleared = setCookies(result);
    expect(cleared.map((cookie) => cookie.split("=")[0])).toEqual(["stytch_session_jwt", "stytch_session"]);
    for (const cookie of cleared)
      expect(cookie).toMatch(/=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax; Max-Age=0$/);
  });

  test("no credential at all is 401", async () => {
    const result = await call(createRefreshHandler(envFor()), restEvent());
    expect(result.statusCode).toBe(401);
    expect(bodyOf(result).reason).toBe("missing_credential");
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("forged JWTs are 401 and never reach Stytch", async () => {
    const session = stytch.createSession();
    const handler = createRefreshHandler(envFor());
    const forged = forgeries(stytch, session.memberSessionId);
    for (const name of [
      "tampered payload",
      "wrong audience",
      "HS256 keyed with the public key",
      "M2M token without member claims",
      "garbage",
    ]) {
      const result = await call(handler, restEvent({ headers: { Authorization: `Bearer ${forged[name]!}` } }));
      expect(result.statusCode, name).toBe(401);
    }
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("401: screening a warm handler, and time claims", () => {
  test("a tampered-payload JWT sent to a warm refresh handler is 401 and never reaches Stytch", async () => {
    /**
     * Mutation-testing finding 9 §3: the screening must verify the signature also once the key set is
     * cached (the cold path fetches the key first; the warm path must not skip the check).
     */
    const session = stytch.createSession();
    const handler = createRefreshHandler(envFor());
    const warm = await call(handler, restEvent({ headers: { Authorization: `Bearer ${session.sessionJwt}` } }));
    expect(warm.statusCode).toBe(200);
    expect(stytch.calls.authenticate).toBe(1);
    expect(stytch.calls.jwks).toBe(1);
    const forged = forgeries(stytch, session.memberSessionId);
    for (const name of [
      "tampered payload",
      "tampered roles",
      "signature from another key with the project kid",
      "payload character above U+00FF with the same low byte",
    ]) {
      const result = await call(handler, restEvent({ headers: { Authorization: `Bearer ${forged[name]!}` } }));
      expect(result.statusCode, name).toBe(401);
    }
    expect(stytch.calls.authenticate).toBe(1);
    expect(stytch.calls.jwks).toBe(1);
  });

  test.each([
    ["exp of 1e300", { exp: 1e300 }],
    ["exp past 8.64e12", { exp: 8.64e12 + 1 }],
    ["a negative nbf", { nbf: -5 }],
  ])("an authentic JWT with %s is 401 (malformed), not 503, and never reaches Stytch", async (_, overrides) => {
    /**
     * Finding 9b: an exp beyond any Date made `toISOString()` throw a RangeError, which the refresh
     * endpoint answered 503. A time claim that is not a date is a malformed token.
     */
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
    const result = await call(
      createRefreshHandler(envFor()),
      restEvent({ headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(result.statusCode).toBe(401);
    expect(bodyOf(result).reason).toBe("malformed");
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("503: Stytch unavailable is not a logout", () => {
  test("Stytch 500 is 503 with Retry-After, and the cookies are left alone", async () => {
    const session = stytch.createSession();
    stytch.faults.authenticate = "500";
    const result = await call(
      createRefreshHandler(envFor()),
      restEvent({ headers: { Cookie: `stytch_session=${session.sessionToken}` } }),
    );
    expect(result.statusCode).toBe(503);
    expect(result.headers?.["retry-after"]).toBe("5");
    expect(bodyOf(result)).toEqual(UNAVAILABLE_BODY);
    expect(setCookies(result)).toEqual([]);
  });

  test("an invalid configuration is 503 with every 503's body, never a refresh", async () => {
    const session = stytch.createSession();
    const result = await call(
      createRefreshHandler(envFor({ STYTCH_PROJECT_ID: undefined })),
      restEvent({ headers: { Cookie: `stytch_session=${session.sessionToken}` } }),
    );
    expect(result.statusCode).toBe(503);
    expect(result.headers?.["retry-after"]).toBe("5");
    expect(bodyOf(result)).toEqual(UNAVAILABLE_BODY);
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("400: malformed or oversized bodies", () => {
  test.each([
    ["not JSON", "{session_token:"],
    ["a JSON array", "[]"],
    ["an unknown field", JSON.stringify({ session_token: "x".repeat(44), admin: true })],
    ["both credentials", JSON.stringify({ session_token: "x".repeat(44), session_jwt: "a.b.c" })],
    ["a non-string credential", JSON.stringify({ session_token: 42 })],
    ["a JWT in the session_token field", JSON.stringify({ session_token: "aaaa.bbbb.cccc" })],
    ["a session extension while extension is disabled", JSON.stringify({ session_duration_minutes: 60 })],
    ["an oversized body", JSON.stringify({ session_token: "x".repeat(MAX_BODY_BYTES) })],
  ])("%s is 400 and costs no Stytch call", async (_name, body) => {
    const session = stytch.createSession();
    const result = await call(
      createRefreshHandler(envFor()),
      restEvent({ headers: { Cookie: `stytch_session=${session.sessionToken}` }, body }),
    );
    expect(result.statusCode).toBe(400);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("a session extension beyond the configured maximum is 400", async () => {
    const session = stytch.createSession();
    const handler = createRefreshHandler(envFor({ REFRESH_MAX_SESSION_DURATION_MINUTES: "60" }));
    const result = await call(
      handler,
      restEvent({
        headers: { Cookie: `stytch_session=${session.sessionToken}` },
        body: JSON.stringify({ session_duration_minutes: 61 }),
      }),
    );
    expect(result.statusCode).toBe(400);
  });
});

describe("405, preflight and origins", () => {
  test("GET is 405 with an Allow header", async () => {
    const result = await call(createRefreshHandler(envFor()), restEvent({ method: "GET" }));
    expect(result.statusCode).toBe(405);
    expect(result.headers?.allow).toBe("POST, OPTIONS");
  });

  test("a preflight from an allowed origin is 204 with credentialed CORS headers", async () => {
    const result = await call(
      createRefreshHandler(envFor()),
      restEvent({ method: "OPTIONS", headers: { Origin: APP_ORIGIN } }),
    );
    expect(result.statusCode).toBe(204);
    expect(result.headers).toMatchObject({
      "access-control-allow-origin": APP_ORIGIN,
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "POST, OPTIONS",
    });
  });

  test("a request from an origin outside the allow-list is 403 and never reaches Stytch", async () => {
    const session = stytch.createSession();
    const handler = createRefreshHandler(envFor());
    const result = await call(
      handler,
      restEvent({ headers: { Origin: "https://evil.example.net", Cookie: `stytch_session=${session.sessionToken}` } }),
    );
    expect(result.statusCode).toBe(403);
    expect(result.headers).not.toHaveProperty("access-control-allow-origin");
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("hardening: origins are matched exactly", () => {
  test.each([
    ["the allowed origin followed by another domain", `${APP_ORIGIN}.evil.example`],
    ["the allowed origin with a port", `${APP_ORIGIN}:8443`],
    ["the allowed origin with a path", `${APP_ORIGIN}/`],
    ["the allowed origin over plain http", "http://app.example.com"],
    ["a subdomain of the allowed origin", "https://evil.app.example.com"],
  ])("%s gets 403, no CORS headers and no Stytch call", async (_, origin) => {
    const session = stytch.createSession();
    const result = await call(
      createRefreshHandler(envFor()),
      restEvent({ headers: { Origin: origin, Cookie: `stytch_session=${session.sessionToken}` } }),
    );
    expect(result.statusCode).toBe(403);
    expect(result.headers).not.toHaveProperty("access-control-allow-origin");
    expect(result.headers).not.toHaveProperty("access-control-allow-credentials");
    expect(setCookies(result)).toEqual([]);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("a preflight from the allowed origin followed by another domain is 403 without CORS headers", async () => {
    const result = await call(
      createRefreshHandler(envFor()),
      restEvent({ method: "OPTIONS", headers: { Origin: `${APP_ORIGIN}.evil.example` } }),
    );
    expect(result.statusCode).toBe(403);
    expect(result.headers).not.toHaveProperty("access-control-allow-origin");
  });
});

describe("hardening: a 503 is not a logout", () => {
  test("Stytch refusing our project credentials with an unknown error type is 503 for an HTTP API v2 event, and the JWT and session cookies are left alone", async () => {
    /**
     * A second angle on "503 keeps the cookies": another cause (a 401 about our secret rather than a 5xx),
     * another event version (v2, whose Set-Cookie travels in a cookies array), both cookies present.
     */
    const session = stytch.createSession();
    stytch.faults.authenticate = "401-unknown-error-type";
    const logs = captureLogRecords();
    const result = await createRefreshHandler(envFor())(
      httpV2Event({
        cookies: [`stytch_session_jwt=${session.sessionJwt}`, `stytch_session=${session.sessionToken}`],
        headers: { origin: APP_ORIGIN },
      }),
    );
    expect(result.statusCode).toBe(503);
    // What failed goes to the log, never to the caller: the body is every 503's.
    expect(bodyOf(result)).toEqual(UNAVAILABLE_BODY);
    expect(logs).toContainEqual(
      expect.objectContaining({ message: "refresh failed", reason: "upstream_credentials_rejected" }),
    );
    expect((result as APIGatewayProxyStructuredResultV2).headers?.["retry-after"]).toBe("5");
    expect(result).not.toHaveProperty("cookies");
    expect(result).not.toHaveProperty("multiValueHeaders");
    expect((result as APIGatewayProxyStructuredResultV2).headers).toMatchObject({
      "access-control-allow-origin": APP_ORIGIN,
    });
    expect(stytch.calls.authenticate).toBe(1);
  });

  test("a hanging Stytch is 503 for a REST event carrying a JWT in the Authorization header, with no Set-Cookie", async () => {
    const session = stytch.createSession();
    stytch.faults.authenticate = "hang";
    const logs = captureLogRecords();
    const result = await call(
      createRefreshHandler(envFor({ STYTCH_API_TIMEOUT_MS: "300" })),
      restEvent({ headers: { Authorization: `Bearer ${session.sessionJwt}` } }),
    );
    expect(result.statusCode).toBe(503);
    expect(bodyOf(result)).toEqual(UNAVAILABLE_BODY);
    expect(logs).toContainEqual(expect.objectContaining({ message: "refresh failed", reason: "upstream_timeout" }));
    expect(setCookies(result)).toEqual([]);
    expect(result.headers?.["retry-after"]).toBe("5");
  });
});

describe("its log lines", () => {
  test("name the refresh service and the refresh function's invocation, also in a process that runs the authorizer too", async () => {
    const logs = captureLogRecords();
    const session = stytch.createSession();
    const context = {
      awsRequestId: "refresh-request-1",
      functionName: "Refresh",
      functionVersion: "$LATEST",
      invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:Refresh",
      memoryLimitInMB: "512",
      getRemainingTimeInMillis: () => 10_000,
    } as Context;
    const handler = createRefreshHandler(envFor({ POWERTOOLS_SERVICE_NAME: undefined }));
    expect(
      (await handler(restEvent({ body: JSON.stringify({ session_token: session.sessionToken }) }), context)).statusCode,
    ).toBe(200);
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: "session refreshed",
        service: "stytch-refresh",
        function_name: "Refresh",
        function_request_id: "refresh-request-1",
      }),
    );
  });
});
