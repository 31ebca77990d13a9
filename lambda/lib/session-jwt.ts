// Stytch B2B session JWTs: parsing, the RS256 signature, the standard claims, and the mapping of an
// authentic payload to a MemberSession. Pure functions over node:crypto; no HTTP, no caching of keys.
//
// The signature is verified with node:crypto directly (keys are imported once by the key-set cache),
// because this is the authorizer's hot path. test/session-jwt.differential.test.ts proves the verdicts
// equal jose.jwtVerify's with the same options.

import { verify as rsaVerify, type KeyObject } from "node:crypto";
import { isUtf8 } from "node:buffer";
import type { MemberSession } from "../member-context";
import {
  BadSignatureError,
  MalformedCredentialError,
  NotMemberSessionError,
  NotYetValidError,
  UnsupportedAlgorithmError,
  WrongAudienceError,
  WrongIssuerError,
} from "./errors";

/** The protected header fields we act on. */
export interface SessionJwtHeader {
  readonly alg: "RS256";
  readonly kid: string;
}

/** A structurally valid, not yet verified, session JWT. */
export interface ParsedSessionJwt {
  readonly header: SessionJwtHeader;
  readonly payload: Record<string, unknown>;
  /** `base64url(header) + "." + base64url(payload)`, the bytes the signature covers. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
  /** The token as received. */
  readonly raw: string;
}

/** The claim rules of one project. */
export interface ClaimRules {
  readonly projectId: string;
  readonly issuers: readonly string[];
  readonly clockToleranceSeconds: number;
  /** `undefined`: no age limit beyond `exp`. `0`: every token is too old (strict mode). */
  readonly maxTokenAgeSeconds: number | undefined;
}

/**
 * What the claims say about an authentic token:
 * - `valid`: use it; `notAfterMs` bounds how long that verdict may be reused;
 * - `expired` / `too_old`: authentic but stale; only the Stytch API can say whether the session lives.
 */
export type ClaimsVerdict =
  | { readonly status: "valid"; readonly notAfterMs: number }
  | { readonly status: "expired" }
  | { readonly status: "too_old" };

const SESSION_CLAIM = "https://stytch.com/session";
const ORGANIZATION_CLAIM = "https://stytch.com/organization";
// Registered claims, never custom claims (the same set Stytch's Node SDK strips).
const REGISTERED_CLAIMS = new Set(["aud", "exp", "iat", "iss", "jti", "nbf", "sub", SESSION_CLAIM, ORGANIZATION_CLAIM]);
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);
// Buffer's base64url decoder silently skips characters outside the alphabet (and accepts "+" and "/").
// The signature segment is therefore checked strictly. The other two segments need no scan on the hot
// path: the signature covers their exact characters, so any alteration fails verification. The one path
// that cannot verify a signature (no key set at all) checks the whole token with assertCompactJws().
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

// Headers repeat across tokens (same alg, kid, typ), so a validated header segment is parsed once.
// The last one is checked first: comparing two short strings is cheaper than hashing one.
const headerCache = new Map<string, SessionJwtHeader>();
const HEADER_CACHE_LIMIT = 32;
let lastHeader: { readonly segment: string; readonly header: SessionJwtHeader } | undefined;

/**
 * Splits and decodes a compact JWS, and checks the header: `alg` must be RS256, `typ` JWT, a `kid`
 * must name the key, and no `crit` extensions are understood.
 * @throws MalformedCredentialError or UnsupportedAlgorithmError
 */
export function parseSessionJwt(token: string): ParsedSessionJwt {
  const firstDot = token.indexOf(".");
  const secondDot = token.indexOf(".", firstDot + 1);
  if (firstDot <= 0 || secondDot <= firstDot + 1 || secondDot === token.length - 1 || token.indexOf(".", secondDot + 1) !== -1) {
    throw new MalformedCredentialError("not a compact JWS");
  }
  const headerSegment = token.slice(0, firstDot);
  const payloadSegment = token.slice(firstDot + 1, secondDot);
  const signatureSegment = token.slice(secondDot + 1);
  if (!BASE64URL.test(signatureSegment)) throw new MalformedCredentialError("signature is not base64url");
  const header = lastHeader?.segment === headerSegment ? lastHeader.header : (headerCache.get(headerSegment) ?? parseHeader(headerSegment));
  return {
    header,
    payload: decodeJsonObject(payloadSegment, "payload"),
    signingInput: Buffer.from(token.slice(0, secondDot), "latin1"),
    signature: decodeSegment(signatureSegment, "signature"),
    raw: token,
  };
}

/**
 * Checks that every segment is strictly base64url. Needed only where no signature will be verified.
 * @throws MalformedCredentialError
 */
export function assertCompactJws(token: string): void {
  if (!COMPACT_JWS.test(token)) throw new MalformedCredentialError("not a compact JWS of base64url segments");
}

/**
 * Verifies the RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature with an imported RSA public key.
 * @throws BadSignatureError
 */
export function verifySignature(jwt: ParsedSessionJwt, key: KeyObject): void {
  let ok = false;
  try {
    ok = rsaVerify("sha256", jwt.signingInput, key, jwt.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new BadSignatureError("signature does not verify with the project key");
}

/**
 * Checks the standard claims in jose's order: presence, `iss`, `aud`, the time claims, then the age.
 * Identity failures are denials; staleness (`exp`, max age) is reported, because an authentic but
 * stale token may still name a live session that only the Stytch API can confirm.
 * @param nowSeconds the current time, in whole seconds (as jose counts it)
 * @throws WrongIssuerError, WrongAudienceError, NotYetValidError or MalformedCredentialError
 */
export function checkClaims(payload: Record<string, unknown>, rules: ClaimRules, nowSeconds: number): ClaimsVerdict {
  const { iss, aud, exp, nbf, iat } = payload;
  if (iss === undefined || aud === undefined || exp === undefined || nbf === undefined || iat === undefined) {
    throw new MalformedCredentialError("a required claim (iss, aud, exp, nbf, iat) is missing");
  }
  if (typeof iss !== "string" || !rules.issuers.includes(iss)) throw new WrongIssuerError("unexpected iss");
  if (!(aud === rules.projectId || (Array.isArray(aud) && aud.includes(rules.projectId)))) {
    throw new WrongAudienceError("aud does not contain the project ID");
  }
  if (typeof iat !== "number" || typeof nbf !== "number" || typeof exp !== "number") {
    throw new MalformedCredentialError("a time claim is not a number");
  }
  const tolerance = rules.clockToleranceSeconds;
  if (nbf > nowSeconds + tolerance) throw new NotYetValidError("nbf is in the future");
  if (exp <= nowSeconds - tolerance) return { status: "expired" };
  const maxAge = rules.maxTokenAgeSeconds;
  let notAfterMs = (exp + tolerance) * 1000;
  if (maxAge !== undefined) {
    // Strict mode: a max age of 0 sends every JWT to Stytch (Stytch's SDKs treat it the same way).
    if (maxAge === 0) return { status: "too_old" };
    const age = nowSeconds - iat;
    if (age - tolerance > maxAge) return { status: "too_old" };
    if (age < -tolerance) throw new NotYetValidError("iat is in the future");
    notAfterMs = Math.min(notAfterMs, (iat + maxAge + tolerance) * 1000);
  }
  return { status: "valid", notAfterMs };
}

/**
 * Maps an authentic payload to a MemberSession. Anything without Stytch's session and organization
 * claims is not a B2B member session (for example an M2M token signed with the same keys).
 * @throws NotMemberSessionError
 */
export function toMemberSession(payload: Record<string, unknown>): MemberSession {
  const session = payload[SESSION_CLAIM] as Record<string, unknown> | undefined;
  const organization = payload[ORGANIZATION_CLAIM] as Record<string, unknown> | undefined;
  const sub = payload.sub;
  if (typeof session !== "object" || session === null || typeof organization !== "object" || organization === null) {
    throw new NotMemberSessionError("no Stytch session and organization claims");
  }
  const sessionId = session.id;
  const organizationId = organization.organization_id;
  if (typeof sub !== "string" || sub === "" || typeof sessionId !== "string" || sessionId === "" || typeof organizationId !== "string" || organizationId === "") {
    throw new NotMemberSessionError("session claims lack sub, session id or organization id");
  }
  const roles = session.roles ?? [];
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === "string")) {
    throw new NotMemberSessionError("session roles are not a list of strings");
  }
  const expiresAt = typeof session.expires_at === "string" ? session.expires_at : new Date((payload.exp as number) * 1000).toISOString();
  const email = emailOf(session.authentication_factors);
  return {
    memberId: sub,
    memberSessionId: sessionId,
    organizationId,
    organizationSlug: typeof organization.slug === "string" ? organization.slug : "",
    roles: roles as string[],
    authMethod: "jwt",
    sessionExpiresAt: expiresAt,
    ...(email ? { email } : {}),
    customClaims: customClaimsOf(payload),
  };
}

/** The email of the session's first email-bearing authentication factor, if any. */
export function emailOf(factors: unknown): string | undefined {
  if (!Array.isArray(factors)) return undefined;
  for (const factor of factors) {
    const address = (factor as { email_factor?: { email_address?: unknown } } | null)?.email_factor?.email_address;
    if (typeof address === "string" && address !== "") return address;
  }
  return undefined;
}

function customClaimsOf(payload: Record<string, unknown>): Record<string, unknown> {
  let claims: Record<string, unknown> | undefined;
  for (const key in payload) {
    if (REGISTERED_CLAIMS.has(key) || UNSAFE_KEYS.has(key)) continue;
    (claims ??= {})[key] = payload[key];
  }
  return claims ?? EMPTY_CLAIMS;
}

const EMPTY_CLAIMS: Record<string, unknown> = Object.freeze({});

function parseHeader(segment: string): SessionJwtHeader {
  const header = decodeJsonObject(segment, "header");
  if (header.alg !== "RS256") throw new UnsupportedAlgorithmError("only RS256 is accepted");
  if (typeof header.typ !== "string" || normalizeTyp(header.typ) !== "application/jwt") {
    throw new MalformedCredentialError('header typ is not "JWT"');
  }
  if (header.crit !== undefined) throw new MalformedCredentialError("crit header extensions are not supported");
  if (typeof header.kid !== "string" || header.kid === "") throw new MalformedCredentialError("header has no kid");
  const parsed: SessionJwtHeader = Object.freeze({ alg: "RS256", kid: header.kid });
  if (headerCache.size >= HEADER_CACHE_LIMIT) headerCache.delete(headerCache.keys().next().value as string);
  headerCache.set(segment, parsed);
  lastHeader = { segment, header: parsed };
  return parsed;
}

// RFC 7515 §4.1.9: "JWT" and "application/jwt" mean the same media type, case-insensitively.
function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.includes("/") ? lower : `application/${lower}`;
}

function decodeSegment(segment: string, what: string): Buffer {
  // A base64url string of length 4k+1 cannot encode whole bytes; Buffer would silently drop the tail.
  if (segment.length % 4 === 1) throw new MalformedCredentialError(`${what} is not base64url`);
  return Buffer.from(segment, "base64url");
}

function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeSegment(segment, what);
  if (!isUtf8(bytes)) throw new MalformedCredentialError(`${what} is not UTF-8`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new MalformedCredentialError(`${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MalformedCredentialError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
