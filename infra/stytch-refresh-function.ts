/**
 * The construct of the session refresh endpoint's function.
 *
 * @module
 */
import { Duration, Token } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { loadRefreshConfig } from "../lambda/lib/config";
import { METRICS_NAMESPACE_ENV, SERVICE_NAME_ENV, SERVICE_NAMES } from "../lambda/lib/operations/metric-names";
import { cookieDomainProblem, ENVIRONMENT_VARIABLE as VARIABLE, WHOLE_NUMBER } from "../lambda/lib/settings";
import { createBundledFunction } from "./lambda-defaults";
import type { StytchAuthorizer } from "./stytch-authorizer";
import {
  CONNECTION_PROP_OF_VARIABLE,
  deployedEnvironment,
  functionSettingsOf,
  loadProblem,
  mergeEnvironment,
  propsError,
  type StytchFunctionOptions,
  validateOrigins,
  warnDeprecatedFunctionOptions,
  wholeNumberEnvironment,
} from "./stytch-settings";

/** Properties of {@link StytchRefreshFunction}. */
export interface StytchRefreshFunctionProps extends StytchFunctionOptions {
  /** The authorizer whose Stytch project, secret, API URL and cookie names the refresh function shares. */
  readonly authorizer: StytchAuthorizer;
  /**
   * Browser origins allowed to call the refresh endpoint with credentials, e.g.
   * `["https://app.example.com"]` (scheme, host and optional port; no `*`, no path; https, or http to a
   * loopback host such as `http://localhost:3000`). An empty list admits no browser origin (clients that
   * send no `Origin`, such as mobile apps, still work).
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
  /**
   * Also deploy the organization switch (`lambda/switch-organization.ts`, `POST /auth/switch-organization` in the
   * demo): a second function with exactly the refresh function's settings (origins, cookies, session duration,
   * secret), in {@link StytchRefreshFunction.organizationSwitchFunction}. Route it without an authorizer too.
   *
   * @default false
   */
  readonly organizationSwitch?: boolean;
}

/**
 * The function behind the session refresh endpoint (`lambda/refresh.ts`): it exchanges a Stytch
 * session credential for a fresh session JWT and cookies. It uses the same function defaults and
 * Stytch settings as the authorizer, and can read exactly the authorizer's secret. With
 * `organizationSwitch`, the organization switch (`lambda/switch-organization.ts`) is deployed next to it
 * with the same settings.
 *
 * Route them without an authorizer: they authenticate the session credential themselves, and an
 * authorizer would reject the expired JWTs they accept.
 */
export class StytchRefreshFunction extends Construct {
  /** The refresh function. */
  public readonly function: lambda.Function;
  /** The organization switch's function, with {@link StytchRefreshFunctionProps.organizationSwitch}. */
  public readonly organizationSwitchFunction?: lambda.Function;

  /**
   * @param scope parent construct
   * @param id construct id
   * @param props refresh settings
   * @throws Error naming the construct's path on invalid settings. What the refresh handler would refuse at
   *   start-up fails the synth: the construct loads the environment it deploys with the handler's own loader.
   */
  constructor(scope: Construct, id: string, props: StytchRefreshFunctionProps) {
    super(scope, id);
    warnDeprecatedFunctionOptions(this, props);
    const origins = validateOrigins(this, props.allowedOrigins);
    const sessionMinutes = wholeNumberEnvironment(
      this,
      "maxSessionDuration",
      (props.maxSessionDuration ?? Duration.minutes(0)).toMinutes({ integral: false }),
      WHOLE_NUMBER.maxSessionDurationMinutes,
      "minutes",
    );
    if (props.cookieDomain !== undefined && !Token.isUnresolved(props.cookieDomain)) {
      const problem = cookieDomainProblem(props.cookieDomain);
      if (problem) throw propsError(this, `cookieDomain ${problem}, e.g. example.com, got ${props.cookieDomain}`);
    }

    const environment = mergeEnvironment(
      this,
      {
        ...props.authorizer.stytchEnvironment,
        // Each function's own (below); the user may not set it.
        [SERVICE_NAME_ENV]: SERVICE_NAMES.refresh,
        // Its metrics join the authorizer's namespace, so one dashboard query finds both.
        ...(props.authorizer.monitoring ? { [METRICS_NAMESPACE_ENV]: props.authorizer.monitoring.namespace } : {}),
        [VARIABLE.allowedOrigins]: origins.join(","),
        [VARIABLE.maxSessionDurationMinutes]: sessionMinutes,
        [VARIABLE.cookieHttpOnly]: String(props.cookieHttpOnly ?? false),
        ...(props.cookieDomain !== undefined ? { [VARIABLE.cookieDomain]: props.cookieDomain } : {}),
        [VARIABLE.returnSessionToken]: String(props.returnSessionToken ?? false),
      },
      props.environment,
    );

    const sessionFunction = (
      id: string,
      packaged: "refresh" | "switch-organization",
      description: string,
      service: string,
    ) => {
      const fn = createBundledFunction(this, id, {
        entry: { packaged },
        description,
        environment: { ...environment, [SERVICE_NAME_ENV]: service },
        ...functionSettingsOf(props),
      });
      props.authorizer.secret.grantRead(fn);
      return fn;
    };
    this.function = sessionFunction("Function", "refresh", "Stytch B2B session refresh", SERVICE_NAMES.refresh);
    if (props.organizationSwitch) {
      this.organizationSwitchFunction = sessionFunction(
        "OrganizationSwitchFunction",
        "switch-organization",
        "Stytch B2B organization switch",
        SERVICE_NAMES.organizationSwitch,
      );
    }
    // At synth: each environment as deployed, loaded by the handlers' own loader (both read loadRefreshConfig).
    const deployed = [this.function, ...(this.organizationSwitchFunction ? [this.organizationSwitchFunction] : [])];
    this.node.addValidation({
      validate: () => {
        const problems = deployed.flatMap((fn) => {
          const loaded = loadProblem(loadRefreshConfig, deployedEnvironment(fn), REFRESH_PROP_OF_VARIABLE);
          return "problem" in loaded ? [loaded.problem] : [];
        });
        return [...new Set(problems)];
      },
    });
  }
}

/** The props of {@link StytchRefreshFunctionProps} (and the authorizer's) by the variable they set. */
const REFRESH_PROP_OF_VARIABLE: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    Object.entries(CONNECTION_PROP_OF_VARIABLE).map(([variable, prop]) => [variable, `authorizer's ${prop}`]),
  ),
  [VARIABLE.allowedOrigins]: "allowedOrigins",
  [VARIABLE.maxSessionDurationMinutes]: "maxSessionDuration",
  [VARIABLE.cookieHttpOnly]: "cookieHttpOnly",
  [VARIABLE.cookieDomain]: "cookieDomain",
  [VARIABLE.returnSessionToken]: "returnSessionToken",
};
