/**
 * The demo API's route table, from its route list (infra/demo/routes.ts): the stack and `npm start` compile it
 * the same way.
 *
 * @module
 */
import { Duration } from "aws-cdk-lib";
import { type RouteOptions, RoutePermissionTable, type RoutePermissionTableOptions } from "../route-permission-table";
import type { ApiRoute } from "./routes";

/** The table of a route list: every route behind the authorizer with its declared permission, callers and step-up. */
export function routePermissionTableOf(
  routes: readonly ApiRoute[],
  options?: RoutePermissionTableOptions,
): RoutePermissionTable {
  const table = new RoutePermissionTable(options);
  for (const route of routes)
    if (route.authorization === "stytch")
      table.add(route.method, route.path, route.permission ?? "authenticated", routeOptionsOf(route));
  return table;
}

/** A route's options for {@link RoutePermissionTable.add}: who may call it, and its step-up requirements, if any. */
export function routeOptionsOf(route: ApiRoute): RouteOptions {
  const callers = route.callers !== undefined ? { callers: route.callers } : {};
  const stepUp = route.stepUp;
  if (stepUp === undefined) return callers;
  return {
    ...callers,
    stepUp: {
      ...(stepUp.factors !== undefined ? { factors: stepUp.factors } : {}),
      ...(stepUp.withinMinutes !== undefined ? { within: Duration.minutes(stepUp.withinMinutes) } : {}),
      ...(stepUp.impersonation !== undefined ? { impersonation: stepUp.impersonation } : {}),
    },
  };
}
