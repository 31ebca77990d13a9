/**
 * The authorizer's route table, compiled from the routes as they are attached (issue 10).
 *
 * Each protected route declares what it needs where it is attached (`table.add("GET",
 * "/orgs/{organization_id}/documents", { resourceId: "documents", action: "read" })`), and who may call it
 * (members by default; `{ callers: ["member", "connected_app"] }` opens it to agents too); the construct writes
 * the compiled table into the authorizer's `STYTCH_ROUTE_PERMISSIONS` (or, beyond Lambda's 4 KB environment,
 * into a layer's file named by `STYTCH_ROUTE_PERMISSIONS_FILE`) when the app synthesizes, so routes added
 * after the authorizer was created are included. Optionally the table is checked at synth time
 * against the Stytch RBAC policy of a project snapshot (or a checked-in copy of the policy): a route naming a
 * resource or an action the policy does not define fails the synth instead of refusing every caller in production.
 *
 * Each entry is checked with the authorizer's own parser as it is declared (lambda/lib/permissions/route-table.ts).
 *
 * @module
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Aspects, type Duration, type IAspect } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type { IConstruct } from "constructs";
import type { CallerType } from "../lambda/lib/callers/caller";
import {
  DEFAULT_CALLERS,
  parseRoute,
  type RoutePermission,
  routeEntryJson,
} from "../lambda/lib/permissions/route-table";
import type { FactorRequirement, ImpersonationRule } from "../lambda/lib/permissions/step-up";
import { ENVIRONMENT_VARIABLE } from "../lambda/lib/settings";
import { checkProjectSnapshot, claimsToBeSnapshot, InvalidSnapshotError } from "../lambda/lib/stytch/project-snapshot";

export type { CallerType, FactorRequirement, ImpersonationRule, RoutePermission };

/** The environment variable the authorizer reads its table from. */
export const ROUTE_PERMISSIONS_VARIABLE = ENVIRONMENT_VARIABLE.routePermissions;
/** The environment variable naming the table's file, for tables too large for the environment. */
export const ROUTE_PERMISSIONS_FILE_VARIABLE = ENVIRONMENT_VARIABLE.routePermissionsFile;
/** Where a large table's layer puts it: Lambda mounts layers under /opt. */
export const ROUTE_PERMISSIONS_LAYER_FILE = "/opt/stytch-route-permissions.json";
/**
 * Lambda allows 4 KB for all environment variables of a function together; the Stytch settings take a few
 * hundred bytes, so a table above this size is shipped as a file in a layer instead (STYTCH_ROUTE_PERMISSIONS_FILE).
 */
const ROUTE_TABLE_ENVIRONMENT_BUDGET_BYTES = 3_072;

/** The JSON form of one entry, as the authorizer reads it. */
export type RoutePermissionJson =
  | "authenticated"
  | {
      readonly resource_id?: string;
      readonly action?: string;
      /** Omitted: members only. */
      readonly callers?: readonly CallerType[];
      readonly step_up?: StepUpJson;
    };

/** A route's `step_up` in the table's JSON form. */
export interface StepUpJson {
  readonly factors?: readonly FactorRequirement[];
  readonly within_minutes?: number;
  readonly impersonation: ImpersonationRule;
}

/**
 * A route's step-up requirements (docs/step-up.md): how and how recently the member must have authenticated, and
 * what impersonated sessions may do. A member who has the route's permission but not these gets 403 with reason
 * `step_up_required` or `impersonation_refused`, never 401.
 */
export interface StepUpOptions {
  /**
   * One of these factors: `"mfa"` (TOTP, SMS OTP or a recovery code), `"totp"`, `"sms_otp"`, `"sso"`, or
   * `"sso:<connection_id>"` (that SSO connection).
   * @default - any factor (with {@link within}: a recent authentication of any kind)
   */
  readonly factors?: readonly FactorRequirement[];
  /**
   * How recently: the factor must have been authenticated less than this long ago (whole minutes, 1 minute to
   * 1 day). With a results cache, it must be longer than the cache TTL, or the synth fails.
   * @default - any time during the session
   */
  readonly within?: Duration;
  /**
   * Impersonated sessions (Stytch's impersonation): `"refused"`, `"allowed"`, or `"read_only"` (GET, HEAD,
   * OPTIONS only). An impersonated session is judged by this alone.
   * @default "refused"
   */
  readonly impersonation?: ImpersonationRule;
}

/** The parts of a Stytch RBAC policy the synth-time check reads (`GET /v1/b2b/rbac/policy`'s `policy`). */
export interface RbacPolicyResources {
  readonly resources: ReadonlyArray<{ readonly resource_id: string; readonly actions: readonly string[] }>;
  /** What Connected Apps may be granted: each scope's permissions. */
  readonly scopes?: ReadonlyArray<{
    readonly scope: string;
    readonly permissions: ReadonlyArray<{ readonly resource_id: string; readonly actions: readonly string[] }>;
  }>;
}

/** Options of one route ({@link RoutePermissionTable.add}). */
export interface RouteOptions {
  /**
   * Who may call the route: `member` (a Stytch session; by its roles), `m2m` (an M2M client credentials token; by
   * its scopes, `action:resource`), `connected_app` (an OAuth app or AI agent acting for a member; by its scopes,
   * through the RBAC policy's `scopes`, in the member's organization). An M2M client has no organization: a route
   * with `{organization_id}` or `{organization_slug}` cannot accept `m2m`.
   * @default ["member"]
   */
  readonly callers?: readonly CallerType[];
  /** Step-up requirements next to the permission, for routes that accept members only. @default - none */
  readonly stepUp?: StepUpOptions;
}

/** Options of {@link RoutePermissionTable}. */
export interface RoutePermissionTableOptions {
  /**
   * A project snapshot (`npx stytch-b2b-apigw-authorizer snapshot --out …`), or a checked-in Stytch RBAC policy
   * (the JSON of `GET /v1/b2b/rbac/policy`, or its `policy` object). When set, synth fails for a route whose
   * resource or action the policy does not define. (An authorizer given a `snapshot` checks its table against
   * that snapshot's policy anyway.)
   */
  readonly policyFile?: string;
}

/** Route key → permission, in the order routes were attached. */
export class RoutePermissionTable {
  private readonly entries = new Map<string, RoutePermissionJson>();

  constructor(readonly options: RoutePermissionTableOptions = {}) {}

  /**
   * Declares what a route needs: its permission, or `"authenticated"` (any member of any organization), who may
   * call it ({@link RouteOptions.callers}; members by default), and optionally step-up requirements for members
   * (`{ stepUp: { factors: ["mfa"], within: Duration.minutes(15) } }`). Every route that uses the authorizer must
   * be declared, or the synth fails naming it.
   * @throws Error for what the authorizer would refuse in this entry (checked with the authorizer's own
   *   parser): a malformed method or path, a wildcard or malformed permission, unknown callers, `m2m` on a tenancy
   *   route, an invalid step-up requirement or one on a route open to machines; or a route declared twice with
   *   different permissions. Rules that span the table (e.g. tenancy) or the authorizer (a freshness limit against
   *   the results cache TTL) are checked at synth.
   */
  add(method: string, path: string, permission: RoutePermission, options: RouteOptions = {}): this {
    const key = `${method} ${path}`;
    let json: RoutePermissionJson;
    try {
      const stepUp = options.stepUp === undefined ? undefined : stepUpJson(key, options.stepUp);
      const callers = options.callers ?? DEFAULT_CALLERS;
      const entry = routeEntryJsonOf(permission, callers, stepUp);
      // The authorizer's own parser decides, and its canonical form is what is written (callers in one order).
      const route = parseRoute(key, entry, "route permissions");
      json = routeEntryJson(route.permission, route.stepUp, route.callers) as RoutePermissionJson;
    } catch (error) {
      throw new Error((error as Error).message);
    }
    const known = this.entries.get(key);
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(json))
      throw new Error(`route permissions: ${key} declared twice with different permissions`);
    this.entries.set(key, json);
    return this;
  }

  /** The number of routes declared. */
  get size(): number {
    return this.entries.size;
  }

  /** The table as the authorizer reads it. */
  toJSON(): Record<string, RoutePermissionJson> {
    return Object.fromEntries(this.entries);
  }

  /**
   * Problems that must fail the synth: an empty table, and names the policy file does not define. (The
   * authorizer construct also loads the compiled table with the authorizer's own loader at synth.)
   */
  validate(): string[] {
    const problems: string[] = [];
    if (this.entries.size === 0) problems.push("route permissions: no route was declared");
    if (this.options.policyFile !== undefined)
      problems.push(...checkAgainstPolicy(this.toJSON(), readRbacPolicyFile(this.options.policyFile)));
    return problems;
  }
}

/** An entry in the JSON form the authorizer's parser reads, before it is parsed. */
function routeEntryJsonOf(
  permission: RoutePermission,
  callers: readonly CallerType[],
  stepUp: Record<string, unknown> | undefined,
): unknown {
  const members = callers.length === 1 && callers[0] === "member";
  if (stepUp === undefined && members && permission === "authenticated") return "authenticated";
  return {
    ...(permission === "authenticated" ? {} : { resource_id: permission.resourceId, action: permission.action }),
    ...(members ? {} : { callers: [...callers] }),
    ...(stepUp === undefined ? {} : { step_up: stepUp }),
  };
}

function stepUpJson(key: string, options: StepUpOptions): Record<string, unknown> {
  if (options.factors === undefined && options.within === undefined && options.impersonation === undefined)
    throw new Error(`route permissions: "${key}" has an empty stepUp: give factors, within or impersonation`);
  let withinMinutes: number | undefined;
  if (options.within !== undefined) {
    const seconds = options.within.toMilliseconds() / 1000;
    if (!Number.isInteger(seconds / 60))
      throw new Error(
        `route permissions: "${key}" stepUp.within must be whole minutes, got ${options.within.toHumanString()}`,
      );
    withinMinutes = seconds / 60;
  }
  return {
    ...(options.factors !== undefined ? { factors: [...options.factors] } : {}),
    ...(withinMinutes !== undefined ? { within_minutes: withinMinutes } : {}),
    impersonation: options.impersonation ?? "refused",
  };
}

/**
 * Checks a table against a Stytch policy: every resource a route names must exist, with the action among its
 * actions, and a route open to Connected Apps needs a scope that grants it. (Roles are not checked: which roles grant
 * what is the policy's business, and may change. Routes for M2M clients only are not checked: M2M scopes are the
 * clients' own `action:resource` strings.)
 */
export function checkAgainstPolicy(
  table: Readonly<Record<string, RoutePermissionJson>>,
  policy: RbacPolicyResources,
): string[] {
  const actions = new Map(policy.resources.map((resource) => [resource.resource_id, new Set(resource.actions)]));
  const problems: string[] = [];
  for (const [routeKey, entry] of Object.entries(table)) {
    if (entry === "authenticated" || entry.resource_id === undefined || entry.action === undefined) continue;
    const { resource_id: resourceId, action } = entry;
    // M2M scopes are the client's own strings (`action:resource`), not the RBAC policy's resources.
    const callers = entry.callers ?? ["member"];
    if (callers.length === 1 && callers[0] === "m2m") continue;
    const defined = actions.get(resourceId);
    if (!defined)
      problems.push(
        `route permissions: ${routeKey} names resource "${resourceId}", which the RBAC policy does not define`,
      );
    else if (!defined.has(action)) {
      problems.push(
        `route permissions: ${routeKey} names action "${action}", which resource "${resourceId}" does not define`,
      );
    }
    // A Connected App holds scopes, never roles: a route no scope grants would refuse every app.
    if (entry.callers?.includes("connected_app") && grantingScopes(policy, resourceId, action).length === 0)
      problems.push(
        `route permissions: ${routeKey} accepts connected_app, but no scope of the RBAC policy grants "${action}" on "${resourceId}"`,
      );
  }
  return problems;
}

/** The policy's scopes that grant `action` on `resourceId` (Stytch's scope check: the action, or `*`). */
export function grantingScopes(policy: RbacPolicyResources, resourceId: string, action: string): string[] {
  return (policy.scopes ?? [])
    .filter((scope) =>
      scope.permissions.some(
        (permission) =>
          permission.resource_id === resourceId &&
          (permission.actions.includes(action) || permission.actions.includes("*")),
      ),
    )
    .map((scope) => scope.scope);
}

/**
 * Reads the Stytch RBAC policy of a project snapshot, checked as the authorizer checks it, or of a checked-in
 * policy: the whole `GET /v1/b2b/rbac/policy` answer or just its `policy` object.
 * @throws Error when the file is unreadable, an invalid snapshot, or has no `resources` list
 */
export function readRbacPolicyFile(file: string): RbacPolicyResources {
  const json = JSON.parse(readFileSync(file, "utf8")) as {
    policy?: RbacPolicyResources;
  } & Partial<RbacPolicyResources>;
  if (claimsToBeSnapshot(json)) {
    try {
      return checkProjectSnapshot(json).rbac_policy;
    } catch (error) {
      if (error instanceof InvalidSnapshotError) throw new Error(`${file} ${error.message}`);
      throw error;
    }
  }
  const policy = json.policy ?? json;
  if (!Array.isArray(policy.resources)) throw new Error(`${file} is not a Stytch RBAC policy (no resources list)`);
  return policy as RbacPolicyResources;
}

/**
 * Gives an authorizer function its route table when the app synthesizes, so that routes declared after the
 * authorizer was created count: in `STYTCH_ROUTE_PERMISSIONS` while it fits Lambda's 4 KB environment, else
 * as a JSON file in a layer of its own (`/opt/stytch-route-permissions.json`, named by
 * `STYTCH_ROUTE_PERMISSIONS_FILE`). The caller checks the result at synth (the authorizer construct loads it
 * with the authorizer's own loader); the returned shipment says where a layer's file was staged.
 */
export function attachRoutePermissions(fn: lambda.Function, table: RoutePermissionTable): RouteTableShipment {
  // An aspect, not a Lazy value: which variable (and whether a layer) is only known once every route is declared.
  const shipment = new RouteTableShipment(fn, table);
  Aspects.of(fn).add(shipment);
  return shipment;
}

/** How a route table reached its function (an aspect: it ships the table when the app synthesizes). */
export class RouteTableShipment implements IAspect {
  private shipped = false;
  private _stagedFile?: string;

  constructor(
    private readonly fn: lambda.Function,
    private readonly table: RoutePermissionTable,
  ) {}

  /**
   * The local copy of the file the layer ships as {@link ROUTE_PERMISSIONS_LAYER_FILE}, once shipped in a
   * layer; else undefined.
   */
  get stagedFile(): string | undefined {
    return this._stagedFile;
  }

  visit(node: IConstruct): void {
    if (node !== this.fn || this.shipped) return;
    this.shipped = true;
    const json = JSON.stringify(this.table.toJSON());
    if (Buffer.byteLength(json) <= ROUTE_TABLE_ENVIRONMENT_BUDGET_BYTES) {
      this.fn.addEnvironment(ROUTE_PERMISSIONS_VARIABLE, json);
      return;
    }
    // The asset is staged (and named) by its content hash, so the temporary folder only has to live until synth.
    const folder = mkdtempSync(path.join(tmpdir(), "stytch-route-table-"));
    this._stagedFile = path.join(folder, path.basename(ROUTE_PERMISSIONS_LAYER_FILE));
    writeFileSync(this._stagedFile, json);
    const layer = new lambda.LayerVersion(this.fn, "RoutePermissionsLayer", {
      code: lambda.Code.fromAsset(folder),
      description: "Stytch authorizer route table (too large for the function's environment)",
    });
    this.fn.addLayers(layer);
    this.fn.addEnvironment(ROUTE_PERMISSIONS_FILE_VARIABLE, ROUTE_PERMISSIONS_LAYER_FILE);
  }
}
