// The settings contract: every environment variable the handlers read, and the rule its value must meet.
// lambda/lib/config.ts reads the environment by these rules; the CDK constructs (infra/) check their props by
// the same rules and, at synth, load the environment they are about to deploy with the handlers' own loaders.
// Plain code without dependencies, so that infra/ can import it and the handler bundles stay small (like
// lambda/lib/operations/metric-names.ts for the metrics).
//
// A rule answers with a problem (a phrase that follows the setting's name, e.g. "must be between 0 and 60") or
// `undefined`. Callers name the setting their way (the variable, or the construct prop) and never the value
// of a secret.

/** Every environment variable the handlers read, by setting. */
export const ENVIRONMENT_VARIABLE = {
  projectId: "STYTCH_PROJECT_ID",
  apiUrl: "STYTCH_API_URL",
  /** The project secret itself: local use only (npm start, tests); deployed functions get {@link secretArn}. */
  secret: "STYTCH_SECRET",
  secretArn: "STYTCH_SECRET_ARN",
  apiTimeoutMs: "STYTCH_API_TIMEOUT_MS",
  jwksTimeoutMs: "STYTCH_JWKS_TIMEOUT_MS",
  clockToleranceSeconds: "STYTCH_CLOCK_TOLERANCE_SECONDS",
  jwtCookieName: "STYTCH_JWT_COOKIE_NAME",
  sessionCookieName: "STYTCH_SESSION_COOKIE_NAME",
  maxTokenAgeSeconds: "STYTCH_MAX_TOKEN_AGE_SECONDS",
  sessionTokenCacheSeconds: "STYTCH_SESSION_TOKEN_CACHE_SECONDS",
  httpApiResponse: "STYTCH_HTTP_API_RESPONSE",
  routePermissions: "STYTCH_ROUTE_PERMISSIONS",
  routePermissionsFile: "STYTCH_ROUTE_PERMISSIONS_FILE",
  resultsCacheTtlSeconds: "STYTCH_RESULTS_CACHE_TTL_SECONDS",
  /** A project snapshot (`npm run snapshot`): absolute, or relative to `LAMBDA_TASK_ROOT`. */
  snapshotFile: "STYTCH_SNAPSHOT_FILE",
  snapshotMaxAgeSeconds: "STYTCH_SNAPSHOT_MAX_AGE_SECONDS",
  /** A public Connected-App client that opaque access tokens are introspected as (routes open to Connected Apps only). */
  introspectionClientId: "STYTCH_INTROSPECTION_CLIENT_ID",
  allowedOrigins: "REFRESH_ALLOWED_ORIGINS",
  maxSessionDurationMinutes: "REFRESH_MAX_SESSION_DURATION_MINUTES",
  cookieHttpOnly: "REFRESH_COOKIE_HTTP_ONLY",
  cookieDomain: "REFRESH_COOKIE_DOMAIN",
  returnSessionToken: "REFRESH_RETURN_SESSION_TOKEN",
} as const;

/** A whole-number setting: its range, and its value when the variable is unset or blank. */
export interface WholeNumberRule {
  readonly min: number;
  readonly max: number;
  /** `undefined`: unset means "not said", which the handler treats on its own terms. */
  readonly fallback: number | undefined;
  /** `0` is also allowed, below {@link min}, and means "off". */
  readonly zeroMeansOff?: boolean;
}

/** The whole-number settings. */
export const WHOLE_NUMBER = {
  apiTimeoutMs: { min: 100, max: 10_000, fallback: 5_000 },
  jwksTimeoutMs: { min: 100, max: 10_000, fallback: 2_000 },
  clockToleranceSeconds: { min: 0, max: 60, fallback: 5 },
  /** `0` is strict mode: every JWT is checked with Stytch. */
  maxTokenAgeSeconds: { min: 0, max: 86_400, fallback: undefined },
  sessionTokenCacheSeconds: { min: 0, max: 300, fallback: 0 },
  /** API Gateway's own limit. */
  resultsCacheTtlSeconds: { min: 0, max: 3_600, fallback: undefined },
  /**
   * How long a project snapshot is trusted after it was taken: 30 days at most, and by default, because Stytch
   * keeps an old signing key published for about a month after a rotation.
   */
  snapshotMaxAgeSeconds: { min: 60, max: 2_592_000, fallback: 2_592_000 },
  /** Stytch's `session_duration_minutes` is 5 minutes to 366 days; `0` disables session extension. */
  maxSessionDurationMinutes: { min: 5, max: 527_040, fallback: 0, zeroMeansOff: true },
} as const satisfies Record<string, WholeNumberRule>;

/**
 * Seconds added to API Gateway's result-cache TTL (STYTCH_RESULTS_CACHE_TTL_SECONDS) when the authorizer judges how
 * long a cached answer lives: the answer's way back to API Gateway, and the cache's own timekeeping. A route's
 * step-up freshness limit must outlast TTL + margin, or no cached answer could allow the route.
 */
export const CACHE_HORIZON_MARGIN_SECONDS = 5;

/** Values of STYTCH_HTTP_API_RESPONSE: the HTTP API (payload 2.0) answer format. */
export const HTTP_API_RESPONSES = ["simple", "iam"] as const;

/** Longest cookie name the handlers accept. */
export const MAX_COOKIE_NAME_LENGTH = 64;

const PROJECT_ID = /^project-(test|live)-[A-Za-z0-9-]{1,64}$/;
// RFC 6265 cookie-name: an RFC 7230 token.
const COOKIE_NAME = new RegExp(`^[!#$%&'*+\\-.^_\`|~0-9A-Za-z]{1,${MAX_COOKIE_NAME_LENGTH}}$`);
const CONNECTED_APP_CLIENT_ID = /^connected-app-(test|live)-[A-Za-z0-9-]{1,128}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const DOMAIN = /^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** STYTCH_PROJECT_ID: `project-test-…` or `project-live-…`. */
export function projectIdProblem(value: string): string | undefined {
  return PROJECT_ID.test(value)
    ? undefined
    : "is missing or is not a Stytch project ID (project-test-… or project-live-…)";
}

/** STYTCH_API_URL: a bare https origin, or plain http to a loopback host (tests and the local emulator). */
export function apiUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (!isHttpsOrLoopback(url)) return "must use https (http only for loopback hosts)";
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    return "must be a bare origin such as https://login.example.com";
  }
  return undefined;
}

/** STYTCH_INTROSPECTION_CLIENT_ID: a Connected-App client id, `connected-app-test-…` or `connected-app-live-…`. */
export function connectedAppClientIdProblem(value: string): string | undefined {
  return CONNECTED_APP_CLIENT_ID.test(value)
    ? undefined
    : "is not a Connected-App client id (connected-app-test-… or connected-app-live-…)";
}

/** STYTCH_SECRET_ARN: a Secrets Manager secret ARN, complete or partial (without the 6-character suffix). */
export function secretArnProblem(value: string): string | undefined {
  return SECRET_ARN.test(value) ? undefined : "is not a Secrets Manager secret ARN";
}

/** Cookie names (STYTCH_JWT_COOKIE_NAME, STYTCH_SESSION_COOKIE_NAME). */
export function cookieNameProblem(value: string): string | undefined {
  return COOKIE_NAME.test(value)
    ? undefined
    : `is not a valid cookie name (1 to ${MAX_COOKIE_NAME_LENGTH} letters, digits or !#$%&'*+-.^_\`|~)`;
}

/**
 * One entry of an origin allow-list (REFRESH_ALLOWED_ORIGINS): an exact https origin, http only for loopback.
 * No wildcard: an entry is compared with the `Origin` header as it is.
 */
export function originProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "holds something that is not an origin";
  }
  return url.origin === value && isHttpsOrLoopback(url) && !url.hostname.includes("*")
    ? undefined
    : "entries must be exact https origins (http only for loopback, no wildcard), without a trailing slash";
}

/** REFRESH_COOKIE_DOMAIN: a domain name such as `example.com` (a leading dot is allowed). */
export function cookieDomainProblem(value: string): string | undefined {
  return DOMAIN.test(value) ? undefined : "is not a domain";
}

/** A whole number (decimal digits only) within the rule's range. */
export function wholeNumberProblem(value: string, rule: WholeNumberRule): string | undefined {
  if (!/^\d+$/.test(value)) return "must be a whole number";
  const number = Number(value);
  if (rule.zeroMeansOff && number === 0) return undefined;
  if (number >= rule.min && number <= rule.max) return undefined;
  return rule.zeroMeansOff
    ? `must be 0 (off) or between ${rule.min} and ${rule.max}`
    : `must be between ${rule.min} and ${rule.max}`;
}

/** True for hosts that never leave the machine: only these may use plain http. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

function isHttpsOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/**
 * Values that stand in, when the constructs check an environment at synth, for a variable whose value is
 * only known at deploy (a CDK token, such as the ARN of a secret created in the same stack). Each meets its
 * variable's rule, so the rest of the environment is still checked; the function checks the real value when
 * it starts. A token in a variable not listed here is left out of the check.
 */
// Literal keys, checked against ENVIRONMENT_VARIABLE by the compiler: unlike computed ones, they let the bundler
// drop this table from the handlers, which never use it.
export const SYNTH_STAND_INS: Readonly<Record<string, string>> = {
  STYTCH_PROJECT_ID: "project-test-00000000-0000-0000-0000-000000000000",
  STYTCH_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:stand-in-AbCdEf",
  STYTCH_API_URL: "https://stand-in.example.com",
  STYTCH_JWT_COOKIE_NAME: "stand_in_jwt",
  STYTCH_SESSION_COOKIE_NAME: "stand_in_session",
  REFRESH_ALLOWED_ORIGINS: "https://stand-in.example.com",
  REFRESH_COOKIE_DOMAIN: "stand-in.example.com",
} satisfies Partial<Record<(typeof ENVIRONMENT_VARIABLE)[keyof typeof ENVIRONMENT_VARIABLE], string>>;
