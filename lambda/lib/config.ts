// Configuration from the environment, validated once per container. An invalid configuration never
// throws at import time (that would only turn into an opaque init failure); callers keep the error and
// answer every request with a fault instead, so a broken deploy can never Allow.

import { ConfigurationError } from "./errors";
import { loadRoutePermissions, type RoutePermissions } from "./permissions/route-table";
import { originList } from "./response/cors";

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
}

type Env = Readonly<Record<string, string | undefined>>;

const PROJECT_ID = /^project-(test|live)-[A-Za-z0-9-]{1,64}$/;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

/**
 * Reads the settings every Stytch-facing handler needs.
 * @throws ConfigurationError naming the variable at fault (never its value)
 */
export function loadStytchConfig(env: Env): StytchConfig {
  const projectId = env.STYTCH_PROJECT_ID?.trim() ?? "";
  if (!PROJECT_ID.test(projectId)) {
    throw new ConfigurationError(
      "STYTCH_PROJECT_ID is missing or is not a Stytch project ID (project-test-… or project-live-…)",
    );
  }
  const apiUrl = parseApiUrl(env.STYTCH_API_URL, projectId);
  const secretValue = env.STYTCH_SECRET;
  const secretArn = env.STYTCH_SECRET_ARN?.trim();
  if (secretValue !== undefined && secretArn) {
    throw new ConfigurationError("set STYTCH_SECRET or STYTCH_SECRET_ARN, not both");
  }
  let secret: SecretSource | undefined;
  if (secretArn) {
    if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(secretArn)) {
      throw new ConfigurationError("STYTCH_SECRET_ARN is not a Secrets Manager secret ARN");
    }
    secret = { kind: "arn", arn: secretArn };
  } else if (secretValue !== undefined) {
    const value = secretValue.trim();
    if (value === "") throw new ConfigurationError("STYTCH_SECRET is empty");
    secret = { kind: "value", value };
  }
  return Object.freeze({
    projectId,
    apiUrl,
    jwksUrl: `${apiUrl}/v1/b2b/sessions/jwks/${projectId}`,
    issuers: Object.freeze(unique([`stytch.com/${projectId}`, apiUrl])),
    secret,
    apiTimeoutMs: intSetting(env, "STYTCH_API_TIMEOUT_MS", 5_000, 100, 10_000),
    jwtCookieName: cookieName(env, "STYTCH_JWT_COOKIE_NAME", "stytch_session_jwt"),
    sessionCookieName: cookieName(env, "STYTCH_SESSION_COOKIE_NAME", "stytch_session"),
    clockToleranceSeconds: intSetting(env, "STYTCH_CLOCK_TOLERANCE_SECONDS", 5, 0, 60),
    jwksTimeoutMs: intSetting(env, "STYTCH_JWKS_TIMEOUT_MS", 2_000, 100, 10_000),
  });
}

/**
 * Reads and validates the authorizer's configuration.
 * @throws ConfigurationError naming the variable at fault (never its value)
 */
export function loadAuthorizerConfig(env: Env): AuthorizerConfig {
  const stytch = loadStytchConfig(env);
  const secret = requireSecret(stytch);
  const httpApiResponse = (env.STYTCH_HTTP_API_RESPONSE ?? "simple").trim();
  if (httpApiResponse !== "simple" && httpApiResponse !== "iam") {
    throw new ConfigurationError('STYTCH_HTTP_API_RESPONSE must be "simple" or "iam"');
  }
  return Object.freeze({
    ...stytch,
    secret,
    maxTokenAgeSeconds: env.STYTCH_MAX_TOKEN_AGE_SECONDS?.trim()
      ? intSetting(env, "STYTCH_MAX_TOKEN_AGE_SECONDS", 0, 0, 86_400)
      : undefined,
    sessionTokenCacheSeconds: intSetting(env, "STYTCH_SESSION_TOKEN_CACHE_SECONDS", 0, 0, 300),
    httpApiResponse,
    routePermissions: loadRoutePermissions(env),
    resultsCacheTtlSeconds: env.STYTCH_RESULTS_CACHE_TTL_SECONDS?.trim()
      ? intSetting(env, "STYTCH_RESULTS_CACHE_TTL_SECONDS", 0, 0, 3600)
      : undefined,
  });
}

/** Settings of the refresh endpoint. */
export interface RefreshConfig extends StytchConfig {
  /** Required: every refresh is a Stytch call. */
  readonly secret: SecretSource;
  /** Origins allowed to call the endpoint with credentials (exact match, e.g. `https://app.example.com`). */
  readonly allowedOrigins: readonly string[];
  /** Upper bound for a client-requested `session_duration_minutes`; `0` = clients may not extend sessions. */
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
  const origins = parseAllowedOrigins(env, "REFRESH_ALLOWED_ORIGINS");
  const domain = env.REFRESH_COOKIE_DOMAIN?.trim();
  if (domain && !/^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(domain))
    throw new ConfigurationError("REFRESH_COOKIE_DOMAIN is not a domain");
  return Object.freeze({
    ...stytch,
    secret,
    allowedOrigins: origins,
    maxSessionDurationMinutes: intSetting(env, "REFRESH_MAX_SESSION_DURATION_MINUTES", 0, 0, 527_040),
    cookieHttpOnly: boolSetting(env, "REFRESH_COOKIE_HTTP_ONLY", false),
    cookieDomain: domain || undefined,
    returnSessionToken: boolSetting(env, "REFRESH_RETURN_SESSION_TOKEN", false),
  });
}

/**
 * A comma-separated list of browser origins allowed to make credentialed calls (CORS), e.g.
 * `https://app.example.com,http://localhost:3001`. Empty or unset: none.
 * @throws ConfigurationError when an entry is not an exact origin, or is plain http to a non-loopback host
 */
export function parseAllowedOrigins(env: Env, name: string): readonly string[] {
  const origins = originList(env[name]);
  for (const origin of origins) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigurationError(`${name} holds something that is not an origin`);
    }
    if (parsed.origin !== origin || !isHttpsOrLoopback(parsed)) {
      throw new ConfigurationError(
        `${name} entries must be exact https origins (http only for loopback), without a trailing slash`,
      );
    }
  }
  return Object.freeze(origins);
}

/** True for hosts that never leave the machine: only these may use plain http. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

function parseApiUrl(raw: string | undefined, projectId: string): string {
  if (raw === undefined || raw.trim() === "") {
    // Stytch's own SDK rule: live projects talk to api.stytch.com, everything else to test.stytch.com.
    return projectId.startsWith("project-live-") ? "https://api.stytch.com" : "https://test.stytch.com";
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigurationError("STYTCH_API_URL is not a URL");
  }
  if (!isHttpsOrLoopback(url)) {
    throw new ConfigurationError("STYTCH_API_URL must use https (http only for loopback hosts)");
  }
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    throw new ConfigurationError("STYTCH_API_URL must be a bare origin such as https://login.example.com");
  }
  return url.origin;
}

/** https, or plain http to a loopback host (tests and the local emulator). */
function isHttpsOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

function requireSecret(config: StytchConfig): SecretSource {
  if (!config.secret) throw new ConfigurationError("set STYTCH_SECRET (local) or STYTCH_SECRET_ARN (deployed)");
  return config.secret;
}

function intSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigurationError(`${name} must be a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigurationError(`${name} must be between ${min} and ${max}`);
  return value;
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
  if (!COOKIE_NAME.test(raw)) throw new ConfigurationError(`${name} is not a valid cookie name`);
  return raw;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
