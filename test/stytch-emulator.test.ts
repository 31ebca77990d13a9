/**
 * Behaviour tests of the Stytch B2B emulator itself, over real HTTP (fetch) and cross-checked with jose, so that
 * the tests of the authorizer can trust what the emulator serves.
 */

import type { JWTPayload, JWTVerifyResult } from "jose";
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_RBAC_POLICY, type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";
import { rfc3339 } from "../local/stytch-emulator/time";

let stytch: StytchEmulator;

beforeAll(async () => {
  stytch = await startStytchEmulator();
});

afterAll(async () => {
  await stytch.close();
});

beforeEach(() => {
  stytch.resetCounters();
  stytch.faults.authenticate = "none";
  stytch.faults.jwks = "none";
  stytch.setLatency("authenticate", 0);
  stytch.setLatency("jwks", 0);
  stytch.faults.rbac = "none";
  stytch.faults.exchange = "none";
});

// --- helpers -----------------------------------------------------------------------------------------------------

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

interface ErrorBody {
  status_code: number;
  request_id: string;
  error_type: string;
  error_message: string;
  error_url: string;
}

interface JwksBody {
  keys: Array<Record<string, unknown>>;
  request_id: string;
  status_code: number;
}

interface AuthenticateBody {
  request_id: string;
  status_code: number;
  session_token: string;
  session_jwt: string;
  member_session: {
    member_session_id: string;
    member_id: string;
    organization_id: string;
    organization_slug: string;
    started_at: string;
    last_accessed_at: string;
    expires_at: string;
    authentication_factors: Array<{ type: string; delivery_method: string; email_factor: { email_address: string } }>;
    roles: string[];
    custom_claims: Record<string, unknown>;
  };
  member: {
    organization_id: string;
    member_id: string;
    email_address: string;
    status: string;
    roles: Array<{ role_id: string; sources: Array<{ type: string }> }>;
  };
  organization: { organization_id: string; organization_slug: string; organization_name: string };
}

interface SessionClaim {
  id: string;
  started_at: string;
  last_accessed_at: string;
  expires_at: string;
  attributes: { user_agent: string; ip_address: string };
  authentication_factors: unknown[];
  roles: string[];
}

function basicAuth(projectId: string, secret: string): string {
  return `Basic ${Buffer.from(`${projectId}:${secret}`).toString("base64")}`;
}

async function post<T>(
  path: string,
  body: unknown,
  authorization: string | null = basicAuth(stytch.projectId, stytch.secret),
): Promise<{ status: number; contentType: string | null; body: T }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization !== null) headers.authorization = authorization;
  const res = await fetch(`${stytch.url}${path}`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get("content-type"), body: (await res.json()) as T };
}

const authenticate = <T = AuthenticateBody>(body: unknown, authorization?: string | null) =>
  post<T>("/v1/b2b/sessions/authenticate", body, authorization);

async function getJwks(projectId = stytch.projectId): Promise<{ status: number; body: JwksBody }> {
  const res = await fetch(`${stytch.url}/v1/b2b/sessions/jwks/${projectId}`);
  return { status: res.status, body: (await res.json()) as JwksBody };
}

/** Verifies like the Stytch SDK does locally (reference §5.3), against the key set served over HTTP. */
async function verifyLocally(jwt: string): Promise<JWTVerifyResult<JWTPayload>> {
  const { body } = await getJwks();
  return jwtVerify(jwt, createLocalJWKSet(body), {
    issuer: stytch.issuer,
    audience: stytch.projectId,
    typ: "JWT",
    algorithms: ["RS256"],
  });
}

function expectStytchError(status: number, body: unknown, expectedStatus: number, errorType: string): void {
  expect(status).toBe(expectedStatus);
  const error = body as ErrorBody;
  expect(error).toEqual({
    status_code: expectedStatus,
    request_id: expect.stringMatching(new RegExp(`^request-id-test-${UUID}$`)),
    error_type: errorType,
    error_message: expect.any(String),
    error_url: `https://stytch.com/docs/api-reference/b2b/api/errors/${expectedStatus}#${errorType}`,
  });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

// --- tests -------------------------------------------------------------------------------------------------------

describe("JWKS endpoint", () => {
  it("serves the public signing key in Stytch's JWK shape without any authentication", async () => {
    const res = await fetch(`${stytch.url}/v1/b2b/sessions/jwks/${stytch.projectId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = (await res.json()) as JwksBody;

    expect(body.status_code).toBe(200);
    expect(body.request_id).toMatch(new RegExp(`^request-id-test-${UUID}$`));
    expect(body.keys).toHaveLength(1);
    const [key] = body.keys;
    expect(key).toEqual({
      kty: "RSA",
      use: "sig",
      key_ops: ["verify"],
      alg: "RS256",
      kid: stytch.currentKid,
      n: expect.stringMatching(/^[A-Za-z0-9_-]{342}$/), // 2048-bit modulus
      e: "AQAB",
    });
    expect(stytch.currentKid).toMatch(new RegExp(`^jwk-test-${UUID}$`));
    expect(stytch.jwks()).toEqual({ keys: body.keys });
    expect(stytch.calls).toEqual({
      jwks: 1,
      authenticate: 0,
      revoke: 0,
      exchange: 0,
      rbacPolicy: 0,
      organizationPolicy: 0,
      m2mToken: 0,
      introspect: 0,
      total: 1,
    });
  });

  it("answers 404 in Stytch's error shape for another project's key set and for unknown routes", async () => {
    const otherProject = await getJwks("project-test-00000000-0000-4000-8000-000000000000");
    expectStytchError(otherProject.status, otherProject.body, 404, "project_not_found");

    const res = await fetch(`${stytch.url}/v1/b2b/sessions/nope`);
    expect(res.headers.get("content-type")).toBe("application/json");
    expectStytchError(res.status, await res.json(), 404, "route_not_found");
    expect(stytch.calls).toEqual({
      jwks: 1,
      authenticate: 0,
      revoke: 0,
      exchange: 0,
      rbacPolicy: 0,
      organizationPolicy: 0,
      m2mToken: 0,
      introspect: 0,
      total: 2,
    });
  });
});

describe("routing", () => {
  it("answers a known path called with another method 404 route_not_found, before any credential check, and counts it for that path", async () => {
    const res = await fetch(`${stytch.url}/v1/b2b/sessions/revoke`, { method: "GET" });
    expectStytchError(res.status, await res.json(), 404, "route_not_found");
    expect(stytch.calls.revoke).toBe(1);
    expect(stytch.calls.total).toBe(1);
  });
});

describe("session JWTs", () => {
  it("mints B2B session JWTs that jose verifies against the served key set, with Stytch's claims", async () => {
    const session = stytch.createSession({
      email: "ada@globex.example",
      roles: ["editor"],
      organizationSlug: "globex",
      customClaims: { tier: "gold", iss: "ignored: reserved claim" },
    });
    expect(session.sessionToken).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(session.memberId).toMatch(new RegExp(`^member-test-${UUID}$`));
    expect(session.organizationId).toMatch(new RegExp(`^organization-test-${UUID}$`));
    expect(session.memberSessionId).toMatch(new RegExp(`^session-test-${UUID}$`));
    expect(session.roles).toEqual(["stytch_member", "editor"]);
    expect(session.expiresAt).toMatch(RFC3339_SECONDS);

    const { payload, protectedHeader } = await verifyLocally(session.sessionJwt);
    expect(protectedHeader).toEqual({ alg: "RS256", kid: stytch.currentKid, typ: "JWT" });
    expect(payload.iss).toBe(`stytch.com/${stytch.projectId}`);
    expect(payload.aud).toEqual([stytch.projectId]);
    expect(payload.sub).toBe(session.memberId);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(Math.abs(payload.iat! - nowSeconds())).toBeLessThanOrEqual(2);
    expect(payload).not.toHaveProperty("jti");

    const sessionClaim = payload["https://stytch.com/session"] as SessionClaim;
    expect(sessionClaim).toEqual({
      id: session.memberSessionId,
      started_at: expect.stringMatching(RFC3339_SECONDS),
      last_accessed_at: expect.stringMatching(RFC3339_SECONDS),
      expires_at: session.expiresAt, // the session's expiry, 60 minutes out, not the JWT's
      attributes: { user_agent: "", ip_address: "" },
      authentication_factors: [
        {
          type: "magic_link",
          delivery_method: "email",
          last_authenticated_at: expect.stringMatching(RFC3339_SECONDS),
          email_factor: { email_id: expect.stringMatching(/^email-test-/), email_address: "ada@globex.example" },
        },
      ],
      roles: ["stytch_member", "editor"],
    });
    expect(Date.parse(sessionClaim.expires_at) / 1000 - Date.parse(sessionClaim.started_at) / 1000).toBe(3600);
    expect(payload["https://stytch.com/organization"]).toEqual({
      organization_id: session.organizationId,
      slug: "globex",
    });
    expect(payload.tier).toBe("gold");

    await expect(
      jwtVerify(session.sessionJwt, createLocalJWKSet(stytch.jwks()), { audience: "project-test-someone-else" }),
    ).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "aud" });
  });

  it("gives the same slug the same organization and the same email in it the same member", () => {
    const first = stytch.createSession({ organizationSlug: "initech", email: "bob@initech.example" });
    const again = stytch.createSession({ organizationSlug: "initech", email: "bob@initech.example" });
    const colleague = stytch.createSession({ organizationSlug: "initech" });
    const elsewhere = stytch.createSession({ organizationSlug: "umbrella", email: "bob@initech.example" });

    expect(again.organizationId).toBe(first.organizationId);
    expect(again.memberId).toBe(first.memberId);
    expect(again.memberSessionId).not.toBe(first.memberSessionId);
    expect(colleague.organizationId).toBe(first.organizationId);
    expect(colleague.memberId).not.toBe(first.memberId);
    expect(colleague.email).toMatch(/^member-\d+@example\.com$/);
    expect(elsewhere.organizationId).not.toBe(first.organizationId);
    expect(elsewhere.memberId).not.toBe(first.memberId);
  });

  it("signs forgeries verbatim with the requested algorithm and builds tamperable payloads", async () => {
    const session = stytch.createSession();
    const payload = stytch.sessionPayload(session.memberSessionId, { sub: "member-test-forged", exp: undefined });
    expect(payload.sub).toBe("member-test-forged");
    expect(payload).not.toHaveProperty("exp");
    expect(payload["https://stytch.com/organization"]).toEqual({
      organization_id: session.organizationId,
      slug: "acme",
    });

    const header = { alg: "PS256", kid: stytch.currentKid }; // no typ, on purpose
    const forged = stytch.signJwt(header, payload, { algorithm: "PS256" });
    expect(decodeProtectedHeader(forged)).toEqual(header);
    expect(decodeJwt(forged)).toEqual(payload);
    const pssKey = await importJWK({ ...stytch.jwks().keys[0], alg: "PS256" }, "PS256");
    await expect(compactVerify(forged, pssKey)).resolves.toBeTruthy();
    // ...which an RS256-only verifier must refuse.
    await expect(verifyLocally(forged)).rejects.toThrow();
  });
});

describe("POST /v1/b2b/sessions/authenticate", () => {
  it("authenticates a session token and returns the session, a fresh JWT, the member and the org", async () => {
    const session = stytch.createSession({ email: "carol@acme.example", roles: ["admin"] });
    const res = await authenticate({ session_token: session.sessionToken });

    expect(res.status).toBe(200);
    expect(res.contentType).toBe("application/json");
    const body = res.body;
    expect(body.status_code).toBe(200);
    expect(body.request_id).toMatch(new RegExp(`^request-id-test-${UUID}$`));
    expect(body.session_token).toBe(session.sessionToken);
    expect(body.member_session).toMatchObject({
      member_session_id: session.memberSessionId,
      member_id: session.memberId,
      organization_id: session.organizationId,
      organization_slug: "acme",
      expires_at: session.expiresAt,
      roles: ["stytch_member", "admin"],
      custom_claims: {},
    });
    expect(body.member_session.started_at).toMatch(RFC3339_SECONDS);
    expect(body.member_session.last_accessed_at).toMatch(RFC3339_SECONDS);
    expect(body.member_session.authentication_factors).toEqual([
      expect.objectContaining({
        type: "magic_link",
        delivery_method: "email",
        email_factor: expect.objectContaining({ email_address: "carol@acme.example" }),
      }),
    ]);
    expect(body.member).toMatchObject({
      organization_id: session.organizationId,
      member_id: session.memberId,
      email_address: "carol@acme.example",
      status: "active",
      roles: [
        { role_id: "stytch_member", sources: [{ type: "direct_assignment", details: {} }] },
        { role_id: "admin", sources: [{ type: "direct_assignment", details: {} }] },
      ],
    });
    expect(body.organization).toMatchObject({ organization_id: session.organizationId, organization_slug: "acme" });

    const { payload } = await verifyLocally(body.session_jwt);
    expect(payload.sub).toBe(session.memberId);
    expect(payload.exp! - payload.iat!).toBe(300);

    expect(stytch.authenticateRequests).toEqual([
      {
        body: { session_token: session.sessionToken },
        authorization: basicAuth(stytch.projectId, stytch.secret),
      },
    ]);
  });

  it("accepts a session JWT that has expired and answers with a fresh one", async () => {
    const session = stytch.createSession();
    const now = nowSeconds();
    const expired = stytch.mintSessionJwt(session.memberSessionId, { iat: now - 900, exp: now - 600 });
    await expect(verifyLocally(expired)).rejects.toMatchObject({ code: "ERR_JWT_EXPIRED" });

    const res = await authenticate({ session_jwt: expired });
    expect(res.status).toBe(200);
    expect(res.body.member_session.member_session_id).toBe(session.memberSessionId);
    expect(res.body.session_token).toBe(session.sessionToken);
    expect(res.body.session_jwt).not.toBe(expired);
    const { payload } = await verifyLocally(res.body.session_jwt);
    expect(payload.iat).toBeGreaterThanOrEqual(now);
  });

  it("rejects malformed, tampered or non-RS256 JWTs with 400 unable_to_parse_session_jwt", async () => {
    const session = stytch.createSession();
    const [header, , signature] = session.sessionJwt.split(".");
    const tamperedPayload = Buffer.from(
      JSON.stringify(stytch.sessionPayload(session.memberSessionId, { tier: "platinum" })),
    ).toString("base64url");
    const payload = stytch.sessionPayload(session.memberSessionId);
    const rs384 = stytch.signJwt({ alg: "RS384", kid: stytch.currentKid, typ: "JWT" }, payload, { algorithm: "RS384" });
    // Valid RS256 signature bytes under a header that claims another algorithm: only RS256 is acceptable.
    const mislabelled = stytch.signJwt({ alg: "HS256", kid: stytch.currentKid, typ: "JWT" }, payload);

    for (const jwt of ["not-a-jwt", `${header}.${tamperedPayload}.${signature}`, rs384, mislabelled]) {
      const res = await authenticate<ErrorBody>({ session_jwt: jwt });
      expectStytchError(res.status, res.body, 400, "unable_to_parse_session_jwt");
    }
  });

  it("rejects a wrong secret, a wrong project or no credentials with 401 unauthorized_credentials", async () => {
    const session = stytch.createSession();
    const attempts = [
      basicAuth(stytch.projectId, "secret-test-wrong"),
      basicAuth("project-test-other", stytch.secret),
      `Bearer ${stytch.secret}`,
      null,
    ];
    for (const authorization of attempts) {
      const res = await authenticate<ErrorBody>({ session_token: session.sessionToken }, authorization);
      expectStytchError(res.status, res.body, 401, "unauthorized_credentials");
    }
    expect(stytch.calls.authenticate).toBe(4);
    expect(stytch.authenticateRequests.map((r) => r.authorization)).toEqual([
      attempts[0],
      attempts[1],
      attempts[2],
      undefined,
    ]);
  });

  it("insists on exactly one of session_token and session_jwt, and on a JSON body", async () => {
    const session = stytch.createSession();
    const both = await authenticate<ErrorBody>({
      session_token: session.sessionToken,
      session_jwt: session.sessionJwt,
    });
    expectStytchError(both.status, both.body, 400, "too_many_session_arguments");

    const neither = await authenticate<ErrorBody>({ session_duration_minutes: 60 });
    expectStytchError(neither.status, neither.body, 400, "no_session_arguments");

    const notJson = await authenticate<ErrorBody>("session_token=abc");
    expectStytchError(notJson.status, notJson.body, 400, "invalid_request");
    expect(stytch.authenticateRequests.at(-1)?.body).toBe("session_token=abc");
  });

  it("answers 404 session_not_found for unknown, revoked and expired sessions", async () => {
    const unknown = await authenticate<ErrorBody>({ session_token: "x".repeat(44) });
    expectStytchError(unknown.status, unknown.body, 404, "session_not_found");
    expect(unknown.body.error_message).toBe("Session could not be found.");

    const revoked = stytch.createSession();
    expect(stytch.revokeSession(revoked.sessionToken)).toBe(true);
    expect(stytch.revokeSession(revoked.memberSessionId)).toBe(false); // already gone
    for (const body of [{ session_token: revoked.sessionToken }, { session_jwt: revoked.sessionJwt }]) {
      const res = await authenticate<ErrorBody>(body);
      expectStytchError(res.status, res.body, 404, "session_not_found");
    }
    // The JWT itself still verifies locally: a revoked session's JWT is valid until it expires (reference §7).
    await expect(verifyLocally(revoked.sessionJwt)).resolves.toBeTruthy();

    const expired = stytch.createSession({ durationMinutes: 0 });
    const res = await authenticate<ErrorBody>({ session_token: expired.sessionToken });
    expectStytchError(res.status, res.body, 404, "session_not_found");
  });

  it("sets the session expiry to now plus session_duration_minutes and rejects out-of-range values", async () => {
    const session = stytch.createSession({ durationMinutes: 60 });
    const before = nowSeconds();
    const extended = await authenticate({ session_token: session.sessionToken, session_duration_minutes: 1440 });
    const after = nowSeconds();

    expect(extended.status).toBe(200);
    const expiresAt = Date.parse(extended.body.member_session.expires_at) / 1000;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 1440 * 60);
    expect(expiresAt).toBeLessThanOrEqual(after + 1440 * 60);
    const claim = decodeJwt(extended.body.session_jwt)["https://stytch.com/session"] as SessionClaim;
    expect(claim.expires_at).toBe(extended.body.member_session.expires_at);

    // Without session_duration_minutes the session is not extended.
    const plain = await authenticate({ session_token: session.sessionToken });
    expect(plain.body.member_session.expires_at).toBe(extended.body.member_session.expires_at);

    for (const minutes of [4, 527041, 30.5, "60"]) {
      const res = await authenticate<ErrorBody>({
        session_token: session.sessionToken,
        session_duration_minutes: minutes,
      });
      expectStytchError(res.status, res.body, 400, "invalid_session_duration_minutes");
    }
  });

  it("merges session_custom_claims into the session and the JWTs minted from then on", async () => {
    const session = stytch.createSession({ customClaims: { plan: "free", locale: "en" } });
    const res = await authenticate({
      session_token: session.sessionToken,
      session_custom_claims: { plan: "pro", locale: null, sub: "member-test-evil" },
    });
    expect(res.status).toBe(200);
    expect(res.body.member_session.custom_claims).toEqual({ plan: "pro" });
    const payload = decodeJwt(res.body.session_jwt);
    expect(payload.plan).toBe("pro");
    expect(payload).not.toHaveProperty("locale");
    expect(payload.sub).toBe(session.memberId);
  });
});

describe("authentication factors", () => {
  it("a session created with chosen factors carries them, in that order and with their times, in the JWT and in member_session", async () => {
    const now = nowSeconds();
    const session = stytch.createSession({
      authenticationFactors: [
        { kind: "magic_link", authenticatedAt: now - 1_800 },
        { kind: "totp", authenticatedAt: now - 1_200 },
        { kind: "sso_saml", connectionId: "saml-connection-test-1" },
        { kind: "impersonated", impersonatorId: "member-test-support", impersonatorEmail: "support@stytch.example" },
      ],
    });
    const { payload } = await verifyLocally(session.sessionJwt);
    const inJwt = (payload["https://stytch.com/session"] as { authentication_factors: Array<Record<string, unknown>> })
      .authentication_factors;
    expect(inJwt).toEqual([
      expect.objectContaining({
        type: "magic_link",
        delivery_method: "email",
        last_authenticated_at: rfc3339(now - 1_800),
      }),
      {
        type: "totp",
        delivery_method: "authenticator_app",
        last_authenticated_at: rfc3339(now - 1_200),
        authenticator_app_factor: { totp_id: expect.stringMatching(/^member-totp-test-/) },
      },
      {
        type: "sso",
        delivery_method: "sso_saml",
        last_authenticated_at: expect.stringMatching(RFC3339_SECONDS),
        saml_sso_factor: {
          id: expect.stringMatching(/^saml-registration-test-/),
          provider_id: "saml-connection-test-1",
          external_id: expect.any(String),
        },
      },
      {
        type: "impersonated",
        delivery_method: "impersonation",
        last_authenticated_at: expect.stringMatching(RFC3339_SECONDS),
        impersonated_factor: {
          impersonator_id: "member-test-support",
          impersonator_email_address: "support@stytch.example",
        },
      },
    ]);
    // The API's copy is the same list, each factor with created_at and updated_at as well.
    const res = await authenticate({ session_token: session.sessionToken });
    const inApi = res.body.member_session.authentication_factors as Array<Record<string, unknown>>;
    expect(inApi.map(({ created_at: _c, updated_at: _u, ...rest }) => rest)).toEqual(inJwt);
    for (const factor of inApi) expect(factor.created_at).toBe(factor.last_authenticated_at);
  });

  it("raw factors are served exactly as given, for tests of malformed input", async () => {
    const raw = { type: "totp", delivery_method: "authenticator_app", last_authenticated_at: "not a date" };
    const session = stytch.createSession({ authenticationFactors: [{ raw }] });
    const res = await authenticate({ session_token: session.sessionToken });
    expect(res.body.member_session.authentication_factors).toEqual([raw]);
  });
});

describe("POST /v1/b2b/sessions/revoke", () => {
  it("revokes by member_session_id, session_jwt or member_id, and answers 404 for unknown sessions", async () => {
    const byId = stytch.createSession();
    const byJwt = stytch.createSession();
    const first = stytch.createSession({ email: "dave@acme.example" });
    const second = stytch.createSession({ email: "dave@acme.example" });

    for (const body of [
      { member_session_id: byId.memberSessionId },
      { session_jwt: byJwt.sessionJwt },
      { member_id: first.memberId },
    ]) {
      const res = await post<{ request_id: string; status_code: number }>("/v1/b2b/sessions/revoke", body);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ request_id: expect.stringMatching(/^request-id-test-/), status_code: 200 });
    }
    for (const session of [byId, byJwt, first, second]) {
      const res = await authenticate<ErrorBody>({ session_token: session.sessionToken });
      expect(res.body.error_type).toBe("session_not_found");
    }

    const again = await post<ErrorBody>("/v1/b2b/sessions/revoke", { member_session_id: byId.memberSessionId });
    expectStytchError(again.status, again.body, 404, "session_not_found");
    const unauthenticated = await post<ErrorBody>("/v1/b2b/sessions/revoke", { member_id: first.memberId }, null);
    expectStytchError(unauthenticated.status, unauthenticated.body, 401, "unauthorized_credentials");
    expect(stytch.calls.revoke).toBe(5);
  });
});

describe("POST /v1/b2b/sessions/exchange", () => {
  interface ExchangeBody {
    request_id: string;
    status_code: number;
    member_id: string;
    member_authenticated: boolean;
    session_token: string;
    session_jwt: string;
    intermediate_session_token: string;
    intermediate_session_token_expires_at?: string;
    member_session: AuthenticateBody["member_session"] | null;
    member: AuthenticateBody["member"];
    organization: AuthenticateBody["organization"] & { mfa_policy: string };
    mfa_required: { member_options: unknown; secondary_auth_initiated: unknown } | null;
    primary_required: unknown;
  }
  const exchange = <T = ExchangeBody>(body: unknown, authorization?: string | null) =>
    post<T>("/v1/b2b/sessions/exchange", body, authorization);

  it("exchanges a live session for a session of the same email in the other organization, with a fresh JWT", async () => {
    const session = stytch.createSession({ email: "erin@acme.example", organizationSlug: "exchange-from" });
    const target = stytch.createMember({
      email: "ERIN@acme.example",
      organizationSlug: "exchange-to",
      roles: ["editor"],
    });
    const res = await exchange({
      organization_id: target.organizationId,
      session_jwt: session.sessionJwt,
      session_duration_minutes: 30,
      session_custom_claims: { team: "blue" },
      locale: "es",
    });
    expect(res.status).toBe(200);
    const body = res.body;
    expect(body).toMatchObject({
      status_code: 200,
      member_id: target.memberId,
      member_authenticated: true,
      intermediate_session_token: "",
      session_token: expect.stringMatching(/^[A-Za-z0-9_-]{44}$/),
      mfa_required: null,
      primary_required: null,
      member: { member_id: target.memberId, organization_id: target.organizationId },
      organization: {
        organization_id: target.organizationId,
        organization_slug: "exchange-to",
        mfa_policy: "OPTIONAL",
      },
    });
    expect(body.session_token).not.toBe(session.sessionToken);
    expect(body.member_session).toMatchObject({
      member_id: target.memberId,
      organization_id: target.organizationId,
      organization_slug: "exchange-to",
      roles: ["stytch_member", "editor"],
      custom_claims: { team: "blue" },
    });
    expect(Date.parse(body.member_session!.expires_at)).toBeGreaterThan(Date.now() + 29 * 60_000);
    expect(Date.parse(body.member_session!.expires_at)).toBeLessThanOrEqual(Date.now() + 30 * 60_000 + 1000);
    const { payload } = await verifyLocally(body.session_jwt);
    expect(payload.sub).toBe(target.memberId);
    expect(payload["https://stytch.com/organization"]).toEqual({
      organization_id: target.organizationId,
      slug: "exchange-to",
    });
    // The new session authenticates; the one exchanged stays alive (UNVERIFIED for Stytch, see session-exchange.ts).
    expect((await authenticate({ session_token: body.session_token })).status).toBe(200);
    expect((await authenticate({ session_token: session.sessionToken })).status).toBe(200);
    expect(stytch.calls.exchange).toBe(1);
    expect(stytch.exchangeRequests.map((request) => request.body)).toEqual([
      {
        organization_id: target.organizationId,
        session_jwt: session.sessionJwt,
        session_duration_minutes: 30,
        session_custom_claims: { team: "blue" },
        locale: "es",
      },
    ]);
  });

  it("takes the organization's slug too, and creates a 60-minute session when no duration is given", async () => {
    const session = stytch.createSession({ email: "finn@acme.example", organizationSlug: "exchange-from" });
    stytch.createMember({ email: "finn@acme.example", organizationSlug: "exchange-by-slug" });
    const res = await exchange({ organization_id: "exchange-by-slug", session_token: session.sessionToken });
    expect(res.status).toBe(200);
    expect(res.body.member_session?.organization_slug).toBe("exchange-by-slug");
    const minutes = (Date.parse(res.body.member_session!.expires_at) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(59);
    expect(minutes).toBeLessThanOrEqual(60);
  });

  it("answers member_authenticated false and an intermediate session token, and no session, where the organization requires MFA", async () => {
    const session = stytch.createSession({ email: "gus@acme.example", organizationSlug: "exchange-from" });
    const target = stytch.createMember({ email: "gus@acme.example", organizationSlug: "exchange-mfa" });
    stytch.setOrganizationMfaPolicy("exchange-mfa", "REQUIRED_FOR_ALL");
    const res = await exchange({ organization_id: target.organizationId, session_token: session.sessionToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      member_authenticated: false,
      member_id: target.memberId,
      session_token: "",
      session_jwt: "",
      member_session: null,
      intermediate_session_token: expect.stringMatching(/^[A-Za-z0-9_-]{44}$/),
      intermediate_session_token_expires_at: expect.stringMatching(RFC3339_SECONDS),
      mfa_required: {
        member_options: { mfa_phone_number: "", totp_registration_id: "" },
        secondary_auth_initiated: null,
      },
      primary_required: null,
      organization: { organization_id: target.organizationId, mfa_policy: "REQUIRED_FOR_ALL" },
    });
  });

  it("refuses dead sessions, unknown organizations, non-members and bad requests in Stytch's error shape", async () => {
    const session = stytch.createSession({ email: "hana@acme.example", organizationSlug: "exchange-from" });
    const other = stytch.createMember({ email: "someone-else@acme.example", organizationSlug: "exchange-strangers" });
    const cases: Array<[unknown, number, string]> = [
      [{ organization_id: other.organizationId, session_token: session.sessionToken }, 404, "member_not_found"],
      [
        { organization_id: "organization-test-00000000-0000-4000-8000-000000000000", session_jwt: session.sessionJwt },
        404,
        "organization_not_found",
      ],
      [{ session_token: session.sessionToken }, 400, "invalid_organization_id"],
      [{ organization_id: other.organizationId }, 400, "no_session_arguments"],
      [
        { organization_id: other.organizationId, session_token: session.sessionToken, session_jwt: session.sessionJwt },
        400,
        "too_many_session_arguments",
      ],
      [
        { organization_id: other.organizationId, session_token: session.sessionToken, session_duration_minutes: 4 },
        400,
        "invalid_session_duration_minutes",
      ],
      [{ organization_id: other.organizationId, session_jwt: "a.b.c" }, 400, "unable_to_parse_session_jwt"],
    ];
    for (const [body, status, errorType] of cases) {
      const res = await exchange<ErrorBody>(body);
      expectStytchError(res.status, res.body, status, errorType);
    }
    stytch.revokeSession(session.memberSessionId);
    const dead = await exchange<ErrorBody>({
      organization_id: other.organizationId,
      session_token: session.sessionToken,
    });
    expectStytchError(dead.status, dead.body, 404, "session_not_found");
    const unauthenticated = await exchange<ErrorBody>({ organization_id: other.organizationId }, null);
    expectStytchError(unauthenticated.status, unauthenticated.body, 401, "unauthorized_credentials");
  });

  it("has its own fault switch", async () => {
    const session = stytch.createSession({ email: "ida@acme.example", organizationSlug: "exchange-from" });
    const target = stytch.createMember({ email: "ida@acme.example", organizationSlug: "exchange-to" });
    stytch.failNext("exchange", "503");
    const body = { organization_id: target.organizationId, session_token: session.sessionToken };
    const faulted = await exchange<ErrorBody>(body);
    expectStytchError(faulted.status, faulted.body, 503, "service_unavailable");
    expect((await exchange(body)).status).toBe(200);
    expect(stytch.calls.exchange).toBe(2);
  });
});

describe("fault injection", () => {
  it("fails only the next N requests, then serves normally, and counts every call", async () => {
    const session = stytch.createSession();
    stytch.failNext("authenticate", "503", 2);
    stytch.failNext("authenticate", "429");

    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await authenticate<ErrorBody>({ session_token: session.sessionToken });
      statuses.push(res.status);
      if (res.status === 429) expectStytchError(res.status, res.body, 429, "too_many_requests");
    }
    expect(statuses).toEqual([503, 503, 429, 200]);
    expect(stytch.calls).toEqual({
      jwks: 0,
      authenticate: 4,
      revoke: 0,
      exchange: 0,
      rbacPolicy: 0,
      organizationPolicy: 0,
      m2mToken: 0,
      introspect: 0,
      total: 4,
    });
    expect(stytch.authenticateRequests).toHaveLength(4);

    stytch.resetCounters();
    expect(stytch.calls).toEqual({
      jwks: 0,
      authenticate: 0,
      revoke: 0,
      exchange: 0,
      rbacPolicy: 0,
      organizationPolicy: 0,
      m2mToken: 0,
      introspect: 0,
      total: 0,
    });
    expect(stytch.authenticateRequests).toEqual([]);
  });

  it("keeps failing while a persistent fault is set, with one-shot faults taking precedence", async () => {
    stytch.faults.jwks = "500";
    const first = await getJwks();
    expectStytchError(first.status, first.body, 500, "internal_server_error");
    stytch.failNext("jwks", "429");
    expect((await getJwks()).status).toBe(429);
    expect((await getJwks()).status).toBe(500);

    stytch.faults.jwks = "none";
    expect((await getJwks()).status).toBe(200);
    expect(stytch.calls.jwks).toBe(4);
  });

  it("resets the connection without an HTTP response", async () => {
    stytch.failNext("jwks", "reset");
    await expect(fetch(`${stytch.url}/v1/b2b/sessions/jwks/${stytch.projectId}`)).rejects.toThrow(TypeError);
    expect((await getJwks()).status).toBe(200);
    expect(stytch.calls.jwks).toBe(2);
  });

  it("serves an oversized or a non-JSON key set with status 200 when asked", async () => {
    const url = `${stytch.url}/v1/b2b/sessions/jwks/${stytch.projectId}`;
    stytch.failNext("jwks", "oversized");
    const oversized = await fetch(url);
    expect(oversized.status).toBe(200);
    const text = await oversized.text();
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
    expect((JSON.parse(text) as JwksBody).keys).toEqual(stytch.jwks().keys);

    stytch.failNext("jwks", "garbage");
    const garbage = await fetch(url);
    expect(garbage.status).toBe(200);
    await expect(garbage.json()).rejects.toThrow(SyntaxError);
    expect(() => stytch.failNext("authenticate", "garbage")).toThrow();
  });

  it("delays responses by the configured latency", async () => {
    stytch.setLatency("jwks", 150);
    const started = performance.now();
    expect((await getJwks()).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("hangs until the client gives up, and close() ends hanging connections promptly", async () => {
    const own = await startStytchEmulator();
    const session = own.createSession();
    const request = (signal?: AbortSignal) =>
      fetch(`${own.url}/v1/b2b/sessions/authenticate`, {
        method: "POST",
        headers: { authorization: basicAuth(own.projectId, own.secret), "content-type": "application/json" },
        body: JSON.stringify({ session_token: session.sessionToken }),
        signal,
      });
    own.faults.authenticate = "hang";

    const started = performance.now();
    await expect(request(AbortSignal.timeout(150))).rejects.toMatchObject({ name: "TimeoutError" });
    expect(performance.now() - started).toBeLessThan(1000);

    const stillHanging = request();
    const outcome = stillHanging.then(
      () => "answered",
      () => "connection closed",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = performance.now();
    await own.close();
    expect(performance.now() - closing).toBeLessThan(500);
    await expect(outcome).resolves.toBe("connection closed");
    expect(own.calls.authenticate).toBe(2);
  });
});

describe("RBAC policies (reference §6.1)", () => {
  async function get(path: string, authorization: string | null = basicAuth(stytch.projectId, stytch.secret)) {
    const res = await fetch(`${stytch.url}${path}`, { headers: authorization === null ? {} : { authorization } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it("GET /v1/b2b/rbac/policy answers the project policy in Stytch's format: viewer, editor, admin over documents and billing", async () => {
    const { status, body } = await get("/v1/b2b/rbac/policy");
    expect(status).toBe(200);
    expect(body).toEqual({
      request_id: expect.stringMatching(new RegExp(`^request-id-test-${UUID}$`)),
      status_code: 200,
      policy: DEMO_RBAC_POLICY,
    });
    const roles = (body.policy as typeof DEMO_RBAC_POLICY).roles.map((role) => role.role_id);
    expect(roles).toEqual(["stytch_member", "stytch_admin", "viewer", "editor", "admin"]);
    expect((body.policy as typeof DEMO_RBAC_POLICY).resources.map((resource) => resource.resource_id)).toEqual([
      "documents",
      "billing",
    ]);
    expect(stytch.calls.rbacPolicy).toBe(1);
  });

  it("GET /v1/b2b/rbac/organizations/{organization_id} answers the organization's custom roles (none by default)", async () => {
    const { organizationId } = stytch.createSession({ organizationSlug: "rbac-custom" });
    expect((await get(`/v1/b2b/rbac/organizations/${organizationId}`)).body.org_policy).toEqual({ roles: [] });
    stytch.setOrganizationRoles("rbac-custom", [
      { role_id: "auditor", permissions: [{ resource_id: "billing", actions: ["read"] }] },
    ]);
    const { status, body } = await get(`/v1/b2b/rbac/organizations/${organizationId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status_code: 200,
      org_policy: { roles: [{ role_id: "auditor", permissions: [{ resource_id: "billing", actions: ["read"] }] }] },
    });
    expect(stytch.calls.organizationPolicy).toBe(2);
  });

  it("both need the project's Basic credentials; an unknown organization and a project without the feature are errors", async () => {
    const wrong = await get("/v1/b2b/rbac/policy", basicAuth(stytch.projectId, "secret-test-wrong"));
    expectStytchError(wrong.status, wrong.body, 401, "unauthorized_credentials");
    const unknown = await get("/v1/b2b/rbac/organizations/organization-test-unknown");
    expectStytchError(unknown.status, unknown.body, 404, "organization_not_found");
    const { organizationId } = stytch.createSession();
    stytch.organizationPoliciesEnabled = false;
    try {
      const disabled = await get(`/v1/b2b/rbac/organizations/${organizationId}`);
      expectStytchError(disabled.status, disabled.body, 403, "feature_not_enabled");
    } finally {
      stytch.organizationPoliciesEnabled = true;
    }
  });

  it("one fault switch covers both endpoints, persistent or one-shot", async () => {
    const { organizationId } = stytch.createSession();
    stytch.failNext("rbac", "429");
    expect((await get("/v1/b2b/rbac/policy")).status).toBe(429);
    expect((await get("/v1/b2b/rbac/policy")).status).toBe(200);
    stytch.faults.rbac = "503";
    expect((await get("/v1/b2b/rbac/policy")).status).toBe(503);
    expect((await get(`/v1/b2b/rbac/organizations/${organizationId}`)).status).toBe(503);
    expect(() => stytch.failNext("rbac", "garbage")).toThrow(/jwks/);
  });

  it("a replaced policy is served as set (tests generate their own)", async () => {
    const saved = stytch.rbacPolicy;
    stytch.rbacPolicy = { roles: [{ role_id: "r", permissions: [] }], resources: [], scopes: [] };
    try {
      expect((await get("/v1/b2b/rbac/policy")).body.policy).toEqual({
        roles: [{ role_id: "r", permissions: [] }],
        resources: [],
        scopes: [],
      });
    } finally {
      stytch.rbacPolicy = saved;
    }
  });
});

describe("key rotation", () => {
  it("rotates to a new signing key while still serving the previous one, then retires it", async () => {
    const before = stytch.createSession();
    const oldKid = stytch.currentKid;
    const { newKid, previousKid } = stytch.rotateKeys();
    expect(previousKid).toBe(oldKid);
    expect(newKid).not.toBe(oldKid);
    expect(stytch.currentKid).toBe(newKid);
    expect(newKid).toMatch(new RegExp(`^jwk-test-${UUID}$`));

    const served = (await getJwks()).body.keys.map((k) => k.kid);
    expect(served).toHaveLength(2);
    expect(served).toEqual(expect.arrayContaining([oldKid, newKid]));

    const after = stytch.createSession();
    expect(decodeProtectedHeader(after.sessionJwt).kid).toBe(newKid);
    await expect(verifyLocally(before.sessionJwt)).resolves.toBeTruthy();
    await expect(verifyLocally(after.sessionJwt)).resolves.toBeTruthy();
    const signedWithPrevious = stytch.signJwt(
      { alg: "RS256", kid: oldKid, typ: "JWT" },
      stytch.sessionPayload(after.memberSessionId),
      { key: "previous" },
    );
    await expect(verifyLocally(signedWithPrevious)).resolves.toBeTruthy();

    stytch.retireKey(oldKid);
    expect((await getJwks()).body.keys.map((k) => k.kid)).toEqual([newKid]);
    await expect(verifyLocally(before.sessionJwt)).rejects.toMatchObject({ code: "ERR_JWKS_NO_MATCHING_KEY" });
    // The API still recognises JWTs of a key it has retired from the JWKS, and re-mints them with the current key.
    const refreshed = await authenticate({ session_jwt: before.sessionJwt });
    expect(refreshed.status).toBe(200);
    expect(decodeProtectedHeader(refreshed.body.session_jwt).kid).toBe(newKid);

    expect(() => stytch.retireKey(newKid)).toThrow();
  });
});

describe("M2M: POST /v1/public/{project_id}/oauth2/token (client credentials)", () => {
  const tokenUrl = () => `${stytch.url}/v1/public/${stytch.projectId}/oauth2/token`;
  const form = (params: Record<string, string>, authorization?: string) =>
    fetch(tokenUrl(), {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        ...(authorization ? { authorization } : {}),
      },
      body: new URLSearchParams(params),
    });

  it("issues an RS256 access token with the docs' claims, by form body, JSON body or HTTP Basic", async () => {
    const client = stytch.createM2MClient({
      scopes: ["read:documents", "write:documents"],
      customClaims: { tier: "gold" },
    });
    const answers = [
      await form({ client_id: client.clientId, client_secret: client.clientSecret, grant_type: "client_credentials" }),
      await fetch(tokenUrl(), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          client_id: client.clientId,
          client_secret: client.clientSecret,
          grant_type: "client_credentials",
          scope: "read:documents",
        }),
      }),
      await form(
        { grant_type: "client_credentials" },
        `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`,
      ),
    ];
    const bodies = await Promise.all(answers.map((answer) => answer.json() as Promise<Record<string, unknown>>));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    for (const body of bodies) expect(body).toMatchObject({ status_code: 200, token_type: "bearer", expires_in: 3600 });
    const { payload, protectedHeader } = await verifyLocally(bodies[0]!.access_token as string);
    expect(protectedHeader).toMatchObject({ alg: "RS256", typ: "JWT", kid: stytch.currentKid });
    expect(payload).toMatchObject({
      sub: client.clientId,
      iss: `stytch.com/${stytch.projectId}`,
      aud: [stytch.projectId],
      scope: "read:documents write:documents",
      tier: "gold",
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    expect(payload).not.toHaveProperty("client_id");
    expect(decodeJwt(bodies[1]!.access_token as string).scope).toBe("read:documents");
    expect(client.clientId).toMatch(new RegExp(`^m2m-client-test-${UUID}$`));
    expect(stytch.calls.m2mToken).toBe(3);
  });

  it("refuses a wrong secret, another grant type and a scope the client lacks, in RFC 6749's error shape", async () => {
    const client = stytch.createM2MClient({ scopes: ["read:documents"] });
    const wrong = await form({ client_id: client.clientId, client_secret: "nope", grant_type: "client_credentials" });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ status_code: 401, error: "invalid_client" });
    const grant = await form({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_type: "password",
    });
    expect(await grant.json()).toMatchObject({ status_code: 400, error: "unsupported_grant_type" });
    const scope = await form({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_type: "client_credentials",
      scope: "read:documents write:documents",
    });
    expect(await scope.json()).toMatchObject({ status_code: 400, error: "invalid_scope" });
  });
});

describe("Connected Apps: issued tokens, and POST /v1/public/{project_id}/oauth2/introspect", () => {
  const introspect = (params: Record<string, string>) =>
    fetch(`${stytch.url}/v1/public/${stytch.projectId}/oauth2/introspect`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params),
    }).then(async (answer) => ({ status: answer.status, body: (await answer.json()) as Record<string, unknown> }));

  it("issues an access token with the docs' claims and the B2B organization claim", async () => {
    const session = stytch.createSession({ organizationSlug: "acme" });
    const app = stytch.createConnectedApp();
    const issued = stytch.issueConnectedAppToken({
      clientId: app.clientId,
      memberId: session.memberId,
      scopes: ["openid", "read:documents"],
    });
    const { payload } = await verifyLocally(issued.accessToken);
    expect(payload).toMatchObject({
      iss: `stytch.com/${stytch.projectId}`,
      sub: session.memberId,
      aud: [stytch.projectId],
      client_id: app.clientId,
      scope: "openid read:documents",
      "https://stytch.com/organization": { organization_id: session.organizationId, slug: "acme" },
    });
    expect(typeof payload.jti).toBe("string");
    expect(app.clientId).toMatch(new RegExp(`^connected-app-test-${UUID}$`));
    expect(issued.refreshToken).toMatch(/^[A-Za-z0-9_-]{44}$/);
  });

  it("introspects: active access tokens (JWT or opaque) with their claims; refresh tokens as refresh tokens", async () => {
    const session = stytch.createSession();
    const app = stytch.createConnectedApp();
    const issued = stytch.issueConnectedAppToken({ clientId: app.clientId, memberId: session.memberId });
    for (const token of [issued.accessToken, issued.opaqueAccessToken]) {
      const { status, body } = await introspect({ token, client_id: app.clientId, token_type_hint: "access_token" });
      expect(status).toBe(200);
      expect(body).toMatchObject({
        active: true,
        token_type: "access_token",
        client_id: app.clientId,
        sub: session.memberId,
        scope: "read:documents",
        "https://stytch.com/organization": { organization_id: session.organizationId },
        status_code: 200,
      });
    }
    expect((await introspect({ token: issued.refreshToken, client_id: app.clientId })).body).toMatchObject({
      active: true,
      token_type: "refresh_token",
    });
    expect(stytch.calls.introspect).toBe(3);
  });

  it("answers inactive for unknown, revoked and expired tokens, and refuses unknown clients", async () => {
    const session = stytch.createSession();
    const app = stytch.createConnectedApp();
    const issued = stytch.issueConnectedAppToken({ clientId: app.clientId, memberId: session.memberId });
    const now = Math.floor(Date.now() / 1000);
    const expired = stytch.issueConnectedAppToken({
      clientId: app.clientId,
      memberId: session.memberId,
      overrides: { iat: now - 7200, nbf: now - 7200, exp: now - 3600 },
    });
    stytch.revokeConnectedAppToken(issued.opaqueAccessToken);
    for (const token of ["A".repeat(44), issued.opaqueAccessToken, issued.accessToken, expired.accessToken]) {
      expect((await introspect({ token, client_id: app.clientId })).body).toEqual({
        active: false,
        request_id: expect.stringMatching(/^request-id-test-/),
        status_code: 200,
      });
    }
    const unknown = await introspect({ token: expired.opaqueAccessToken, client_id: "connected-app-test-nobody" });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ error: "invalid_client" });
    const confidential = stytch.createConnectedApp({ confidential: true });
    expect((await introspect({ token: "x", client_id: confidential.clientId })).status).toBe(401);
    expect(
      (await introspect({ token: "x", client_id: confidential.clientId, client_secret: confidential.clientSecret! }))
        .body,
    ).toMatchObject({ active: false });
  });
});
