import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { API_ROUTES } from "../infra/demo/routes";
import { AUTHORIZER_ENTRY, REPO_ROOT, resolveEntry } from "../infra/lambda-defaults";

describe("route table", () => {
  test("every route has a unique method and path", () => {
    const keys = API_ROUTES.map((route) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(expect.arrayContaining(["GET /me", "POST /auth/refresh"]));
  });

  test("paths start with a slash and carry no stage prefix or trailing slash; parameters are whole segments", () => {
    for (const route of API_ROUTES) {
      expect(route.path).toMatch(/^(\/([a-z0-9-]+|\{[a-z_]+\}))+$/);
    }
  });

  test("every route behind the authorizer declares its permission; public routes declare none", () => {
    for (const route of API_ROUTES)
      expect(route.permission !== undefined, `${route.method} ${route.path}`).toBe(route.authorization === "stytch");
  });

  test("the agreed demo routes keep their paths and permissions (the demo page calls them)", () => {
    const byKey = new Map(API_ROUTES.map((route) => [`${route.method} ${route.path}`, route.permission]));
    expect(byKey.get("GET /orgs/{organization_id}/documents")).toEqual({ resourceId: "documents", action: "read" });
    expect(byKey.get("POST /orgs/{organization_id}/documents")).toEqual({ resourceId: "documents", action: "write" });
    expect(byKey.get("GET /orgs/{organization_id}/billing")).toEqual({ resourceId: "billing", action: "read" });
    expect(byKey.get("GET /me")).toBe("authenticated");
  });

  test("/me is protected by the Stytch authorizer and the refresh route is public", () => {
    const byKey = new Map(API_ROUTES.map((route) => [`${route.method} ${route.path}`, route]));
    expect(byKey.get("GET /me")?.authorization).toBe("stytch");
    expect(byKey.get("POST /auth/refresh")?.authorization).toBe("none");
  });

  test("every handler file and the authorizer file exist in the repository", () => {
    for (const entry of [...API_ROUTES.map((route) => route.entry), AUTHORIZER_ENTRY]) {
      expect(existsSync(resolveEntry(entry)), entry).toBe(true);
    }
  });

  test("routes that share a function id share one handler file", () => {
    const entries = new Map<string, Set<string>>();
    for (const route of API_ROUTES) {
      entries.set(
        route.functionId,
        (entries.get(route.functionId) ?? new Set()).add(`${route.entry}#${route.handler}`),
      );
    }
    for (const [functionId, files] of entries) expect(files.size, functionId).toBe(1);
  });

  test("every route has a description", () => {
    for (const route of API_ROUTES) expect(route.description.length).toBeGreaterThan(10);
  });
});

describe("resolveEntry", () => {
  test("resolves a repository-relative entry to an absolute path under the repository root", () => {
    expect(REPO_ROOT).toBe(path.resolve(__dirname, ".."));
    expect(resolveEntry("lambda/demo/me.ts")).toBe(path.join(REPO_ROOT, "lambda", "demo", "me.ts"));
  });

  test("rejects absolute entries and entries that escape the repository", () => {
    expect(() => resolveEntry("/etc/passwd")).toThrow(/relative/);
    expect(() => resolveEntry("../outside.ts")).toThrow(/outside/);
  });
});

test("the route table imports no CDK code, so a plain Node server can load it cheaply", () => {
  const source = readFileSync(path.join(REPO_ROOT, "infra", "demo", "routes.ts"), "utf8");
  // Type-only imports are erased at run time; anything else would load at start-up.
  const imports = [...source.matchAll(/^import (?!type ).* from "([^"]+)";$/gm)].map((match) => match[1]);
  expect(imports).toEqual([]);
});
