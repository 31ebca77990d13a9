// The per-member IAM policy of a route table: exactly the routes this member may call, in their own
// organization, and nothing that depends on the request that happened to trigger the authorizer. API
// Gateway caches the policy under the credential and reuses it for every route, so it must be right for all
// of them at once.
//
//   allow  each permitted route, `{organization_id}`/`{organization_slug}` written as the member's own,
//          other parameters `*`                         GET /orgs/{organization_id}/documents/{id}
//                                                       → …/GET/orgs/o1/documents/*
//   deny   each forbidden route that some allowed `*` would also cover (IAM's `*` crosses `/`), e.g.
//          …/GET/orgs/*/documents/*/audit next to the allow above. An explicit Deny always wins.
//   merge  when the document outgrows the size budget: one method `*` for a path, then shared prefixes
//          `…/orgs/o1/documents/*`, each merge only if it cannot reach another organization's route;
//          Deny statements are recomputed after every merge.

import type { PolicyDocument } from "aws-lambda";
import { foreignRequests, globTokens, intersects, routeGlobs, routeTokens, type PatternToken, type TenantBinding } from "./arn-patterns";
import { PolicyTooLargeError } from "./errors";
import { hasPermission, type PolicyRole } from "./permission-check";
import type { PermissionedRoute, RoutePermissions } from "./route-permissions";

/** The member facts a route policy depends on (all of them come from the token). */
export interface PolicyMember {
  readonly organizationId: string;
  readonly organizationSlug: string;
  readonly roles: readonly string[];
}

/**
 * Size budget of the policy document (JSON bytes). API Gateway documents 8 KB for an authorizer's answer
 * (WebSocket APIs; REST accepts more in practice, unverified); the context takes up to about 2 KB more.
 */
export const POLICY_BUDGET_BYTES = 6_144;

/** A policy document of execute-api:Invoke statements, each an effect on its resources (one ARN or several). */
export function invokePolicy(...statements: ReadonlyArray<readonly ["Allow" | "Deny", string | string[]]>): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements.map(([Effect, Resource]) => ({ Action: "execute-api:Invoke", Effect, Resource })) };
}

// What a tenancy value may contain to be written into an ARN: no IAM wildcard, no path separator.
const ARN_SAFE_VALUE = /^[A-Za-z0-9._~-]{1,128}$/;

interface CompiledRoute {
  readonly route: PermissionedRoute;
  /** Every request of the route, in any organization. */
  readonly tokens: PatternToken[];
  /** The route's patterns with every parameter `*`: its Deny statement. */
  readonly denyGlobs: readonly string[];
}

interface CompiledTable {
  readonly routes: readonly CompiledRoute[];
  /** Requests of organization routes in some other organization: no Allow may ever cover one. */
  readonly foreign: readonly PatternToken[][];
}

const compiledTables = new WeakMap<RoutePermissions, CompiledTable>();

/**
 * The policy document for one member.
 * @param stagePrefix `arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}`
 * @throws PolicyTooLargeError when even the merged document exceeds the budget
 */
export function buildRoutePolicy(
  table: RoutePermissions,
  member: PolicyMember,
  policyRoles: readonly PolicyRole[],
  stagePrefix: string,
  budgetBytes: number = POLICY_BUDGET_BYTES,
): PolicyDocument {
  const compiled = compile(table);
  const binding: TenantBinding = {
    ...(ARN_SAFE_VALUE.test(member.organizationId) ? { organization_id: member.organizationId } : {}),
    ...(ARN_SAFE_VALUE.test(member.organizationSlug) ? { organization_slug: member.organizationSlug } : {}),
  };
  const permitted: CompiledRoute[] = [];
  const forbidden: CompiledRoute[] = [];
  for (const entry of compiled.routes) (mayCall(entry.route, member, policyRoles, binding) ? permitted : forbidden).push(entry);

  let allows = unique(permitted.flatMap((entry) => routeGlobs(entry.route, binding)));
  let document = render(allows, forbidden, stagePrefix);
  for (const merge of mergeSteps(allows)) {
    if (byteLength(document) <= budgetBytes) break;
    allows = merge(allows, compiled.foreign);
    document = render(allows, forbidden, stagePrefix);
  }
  if (byteLength(document) > budgetBytes) {
    throw new PolicyTooLargeError(`the route policy of a member is ${byteLength(document)} bytes even merged (budget ${budgetBytes})`);
  }
  return document;
}

/** Whether the member may call the route in their own organization (tenancy is settled by the binding). */
function mayCall(route: PermissionedRoute, member: PolicyMember, policyRoles: readonly PolicyRole[], binding: TenantBinding): boolean {
  // A tenancy value that cannot be written into an ARN safely gives no access to routes that need it.
  if (route.segments.some((segment) => segment.kind === "tenant" && binding[segment.name] === undefined)) return false;
  return route.permission === "authenticated" || hasPermission(policyRoles, member.roles, route.permission.resourceId, route.permission.action);
}

function render(allows: readonly string[], forbidden: readonly CompiledRoute[], stagePrefix: string): PolicyDocument {
  if (allows.length === 0) {
    // Nothing to allow: an explicit Deny of the stage is the valid way to say so.
    return invokePolicy(["Deny", `${stagePrefix}/*/*`]);
  }
  const allowTokens = allows.map(globTokens);
  const denies = unique(forbidden.filter((entry) => allowTokens.some((tokens) => intersects(tokens, entry.tokens))).flatMap((entry) => entry.denyGlobs));
  const allow = ["Allow", allows.map((glob) => `${stagePrefix}/${glob}`)] as const;
  return denies.length > 0 ? invokePolicy(allow, ["Deny", denies.map((glob) => `${stagePrefix}/${glob}`)]) : invokePolicy(allow);
}

type MergeStep = (allows: readonly string[], foreign: readonly PatternToken[][]) => string[];

/** Coarser and coarser merges: one method `*` per path, then shared prefixes from the deepest up. */
function mergeSteps(allows: readonly string[]): MergeStep[] {
  const depth = Math.max(0, ...allows.map((glob) => glob.split("/").length - 1));
  const steps: MergeStep[] = [(current, foreign) => mergeGroups(current, foreign, methodGroup)];
  for (let d = depth - 1; d >= 1; d--) steps.push((current, foreign) => mergeGroups(current, foreign, (glob) => prefixGroup(glob, d)));
  return steps;
}

/** `GET/a/b` and `POST/a/b` → `*\/a/b`. */
function methodGroup(glob: string): { key: string; merged: string } | undefined {
  const slash = glob.indexOf("/");
  const path = glob.slice(slash + 1);
  return { key: path, merged: `*/${path}` };
}

/** `GET/a/b/c` and `GET/a/b/d` at depth 2 → `GET/a/b/*`; only below a prefix without wildcards. */
function prefixGroup(glob: string, depth: number): { key: string; merged: string } | undefined {
  const parts = glob.split("/");
  if (parts.length - 1 <= depth) return undefined;
  const prefix = parts.slice(0, depth + 1).join("/");
  if (/[*?]/.test(prefix.slice(prefix.indexOf("/") + 1))) return undefined;
  return { key: prefix, merged: `${prefix}/*` };
}

/** Replaces each group of two or more patterns by its merged pattern, unless that could reach another organization. */
function mergeGroups(allows: readonly string[], foreign: readonly PatternToken[][], groupOf: (glob: string) => { key: string; merged: string } | undefined): string[] {
  const groups = new Map<string, { merged: string; members: string[] }>();
  for (const glob of allows) {
    const group = groupOf(glob);
    if (!group) continue;
    const entry = groups.get(group.key) ?? { merged: group.merged, members: [] };
    entry.members.push(glob);
    groups.set(group.key, entry);
  }
  const replaced = new Map<string, string>();
  for (const { merged, members } of groups.values()) {
    if (members.length < 2) continue;
    const tokens = globTokens(merged);
    if (foreign.some((other) => intersects(tokens, other))) continue;
    for (const member of members) replaced.set(member, merged);
  }
  return unique(allows.map((glob) => replaced.get(glob) ?? glob));
}

function compile(table: RoutePermissions): CompiledTable {
  let compiled = compiledTables.get(table);
  if (!compiled) {
    compiled = {
      routes: table.routes.map((route) => ({ route, tokens: routeTokens(route), denyGlobs: routeGlobs(route) })),
      foreign: foreignRequests(table.routes).map((request) => request.tokens),
    };
    compiledTables.set(table, compiled);
  }
  return compiled;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function byteLength(document: PolicyDocument): number {
  return Buffer.byteLength(JSON.stringify(document));
}
