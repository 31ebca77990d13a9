// Member sessions: created as a completed login would, looked up by ID, token or JWT, revoked, and turned
// into session JWTs signed with the project's current key.

import { type EmulatedFactor, type StoredFactor, storeFactors } from "./authentication-factors";
import type { JsonObject } from "./json";
import type { MemberRecord, OrganizationRecord, Organizations } from "./organizations";
import type { Project } from "./project";
import { readSessionJwt, type SessionJwtTimes, sessionJwtPayload } from "./session-jwt";
import { isActive, mergeCustomClaims, newSessionToken, type SessionRecord } from "./session-record";
import type { SigningKeys } from "./signing-keys";
import { nowSeconds, rfc3339 } from "./time";

/** What `StytchEmulator.createSession` returns: the credentials a browser would hold, plus their IDs. */
export interface CreatedSession {
  /** Opaque session token, 44 base64url characters like Stytch's. */
  sessionToken: string;
  /** RS256 session JWT signed with the current key. */
  sessionJwt: string;
  memberId: string;
  organizationId: string;
  organizationSlug: string;
  memberSessionId: string;
  email: string;
  roles: string[];
  /** RFC 3339 expiry of the *session* (not of the JWT). */
  expiresAt: string;
}

/** Options for `StytchEmulator.createSession`. */
export interface CreateSessionOptions {
  /** Member email; default `member-<n>@example.com`. The same email in the same organization is the same member. */
  email?: string;
  /** RBAC roles; default `["stytch_member"]`. `stytch_member` is always included, as Stytch assigns it to everyone. */
  roles?: string[];
  /** Organization slug; default `"acme"`. The same slug is the same organization. */
  organizationSlug?: string;
  /**
   * Session lifetime in minutes; default 60. Unlike the API's `session_duration_minutes` this is not limited to
   * 5..527040, so that tests can create short-lived or already-expired (zero or negative) sessions.
   */
  durationMinutes?: number;
  /** Session custom claims; they become top-level JWT claims. Reserved and `https://stytch.com/` keys are dropped. */
  customClaims?: Record<string, unknown>;
  /**
   * How the member authenticated, in this order (authentication-factors.ts): e.g. `[{ kind: "magic_link" },
   * { kind: "totp", authenticatedAt: now - 20 * 60 }]` for MFA 20 minutes ago, `[{ kind: "impersonated" }]` for an
   * impersonated session, or `{ raw }` entries for malformed ones. Default: one email magic-link factor at the start.
   */
  authenticationFactors?: readonly EmulatedFactor[];
}

/** Every member session of the project. */
export class Sessions {
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #sessionsByToken = new Map<string, SessionRecord>();
  readonly #organizations: Organizations;
  readonly #keys: SigningKeys;
  readonly #project: Project;
  readonly #jwtLifetimeSeconds: number;
  #memberCounter = 0;

  /** @param jwtLifetimeSeconds `exp - iat` of minted session JWTs. */
  constructor(organizations: Organizations, keys: SigningKeys, project: Project, jwtLifetimeSeconds: number) {
    this.#organizations = organizations;
    this.#keys = keys;
    this.#project = project;
    this.#jwtLifetimeSeconds = jwtLifetimeSeconds;
  }

  /** Creates a member session (and its member and organization when new), as a completed login would. */
  create(options: CreateSessionOptions = {}): CreatedSession {
    const now = nowSeconds();
    const organization = this.#organizations.organizationFor(options.organizationSlug ?? "acme", now);
    const email = options.email ?? `member-${++this.#memberCounter}@example.com`;
    const member = this.#organizations.memberFor(organization, email, options.roles, now);
    const durationMinutes = options.durationMinutes ?? 60;
    if (!Number.isFinite(durationMinutes)) throw new RangeError("durationMinutes must be a finite number");

    const session = this.start(member, now, {
      expiresAt: now + Math.round(durationMinutes * 60),
      authenticatedAt: now,
      ...(options.authenticationFactors !== undefined
        ? { factors: storeFactors(options.authenticationFactors, now, this.#project) }
        : {}),
      customClaims: mergeCustomClaims({}, options.customClaims ?? {}),
    });

    return {
      sessionToken: session.sessionToken,
      sessionJwt: this.mint(session, {}),
      memberId: member.memberId,
      organizationId: organization.organizationId,
      organizationSlug: organization.slug,
      memberSessionId: session.memberSessionId,
      email: member.email,
      roles: [...member.roles],
      expiresAt: rfc3339(session.expiresAt),
    };
  }

  /**
   * Starts a session of a known member at `now` (as a login, or an exchange into the member's organization, does)
   * and stores it.
   */
  start(
    member: MemberRecord,
    now: number,
    times: { expiresAt: number; authenticatedAt: number; customClaims: JsonObject; factors?: StoredFactor[] },
  ): SessionRecord {
    const session: SessionRecord = {
      memberSessionId: this.#project.newId("session"),
      sessionToken: newSessionToken(),
      memberId: member.memberId,
      organizationId: member.organizationId,
      startedAt: now,
      lastAccessedAt: now,
      expiresAt: times.expiresAt,
      authenticatedAt: times.authenticatedAt,
      ...(times.factors !== undefined ? { factors: times.factors } : {}),
      customClaims: times.customClaims,
      revoked: false,
    };
    this.#sessions.set(session.memberSessionId, session);
    this.#sessionsByToken.set(session.sessionToken, session);
    return session;
  }

  /** The session with this member_session_id, if any (whether active or not). */
  byId(memberSessionId: string): SessionRecord | undefined {
    return this.#sessions.get(memberSessionId);
  }

  /** The session with this opaque session token, if any (whether active or not). */
  byToken(sessionToken: string): SessionRecord | undefined {
    return this.#sessionsByToken.get(sessionToken);
  }

  /**
   * The session a session JWT names, checked as the API checks it (see `readSessionJwt`; throws its errors).
   * Possibly undefined, revoked or expired: the caller decides.
   */
  fromJwt(jwt: string): SessionRecord | undefined {
    const { memberSessionId, sub } = readSessionJwt(jwt, this.#keys, this.#project);
    const session = this.#sessions.get(memberSessionId);
    // A JWT naming someone else's session can only be a forgery signed with our own key; treat it as unknown.
    return session !== undefined && session.memberId === sub ? session : undefined;
  }

  /** Every session of a member, revoked and expired ones included. */
  *ofMember(memberId: string): Iterable<SessionRecord> {
    for (const session of this.#sessions.values()) {
      if (session.memberId === memberId) yield session;
    }
  }

  /** The member and organization of a session (both exist for every stored session). */
  ownersOf(session: SessionRecord): { member: MemberRecord; organization: OrganizationRecord } {
    return {
      member: this.#organizations.member(session.memberId)!,
      organization: this.#organizations.organization(session.organizationId)!,
    };
  }

  /**
   * Revokes the session named by a member_session_id, a session_token or a session_jwt.
   * Returns true if it existed and was still active (not revoked, not expired).
   */
  revoke(credential: string): boolean {
    let session: SessionRecord | undefined;
    try {
      session = this.#resolveCredential(credential);
    } catch {
      return false; // an unparseable or forged JWT names no session
    }
    if (session === undefined || !isActive(session, nowSeconds())) return false;
    session.revoked = true;
    return true;
  }

  /** A fresh session JWT for a known session (revoked and expired ones too); throws for an unknown one. */
  mintJwt(memberSessionId: string, overrides: SessionJwtTimes = {}): string {
    return this.mint(this.#knownSession(memberSessionId), overrides);
  }

  /**
   * The default session-JWT payload of a known session; `overrides` are shallow-merged, an override of `undefined`
   * removes the claim.
   */
  payload(memberSessionId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const payload = this.#payload(this.#knownSession(memberSessionId), {});
    for (const [name, value] of Object.entries(overrides)) {
      if (value === undefined) delete payload[name];
      else payload[name] = value;
    }
    return payload;
  }

  /** A session JWT for `session`, signed with the project's current key; does not touch `last_accessed_at`. */
  mint(session: SessionRecord, times: SessionJwtTimes): string {
    return this.#keys.mint(this.#payload(session, times));
  }

  #payload(session: SessionRecord, times: SessionJwtTimes): JsonObject {
    const { member, organization } = this.ownersOf(session);
    return sessionJwtPayload(session, member, organization, this.#project, this.#jwtLifetimeSeconds, times);
  }

  /** A session named by a member_session_id, a session_token or a session_jwt (for revoke). */
  #resolveCredential(credential: string): SessionRecord | undefined {
    return (
      this.#sessions.get(credential) ??
      this.#sessionsByToken.get(credential) ??
      (credential.split(".").length === 3 ? this.fromJwt(credential) : undefined)
    );
  }

  #knownSession(memberSessionId: string): SessionRecord {
    const session = this.#sessions.get(memberSessionId);
    if (session === undefined) throw new Error(`unknown member_session_id ${memberSessionId}`);
    return session;
  }
}
