// `POST /v1/b2b/sessions/exchange` (docs/organization-switch.md): a member's live session exchanged for a session
// of the same person (the same email address) in another organization, or, where that organization requires MFA,
// an intermediate session token instead.

import { randomBytes } from "node:crypto";
import type { CallCounters } from "./call-counters";
import type { JsonObject } from "./json";
import { memberObject, type Organizations, organizationObject } from "./organizations";
import type { Project } from "./project";
import { optionalString, parseJsonBody, parseJsonOrRaw } from "./request-body";
import type { Route } from "./router";
import {
  liveSession,
  memberSessionObject,
  parseCustomClaimsPatch,
  parseSessionDuration,
  sessionArguments,
} from "./session-endpoints";
import { mergeCustomClaims } from "./session-record";
import type { Sessions } from "./sessions";
import { StytchApiError } from "./stytch-api-error";
import { nowSeconds, rfc3339 } from "./time";

const EXCHANGE_PATH = "/v1/b2b/sessions/exchange";
/** Lifetime of a session exchange creates when the request names none (the SDK's doc comment: 60 minutes). */
const DEFAULT_SESSION_MINUTES = 60;
/** Lifetime of an intermediate session token (the SDK's doc comment: "a default expiry of 10 minutes"). */
const INTERMEDIATE_SESSION_SECONDS = 600;

/** What the exchange endpoint works with. */
export interface SessionExchangeContext {
  sessions: Sessions;
  organizations: Organizations;
  project: Project;
  /** Where exchange requests are logged. */
  counters: CallCounters;
}

/** `POST /v1/b2b/sessions/exchange`; requests are logged. */
export function sessionExchangeRoute(context: SessionExchangeContext): Route {
  return {
    method: "POST",
    path: EXCHANGE_PATH,
    counter: "exchange",
    faultSwitch: "exchange",
    credentials: "project",
    onReceived({ rawBody, authorization }) {
      context.counters.exchangeRequests.push({ body: parseJsonOrRaw(rawBody), authorization });
    },
    handle: ({ rawBody }) => exchange(context, parseJsonBody(rawBody)),
  };
}

function exchange({ sessions, organizations, project }: SessionExchangeContext, body: JsonObject): JsonObject {
  const target = optionalString(body, "organization_id");
  // UNVERIFIED: the error (status and type) for a missing organization_id; the name is in Stytch's error enum.
  if (target === undefined)
    throw new StytchApiError(400, "invalid_organization_id", "organization_id must be provided.");
  const credential = sessionArguments(body);
  const durationMinutes = parseSessionDuration(body.session_duration_minutes);
  const claimsPatch = parseCustomClaimsPatch(body.session_custom_claims);
  optionalString(body, "locale"); // accepted, and used for nothing: the emulator sends no SMS

  const now = nowSeconds();
  const session = liveSession(sessions, credential, now);
  // Stytch takes an organization ID, or as a convenience its slug (the SDK's doc comment; external IDs are not
  // emulated). UNVERIFIED: the status of both errors below (404); their names are in Stytch's error enum.
  const organization = organizations.organizationByIdOrSlug(target);
  if (organization === undefined)
    throw new StytchApiError(404, "organization_not_found", "Organization could not be found.");
  // The same person in another organization is the member with the same email address there.
  const { member: current } = sessions.ownersOf(session);
  const member = organizations.memberByEmail(organization, current.email);
  if (member === undefined) throw new StytchApiError(404, "member_not_found", "Member could not be found.");

  const answer = {
    request_id: project.newId("request-id"),
    status_code: 200,
    member_id: member.memberId,
    member: memberObject(member),
    organization: organizationObject(organization),
  };
  // Only the email factor transfers between organizations here (Stytch also transfers OAuth and SMS OTP factors),
  // and it is never an MFA factor: an organization that requires MFA gets an intermediate session token.
  if (organization.mfaPolicy === "REQUIRED_FOR_ALL") {
    return {
      ...answer,
      member_authenticated: false,
      intermediate_session_token: randomBytes(33).toString("base64url"),
      intermediate_session_token_expires_at: rfc3339(now + INTERMEDIATE_SESSION_SECONDS),
      session_token: "",
      session_jwt: "",
      member_session: null,
      // UNVERIFIED: member_options of a member without MFA enrolled (Stytch may send null); no OTP is sent.
      mfa_required: {
        member_options: { mfa_phone_number: "", totp_registration_id: "" },
        secondary_auth_initiated: null,
      },
      primary_required: null,
    };
  }
  // UNVERIFIED: whether the session given is revoked by the exchange; the emulator leaves it alive.
  const exchanged = sessions.start(member, now, {
    expiresAt: now + (durationMinutes ?? DEFAULT_SESSION_MINUTES) * 60,
    authenticatedAt: session.authenticatedAt,
    customClaims: claimsPatch === undefined ? {} : mergeCustomClaims({}, claimsPatch),
  });
  return {
    ...answer,
    member_authenticated: true,
    intermediate_session_token: "",
    member_session: memberSessionObject(exchanged, sessions),
    session_token: exchanged.sessionToken,
    session_jwt: sessions.mint(exchanged, { iat: now }),
    mfa_required: null,
    primary_required: null,
  };
}
