// The route table: which Stytch RBAC permission each API Gateway route needs (see RoutePermissions).

import { CALLER_TYPES, type CallerType } from "../callers/caller";
import { ConfigurationError } from "../errors";
import { ENVIRONMENT_VARIABLE } from "../settings";
import { readShippedFile } from "../shipped-file";
import { findLeak, HTTP_METHODS, type LeakQuestion, routeGlobs } from "./arn-patterns";
import { parseStepUp, type StepUpRequirement, stepUpJson } from "./step-up";

/** What one route needs: a Stytch permission, or only an authenticated member of any organization. */
export type RoutePermission = { readonly resourceId: string; readonly action: string } | "authenticated";

/** One segment of a route's path. */
export type PathSegment =
  | { readonly kind: "literal"; readonly value: string }
  /** `{organization_id}` or `{organization_slug}`: must be the member's own organization. */
  | { readonly kind: "tenant"; readonly name: "organization_id" | "organization_slug" }
  | { readonly kind: "param"; readonly name: string }
  /** `{name+}`: one or more segments; only last. */
  | { readonly kind: "greedy"; readonly name: string };

/** A parsed, validated route. */
export interface PermissionedRoute {
  /** The route key exactly as API Gateway spells it, e.g. `GET /orgs/{organization_id}/documents`. */
  readonly routeKey: string;
  /** Upper-case method, or `ANY`. */
  readonly method: string;
  readonly segments: readonly PathSegment[];
  readonly permission: RoutePermission;
  /** Step-up requirements (the entry's `step_up`): how and how recently the member must have authenticated. */
  readonly stepUp?: StepUpRequirement;
  /**
   * Who may call the route (issue 16's `callers` key): members (by their roles), M2M clients (by their scopes,
   * `action:resource`), Connected Apps (by their scopes, through the RBAC policy's `scopes`, in the member's
   * organization). Default `["member"]`: a route opens to machines only when it says so.
   */
  readonly callers: readonly CallerType[];
}

/** The callers of a route that names none: members only. */
export const DEFAULT_CALLERS: readonly CallerType[] = Object.freeze(["member"]);

/**
 * The validated route table: which Stytch RBAC permission each API Gateway route needs. Parsed and validated
 * once per container (from STYTCH_ROUTE_PERMISSIONS, or from a JSON file shipped with the function when the
 * table outgrows Lambda's 4 KB environment), then only read. Routes are in the order given.
 *
 * Route keys are API Gateway's: `GET /orgs/{organization_id}/documents`, `ANY /items/{proxy+}`. The path
 * parameters `{organization_id}` and `{organization_slug}` are tenancy: they are bound to the member's own
 * organization. Every other parameter is free.
 */
export interface RoutePermissions {
  readonly routes: readonly PermissionedRoute[];
  /** By route key, for HTTP API events (which carry `routeKey`) and REST REQUEST events (`httpMethod resource`). */
  readonly byRouteKey: ReadonlyMap<string, PermissionedRoute>;
  /** The routes with step-up requirements, in table order; empty for most tables, which then pay nothing for them. */
  readonly stepUpRoutes: readonly PermissionedRoute[];
}

const METHODS = new Set([...HTTP_METHODS, "ANY"]);
const LITERAL_SEGMENT = /^[A-Za-z0-9._~!$&'()+,;=:@-]+$/;
const PARAMETER = /^\{([A-Za-z_][A-Za-z0-9_-]{0,127})(\+?)\}$/;
// Stytch resource IDs and actions: printable, no wildcard in a route's requirement (`*` is an RBAC grant,
// never something a route asks for), bounded length.
const PERMISSION_PART = /^[A-Za-z0-9_.:\-/]{1,128}$/;
/** More routes than any real API has; bounds the work of building a member's IAM policy. */
const MAX_ROUTES = 1_000;

/**
 * Parses and validates a route table given as JSON text.
 * @param origin names where the text came from, for error messages (never the text itself)
 * @throws ConfigurationError naming the offending route key
 */
export function parseRoutePermissions(json: string, origin: string): RoutePermissions {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ConfigurationError(`${origin} is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigurationError(`${origin} must be a JSON object from route keys to permissions`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) throw new ConfigurationError(`${origin} lists no routes`);
  if (entries.length > MAX_ROUTES) throw new ConfigurationError(`${origin} lists more than ${MAX_ROUTES} routes`);
  const routes = entries.map(([routeKey, permission]) => parseRoute(routeKey, permission, origin));
  const byRouteKey = new Map<string, PermissionedRoute>();
  const byShape = new Map<string, string>();
  for (const route of routes) {
    // API Gateway treats `/a/{x}` and `/a/{y}` as the same resource: two entries would be ambiguous.
    const shape = `${route.method} /${route.segments.map((s) => (s.kind === "literal" ? s.value : s.kind === "greedy" ? "{+}" : "{}")).join("/")}`;
    const twin = byShape.get(shape);
    if (twin !== undefined)
      throw new ConfigurationError(`${origin}: routes "${twin}" and "${route.routeKey}" are the same route`);
    byShape.set(shape, route.routeKey);
    byRouteKey.set(route.routeKey, route);
  }
  const stepUpRoutes = Object.freeze(routes.filter((route) => route.stepUp !== undefined));
  const table = Object.freeze({ routes: Object.freeze(routes), byRouteKey, stepUpRoutes });
  assertTenancyExpressible(table, origin);
  return table;
}

/**
 * Reads the route table of the environment, once per container:
 * - `STYTCH_ROUTE_PERMISSIONS`: the table as JSON text;
 * - `STYTCH_ROUTE_PERMISSIONS_FILE`: a JSON file shipped with the function (relative paths are resolved
 *   against `LAMBDA_TASK_ROOT`, else the working directory), for tables beyond Lambda's 4 KB environment.
 * Neither: `undefined`, and every route is open to any authenticated member (the behaviour without RBAC).
 * @throws ConfigurationError when both are set, the file cannot be read, or the table is invalid
 */
export function loadRoutePermissions(env: Readonly<Record<string, string | undefined>>): RoutePermissions | undefined {
  const { routePermissions: INLINE, routePermissionsFile: FILE } = ENVIRONMENT_VARIABLE;
  const inline = env[INLINE]?.trim();
  const file = env[FILE]?.trim();
  if (inline && file) throw new ConfigurationError(`set ${INLINE} or ${FILE}, not both`);
  if (inline) return parseRoutePermissions(inline, INLINE);
  if (!file) return undefined;
  return parseRoutePermissions(readShippedFile(env, FILE, file), FILE);
}

/**
 * A route's requirement in the table's JSON form: `{"resource_id", "action"}` or `"authenticated"`, with
 * `"callers"` when they are not the default (members only), so that a table without machine routes is written
 * exactly as before. The inverse of parsing, used by the CDK construct to compile the table.
 */
export function permissionJson(permission: RoutePermission, callers: readonly CallerType[] = DEFAULT_CALLERS): unknown {
  const defaultCallers = callers.length === 1 && callers[0] === "member";
  if (permission === "authenticated") return defaultCallers ? "authenticated" : { callers: [...callers] };
  const json = { resource_id: permission.resourceId, action: permission.action };
  return defaultCallers ? json : { ...json, callers: [...callers] };
}

/**
 * A table entry in its JSON form: {@link permissionJson}, with the route's `step_up` when it has one
 * (`{"resource_id", "action", "step_up"}`, or `{"step_up"}` for any authenticated member).
 */
export function routeEntryJson(
  permission: RoutePermission,
  stepUp: StepUpRequirement | undefined,
  callers: readonly CallerType[] = DEFAULT_CALLERS,
): unknown {
  if (stepUp === undefined) return permissionJson(permission, callers);
  const defaultCallers = callers.length === 1 && callers[0] === "member";
  return {
    ...(permission === "authenticated" ? {} : { resource_id: permission.resourceId, action: permission.action }),
    ...(defaultCallers ? {} : { callers: [...callers] }),
    step_up: stepUpJson(stepUp),
  };
}

/** The route key of a request in a REST REQUEST event (`httpMethod` + `resource`), or undefined for other events. */
export function restRouteKey(event: {
  readonly httpMethod?: unknown;
  readonly resource?: unknown;
}): string | undefined {
  return typeof event.httpMethod === "string" && typeof event.resource === "string"
    ? `${event.httpMethod} ${event.resource}`
    : undefined;
}

/** Finds the table entry of a route key, falling back to the `ANY` route of the same path. */
export function findRoute(table: RoutePermissions, routeKey: string): PermissionedRoute | undefined {
  const exact = table.byRouteKey.get(routeKey);
  if (exact) return exact;
  const space = routeKey.indexOf(" ");
  return space > 0 ? table.byRouteKey.get(`ANY ${routeKey.slice(space + 1)}`) : undefined;
}

// A stand-in for any member's organization: no real ID or slug contains control characters, so it equals no
// literal of the table. A real member's values are checked again, exactly, when their IAM policy is built
// (lambda/lib/permissions/member-iam-policy.ts), where a slug that equals a literal is caught.
const ANY_MEMBER = { organization_id: "\u0001", organization_slug: "\u0002" };

/**
 * Refuses tables whose IAM policy would let members into another organization. A member's IAM policy lists each
 * route with the member's own organization written in; a generic parameter or a greedy path becomes a
 * wildcard. If such a wildcard can also let through another organization's request of an organization route
 * (`GET /{proxy+}` next to `GET /orgs/{organization_id}/…`), the IAM policy cannot cover the first route without
 * the second for every organization, and IAM cannot say "every organization but yours". Such a table is a
 * configuration error, never a silent cross-tenant Allow, nor a route quietly closed to everyone.
 */
function assertTenancyExpressible(table: RoutePermissions, origin: string): void {
  if (!table.routes.some((route) => route.segments.some((segment) => segment.kind === "tenant"))) return;
  const question: LeakQuestion = { table, member: ANY_MEMBER, mayCall: () => true };
  for (const route of table.routes) {
    const leak = findLeak(question, routeGlobs(route, ANY_MEMBER), []);
    if (leak) {
      throw new ConfigurationError(
        `${origin}: "${route.routeKey}" would also match "${leak.route.routeKey}" for other organizations; give it a literal prefix or an organization parameter`,
      );
    }
  }
}

/**
 * Parses one entry of a route table (the CDK construct checks each route with it as it is declared).
 * @param permission the entry's value in the table's JSON form: `"authenticated"`, or an object with the
 *   permission (`resource_id` and `action`, or neither for any authenticated member) and optionally `step_up`
 * @throws ConfigurationError naming the route key
 */
export function parseRoute(routeKey: string, permission: unknown, origin: string): PermissionedRoute {
  const match = /^([A-Z]+) (\/[^\s]*)$/.exec(routeKey);
  if (!match || !METHODS.has(match[1]!)) {
    throw routeError(origin, routeKey, 'is not a route key such as "GET /orgs/{organization_id}/documents"');
  }
  const [, method, path] = match as unknown as [string, string, string];
  const segments: PathSegment[] = [];
  const names = new Set<string>();
  const parts = path === "/" ? [] : path.slice(1).split("/");
  parts.forEach((part, index) => {
    const parameter = PARAMETER.exec(part);
    if (parameter) {
      const [, name, greedy] = parameter as unknown as [string, string, string];
      if (names.has(name)) throw routeError(origin, routeKey, `names {${name}} twice`);
      names.add(name);
      if (greedy) {
        if (index !== parts.length - 1) throw routeError(origin, routeKey, "has a greedy parameter that is not last");
        if (isTenant(name)) throw routeError(origin, routeKey, `is invalid: {${name}} cannot be greedy`);
        segments.push({ kind: "greedy", name });
      } else {
        segments.push(isTenant(name) ? { kind: "tenant", name } : { kind: "param", name });
      }
    } else if (LITERAL_SEGMENT.test(part)) {
      segments.push({ kind: "literal", value: part });
    } else {
      throw routeError(origin, routeKey, "has an empty or invalid path segment");
    }
  });
  const { permission: parsed, callers, stepUp } = parseRequirement(permission, routeKey, method, origin);
  // An M2M client has no organization: no tenancy value of a request can ever be its own.
  if (callers.includes("m2m") && segments.some((segment) => segment.kind === "tenant"))
    throw routeError(
      origin,
      routeKey,
      'cannot accept "m2m": an M2M client has no organization, so it can never pass a route\'s tenancy',
    );
  return Object.freeze({
    routeKey,
    method,
    segments: Object.freeze(segments),
    permission: parsed,
    callers,
    ...(stepUp !== undefined ? { stepUp } : {}),
  });
}

const REQUIREMENT_FORMS =
  'needs {"resource_id": "…", "action": "…"} (no wildcards), "authenticated", or either with "callers": ["member", "m2m", "connected_app"] and, for members only, "step_up"';

/**
 * An entry's value: `"authenticated"` (members, no permission; the same as `{}`), or an object with the
 * permission (`resource_id` and `action`, both or neither), `callers` (default members only), and `step_up`
 * (step-up requirements, for routes that accept members only: machine tokens carry no session factors).
 */
function parseRequirement(
  value: unknown,
  routeKey: string,
  method: string,
  origin: string,
): { permission: RoutePermission; callers: readonly CallerType[]; stepUp?: StepUpRequirement } {
  if (value === "authenticated") return { permission: "authenticated", callers: DEFAULT_CALLERS };
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw routeError(origin, routeKey, REQUIREMENT_FORMS);
  const {
    resource_id: resourceId,
    action,
    callers: callersValue,
    step_up: stepUpValue,
    ...rest
  } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw routeError(origin, routeKey, `has an unknown key "${unknown[0]}": it ${REQUIREMENT_FORMS}`);
  const callers = callersValue === undefined ? DEFAULT_CALLERS : parseCallers(callersValue, routeKey, origin);
  let stepUp: StepUpRequirement | undefined;
  if (stepUpValue !== undefined) {
    // Step-up judges a member session's authentication factors; a machine token has none to show.
    if (callers.some((caller) => caller !== "member"))
      throw routeError(
        origin,
        routeKey,
        'has "step_up", which only member sessions can meet: its "callers" must be ["member"]',
      );
    const parsed = parseStepUp(stepUpValue, method);
    if (typeof parsed === "string") throw routeError(origin, routeKey, parsed);
    stepUp = parsed;
  }
  const step = stepUp !== undefined ? { stepUp } : {};
  if (resourceId === undefined && action === undefined) return { permission: "authenticated", callers, ...step };
  if (
    typeof resourceId !== "string" ||
    typeof action !== "string" ||
    !PERMISSION_PART.test(resourceId) ||
    !PERMISSION_PART.test(action)
  )
    throw routeError(origin, routeKey, REQUIREMENT_FORMS);
  // An M2M scope is `action:resource`: a `:` inside either would make the required scope ambiguous.
  if (callers.includes("m2m") && (resourceId.includes(":") || action.includes(":")))
    throw routeError(
      origin,
      routeKey,
      'accepts "m2m", whose scopes are action:resource: no ":" in its resource_id or action',
    );
  return { permission: Object.freeze({ resourceId, action }), callers, ...step };
}

function parseCallers(value: unknown, routeKey: string, origin: string): readonly CallerType[] {
  const known = CALLER_TYPES as readonly unknown[];
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((caller) => known.includes(caller)) ||
    new Set(value).size !== value.length
  )
    throw routeError(
      origin,
      routeKey,
      `has "callers" that is not a list of distinct ${CALLER_TYPES.map((c) => `"${c}"`).join(", ")}`,
    );
  // In the canonical order, so that equal lists compare equal.
  return Object.freeze(CALLER_TYPES.filter((caller) => value.includes(caller)));
}

/** Whether a route accepts callers of this type. */
export function acceptsCaller(route: PermissionedRoute, type: CallerType): boolean {
  return route.callers.includes(type);
}

function isTenant(name: string): name is "organization_id" | "organization_slug" {
  return name === "organization_id" || name === "organization_slug";
}

/** A ConfigurationError about one route of the table, quoting its key (shortened past 80 characters). */
function routeError(origin: string, routeKey: string, problem: string): ConfigurationError {
  return new ConfigurationError(
    `${origin}: "${routeKey.length > 80 ? `${routeKey.slice(0, 80)}…` : routeKey}" ${problem}`,
  );
}
