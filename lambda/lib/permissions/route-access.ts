// The permission decision of one request, for any caller type (see decideRouteAccess).

import type {
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewayTokenAuthorizerEvent,
} from "aws-lambda";
import { type Caller, organizationOf } from "../callers/caller";
import { m2mScopesGrant } from "../callers/m2m-scopes";
import type { IamPolicySubject } from "./member-iam-policy";
import { hasPermission, type PermissionOutcome, scopesGrant } from "./permission-check";
import type { RbacPolicyCache, VersionedRbacRoles, VersionedRbacScopes } from "./rbac-policy-cache";
import { findRoute, type PermissionedRoute, type RoutePermissions, restRouteKey } from "./route-table";
import { checkStepUp, type StepUpOutcome } from "./step-up";

type AuthorizerEvent =
  | APIGatewayTokenAuthorizerEvent
  | APIGatewayRequestAuthorizerEvent
  | APIGatewayRequestAuthorizerEventV2;

/**
 * What decides a caller's permissions, with a version that changes whenever it does: a member's organization's
 * RBAC roles, the project policy's scopes for a Connected App, and for an M2M client nothing but its own scopes.
 */
export type CallerPolicy =
  | { readonly type: "member"; readonly rbacRoles: VersionedRbacRoles; readonly version: string }
  | { readonly type: "connected_app"; readonly rbacScopes: VersionedRbacScopes; readonly version: string }
  | { readonly type: "m2m"; readonly version: string };

/**
 * One request's route decision: allowed, or the reason of its 403: the caller type, tenancy and permission first
 * (permission-check.ts), then the route's step-up requirements (step-up.ts, member sessions only).
 */
export type RouteOutcome = PermissionOutcome | "caller_not_accepted" | Exclude<StepUpOutcome, "allowed">;

/** The permission decision for one request. */
export interface RouteAccess {
  /** What decides the caller's permissions (for the IAM policy of every route). */
  readonly policy: CallerPolicy;
  /**
   * This request's outcome, when the event names its route (HTTP API 2.0, REST REQUEST); `undefined` for
   * TOKEN events, whose IAM policy still decides every route. An unlisted route is `permission_denied`.
   */
  readonly outcome: RouteOutcome | undefined;
  /** The route key decided, for the log. */
  readonly routeKey: string | undefined;
  /** The clock reading the decision was made at (epoch ms): step-up freshness is judged against it. */
  readonly nowMs: number;
}

/** The time a decision is made at, for step-up requirements. */
export interface DecisionClock {
  /** Epoch ms. */
  readonly nowMs: number;
  /** How far in the future a factor's `last_authenticated_at` may be (clock skew between Stytch and us). */
  readonly toleranceMs: number;
  /**
   * How long the answer may be reused (API Gateway's result cache, plus a margin; 0 when answers are not cached): a
   * freshness limit must hold until `nowMs + horizonMs`, so that the decision logged is the one every reuse gets.
   */
  readonly horizonMs: number;
  /**
   * Whether API Gateway may reuse the answer for other requests: then it covers every method of an `ANY` route,
   * and a `read_only` impersonation rule is judged for the route, not for this request's method.
   */
  readonly cached: boolean;
}

/** Options of {@link decideRouteAccess}: the time of the decision, and the answer's reach. */
export interface RouteAccessOptions extends DecisionClock {
  /**
   * Whether the answer covers this request only (see `answersThisRequestOnly` in authorizer-response.ts). Then a
   * route the project policy's roles grant is decided without waiting for the organization's custom roles.
   */
  readonly thisRequestOnly: boolean;
}

const M2M_POLICY: CallerPolicy = Object.freeze({ type: "m2m", version: "" });

/**
 * Decides a request's route permission for a caller, between the verdict (who) and the authorizer response
 * (what they may do); synchronously when the RBAC policies are cached (M2M callers need none).
 *
 * Stytch's check grants when any role grants (project roles, then the organization's custom roles, which may
 * repeat a project role's ID and so extend it): a member's answer for this request only that the project roles
 * settle (granted, or another organization's) does not wait for the custom roles, e.g. on a cold container that
 * has its project policy from a snapshot. Whatever they refuse waits for them (503 when Stytch cannot be reached).
 *
 * - HTTP API `simple` mode answers for this request only: the table entry of `routeKey`, then the caller type,
 *   tenancy from `pathParameters` (organization first, as Stytch's SDK), then the permission, then step-up.
 * - REST and `iam` mode answer with the caller's IAM policy for every route
 *   (lambda/lib/permissions/member-iam-policy.ts); the per-request outcome computed here feeds the
 *   decision log, and, uncached, the exact answer for this request.
 * @throws RbacPolicyUnavailableError (503) when no RBAC policy can be had
 */
export function decideRouteAccess(
  event: AuthorizerEvent,
  caller: Caller,
  table: RoutePermissions,
  rbacPolicies: RbacPolicyCache,
  deadline: number,
  options: RouteAccessOptions,
): RouteAccess | Promise<RouteAccess> {
  const policy = callerPolicy(caller, rbacPolicies, deadline);
  if (!(policy instanceof Promise)) return settle(event, caller, table, policy, options);
  if (options.thisRequestOnly && caller.type === "member") {
    const projectRoles = rbacPolicies.projectRolesNow(deadline);
    if (projectRoles) {
      const early = settle(event, caller, table, memberPolicy(projectRoles), options);
      if (early.outcome === "allowed" || early.outcome === "tenancy_mismatch") {
        policy.catch(() => undefined); // the custom roles keep coming, for the next request; a failure is the cache's
        return early;
      }
    }
  }
  return policy.then((resolved) => settle(event, caller, table, resolved, options));
}

function callerPolicy(
  caller: Caller,
  rbacPolicies: RbacPolicyCache,
  deadline: number,
): CallerPolicy | Promise<CallerPolicy> {
  if (caller.type === "m2m") return M2M_POLICY;
  if (caller.type === "connected_app") {
    const scopes = rbacPolicies.scopesFor(deadline);
    const of = (rbacScopes: VersionedRbacScopes): CallerPolicy => ({
      type: "connected_app",
      rbacScopes,
      version: rbacScopes.version,
    });
    return scopes instanceof Promise ? scopes.then(of) : of(scopes);
  }
  const roles = rbacPolicies.rolesFor(caller.member.organizationId, deadline);
  return roles instanceof Promise ? roles.then(memberPolicy) : memberPolicy(roles);
}

// One policy object per roles object: the member hot path allocates nothing new.
const memberPolicies = new WeakMap<VersionedRbacRoles, CallerPolicy>();

function memberPolicy(rbacRoles: VersionedRbacRoles): CallerPolicy {
  let policy = memberPolicies.get(rbacRoles);
  if (!policy) memberPolicies.set(rbacRoles, (policy = { type: "member", rbacRoles, version: rbacRoles.version }));
  return policy;
}

function settle(
  event: AuthorizerEvent,
  caller: Caller,
  table: RoutePermissions,
  policy: CallerPolicy,
  clock: DecisionClock,
): RouteAccess {
  const { nowMs } = clock;
  const request = requestedRoute(event);
  if (request === undefined) return { policy, outcome: undefined, routeKey: undefined, nowMs };
  const route = findRoute(table, request.routeKey);
  // With a table, a route it does not list is closed to everyone.
  if (!route) return { policy, outcome: "permission_denied", routeKey: request.routeKey, nowMs };
  let outcome: RouteOutcome = decideRoute(route, caller, policy, request.pathParameters);
  // Step-up only for a caller who may call the route at all: "step up" must never hint at a route that is not
  // theirs. A route with step-up accepts member sessions only (route-table.ts), which alone carry factors.
  if (outcome === "allowed" && route.stepUp !== undefined) {
    const stepUp = checkStepUp(
      route.stepUp,
      caller.type === "member" ? caller.member.authenticationFactors : [],
      clock.cached ? (route.method === "ANY" ? undefined : route.method) : request.method,
      nowMs,
      clock.horizonMs,
      clock.toleranceMs,
    );
    if (stepUp !== "allowed") outcome = stepUp;
  }
  return { policy, outcome, routeKey: route.routeKey, nowMs };
}

/**
 * One route for one caller: the route must accept the caller's type; every tenancy parameter must name the
 * caller's own organization (a member's, or the member's a Connected App acts for; an M2M client has none), the
 * SDK's tenancy check, first; then the route's permission must be granted, the way Stytch grants it to that type.
 */
export function decideRoute(
  route: PermissionedRoute,
  caller: Caller,
  policy: CallerPolicy,
  pathParameters: Readonly<Record<string, string | undefined>> | null | undefined,
): RouteOutcome {
  if (!route.callers.includes(caller.type)) return "caller_not_accepted";
  const organization = organizationOf(caller);
  for (const segment of route.segments) {
    if (segment.kind !== "tenant") continue;
    const requested = pathParameters?.[segment.name];
    const own =
      organization === undefined
        ? ""
        : segment.name === "organization_id"
          ? organization.organizationId
          : organization.organizationSlug;
    // A missing parameter or an empty own slug can never prove tenancy.
    if (requested === undefined || own === "" || requested !== own) return "tenancy_mismatch";
  }
  return grants(route, caller, policy) ? "allowed" : "permission_denied";
}

/**
 * Whether the caller may call the route in its own organization (tenancy aside): its type is accepted, and the
 * route's permission is granted: by a member's roles, by an M2M client's scopes (`action:resource`), by the
 * project policy's scopes a Connected App holds.
 */
export function mayCall(route: PermissionedRoute, caller: Caller, policy: CallerPolicy): boolean {
  return route.callers.includes(caller.type) && grants(route, caller, policy);
}

function grants(route: PermissionedRoute, caller: Caller, policy: CallerPolicy): boolean {
  const permission = route.permission;
  if (permission === "authenticated") return true;
  switch (caller.type) {
    case "member":
      return (
        policy.type === "member" &&
        hasPermission(policy.rbacRoles.roles, caller.member.roles, permission.resourceId, permission.action)
      );
    case "m2m":
      return m2mScopesGrant(caller.scopes, permission.resourceId, permission.action);
    case "connected_app":
      return (
        policy.type === "connected_app" &&
        scopesGrant(policy.rbacScopes.scopes, caller.scopes, permission.resourceId, permission.action)
      );
  }
}

/**
 * The caller as its IAM policy sees it: its tenancy values (none for an M2M client: no organization value is ever
 * its own, so it never reaches a tenancy route) and which routes it may call.
 */
export function iamPolicySubject(caller: Caller, policy: CallerPolicy): IamPolicySubject {
  const organization = organizationOf(caller);
  return {
    ...(organization
      ? { organizationId: organization.organizationId, organizationSlug: organization.organizationSlug }
      : {}),
    mayCall: (route) => mayCall(route, caller, policy),
  };
}

/**
 * What makes two callers' IAM policies equal (with the table and the stage): type, tenancy, the deciding policy's
 * version, and the roles or scopes. JSON keeps the parts apart whatever they contain.
 */
export function iamPolicyKey(caller: Caller, policy: CallerPolicy): string {
  if (caller.type === "member") {
    const { organizationId, organizationSlug, roles } = caller.member;
    return JSON.stringify(["member", organizationId, organizationSlug, policy.version, roles]);
  }
  if (caller.type === "m2m") return JSON.stringify(["m2m", caller.scopes]);
  const { organizationId, organizationSlug } = caller.member;
  return JSON.stringify(["connected_app", organizationId, organizationSlug, policy.version, caller.scopes]);
}

/** The route key, path parameters and method an event names, if it names them. */
export function requestedRoute(event: AuthorizerEvent):
  | {
      routeKey: string;
      pathParameters: Record<string, string | undefined> | null | undefined;
      /** The request's own method (an `ANY` route's key does not say it). */
      method: string | undefined;
    }
  | undefined {
  if ("routeKey" in event && typeof event.routeKey === "string") {
    const method = (event.requestContext as { http?: { method?: unknown } } | undefined)?.http?.method;
    return {
      routeKey: event.routeKey,
      pathParameters: event.pathParameters,
      method: typeof method === "string" ? method.toUpperCase() : undefined,
    };
  }
  if (event.type === "REQUEST" && "httpMethod" in event) {
    const routeKey = restRouteKey(event);
    if (routeKey !== undefined)
      return { routeKey, pathParameters: event.pathParameters, method: event.httpMethod.toUpperCase() };
  }
  return undefined;
}
