// What an IAM resource pattern can let through to a route: `*` crosses `/`, a route parameter does not, and a
// request several routes match is served by one of the most specific.

import { describe, expect, test } from "vitest";
import { findLeak, type LeakQuestion, routeGlobs } from "../lambda/lib/permissions/arn-patterns";
import { type PermissionedRoute, parseRoutePermissions } from "../lambda/lib/permissions/route-table";

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
/** A member of o1 who may call only the routes named. */
const only = (...keys: string[]): LeakQuestion => ({
  table,
  member: { organization_id: "o1" },
  mayCall: (r: PermissionedRoute) => keys.includes(r.routeKey),
});
const leak = (allows: string[], question: LeakQuestion, denies: string[] = []) => findLeak(question, allows, denies);

describe("route patterns", () => {
  test("a route's own pattern binds tenancy, frees other parameters as ?*, and writes ANY out per method", () => {
    expect(routeGlobs(route("GET /orgs/{organization_id}/documents/{id}"), { organization_id: "o1" })).toEqual([
      "GET/orgs/o1/documents/?*",
    ]);
    expect(routeGlobs(route("GET /orgs/{organization_id}/documents/{id}"), {}, "*")).toEqual([
      "GET/orgs/*/documents/*",
    ]);
    expect(routeGlobs(route("ANY /files/{proxy+}"))).toHaveLength(7);
    expect(routeGlobs(route("GET /"))).toEqual(["GET/"]);
  });
});

describe("what a pattern lets through", () => {
  test("IAM's * crosses /: documents/?* reaches the audit route, which a parameter alone would not", () => {
    const reader = only("GET /orgs/{organization_id}/documents/{id}");
    const found = leak(["GET/orgs/o1/documents/?*"], reader);
    expect(found?.kind).toBe("forbidden");
    expect(found?.request).toMatch(/^GET\/orgs\/o1\/documents\/x?\/audit$/);
    expect(found?.route.routeKey).toBe("GET /orgs/{organization_id}/documents/{id}/audit");
    // A Deny of the audit route stops it.
    expect(leak(["GET/orgs/o1/documents/?*"], reader, ["GET/orgs/*/documents/*/audit"])).toBeUndefined();
  });

  test("bound tenancy is literal: another organization's requests are not let through, a wildcard's are", () => {
    const both = only("GET /orgs/{organization_id}/documents/{id}", "GET /orgs/{organization_id}/documents/{id}/audit");
    expect(leak(["GET/orgs/o1/documents/?*"], both)).toBeUndefined();
    expect(leak(["GET/orgs/?*/documents/?*"], both)).toMatchObject({ kind: "tenancy" });
  });

  test("methods must agree; ANY stands for any method", () => {
    const nothing = only();
    expect(leak(["POST/orgs/o1/documents/?*"], nothing)).toBeUndefined();
    expect(leak(["DELETE/files/a/b"], nothing)).toMatchObject({ kind: "forbidden", request: "DELETE/files/a/b" });
  });

  test("?* is never empty, while a pattern that ends in / is judged as reaching a parameter (a trailing slash's routing is not assumed)", () => {
    const nothing = only();
    expect(leak(["GET/files/"], nothing)).toMatchObject({ kind: "forbidden", request: "GET/files/" });
    const documentsOnly: LeakQuestion = {
      table: parseRoutePermissions(
        JSON.stringify({ "GET /docs/{id}": "authenticated", "GET /docs/{id}/x": "authenticated" }),
        "test",
      ),
      member: {},
      mayCall: (r) => r.routeKey === "GET /docs/{id}/x",
    };
    expect(findLeak(documentsOnly, ["GET/docs/?*/x"], [])).toBeUndefined();
    expect(findLeak(documentsOnly, ["GET/docs/*/x"], [])).toBeUndefined();
    expect(findLeak(documentsOnly, ["GET/docs/?*"], [])).toMatchObject({ kind: "forbidden", request: "GET/docs/x" });
  });

  test("the root route is the ARN GET/", () => {
    expect(leak(["GET/"], only())).toMatchObject({ kind: "forbidden", request: "GET/" });
    expect(leak(["GET/"], only("GET /"))).toBeUndefined();
  });
});

describe("which route serves a request", () => {
  const mixed = parseRoutePermissions(
    JSON.stringify({
      "GET /{organization_slug}/{project_id}/documents": "authenticated",
      "GET /orgs/{organization_id}/documents": "authenticated",
    }),
    "test",
  );
  const member = (slug: string): LeakQuestion => ({
    table: mixed,
    member: { organization_id: "o1", organization_slug: slug },
    mayCall: () => true,
  });

  test("a literal segment outranks a parameter: /orgs/o1/documents is the literal route's, not slug orgs' project o1", () => {
    expect(findLeak(member("acme"), ["GET/orgs/o1/documents"], [])).toBeUndefined();
  });

  test("a slug equal to the literal: its pattern reaches the literal route in every organization", () => {
    const found = findLeak(member("orgs"), ["GET/orgs/?*/documents"], []);
    expect(found).toMatchObject({ kind: "tenancy" });
    expect(found?.route.routeKey).toBe("GET /orgs/{organization_id}/documents");
  });

  test("no order is assumed between routes that are each more specific somewhere", () => {
    const crossed = parseRoutePermissions(
      JSON.stringify({ "GET /a/{x}": "authenticated", "GET /{y}/b": "authenticated" }),
      "test",
    );
    const onlyFirst: LeakQuestion = { table: crossed, member: {}, mayCall: (r) => r.routeKey === "GET /a/{x}" };
    // GET /a/b: literal first in one route, last in the other. Either could serve it.
    expect(findLeak(onlyFirst, ["GET/a/?*"], [])).toMatchObject({ kind: "forbidden", request: "GET/a/b" });
  });
});
