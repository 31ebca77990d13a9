// The organization switch (POST /auth/switch-organization) against the loopback Stytch emulator: with and without
// MFA in the target organization, and every other status, with what Stytch received and which cookies moved.

import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
} from "aws-lambda";
import { decodeJwt } from "jose";
import { describe, expect, test } from "vitest";
import { UpstreamUnavailableError } from "../lambda/lib/errors";
import { SessionExchangeClient } from "../lambda/lib/stytch/session-exchange";
import { createOrganizationSwitchHandler, type OrganizationSwitchHandler } from "../lambda/switch-organization";
import type { StytchEmulator } from "../local/stytch-emulator";
import { UNHURRIED_TIMEOUTS, useStytchEmulator } from "./support/fixtures";
import { forgeries } from "./support/forgeries";

let stytch: StytchEmulator;
const APP_ORIGIN = "https://app.example.com";
let slugs = 0;

useStytchEmulator((emulator) => (stytch = emulator));

function envFor(overrides: Record<string, string | undefined> = {}) {
  return {
    STYTCH_PROJECT_ID: stytch.projectId,
    STYTCH_SECRET: stytch.secret,
    STYTCH_API_URL: stytch.url,
    REFRESH_ALLOWED_ORIGINS: APP_ORIGIN,
    ...UNHURRIED_TIMEOUTS,
    ...overrides,
  };
}

function restEvent(
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): APIGatewayProxyEvent {
  const headers = options.headers ?? {};
  return {
    httpMethod: options.method ?? "POST",
    path: "/auth/switch-organization",
    resource: "/auth/switch-organization",
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    body:
      options.body === undefined
        ? null
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body),
    isBase64Encoded: false,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent["requestContext"],
  };
}

function setCookies(result: APIGatewayProxyResult | APIGatewayProxyStructuredResultV2): string[] {
  if ("cookies" in result && result.cookies) return result.cookies;
  return ((result as APIGatewayProxyResult).multiValueHeaders?.["Set-Cookie"] ?? []).map(String);
}

function bodyOf(result: APIGatewayProxyResult | APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(String(result.body));
}

async function call(handler: OrganizationSwitchHandler, event: APIGatewayProxyEvent | APIGatewayProxyEventV2) {
  return (await handler(event)) as APIGatewayProxyResult;
}

/** A member logged in to one organization who also belongs to another (its MFA policy as given). */
function memberOfTwo(options: { targetRequiresMfa?: boolean } = {}) {
  slugs += 1;
  const email = `switcher-${slugs}@example.com`;
  const session = stytch.createSession({ email, organizationSlug: `home-${slugs}`, roles: ["viewer"] });
  const target = stytch.createMember({ email, organizationSlug: `away-${slugs}`, roles: ["admin"] });
  if (options.targetRequiresMfa) stytch.setOrganizationMfaPolicy(target.organizationId, "REQUIRED_FOR_ALL");
  return { session, target };
}

const cookieHeader = (session: { sessionToken: string; sessionJwt: string }) =>
  `stytch_session_jwt=${session.sessionJwt}; stytch_session=${session.sessionToken}`;

describe("200 without MFA: a session in the other organization, and both cookies rotated to it", () => {
  test("with the session cookies: the JWT and the opaque token of the new session, expiring with it", async () => {
    const { session, target } = memberOfTwo();
    const result = await call(
      createOrganizationSwitchHandler(envFor()),
      restEvent({
        headers: { Origin: APP_ORIGIN, Cookie: cookieHeader(session) },
        body: { organization_id: target.organizationId },
      }),
    );
    expect(result.statusCode).toBe(200);
    const body = bodyOf(result);
    expect(body).toEqual({
      member_authenticated: true,
      session_jwt: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      session_expires_at: expect.any(String),
      member_id: target.memberId,
      organization_id: target.organizationId,
      organization_slug: target.organizationSlug,
    });
    const claims = decodeJwt(body.session_jwt as string);
    expect(claims.sub).toBe(target.memberId);
    expect(claims["https://stytch.com/organization"]).toMatchObject({ organization_id: target.organizationId });
    // The cookie jar now holds the new session, both halves of it, and nothing of the old one.
    const expires = new Date(body.session_expires_at as string).toUTCString();
    const [jwtCookie, tokenCookie] = setCookies(result);
    expect(jwtCookie).toBe(
      `stytch_session_jwt=${body.session_jwt as string}; Path=/; Expires=${expires}; Secure; SameSite=Lax`,
    );
    expect(tokenCookie).toMatch(
      new RegExp(`^stytch_session=[A-Za-z0-9_-]{44}; Path=/; Expires=${expires}; Secure; SameSite=Lax$`),
    );
    expect(tokenCookie).not.toContain(session.sessionToken);
    expect(setCookies(result)).toHaveLength(2);
    const newToken = /^stytch_session=([^;]+)/.exec(tokenCookie!)![1]!;
    const me = await fetch(`${stytch.url}/v1/b2b/sessions/authenticate`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${stytch.projectId}:${stytch.secret}`).toString("base64")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ session_token: newToken }),
    });
    expect(((await me.json()) as { member_session: { organization_id: string } }).member_session.organization_id).toBe(
      target.organizationId,
    );
    // Stytch got the JWT cookie (found first, screened locally) and the organization, and nothing else.
    expect(stytch.exchangeRequests.map((request) => request.body)).toEqual([
      { organization_id: target.organizationId, session_jwt: session.sessionJwt },
    ]);
    expect(result.headers).toMatchObject({ "access-control-allow-origin": APP_ORIGIN, "cache-control": "no-store" });
    expect(stytch.calls.authenticate).toBe(1); // only the check above: the switch never authenticates first
  });

  test("with an expired JWT in the Authorization header, for an HTTP API v2 event: a cookies array", async () => {
    const { session, target } = memberOfTwo();
    const now = Math.floor(Date.now() / 1000);
    const expired = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 900, nbf: now - 900, exp: now - 600 });
    const result = (await createOrganizationSwitchHandler(envFor())({
      version: "2.0",
      routeKey: "POST /auth/switch-organization",
      rawPath: "/auth/switch-organization",
      rawQueryString: "",
      headers: { authorization: `Bearer ${expired}` },
      body: JSON.stringify({ organization_id: target.organizationId }),
      isBase64Encoded: false,
      requestContext: { http: { method: "POST" } },
    } as unknown as APIGatewayProxyEventV2)) as APIGatewayProxyStructuredResultV2;
    expect(result.statusCode).toBe(200);
    expect(result.cookies).toHaveLength(2);
    expect(result).not.toHaveProperty("multiValueHeaders");
    expect(stytch.exchangeRequests[0]?.body).toEqual({ organization_id: target.organizationId, session_jwt: expired });
  });

  test("a body credential, a session duration within the bound and a locale go to Stytch; the token is echoed only when configured", async () => {
    const { session, target } = memberOfTwo();
    const handler = createOrganizationSwitchHandler(
      envFor({ REFRESH_MAX_SESSION_DURATION_MINUTES: "120", REFRESH_RETURN_SESSION_TOKEN: "true" }),
    );
    const result = await call(
      handler,
      restEvent({
        body: {
          organization_id: target.organizationId,
          session_token: session.sessionToken,
          session_duration_minutes: 90,
          locale: "pt-br",
        },
      }),
    );
    expect(result.statusCode).toBe(200);
    expect(stytch.exchangeRequests[0]?.body).toEqual({
      organization_id: target.organizationId,
      session_token: session.sessionToken,
      session_duration_minutes: 90,
      locale: "pt-br",
    });
    const body = bodyOf(result);
    expect(body.session_token).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(Date.parse(body.session_expires_at as string)).toBeGreaterThan(Date.now() + 89 * 60_000);
  });
});

describe("200 with MFA: the intermediate session token, and no cookie at all", () => {
  test("an organization that requires MFA answers member_authenticated false; the member keeps the session they had", async () => {
    const { session, target } = memberOfTwo({ targetRequiresMfa: true });
    const result = await call(
      createOrganizationSwitchHandler(envFor()),
      restEvent({
        headers: { Origin: APP_ORIGIN, Cookie: cookieHeader(session) },
        body: { organization_id: target.organizationId, locale: "es" },
      }),
    );
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({
      member_authenticated: false,
      intermediate_session_token: expect.stringMatching(/^[A-Za-z0-9_-]{44}$/),
      intermediate_session_token_expires_at: expect.any(String),
      member_id: target.memberId,
      organization_id: target.organizationId,
      organization_slug: target.organizationSlug,
      mfa_required: {
        member_options: { mfa_phone_number: "", totp_registration_id: "" },
        secondary_auth_initiated: null,
      },
      primary_required: null,
    });
    // Not half a session: nothing set, nothing cleared.
    expect(setCookies(result)).toEqual([]);
    expect(result).not.toHaveProperty("multiValueHeaders");
    expect(stytch.exchangeRequests[0]?.body).toEqual({
      organization_id: target.organizationId,
      session_jwt: session.sessionJwt,
      locale: "es",
    });
    // The session the member had still works.
    const again = await call(
      createOrganizationSwitchHandler(envFor()),
      restEvent({ headers: { Cookie: cookieHeader(session) }, body: { organization_id: session.organizationId } }),
    );
    expect(again.statusCode).toBe(200);
  });
});

describe("400: the request is refused before any Stytch call", () => {
  test.each([
    ["no organization_id", {}],
    ["a number", { organization_id: 42 }],
    ["a slug instead of an ID", { organization_id: "acme" }],
    ["an ID with a path in it", { organization_id: "organization-test-00000000-0000-4000-8000-000000000000/../x" }],
    [
      "a live organization in a test project",
      { organization_id: "organization-live-00000000-0000-4000-8000-000000000000" },
    ],
    [
      "a locale that is not a language tag",
      { organization_id: "organization-test-00000000-0000-4000-8000-000000000000", locale: "en; drop" },
    ],
    ["an unknown field", { organization_id: "organization-test-00000000-0000-4000-8000-000000000000", admin: true }],
    [
      "a session duration while extension is disabled",
      { organization_id: "organization-test-00000000-0000-4000-8000-000000000000", session_duration_minutes: 60 },
    ],
  ])("%s", async (_name, body) => {
    const { session } = memberOfTwo();
    const result = await call(
      createOrganizationSwitchHandler(envFor()),
      restEvent({ headers: { Cookie: cookieHeader(session) }, body }),
    );
    expect(result.statusCode).toBe(400);
    expect(setCookies(result)).toEqual([]);
    expect(stytch.calls.exchange).toBe(0);
    expect(stytch.calls.jwks).toBe(0);
  });
});

describe("401: a dead or bad credential clears both cookies", () => {
  test("a revoked session is 401 and both cookies are cleared", async () => {
    const { session, target } = memberOfTwo();
    stytch.revokeSession(session.memberSessionId);
    const result = await call(
      createOrganizationSwitchHandler(envFor()),
      restEvent({
        headers: { Cookie: `stytch_session=${session.sessionToken}` },
        body: { organization_id: target.organizationId },
      }),
    );
    expect(result.statusCode).toBe(401);
    expect(bodyOf(result)).toEqual({ message: "Unauthorized", reason: "revoked" });
    expect(setCookies(result).map((cookie) => cookie.split(";")[0])).toEqual([
      "stytch_session_jwt=",
      "stytch_session=",
    ]);
    expect(stytch.calls.exchange).toBe(1);
  });

  test("forged JWTs and no credential are 401 and never reach Stytch", async () => {
    const { session, target } = memberOfTwo();
    const handler = createOrganizationSwitchHandler(envFor());
    const forged = forgeries(stytch, session.memberSessionId);
    for (const name of ["tampered payload", "wrong audience", "HS256 keyed with the public key", "garbage"]) {
      const result = await call(
        handler,
        restEvent({
          headers: { Authorization: `Bearer ${forged[name]!}` },
          body: { organization_id: target.organizationId },
        }),
      );
      expect(result.statusCode, name).toBe(401);
    }
    const none = await call(handler, restEvent({ body: { organization_id: target.organizationId } }));
    expect(bodyOf(none)).toMatchObject({ reason: "missing_credential" });
    expect(stytch.calls.exchange).toBe(0);
  });
});

describe("403: a live member Stytch will not switch keeps their session and cookies", () => {
  test.each([
    [
      "an organization they do not belong to",
      () => stytch.createMember({ email: "nobody@example.com", organizationSlug: "strangers" }).organizationId,
    ],
    ["an organization that does not exist", () => "organization-test-00000000-0000-4000-8000-000000000000"],
  ])("%s is 403 organization_switch_refused, with no Set-Cookie", async (_name, organizationId) => {
    const { session } = memberOfTwo();
    const result = await call(
      createOrganizationSwitchHandler(envFor()),
      restEvent({
        headers: { Origin: APP_ORIGIN, Cookie: cookieHeader(session) },
        body: { organization_id: organizationId() },
      }),
    );
    expect(result.statusCode).toBe(403);
    expect(bodyOf(result)).toEqual({ message: "Forbidden", reason: "organization_switch_refused" });
    expect(setCookies(result)).toEqual([]);
    expect(result.headers).toMatchObject({ "access-control-allow-origin": APP_ORIGIN });
    expect(stytch.calls.exchange).toBe(1);
  });

  test("a request from an origin outside the allow-list is 403 and never reaches Stytch", async () => {
    const { session, target } = memberOfTwo();
    const result = await call(
      createOrganizationSwitchHandler(envFor()),
      restEvent({
        headers: { Origin: `${APP_ORIGIN}.evil.example`, Cookie: cookieHeader(session) },
        body: { organization_id: target.organizationId },
      }),
    );
    expect(result.statusCode).toBe(403);
    expect(result.headers).not.toHaveProperty("access-control-allow-origin");
    expect(stytch.calls.exchange).toBe(0);
  });
});

describe("503: Stytch unavailable is not a logout", () => {
  test("a Stytch 500 is 503 with Retry-After, the cookies are left alone, and the exchange is not retried", async () => {
    const { session, target } = memberOfTwo();
    stytch.faults.exchange = "500";
    const result = await call(
      createOrganizationSwitchHandler(envFor()),
      restEvent({ headers: { Cookie: cookieHeader(session) }, body: { organization_id: target.organizationId } }),
    );
    expect(result.statusCode).toBe(503);
    // Every 503's body: what failed (upstream_unavailable) is in the log line, never in the response.
    expect(bodyOf(result)).toEqual({ message: "Service Unavailable", reason: "service_unavailable" });
    expect(result.headers?.["retry-after"]).toBe("5");
    expect(setCookies(result)).toEqual([]);
    // Each exchange may start a session or send an SMS passcode: one attempt only.
    expect(stytch.calls.exchange).toBe(1);
  });

  test("a hanging Stytch is 503 (upstream_timeout in the log)", async () => {
    const { session, target } = memberOfTwo();
    stytch.faults.exchange = "hang";
    const result = await call(
      createOrganizationSwitchHandler(envFor({ STYTCH_API_TIMEOUT_MS: "300" })),
      restEvent({ headers: { Cookie: cookieHeader(session) }, body: { organization_id: target.organizationId } }),
    );
    expect(result.statusCode).toBe(503);
    expect(bodyOf(result)).toEqual({ message: "Service Unavailable", reason: "service_unavailable" });
    expect(setCookies(result)).toEqual([]);
  });

  test("an invalid configuration is 503, never a switch", async () => {
    const { session, target } = memberOfTwo();
    const result = await call(
      createOrganizationSwitchHandler(envFor({ REFRESH_ALLOWED_ORIGINS: "https://*.example.com" })),
      restEvent({ headers: { Cookie: cookieHeader(session) }, body: { organization_id: target.organizationId } }),
    );
    expect(result.statusCode).toBe(503);
    expect(stytch.calls.exchange).toBe(0);
  });
});

describe("the exchange call: a 200 is a session in the organization asked for, or nothing", () => {
  test("a session in another organization than the one asked for is a fault, never a session elsewhere", async () => {
    // The handler only sends IDs; the client is asked here by slug, which the emulator (like Stytch) resolves, so its
    // session names another organization_id than the one asked for.
    const { session, target } = memberOfTwo();
    const client = new SessionExchangeClient({
      apiUrl: stytch.url,
      projectId: stytch.projectId,
      secret: async () => stytch.secret,
      timeoutMs: 5_000,
    });
    const answer = client.exchange(
      target.organizationSlug,
      { session_token: session.sessionToken },
      {
        deadline: Date.now() + 5_000,
      },
    );
    await expect(answer).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(answer).rejects.toThrow(/another organization/);
    expect(stytch.calls.exchange).toBe(1);
  });
});

describe("405 and preflight", () => {
  test("GET is 405; a preflight from the allowed origin is 204", async () => {
    const handler = createOrganizationSwitchHandler(envFor());
    expect((await call(handler, restEvent({ method: "GET" }))).statusCode).toBe(405);
    const preflight = await call(handler, restEvent({ method: "OPTIONS", headers: { Origin: APP_ORIGIN } }));
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers).toMatchObject({ "access-control-allow-methods": "POST, OPTIONS" });
  });
});
