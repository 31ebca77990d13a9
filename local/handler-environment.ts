// What the route handlers see: the environment they read at import, and their module instances.
//
// The handler modules (lambda/demo/me.ts, lambda/refresh.ts) are the deployed ones, unchanged: they read their
// configuration from process.env once, when imported, and Node keeps one instance per process. So the local
// server writes their settings into process.env before importing them, and keeps track of what it wrote.

import { pathToFileURL } from "node:url";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import type { ApiRoute } from "../infra/demo/routes";
import { resolveEntry } from "../infra/lambda-defaults";

/** Settings by variable name. */
export type Env = Readonly<Record<string, string | undefined>>;
/** A REST (v1) proxy handler, as exported by a route's entry module. */
export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => unknown;

/** Values this module wrote into process.env, so that a second server does not mistake them for the user's. */
const injected = new Map<string, string>();

/** A setting as the user gave it: a value a running local API injected into process.env does not count. */
export function userSetting(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  if (env === process.env && injected.get(name) === env[name]) return undefined;
  return value;
}

/**
 * The environment of the authorizer and the handlers: the user's `STYTCH_*` and `REFRESH_*` settings, the
 * emulator's coordinates in emulator mode, and local defaults: `/me` and refresh accept the browser origins
 * of `allowedOrigins` (as the stack's `allowedOrigins` does for both functions), refresh's cookies are
 * readable by scripts, as the Stytch frontend SDK's are, and the authorizer knows its answers are not cached.
 */
export function handlerEnvironment(
  env: Env,
  allowedOrigins: readonly string[],
  emulator: Record<string, string> | undefined,
): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (
      (name.startsWith("STYTCH_") || name.startsWith("REFRESH_")) &&
      value !== undefined &&
      !(env === process.env && injected.get(name) === value)
    ) {
      result[name] = value;
    }
  }
  if (emulator) {
    Object.assign(result, emulator);
    delete result.STYTCH_SECRET_ARN; // the emulator's secret is the secret; an ARN as well would be a configuration error
  }
  result.CORS_ALLOWED_ORIGINS = allowedOrigins.join(",");
  result.REFRESH_ALLOWED_ORIGINS ??= result.CORS_ALLOWED_ORIGINS;
  result.REFRESH_COOKIE_HTTP_ONLY ??= "false";
  // The local gateway caches no authorizer answer, as the construct's default identity mode ("header-or-cookie"):
  // each answer covers its own request, and a 403's reason (step_up_required, …) reaches the client.
  result.STYTCH_RESULTS_CACHE_TTL_SECONDS ??= "0";
  return result;
}

/** The user's values of the variables injected, kept until the last running local API of the process closes. */
const originals = new Map<string, string | undefined>();
let liveServers = 0;

/**
 * Writes the settings into process.env; returns the function that undoes it. Servers may close in any order,
 * so the user's values are put back only when the last one closes.
 */
export function injectEnv(settings: Record<string, string | undefined>): () => void {
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (!originals.has(name)) originals.set(name, process.env[name]);
    process.env[name] = value;
    injected.set(name, value);
  }
  liveServers++;
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    if (--liveServers > 0) return;
    for (const [name, value] of originals) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    originals.clear();
    injected.clear();
  };
}

/** The Stytch settings the handler modules of this process were imported with (they keep them for good). */
let handlersBoundTo: string | undefined;

function bindingOf(env: Env): string {
  return JSON.stringify([env.STYTCH_PROJECT_ID, env.STYTCH_API_URL, env.STYTCH_SECRET]);
}

/**
 * Node caches modules per process, and handler modules read process.env once, at import. So the first local API
 * of a process decides their Stytch project; a later one with another project would silently talk to the wrong
 * Stytch, and is refused instead (share the emulator with `options.stytch`, or use one process per project).
 * For the same reason, the allowed origins of `/me` and refresh are those of the first local API of the process.
 * @throws when the handlers of this process were loaded for other Stytch settings
 */
export function assertSameHandlerBinding(env: Env): void {
  if (handlersBoundTo !== undefined && handlersBoundTo !== bindingOf(env)) {
    throw new Error(
      "route handlers in this process were already loaded for another Stytch project or emulator; pass options.stytch to share the emulator",
    );
  }
}

/**
 * Imports every route's handler module and picks its exported handler.
 * @throws when a module cannot be imported or does not export the handler
 */
export async function loadHandlers(routes: readonly ApiRoute[], env: Env): Promise<Map<ApiRoute, ProxyHandler>> {
  const handlers = new Map<ApiRoute, ProxyHandler>();
  for (const route of routes) {
    // resolveEntry: the repository root joined with the entry, refusing entries that escape the repository.
    const module = (await import(pathToFileURL(resolveEntry(route.entry)).href)) as Record<string, unknown> & {
      default?: Record<string, unknown>;
    };
    // Depending on the loader, a CommonJS module's exports are named exports or sit on `default`.
    const handler = module[route.handler] ?? module.default?.[route.handler];
    if (typeof handler !== "function")
      throw new Error(`${route.entry} does not export a function named ${route.handler}`);
    handlers.set(route, handler as ProxyHandler);
  }
  handlersBoundTo = bindingOf(env);
  return handlers;
}
