// The member's IAM policy of a route table (see buildMemberIamPolicy).

import type { PolicyDocument } from "aws-lambda";
import { IamPolicyTooLargeError } from "../errors";
import { findLeak, type LeakQuestion, routeGlobs, type TenantBinding } from "./arn-patterns";
import { hasPermission, type RbacRole } from "./permission-check";
import { acceptsCaller, type PermissionedRoute, type RoutePermissions } from "./route-table";

/** The member facts the member's IAM policy depends on (all of them come from the token). */
export interface IamPolicyMember {
  readonly organizationId: string;
  readonly organizationSlug: string;
  readonly roles: readonly string[];
}

/**
 * Any caller, as its IAM policy sees it: its own tenancy values and the routes it may call. A member or a
 * Connected App (the member it acts for) has both values; an M2M client has neither, so no organization value of
 * a request is ever its own: it reaches no tenancy route, and {@link findLeak} counts every tenancy value as
 * another organization's for it.
 */
export interface IamPolicySubject {
  readonly organizationId?: string;
  readonly organizationSlug?: string;
  /** Whether the caller may call the route in its own organization: its caller type and its permission. */
  readonly mayCall: (route: PermissionedRoute) => boolean;
}

/**
 * Size budget of the IAM policy document (JSON bytes). API Gateway documents 8 KB for an authorizer's answer
 * (WebSocket APIs; REST accepts more in practice, unverified); the context takes up to about 2 KB more.
 */
export const IAM_POLICY_BUDGET_BYTES = 6_144;

/** An IAM policy document of execute-api:Invoke statements, each an effect on its resources (one ARN or several). */
export function invokeIamPolicy(
  ...statements: ReadonlyArray<readonly ["Allow" | "Deny", string | string[]]>
): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: statements.map(([Effect, Resource]) => ({ Action: "execute-api:Invoke", Effect, Resource })),
  };
}

// What a tenancy value may contain to be written into an ARN: no IAM wildcard, no path separator.
const ARN_SAFE_VALUE = /^[A-Za-z0-9._~-]{1,128}$/;

/**
 * The IAM policy document of one member, for a route table: exactly the routes this member may call, in their
 * own organization, and nothing that depends on the request that happened to trigger the authorizer. API
 * Gateway caches the IAM policy under the credential and reuses it for every route, so it must be right for
 * all of them at once.
 *
 * ```text
 * allow  each permitted route, `{organization_id}`/`{organization_slug}` written as the member's own,
 *        other parameters `?*`                        GET /orgs/{organization_id}/documents/{id}
 *                                                     → …/GET/orgs/o1/documents/?*
 * check  each Allow, with the member's real values written in, against every route of the table
 *        ({@link findLeak}): if it lets through a request that a forbidden route could serve, that route is
 *        denied (`…/GET/orgs/*\/documents/*\/audit`; an explicit Deny always wins); if it lets through another
 *        organization's request of a route the member may call (a slug `orgs` makes `GET/orgs/?*\/documents`
 *        of `GET /{organization_slug}/{project_id}/documents`, and API Gateway sends `GET /orgs/o2/documents`
 *        to `GET /orgs/{organization_id}/documents`), the Allow is dropped.
 * merge  when the document outgrows the size budget: one method `*` for a path, then shared prefixes
 *        `…/orgs/o1/documents/*`, each merge checked the same way, and kept only if nothing leaks.
 * ```
 *
 * A route with step-up requirements counts as one the member may call only where `meetsStepUp` says so (the
 * caller judges them for the whole time API Gateway may reuse the document, lambda/lib/permissions/step-up.ts);
 * otherwise it is a route the member may not call, like one whose permission they lack.
 *
 * @param stagePrefix `arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}`
 * @param meetsStepUp whether the member meets a route's step-up requirements; asked only for routes that have them
 * @throws IamPolicyTooLargeError when even the merged document exceeds the budget
 */
export function buildMemberIamPolicy(
  table: RoutePermissions,
  member: IamPolicyMember,
  rbacRoles: readonly RbacRole[],
  stagePrefix: string,
  budgetBytes: number = IAM_POLICY_BUDGET_BYTES,
  meetsStepUp: (route: PermissionedRoute) => boolean = () => false,
): PolicyDocument {
  return buildIamPolicy(
    table,
    {
      organizationId: member.organizationId,
      organizationSlug: member.organizationSlug,
      mayCall: (route) =>
        acceptsCaller(route, "member") &&
        (route.permission === "authenticated" ||
          hasPermission(rbacRoles, member.roles, route.permission.resourceId, route.permission.action)) &&
        (route.stepUp === undefined || meetsStepUp(route)),
    },
    stagePrefix,
    budgetBytes,
  );
}

/**
 * The IAM policy document of any caller ({@link IamPolicySubject}), built and proven as
 * {@link buildMemberIamPolicy} describes: a member, a Connected App in the member's organization, an M2M client
 * without one. Routes the caller's type may not call are simply routes it may not call: never allowed, and
 * denied where an Allow's wildcard would reach them.
 * @throws IamPolicyTooLargeError when even the merged document exceeds the budget
 */
export function buildIamPolicy(
  table: RoutePermissions,
  subject: IamPolicySubject,
  stagePrefix: string,
  budgetBytes: number = IAM_POLICY_BUDGET_BYTES,
): PolicyDocument {
  const { organizationId, organizationSlug } = subject;
  const binding: TenantBinding = {
    ...(organizationId !== undefined && ARN_SAFE_VALUE.test(organizationId) ? { organization_id: organizationId } : {}),
    ...(organizationSlug !== undefined && ARN_SAFE_VALUE.test(organizationSlug)
      ? { organization_slug: organizationSlug }
      : {}),
  };
  const question: LeakQuestion = {
    table,
    member: binding,
    mayCall: (route) => mayCall(route, subject, binding),
  };
  const denies: string[] = [];
  const permitted = table.routes.filter(question.mayCall);
  let allows = unique(permitted.flatMap((route) => routeGlobs(route, binding))).filter((glob) =>
    settle(question, glob, denies),
  );
  let document = render(allows, denies, stagePrefix);
  for (const merge of mergeSteps(allows)) {
    if (byteLength(document) <= budgetBytes) break;
    allows = merge(allows, question, denies);
    document = render(allows, denies, stagePrefix);
  }
  if (byteLength(document) > budgetBytes) {
    throw new IamPolicyTooLargeError(
      `the IAM policy of a member is ${byteLength(document)} bytes even merged (budget ${budgetBytes})`,
    );
  }
  return document;
}

/**
 * Makes one Allow safe: while it lets a request through to a route the member may not call, that route is
 * denied (in every organization). Answers false, leaving `denies` as it was, when the Allow reaches another
 * organization's request of a route the member may call: a Deny there would close the member's own, so the
 * Allow must go.
 */
function settle(question: LeakQuestion, glob: string, denies: string[]): boolean {
  const added: string[] = [];
  for (;;) {
    const leak = findLeak(question, [glob], [...denies, ...added]);
    if (!leak) break;
    if (leak.kind === "tenancy") return false;
    added.push(...routeGlobs(leak.route, {}, "*").filter((deny) => !denies.includes(deny) && !added.includes(deny)));
  }
  denies.push(...added);
  return true;
}

/** Whether the caller may call the route in its own organization (tenancy is settled by the binding). */
function mayCall(route: PermissionedRoute, subject: IamPolicySubject, binding: TenantBinding): boolean {
  // A tenancy value that cannot be written into an ARN safely (or that the caller has none of) gives no access to
  // routes that need it.
  if (route.segments.some((segment) => segment.kind === "tenant" && binding[segment.name] === undefined)) return false;
  return subject.mayCall(route);
}

function render(allows: readonly string[], denies: readonly string[], stagePrefix: string): PolicyDocument {
  if (allows.length === 0) {
    // Nothing to allow: an explicit Deny of the stage is the valid way to say so.
    return invokeIamPolicy(["Deny", `${stagePrefix}/*/*`]);
  }
  const allow = ["Allow", allows.map((glob) => `${stagePrefix}/${glob}`)] as const;
  return denies.length > 0
    ? invokeIamPolicy(allow, ["Deny", denies.map((glob) => `${stagePrefix}/${glob}`)])
    : invokeIamPolicy(allow);
}

type MergeStep = (allows: readonly string[], question: LeakQuestion, denies: string[]) => string[];

/** Coarser and coarser merges: one method `*` per path, then shared prefixes from the deepest up. */
function mergeSteps(allows: readonly string[]): MergeStep[] {
  const depth = Math.max(0, ...allows.map((glob) => glob.split("/").length - 1));
  const steps: MergeStep[] = [(current, question, denies) => mergeGroups(current, question, denies, methodGroup)];
  for (let d = depth - 1; d >= 1; d--)
    steps.push((current, question, denies) => mergeGroups(current, question, denies, (glob) => prefixGroup(glob, d)));
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
function mergeGroups(
  allows: readonly string[],
  question: LeakQuestion,
  denies: string[],
  groupOf: (glob: string) => { key: string; merged: string } | undefined,
): string[] {
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
    if (!settle(question, merged, denies)) continue;
    for (const member of members) replaced.set(member, merged);
  }
  return unique(allows.map((glob) => replaced.get(glob) ?? glob));
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function byteLength(document: PolicyDocument): number {
  return Buffer.byteLength(JSON.stringify(document));
}
