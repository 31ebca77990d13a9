// Who is calling: a member, an M2M client, or a Connected App acting for a member (see Caller).

import type { MemberSession } from "../response/member-context";

/** The caller types a route may accept, in the route table's spelling. */
export const CALLER_TYPES = Object.freeze(["member", "m2m", "connected_app"] as const);

/** A caller type: `member` (a session), `m2m` (client credentials), `connected_app` (an OAuth app acting for a member). */
export type CallerType = (typeof CALLER_TYPES)[number];

/** A member with a Stytch B2B session (a session JWT or an opaque session token). */
export interface MemberCaller {
  readonly type: "member";
  readonly member: MemberSession;
}

/** A back end with an M2M access token (client credentials grant): no member, no organization. */
export interface M2MCaller {
  readonly type: "m2m";
  /** The M2M client id (the token's `sub`), e.g. `m2m-client-live-…`. */
  readonly clientId: string;
  /** The token's scopes, e.g. `read:documents` (`action:resource`; `*` as the resource: every resource). */
  readonly scopes: readonly string[];
  /** When the token expires (RFC 3339). */
  readonly tokenExpiresAt: string;
  /** The token's custom claims (from the client's claim templates). */
  readonly customClaims: Readonly<Record<string, unknown>>;
}

/** The member a Connected App acts for: the token's `sub` and its organization claim. */
export interface ActingMember {
  readonly memberId: string;
  readonly organizationId: string;
  /** Empty when the token's organization claim has no slug. */
  readonly organizationSlug: string;
}

/** A Connected App (a third-party app, an AI agent, an MCP client) with an OAuth access token issued by a member. */
export interface ConnectedAppCaller {
  readonly type: "connected_app";
  /** The Connected App's client id (the token's `client_id`), e.g. `connected-app-live-…`. */
  readonly clientId: string;
  /** The scopes the member granted; they map to permissions through the RBAC policy's `scopes`. */
  readonly scopes: readonly string[];
  /** When the token expires (RFC 3339). */
  readonly tokenExpiresAt: string;
  /** The member the app acts for, in their organization: tenancy is theirs. */
  readonly member: ActingMember;
  /** The token's custom claims. */
  readonly customClaims: Readonly<Record<string, unknown>>;
}

/** A machine caller: an M2M client or a Connected App. */
export type MachineCaller = M2MCaller | ConnectedAppCaller;

/** Every caller the authorizer can prove: exactly one type, decided by the token's claims. */
export type Caller = MemberCaller | MachineCaller;

/** The caller's organization, for tenancy: a member's or the member a Connected App acts for; none for M2M. */
export function organizationOf(
  caller: Caller,
): { readonly organizationId: string; readonly organizationSlug: string } | undefined {
  if (caller.type === "member") return caller.member;
  return caller.type === "connected_app" ? caller.member : undefined;
}

/** The id API Gateway records as the principal: the member's for members, the client id for machines. */
export function principalOf(caller: Caller): string {
  return caller.type === "member" ? caller.member.memberId : caller.clientId;
}
