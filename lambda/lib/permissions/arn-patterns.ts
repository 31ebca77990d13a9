// execute-api ARN patterns: what a member's IAM policy can reach (see findLeak).

import type { PermissionedRoute, RoutePermissions } from "./route-table";

/** How a route's tenancy segments are written: the member's own values, or any organization. */
export interface TenantBinding {
  readonly organization_id?: string;
  readonly organization_slug?: string;
}

/** The methods an `ANY` route stands for. Written out, because a leading `*` in an ARN would also swallow path segments. */
export const HTTP_METHODS = Object.freeze(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);

/**
 * The IAM patterns for a route: tenancy segments bound to `binding`, every other parameter (and an unbound
 * tenancy segment) `wildcard`, one pattern per method (`ANY` written out). E.g.
 * `GET /orgs/{organization_id}/documents/{id}` → `GET/orgs/o1/documents/?*`.
 * @param wildcard `?*` (at least one character, as a parameter is never empty) for an Allow, so that a
 *   trailing slash or an empty segment is never covered; `*` for a Deny, which may be wider, never narrower.
 */
export function routeGlobs(
  route: PermissionedRoute,
  binding: TenantBinding = {},
  wildcard: "?*" | "*" = "?*",
): string[] {
  const path = route.segments
    .map((segment) =>
      segment.kind === "literal"
        ? segment.value
        : segment.kind === "tenant" && binding[segment.name] !== undefined
          ? binding[segment.name]
          : wildcard,
    )
    .join("/");
  return (route.method === "ANY" ? HTTP_METHODS : [route.method]).map((method) => `${method}/${path}`);
}

/** A request that a member's document lets through to a route they may not call. */
export interface Leak {
  /** The request as `METHOD/path` (a value equal to nothing known is written `x`). */
  readonly request: string;
  /** A route that could serve it. */
  readonly route: PermissionedRoute;
  /**
   * `tenancy`: the member may call the route, but this request names another organization.
   * `forbidden`: the member may not call the route at all.
   */
  readonly kind: "tenancy" | "forbidden";
}

/** What {@link findLeak} needs to know of the member. */
export interface LeakQuestion {
  readonly table: RoutePermissions;
  /** The member's own tenancy values (absent: no organization value of theirs is ever their own). */
  readonly member: TenantBinding;
  /** Whether the member may call a route in their own organization. */
  readonly mayCall: (route: PermissionedRoute) => boolean;
}

// ---- compiled patterns ------------------------------------------------------------------------------------

/** One segment of a pattern, the method counting as the first: literal text, `*` or `?*` (at least one character). */
type GlobSegment = { readonly literal: string } | { readonly literal?: undefined; readonly nonEmpty: boolean };
/** One segment of a route, the method counting as the first (`ANY`: any method). */
type RouteSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "method"; readonly value: string | undefined }
  | { readonly kind: "param" }
  | { readonly kind: "tenant"; readonly name: "organization_id" | "organization_slug" }
  | { readonly kind: "greedy" };

interface CompiledRoute {
  readonly route: PermissionedRoute;
  readonly segments: readonly RouteSegment[];
  /** How specific each segment is: literal or method 2, parameter or `ANY` 1, greedy 0. */
  readonly rank: readonly number[];
}

const compiledRoutes = new WeakMap<RoutePermissions, readonly CompiledRoute[]>();

function compileRoutes(table: RoutePermissions): readonly CompiledRoute[] {
  let compiled = compiledRoutes.get(table);
  if (!compiled) {
    compiled = table.routes.map((route) => {
      const segments: RouteSegment[] = [{ kind: "method", value: route.method === "ANY" ? undefined : route.method }];
      // `GET /` is the ARN `GET/`: one empty path segment.
      if (route.segments.length === 0) segments.push({ kind: "literal", value: "" });
      for (const segment of route.segments) {
        if (segment.kind === "literal") segments.push({ kind: "literal", value: segment.value });
        else if (segment.kind === "tenant") segments.push({ kind: "tenant", name: segment.name });
        else segments.push({ kind: segment.kind === "greedy" ? "greedy" : "param" });
      }
      const rank = segments.map((segment) =>
        segment.kind === "literal" || (segment.kind === "method" && segment.value !== undefined)
          ? 2
          : segment.kind === "greedy"
            ? 0
            : 1,
      );
      return { route, segments, rank };
    });
    compiledRoutes.set(table, compiled);
  }
  return compiled;
}

function compileGlob(glob: string): readonly GlobSegment[] {
  return glob.split("/").map((part) => {
    if (part === "*" || part === "?*") return { nonEmpty: part === "?*" };
    if (/[*?]/.test(part)) throw new Error(`pattern segment "${part}" mixes a wildcard with text`);
    return { literal: part };
  });
}

// ---- the search -------------------------------------------------------------------------------------------

/** A value equal to no literal and to no member value: stands for every such value. */
const FRESH = "\u0000";
/** Lengths past every route's are all alike: the greedy routes absorb them. */
const LENGTH_CAP_SLACK = 2;

/**
 * Searches for a request that `allows` lets through, `denies` does not stop, and a route the member may not
 * call could serve: another organization's request of a route they may call (`tenancy`), or any request of a
 * route they may not call (`forbidden`). `undefined`: there is none. This is what keeps a member's IAM policy
 * from letting a request through to a route that member may not call.
 *
 * Why it is needed: IAM's `*` matches any run of characters, `/` included: `GET/orgs/o1/documents/?*` also
 * covers `GET/orgs/o1/documents/d1/audit`. Routes, on the other hand, are a small language: a parameter is one
 * non-empty segment, a greedy parameter one or more. And a request that several routes match is served by one
 * of them: API Gateway prefers the more specific route (a literal segment over a parameter, a parameter over
 * a greedy path, a method over `ANY`). `GET /orgs/o2/documents` goes to `GET /orgs/{organization_id}/documents`,
 * not to `GET /{organization_slug}/{project_id}/documents` for an organization whose slug is `orgs`.
 *
 * How: it walks requests segment by segment over a finite alphabet: every literal of the table and the
 * patterns, the member's own ID and slug, one value equal to none of them, and the empty segment; every other
 * value behaves like that one. Only what is certain is assumed of API Gateway's choice between routes: a route
 * is ruled out only by a route that is at least as specific at every segment and more specific at one
 * (whatever order API Gateway compares segments in).
 *
 * States are small integers, so that a set of them is cheap to compare. A pattern position is
 * `(pattern · W + segment) · 3 + inside`, inside a wildcard segment being 0 (not), 1 (it may end here) or 2
 * (`?*` that has read only one empty segment, so no character yet). A route position is
 * `(route · W + segment) · 8 + flags`: in its greedy tail (4), a tenancy value that is not the member's (2),
 * a parameter matched an empty segment (1).
 */
export function findLeak(
  question: LeakQuestion,
  allows: readonly string[],
  denies: readonly string[],
): Leak | undefined {
  const allowGlobs = allows.map(compileGlob);
  // Only routes that some Allow could reach at all: the rest cannot serve an allowed request.
  const routes = compileRoutes(question.table).filter((route) => allowGlobs.some((glob) => mayMeet(glob, route)));
  if (routes.length === 0) return undefined;
  const denyGlobs = denies.map(compileGlob);
  const callable = routes.map((route) => question.mayCall(route.route));
  const memberValues = [question.member.organization_id, question.member.organization_slug].filter(
    (value): value is string => value !== undefined,
  );
  const longestRoute = Math.max(...routes.map((route) => route.segments.length));
  const lengthCap = longestRoute + LENGTH_CAP_SLACK;
  const width =
    Math.max(longestRoute, ...allowGlobs.map((glob) => glob.length), ...denyGlobs.map((glob) => glob.length)) + 1;
  const allowMachine = globMachine(allowGlobs, width);
  const denyMachine = globMachine(denyGlobs, width);

  interface Node {
    readonly allow: readonly number[];
    readonly deny: readonly number[];
    readonly routes: readonly number[];
    readonly length: number;
    readonly parent: Node | undefined;
    readonly value: string;
  }
  const start: Node = {
    allow: allowGlobs.map((_, index) => index * width * 3),
    deny: denyGlobs.map((_, index) => index * width * 3),
    routes: routes.map((_, index) => index * width * 8),
    length: 0,
    parent: undefined,
    value: "",
  };
  const seen = new Set<string>();
  const stack: Node[] = [start];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.length >= 2) {
      const leak = judge(node);
      if (leak) return leak;
    }
    for (const value of alphabet(node)) {
      const allow = allowMachine.step(node.allow, value);
      if (allow.length === 0) continue; // nothing of this can be allowed any more
      const next: number[] = [];
      for (const state of node.routes) {
        const moved = advance(state, value, node.length === 0);
        if (moved !== -1) next.push(moved);
      }
      if (next.length === 0) continue; // no route can serve it
      const child: Node = {
        allow,
        deny: denyMachine.step(node.deny, value),
        routes: next,
        length: Math.min(node.length + 1, lengthCap),
        parent: node,
        value,
      };
      const key = `${child.length}|${child.allow.join()}|${child.deny.join()}|${child.routes.join()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      stack.push(child);
    }
  }
  return undefined;

  /** The values worth trying next: anything else behaves like FRESH. */
  function alphabet(node: Node): Iterable<string> {
    if (node.length === 0) return HTTP_METHODS;
    const values = new Set<string>([FRESH, ""]);
    allowMachine.literals(node.allow, values);
    denyMachine.literals(node.deny, values);
    for (const state of node.routes) {
      if (state & 4) continue;
      const segment = routes[Math.floor(state / 8 / width)]!.segments[Math.floor(state / 8) % width];
      if (segment?.kind === "literal") values.add(segment.value);
      else if (segment?.kind === "tenant") for (const own of memberValues) values.add(own);
    }
    return values;
  }

  function advance(state: number, value: string, isMethod: boolean): number {
    const flags = state & 7;
    const base = state - flags;
    const empty = value === "" ? 1 : 0;
    if (flags & 4) return state | empty;
    const segment = routes[Math.floor(state / 8 / width)]!.segments[Math.floor(state / 8) % width];
    if (segment === undefined) return -1; // past its end: the request is longer than the route
    if (isMethod)
      return segment.kind === "method" && (segment.value === undefined || segment.value === value) ? base + 8 : -1;
    switch (segment.kind) {
      case "literal":
        return segment.value === value ? base + 8 + flags : -1;
      case "greedy":
        return state | 4 | empty;
      case "tenant":
        return base + 8 + (flags | (value !== question.member[segment.name] ? 2 : 0) | empty);
      default:
        return base + 8 + (flags | empty);
    }
  }

  /** Whether the request so far is allowed, and if so, whether a route it could reach is not the member's. */
  function judge(node: Node): Leak | undefined {
    if (!allowMachine.accepts(node.allow) || denyMachine.accepts(node.deny)) return undefined;
    const served = node.routes.filter(
      (state) => state & 4 || Math.floor(state / 8) % width === routes[Math.floor(state / 8 / width)]!.segments.length,
    );
    for (const state of served) {
      const index = Math.floor(state / 8 / width);
      const kind = !callable[index] ? "forbidden" : state & 2 ? "tenancy" : undefined;
      if (kind === undefined) continue;
      if (
        served.some(
          (other) =>
            other !== state &&
            !(other & 1) &&
            outranks(routes[Math.floor(other / 8 / width)]!, routes[index]!, node.length),
        )
      )
        continue;
      const request: string[] = [];
      for (let at: Node | undefined = node; at?.parent; at = at.parent)
        request.unshift(at.value === FRESH ? "x" : at.value);
      return { request: request.join("/"), route: routes[index]!.route, kind };
    }
    return undefined;
  }
}

/** The patterns of one effect as a machine over integer positions (see {@link findLeak}). */
function globMachine(globs: readonly (readonly GlobSegment[])[], width: number) {
  const segmentAt = (state: number) => globs[Math.floor(state / 3 / width)]![Math.floor(state / 3) % width];
  const atEnd = (state: number) => Math.floor(state / 3) % width === globs[Math.floor(state / 3 / width)]!.length;
  return {
    /** Positions after reading one more segment, with every position after a wildcard that may end there. */
    step(states: readonly number[], value: string): number[] {
      const next: number[] = [];
      for (const state of states) {
        const inside = state % 3;
        const segment = segmentAt(state);
        if (segment === undefined) continue;
        const base = state - inside;
        // Inside a wildcard, a further segment means a `/` was read: it may end after it.
        if (inside !== 0) next.push(base + 1, base + 3);
        else if (segment.literal === undefined) {
          if (segment.nonEmpty && value === "") next.push(base + 2);
          else next.push(base + 1, base + 3);
        } else if (segment.literal === value) next.push(base + 3);
      }
      if (next.length < 2) return next;
      next.sort((a, b) => a - b);
      return next.filter((state, i) => i === 0 || state !== next[i - 1]);
    },
    accepts: (states: readonly number[]) => states.some((state) => state % 3 === 0 && atEnd(state)),
    literals(states: readonly number[], into: Set<string>): void {
      for (const state of states) {
        const literal = state % 3 === 0 ? segmentAt(state)?.literal : undefined;
        if (literal !== undefined) into.add(literal);
      }
    },
  };
}

/**
 * Whether some request matches both a pattern and a route, judged segment by segment (a value for each
 * segment that satisfies both; empty segments are not told apart, so this may say yes too often, never no).
 */
function mayMeet(glob: readonly GlobSegment[], route: CompiledRoute): boolean {
  const routeLength = route.segments.length;
  // State: glob position, route position, each "inside its wildcard / greedy tail" (may read more).
  const encode = (i: number, j: number, globInside: boolean, routeInside: boolean) =>
    (i * (routeLength + 1) + j) * 4 + (globInside ? 2 : 0) + (routeInside ? 1 : 0);
  const seen = new Set<number>();
  const stack: number[] = [0];
  while (stack.length > 0) {
    const state = stack.pop()!;
    if (seen.has(state)) continue;
    seen.add(state);
    const i = Math.floor(state / 4 / (routeLength + 1));
    const j = Math.floor(state / 4) % (routeLength + 1);
    const globInside = (state & 2) !== 0;
    const routeInside = (state & 1) !== 0;
    // Either machine may end a wildcard (or greedy tail) it is inside before the next segment.
    if (globInside) stack.push(encode(i + 1, j, false, routeInside));
    if (routeInside && j + 1 === routeLength && i === glob.length) return true;
    if (i === glob.length && j === routeLength && !globInside) return true;
    const g = glob[i];
    const r = route.segments[j];
    if (g === undefined || r === undefined) continue;
    if (
      g.literal !== undefined &&
      (r.kind === "literal" || r.kind === "method") &&
      r.value !== undefined &&
      r.value !== g.literal
    )
      continue;
    const nextI = g.literal === undefined ? i : i + 1;
    const nextJ = r.kind === "greedy" ? j : j + 1;
    stack.push(encode(nextI, nextJ, g.literal === undefined, r.kind === "greedy"));
  }
  return false;
}

/** Whether route `a` is at least as specific as `b` at every segment of a request, and more specific at one. */
function outranks(a: CompiledRoute, b: CompiledRoute, length: number): boolean {
  let strictly = false;
  for (let position = 0; position < length; position++) {
    const rankA = a.rank[Math.min(position, a.rank.length - 1)]!;
    const rankB = b.rank[Math.min(position, b.rank.length - 1)]!;
    if (rankA < rankB) return false;
    if (rankA > rankB) strictly = true;
  }
  return strictly;
}
