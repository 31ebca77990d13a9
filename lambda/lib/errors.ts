// The small failure tree of the authorizer (see AuthorizerError).

import type { DecisionOutcome } from "./operations/metric-names";

/** Stable, token-free reason codes, written to logs for every denial and fault. */
export type ReasonCode =
  // denials (401)
  | "missing_credential"
  | "malformed"
  | "unsupported_algorithm"
  | "unknown_kid"
  | "bad_signature"
  | "wrong_issuer"
  | "wrong_audience"
  | "not_yet_valid"
  | "not_member_session"
  | "revoked"
  | "rejected_by_stytch"
  // denials of machine tokens (401): the claims say no single caller type, or not a well-formed one
  | "ambiguous_token"
  | "malformed_scope"
  | "malformed_client_id"
  | "malformed_claims"
  | "expired_token"
  | "inactive_token"
  // refusals of a valid caller (403): the route's permission, organization or caller type is not theirs, the
  // session does not meet the route's step-up requirements (lambda/lib/permissions/step-up.ts), or Stytch
  // refused to switch the session to the organization asked for
  | "permission_denied"
  | "tenancy_mismatch"
  | "caller_not_accepted"
  | "step_up_required"
  | "impersonation_refused"
  | "organization_switch_refused"
  // unproven (503, retryable; not a fault): a credential that could not be checked yet
  | "kid_not_yet_known"
  // faults (503)
  | "upstream_unavailable"
  | "upstream_rate_limited"
  | "upstream_timeout"
  | "upstream_credentials_rejected"
  | "jwks_unavailable"
  | "secret_unavailable"
  | "bad_config"
  | "bad_event"
  | "rbac_policy_unavailable"
  | "policy_too_large"
  // a bug: never expected, still never an Allow
  | "internal_error";

/** Options of an {@link AuthorizerError}: what it was made from, and for a fault whether it is retryable. */
export interface AuthorizerErrorOptions {
  /** The error this one was made from (the standard `Error` cause). */
  readonly cause?: unknown;
  /** See {@link AuthorizerError.retryable}. @default false */
  readonly retryable?: boolean;
}

/**
 * Root of every failure the authorizer produces on purpose: the small failure tree. Every leaf says what
 * failed and carries a stable reason code for logs. The two branches decide what API Gateway answers:
 *
 * ```text
 * AuthorizerError
 * ├── CredentialRejectedError      → throw "Unauthorized" → 401 (the caller must sign in again)
 * ├── MemberRefusedError           → 403 from the session endpoints: a valid member refused what they asked
 * │                                  for; the session and its cookies stay as they are
 * └── UpstreamFaultError           → any other error      → 500, mapped to 503 by the stack's gateway
 *     │                                                      responses (an outage must never log users out)
 *     └── UnprovenCredentialError  → answered the same (503, retryable), but counted as outcome
 *                                    `unproven`, not `fault`: the credential proved nothing, and
 *                                    nothing we depend on is known to have failed
 * ```
 *
 * Messages never contain a credential, a cookie or a secret.
 */
export abstract class AuthorizerError extends Error {
  /**
   * The class's own name, spelled out in every concrete class: the handler bundles are minified, and a
   * name taken from the constructor (`new.target.name`) would read `"e"` in the deployed logs.
   */
  abstract override readonly name: string;
  /** The stable reason code logged for this failure. */
  abstract readonly reason: ReasonCode;
  /**
   * Whether one more attempt, at once and within the same request's deadline, may succeed: a fast,
   * transient failure (Stytch unreachable, an answer cut off, a 5xx). Set where the fault is made; the
   * Stytch client retries only these. Never true for a denial, a timeout (the budget is spent) or a 429
   * (retrying makes rate limiting worse). Unrelated to whether the API's caller may try again later:
   * every fault is a 503 it may retry.
   */
  readonly retryable: boolean;

  constructor(message: string, options?: AuthorizerErrorOptions) {
    super(message, options);
    this.retryable = options?.retryable ?? false;
  }
}

/** The credential is absent, forged, malformed, or names a dead session: the caller gets 401. Never retryable. */
export abstract class CredentialRejectedError extends AuthorizerError {
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A valid member asked for something they may not have (403, never 401, never an Allow): the session is alive and
 * stays as it is. The authorizer answers its own refusals (the route table) without throwing; the session
 * endpoints throw these.
 */
export abstract class MemberRefusedError extends AuthorizerError {}

/**
 * Stytch refused to exchange the member's session for one in the organization asked for (a 4xx that does not say
 * the session is dead: not a member there, no such organization, factors that do not transfer, …).
 */
export class OrganizationSwitchRefusedError extends MemberRefusedError {
  readonly name = "OrganizationSwitchRefusedError";
  readonly reason = "organization_switch_refused";
}

/** Something the authorizer depends on failed; the caller is not at fault: 503, never 401, never Allow. */
export abstract class UpstreamFaultError extends AuthorizerError {}

/**
 * A credential that cannot be judged yet, although nothing we depend on is known to have failed: answered like a
 * fault (retryable 503, never 401, never Allow), but counted and logged as outcome `unproven`. Anyone can send one
 * (a JWT with an invented kid and a fresh iat), so it must never move an alarm meant for "we are failing our users".
 */
export abstract class UnprovenCredentialError extends UpstreamFaultError {}

export class MissingCredentialError extends CredentialRejectedError {
  readonly name = "MissingCredentialError";
  readonly reason = "missing_credential";
}

export class MalformedCredentialError extends CredentialRejectedError {
  readonly name = "MalformedCredentialError";
  readonly reason = "malformed";
}

export class UnsupportedAlgorithmError extends CredentialRejectedError {
  readonly name = "UnsupportedAlgorithmError";
  readonly reason = "unsupported_algorithm";
}

export class UnknownKeyError extends CredentialRejectedError {
  readonly name = "UnknownKeyError";
  readonly reason = "unknown_kid";
}

export class BadSignatureError extends CredentialRejectedError {
  readonly name = "BadSignatureError";
  readonly reason = "bad_signature";
}

export class WrongIssuerError extends CredentialRejectedError {
  readonly name = "WrongIssuerError";
  readonly reason = "wrong_issuer";
}

export class WrongAudienceError extends CredentialRejectedError {
  readonly name = "WrongAudienceError";
  readonly reason = "wrong_audience";
}

export class NotYetValidError extends CredentialRejectedError {
  readonly name = "NotYetValidError";
  readonly reason = "not_yet_valid";
}

/** Authentic, but not a B2B member session (e.g. an M2M token signed with the same project keys). */
export class NotMemberSessionError extends CredentialRejectedError {
  readonly name = "NotMemberSessionError";
  readonly reason = "not_member_session";
}

/**
 * The claims fit more than one caller type: session claims next to client claims (`client_id`, `scope`), or an
 * M2M token with an organization. Such a token is refused rather than read as either.
 */
export class AmbiguousTokenError extends CredentialRejectedError {
  readonly name = "AmbiguousTokenError";
  readonly reason = "ambiguous_token";
}

/** A machine token whose `scope` is not a string of space-separated scopes. */
export class MalformedScopeError extends CredentialRejectedError {
  readonly name = "MalformedScopeError";
  readonly reason = "malformed_scope";
}

/** A machine token whose client id (an M2M token's `sub`, a Connected-App token's `client_id`) is not one. */
export class MalformedClientIdError extends CredentialRejectedError {
  readonly name = "MalformedClientIdError";
  readonly reason = "malformed_client_id";
}

/** A machine token without a claim its type requires (a Connected-App token's member or organization). */
export class MalformedClaimsError extends CredentialRejectedError {
  readonly name = "MalformedClaimsError";
  readonly reason = "malformed_claims";
}

/**
 * An authentic machine token past its `exp`. Unlike a session JWT, it has no session behind it that Stytch
 * could still vouch for: it is refused, never sent to the Stytch session API.
 */
export class ExpiredTokenError extends CredentialRejectedError {
  readonly name = "ExpiredTokenError";
  readonly reason = "expired_token";
}

/** Stytch's introspection says the opaque token is not an active Connected-App access token. */
export class InactiveTokenError extends CredentialRejectedError {
  readonly name = "InactiveTokenError";
  readonly reason = "inactive_token";
}

/** Stytch says the session does not exist any more (revoked or expired): 404 `session_not_found`. */
export class RevokedSessionError extends CredentialRejectedError {
  readonly name = "RevokedSessionError";
  readonly reason = "revoked";
}

/** Stytch refused the credential with another 4xx (e.g. 400 `unable_to_parse_session_jwt`). */
export class RejectedByStytchError extends CredentialRejectedError {
  readonly name = "RejectedByStytchError";
  readonly reason = "rejected_by_stytch";
}

/** Stytch answered 5xx, an unreadable body, or could not be reached. */
export class UpstreamUnavailableError extends UpstreamFaultError {
  readonly name = "UpstreamUnavailableError";
  readonly reason = "upstream_unavailable";
}

/** Stytch answered 429: our project is rate limited. */
export class UpstreamRateLimitedError extends UpstreamFaultError {
  readonly name = "UpstreamRateLimitedError";
  readonly reason = "upstream_rate_limited";
}

/** Stytch did not answer within the request's deadline. */
export class UpstreamTimeoutError extends UpstreamFaultError {
  readonly name = "UpstreamTimeoutError";
  readonly reason = "upstream_timeout";
}

/** Stytch rejected OUR project credentials (wrong secret, wrong project): a configuration fault, not the caller's. */
export class UpstreamCredentialsRejectedError extends UpstreamFaultError {
  readonly name = "UpstreamCredentialsRejectedError";
  readonly reason = "upstream_credentials_rejected";
}

/** No usable key set could be obtained (and none is cached). */
export class JwksUnavailableError extends UpstreamFaultError {
  readonly name = "JwksUnavailableError";
  readonly reason = "jwks_unavailable";
}

/**
 * The JWT's kid is not in our key set, but the key set may predate the token (a key Stytch has just
 * published), and it was refetched moments ago: retryable, never a 401 (that would log the member out).
 * Unproven, not a fault: an invented kid looks exactly like this. A real rotation shows as the refetch
 * finding the new key (the `KeySetRotations` metric).
 */
export class KeyNotYetKnownError extends UnprovenCredentialError {
  readonly name = "KeyNotYetKnownError";
  readonly reason = "kid_not_yet_known";
}

/** The project secret could not be read from Secrets Manager. */
export class SecretUnavailableError extends UpstreamFaultError {
  readonly name = "SecretUnavailableError";
  readonly reason = "secret_unavailable";
}

/** The environment configuration is invalid; the authorizer refuses every request until it is fixed. */
export class ConfigurationError extends UpstreamFaultError {
  readonly name = "ConfigurationError";
  readonly reason = "bad_config";
}

/** The event is not one API Gateway sends to an authorizer (no parsable method or route ARN). */
export class UnsupportedEventError extends UpstreamFaultError {
  readonly name = "UnsupportedEventError";
  readonly reason = "bad_event";
}

/** No RBAC policy could be obtained from Stytch and none is cached: per-route permissions cannot be decided. */
export class RbacPolicyUnavailableError extends UpstreamFaultError {
  readonly name = "RbacPolicyUnavailableError";
  readonly reason = "rbac_policy_unavailable";
}

/** The member's per-route IAM policy cannot be made small enough for API Gateway, even merged. */
export class IamPolicyTooLargeError extends UpstreamFaultError {
  readonly name = "IamPolicyTooLargeError";
  readonly reason = "policy_too_large";
}

/**
 * The `outcome` a failure is counted and logged as (metrics and log line alike): `deny` for a rejected credential
 * (401), `forbidden` for a refused member (403), `unproven` for a credential that proved nothing yet (503), `fault`
 * for everything else (503).
 */
export function failureOutcome(error: unknown): Extract<DecisionOutcome, "deny" | "forbidden" | "unproven" | "fault"> {
  if (error instanceof CredentialRejectedError) return "deny";
  if (error instanceof MemberRefusedError) return "forbidden";
  return error instanceof UnprovenCredentialError ? "unproven" : "fault";
}
