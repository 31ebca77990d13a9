// The sessions endpoints of the API: authenticate (reference §2) and revoke (§2.5), with the
// `member_session` object in Stytch's wire format and the checks of their request bodies.

import type { CallCounters } from "./call-counters";
import { isJsonObject, type JsonObject } from "./json";
import { memberObject, type Organizations, organizationObject } from "./organizations";
import type { Project } from "./project";
import { optionalString, parseJsonBody, parseJsonOrRaw } from "./request-body";
import type { Route } from "./router";
import { authenticationFactors } from "./session-jwt";
import { isActive, mergeCustomClaims, type SessionRecord } from "./session-record";
import type { Sessions } from "./sessions";
import { StytchApiError } from "./stytch-api-error";
import { nowSeconds, rfc3339 } from "./time";

const AUTHENTICATE_PATH = "/v1/b2b/sessions/authenticate";
const REVOKE_PATH = "/v1/b2b/sessions/revoke";
const MIN_SESSION_DURATION_MINUTES = 5;
const MAX_SESSION_DURATION_MINUTES = 527_040;

const sessionNotFound = (): StytchApiError =>
  new StytchApiError(404, "session_not_found", "Session could not be found.");

/** What the sessions endpoints work with. */
export interface SessionEndpointsContext {
  sessions: Sessions;
  organizations: Organizations;
  project: Project;
  /** Where authenticate requests are logged. */
  counters: CallCounters;
}

/** `POST /v1/b2b/sessions/authenticate` and `POST /v1/b2b/sessions/revoke`; authenticate requests are logged. */
export function sessionRoutes(context: SessionEndpointsContext): Route[] {
  const { counters } = context;
  return [
    {
      method: "POST",
      path: AUTHENTICATE_PATH,
      counter: "authenticate",
      faultSwitch: "authenticate",
      credentials: "project",
      onReceived({ rawBody, authorization }) {
        counters.authenticateRequests.push({ body: parseJsonOrRaw(rawBody), authorization });
      },
      handle: ({ rawBody }) => authenticate(context, parseJsonBody(rawBody)),
    },
    {
      method: "POST",
      path: REVOKE_PATH,
      counter: "revoke",
      credentials: "project",
      handle: ({ rawBody }) => revoke(context, parseJsonBody(rawBody)),
    },
  ];
}

/** `POST /v1/b2b/sessions/authenticate`, reference §2. */
function authenticate({ sessions, project }: SessionEndpointsContext, body: JsonObject): JsonObject {
  const credential = sessionArguments(body);
  const durationMinutes = parseSessionDuration(body.session_duration_minutes);
  const claimsPatch = parseCustomClaimsPatch(body.session_custom_claims);
  // authorization_check is accepted but not evaluated: no `verdict` in the answer and never a 403 (reference §2.2,
  // §3.3), although the emulator serves the RBAC policies such a check needs. The authorizer never sends one; the
  // SDK's authenticateJwt fallback would (the differential tests use authenticateJwtLocal only).

  const now = nowSeconds();
  const session = liveSession(sessions, credential, now);

  session.lastAccessedAt = now;
  // Stytch *sets* the lifetime to now + N ("extends" in the docs), so a smaller N can also shorten it.
  if (durationMinutes !== undefined) session.expiresAt = now + durationMinutes * 60;
  if (claimsPatch !== undefined) session.customClaims = mergeCustomClaims(session.customClaims, claimsPatch);

  const { member, organization } = sessions.ownersOf(session);
  return {
    request_id: project.newId("request-id"),
    status_code: 200,
    member_session: memberSessionObject(session, sessions),
    // UNVERIFIED: whether session_token is returned when authenticating with only a JWT; the emulator returns it.
    session_token: session.sessionToken,
    session_jwt: sessions.mint(session, { iat: now }),
    member: memberObject(member),
    organization: organizationObject(organization),
  };
}

/** The session argument of a request body: exactly one of `session_token` and `session_jwt`. */
export function sessionArguments(body: JsonObject): { sessionToken: string } | { sessionJwt: string } {
  const sessionToken = optionalString(body, "session_token");
  const sessionJwt = optionalString(body, "session_jwt");
  // UNVERIFIED: status 400 for both errors (the error_type names come from the reference).
  if (sessionToken !== undefined && sessionJwt !== undefined) {
    throw new StytchApiError(
      400,
      "too_many_session_arguments",
      "Only one of session_token or session_jwt may be provided.",
    );
  }
  if (sessionToken !== undefined) return { sessionToken };
  if (sessionJwt !== undefined) return { sessionJwt };
  throw new StytchApiError(400, "no_session_arguments", "One of session_token or session_jwt must be provided.");
}

/**
 * The live session a session argument names; 404 `session_not_found` otherwise (revoked and expired sessions are
 * indistinguishable from unknown ones, reference §3.3, "likely"). A JWT the API cannot read is its 400.
 */
export function liveSession(
  sessions: Sessions,
  credential: { sessionToken: string } | { sessionJwt: string },
  now: number,
): SessionRecord {
  const session =
    "sessionToken" in credential ? sessions.byToken(credential.sessionToken) : sessions.fromJwt(credential.sessionJwt);
  if (session === undefined || !isActive(session, now)) throw sessionNotFound();
  return session;
}

/** `POST /v1/b2b/sessions/revoke`, reference §2.5. */
function revoke({ sessions, organizations, project }: SessionEndpointsContext, body: JsonObject): JsonObject {
  const memberSessionId = optionalString(body, "member_session_id");
  const sessionToken = optionalString(body, "session_token");
  const sessionJwt = optionalString(body, "session_jwt");
  const memberId = optionalString(body, "member_id");
  const now = nowSeconds();
  // UNVERIFIED: precedence when several are given; the emulator uses the first in the order the SDK lists them.
  if (memberSessionId !== undefined || sessionToken !== undefined || sessionJwt !== undefined) {
    const session =
      memberSessionId !== undefined
        ? sessions.byId(memberSessionId)
        : sessionToken !== undefined
          ? sessions.byToken(sessionToken)
          : sessions.fromJwt(sessionJwt!);
    if (session === undefined || !isActive(session, now)) throw sessionNotFound();
    session.revoked = true;
  } else if (memberId !== undefined) {
    // UNVERIFIED: unknown member → 404 member_not_found; a known member without sessions → 200 (idempotent).
    if (organizations.member(memberId) === undefined) {
      throw new StytchApiError(404, "member_not_found", "Member could not be found.");
    }
    for (const session of sessions.ofMember(memberId)) session.revoked = true;
  } else {
    throw new StytchApiError(
      400,
      "no_session_arguments",
      "One of member_session_id, session_token, session_jwt or member_id must be provided.",
    );
  }
  return { request_id: project.newId("request-id"), status_code: 200 };
}

/** The `member_session` object of reference §2.2. */
export function memberSessionObject(session: SessionRecord, sessions: Sessions): JsonObject {
  const { member, organization } = sessions.ownersOf(session);
  return {
    member_session_id: session.memberSessionId,
    member_id: session.memberId,
    organization_id: organization.organizationId,
    organization_slug: organization.slug,
    started_at: rfc3339(session.startedAt),
    last_accessed_at: rfc3339(session.lastAccessedAt),
    expires_at: rfc3339(session.expiresAt),
    authentication_factors: authenticationFactors(session, member, true),
    roles: [...member.roles],
    custom_claims: { ...session.customClaims },
  };
}

/** `session_duration_minutes`: undefined when absent; 400 outside 5 … 527040. */
export function parseSessionDuration(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < MIN_SESSION_DURATION_MINUTES ||
    value > MAX_SESSION_DURATION_MINUTES
  ) {
    // UNVERIFIED: status 400 (the error_type name comes from the reference).
    throw new StytchApiError(
      400,
      "invalid_session_duration_minutes",
      `session_duration_minutes must be an integer between ${MIN_SESSION_DURATION_MINUTES} and ${MAX_SESSION_DURATION_MINUTES}.`,
    );
  }
  return value;
}

/** `session_custom_claims`: undefined when absent; 400 when not an object. */
export function parseCustomClaimsPatch(value: unknown): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  // UNVERIFIED: error_type for non-object custom claims; the 4 KB size limit is not emulated.
  if (!isJsonObject(value)) {
    throw new StytchApiError(400, "invalid_request", "session_custom_claims must be a JSON object.");
  }
  return value;
}
