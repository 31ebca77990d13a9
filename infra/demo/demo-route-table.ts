/**
 * The demo API's route table, from its route list (infra/demo/routes.ts): the stack and `npm start` compile it
 * the same way.
 *
 * @module
 */
import { RoutePermissionTable, type RoutePermissionTableOptions } from "../route-permission-table";
import type { ApiRoute } from "./routes";

/** The table of a route list: every route behind the authorizer with its declared permission and callers. */
export function routePermissionTableOf(
  routes: readonly ApiRoute[],
  options?: RoutePermissionTableOptions,
): RoutePermissionTable {
  const table = new RoutePermissionTable(options);
  for (const route of routes)
    if (route.authorization === "stytch")
      table.add(route.method, route.path, route.permission ?? "authenticated", { callers: route.callers });
  return table;
}
