// The permission decision of one request (see decideRouteAccess).

import type {
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewayTokenAuthorizerEvent,
} from "aws-lambda";
import type { MemberSession } from "../response/member-context";
import { checkPermission, type PermissionOutcome } from "./permission-check";
import type { RbacPolicyCache, VersionedRbacRoles } from "./rbac-policy-cache";
import { findRoute, type PermissionedRoute, type RoutePermissions, restRouteKey } from "./route-table";
import { checkStepUp, type StepUpOutcome } from "./step-up";

type AuthorizerEvent =
  | APIGatewayTokenAuthorizerEvent
  | APIGatewayRequestAuthorizerEvent
  | APIGatewayRequestAuthorizerEventV2;

/**
 * One request's route decision: allowed, or the reason of its 403: tenancy and permission first
 * (permission-check.ts), then the route's step-up requirements (step-up.ts).
 */
export type RouteOutcome = PermissionOutcome | Exclude<StepUpOutcome, "allowed">;

/** The permission decision for one request. */
export interface RouteAccess {
  /** The decisive RBAC roles of the member's organization (project + custom roles). */
  readonly rbacRoles: VersionedRbacRoles;
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

/**
 * Decides a request's route permission for a member, between the verdict (who) and the authorizer response
 * (what they may do); synchronously when the RBAC policies are cached.
 *
 * Stytch's check grants when any role grants (project roles, then the organization's custom roles, which may
 * repeat a project role's ID and so extend it): an answer for this request only that the project roles settle
 * (granted, or another organization's) does not wait for the custom roles, e.g. on a cold container that has its
 * project policy from a snapshot. Whatever they refuse waits for them (503 when Stytch cannot be reached).
 *
 * - HTTP API `simple` mode answers for this request only: the table entry of `routeKey`, tenancy from
 *   `pathParameters` (organization first, as Stytch's SDK), then the permission.
 * - REST and `iam` mode answer with the member's IAM policy for every route
 *   (lambda/lib/permissions/member-iam-policy.ts); the per-request outcome computed here feeds the
 *   decision log, and, uncached, the exact answer for this request.
 * @throws RbacPolicyUnavailableError (503) when no RBAC policy can be had
 */
export function decideRouteAccess(
  event: AuthorizerEvent,
  member: MemberSession,
  table: RoutePermissions,
  rbacPolicies: RbacPolicyCache,
  deadline: number,
  options: RouteAccessOptions,
): RouteAccess | Promise<RouteAccess> {
  const roles = rbacPolicies.rolesFor(member.organizationId, deadline);
  if (!(roles instanceof Promise)) return settle(event, member, table, roles, options);
  if (options.thisRequestOnly) {
    const projectRoles = rbacPolicies.projectRolesNow(deadline);
    if (projectRoles) {
      const early = settle(event, member, table, projectRoles, options);
      if (early.outcome === "allowed" || early.outcome === "tenancy_mismatch") {
        roles.catch(() => undefined); // the custom roles keep coming, for the next request; a failure is the cache's
        return early;
      }
    }
  }
  return roles.then((resolved) => settle(event, member, table, resolved, options));
}

function settle(
  event: AuthorizerEvent,
  member: MemberSession,
  table: RoutePermissions,
  rbacRoles: VersionedRbacRoles,
  clock: DecisionClock,
): RouteAccess {
  const { nowMs } = clock;
  const request = requestedRoute(event);
  if (request === undefined) return { rbacRoles, outcome: undefined, routeKey: undefined, nowMs };
  const route = findRoute(table, request.routeKey);
  // With a table, a route it does not list is closed to everyone.
  if (!route) return { rbacRoles, outcome: "permission_denied", routeKey: request.routeKey, nowMs };
  let outcome: RouteOutcome = decideRoute(route, member, rbacRoles, request.pathParameters);
  // Step-up only for a member who may call the route at all: "step up" must never hint at a route that is not theirs.
  if (outcome === "allowed" && route.stepUp !== undefined) {
    const stepUp = checkStepUp(
      route.stepUp,
      member.authenticationFactors,
      clock.cached ? (route.method === "ANY" ? undefined : route.method) : request.method,
      nowMs,
      clock.horizonMs,
      clock.toleranceMs,
    );
    if (stepUp !== "allowed") outcome = stepUp;
  }
  return { rbacRoles, outcome, routeKey: route.routeKey, nowMs };
}

/**
 * One route for one member: every tenancy parameter must name the member's own organization (the SDK's
 * tenancy check, first), then the route's permission must be granted by one of the member's roles.
 */
function decideRoute(
  route: PermissionedRoute,
  member: Pick<MemberSession, "organizationId" | "organizationSlug" | "roles">,
  rbacRoles: VersionedRbacRoles,
  pathParameters: Readonly<Record<string, string | undefined>> | null | undefined,
): PermissionOutcome {
  for (const segment of route.segments) {
    if (segment.kind !== "tenant") continue;
    const requested = pathParameters?.[segment.name];
    const own = segment.name === "organization_id" ? member.organizationId : member.organizationSlug;
    // A missing parameter or an empty own slug can never prove tenancy.
    if (requested === undefined || own === "" || requested !== own) return "tenancy_mismatch";
  }
  if (route.permission === "authenticated") return "allowed";
  return checkPermission(rbacRoles.roles, member, {
    organization_id: member.organizationId,
    resource_id: route.permission.resourceId,
    action: route.permission.action,
  });
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
