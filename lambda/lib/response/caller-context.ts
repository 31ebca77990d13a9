// Any caller, both ways: the authorizer encodes a machine caller into API Gateway's flat context, and downstream
// Lambdas of routes open to several caller types decode it with getCallerContext() (members as in member-context.ts,
// whose keys this module shares).

import type { ActingMember, Caller, CallerType, MachineCaller } from "../callers/caller";
import {
  type AuthorizerContext,
  addCustomClaims,
  CONTEXT_KEYS,
  type ContextBag,
  contextBagOf,
  type EventWithMemberContext,
  MissingMemberContextError,
  memberOfContext,
  parseJson,
  requiredString,
} from "./member-context";

/**
 * Encodes a machine caller into API Gateway's flat context: `caller_type`, `client_id`, `scopes` (a JSON array),
 * `token_expires_at` and `custom_claims`, and for a Connected App the member it acts for under the members' keys
 * (`member_id`, `organization_id`, `organization_slug`), so that a mapping template reads a tenancy value the same
 * way for both. No `member_session_id`, `roles` or `auth_method`: a Connected App has no session and no roles.
 */
export function machineAuthorizerContext(caller: MachineCaller): AuthorizerContext {
  const context: AuthorizerContext = {
    caller_type: caller.type,
    client_id: caller.clientId,
    scopes: JSON.stringify(caller.scopes),
    token_expires_at: caller.tokenExpiresAt,
    custom_claims: "{}",
  };
  if (caller.type === "connected_app") {
    context.member_id = caller.member.memberId;
    context.organization_id = caller.member.organizationId;
    context.organization_slug = caller.member.organizationSlug;
  }
  addCustomClaims(context, caller.customClaims);
  return context;
}

/**
 * Reads the caller from a downstream Lambda's event, for routes open to several caller types: a discriminated
 * union on `type` (`member`, `m2m`, `connected_app`). A member is exactly what {@link getMemberContext} returns;
 * a context without `caller_type` (an authorizer before machine callers) is a member's.
 *
 * ```ts
 * const caller = getCallerContext(event);
 * switch (caller.type) {
 *   case "member": return caller.member.memberId;
 *   case "m2m": return caller.clientId;
 *   case "connected_app": return `${caller.clientId} for ${caller.member.memberId}`;
 * }
 * ```
 * @throws MissingMemberContextError when the event has no context from the Stytch authorizer
 */
export function getCallerContext(event: EventWithMemberContext): Caller {
  const bag = contextBagOf(event);
  const type = (bag[CONTEXT_KEYS.callerType] ?? "member") as CallerType | unknown;
  if (type === "member") return { type, member: memberOfContext(bag) };
  if (type !== "m2m" && type !== "connected_app") {
    throw new MissingMemberContextError(`authorizer context has an unknown ${CONTEXT_KEYS.callerType}`);
  }
  const machine = {
    clientId: requiredString(bag, CONTEXT_KEYS.clientId),
    scopes: parseJson(
      bag,
      CONTEXT_KEYS.scopes,
      (v): v is string[] => Array.isArray(v) && v.every((scope) => typeof scope === "string"),
    ),
    tokenExpiresAt: requiredString(bag, CONTEXT_KEYS.tokenExpiresAt),
    customClaims: customClaimsOf(bag),
  };
  return type === "m2m" ? { type, ...machine } : { type, ...machine, member: actingMemberOf(bag) };
}

function actingMemberOf(bag: ContextBag): ActingMember {
  const slug = bag[CONTEXT_KEYS.organizationSlug];
  return {
    memberId: requiredString(bag, CONTEXT_KEYS.memberId),
    organizationId: requiredString(bag, CONTEXT_KEYS.organizationId),
    organizationSlug: typeof slug === "string" ? slug : requiredString(bag, CONTEXT_KEYS.organizationSlug),
  };
}

function customClaimsOf(bag: ContextBag): Record<string, unknown> {
  return bag[CONTEXT_KEYS.customClaims] === undefined
    ? {}
    : parseJson(
        bag,
        CONTEXT_KEYS.customClaims,
        (v): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v),
      );
}
