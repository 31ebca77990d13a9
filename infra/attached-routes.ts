/**
 * The routes an authorizer is attached to, found in the construct tree at synth, and which of them a route
 * table leaves out (the authorizer would refuse every caller of those: 403).
 *
 * @module
 */
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import type { IConstruct } from "constructs";
import { HTTP_METHODS } from "../lambda/lib/permissions/arn-patterns";
import { findRoute, type RoutePermissions } from "../lambda/lib/permissions/route-table";

/** A REST method or HTTP API route that uses an authorizer. */
export interface AttachedRoute {
  readonly api: "REST" | "HTTP";
  /**
   * The route key: method and resource path (`GET /orgs/{organization_id}/documents`; `ANY` for a method of
   * every verb), or an HTTP API's `$default`.
   */
  readonly routeKey: string;
  /** The construct path of the `Method` or `HttpRoute`. */
  readonly constructPath: string;
}

/**
 * The REST methods and HTTP API routes under `root` whose authorizer is one of `authorizerIds` (the
 * `authorizerId` tokens of the authorizers: `Method` and `HttpRoute` write exactly that token into their
 * CloudFormation resource, whether the authorizer was given to the route or is the API's default).
 */
export function routesUsingAuthorizers(root: IConstruct, authorizerIds: ReadonlySet<string>): AttachedRoute[] {
  const routes: AttachedRoute[] = [];
  for (const construct of root.node.findAll()) {
    // The resource is the child "Resource" of both (`node.defaultChild` is ambiguous when a child is named "Default").
    const cfn = construct.node.tryFindChild("Resource");
    if (construct instanceof apigateway.Method && cfn instanceof apigateway.CfnMethod) {
      if (cfn.authorizerId !== undefined && authorizerIds.has(cfn.authorizerId)) {
        const routeKey = `${construct.httpMethod} ${construct.resource.path}`;
        routes.push({ api: "REST", routeKey, constructPath: construct.node.path });
      }
    } else if (construct instanceof apigwv2.HttpRoute && cfn instanceof apigwv2.CfnRoute) {
      if (cfn.authorizerId !== undefined && authorizerIds.has(cfn.authorizerId)) {
        routes.push({ api: "HTTP", routeKey: cfn.routeKey, constructPath: construct.node.path });
      }
    }
  }
  return routes;
}

/**
 * Whether the authorizer finds a table entry for every request of a route, the way it looks them up
 * (`findRoute`: the route key, else `ANY` of the same path). A REST event names the request's own method, so a
 * REST `ANY` method needs an entry for every method (an `ANY` entry does it); an HTTP API event names the route
 * key, so an HTTP `ANY` route needs an `ANY` entry. An HTTP API's `$default` route cannot be in a table.
 */
export function isInRouteTable(table: RoutePermissions, route: AttachedRoute): boolean {
  const [method = "", path = ""] = route.routeKey.split(" ");
  if (route.api === "REST" && method === "ANY") {
    return HTTP_METHODS.every((each) => findRoute(table, `${each} ${path}`) !== undefined);
  }
  return findRoute(table, route.routeKey) !== undefined;
}
