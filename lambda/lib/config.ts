// Configuration from the environment, validated once per container by the rules of ./settings.ts (the CDK
// constructs run these loaders at synth on the environment they deploy). An invalid configuration never
// throws at import time (that would only turn into an opaque init failure); callers keep the error and
// answer every request with a fault instead, so a broken deploy can never Allow.

import { ConfigurationError } from "./errors";
import { loadRoutePermissions, type RoutePermissions } from "./permissions/route-table";
import { originList } from "./response/cors";
import {
  apiUrlProblem,
  CACHE_HORIZON_MARGIN_SECONDS,
  connectedAppClientIdProblem,
  cookieDomainProblem,
  cookieNameProblem,
  ENVIRONMENT_VARIABLE,
  HTTP_API_RESPONSES,
  isLoopbackHost,
  originProblem,
  projectIdProblem,
  secretArnProblem,
  WHOLE_NUMBER,
  wholeNumberProblem,
} from "./settings";
import { readShippedFile } from "./shipped-file";
import {
  InvalidSnapshotError,
  type ProjectSnapshot,
  parseProjectSnapshot,
  snapshotAgeProblem,
  snapshotExpiresAtMs,
  snapshotProjectProblem,
  snapshotTakenAtMs,
} from "./stytch/project-snapshot";

/** Where the Stytch project secret comes from. */
export type SecretSource =
  | { readonly kind: "value"; readonly value: string }
  | { readonly kind: "arn"; readonly arn: string };

/** The validated, frozen settings shared by every handler that talks to Stytch. */
export interface StytchConfig {
  readonly projectId: string;
  /** Base URL of the Stytch API (or the project's custom domain), without a trailing slash. */
  readonly apiUrl: string;
  /** `{apiUrl}/v1/b2b/sessions/jwks/{projectId}` */
  readonly jwksUrl: string;
  /** Accepted `iss` values: `stytch.com/{projectId}` and the API base URL (Stytch uses it for custom domains). */
  readonly issuers: readonly string[];
  readonly secret: SecretSource | undefined;
  /** Overall deadline for one Stytch API exchange, retries included. */
  readonly apiTimeoutMs: number;
  /** Cookie names of the Stytch frontend SDK (its `cookieOptions.jwtCookieName` / `opaqueTokenCookieName`). */
  readonly jwtCookieName: string;
  readonly sessionCookieName: string;
  /** Tolerance for `exp`, `nbf` and `iat` wherever a session JWT is checked. */
  readonly clockToleranceSeconds: number;
  readonly jwksTimeoutMs: number;
}

/** Settings of the authorizer itself. */
export interface AuthorizerConfig extends StytchConfig {
  /** Required: without it the fallback paths (opaque tokens, expired JWTs) could never work. */
  readonly secret: SecretSource;
  /** JWTs older than this (by `iat`) are checked with Stytch. `0` = every JWT (strict mode). */
  readonly maxTokenAgeSeconds: number | undefined;
  /** How long an opaque session token's positive result may be reused. `0` (default) = never. */
  readonly sessionTokenCacheSeconds: number;
  /** Response format for HTTP API payload 2.0 events. */
  readonly httpApiResponse: "simple" | "iam";
  /** Per-route permissions (STYTCH_ROUTE_PERMISSIONS or STYTCH_ROUTE_PERMISSIONS_FILE); `undefined` = every route for any member. */
  readonly routePermissions: RoutePermissions | undefined;
  /**
   * How long API Gateway caches this authorizer's answers, as configured on it (STYTCH_RESULTS_CACHE_TTL_SECONDS,
   * which the CDK construct writes). `0`: every request is decided alone, so with a route table an answer may
   * cover that request only. `undefined` (not said): assumed cached, so an answer covers every route at once.
   */
  readonly resultsCacheTtlSeconds: number | undefined;
  /**
   * The public Connected-App client as which opaque bearer tokens are introspected (STYTCH_INTROSPECTION_CLIENT_ID),
   * on routes that accept Connected Apps and not members. `undefined`: opaque credentials are always session tokens.
   */
  readonly introspectionClientId: string | undefined;
  /** The project snapshot (STYTCH_SNAPSHOT_FILE): of this project; past its maximum age, left unused. */
  readonly snapshot: LoadedSnapshot | undefined;
}

/** A project snapshot as the authorizer uses it. */
export interface LoadedSnapshot {
  readonly snapshot: ProjectSnapshot;
  readonly takenAtMs: number;
  /**
   * When it passes STYTCH_SNAPSHOT_MAX_AGE_SECONDS: from then on nothing of it is trusted. It may already have
   * passed when the configuration is read: a function deployed long ago, on a cold start. That is not a fault
   * (every cold start of an API nobody redeployed would then refuse everyone); the function works as one
   * without a snapshot, and says so in its log.
   */
  readonly expiresAtMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const VARIABLE = ENVIRONMENT_VARIABLE;

/**
 * Reads the settings every Stytch-facing handler needs.
 * @throws ConfigurationError naming the variable at fault (never its value)
 */
export function loadStytchConfig(env: Env): StytchConfig {
  const projectId = env[VARIABLE.projectId]?.trim() ?? "";
  check(VARIABLE.projectId, projectIdProblem(projectId));
  const apiUrl = parseApiUrl(env[VARIABLE.apiUrl], projectId);
  const secretValue = env[VARIABLE.secret];
  const secretArn = env[VARIABLE.secretArn]?.trim();
  if (secretValue !== undefined && secretArn) {
    throw new ConfigurationError(`set ${VARIABLE.secret} or ${VARIABLE.secretArn}, not both`);
  }
  let secret: SecretSource | undefined;
  if (secretArn) {
    check(VARIABLE.secretArn, secretArnProblem(secretArn));
    secret = { kind: "arn", arn: secretArn };
  } else if (secretValue !== undefined) {
    const value = secretValue.trim();
    if (value === "") throw new ConfigurationError(`${VARIABLE.secret} is empty`);
    secret = { kind: "value", value };
  }
  return Object.freeze({
    projectId,
    apiUrl,
    jwksUrl: `${apiUrl}/v1/b2b/sessions/jwks/${projectId}`,
    issuers: Object.freeze(unique([`stytch.com/${projectId}`, apiUrl])),
    secret,
    apiTimeoutMs: wholeNumber(env, "apiTimeoutMs", WHOLE_NUMBER.apiTimeoutMs.fallback),
    jwtCookieName: cookieName(env, VARIABLE.jwtCookieName, "stytch_session_jwt"),
    sessionCookieName: cookieName(env, VARIABLE.sessionCookieName, "stytch_session"),
    clockToleranceSeconds: wholeNumber(env, "clockToleranceSeconds", WHOLE_NUMBER.clockToleranceSeconds.fallback),
    jwksTimeoutMs: wholeNumber(env, "jwksTimeoutMs", WHOLE_NUMBER.jwksTimeoutMs.fallback),
  });
}

/**
 * Reads and validates the authorizer's configuration.
 * @throws ConfigurationError naming the variable at fault (never its value)
 */
export function loadAuthorizerConfig(env: Env): AuthorizerConfig {
  const stytch = loadStytchConfig(env);
  const secret = requireSecret(stytch);
  const httpApiResponse = (env[VARIABLE.httpApiResponse] ?? "simple").trim();
  if (!(HTTP_API_RESPONSES as readonly string[]).includes(httpApiResponse)) {
    throw new ConfigurationError(`${VARIABLE.httpApiResponse} must be "simple" or "iam"`);
  }
  const routePermissions = loadRoutePermissions(env);
  const resultsCacheTtlSeconds = wholeNumber(env, "resultsCacheTtlSeconds", undefined);
  if (routePermissions) assertFreshnessOutlastsCache(routePermissions, resultsCacheTtlSeconds);
  return Object.freeze({
    ...stytch,
    secret,
    maxTokenAgeSeconds: wholeNumber(env, "maxTokenAgeSeconds", undefined),
    sessionTokenCacheSeconds: wholeNumber(
      env,
      "sessionTokenCacheSeconds",
      WHOLE_NUMBER.sessionTokenCacheSeconds.fallback,
    ),
    httpApiResponse: httpApiResponse as AuthorizerConfig["httpApiResponse"],
    routePermissions,
    resultsCacheTtlSeconds,
    snapshot: loadSnapshot(env, stytch.projectId, Date.now()),
    introspectionClientId: introspectionClientId(env),
  });
}

/**
 * Reads the project snapshot named by STYTCH_SNAPSHOT_FILE (absolute, or relative to LAMBDA_TASK_ROOT), if any.
 * Unreadable, not a snapshot, of another project, or taken in the future: a configuration fault, never ignored.
 * Past STYTCH_SNAPSHOT_MAX_AGE_SECONDS it is returned as it is, to be left unused (see LoadedSnapshot).
 * @throws ConfigurationError naming the variable at fault
 */
export function loadSnapshot(env: Env, projectId: string, nowMs: number): LoadedSnapshot | undefined {
  const FILE = VARIABLE.snapshotFile;
  const maxAgeSeconds = wholeNumber(env, "snapshotMaxAgeSeconds", WHOLE_NUMBER.snapshotMaxAgeSeconds.fallback);
  const file = env[FILE]?.trim();
  if (!file) return undefined;
  const text = readShippedFile(env, FILE, file);
  let snapshot: ProjectSnapshot;
  try {
    snapshot = parseProjectSnapshot(text);
  } catch (error) {
    if (error instanceof InvalidSnapshotError) throw new ConfigurationError(`${FILE} ${error.message}`);
    throw error;
  }
  const expiresAtMs = snapshotExpiresAtMs(snapshot, maxAgeSeconds);
  // A snapshot past its maximum age is not a configuration fault: it is not trusted (see LoadedSnapshot), and
  // the function works as one without a snapshot. A snapshot from the future, or another project's, is a fault.
  const ageProblem = nowMs < expiresAtMs ? snapshotAgeProblem(snapshot, maxAgeSeconds, nowMs) : undefined;
  check(FILE, snapshotProjectProblem(snapshot, projectId) ?? ageProblem);
  return Object.freeze({ snapshot, takenAtMs: snapshotTakenAtMs(snapshot), expiresAtMs });
}

/**
 * A route with a step-up freshness limit (`within_minutes`) is in a cached answer only while the limit holds for
 * as long as API Gateway may reuse that answer (lambda/lib/response/authorizer-response.ts). So the TTL must be
 * known, and shorter than every limit, or no cached answer could ever allow the route: both are configuration
 * errors, never a route that silently answers 403 to everyone (nor one allowed past its limit).
 * @throws ConfigurationError naming STYTCH_RESULTS_CACHE_TTL_SECONDS and the route
 */
function assertFreshnessOutlastsCache(table: RoutePermissions, ttlSeconds: number | undefined): void {
  const TTL = VARIABLE.resultsCacheTtlSeconds;
  for (const route of table.stepUpRoutes) {
    const minutes = route.stepUp?.withinMinutes;
    if (minutes === undefined || ttlSeconds === 0) continue;
    if (ttlSeconds === undefined) {
      throw new ConfigurationError(
        `${TTL} must be set when a route has a step-up freshness limit ("${route.routeKey}": within ${minutes} minutes): how long API Gateway caches this authorizer's answers, 0 for not at all (the CDK construct sets it)`,
      );
    }
    if (minutes * 60 <= ttlSeconds + CACHE_HORIZON_MARGIN_SECONDS) {
      throw new ConfigurationError(
        `${TTL} (${ttlSeconds} s) is not shorter than the step-up freshness limit of "${route.routeKey}" (within ${minutes} minutes), so no cached answer could allow it: cache answers for less than ${minutes * 60 - CACHE_HORIZON_MARGIN_SECONDS} s, or not at all`,
      );
    }
  }
}

function introspectionClientId(env: Env): string | undefined {
  const value = env[VARIABLE.introspectionClientId]?.trim();
  if (!value) return undefined;
  check(VARIABLE.introspectionClientId, connectedAppClientIdProblem(value));
  return value;
}

/** Settings of the refresh endpoint. */
export interface RefreshConfig extends StytchConfig {
  /** Required: every refresh is a Stytch call. */
  readonly secret: SecretSource;
  /** Origins allowed to call the endpoint with credentials (exact match, e.g. `https://app.example.com`). */
  readonly allowedOrigins: readonly string[];
  /** Upper bound for a client-requested `session_duration_minutes` (5 or more); `0` = clients may not extend sessions. */
  readonly maxSessionDurationMinutes: number;
  readonly cookieHttpOnly: boolean;
  readonly cookieDomain: string | undefined;
  /** Whether the opaque session token may appear in the response body (it is always set as a cookie). */
  readonly returnSessionToken: boolean;
}

/**
 * Reads and validates the refresh endpoint's configuration.
 * @throws ConfigurationError naming the variable at fault (never its value)
 */
export function loadRefreshConfig(env: Env): RefreshConfig {
  const stytch = loadStytchConfig(env);
  const secret = requireSecret(stytch);
  const origins = parseAllowedOrigins(env, VARIABLE.allowedOrigins);
  const domain = env[VARIABLE.cookieDomain]?.trim();
  if (domain) check(VARIABLE.cookieDomain, cookieDomainProblem(domain));
  return Object.freeze({
    ...stytch,
    secret,
    allowedOrigins: origins,
    maxSessionDurationMinutes: wholeNumber(
      env,
      "maxSessionDurationMinutes",
      WHOLE_NUMBER.maxSessionDurationMinutes.fallback,
    ),
    cookieHttpOnly: boolSetting(env, VARIABLE.cookieHttpOnly, false),
    cookieDomain: domain || undefined,
    returnSessionToken: boolSetting(env, VARIABLE.returnSessionToken, false),
  });
}

/**
 * A comma-separated list of browser origins allowed to make credentialed calls (CORS), e.g.
 * `https://app.example.com,http://localhost:3001`. Empty or unset: none.
 * @throws ConfigurationError when an entry is not an exact origin, or is plain http to a non-loopback host
 */
export function parseAllowedOrigins(env: Env, name: string): readonly string[] {
  const origins = originList(env[name]);
  for (const origin of origins) check(name, originProblem(origin));
  return Object.freeze(origins);
}

export { isLoopbackHost };

function parseApiUrl(raw: string | undefined, projectId: string): string {
  if (raw === undefined || raw.trim() === "") {
    // Stytch's own SDK rule: live projects talk to api.stytch.com, everything else to test.stytch.com.
    return projectId.startsWith("project-live-") ? "https://api.stytch.com" : "https://test.stytch.com";
  }
  check(VARIABLE.apiUrl, apiUrlProblem(raw.trim()));
  return new URL(raw.trim()).origin;
}

/** Throws the ConfigurationError of a setting's problem, if it has one. */
function check(name: string, problem: string | undefined): void {
  if (problem !== undefined) throw new ConfigurationError(`${name} ${problem}`);
}

function requireSecret(config: StytchConfig): SecretSource {
  if (!config.secret)
    throw new ConfigurationError(`set ${VARIABLE.secret} (local) or ${VARIABLE.secretArn} (deployed)`);
  return config.secret;
}

function wholeNumber<F extends number | undefined>(
  env: Env,
  setting: keyof typeof WHOLE_NUMBER,
  fallback: F,
): number | F {
  const name = VARIABLE[setting];
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  check(name, wholeNumberProblem(raw, WHOLE_NUMBER[setting]));
  return Number(raw);
}

function boolSetting(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ConfigurationError(`${name} must be "true" or "false"`);
}

function cookieName(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  check(name, cookieNameProblem(raw));
  return raw;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
