// B2B session JWTs (reference §5): their claims, as Stytch mints them, and their check by the API, which
// ignores `exp` and `nbf` (the API exists to refresh expired JWTs).

import { factorObject } from "./authentication-factors";
import { isJsonObject, type JsonObject } from "./json";
import type { MemberRecord, OrganizationRecord } from "./organizations";
import type { Project } from "./project";
import type { SessionRecord } from "./session-record";
import type { SigningKeys } from "./signing-keys";
import { StytchApiError } from "./stytch-api-error";
import { nowSeconds, rfc3339 } from "./time";

const SESSION_CLAIM = "https://stytch.com/session";
const ORGANIZATION_CLAIM = "https://stytch.com/organization";

/** Overrides of a session JWT's time claims (epoch seconds); by default `iat` is now. */
export interface SessionJwtTimes {
  iat?: number;
  exp?: number;
  nbf?: number;
}

/** The B2B session-JWT payload of reference §5.1/§5.2, in Stytch's claim order. */
export function sessionJwtPayload(
  session: SessionRecord,
  member: MemberRecord,
  organization: OrganizationRecord,
  project: Project,
  lifetimeSeconds: number,
  times: SessionJwtTimes,
): JsonObject {
  const iat = times.iat ?? nowSeconds();
  return {
    iss: project.issuer,
    aud: [project.projectId],
    sub: member.memberId,
    iat,
    nbf: times.nbf ?? iat,
    exp: times.exp ?? iat + lifetimeSeconds,
    [SESSION_CLAIM]: {
      id: session.memberSessionId,
      started_at: rfc3339(session.startedAt),
      last_accessed_at: rfc3339(session.lastAccessedAt),
      expires_at: rfc3339(session.expiresAt), // the SESSION expiry, not the JWT's
      attributes: { user_agent: "", ip_address: "" },
      authentication_factors: authenticationFactors(session, member, false),
      // Roles are read from the member at mint time, so role changes reach existing sessions on the next JWT.
      roles: [...member.roles],
    },
    [ORGANIZATION_CLAIM]: {
      organization_id: organization.organizationId,
      slug: organization.slug, // `slug`, not `organization_slug` (reference §5.2)
    },
    ...session.customClaims,
  };
}

/** The session's factors in Stytch's wire format; the API's objects carry created_at/updated_at, the JWT's do not (§5.1). */
export function authenticationFactors(
  session: SessionRecord,
  member: MemberRecord,
  withTimestamps: boolean,
): JsonObject[] {
  return session.factors === undefined
    ? [authenticationFactor(session, member, withTimestamps)]
    : session.factors.map((factor) => factorObject(factor, member, withTimestamps));
}

/** An email magic-link factor; the API object carries created_at/updated_at, the JWT copy does not (§5.1). */
export function authenticationFactor(
  session: SessionRecord,
  member: MemberRecord,
  withTimestamps: boolean,
): JsonObject {
  const at = rfc3339(session.authenticatedAt);
  return {
    type: "magic_link",
    delivery_method: "email",
    last_authenticated_at: at,
    ...(withTimestamps ? { created_at: at, updated_at: at } : {}),
    email_factor: { email_id: member.emailId, email_address: member.email },
  };
}

// UNVERIFIED: status 400 for every session-JWT the emulator cannot parse or whose signature does not verify.
const unparseableJwt = (): StytchApiError =>
  new StytchApiError(400, "unable_to_parse_session_jwt", "Unable to parse the session JWT.");

/**
 * Checks a session JWT the way the API does, which differs from local verification: `exp` and `nbf` are ignored,
 * but the signature (by any project key, retired ones included), algorithm, issuer and audience must hold, and
 * the session claim must name a session. Throws the API's 400 errors; returns the claims that name the session.
 */
export function readSessionJwt(
  jwt: string,
  keys: SigningKeys,
  project: Project,
): { memberSessionId: string; sub: unknown } {
  const verified = keys.verify(jwt);
  if (verified === undefined) throw unparseableJwt();
  const { payload } = verified;
  // UNVERIFIED: statuses (400) of the issuer/audience/claims errors; the names come from the reference.
  if (payload.iss !== project.issuer) {
    throw new StytchApiError(400, "jwt_invalid_issuer", "The session JWT has an invalid issuer.");
  }
  const audience = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audience.includes(project.projectId)) {
    throw new StytchApiError(400, "jwt_invalid_audience", "The session JWT has an invalid audience.");
  }
  const sessionClaim = payload[SESSION_CLAIM];
  const memberSessionId = isJsonObject(sessionClaim) ? sessionClaim.id : undefined;
  if (typeof memberSessionId !== "string") {
    throw new StytchApiError(400, "jwt_invalid_claims", "The session JWT has invalid claims.");
  }
  return { memberSessionId, sub: payload.sub };
}
