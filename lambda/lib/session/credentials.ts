// Where is the credential? Reads the four event shapes API Gateway sends to an authorizer
// (REST TOKEN, REST REQUEST, HTTP API payload 1.0 and 2.0) and classifies what it finds by shape.
// It never decides whether a credential is genuine: that is session-jwt.ts's and Stytch's job.

import { MalformedCredentialError } from "../errors";

/**
 * A credential found in the request, classified by its shape: `session_jwt` (anything with a dot: a JWT of any
 * caller type, told apart by its claims), `session_token` (an opaque string of a session token's shape), or
 * `access_token`: an opaque string the handler's rule reads as a Connected-App access token instead
 * ({@link asOpaqueAccessToken}), to be introspected, never sent to the session API.
 */
export interface Credential {
  readonly kind: "session_jwt" | "session_token" | "access_token";
  readonly value: string;
  readonly source: "authorization" | "cookie" | "body";
}

/** Cookie names to look for, in order: the JWT first, then the opaque session token. */
export interface CookieNames {
  readonly jwtCookieName: string;
  readonly sessionCookieName: string;
}

/** The fields of any authorizer event that can carry a credential. */
export interface CredentialCarrier {
  readonly type?: string;
  readonly authorizationToken?: string;
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly multiValueHeaders?: Readonly<Record<string, readonly string[] | undefined>> | null;
  readonly cookies?: readonly string[] | null;
}

/** Longest credential considered at all; Stytch JWTs with 4 KB of custom claims stay far below. */
export const MAX_CREDENTIAL_LENGTH = 16_384;

// Stytch session tokens are 44 base64url characters; allow some room for format changes.
const SESSION_TOKEN_SHAPE = /^[A-Za-z0-9_-]{24,128}={0,2}$/;
const BEARER = /^bearer\s+/i;

/**
 * Finds the request's credential: the `Authorization` header (or `authorizationToken`) as
 * `Bearer <credential>` or bare; otherwise the Stytch cookies, JWT first.
 * @returns the credential, or `undefined` when the request carries none
 * @throws MalformedCredentialError when something is there but cannot be a Stytch credential
 */
export function findCredential(event: CredentialCarrier, names: CookieNames): Credential | undefined {
  const authorization = event.type === "TOKEN" ? event.authorizationToken : headerValue(event, "authorization");
  // An explicit Authorization header wins, and is never silently replaced by a cookie: a malformed
  // header is the caller's mistake to see, not something to paper over.
  if (authorization !== undefined && authorization.trim() !== "") {
    const trimmed = authorization.trim();
    // slice() shares the header's characters instead of copying them (this runs on every request).
    const scheme = BEARER.exec(trimmed);
    return classifyCredential(scheme ? trimmed.slice(scheme[0].length) : trimmed, "authorization");
  }
  const jar = cookieJar(event);
  if (!jar) return undefined;
  const jwt = jar.get(names.jwtCookieName);
  if (jwt) return classifyCredential(jwt, "cookie");
  const token = jar.get(names.sessionCookieName);
  if (token) return classifyCredential(token, "cookie");
  return undefined;
}

/**
 * Classifies a credential by its shape: anything with a dot can only be a session JWT (parsed strictly
 * by session-jwt.ts, and only when no remembered verdict answers first, which keeps a repeated token
 * cheap); a base64url string of Stytch's token length is a session token; anything else is malformed.
 * @throws MalformedCredentialError
 */
export function classifyCredential(value: string, source: Credential["source"]): Credential {
  if (value.length > MAX_CREDENTIAL_LENGTH) throw new MalformedCredentialError("credential is too long");
  if (value.includes(".")) return { kind: "session_jwt", value, source };
  if (SESSION_TOKEN_SHAPE.test(value)) return { kind: "session_token", value, source };
  throw new MalformedCredentialError("credential is neither a session JWT nor a session token");
}

/** Case-insensitive header lookup over `headers` and `multiValueHeaders` (first value wins). */
function headerValue(event: CredentialCarrier, lowerName: string): string | undefined {
  const headers = event.headers;
  if (headers) {
    // Fast path: HTTP API 2.0 lower-cases names, and most clients send the canonical casing.
    const direct = headers[lowerName] ?? headers[lowerName === "authorization" ? "Authorization" : "Cookie"];
    if (direct !== undefined) return direct;
    for (const name in headers) if (name.toLowerCase() === lowerName) return headers[name];
  }
  const multi = event.multiValueHeaders;
  if (multi) for (const name in multi) if (name.toLowerCase() === lowerName) return multi[name]?.[0];
  return undefined;
}

/** Parses the request's cookies into name → first value. HTTP API 2.0 sends `cookies[]`; others the Cookie header(s). */
function cookieJar(event: CredentialCarrier): Map<string, string> | undefined {
  const pairs: string[] = [];
  if (event.cookies?.length) pairs.push(...event.cookies);
  else {
    const multi = event.multiValueHeaders;
    let found = false;
    if (multi) {
      for (const name in multi) {
        if (name.toLowerCase() === "cookie") {
          for (const line of multi[name] ?? []) pairs.push(...line.split(";"));
          found = true;
        }
      }
    }
    if (!found) {
      const line = headerValue(event, "cookie");
      if (line) pairs.push(...line.split(";"));
    }
  }
  if (pairs.length === 0) return undefined;
  const jar = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    // Browsers send the most specific path first; the first value of a duplicated name wins.
    if (jar.has(name)) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value.includes("%")) {
      try {
        value = decodeURIComponent(value);
      } catch {
        // Leave an undecodable value as it is; classification will reject it.
      }
    }
    jar.set(name, value);
  }
  return jar;
}

/**
 * The same opaque credential, read as a Connected-App access token (to introspect) instead of a session token.
 * Only a bearer token of the `Authorization` header qualifies: browsers carry sessions in cookies, never agents.
 */
export function asOpaqueAccessToken(credential: Credential): Credential | undefined {
  return credential.kind === "session_token" && credential.source === "authorization"
    ? { kind: "access_token", value: credential.value, source: credential.source }
    : undefined;
}
