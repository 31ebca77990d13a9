// The route table: each API area registers its routes (path, method, counter, fault switch, credentials,
// handler); the router finds the route of a request and runs the checks every Stytch endpoint shares.

import type { CountedEndpoint } from "./call-counters";
import type { FaultSwitch } from "./faults";
import type { JsonObject } from "./json";
import { routeNotFound } from "./stytch-api-error";

/** What a route handler gets of a request (the body is read in full before handlers run). */
export interface RouteRequest {
  method: string | undefined;
  pathname: string;
  /** The decoded path parameter of a `{param}` route (e.g. the project ID of the JWKS path); `""` otherwise. */
  param: string;
  /** The body as received (UTF-8). */
  rawBody: string;
  authorization: string | undefined;
}

/** A raw answer (status and body as given), for route-specific fault injection. */
export interface RawAnswer {
  status: number;
  body: string;
}

/** One endpoint of the emulated API. */
export interface Route {
  method: "GET" | "POST";
  /**
   * The path, e.g. `/v1/b2b/sessions/authenticate`. A trailing `{name}` segment (`/v1/b2b/sessions/jwks/{project_id}`)
   * matches every path that starts with what precedes it; the rest, URI-decoded, is {@link RouteRequest.param}.
   */
  path: string;
  /** The call counter of every request to this path (whatever its method). */
  counter: CountedEndpoint;
  /** The fault switch (and latency) that governs requests to this path; none: never faulted or delayed. */
  faultSwitch?: FaultSwitch;
  /** `"project"`: HTTP Basic with the project ID and secret, else 401 (checked after the method). */
  credentials: "project" | "none";
  /** Runs for every request to this path (whatever its method) once its body is read, before latency and faults. */
  onReceived?(request: RouteRequest): void;
  /**
   * A route-specific fault: an answer that replaces the route's own, checked after the fault switch and before
   * the method and the credentials. Undefined: answer normally.
   */
  faultAnswer?(): RawAnswer | undefined;
  /** The 200 body; throws a `StytchApiError` for an error answer. */
  handle(request: RouteRequest): JsonObject;
}

/** The route table of one emulator. */
export class Router {
  readonly #routes: Route[] = [];
  readonly #requireProjectCredentials: (authorization: string | undefined) => void;

  /** @param requireProjectCredentials throws a `StytchApiError` unless the Authorization header is the project's. */
  constructor(requireProjectCredentials: (authorization: string | undefined) => void) {
    this.#requireProjectCredentials = requireProjectCredentials;
  }

  /** Adds routes to the table; the first route that matches a request serves it. */
  register(...routes: Route[]): void {
    this.#routes.push(...routes);
  }

  /**
   * The route for a request: the one whose path and method match, else one whose path matches (it will answer 404
   * for the method, but the request still counts for it), else undefined. With the decoded path parameter.
   */
  match(pathname: string, method: string | undefined): { route: Route; param: string } | undefined {
    const route =
      this.#routes.find((candidate) => matchesPath(candidate, pathname) && candidate.method === method) ??
      this.#routes.find((candidate) => matchesPath(candidate, pathname));
    return route === undefined ? undefined : { route, param: pathParam(route, pathname) };
  }

  /**
   * Answers a request: 404 `route_not_found` unless `route` serves its method, then the project credentials if the
   * route requires them, then the route's handler. Throws what they throw.
   */
  handle(route: Route | undefined, request: RouteRequest): JsonObject {
    if (route === undefined || route.method !== request.method) throw routeNotFound(request.method, request.pathname);
    if (route.credentials === "project") this.#requireProjectCredentials(request.authorization);
    return route.handle(request);
  }
}

function paramStart(route: Route): number {
  return route.path.endsWith("}") ? route.path.lastIndexOf("{") : -1;
}

function matchesPath(route: Route, pathname: string): boolean {
  const start = paramStart(route);
  return start < 0 ? pathname === route.path : pathname.startsWith(route.path.slice(0, start));
}

function pathParam(route: Route, pathname: string): string {
  const start = paramStart(route);
  return start < 0 ? "" : safeDecode(pathname.slice(start));
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
