// `POST /dev/login` and `POST /dev/logout`: stand-ins for the Stytch frontend SDK's login and logout,
// `POST /dev/m2m-client` and `POST /dev/agent-token`: stand-ins for creating an M2M client in the Stytch dashboard
// and for a member's OAuth consent to a Connected App (an agent), and `POST /dev/stytch-outage`: the emulator's
// fault switch, so that a browser can see a Stytch outage. Served only with the embedded emulator. They are not
// in the route table because they are never deployed: in production, sessions come from a real Stytch login flow.

import { type HttpResponse, jsonResponse } from "./proxy-response";
import { type EmulatedFactor, FACTOR_KINDS, type FactorKind, type StytchEmulator } from "./stytch-emulator";

/** The dev-only routes: method, path, and the one line the start-up banner prints for each. */
export const DEV_ROUTES = Object.freeze([
  { method: "POST", path: "/dev/login", description: "creates a demo member session" },
  { method: "POST", path: "/dev/logout", description: "revokes it" },
  {
    method: "POST",
    path: "/dev/m2m-client",
    description: '{"scopes":[…]} creates an M2M client; get tokens at its token_url',
  },
  {
    method: "POST",
    path: "/dev/agent-token",
    description: '{"member_id":…,"scopes":[…]}: a Connected App token, as after consent',
  },
  { method: "POST", path: "/dev/stytch-outage", description: '{"outage":true} makes the emulated Stytch answer 500' },
] as const);

/** The session cookie names: the Stytch frontend SDK's (`stytch_session`, `stytch_session_jwt`) unless configured otherwise. */
export interface SessionCookieNames {
  readonly sessionCookieName: string;
  readonly jwtCookieName: string;
}

/**
 * The demo organization that requires MFA (`mfa_policy: REQUIRED_FOR_ALL`), set up in the emulator by `npm start`:
 * a switch into it answers `member_authenticated: false` and an intermediate session token.
 */
export const MFA_REQUIRED_DEMO_ORGANIZATION = "initech";

const LOGIN_KEYS = ["roles", "organization_slug", "email", "also_member_of", "factors"] as const;
const MAX_OTHER_ORGANIZATIONS = 8;
/**
 * The factors of a demo login without `factors`: an email magic link and an authenticator app (TOTP), both just
 * now, as a member of an organization that requires MFA has after logging in.
 */
export const DEFAULT_LOGIN_FACTORS: readonly LoginFactor[] = Object.freeze([
  { factor: "magic_link" },
  { factor: "totp" },
] as const);
/** The furthest back a demo factor may lie: a day. */
const MAX_MINUTES_AGO = 1_440;
const ROLE = /^[A-Za-z0-9_.:-]{1,128}$/;
const SLUG = /^[a-z0-9._~-]{2,128}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

/**
 * Answers a dev-only route, or returns `undefined` when `method path` is not one.
 * @param body the raw request body (login: optional JSON `{roles?, organization_slug?, email?, also_member_of?,
 *   factors?}`, where `factors` is e.g. `[{"factor": "magic_link"}, {"factor": "totp", "minutes_ago": 20}]`; default
 *   {@link DEFAULT_LOGIN_FACTORS})
 * @param headers Node's lower-cased request headers (logout reads `authorization` and `cookie`)
 */
export function devSessionRoute(
  stytch: StytchEmulator,
  cookieNames: SessionCookieNames,
  method: string,
  path: string,
  body: Buffer,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): HttpResponse | undefined {
  if (method === "POST" && path === "/dev/login") return login(stytch, cookieNames, body);
  if (method === "POST" && path === "/dev/logout") return logout(stytch, cookieNames, headers);
  if (method === "POST" && path === "/dev/stytch-outage") return outage(stytch, body);
  if (method === "POST" && path === "/dev/m2m-client") return m2mClient(stytch, body);
  if (method === "POST" && path === "/dev/agent-token") return agentToken(stytch, body);
  return undefined;
}

const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

/** `{"scopes": ["read:usage"]}` (the default): a new M2M client, with the emulator's token endpoint to use it at. */
function m2mClient(stytch: StytchEmulator, body: Buffer): HttpResponse {
  const parsed = parseJsonObject(body, ["scopes"]);
  if (typeof parsed === "string") return jsonResponse(400, { message: parsed });
  const scopes = parsed.scopes ?? ["read:usage"];
  if (!isScopeList(scopes)) return jsonResponse(400, { message: "scopes must be an array of scope strings" });
  const client = stytch.createM2MClient({ scopes });
  return jsonResponse(200, {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    scopes: client.scopes,
    token_url: `${stytch.url}/v1/public/${stytch.projectId}/oauth2/token`,
  });
}

/**
 * `{"member_id": "…", "scopes": ["read:documents"]}`: what a Connected App (an AI agent) holds once the member
 * consented: its access token, signed with the project's keys. The consent flow itself is not emulated.
 */
function agentToken(stytch: StytchEmulator, body: Buffer): HttpResponse {
  const parsed = parseJsonObject(body, ["member_id", "scopes"]);
  if (typeof parsed === "string") return jsonResponse(400, { message: parsed });
  const scopes = parsed.scopes ?? ["read:documents"];
  if (typeof parsed.member_id !== "string" || !isScopeList(scopes))
    return jsonResponse(400, {
      message: "member_id must be a member id (from /dev/login) and scopes an array of scopes",
    });
  const app = stytch.createConnectedApp();
  try {
    const issued = stytch.issueConnectedAppToken({ clientId: app.clientId, memberId: parsed.member_id, scopes });
    return jsonResponse(200, { client_id: app.clientId, access_token: issued.accessToken, scope: scopes.join(" ") });
  } catch {
    return jsonResponse(400, { message: "member_id names no member of the emulator: log in with /dev/login first" });
  }
}

function isScopeList(value: unknown): value is string[] {
  return (
    Array.isArray(value) && value.length <= 32 && value.every((scope) => typeof scope === "string" && SCOPE.test(scope))
  );
}

/** A JSON object body with only the allowed keys (empty body: `{}`), or an error message for a 400. */
function parseJsonObject(body: Buffer, allowed: readonly string[]): Record<string, unknown> | string {
  const text = body.toString("utf8").trim();
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "body is not valid JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "body must be a JSON object";
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) return `unknown field(s) ${unknown.join(", ")}; allowed: ${allowed.join(", ")}`;
  return value as Record<string, unknown>;
}

/** `{"outage": true}`: every sessions/authenticate call fails with a Stytch 500 until `{"outage": false}`. */
function outage(stytch: StytchEmulator, body: Buffer): HttpResponse {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    value = undefined;
  }
  const on = (value as { outage?: unknown } | undefined)?.outage;
  if (typeof on !== "boolean" || Object.keys(value as object).length !== 1)
    return jsonResponse(400, { message: 'body must be {"outage": true} or {"outage": false}' });
  stytch.faults.authenticate = on ? "500" : "none";
  return jsonResponse(200, { outage: on });
}

/** Creates a demo member session and hands out its credentials the way the Stytch frontend SDK stores them. */
function login(
  stytch: StytchEmulator,
  { sessionCookieName, jwtCookieName }: SessionCookieNames,
  body: Buffer,
): HttpResponse {
  const parsed = parseLoginBody(body);
  if (typeof parsed === "string") return jsonResponse(400, { message: parsed });
  const now = Math.floor(Date.now() / 1000);
  const session = stytch.createSession({
    ...(parsed.roles ? { roles: parsed.roles } : {}),
    ...(parsed.organization_slug ? { organizationSlug: parsed.organization_slug } : {}),
    ...(parsed.email ? { email: parsed.email } : {}),
    authenticationFactors: (parsed.factors ?? DEFAULT_LOGIN_FACTORS).map(
      ({ factor, minutes_ago }): EmulatedFactor => ({ kind: factor, authenticatedAt: now - (minutes_ago ?? 0) * 60 }),
    ),
  });
  // The same person (the same email) in other organizations: where an organization switch can take them.
  const otherOrganizations = Object.fromEntries(
    (parsed.also_member_of ?? []).map((slug) => {
      const member = stytch.createMember({
        email: session.email,
        organizationSlug: slug,
        ...(parsed.roles ? { roles: parsed.roles } : {}),
      });
      return [slug, member.organizationId];
    }),
  );
  const expires = new Date(session.expiresAt).toUTCString();
  return jsonResponse(
    200,
    {
      session_token: session.sessionToken,
      session_jwt: session.sessionJwt,
      member_id: session.memberId,
      organization_id: session.organizationId,
      ...(parsed.also_member_of ? { also_member_of: otherOrganizations } : {}),
    },
    {
      "set-cookie": [
        sdkCookie(sessionCookieName, session.sessionToken, expires),
        sdkCookie(jwtCookieName, session.sessionJwt, expires),
      ],
    },
  );
}

/** Revokes the session named by the request's credential (Bearer header first, then the cookies) and clears the cookies. */
function logout(
  stytch: StytchEmulator,
  { sessionCookieName, jwtCookieName }: SessionCookieNames,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): HttpResponse {
  const credential =
    bearer(headers.authorization) ?? cookie(headers.cookie, sessionCookieName) ?? cookie(headers.cookie, jwtCookieName);
  const cleared = { "set-cookie": [clearedCookie(sessionCookieName), clearedCookie(jwtCookieName)] };
  // Clear the cookies even when the session is unknown: they are dead either way, and the browser should forget them.
  if (!credential || !stytch.revokeSession(credential)) return jsonResponse(401, { message: "Unauthorized" }, cleared);
  return jsonResponse(200, { revoked: true }, cleared);
}

/** One factor of a demo login: how (a kind of the emulator's, e.g. `totp`), and how long ago (default now). */
export interface LoginFactor {
  readonly factor: FactorKind;
  readonly minutes_ago?: number;
}

interface LoginRequest {
  roles?: string[];
  organization_slug?: string;
  email?: string;
  /** Slugs of other organizations the member also belongs to (created if new), without a session there. */
  also_member_of?: string[];
  factors?: LoginFactor[];
}

/** The validated login body, or an error message for a 400. */
function parseLoginBody(body: Buffer): LoginRequest | string {
  // Unknown keys are refused rather than ignored, so a typo such as "organizationSlug" is not silently dropped.
  const request = parseJsonObject(body, LOGIN_KEYS);
  if (typeof request === "string") return request;
  const { roles, organization_slug, email, also_member_of, factors } = request;
  if (
    roles !== undefined &&
    !(Array.isArray(roles) && roles.length <= 32 && roles.every((role) => typeof role === "string" && ROLE.test(role)))
  ) {
    return "roles must be an array of role IDs (letters, digits, _ . : -)";
  }
  if (organization_slug !== undefined && !(typeof organization_slug === "string" && SLUG.test(organization_slug))) {
    return "organization_slug must be 2-128 lower-case letters, digits or . _ ~ -";
  }
  if (email !== undefined && !(typeof email === "string" && EMAIL.test(email))) return "email must be an email address";
  if (
    also_member_of !== undefined &&
    !(
      Array.isArray(also_member_of) &&
      also_member_of.length <= MAX_OTHER_ORGANIZATIONS &&
      also_member_of.every((slug) => typeof slug === "string" && SLUG.test(slug))
    )
  ) {
    return `also_member_of must be an array of at most ${MAX_OTHER_ORGANIZATIONS} organization slugs`;
  }
  if (
    factors !== undefined &&
    !(Array.isArray(factors) && factors.length >= 1 && factors.length <= 8 && factors.every(isLoginFactor))
  ) {
    return `factors must be 1 to 8 of {"factor": ${FACTOR_KINDS.map((kind) => `"${kind}"`).join(" | ")}, "minutes_ago": 0-${MAX_MINUTES_AGO}}`;
  }
  return request as LoginRequest;
}

function isLoginFactor(value: unknown): value is LoginFactor {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { factor, minutes_ago, ...rest } = value as Record<string, unknown>;
  return (
    Object.keys(rest).length === 0 &&
    (FACTOR_KINDS as readonly unknown[]).includes(factor) &&
    (minutes_ago === undefined ||
      (Number.isInteger(minutes_ago) && (minutes_ago as number) >= 0 && (minutes_ago as number) <= MAX_MINUTES_AGO))
  );
}

/**
 * A cookie as the Stytch frontend SDK writes it: readable by scripts (no HttpOnly), `SameSite=Lax`, expiring
 * with the session. No `Secure`: the SDK leaves it off on plain-http localhost, where browsers would drop it.
 */
function sdkCookie(name: string, value: string, expires: string): string {
  return `${name}=${value}; Path=/; SameSite=Lax; Expires=${expires}`;
}

function clearedCookie(name: string): string {
  return `${name}=; Path=/; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
}

function bearer(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /^\s*Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

function cookie(header: string | string[] | undefined, name: string): string | undefined {
  const line = Array.isArray(header) ? header.join("; ") : header;
  if (!line) return undefined;
  for (const pair of line.split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0 && pair.slice(0, eq).trim() === name) {
      const value = pair.slice(eq + 1).trim();
      if (value !== "") return value;
    }
  }
  return undefined;
}
