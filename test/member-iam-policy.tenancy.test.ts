// Tenancy is a proof, not a test: for any route table and any member, no request that the member's IAM policy
// allows may reach a route in another organization, or a route the member may not call. Judged with IAM's
// rules (local/iam-policy-evaluator: `*` crosses `/`, `?` is one character, an explicit Deny wins) against
// every route a request could be routed to, whatever API Gateway's precedence between them.

import { describe, expect, test } from "vitest";
import type { Caller } from "../lambda/lib/callers/caller";
import { m2mScopesGrant } from "../lambda/lib/callers/m2m-scopes";
import { buildIamPolicy, buildMemberIamPolicy } from "../lambda/lib/permissions/member-iam-policy";
import type { RbacRole, RbacScope } from "../lambda/lib/permissions/permission-check";
import { hasPermission, scopesGrant } from "../lambda/lib/permissions/permission-check";
import { type CallerPolicy, iamPolicySubject } from "../lambda/lib/permissions/route-access";
import {
  type PermissionedRoute,
  parseRoutePermissions,
  type RoutePermissions,
} from "../lambda/lib/permissions/route-table";
import { evaluateIamPolicy } from "../local/iam-policy-evaluator";
import { DEMO_RBAC_POLICY } from "../local/stytch-emulator";

const PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
const ROLES = DEMO_RBAC_POLICY.roles as RbacRole[];
const ORG = "organization-test-11111111-1111-4111-8111-111111111111";
const OTHER = "organization-test-22222222-2222-4222-8222-222222222222";
const READ = { resource_id: "documents", action: "read" };

interface Member {
  readonly organizationId: string;
  readonly organizationSlug: string;
  readonly roles: readonly string[];
}

const viewer = (organizationSlug: string): Member => ({
  organizationId: ORG,
  organizationSlug,
  roles: ["stytch_member", "viewer"],
});
const table = (routes: Record<string, unknown>) => parseRoutePermissions(JSON.stringify(routes), "test");
const allows = (policy: unknown, method: string, path: string) =>
  evaluateIamPolicy(policy, `${PREFIX}/${method}${path}`) === "allow";

describe("a slug that equals a route's literal", () => {
  test("slug `orgs` next to /orgs/{organization_id}: another organization's documents stay closed", () => {
    const routes = table({
      "GET /{organization_slug}/{project_id}/documents": READ,
      "GET /orgs/{organization_id}/documents": READ,
    });
    const policy = buildMemberIamPolicy(routes, viewer("orgs"), ROLES, PREFIX);
    // API Gateway routes this to the literal route, for the other organization: never allowed.
    expect(allows(policy, "GET", `/orgs/${OTHER}/documents`)).toBe(false);
    expect(allows(policy, "GET", `/orgs/${ORG}/documents`)).toBe(true);
    // The slug route keeps working for a member whose slug is not a literal.
    const acme = buildMemberIamPolicy(routes, viewer("acme"), ROLES, PREFIX);
    expect(allows(acme, "GET", "/acme/p1/documents")).toBe(true);
    expect(allows(acme, "GET", `/orgs/${OTHER}/documents`)).toBe(false);
  });

  test("slug `v1` with ANY /{organization_slug}/{proxy+} next to /v1/orgs/{organization_id}/…", () => {
    const routes = table({
      "ANY /{organization_slug}/{proxy+}": "authenticated",
      "GET /v1/orgs/{organization_id}/documents": READ,
    });
    const policy = buildMemberIamPolicy(routes, viewer("v1"), ROLES, PREFIX);
    expect(allows(policy, "GET", `/v1/orgs/${OTHER}/documents`)).toBe(false);
    expect(allows(policy, "GET", `/v1/orgs/${ORG}/documents`)).toBe(true);
    // Only what could reach the other route is given up: the other methods of the slug route still pass.
    expect(allows(policy, "POST", "/v1/anything/at/all")).toBe(true);
  });

  test("a forbidden organization route under the member's slug route is denied, and the slug route kept", () => {
    const routes = table({
      "ANY /{organization_slug}/{proxy+}": "authenticated",
      "GET /v1/orgs/{organization_id}/billing": { resource_id: "billing", action: "read" },
    });
    const policy = buildMemberIamPolicy(routes, viewer("v1"), ROLES, PREFIX);
    expect(allows(policy, "GET", `/v1/orgs/${OTHER}/billing`)).toBe(false);
    expect(allows(policy, "GET", `/v1/orgs/${ORG}/billing`)).toBe(false);
    expect(allows(policy, "GET", "/v1/reports")).toBe(true);
  });

  test("a table where a slug could name another organization's ID is refused when it is read", () => {
    // GET /a/{slug}/b goes to the ID route: a slug chosen to equal another organization's ID would reach it.
    expect(() => table({ "GET /a/{organization_slug}/{item}": READ, "GET /a/{organization_id}/b": READ })).toThrow(
      /would also match "GET \/a\/\{organization_id\}\/b"/,
    );
  });

  test("parameters are written `?*`: an empty segment or a trailing slash is never covered", () => {
    const routes = table({
      "GET /orgs/{organization_id}/documents/{document_id}": READ,
      "GET /orgs/{organization_id}/documents": { resource_id: "billing", action: "read" },
    });
    const policy = buildMemberIamPolicy(routes, viewer("acme"), ROLES, PREFIX);
    expect(allows(policy, "GET", `/orgs/${ORG}/documents/d1`)).toBe(true);
    // A viewer may not list: whatever API Gateway makes of a trailing slash, the Allow does not cover it.
    expect(allows(policy, "GET", `/orgs/${ORG}/documents`)).toBe(false);
    expect(allows(policy, "GET", `/orgs/${ORG}/documents/`)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Generated tables: the property, over thousands of tables with hostile slugs.

/** A small deterministic PRNG (mulberry32), so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LITERALS = ["orgs", "v1", "api", "documents", "x"];
const SLUGS = ["acme", "orgs", "v1", "api", "documents", OTHER];
const PERMISSIONS: unknown[] = ["authenticated", READ, { resource_id: "billing", action: "read" }];

function generateTable(next: () => number): RoutePermissions | undefined {
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
  const routes: Record<string, unknown> = {};
  const count = 2 + Math.floor(next() * 4);
  for (let r = 0; r < count; r++) {
    const length = 1 + Math.floor(next() * 4);
    const segments: string[] = [];
    const used = new Set<string>();
    for (let s = 0; s < length; s++) {
      const roll = next();
      const last = s === length - 1;
      let segment: string;
      if (roll < 0.45) segment = pick(LITERALS);
      else if (roll < 0.6) segment = "{organization_id}";
      else if (roll < 0.75) segment = "{organization_slug}";
      else if (roll < 0.9 || !last) segment = `{p${s}}`;
      else segment = "{proxy+}";
      if (segment.startsWith("{") && used.has(segment)) segment = `{q${s}}`;
      used.add(segment);
      segments.push(segment);
    }
    routes[`${pick(["GET", "POST", "ANY"])} /${segments.join("/")}`] = pick(PERMISSIONS);
  }
  try {
    return table(routes);
  } catch {
    return undefined; // a table the parser refuses is never deployed
  }
}

/**
 * Every route that could serve a request. API Gateway serves it with the most specific route; we assume only
 * what holds whatever order it compares segments in: a route is ruled out by another that is at least as
 * specific at every segment (literal over parameter over greedy, a method over ANY) and more specific at one.
 */
function servingRoutes(
  routes: RoutePermissions,
  method: string,
  segments: readonly string[],
): Array<{ route: PermissionedRoute; values: Map<string, string> }> {
  const matching = matchingRoutes(routes, method, segments);
  const rank = (route: PermissionedRoute, position: number): number => {
    if (position === 0) return route.method === "ANY" ? 1 : 2;
    const segment = route.segments[Math.min(position - 1, route.segments.length - 1)]!;
    if (segment.kind === "greedy") return 0;
    return position - 1 < route.segments.length && segment.kind === "literal" ? 2 : 1;
  };
  const outranks = (a: PermissionedRoute, b: PermissionedRoute) => {
    let strictly = false;
    for (let position = 0; position <= segments.length; position++) {
      if (rank(a, position) < rank(b, position)) return false;
      if (rank(a, position) > rank(b, position)) strictly = true;
    }
    return strictly;
  };
  return matching.filter(
    ({ route }) => !matching.some((other) => other.route !== route && outranks(other.route, route)),
  );
}

/** Every route whose pattern matches a request. */
function matchingRoutes(
  routes: RoutePermissions,
  method: string,
  segments: readonly string[],
): Array<{ route: PermissionedRoute; values: Map<string, string> }> {
  const found: Array<{ route: PermissionedRoute; values: Map<string, string> }> = [];
  for (const route of routes.routes) {
    if (route.method !== "ANY" && route.method !== method) continue;
    const values = new Map<string, string>();
    const greedy = route.segments.at(-1)?.kind === "greedy";
    if (greedy ? segments.length < route.segments.length : segments.length !== route.segments.length) continue;
    const ok = route.segments.every((segment, i) => {
      const value = segments[i]!;
      if (segment.kind === "literal") return segment.value === value;
      if (value === "") return false;
      if (segment.kind === "tenant") values.set(segment.name, value);
      return true;
    });
    if (ok) found.push({ route, values });
  }
  return found;
}

function mayCall(member: Member, route: PermissionedRoute, values: Map<string, string>): boolean {
  if (values.has("organization_id") && values.get("organization_id") !== member.organizationId) return false;
  if (values.has("organization_slug") && values.get("organization_slug") !== member.organizationSlug) return false;
  return (
    route.permission === "authenticated" ||
    hasPermission(ROLES, member.roles, route.permission.resourceId, route.permission.action)
  );
}

describe("generated tables with hostile slugs", () => {
  test("no allowed request reaches another organization's route or a route the member may not call", () => {
    const next = random(20261202);
    const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
    const pathVocabulary = [...LITERALS, ORG, OTHER, "acme", "globex", "p"];
    let tables = 0;
    let allowed = 0;
    for (let t = 0; t < 1_500; t++) {
      const routes = generateTable(next);
      if (!routes) continue;
      tables++;
      const member: Member = {
        organizationId: ORG,
        organizationSlug: pick(SLUGS),
        roles: ["stytch_member", pick(["viewer", "admin", "editor"])],
      };
      const policy = buildMemberIamPolicy(routes, member, ROLES, PREFIX);
      for (let q = 0; q < 60; q++) {
        const segments = Array.from({ length: 1 + Math.floor(next() * 5) }, () =>
          next() < 0.5 ? member.organizationSlug : pick(pathVocabulary),
        );
        const method = pick(["GET", "POST", "DELETE"]);
        if (!allows(policy, method, `/${segments.join("/")}`)) continue;
        allowed++;
        for (const { route, values } of servingRoutes(routes, method, segments)) {
          if (!mayCall(member, route, values)) {
            throw new Error(
              `table ${t}: ${method} /${segments.join("/")} is allowed for slug "${member.organizationSlug}" but reaches "${route.routeKey}"\n${JSON.stringify(routes.routes.map((r) => r.routeKey))}\n${JSON.stringify(policy)}`,
            );
          }
        }
      }
    }
    // The generator must exercise the property, not skip it.
    expect(tables).toBeGreaterThan(500);
    expect(allowed).toBeGreaterThan(2_000);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Machine callers: the same proof for every caller type. An M2M client has no organization (no tenancy value is
// ever its own), a Connected App acts in its member's organization, and each may call only the routes that accept
// its type; members may not call routes that accept machines only.

const CALLER_SETS = [
  ["member"],
  ["m2m"],
  ["connected_app"],
  ["member", "connected_app"],
  ["member", "m2m", "connected_app"],
];
const M2M_SCOPE_SETS = [[], ["read:documents"], ["read:*"], ["read:billing", "write:*"]];
const APP_SCOPE_SETS = [[], ["read:documents"], ["write:documents"], ["openid"]];

function generateCallerTable(next: () => number): RoutePermissions | undefined {
  const base = generateTable(next);
  if (!base) return undefined;
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
  const routes: Record<string, unknown> = {};
  for (const route of base.routes) {
    const permission =
      route.permission === "authenticated"
        ? {}
        : { resource_id: route.permission.resourceId, action: route.permission.action };
    routes[route.routeKey] = { ...permission, callers: pick(CALLER_SETS) };
  }
  try {
    return table(routes);
  } catch {
    return undefined; // e.g. an M2M route with an organization parameter: the parser refuses it
  }
}

function callerMayCall(caller: Caller, route: PermissionedRoute, values: Map<string, string>): boolean {
  if (!route.callers.includes(caller.type)) return false;
  const organization = caller.type === "m2m" ? undefined : caller.member;
  if (values.has("organization_id") && values.get("organization_id") !== organization?.organizationId) return false;
  if (values.has("organization_slug") && values.get("organization_slug") !== organization?.organizationSlug)
    return false;
  if (route.permission === "authenticated") return true;
  const { resourceId, action } = route.permission;
  if (caller.type === "member") return hasPermission(ROLES, caller.member.roles, resourceId, action);
  if (caller.type === "m2m") return m2mScopesGrant(caller.scopes, resourceId, action);
  return scopesGrant(DEMO_RBAC_POLICY.scopes as RbacScope[], caller.scopes, resourceId, action);
}

function policyOf(caller: Caller): CallerPolicy {
  if (caller.type === "member") return { type: "member", rbacRoles: { roles: ROLES, version: "v" }, version: "v" };
  if (caller.type === "m2m") return { type: "m2m", version: "" };
  return {
    type: "connected_app",
    rbacScopes: { scopes: DEMO_RBAC_POLICY.scopes as RbacScope[], version: "v" },
    version: "v",
  };
}

describe("generated tables with machine callers", () => {
  test("no caller's allowed request reaches a route of another type, another organization, or beyond its grant", () => {
    const next = random(20261216);
    const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
    const pathVocabulary = [...LITERALS, ORG, OTHER, "acme", "globex", "p"];
    let tables = 0;
    const allowed: Record<string, number> = { member: 0, m2m: 0, connected_app: 0 };
    for (let t = 0; t < 1_500; t++) {
      const routes = generateCallerTable(next);
      if (!routes) continue;
      tables++;
      const slug = pick(SLUGS);
      const callers: Caller[] = [
        {
          type: "member",
          member: {
            memberId: "member-test-1",
            memberSessionId: "member-session-test-1",
            organizationId: ORG,
            organizationSlug: slug,
            roles: ["stytch_member", pick(["viewer", "admin", "editor"])],
            authMethod: "jwt",
            sessionExpiresAt: "2030-01-01T00:00:00Z",
            customClaims: {},
            authenticationFactors: [],
          },
        },
        {
          type: "m2m",
          clientId: "m2m-client-test-1",
          scopes: pick(M2M_SCOPE_SETS),
          tokenExpiresAt: "",
          customClaims: {},
        },
        {
          type: "connected_app",
          clientId: "connected-app-test-1",
          scopes: pick(APP_SCOPE_SETS),
          tokenExpiresAt: "",
          member: { memberId: "member-test-1", organizationId: ORG, organizationSlug: slug },
          customClaims: {},
        },
      ];
      for (const caller of callers) {
        const policy = buildIamPolicy(routes, iamPolicySubject(caller, policyOf(caller)), PREFIX);
        for (let q = 0; q < 40; q++) {
          const segments = Array.from({ length: 1 + Math.floor(next() * 5) }, () =>
            next() < 0.4 ? slug : pick(pathVocabulary),
          );
          const method = pick(["GET", "POST", "DELETE"]);
          if (!allows(policy, method, `/${segments.join("/")}`)) continue;
          allowed[caller.type]! += 1;
          for (const { route, values } of servingRoutes(routes, method, segments)) {
            if (!callerMayCall(caller, route, values)) {
              throw new Error(
                `table ${t}: ${method} /${segments.join("/")} is allowed for ${caller.type} but reaches "${route.routeKey}" (${route.callers.join(",")})\n${JSON.stringify(policy)}`,
              );
            }
          }
        }
      }
    }
    expect(tables).toBeGreaterThan(300);
    for (const type of ["member", "m2m", "connected_app"]) expect(allowed[type], type).toBeGreaterThan(200);
  });
});
