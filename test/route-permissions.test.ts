// The route table: parsing, validation, the file way in, and the refusal of tables IAM cannot express safely.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { ConfigurationError } from "../lambda/lib/errors";
import {
  findRoute,
  loadRoutePermissions,
  parseRoutePermissions,
  permissionJson,
  restRouteKey,
  routeEntryJson,
} from "../lambda/lib/permissions/route-table";
import { thrownBy } from "./support/thrown";

const DEMO = {
  "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
  "POST /orgs/{organization_id}/documents": { resource_id: "documents", action: "write" },
  "GET /orgs/{organization_id}/billing": { resource_id: "billing", action: "read" },
  "GET /me": "authenticated",
};

describe("parsing a route table", () => {
  test("route keys become methods and segments; organization parameters are tenancy, others are free", () => {
    const table = parseRoutePermissions(
      JSON.stringify({
        ...DEMO,
        "ANY /files/{proxy+}": "authenticated",
        "GET /o/{organization_slug}/items/{item_id}": { resource_id: "items", action: "read" },
      }),
      "test",
    );
    expect(table.routes).toHaveLength(6);
    const documents = table.byRouteKey.get("GET /orgs/{organization_id}/documents")!;
    expect(documents.method).toBe("GET");
    expect(documents.segments).toEqual([
      { kind: "literal", value: "orgs" },
      { kind: "tenant", name: "organization_id" },
      { kind: "literal", value: "documents" },
    ]);
    expect(documents.permission).toEqual({ resourceId: "documents", action: "read" });
    expect(table.byRouteKey.get("GET /o/{organization_slug}/items/{item_id}")!.segments.map((s) => s.kind)).toEqual([
      "literal",
      "tenant",
      "literal",
      "param",
    ]);
    expect(table.byRouteKey.get("ANY /files/{proxy+}")!.segments.at(-1)).toEqual({ kind: "greedy", name: "proxy" });
    expect(table.byRouteKey.get("GET /me")!.permission).toBe("authenticated");
  });

  test("the root path and ANY routes are found; a method falls back to the ANY route of its path", () => {
    const table = parseRoutePermissions(
      JSON.stringify({ "GET /": "authenticated", "ANY /files": "authenticated" }),
      "test",
    );
    expect(findRoute(table, "GET /")?.routeKey).toBe("GET /");
    expect(findRoute(table, "DELETE /files")?.routeKey).toBe("ANY /files");
    expect(findRoute(table, "POST /")).toBeUndefined();
  });

  test("a REST REQUEST event names its route as httpMethod plus resource", () => {
    expect(restRouteKey({ httpMethod: "GET", resource: "/orgs/{organization_id}/documents" })).toBe(
      "GET /orgs/{organization_id}/documents",
    );
    expect(restRouteKey({})).toBeUndefined();
  });

  test("permissionJson writes the table's JSON form back", () => {
    expect(permissionJson({ resourceId: "documents", action: "read" })).toEqual({
      resource_id: "documents",
      action: "read",
    });
    expect(permissionJson("authenticated")).toBe("authenticated");
  });

  test("a route may add step_up next to its permission; {} and {step_up} alone are any authenticated member", () => {
    const table = parseRoutePermissions(
      JSON.stringify({
        ...DEMO,
        "POST /orgs/{organization_id}/billing": {
          resource_id: "billing",
          action: "write",
          step_up: { factors: ["mfa"], within_minutes: 15, impersonation: "refused" },
        },
        "GET /admin": { step_up: { factors: ["sso"] } },
        "GET /status": {},
      }),
      "test",
    );
    const billing = table.byRouteKey.get("POST /orgs/{organization_id}/billing")!;
    expect(billing.permission).toEqual({ resourceId: "billing", action: "write" });
    expect(billing.stepUp).toEqual({ factors: ["mfa"], withinMinutes: 15, impersonation: "refused" });
    expect(table.byRouteKey.get("GET /admin")!.permission).toBe("authenticated");
    expect(table.byRouteKey.get("GET /admin")!.stepUp).toEqual({
      factors: ["sso"],
      withinMinutes: undefined,
      impersonation: "refused",
    });
    expect(table.byRouteKey.get("GET /status")!.permission).toBe("authenticated");
    expect(table.byRouteKey.get("GET /me")).not.toHaveProperty("stepUp");
    // Only the routes with requirements are listed for the step-up work: the others cost nothing.
    expect(table.stepUpRoutes.map((route) => route.routeKey)).toEqual([
      "POST /orgs/{organization_id}/billing",
      "GET /admin",
    ]);
    expect(routeEntryJson(billing.permission, billing.stepUp)).toEqual({
      resource_id: "billing",
      action: "write",
      step_up: { factors: ["mfa"], within_minutes: 15, impersonation: "refused" },
    });
    expect(routeEntryJson("authenticated", table.byRouteKey.get("GET /admin")!.stepUp)).toEqual({
      step_up: { factors: ["sso"], impersonation: "refused" },
    });
    expect(routeEntryJson("authenticated", undefined)).toBe("authenticated");
  });

  test.each([
    ["not JSON", "{", /not valid JSON/],
    ["an array", "[]", /JSON object/],
    ["no routes", "{}", /no routes/],
    ["a lower-case method", JSON.stringify({ "get /me": "authenticated" }), /not a route key/],
    ["an unknown method", JSON.stringify({ "FETCH /me": "authenticated" }), /not a route key/],
    ["a path without a slash", JSON.stringify({ "GET me": "authenticated" }), /not a route key/],
    ["an empty segment", JSON.stringify({ "GET /a//b": "authenticated" }), /invalid path segment/],
    ["a greedy parameter in the middle", JSON.stringify({ "GET /a/{p+}/b": "authenticated" }), /not last/],
    [
      "a greedy organization parameter",
      JSON.stringify({ "GET /o/{organization_id+}": "authenticated" }),
      /cannot be greedy/,
    ],
    ["a parameter twice", JSON.stringify({ "GET /a/{x}/b/{x}": "authenticated" }), /twice/],
    ["a wildcard action", JSON.stringify({ "GET /a": { resource_id: "documents", action: "*" } }), /no wildcards/],
    ["a missing action", JSON.stringify({ "GET /a": { resource_id: "documents" } }), /resource_id/],
    [
      "an unknown field",
      JSON.stringify({ "GET /a": { resource_id: "documents", action: "read", scope: "x" } }),
      /resource_id/,
    ],
    ["another string", JSON.stringify({ "GET /a": "public" }), /authenticated/],
    [
      "a step_up with an unknown factor",
      JSON.stringify({ "GET /a": { resource_id: "billing", action: "read", step_up: { factors: ["mfa", "face"] } } }),
      /"GET \/a" has the step_up factor "face"/,
    ],
    ["an empty step_up", JSON.stringify({ "GET /a": { step_up: {} } }), /empty step_up/],
    [
      "a step_up freshness of zero minutes",
      JSON.stringify({ "GET /a": { step_up: { within_minutes: 0 } } }),
      /within_minutes/,
    ],
    [
      "read_only impersonation on a write",
      JSON.stringify({ "POST /a": { step_up: { impersonation: "read_only" } } }),
      /read_only on POST/,
    ],
    [
      "a resource without an action next to step_up",
      JSON.stringify({ "GET /a": { resource_id: "x", step_up: { factors: ["sso"] } } }),
      /resource_id/,
    ],
    [
      "the same route twice under other parameter names",
      JSON.stringify({ "GET /a/{x}": "authenticated", "GET /a/{y}": "authenticated" }),
      /same route/,
    ],
  ])("refuses %s", (_name, json, message) => {
    const error = thrownBy(() => parseRoutePermissions(json, "STYTCH_ROUTE_PERMISSIONS"));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^STYTCH_ROUTE_PERMISSIONS/);
  });

  test("refuses a greedy route that would also match an organization route of another organization", () => {
    const error = thrownBy(() =>
      parseRoutePermissions(JSON.stringify({ ...DEMO, "GET /{proxy+}": "authenticated" }), "test"),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(
      /"GET \/\{proxy\+\}" would also match "GET \/orgs\/\{organization_id\}\/(documents|billing)" for other organizations/,
    );
  });

  test("refuses an ANY greedy route over organization routes too, whatever the method", () => {
    for (const method of ["ANY", "POST"]) {
      const error = thrownBy(() =>
        parseRoutePermissions(JSON.stringify({ ...DEMO, [`${method} /{proxy+}`]: "authenticated" }), "test"),
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(
        /would also match "(GET|POST) \/orgs\/\{organization_id\}\/(documents|billing)" for other organizations/,
      );
    }
  });

  test("refuses a generic parameter in the organization's position of another route", () => {
    const json = JSON.stringify({ ...DEMO, "GET /orgs/{any}/billing": "authenticated" });
    expect(() => parseRoutePermissions(json, "test")).toThrow(/same route/);
    const generic = JSON.stringify({
      "GET /orgs/{organization_id}/documents": "authenticated",
      "GET /orgs/{org}/{what}": "authenticated",
    });
    expect(() => parseRoutePermissions(generic, "test")).toThrow(/would also match/);
  });

  test("accepts overlapping routes inside one organization (documents/{id} next to documents/{id}/audit)", () => {
    const json = JSON.stringify({
      "GET /orgs/{organization_id}/documents/{id}": { resource_id: "documents", action: "read" },
      "GET /orgs/{organization_id}/documents/{id}/audit": { resource_id: "documents", action: "audit" },
      "ANY /orgs/{organization_id}/files/{proxy+}": "authenticated",
    });
    expect(parseRoutePermissions(json, "test").routes).toHaveLength(3);
  });
});

describe("callers: who may call a route", () => {
  test("a route is members-only unless it says otherwise; callers come out in one canonical order", () => {
    const table = parseRoutePermissions(
      JSON.stringify({
        ...DEMO,
        "GET /service/documents": { resource_id: "documents", action: "read", callers: ["m2m"] },
        "GET /orgs/{organization_id}/agent": { callers: ["connected_app", "member"] },
        "GET /whoami": { callers: ["m2m", "connected_app", "member"] },
        "GET /plain": {},
      }),
      "test",
    );
    expect(table.byRouteKey.get("GET /me")!.callers).toEqual(["member"]);
    expect(table.byRouteKey.get("GET /orgs/{organization_id}/documents")!.callers).toEqual(["member"]);
    expect(table.byRouteKey.get("GET /service/documents")!.callers).toEqual(["m2m"]);
    const agent = table.byRouteKey.get("GET /orgs/{organization_id}/agent")!;
    expect(agent.callers).toEqual(["member", "connected_app"]);
    // No resource_id and no action: any authenticated caller of the accepted types.
    expect(agent.permission).toBe("authenticated");
    expect(table.byRouteKey.get("GET /whoami")!.callers).toEqual(["member", "m2m", "connected_app"]);
    expect(table.byRouteKey.get("GET /plain")).toMatchObject({ permission: "authenticated", callers: ["member"] });
  });

  test("permissionJson writes callers only when they are not the default, so old tables read as before", () => {
    expect(permissionJson("authenticated", ["member"])).toBe("authenticated");
    expect(permissionJson("authenticated", ["m2m"])).toEqual({ callers: ["m2m"] });
    expect(permissionJson({ resourceId: "documents", action: "read" }, ["member", "connected_app"])).toEqual({
      resource_id: "documents",
      action: "read",
      callers: ["member", "connected_app"],
    });
    const json = {
      "GET /a": permissionJson({ resourceId: "documents", action: "read" }, ["m2m"]),
      "GET /b": permissionJson("authenticated", ["member", "connected_app"]),
    };
    const parsed = parseRoutePermissions(JSON.stringify(json), "test");
    expect(parsed.byRouteKey.get("GET /a")!.callers).toEqual(["m2m"]);
    expect(parsed.byRouteKey.get("GET /b")!.callers).toEqual(["member", "connected_app"]);
  });

  test.each([
    ["an empty callers list", { callers: [] }, /callers/],
    ["an unknown caller type", { callers: ["member", "robot"] }, /callers/],
    ["a caller type twice", { callers: ["m2m", "m2m"] }, /callers/],
    ["callers that are not a list", { callers: "m2m" }, /callers/],
    ["a resource_id without an action", { resource_id: "documents", callers: ["m2m"] }, /resource_id/],
    [
      "a ':' in the resource of an M2M route (its scope would be ambiguous)",
      { resource_id: "stytch:documents", action: "read", callers: ["m2m"] },
      /no ":"/,
    ],
    [
      "a ':' in the action of an M2M route",
      { resource_id: "documents", action: "read:all", callers: ["member", "m2m"] },
      /no ":"/,
    ],
  ])("refuses %s", (_name, entry, message) => {
    const error = thrownBy(() =>
      parseRoutePermissions(JSON.stringify({ "GET /a": entry }), "STYTCH_ROUTE_PERMISSIONS"),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
  });

  test("refuses an M2M route with an organization parameter: an M2M client has no organization", () => {
    for (const path of ["/orgs/{organization_id}/documents", "/by-slug/{organization_slug}/documents"]) {
      const error = thrownBy(() =>
        parseRoutePermissions(JSON.stringify({ [`GET ${path}`]: { callers: ["member", "m2m"] } }), "test"),
      );
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/M2M client has no organization/);
    }
    // A Connected App acts in its member's organization: tenancy routes may accept it.
    expect(() =>
      parseRoutePermissions(
        JSON.stringify({ "GET /orgs/{organization_id}/x": { callers: ["connected_app"] } }),
        "test",
      ),
    ).not.toThrow();
    // A ':' is fine where no M2M scope has to name it.
    expect(() =>
      parseRoutePermissions(
        JSON.stringify({ "GET /a": { resource_id: "stytch:x", action: "read", callers: ["connected_app"] } }),
        "test",
      ),
    ).not.toThrow();
  });
});

describe("loading the table from the environment", () => {
  test("no table: undefined (every route for any member, as before)", () => {
    expect(loadRoutePermissions({})).toBeUndefined();
  });

  test("STYTCH_ROUTE_PERMISSIONS holds the table inline", () => {
    expect(loadRoutePermissions({ STYTCH_ROUTE_PERMISSIONS: JSON.stringify(DEMO) })?.routes).toHaveLength(4);
  });

  test("STYTCH_ROUTE_PERMISSIONS_FILE reads a JSON file relative to LAMBDA_TASK_ROOT, for tables beyond the 4 KB environment", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "routes-"));
    const big: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++)
      big[`GET /orgs/{organization_id}/collection-${i}/{item_id}`] = { resource_id: `resource-${i}`, action: "read" };
    expect(JSON.stringify(big).length).toBeGreaterThan(4096);
    writeFileSync(path.join(dir, "route-permissions.json"), JSON.stringify(big));
    expect(
      loadRoutePermissions({ STYTCH_ROUTE_PERMISSIONS_FILE: "route-permissions.json", LAMBDA_TASK_ROOT: dir })?.routes,
    ).toHaveLength(200);
  });

  test("both ways at once, or an unreadable file, are configuration errors that never name the value", () => {
    expect(() =>
      loadRoutePermissions({ STYTCH_ROUTE_PERMISSIONS: "{}", STYTCH_ROUTE_PERMISSIONS_FILE: "x.json" }),
    ).toThrow(/not both/);
    const error = thrownBy(() =>
      loadRoutePermissions({ STYTCH_ROUTE_PERMISSIONS_FILE: "/nonexistent/secret-name.json" }),
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe("STYTCH_ROUTE_PERMISSIONS_FILE cannot be read");
  });
});
