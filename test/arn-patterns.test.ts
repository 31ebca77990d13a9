// What an IAM resource pattern can match of a route: `*` crosses `/`, a route parameter does not.

import { describe, expect, test } from "vitest";
import { globTokens, intersects, routeGlobs, routeTokens } from "../lambda/lib/arn-patterns";
import { parseRoutePermissions } from "../lambda/lib/route-permissions";

const table = parseRoutePermissions(
  JSON.stringify({
    "GET /orgs/{organization_id}/documents/{id}": "authenticated",
    "GET /orgs/{organization_id}/documents/{id}/audit": "authenticated",
    "ANY /files/{proxy+}": "authenticated",
    "GET /": "authenticated",
  }),
  "test",
);
const route = (key: string) => table.byRouteKey.get(key)!;
const covers = (glob: string, key: string, binding = {}) => intersects(globTokens(glob), routeTokens(route(key), binding));

describe("route patterns", () => {
  test("a route's own pattern binds tenancy, frees other parameters, and writes ANY out per method", () => {
    expect(routeGlobs(route("GET /orgs/{organization_id}/documents/{id}"), { organization_id: "o1" })).toEqual(["GET/orgs/o1/documents/*"]);
    expect(routeGlobs(route("GET /orgs/{organization_id}/documents/{id}"))).toEqual(["GET/orgs/*/documents/*"]);
    expect(routeGlobs(route("ANY /files/{proxy+}"))).toHaveLength(7);
    expect(routeGlobs(route("GET /"))).toEqual(["GET/"]);
  });

  test("IAM's * crosses /: documents/* covers the audit route, which a parameter alone would not", () => {
    expect(covers("GET/orgs/o1/documents/*", "GET /orgs/{organization_id}/documents/{id}/audit")).toBe(true);
    expect(covers("GET/orgs/o1/documents/?", "GET /orgs/{organization_id}/documents/{id}/audit")).toBe(false);
    expect(covers("GET/orgs/*/documents/*/audit", "GET /orgs/{organization_id}/documents/{id}")).toBe(false);
  });

  test("bound tenancy is literal: another organization's requests are not matched", () => {
    expect(covers("GET/orgs/o1/documents/*", "GET /orgs/{organization_id}/documents/{id}", { organization_id: "o2" })).toBe(false);
    expect(covers("GET/orgs/o1/documents/*", "GET /orgs/{organization_id}/documents/{id}", { organization_id: "o1" })).toBe(true);
  });

  test("methods must agree; ANY stands for any method, and a greedy path needs at least one character", () => {
    expect(covers("POST/orgs/o1/documents/*", "GET /orgs/{organization_id}/documents/{id}")).toBe(false);
    expect(covers("DELETE/files/a/b", "ANY /files/{proxy+}")).toBe(true);
    expect(covers("GET/files/", "ANY /files/{proxy+}")).toBe(false);
  });

  test("a parameter never matches an empty segment", () => {
    expect(covers("GET/orgs/o1/documents/", "GET /orgs/{organization_id}/documents/{id}")).toBe(false);
  });
});
