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

type AuthorizerEvent =
  | APIGatewayTokenAuthorizerEvent
  | APIGatewayRequestAuthorizerEvent
  | APIGatewayRequestAuthorizerEventV2;

/** The permission decision for one request. */
export interface RouteAccess {
  /** The decisive RBAC roles of the member's organization (project + custom roles). */
  readonly rbacRoles: VersionedRbacRoles;
  /**
   * This request's outcome, when the event names its route (HTTP API 2.0, REST REQUEST); `undefined` for
   * TOKEN events, whose IAM policy still decides every route. An unlisted route is `permission_denied`.
   */
  readonly outcome: PermissionOutcome | undefined;
  /** The route key decided, for the log. */
  readonly routeKey: string | undefined;
}

/** Options of {@link decideRouteAccess}. */
export interface RouteAccessOptions {
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
 *   (lambda/lib/permissions/member-iam-policy.ts); the per-request outcome computed here only feeds the
 *   decision log, where the route is known (REQUEST events).
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
  if (!(roles instanceof Promise)) return settle(event, member, table, roles);
  if (options.thisRequestOnly) {
    const projectRoles = rbacPolicies.projectRolesNow(deadline);
    if (projectRoles) {
      const early = settle(event, member, table, projectRoles);
      if (early.outcome === "allowed" || early.outcome === "tenancy_mismatch") {
        roles.catch(() => undefined); // the custom roles keep coming, for the next request; a failure is the cache's
        return early;
      }
    }
  }
  return roles.then((resolved) => settle(event, member, table, resolved));
}

function settle(
  event: AuthorizerEvent,
  member: MemberSession,
  table: RoutePermissions,
  rbacRoles: VersionedRbacRoles,
): RouteAccess {
  const request = requestedRoute(event);
  if (request === undefined) return { rbacRoles, outcome: undefined, routeKey: undefined };
  const route = findRoute(table, request.routeKey);
  // With a table, a route it does not list is closed to everyone.
  if (!route) return { rbacRoles, outcome: "permission_denied", routeKey: request.routeKey };
  return {
    rbacRoles,
    outcome: decideRoute(route, member, rbacRoles, request.pathParameters),
    routeKey: route.routeKey,
  };
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

/** The route key and path parameters an event names, if it names them. */
export function requestedRoute(
  event: AuthorizerEvent,
): { routeKey: string; pathParameters: Record<string, string | undefined> | null | undefined } | undefined {
  if ("routeKey" in event && typeof event.routeKey === "string")
    return { routeKey: event.routeKey, pathParameters: event.pathParameters };
  if (event.type === "REQUEST" && "httpMethod" in event) {
    const routeKey = restRouteKey(event);
    if (routeKey !== undefined) return { routeKey, pathParameters: event.pathParameters };
  }
  return undefined;
}
