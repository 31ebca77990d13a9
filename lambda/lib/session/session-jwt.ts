// Stytch B2B session JWTs, checked locally (see SessionJwtVerifier).

import { isUtf8 } from "node:buffer";
import { type JWTPayload, type JWTVerifyOptions, jwtVerify } from "jose";
// The error classes by name from their own entry point: jose's root exports them as one namespace
// object, which would keep every jose error class (JWE, JWKS, …) in the bundle.
import {
  JOSEAlgNotAllowed,
  JOSEError,
  JWSSignatureVerificationFailed,
  JWTClaimValidationFailed,
  JWTExpired,
} from "jose/errors";
import type { MachineCaller } from "../callers/caller";
import {
  callerTypeOf,
  connectedAppCallerOf,
  customClaimsOf,
  m2mCallerOf,
  ORGANIZATION_CLAIM,
  SESSION_CLAIM,
} from "../callers/token-claims";
import {
  BadSignatureError,
  ExpiredTokenError,
  JwksUnavailableError,
  MalformedCredentialError,
  NotMemberSessionError,
  NotYetValidError,
  UnsupportedAlgorithmError,
  WrongAudienceError,
  WrongIssuerError,
} from "../errors";
import type { MemberSession } from "../response/member-context";
import { impersonatorOf, readAuthenticationFactors } from "./authentication-factors";
import type { VerificationKey } from "./jwks-cache";

/** The protected header fields we act on. */
export interface SessionJwtHeader {
  readonly alg: "RS256";
  readonly kid: string;
}

/** A session JWT in strict compact form, with its header checked and its payload decoded but NOT verified. */
export interface ParsedSessionJwt {
  readonly header: SessionJwtHeader;
  /** Unverified: fit only for screening and for choosing between answers that never Allow. */
  readonly payload: Record<string, unknown>;
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

/** An authentic member-session JWT: its verified payload, the member it names, and how fresh it is. */
export type AuthenticSessionJwt = ClaimsVerdict & {
  readonly payload: Record<string, unknown>;
  readonly memberSession: MemberSession;
};

/**
 * An authentic token of any caller type (see {@link SessionJwtVerifier.verifyCaller}): a member session JWT (which
 * may be stale: only Stytch can then say whether its session lives), or a valid machine token (M2M or Connected
 * App), with the instant its verdict stops holding.
 */
export type AuthenticToken =
  | { readonly type: "member"; readonly jwt: AuthenticSessionJwt }
  | { readonly type: "machine"; readonly caller: MachineCaller; readonly notAfterMs: number };

// Registered claims, never custom claims (the same set Stytch's Node SDK strips).
const REGISTERED_CLAIMS = new Set(["aud", "exp", "iat", "iss", "jti", "nbf", "sub", SESSION_CLAIM, ORGANIZATION_CLAIM]);
// One spelling per token: exactly three segments of the base64url alphabet, ASCII only, no padding,
// no whitespace. jose alone accepts "=" padding and whitespace inside the signature segment, and
// Buffer's decoder skips any character it does not know; a token that could be spelled many ways
// would defeat every cache keyed on the token string (verdicts, rejections).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/**
 * The largest time claim accepted: 9999-12-31T23:59:59Z. Beyond it (or non-finite, or negative) a time
 * claim is malformed: it cannot be written as a date, and no Stytch token carries one.
 */
export const MAX_TIME_CLAIM_SECONDS = 253_402_300_799;
// Messages given in two places each: for jose's verdict, and by our own header check or key-less screening.
const ONLY_RS256 = "only RS256 is accepted";
const WRONG_ISSUER = "unexpected iss";
const WRONG_AUDIENCE = "aud does not contain the project ID";

// Headers repeat across tokens (same alg, kid, typ), so a validated header segment is parsed once.
// The last one is checked first: comparing two short strings is cheaper than hashing one.
const headerCache = new Map<string, SessionJwtHeader>();
const HEADER_CACHE_LIMIT = 32;
let lastHeader: { readonly segment: string; readonly header: SessionJwtHeader } | undefined;

/**
 * Checks the strict compact form: three non-empty base64url segments (ASCII, unpadded) whose every
 * character carries data, so that no two spellings decode to the same bytes.
 * @throws MalformedCredentialError
 */
export function assertCompactJws(token: string): void {
  if (!COMPACT_JWS.test(token)) throw new MalformedCredentialError("not a compact JWS of base64url segments");
  const firstDot = token.indexOf(".");
  const secondDot = token.indexOf(".", firstDot + 1);
  if (
    !isCanonicalSegment(token, 0, firstDot) ||
    !isCanonicalSegment(token, firstDot + 1, secondDot) ||
    !isCanonicalSegment(token, secondDot + 1, token.length)
  ) {
    throw new MalformedCredentialError("a segment is not canonical base64url");
  }
}

/**
 * The checked header of a token already in strict compact form: `alg` RS256, `typ` JWT, a `kid`, no `crit`.
 * @throws MalformedCredentialError or UnsupportedAlgorithmError
 */
export function sessionJwtHeader(token: string): SessionJwtHeader {
  const headerSegment = token.slice(0, token.indexOf("."));
  if (lastHeader?.segment === headerSegment) return lastHeader.header;
  return headerCache.get(headerSegment) ?? parseHeader(headerSegment);
}

/**
 * Checks the compact form and the header, and decodes the payload WITHOUT verifying it.
 * @throws MalformedCredentialError or UnsupportedAlgorithmError
 */
export function parseSessionJwt(token: string): ParsedSessionJwt {
  assertCompactJws(token);
  const header = sessionJwtHeader(token);
  const firstDot = token.indexOf(".");
  return {
    header,
    payload: decodeJsonObject(token.slice(firstDot + 1, token.indexOf(".", firstDot + 1)), "payload"),
    raw: token,
  };
}

/**
 * Verifies session JWTs of one project with jose: RS256 only, `typ` JWT, the issuer and audience,
 * `exp`, `nbf` and `iat` required, the clock tolerance, and (if configured) the maximum age. The jose
 * options are built once.
 *
 * With the functions of its module: the strict compact form in front of jose ({@link assertCompactJws},
 * {@link sessionJwtHeader}), jose's verification (signature and standard claims), and what only a Stytch
 * member session has: the member claims, sane time claims, strict mode ({@link toMemberSession}). No HTTP,
 * no caching of keys (see jwks-cache.ts).
 *
 * test/session-jwt.differential.test.ts compares these verdicts with the official Stytch SDK's
 * authenticateJwtLocal (which is jose too) over generated and mutated tokens.
 */
export class SessionJwtVerifier {
  private readonly options: JWTVerifyOptions;

  constructor(readonly rules: ClaimRules) {
    const maxAge = rules.maxTokenAgeSeconds;
    this.options = Object.freeze({
      algorithms: ["RS256"],
      typ: "JWT",
      issuer: [...rules.issuers],
      audience: rules.projectId,
      requiredClaims: ["exp", "nbf", "iat"],
      clockTolerance: rules.clockToleranceSeconds,
      // jose reads a max age of 0 as "no limit"; strict mode is handled below instead.
      ...(maxAge ? { maxTokenAge: maxAge } : {}),
    });
  }

  /**
   * Verifies `token` (already in strict compact form) with `key`. jose checks the signature before
   * any claim, so an expired or too old answer is only ever given for an authentic token.
   * @param nowSeconds the current time in whole seconds, for tests; by default jose reads the clock
   * @throws a CredentialRejectedError for anything forged, foreign, malformed or not a member session
   */
  async verify(token: string, key: VerificationKey, nowSeconds?: number): Promise<AuthenticSessionJwt> {
    const { payload, stale } = await this.authentic(token, key, nowSeconds);
    return this.memberVerdict(payload, stale);
  }

  /**
   * Verifies `token` (already in strict compact form) with `key`, and tells which caller it names by its authentic
   * claims ({@link callerTypeOf}) before anything else reads them:
   * - a member session JWT: as {@link verify}; a stale one goes on to Stytch;
   * - an M2M or Connected-App access token: its caller, valid until its `exp` (plus the tolerance). Machine tokens
   *   have no session behind them: an expired one is refused (never sent to Stytch's session API), and the maximum
   *   token age, a rule for session JWTs, does not apply to them.
   * @param nowSeconds the current time in whole seconds, for tests
   * @throws a CredentialRejectedError for anything forged, foreign, malformed, ambiguous or expired (machines)
   */
  async verifyCaller(token: string, key: VerificationKey, nowSeconds?: number): Promise<AuthenticToken> {
    const { payload, stale } = await this.authentic(token, key, nowSeconds);
    const type = callerTypeOf(payload);
    if (type === "member") return { type: "member", jwt: this.memberVerdict(payload, stale) };
    for (const claim of ["nbf", "iat"] as const) timeClaim(payload, claim);
    const exp = timeClaim(payload, "exp");
    // `too_old` (jose's maximum age) is only ever reported after exp passed: such a machine token is valid.
    if (stale === "expired") throw new ExpiredTokenError("the machine token has expired");
    const caller = type === "connected_app" ? connectedAppCallerOf(payload, exp) : m2mCallerOf(payload, exp);
    return { type: "machine", caller, notAfterMs: (exp + this.rules.clockToleranceSeconds) * 1000 };
  }

  /** The verified payload of an authentic token, and whether it is stale (jose checks the signature first). */
  private async authentic(
    token: string,
    key: VerificationKey,
    nowSeconds: number | undefined,
  ): Promise<{ payload: JWTPayload; stale: "expired" | "too_old" | undefined }> {
    try {
      const options =
        nowSeconds === undefined ? this.options : { ...this.options, currentDate: new Date(nowSeconds * 1000) };
      return { payload: (await jwtVerify(token, key, options)).payload, stale: undefined };
    } catch (error) {
      // Thrown only after the signature verified and every other claim passed: authentic but stale.
      if (!(error instanceof JWTExpired)) throw rejectionOf(error);
      return { payload: error.payload, stale: error.claim === "exp" ? "expired" : "too_old" };
    }
  }

  private memberVerdict(payload: JWTPayload, stale: "expired" | "too_old" | undefined): AuthenticSessionJwt {
    const memberSession = toMemberSession(payload);
    if (stale) return { status: stale, payload, memberSession };
    const maxAge = this.rules.maxTokenAgeSeconds;
    // Strict mode: a max age of 0 sends every JWT to Stytch (Stytch's SDK treats it the same way).
    if (maxAge === 0) return { status: "too_old", payload, memberSession };
    const tolerance = this.rules.clockToleranceSeconds;
    let notAfterMs = ((payload.exp as number) + tolerance) * 1000;
    if (maxAge !== undefined) notAfterMs = Math.min(notAfterMs, ((payload.iat as number) + maxAge + tolerance) * 1000);
    return { status: "valid", notAfterMs, payload, memberSession };
  }
}

/**
 * Screens the claims of a token whose signature cannot be checked (no key set could be obtained):
 * a token that is not even shaped like one of this project's current member sessions is refused
 * without a Stytch call. Staleness is not judged: Stytch will. A machine token (M2M, Connected App) of this
 * project is a fault instead (503): nothing but the key set could prove it, and the session API must never see it.
 * @throws a CredentialRejectedError, or JwksUnavailableError for a machine token
 */
export function screenUnverifiedClaims(payload: Record<string, unknown>, rules: ClaimRules, nowSeconds: number): void {
  const { iss, aud, nbf } = payload;
  if (typeof iss !== "string" || !rules.issuers.includes(iss)) throw new WrongIssuerError(WRONG_ISSUER);
  if (!(aud === rules.projectId || (Array.isArray(aud) && aud.includes(rules.projectId)))) {
    throw new WrongAudienceError(WRONG_AUDIENCE);
  }
  // A machine token has no session Stytch could vouch for: without a key set it cannot be judged at all.
  if (callerTypeOf(payload) !== "member")
    throw new JwksUnavailableError("no key set to verify a machine token with, and no Stytch API can");
  toMemberSession(payload);
  if ((nbf as number) > nowSeconds + rules.clockToleranceSeconds) throw new NotYetValidError("nbf is in the future");
}

/**
 * Maps an authentic payload to a MemberSession. Anything without Stytch's session and organization
 * claims is not a B2B member session (for example an M2M token signed with the same keys); time claims
 * that are missing, not finite, or outside 0…{@link MAX_TIME_CLAIM_SECONDS} make the token malformed.
 * @throws NotMemberSessionError or MalformedCredentialError
 */
export function toMemberSession(payload: Record<string, unknown>): MemberSession {
  for (const claim of ["exp", "nbf", "iat"] as const) timeClaim(payload, claim);
  // Session claims next to client claims name no single caller: refused, never read as a member.
  callerTypeOf(payload);
  const session = payload[SESSION_CLAIM] as Record<string, unknown> | undefined;
  const organization = payload[ORGANIZATION_CLAIM] as Record<string, unknown> | undefined;
  const sub = payload.sub;
  if (typeof session !== "object" || session === null || typeof organization !== "object" || organization === null) {
    throw new NotMemberSessionError("no Stytch session and organization claims");
  }
  const sessionId = session.id;
  const organizationId = organization.organization_id;
  if (
    typeof sub !== "string" ||
    sub === "" ||
    typeof sessionId !== "string" ||
    sessionId === "" ||
    typeof organizationId !== "string" ||
    organizationId === ""
  ) {
    throw new NotMemberSessionError("session claims lack sub, session id or organization id");
  }
  const roles = session.roles ?? [];
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === "string")) {
    throw new NotMemberSessionError("session roles are not a list of strings");
  }
  const expiresAt =
    typeof session.expires_at === "string"
      ? session.expires_at
      : new Date((payload.exp as number) * 1000).toISOString();
  const email = emailOf(session.authentication_factors);
  const authenticationFactors = readAuthenticationFactors(session.authentication_factors);
  const impersonatorId = impersonatorOf(authenticationFactors);
  return {
    memberId: sub,
    memberSessionId: sessionId,
    organizationId,
    organizationSlug: typeof organization.slug === "string" ? organization.slug : "",
    roles: roles as string[],
    authMethod: "jwt",
    sessionExpiresAt: expiresAt,
    ...(email ? { email } : {}),
    customClaims: customClaimsOf(payload, REGISTERED_CLAIMS),
    authenticationFactors,
    ...(impersonatorId !== undefined ? { impersonatorId } : {}),
  };
}

/**
 * A time claim in seconds, within 0…{@link MAX_TIME_CLAIM_SECONDS}.
 * @throws MalformedCredentialError when it is missing, not a number, or out of range
 */
export function timeClaim(payload: Record<string, unknown>, claim: "exp" | "nbf" | "iat"): number {
  const value = payload[claim];
  // A number in JSON may still be 1e300 or (1e400) Infinity: neither is a date.
  if (typeof value !== "number" || !(value >= 0 && value <= MAX_TIME_CLAIM_SECONDS)) {
    throw new MalformedCredentialError(`${claim} is missing or not a time`);
  }
  return value;
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

/** Maps a jose failure to our failure tree. Anything that is not jose's is a bug: rethrown, so it is a fault. */
function rejectionOf(error: unknown): unknown {
  if (error instanceof JWSSignatureVerificationFailed)
    return new BadSignatureError("signature does not verify with the project key");
  if (error instanceof JOSEAlgNotAllowed) return new UnsupportedAlgorithmError(ONLY_RS256);
  if (error instanceof JWTClaimValidationFailed && error.reason === "check_failed") {
    if (error.claim === "iss") return new WrongIssuerError(WRONG_ISSUER);
    if (error.claim === "aud") return new WrongAudienceError(WRONG_AUDIENCE);
    if (error.claim === "nbf" || error.claim === "iat") return new NotYetValidError(`${error.claim} is in the future`);
  }
  if (error instanceof JOSEError) return new MalformedCredentialError(`rejected by jose (${error.code})`);
  return error;
}

function parseHeader(segment: string): SessionJwtHeader {
  // The segment is already canonical base64url (assertCompactJws), so the payload's strict decoder serves
  // the header too: UTF-8 checked, never decoded leniently, and a JSON object or nothing.
  const header = decodeJsonObject(segment, "header");
  if (header.alg !== "RS256") throw new UnsupportedAlgorithmError(ONLY_RS256);
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

/**
 * True when `token[start, end)` is canonical unpadded base64url: its length is not 4k+1 (which cannot
 * encode whole bytes), and the unused low bits of its last character are zero (otherwise up to 16
 * different last characters decode to the same bytes). The alphabet is checked by the caller.
 */
function isCanonicalSegment(token: string, start: number, end: number): boolean {
  const remainder = (end - start) % 4;
  if (remainder === 0) return true;
  if (remainder === 1) return false;
  // Two last characters carry 12 bits for 1 byte, three carry 18 for 2: the last one's low 4 or 2 bits are
  // unused. These are the characters whose unused bits are zero (values 0, 16, 32, 48; or every multiple of 4).
  return (remainder === 2 ? "AQgw" : "AEIMQUYcgkosw048").includes(token[end - 1]!);
}

function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  const bytes = Buffer.from(segment, "base64url");
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
