/**
 * The construct of the session refresh endpoint's function.
 *
 * @module
 */
import { Duration } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { METRICS_NAMESPACE_ENV, SERVICE_NAME_ENV, SERVICE_NAMES } from "../lambda/lib/operations/metric-names";
import { createBundledFunction } from "./lambda-defaults";
import type { StytchAuthorizer } from "./stytch-authorizer";
import { mergeEnvironment, type StytchFunctionOptions, validateOrigins } from "./stytch-settings";

/** Properties of {@link StytchRefreshFunction}. */
export interface StytchRefreshFunctionProps extends StytchFunctionOptions {
  /** The authorizer whose Stytch project, secret, API URL and cookie names the refresh function shares. */
  readonly authorizer: StytchAuthorizer;
  /**
   * Browser origins allowed to call the refresh endpoint with credentials, e.g.
   * `["https://app.example.com"]` (scheme, host and optional port; no `*`, no path). An empty
   * list admits no browser origin (clients that send no `Origin`, such as mobile apps, still work).
   */
  readonly allowedOrigins: readonly string[];
  /**
   * Longest session extension a client may request on refresh (`session_duration_minutes`):
   * zero, which disables extension, or 5 minutes to 366 days.
   *
   * @default Duration.minutes(0) (refresh never extends the Stytch session)
   */
  readonly maxSessionDuration?: Duration;
  /**
   * Set the session cookies `HttpOnly`. The Stytch frontend SDK reads and rewrites these cookies
   * from JavaScript, so only enable this when the frontend doesn't use the SDK's cookie handling.
   *
   * @default false
   */
  readonly cookieHttpOnly?: boolean;
  /** `Domain` attribute of the session cookies, e.g. `example.com`. @default - host-only cookies */
  readonly cookieDomain?: string;
  /** Return the opaque session token in the response body as well as in the cookie. @default false */
  readonly returnSessionToken?: boolean;
}

/**
 * The function behind the session refresh endpoint (`lambda/refresh.ts`): it exchanges a Stytch
 * session credential for a fresh session JWT and cookies. It uses the same function defaults and
 * Stytch settings as the authorizer, and can read exactly the authorizer's secret.
 *
 * Route it without an authorizer: it authenticates the session credential itself, and an
 * authorizer would reject the expired JWTs it exists to refresh.
 */
export class StytchRefreshFunction extends Construct {
  /** The refresh function. */
  public readonly function: lambda.Function;

  /**
   * @param scope parent construct
   * @param id construct id
   * @param props refresh settings
   * @throws Error on invalid settings
   */
  constructor(scope: Construct, id: string, props: StytchRefreshFunctionProps) {
    super(scope, id);
    const origins = validateOrigins(props.allowedOrigins, { allowEmpty: true });
    const sessionMinutes = (props.maxSessionDuration ?? Duration.minutes(0)).toMinutes();
    if (sessionMinutes !== 0 && (sessionMinutes < 5 || sessionMinutes > 527_040)) {
      throw new Error(
        `maxSessionDuration must be 0 (no extension) or between 5 minutes and 366 days, got ${sessionMinutes} minutes`,
      );
    }
    if (props.cookieDomain !== undefined && !/^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(props.cookieDomain)) {
      throw new Error(`cookieDomain must be a domain name such as example.com, got ${props.cookieDomain}`);
    }

    const environment = mergeEnvironment(
      {
        ...props.authorizer.stytchEnvironment,
        [SERVICE_NAME_ENV]: SERVICE_NAMES.refresh,
        // Its metrics join the authorizer's namespace, so one dashboard query finds both.
        ...(props.authorizer.monitoring ? { [METRICS_NAMESPACE_ENV]: props.authorizer.monitoring.namespace } : {}),
        REFRESH_ALLOWED_ORIGINS: origins.join(","),
        REFRESH_MAX_SESSION_DURATION_MINUTES: String(sessionMinutes),
        REFRESH_COOKIE_HTTP_ONLY: String(props.cookieHttpOnly ?? false),
        ...(props.cookieDomain !== undefined ? { REFRESH_COOKIE_DOMAIN: props.cookieDomain } : {}),
        REFRESH_RETURN_SESSION_TOKEN: String(props.returnSessionToken ?? false),
      },
      props.environment,
    );

    this.function = createBundledFunction(this, "Function", {
      entry: { packaged: "refresh" },
      description: "Stytch B2B session refresh",
      environment,
      memorySize: props.memorySize,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      logRetention: props.logRetention,
      tracing: props.tracing,
    });
    props.authorizer.secret.grantRead(this.function);
  }
}
