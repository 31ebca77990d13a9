// Reasoning about execute-api ARN patterns, so that a per-member policy never covers a route it must not.
//
// IAM's `*` matches any run of characters, `/` included: `GET/orgs/o1/documents/*` also covers
// `GET/orgs/o1/documents/d1/audit`. A route, on the other hand, is a small language: a parameter is one
// non-empty segment without `/`, a greedy parameter one or more segments. Whether a pattern can match some
// request of a route is the emptiness of the intersection of the two languages; both are tiny automata,
// so a breadth-first walk over position pairs decides it in (pattern × route) steps.

import type { PermissionedRoute } from "./route-permissions";

/** One position of a pattern: a literal character, or one/many characters of a class (with or without `/`). */
export type PatternToken =
  | { readonly kind: "char"; readonly char: string }
  | { readonly kind: "one" | "many"; readonly slash: boolean };

/** How a route's tenancy segments are written: the member's own values, or any organization. */
export interface TenantBinding {
  readonly organization_id?: string;
  readonly organization_slug?: string;
}

const ANY_ONE: PatternToken = { kind: "one", slash: true };
const ANY_MANY: PatternToken = { kind: "many", slash: true };
const SEGMENT_ONE: PatternToken = { kind: "one", slash: false };
const SEGMENT_MANY: PatternToken = { kind: "many", slash: false };

/** Tokens of an IAM resource pattern (`*` and `?` are IAM's wildcards; everything else is literal). */
export function globTokens(glob: string): PatternToken[] {
  const tokens: PatternToken[] = [];
  for (const char of glob) tokens.push(char === "*" ? ANY_MANY : char === "?" ? ANY_ONE : { kind: "char", char });
  return tokens;
}

/**
 * Tokens of every `METHOD/path` a route can receive (the part of a method ARN after `{apiId}/{stage}/`).
 * Tenancy segments bound in `binding` become that literal value; unbound ones match any organization.
 */
export function routeTokens(route: PermissionedRoute, binding: TenantBinding = {}): PatternToken[] {
  const tokens: PatternToken[] = route.method === "ANY" ? [SEGMENT_ONE, SEGMENT_MANY] : literal(route.method);
  tokens.push({ kind: "char", char: "/" });
  route.segments.forEach((segment, index) => {
    if (index > 0) tokens.push({ kind: "char", char: "/" });
    if (segment.kind === "literal") tokens.push(...literal(segment.value));
    else if (segment.kind === "greedy") tokens.push(ANY_ONE, ANY_MANY);
    else if (segment.kind === "tenant" && binding[segment.name] !== undefined) tokens.push(...literal(binding[segment.name]!));
    else tokens.push(SEGMENT_ONE, SEGMENT_MANY);
  });
  return tokens;
}

/** Stand-ins for an organization that is not the member's: no real ID or slug contains control characters. */
const OTHER_ORGANIZATION: TenantBinding = { organization_id: "\u0003", organization_slug: "\u0004" };

/** The organization routes, each with the tokens of its requests in another organization: what no member's Allow may cover. */
export function foreignRequests(routes: readonly PermissionedRoute[]): Array<{ readonly route: PermissionedRoute; readonly tokens: PatternToken[] }> {
  return routes.filter((route) => route.segments.some((segment) => segment.kind === "tenant")).map((route) => ({ route, tokens: routeTokens(route, OTHER_ORGANIZATION) }));
}

/** The methods an `ANY` route stands for. Written out, because a leading `*` in an ARN would also swallow path segments. */
export const HTTP_METHODS = Object.freeze(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);

/**
 * The IAM patterns for a route: tenancy segments bound to `binding` (or `*` when unbound), every other
 * parameter `*`, one pattern per method (`ANY` written out). E.g. `GET /orgs/{organization_id}/documents/{id}`
 * → `GET/orgs/o1/documents/*`.
 */
export function routeGlobs(route: PermissionedRoute, binding: TenantBinding = {}): string[] {
  const path = route.segments
    .map((segment) => (segment.kind === "literal" ? segment.value : segment.kind === "tenant" && binding[segment.name] !== undefined ? binding[segment.name] : "*"))
    .join("/");
  return (route.method === "ANY" ? HTTP_METHODS : [route.method]).map((method) => `${method}/${path}`);
}

/** Whether some string matches both token sequences. */
export function intersects(a: readonly PatternToken[], b: readonly PatternToken[]): boolean {
  // Fast refusal: most pairs already differ in their literal beginnings (method, first segments).
  for (let k = 0; k < a.length && k < b.length; k++) {
    const ta = a[k]!;
    const tb = b[k]!;
    if (ta.kind !== "char" || tb.kind !== "char") break;
    if (ta.char !== tb.char) return false;
  }
  const seen = new Set<number>();
  const width = b.length + 1;
  const stack: number[] = [0];
  while (stack.length > 0) {
    const state = stack.pop()!;
    if (seen.has(state)) continue;
    seen.add(state);
    const i = Math.floor(state / width);
    const j = state % width;
    if (i === a.length && j === b.length) return true;
    const ta = a[i];
    const tb = b[j];
    // A "many" may match nothing: step past it without consuming.
    if (ta?.kind === "many") stack.push((i + 1) * width + j);
    if (tb?.kind === "many") stack.push(i * width + j + 1);
    if (ta !== undefined && tb !== undefined && overlap(ta, tb)) {
      stack.push((ta.kind === "many" ? i : i + 1) * width + (tb.kind === "many" ? j : j + 1));
    }
  }
  return false;
}

function overlap(a: PatternToken, b: PatternToken): boolean {
  if (a.kind === "char" && b.kind === "char") return a.char === b.char;
  if (a.kind === "char") return (b as { slash: boolean }).slash || a.char !== "/";
  if (b.kind === "char") return a.slash || b.char !== "/";
  return true; // two classes always share an ordinary character
}

function literal(text: string): PatternToken[] {
  return [...text].map((char) => ({ kind: "char", char }) as const);
}
