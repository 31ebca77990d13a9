// Who is it? The single home of the fallback decision (see decideVerdict).

import type { Caller, MachineCaller } from "../callers/caller";
import { connectedAppCallerOf } from "../callers/token-claims";
import type { AuthorizerConfig } from "../config";
import { ConfigurationError, InactiveTokenError, JwksUnavailableError, RevokedSessionError } from "../errors";
import { logger, type VerdictPath } from "../operations/log";
import { machineAuthorizerContext } from "../response/caller-context";
import {
  type AuthMethod,
  type AuthorizerContext,
  contextBytes,
  type MemberSession,
  toAuthorizerContext,
} from "../response/member-context";
import type { StytchAuthenticateResponse, StytchClient, StytchIntrospectionResponse } from "../stytch/stytch-client";
import { impersonatorOf, readAuthenticationFactors } from "./authentication-factors";
import type { Credential } from "./credentials";
import type { JwksCache, VerificationKey } from "./jwks-cache";
import type { RejectionCache } from "./rejection-cache";
import {
  assertCompactJws,
  emailOf,
  parseSessionJwt,
  type SessionJwtVerifier,
  screenUnverifiedClaims,
  sessionJwtHeader,
  timeClaim,
} from "./session-jwt";
import type { VerdictCache } from "./verdict-cache";

/** An authenticated caller (a member, an M2M client, a Connected App), its encoded context, and how we know. */
export interface Verdict {
  readonly caller: Caller;
  readonly context: AuthorizerContext;
  readonly path: VerdictPath;
}

/** What screening a JWT needs: the project's verifier (with its claim rules) and key set. */
export interface ScreeningDeps {
  readonly sessionJwts: SessionJwtVerifier;
  readonly jwksCache: JwksCache;
}

/** What the verdict needs from the container. */
export interface SessionVerdictDeps extends ScreeningDeps {
  readonly config: AuthorizerConfig;
  readonly stytch: StytchClient;
  readonly verdictCache: VerdictCache;
  readonly rejectionCache: RejectionCache;
  /**
   * The clock (epoch ms) for the caches and JWT claims, injected by tests that move time; by default the
   * system clock (and jose's own).
   */
  readonly clock?: () => number;
}

/**
 * Decides who a credential belongs to: the single home of the fallback decision. A JWT is verified locally
 * (jose), and its authentic claims say which caller it is (a member session, an M2M or a Connected-App access
 * token: session-jwt.ts `verifyCaller`) before anything else; only what local verification cannot settle goes to
 * the Stytch API:
 *
 * - opaque session tokens (always: only Stytch knows them, so any credential of a session token's shape
 *   (credentials.ts; anything with a dot is a JWT) reaches Stytch, once per credential and rejection-cache
 *   TTL if Stytch says it is dead);
 * - opaque Connected-App access tokens (`access_token`: the handler's rule decides which opaque credentials are
 *   these) go to Stytch's introspection endpoint instead, never to the session API;
 * - authentic member JWTs that are expired, or older than the configured maximum age;
 * - member JWTs that cannot be checked because no key set could be obtained at all (screened for everything
 *   but their signature first).
 *
 * Machine tokens never reach the session API: an expired one is refused, and without a key set one is a fault.
 * Forged, foreign and malformed JWTs are denied here and never cost a Stytch call while a key set is at hand.
 * @param deadline absolute epoch ms by which any Stytch call must be finished
 * @returns the verdict, synchronously when it comes from the verdict cache
 * @throws a CredentialRejectedError (401) or an UpstreamFaultError (503)
 */
export function decideVerdict(
  credential: Credential,
  deadline: number,
  deps: SessionVerdictDeps,
): Verdict | Promise<Verdict> {
  const cached = deps.verdictCache.get(credential.value, nowOf(deps));
  // The hot path: a repeated credential is answered without an await.
  if (cached) return { caller: cached.caller, context: cached.context, path: "cache" };
  if (credential.kind === "session_token") return authenticateRemotely(credential, deadline, deps);
  if (credential.kind === "access_token") return introspectRemotely(credential, deadline, deps);
  return verifyLocally(credential, deadline, deps);
}

/**
 * Screens a session JWT before it may be sent to Stytch by a handler that always calls Stytch (the
 * refresh endpoint): it must be authentic and one of this project's member sessions; its age does
 * not matter, since exchanging stale JWTs is the point.
 * @throws a CredentialRejectedError for a forged, foreign or malformed JWT
 */
export async function screenSessionJwt(token: string, deps: ScreeningDeps): Promise<void> {
  const key = await keyOf(token, deps);
  // Expired or too old is fine here: only authenticity and tenancy are screened.
  if (key) await deps.sessionJwts.verify(token, key);
}

async function verifyLocally(credential: Credential, deadline: number, deps: SessionVerdictDeps): Promise<Verdict> {
  const token = credential.value;
  const key = await keyOf(token, deps);
  if (!key) return authenticateRemotely(credential, deadline, deps);
  const authentic = await deps.sessionJwts.verifyCaller(
    token,
    key,
    deps.clock === undefined ? undefined : Math.floor(deps.clock() / 1000),
  );
  if (authentic.type === "machine") {
    const { caller, notAfterMs } = authentic;
    const context = machineContextOf(caller);
    deps.verdictCache.set(token, { caller, context, notAfterMs });
    return { caller, context, path: "local" };
  }
  const { jwt } = authentic;
  // Authentic but stale: only Stytch can say whether the session still lives.
  if (jwt.status !== "valid") return authenticateRemotely(credential, deadline, deps);
  const caller: Caller = { type: "member", member: jwt.memberSession };
  const context = contextOf(jwt.memberSession);
  // Admitted on its first verification: the same JWT typically comes back for its whole five minutes.
  deps.verdictCache.set(token, { caller, context, notAfterMs: jwt.notAfterMs });
  return { caller, context, path: "local" };
}

/**
 * The key that signed a token, if it is authentic: the token's strict compact form and header are checked
 * first, then its kid is looked up, in the cached key set or (the slow path) by fetching it.
 * @returns the key, or `undefined` when no key set can be obtained at all; the token was then screened
 *   for everything but its signature
 */
async function keyOf(
  token: string,
  deps: ScreeningDeps & Pick<SessionVerdictDeps, "clock">,
): Promise<VerificationKey | undefined> {
  // One spelling per token, checked before anything else reads it.
  assertCompactJws(token);
  const { kid } = sessionJwtHeader(token);
  const cached = deps.jwksCache.cachedKey(kid);
  if (cached) return cached;
  // Unverified: the iat only decides whether an unknown kid could be a newly published key (503) or
  // not (401), and whether a refetch is worth it. It never yields a key, an Allow or a Stytch call.
  const { payload } = parseSessionJwt(token);
  try {
    return await deps.jwksCache.getKey(kid, timeClaim(payload, "iat") * 1000);
  } catch (error) {
    if (!(error instanceof JwksUnavailableError)) throw error;
    // No key set at all. A token that is not even shaped like one of this project's member sessions
    // is still denied without a Stytch call.
    screenUnverifiedClaims(payload, deps.sessionJwts.rules, Math.floor(nowOf(deps) / 1000));
    return undefined;
  }
}

async function authenticateRemotely(
  credential: Credential,
  deadline: number,
  deps: SessionVerdictDeps,
): Promise<Verdict> {
  if (deps.rejectionCache.has(credential.value, nowOf(deps))) {
    throw new RevokedSessionError("Stytch found no live session for this credential moments ago");
  }
  let response: StytchAuthenticateResponse;
  try {
    response = await deps.stytch.authenticate(
      credential.kind === "session_jwt" ? { session_jwt: credential.value } : { session_token: credential.value },
      { deadline },
    );
  } catch (error) {
    // Only a definitive "no such session" is remembered; faults say nothing about the credential.
    if (error instanceof RevokedSessionError) deps.rejectionCache.add(credential.value, nowOf(deps));
    throw error;
  }
  const memberSession = memberSessionFromStytch(response, credential.kind === "session_jwt" ? "jwt" : "session_token");
  const caller: Caller = { type: "member", member: memberSession };
  const context = contextOf(memberSession);
  // STYTCH_SESSION_TOKEN_CACHE_SECONDS is about opaque session tokens only: a JWT that went to Stytch
  // (expired, too old, strict mode) went there because its answer must not be reused. Stytch's promise
  // for session tokens is that a revoked session is never honoured, so a remote verdict is reused only
  // when an operator opted in, and never past the session's own expiry.
  const ttlSeconds = deps.config.sessionTokenCacheSeconds;
  if (ttlSeconds > 0 && credential.kind === "session_token") {
    const notAfterMs = Math.min(nowOf(deps) + ttlSeconds * 1000, Date.parse(memberSession.sessionExpiresAt) || 0);
    deps.verdictCache.set(credential.value, { caller, context, notAfterMs });
  }
  return { caller, context, path: "remote" };
}

/**
 * An opaque Connected-App access token, introspected by Stytch (`POST /v1/public/{project_id}/oauth2/introspect`,
 * as the configured introspection client). Only an active access token whose claims make a Connected-App caller
 * counts; an inactive one is remembered like a dead session (rejection cache). Its verdict is reused on the same
 * terms as an opaque session token's (STYTCH_SESSION_TOKEN_CACHE_SECONDS, never past the token's expiry).
 */
async function introspectRemotely(
  credential: Credential,
  deadline: number,
  deps: SessionVerdictDeps,
): Promise<Verdict> {
  const clientId = deps.config.introspectionClientId;
  // The handler only makes access tokens when a client is configured: anything else is a bug, never an Allow.
  if (clientId === undefined) throw new ConfigurationError("no introspection client is configured");
  const rejectionKey = `access_token:${credential.value}`;
  if (deps.rejectionCache.has(rejectionKey, nowOf(deps))) {
    throw new InactiveTokenError("Stytch found this access token inactive moments ago");
  }
  let answer: StytchIntrospectionResponse;
  try {
    answer = await deps.stytch.introspect(credential.value, clientId, { deadline });
  } catch (error) {
    if (error instanceof InactiveTokenError) deps.rejectionCache.add(rejectionKey, nowOf(deps));
    throw error;
  }
  // The answer's own fields are no claims of the token (Stytch's SDK strips the same ones).
  const { active: _active, token_type: _type, request_id: _request, status_code: _status, ...claims } = answer;
  const caller = connectedAppCallerOf(claims, answer.exp);
  const context = machineContextOf(caller);
  const ttlSeconds = deps.config.sessionTokenCacheSeconds;
  if (ttlSeconds > 0) {
    const notAfterMs = Math.min(nowOf(deps) + ttlSeconds * 1000, answer.exp * 1000);
    deps.verdictCache.set(credential.value, { caller, context, notAfterMs });
  }
  return { caller, context, path: "remote" };
}

/** A machine caller's context, with a logged reason when its custom claims had to be left out. */
function machineContextOf(caller: MachineCaller): AuthorizerContext {
  const context = machineAuthorizerContext(caller);
  if (context.custom_claims_truncated === true) {
    logger.warn("caller context trimmed to fit API Gateway's limits", {
      reason: "context_too_large",
      customClaimsOmitted: true,
      contextBytes: contextBytes(context),
      callerType: caller.type,
      clientId: caller.clientId,
    });
  }
  return context;
}

function nowOf(deps: Pick<SessionVerdictDeps, "clock">): number {
  return deps.clock === undefined ? Date.now() : deps.clock();
}

/** The member's context, with a logged reason when something had to be left out to fit API Gateway's limits. */
function contextOf(memberSession: MemberSession): AuthorizerContext {
  const context = toAuthorizerContext(memberSession);
  const emailOmitted = memberSession.email !== undefined && context.email === undefined;
  if (context.custom_claims_truncated === true || emailOmitted) {
    logger.warn("member context trimmed to fit API Gateway's limits", {
      reason: "context_too_large",
      customClaimsOmitted: context.custom_claims_truncated === true,
      emailOmitted,
      contextBytes: contextBytes(context),
      memberId: memberSession.memberId,
      organizationId: memberSession.organizationId,
    });
  }
  return context;
}

/** Maps Stytch's authenticate response to a MemberSession. */
export function memberSessionFromStytch(response: StytchAuthenticateResponse, authMethod: AuthMethod): MemberSession {
  const session = response.member_session;
  const email = response.member?.email_address ?? emailOf(session.authentication_factors);
  const customClaims = session.custom_claims;
  const authenticationFactors = readAuthenticationFactors(session.authentication_factors);
  const impersonatorId = impersonatorOf(authenticationFactors);
  return {
    memberId: session.member_id,
    memberSessionId: session.member_session_id,
    organizationId: session.organization_id,
    organizationSlug: session.organization_slug ?? response.organization?.organization_slug ?? "",
    roles: Array.isArray(session.roles) ? session.roles.filter((role) => typeof role === "string") : [],
    authMethod,
    sessionExpiresAt: session.expires_at,
    ...(typeof email === "string" && email !== "" ? { email } : {}),
    customClaims:
      typeof customClaims === "object" && customClaims !== null && !Array.isArray(customClaims) ? customClaims : {},
    authenticationFactors,
    ...(impersonatorId !== undefined ? { impersonatorId } : {}),
  };
}
