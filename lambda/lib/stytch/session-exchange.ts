// `POST /v1/b2b/sessions/exchange` (see SessionExchangeClient): in a module of its own, so that only the organization
// switch bundles it.

import {
  OrganizationSwitchRefusedError,
  RejectedByStytchError,
  RevokedSessionError,
  UpstreamUnavailableError,
} from "../errors";
import {
  isAuthenticateResponse,
  type SessionCredential,
  type StytchAnswer,
  type StytchAuthenticateResponse,
  StytchClient,
  type StytchMemberSession,
} from "./stytch-client";

/** Options of one exchange call (`POST /v1/b2b/sessions/exchange`). */
export interface ExchangeOptions {
  /** Absolute deadline (epoch ms) for the call. */
  readonly deadline: number;
  /** Lifetime of the new session, now + N minutes (5 … 527040). Omitted: Stytch's default for a new session, 60. */
  readonly sessionDurationMinutes?: number;
  /** Language of the SMS passcode Stytch sends when the organization requires MFA (e.g. `en`). */
  readonly locale?: string;
}

/** Stytch's `mfa_required`: how the member can complete MFA (fields we pass on). */
export interface StytchMfaRequired {
  readonly member_options?: { readonly mfa_phone_number?: string; readonly totp_registration_id?: string } | null;
  /** `sms_otp` when Stytch has already sent a passcode to the member's phone. */
  readonly secondary_auth_initiated?: string | null;
}

/** Stytch's `primary_required`: the primary authentication the organization still asks for. */
export interface StytchPrimaryRequired {
  readonly allowed_auth_methods: readonly string[];
}

/** A 200 of exchange with `member_authenticated: true`: a full session in the organization asked for. */
export interface StytchExchangeSwitched {
  readonly member_authenticated: true;
  readonly member_id: string;
  readonly member_session: StytchMemberSession;
  readonly session_jwt: string;
  readonly session_token?: string;
  readonly organization?: StytchAuthenticateResponse["organization"];
}

/**
 * A 200 of exchange with `member_authenticated: false`: the organization asks for more than the session's factors
 * (MFA, or another primary method). No session exists in it yet; the intermediate session token carries the
 * transferable factors to Stytch's MFA (or primary) authenticate call.
 */
export interface StytchExchangeIntermediate {
  readonly member_authenticated: false;
  readonly member_id: string;
  readonly intermediate_session_token: string;
  readonly intermediate_session_token_expires_at?: string;
  readonly organization: { readonly organization_id: string; readonly organization_slug?: string };
  readonly mfa_required?: StytchMfaRequired | null;
  readonly primary_required?: StytchPrimaryRequired | null;
}

/** The 200 response of `POST /v1/b2b/sessions/exchange` (fields we use), by `member_authenticated`. */
export type StytchExchangeResponse = StytchExchangeSwitched | StytchExchangeIntermediate;

// Stytch error types of exchange that say the CALLER's session credential is bad or dead (401). Any other 4xx of
// exchange is a refusal of the switch itself (403): the session stays alive. UNVERIFIED: which types exchange
// emits; the names come from Stytch's error enum (docs/organization-switch.md).
const DEAD_SESSION_ERRORS = new Set([
  "session_not_found",
  "unable_to_parse_session_jwt",
  "jwt_invalid_audience",
  "jwt_invalid_claims",
  "jwt_invalid_issuer",
  "invalid_session_token",
  "invalid_session_id",
]);

/** The Stytch client, plus sessions.exchange: what the organization switch talks to. */
export class SessionExchangeClient extends StytchClient {
  /**
   * Exchanges a member session for one in another organization of the same member (`POST
   * /v1/b2b/sessions/exchange`). One attempt, never retried and never coalesced: each call may create a session, or
   * send the member an SMS passcode.
   * @param organizationId the target organization's ID (already checked for shape)
   * @returns a session in the organization, or the intermediate session token when it asks for more factors
   * @throws a CredentialRejectedError when Stytch says the session is dead or the credential bad (401), an
   *   OrganizationSwitchRefusedError for any other 4xx (403), an UpstreamFaultError otherwise (503)
   */
  exchange(
    organizationId: string,
    credential: SessionCredential,
    options: ExchangeOptions,
  ): Promise<StytchExchangeResponse> {
    const body = JSON.stringify({
      organization_id: organizationId,
      ...credential,
      ...(options.sessionDurationMinutes === undefined
        ? {}
        : { session_duration_minutes: options.sessionDurationMinutes }),
      ...(options.locale === undefined ? {} : { locale: options.locale }),
    });
    return this.call("/v1/b2b/sessions/exchange", body, options.deadline, 1, (answer) =>
      exchangeAnswer(answer, organizationId),
    );
  }
}

/**
 * `POST /v1/b2b/sessions/exchange`: a session in the organization asked for, the intermediate session token of one
 * that asks for more factors, or why Stytch refused. A 200 that is neither, or that names another organization, is
 * a fault: never half a session, never a session elsewhere.
 */
function exchangeAnswer({ status, json, errorType }: StytchAnswer, organizationId: string): StytchExchangeResponse {
  if (status === 200) {
    const answer = json as Record<string, unknown> | undefined;
    if (answer?.member_authenticated === true && isAuthenticateResponse(answer)) {
      if (typeof answer.session_jwt !== "string" || answer.session_jwt === "")
        throw new UpstreamUnavailableError("Stytch switched the session but answered without a session JWT");
      if (answer.member_session.organization_id !== organizationId)
        throw new UpstreamUnavailableError("Stytch answered a session in another organization than the one asked for");
      return answer as unknown as StytchExchangeSwitched;
    }
    if (answer?.member_authenticated === false && isIntermediateAnswer(answer)) {
      if (answer.organization.organization_id !== organizationId)
        throw new UpstreamUnavailableError("Stytch answered for another organization than the one asked for");
      return answer;
    }
    throw new UpstreamUnavailableError("Stytch answered 200 without a session or an intermediate session token");
  }
  if (status === 404 && errorType === "session_not_found")
    throw new RevokedSessionError(`Stytch has no such live session (${errorType})`);
  if (status >= 400 && status < 500) {
    if (DEAD_SESSION_ERRORS.has(errorType))
      throw new RejectedByStytchError(`Stytch refused the session (${status} ${errorType})`);
    throw new OrganizationSwitchRefusedError(`Stytch refused the organization switch (${status} ${errorType})`);
  }
  throw new UpstreamUnavailableError(`Stytch answered an unexpected ${status}`);
}

function isIntermediateAnswer(
  value: Record<string, unknown>,
): value is Record<string, unknown> & StytchExchangeIntermediate {
  const organization = value.organization as { organization_id?: unknown } | null | undefined;
  const mfa = value.mfa_required;
  const primary = value.primary_required as { allowed_auth_methods?: unknown } | null | undefined;
  return (
    typeof value.intermediate_session_token === "string" &&
    value.intermediate_session_token !== "" &&
    typeof value.member_id === "string" &&
    typeof organization?.organization_id === "string" &&
    (mfa === undefined || mfa === null || (typeof mfa === "object" && !Array.isArray(mfa))) &&
    (primary === undefined ||
      primary === null ||
      (Array.isArray(primary.allowed_auth_methods) &&
        primary.allowed_auth_methods.every((method) => typeof method === "string")))
  );
}
