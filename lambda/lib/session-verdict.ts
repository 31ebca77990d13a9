// Who is it? The single home of the fallback decision: a session JWT is verified locally; only what
// local verification cannot settle goes to the Stytch API:
//   - opaque session tokens (always: only Stytch knows them);
//   - authentic JWTs that are expired, or older than the configured maximum age;
//   - JWTs that cannot be checked because no key set could be obtained at all.
// Forged, foreign and malformed JWTs are denied here and never cost a Stytch call.

import { toAuthorizerContext, type AuthMethod, type AuthorizerContext, type MemberSession } from "../member-context";
import type { AuthorizerConfig } from "./config";
import type { Credential } from "./credentials";
import { JwksUnavailableError } from "./errors";
import type { JwksCache } from "./jwks-cache";
import type { VerdictPath } from "./log";
import type { KeyObject } from "node:crypto";
import {
  assertCompactJws,
  checkClaims,
  emailOf,
  parseSessionJwt,
  toMemberSession,
  verifySignature,
  type ClaimRules,
  type ParsedSessionJwt,
} from "./session-jwt";
import type { StytchAuthenticateResponse, StytchClient } from "./stytch-client";
import { VerdictCache } from "./verdict-cache";

/** An authenticated member, its encoded context, and how we know. */
export interface Verdict {
  readonly memberSession: MemberSession;
  readonly context: AuthorizerContext;
  readonly path: VerdictPath;
}

/** What the verdict needs from the container. */
export interface SessionVerdictDeps {
  readonly config: AuthorizerConfig;
  readonly jwksCache: JwksCache;
  readonly stytch: StytchClient;
  readonly verdictCache: VerdictCache;
}

/**
 * Decides who a credential belongs to.
 * @param deadline absolute epoch ms by which any Stytch call must be finished
 * @returns the verdict, synchronously when it comes from the cache or a cached key
 * @throws a CredentialRejectedError (401) or an UpstreamFaultError (503)
 */
export function decideVerdict(credential: Credential, deadline: number, deps: SessionVerdictDeps): Verdict | Promise<Verdict> {
  const nowMs = Date.now();
  const cached = deps.verdictCache.get(credential.value, nowMs);
  if (cached) return { memberSession: cached.memberSession, context: cached.context, path: "cache" };
  if (credential.kind === "session_token") return authenticateRemotely(credential, deadline, deps);

  const jwt = parseSessionJwt(credential.value);
  const key = deps.jwksCache.cachedKey(jwt.header.kid);
  if (key) {
    // The hot path: no await between here and the answer.
    verifySignature(jwt, key);
    return settleAuthenticJwt(credential, jwt.payload, nowMs, deadline, deps);
  }
  return verifyWithFetchedKey(jwt, deps).then((authenticity) =>
    authenticity === "verified" ? settleAuthenticJwt(credential, jwt.payload, Date.now(), deadline, deps) : authenticateRemotely(credential, deadline, deps),
  );
}

/** What screening needs: the claim rules and the key set. */
export interface ScreeningDeps {
  readonly config: ClaimRules;
  readonly jwksCache: JwksCache;
}

/**
 * Screens a session JWT before it may be sent to Stytch by a handler that always calls Stytch (the
 * refresh endpoint): it must be authentic and one of this project's member sessions; its age does
 * not matter, since exchanging stale JWTs is the point.
 * @throws a CredentialRejectedError for a forged, foreign or malformed JWT
 */
export async function screenSessionJwt(token: string, deps: ScreeningDeps): Promise<void> {
  const jwt = parseSessionJwt(token);
  const key = deps.jwksCache.cachedKey(jwt.header.kid);
  if (key) verifySignature(jwt, key);
  else if ((await verifyWithFetchedKey(jwt, deps)) === "unverifiable") return;
  checkClaims(jwt.payload, deps.config, Math.floor(Date.now() / 1000));
  toMemberSession(jwt.payload);
}

/**
 * The slow path of signature verification: fetch the key first.
 * @returns "verified", or "unverifiable" when no key set can be obtained at all; in that case the
 *   token was still checked for everything but its signature
 */
async function verifyWithFetchedKey(jwt: ParsedSessionJwt, deps: ScreeningDeps): Promise<"verified" | "unverifiable"> {
  let key: KeyObject;
  try {
    key = await deps.jwksCache.getKey(jwt.header.kid);
  } catch (error) {
    if (!(error instanceof JwksUnavailableError)) throw error;
    // No key set at all. The token cannot be verified here, but a token that is not even shaped
    // like one of this project's member sessions is still denied without a Stytch call.
    assertCompactJws(jwt.raw);
    checkClaims(jwt.payload, deps.config, Math.floor(Date.now() / 1000));
    toMemberSession(jwt.payload);
    return "unverifiable";
  }
  verifySignature(jwt, key);
  return "verified";
}

function settleAuthenticJwt(
  credential: Credential,
  payload: Record<string, unknown>,
  nowMs: number,
  deadline: number,
  deps: SessionVerdictDeps,
): Verdict | Promise<Verdict> {
  const claims = checkClaims(payload, deps.config, Math.floor(nowMs / 1000));
  // Claims may be stale, but an authentic token without member-session claims is never one of ours.
  const memberSession = toMemberSession(payload);
  if (claims.status !== "valid") return authenticateRemotely(credential, deadline, deps);
  const context = toAuthorizerContext(memberSession);
  deps.verdictCache.offer(credential.value, { memberSession, context, notAfterMs: claims.notAfterMs });
  return { memberSession, context, path: "local" };
}

async function authenticateRemotely(credential: Credential, deadline: number, deps: SessionVerdictDeps): Promise<Verdict> {
  const response = await deps.stytch.authenticate(
    credential.kind === "session_jwt" ? { session_jwt: credential.value } : { session_token: credential.value },
    { deadline },
  );
  const memberSession = memberSessionFromStytch(response, credential.kind === "session_jwt" ? "jwt" : "session_token");
  const context = toAuthorizerContext(memberSession);
  // Stytch's promise for session tokens is that a revoked session is never honoured, so a remote
  // verdict is reused only when an operator opted in, and never past the session's own expiry.
  const ttlSeconds = deps.config.sessionTokenCacheSeconds;
  if (ttlSeconds > 0) {
    const notAfterMs = Math.min(Date.now() + ttlSeconds * 1000, Date.parse(memberSession.sessionExpiresAt) || 0);
    deps.verdictCache.set(credential.value, { memberSession, context, notAfterMs });
  }
  return { memberSession, context, path: "remote" };
}

/** Maps Stytch's authenticate response to a MemberSession. */
export function memberSessionFromStytch(response: StytchAuthenticateResponse, authMethod: AuthMethod): MemberSession {
  const session = response.member_session;
  const email = response.member?.email_address ?? emailOf(session.authentication_factors);
  const customClaims = session.custom_claims;
  return {
    memberId: session.member_id,
    memberSessionId: session.member_session_id,
    organizationId: session.organization_id,
    organizationSlug: session.organization_slug ?? response.organization?.organization_slug ?? "",
    roles: Array.isArray(session.roles) ? session.roles.filter((role) => typeof role === "string") : [],
    authMethod,
    sessionExpiresAt: session.expires_at,
    ...(typeof email === "string" && email !== "" ? { email } : {}),
    customClaims: typeof customClaims === "object" && customClaims !== null && !Array.isArray(customClaims) ? customClaims : {},
  };
}
