// The whole API on localhost: every route of the shared route table, behind the real authorizer, served the
// way the deployed REST API serves it (v1 proxy events, IAM policy evaluation, gateway responses), with an
// embedded Stytch emulator unless real Stytch credentials are configured.
//
//   HTTP request ──► route table ──► REQUEST authorizer event ──► authorizer ──► IAM policy check ──► handler ──► HTTP
//
// The deployed stack and this server read the same table (infra/demo/routes.ts), so a route cannot exist in one only.

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { routePermissionTableOf } from "../infra/demo/demo-route-table";
import { DEMO_SNAPSHOT_FILE } from "../infra/demo/demo-snapshot";
import { API_ROUTES, type ApiRoute } from "../infra/demo/routes";
import {
  bearerChallenge,
  defaultAdvertisedScopes,
  PROTECTED_RESOURCE_METADATA_PATH,
  protectedResourceDocument,
} from "../infra/protected-resource-document";
import { ROUTE_PERMISSIONS_FILE_VARIABLE, ROUTE_PERMISSIONS_VARIABLE } from "../infra/route-permission-table";
import { isLoopbackHost, loadAuthorizerConfig, parseAllowedOrigins } from "../lambda/lib/config";
import type { DecisionRecord } from "../lambda/lib/operations/log";
import type { RoutePermissions } from "../lambda/lib/permissions/route-table";
import { requestOrigin } from "../lambda/lib/response/cors";
import { formatProjectSnapshot } from "../lambda/lib/stytch/project-snapshot";
import { takeProjectSnapshot } from "../scripts/take-snapshot";
import { type AuthorizerFunction, authorize } from "./api-gateway-authorization";
import {
  type LocalRequest,
  lambdaContext,
  type ProxyAuthorizerContext,
  proxyEvent,
  requestAuthorizerEvent,
} from "./api-gateway-events";
import { type DemoPage, startDemoPage } from "./demo-page";
import { DEV_ROUTES, devSessionRoute, MFA_REQUIRED_DEMO_ORGANIZATION } from "./dev-session-routes";
import { preflightResponse, withGatewayCors } from "./gateway-cors";
import {
  assertSameHandlerBinding,
  handlerEnvironment,
  injectEnv,
  loadHandlers,
  userSetting,
} from "./handler-environment";
import { closeServer, listen } from "./http-server";
import { BAD_GATEWAY, fromProxyResult, type HttpResponse, jsonResponse, writeResponse } from "./proxy-response";
import { formatRequestLine, type LogSink } from "./request-log";
import { matchPath } from "./route-match";
import { type StytchEmulator, startStytchEmulator } from "./stytch-emulator";

/** One entry of the shared route table (re-exported from infra/demo/routes.ts for callers of this module). */
export type { ApiRoute };

/** Options of {@link startLocalApi}. */
export interface LocalApiOptions {
  /** Port to listen on; default 3000, `0` for an ephemeral port (see {@link LocalApi.url}). */
  readonly port?: number;
  /**
   * Also serve the demo page, from this port (`0`: ephemeral), on the same host: a second origin, same-site with
   * the API, so that the Stytch cookies (`SameSite=Lax`) ride its credentialed calls. Default: no demo page.
   */
  readonly demoPort?: number;
  /** Address to bind. Only loopback: the embedded Stytch hands out valid sessions to anyone who asks. */
  readonly host?: "127.0.0.1";
  /**
   * Where settings come from; default `process.env`. `STYTCH_PROJECT_ID` + `STYTCH_SECRET` select real Stytch;
   * every other `STYTCH_*` and `REFRESH_*` setting is passed to the authorizer and the handlers
   * (e.g. `STYTCH_MAX_TOKEN_AGE_SECONDS: "0"` for strict mode). `CORS_ALLOWED_ORIGINS` (comma-separated exact
   * origins) replaces the default browser allow-list: the demo page's origins. Without `STYTCH_SNAPSHOT_FILE`, a
   * project snapshot is taken at start, as a deploy would (`npm run snapshot`), and the authorizer starts from it.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** No request log and no start-up line (tests). */
  readonly quiet?: boolean;
  /** Where the request log goes; default `console.log`. */
  readonly log?: LogSink;
  /**
   * Use this running emulator instead of starting one (it is not closed by {@link LocalApi.close}). Lets two
   * servers, e.g. a default and a strict-mode one, see the same sessions.
   */
  readonly stytch?: StytchEmulator;
  /** Observes every authorizer decision (the token-free record), e.g. for `npm start`'s exit summary. */
  readonly onDecision?: (record: DecisionRecord) => void;
}

/** The route table the local authorizer enforces, and where it came from. */
export interface EnforcedRouteTable {
  /** `"demo"`: compiled from the served routes, as the demo stack compiles it; else the variable that gave yours. */
  readonly source: "demo" | typeof ROUTE_PERMISSIONS_VARIABLE | typeof ROUTE_PERMISSIONS_FILE_VARIABLE;
  readonly table: RoutePermissions;
}

/** A running local API. Always {@link LocalApi.close} it. */
export interface LocalApi {
  /** Base URL, e.g. `http://127.0.0.1:3000` (no trailing slash). */
  readonly url: string;
  /** `"emulator"`: the embedded Stytch; `"stytch"`: the real Stytch API of the configured project. */
  readonly mode: "emulator" | "stytch";
  /** The embedded emulator (emulator mode only): create sessions, inject faults, count calls. */
  readonly stytch?: StytchEmulator;
  /** The routes served: the shared route table. Dev-only routes (`DEV_ROUTES`: log in, log out, Stytch outage switch) come on top in emulator mode. */
  readonly routes: readonly ApiRoute[];
  /** The route table the authorizer enforces: the demo's, compiled from {@link LocalApi.routes}, or yours. */
  readonly routeTable: EnforcedRouteTable;
  /** The demo page's URL (with {@link LocalApiOptions.demoPort}), e.g. `http://127.0.0.1:3001`. */
  readonly demoUrl?: string;
  /**
   * The RFC 9728 protected-resource metadata's URL (`{url}/.well-known/oauth-protected-resource`), served without
   * authorization, as the demo stack does with `-c authorizationServer=…`; every 401 points at it.
   */
  readonly protectedResourceUrl: string;
  /**
   * Browser origins with credentialed access (CORS), as the deployed stack's `allowedOrigins`: preflights, the
   * gateway's own responses, `/me`, refresh (unless `REFRESH_ALLOWED_ORIGINS` is set) and the dev routes.
   */
  readonly allowedOrigins: readonly string[];
  /** Stops listening, closes the emulator it started and restores `process.env`. Idempotent. */
  close(): Promise<void>;
}

/** API Gateway's payload limit; larger requests get 413 before any Lambda runs. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** The Lambda timeout the handlers are told about (through `context.getRemainingTimeInMillis()`). */
const HANDLER_TIMEOUT_MS = 10_000;
/** The authorizer's function name in its log lines (`function_name`), as the route handlers have theirs. */
export const AUTHORIZER_FUNCTION_NAME = "Authorizer";

/**
 * Starts the local API.
 *
 * Routing, as documented for the local server (where it differs from a REST API, for the sake of clear errors):
 * - a path that is not in the table → 404 `{"message":"Not Found"}` (REST: 403 "Missing Authentication Token");
 *   a `{name}` segment of a route's path matches one non-empty segment, and literal paths win over templates;
 * - a known path with another method → 405 with an `Allow` header;
 * - `OPTIONS` on a known path → the gateway's CORS preflight: 204 with `Allow`, plus the allowed methods and
 *   headers for an allowed origin (the handler never sees it, as with the stack's MOCK preflight methods);
 * - responses the gateway produces itself (401/403/503 from the authorizer, 404, 405, 413, 502) carry credentialed
 *   CORS headers for allowed origins, like the stack's gateway responses; handlers set their own;
 * - routes with `authorization: "stytch"` run the real authorizer first; `"none"` routes never do, and their
 *   proxy event has no `requestContext.authorizer`, whatever credential the request carries;
 * - `GET /.well-known/oauth-protected-resource` is the RFC 9728 metadata for agents (authorization server: the
 *   emulator, or the configured Stytch API URL), and a 401's `WWW-Authenticate` names it (`resource_metadata`).
 *
 * The server listens only once everything is loaded: a connection accepted earlier would find no request
 * handler and never be answered (finding 9.2g). Until then, connections are refused.
 *
 * @throws when the configuration is invalid, the port is taken, or a route's handler cannot be loaded
 */
export async function startLocalApi(options: LocalApiOptions = {}): Promise<LocalApi> {
  const env = options.env ?? process.env;
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host))
    throw new Error(`the local API only binds to loopback addresses, not ${JSON.stringify(host)}`);
  const log: LogSink = options.quiet ? () => undefined : (options.log ?? ((line) => console.log(line)));
  const errorLog = options.quiet ? () => undefined : (line: string) => console.error(line);

  const projectId = userSetting(env, "STYTCH_PROJECT_ID");
  const secret = userSetting(env, "STYTCH_SECRET");
  if (!options.stytch) assertStytchModeIsComplete(projectId, secret);
  const mode: LocalApi["mode"] = projectId && secret && !options.stytch ? "stytch" : "emulator";
  const ownsEmulator = mode === "emulator" && !options.stytch;
  const stytch = mode === "emulator" ? (options.stytch ?? (await startStytchEmulator())) : undefined;
  // The demo's organization switch needs an organization that asks for MFA.
  stytch?.setOrganizationMfaPolicy(MFA_REQUIRED_DEMO_ORGANIZATION, "REQUIRED_FOR_ALL");

  const server = createServer();
  let demo: DemoPage | undefined;
  /** Known once the API listens; until then the demo page says it is starting rather than serve a page whose calls fail. */
  let apiPort: number | undefined;
  /** The API's base URL, once it listens (requests only arrive after that). */
  let publicUrl = "";
  let restoreEnv = () => {};
  let snapshotFolder: string | undefined;
  const stop = async () => {
    await closeServer(server);
    await demo?.close();
    if (ownsEmulator) await stytch?.close();
    restoreEnv();
    if (snapshotFolder) rmSync(snapshotFolder, { recursive: true, force: true });
  };

  try {
    // The demo page first: its origins are the API's default allow-list, which the handlers read at import.
    // It only serves files, so it is ready as soon as it listens (it answers 503 "starting" until the API listens).
    if (options.demoPort !== undefined)
      demo = await startDemoPage({ host, port: options.demoPort, apiPort: () => apiPort, mode });
    const configuredOrigins = userSetting(env, "CORS_ALLOWED_ORIGINS");
    const allowedOrigins = configuredOrigins
      ? parseAllowedOrigins({ CORS_ALLOWED_ORIGINS: configuredOrigins }, "CORS_ALLOWED_ORIGINS")
      : (demo?.origins ?? []);

    // Handlers read their configuration from process.env when first imported, so it must be in place before.
    const handlerEnv = handlerEnvironment(
      env,
      allowedOrigins,
      stytch
        ? { STYTCH_PROJECT_ID: stytch.projectId, STYTCH_SECRET: stytch.secret, STYTCH_API_URL: stytch.url }
        : undefined,
    );
    // Per-route permissions from the shared route table, as the deployed construct compiles them (unless set by hand).
    const tableSource: EnforcedRouteTable["source"] = handlerEnv[ROUTE_PERMISSIONS_VARIABLE]?.trim()
      ? ROUTE_PERMISSIONS_VARIABLE
      : handlerEnv[ROUTE_PERMISSIONS_FILE_VARIABLE]?.trim()
        ? ROUTE_PERMISSIONS_FILE_VARIABLE
        : "demo";
    if (tableSource === "demo") {
      handlerEnv[ROUTE_PERMISSIONS_VARIABLE] = JSON.stringify(routePermissionTableOf(API_ROUTES).toJSON());
    }
    // A project snapshot, as a deploy takes one before `cdk deploy`: the authorizer answers from it at once.
    if (!handlerEnv.STYTCH_SNAPSHOT_FILE) {
      const snapshot = await takeProjectSnapshot(handlerEnv);
      snapshotFolder = mkdtempSync(path.join(tmpdir(), "stytch-local-snapshot-"));
      handlerEnv.STYTCH_SNAPSHOT_FILE = path.join(snapshotFolder, "stytch-snapshot.json");
      writeFileSync(handlerEnv.STYTCH_SNAPSHOT_FILE, formatProjectSnapshot(snapshot));
    }
    // Fails fast, naming the variable at fault, instead of answering every request with a 503.
    const authorizerConfig = loadAuthorizerConfig(handlerEnv);
    const routeTable: EnforcedRouteTable = { source: tableSource, table: authorizerConfig.routePermissions! };
    assertBrowserCanStoreCookies(handlerEnv.REFRESH_COOKIE_DOMAIN, host);
    assertSameHandlerBinding(handlerEnv); // before process.env is touched
    restoreEnv = injectEnv(handlerEnv);
    const handlers = await loadHandlers(API_ROUTES, handlerEnv);
    // Imported only now: the module also builds the Lambda's default handler from process.env at import.
    const { createAuthorizer } = await import("../lambda/authorizer");

    const decisions = new AsyncLocalStorage<RequestScope>();
    const authorizer = createAuthorizer(handlerEnv, {
      // Called inside the authorizer's invocation, so the store is the request being authorized.
      onDecision: (record) => {
        const scope = decisions.getStore();
        if (scope) scope.decision = record;
        options.onDecision?.(record);
      },
    }) as AuthorizerFunction;
    const routesByPath = groupByPath(API_ROUTES);
    // The demo table's agent scopes, from the checked-in demo snapshot's policy (the emulator serves the same one).
    const advertisedScopes = defaultAdvertisedScopes(
      routePermissionTableOf(API_ROUTES, { policyFile: DEMO_SNAPSHOT_FILE }),
    );
    const authorizationServer = stytch ? stytch.url : authorizerConfig.apiUrl;

    server.on("request", (req, res) => {
      const started = performance.now();
      const scope: RequestScope = {};
      const method = (req.method ?? "GET").toUpperCase();
      const target = new URL(req.url ?? "/", "http://localhost");
      const origin = requestOrigin(req.headers as Record<string, string | undefined>);
      decisions
        .run(scope, () => answer(req, method, target, origin))
        .catch((error: unknown) => {
          errorLog(`local API error on ${method} ${target.pathname}: ${(error as Error)?.stack ?? String(error)}`);
          return withGatewayCors(jsonResponse(500, { message: "local API error" }), origin, allowedOrigins);
        })
        .then((response) => {
          writeResponse(res, response);
          log(
            formatRequestLine({
              method,
              path: target.pathname,
              status: response.statusCode,
              decision: scope.decision,
              gatewayNote: scope.note,
              latencyMs: performance.now() - started,
            }),
          );
        })
        .catch(() => res.destroy());
    });

    async function answer(
      req: IncomingMessage,
      method: string,
      target: URL,
      origin: string | undefined,
    ): Promise<HttpResponse> {
      // What the gateway answers itself carries its CORS headers; the handlers' answers are theirs alone.
      const gateway = (response: HttpResponse) => withGatewayCors(response, origin, allowedOrigins);
      if (target.pathname === PROTECTED_RESOURCE_METADATA_PATH) {
        if (method !== "GET" && method !== "HEAD")
          return gateway(jsonResponse(405, { message: "Method Not Allowed" }, { allow: "GET" }));
        const document = protectedResourceDocument(publicUrl, { authorizationServer }, advertisedScopes);
        return jsonResponse(200, document, { "cache-control": "max-age=300", "access-control-allow-origin": "*" });
      }
      const dev = stytch !== undefined && DEV_ROUTES.some((route) => route.path === target.pathname);
      const match = matchPath(routesByPath, target.pathname);
      const atPath = match?.routes;
      if (!atPath && !dev) return gateway(jsonResponse(404, { message: "Not Found" }));
      const allowed: string[] = (dev ? DEV_ROUTES.filter((r) => r.path === target.pathname) : atPath!).map(
        (r) => r.method,
      );
      const allow = [...allowed, "OPTIONS"].join(", ");
      if (method === "OPTIONS") return preflightResponse(origin, allowedOrigins, allow);
      const route = atPath?.find((r) => r.method === method);
      if (!route && !(dev && allowed.includes(method)))
        return gateway(jsonResponse(405, { message: "Method Not Allowed" }, { allow }));

      const body = await readBody(req);
      if (!body) return gateway(jsonResponse(413, { message: "Request Too Long" }));
      if (!route) {
        // Like refresh: a page on another origin must not log members in or out with their cookies.
        if (origin !== undefined && !allowedOrigins.includes(origin))
          return gateway(jsonResponse(403, { message: "origin not allowed" }));
        return gateway(devSessionRoute(stytch!, authorizerConfig, method, target.pathname, body, req.headers)!);
      }

      const request: LocalRequest = {
        method,
        path: target.pathname,
        searchParams: target.searchParams,
        rawHeaders: req.rawHeaders,
        body,
        sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
        requestId: randomUUID(),
        receivedAt: Date.now(),
        ...(match?.pathParameters ? { pathParameters: match.pathParameters } : {}),
      };
      let authorizerContext: ProxyAuthorizerContext | undefined;
      if (route.authorization === "stytch") {
        // Invoked as its own Lambda function, so its log lines name it (not the last handler that ran).
        const outcome = await authorize(
          authorizer,
          requestAuthorizerEvent(route, request),
          lambdaContext(AUTHORIZER_FUNCTION_NAME, request.requestId, HANDLER_TIMEOUT_MS),
        );
        const scope = decisions.getStore()!;
        if (outcome.kind === "reject") {
          // The authorizer's own reason code is in the decision record; only note what the gateway added.
          if (outcome.note !== "unauthorized" && outcome.note !== "authorizer_failure") scope.note = outcome.note;
          const headers =
            outcome.response.statusCode === 401
              ? {
                  ...outcome.response.headers,
                  "www-authenticate": bearerChallenge(`${publicUrl}${PROTECTED_RESOURCE_METADATA_PATH}`),
                }
              : outcome.response.headers;
          return gateway({ ...outcome.response, headers, body: Buffer.from(outcome.response.body) });
        }
        if (outcome.note) scope.note = outcome.note;
        authorizerContext = outcome.authorizer;
      }
      try {
        const result = await handlers.get(route)!(
          proxyEvent(route, request, authorizerContext),
          lambdaContext(route.functionId, request.requestId, HANDLER_TIMEOUT_MS),
        );
        return fromProxyResult(result);
      } catch (error) {
        // A failing or malformed integration is a 502 in API Gateway; the cause goes to the terminal.
        errorLog(`${route.functionId} (${route.entry}) failed: ${(error as Error)?.stack ?? String(error)}`);
        return gateway(BAD_GATEWAY);
      }
    }

    // Ready: only now may connections be accepted.
    await listen(server, options.port ?? 3000, host);
    apiPort = (server.address() as AddressInfo).port;
    const url = `http://${host}:${apiPort}`;
    publicUrl = url;

    log(
      stytch
        ? `Stytch: embedded emulator at ${stytch.url} (project ${stytch.projectId})`
        : `Stytch: real Stytch at ${authorizerConfig.apiUrl} (project ${authorizerConfig.projectId})`,
    );
    let closing: Promise<void> | undefined;
    return {
      url,
      mode,
      ...(stytch ? { stytch } : {}),
      routes: API_ROUTES,
      routeTable,
      ...(demo ? { demoUrl: demo.url } : {}),
      protectedResourceUrl: `${url}${PROTECTED_RESOURCE_METADATA_PATH}`,
      allowedOrigins,
      close: () => (closing ??= stop()),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Your Stytch project needs both its ID and its secret; the embedded emulator, neither. One without the other is
 * a half-made switch: silently falling back to the emulator would look like your project and be none of it.
 * @throws when exactly one of STYTCH_PROJECT_ID and STYTCH_SECRET is set
 */
function assertStytchModeIsComplete(projectId: string | undefined, secret: string | undefined): void {
  if ((projectId === undefined) === (secret === undefined)) return;
  const [set, missing] =
    projectId === undefined ? ["STYTCH_SECRET", "STYTCH_PROJECT_ID"] : ["STYTCH_PROJECT_ID", "STYTCH_SECRET"];
  throw new Error(
    `${set} is set but ${missing} is not: set both to use your Stytch project (npm start reads the secret itself, not STYTCH_SECRET_ARN), or neither for the embedded emulator`,
  );
}

/**
 * A browser drops every cookie whose `Domain` does not cover the host that sets it, silently: refresh would
 * answer 200 and the member would still hold the old JWT. On loopback no other domain can, so say it at start-up.
 * @throws when REFRESH_COOKIE_DOMAIN names another host than the local API's
 */
function assertBrowserCanStoreCookies(cookieDomain: string | undefined, host: string): void {
  const domain = cookieDomain?.trim().replace(/^\./, "");
  if (domain && domain !== host) {
    throw new Error(
      `REFRESH_COOKIE_DOMAIN=${domain} cannot be set by ${host}: browsers would drop every refreshed cookie; unset it for npm start`,
    );
  }
}

interface RequestScope {
  decision?: DecisionRecord;
  note?: string;
}

// ------------------------------------------------------------------------------------------------------------
// HTTP plumbing
// ------------------------------------------------------------------------------------------------------------

function groupByPath(routes: readonly ApiRoute[]): Map<string, ApiRoute[]> {
  const byPath = new Map<string, ApiRoute[]>();
  for (const route of routes) {
    const atPath = byPath.get(route.path) ?? [];
    if (atPath.some((r) => r.method === route.method))
      throw new Error(`the route table has ${route.method} ${route.path} twice`);
    atPath.push(route);
    byPath.set(route.path, atPath);
  }
  return byPath;
}

/** The request body, or `undefined` when it exceeds API Gateway's limit. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep reading (and dropping) an oversized body: leaving the loop would destroy the socket before the 413.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : undefined;
}
