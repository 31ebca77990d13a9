/**
 * {@link StytchAuthorizer}: the Stytch B2B session authorizer, for REST and HTTP APIs.
 *
 * @example
 * ```ts
 * import { StytchAuthorizer } from "stytch-b2b-apigw-authorizer/cdk";
 *
 * const auth = new StytchAuthorizer(this, "Auth", { projectId: "project-live-…" });
 * // REST API
 * api.root.addResource("orders").addMethod("GET", integration, { authorizer: auth.restAuthorizer });
 * // HTTP API
 * httpApi.addRoutes({ path: "/orders", methods: [HttpMethod.GET], integration, authorizer: auth.httpAuthorizer });
 * ```
 *
 * @module
 */
import { Annotations, CfnOutput, Duration, Token } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { loadAuthorizerConfig } from "../lambda/lib/config";
import { SERVICE_NAME_ENV, SERVICE_NAMES } from "../lambda/lib/operations/metric-names";
import type { RoutePermissions } from "../lambda/lib/permissions/route-table";
import { ENVIRONMENT_VARIABLE as VARIABLE, WHOLE_NUMBER } from "../lambda/lib/settings";
import { snapshotAgeProblem, snapshotProjectProblem, snapshotTakenAtMs } from "../lambda/lib/stytch/project-snapshot";
import { type AttachedRoute, isInRouteTable, routesUsingAuthorizers } from "./attached-routes";
import { addGatewayResponses } from "./gateway-responses";
import { createBundledFunction } from "./lambda-defaults";
import { serveProtectedResourceMetadata } from "./protected-resource";
import {
  bearerChallenge,
  defaultAdvertisedScopes,
  PROTECTED_RESOURCE_METADATA_PATH,
  protectedResourceProblems,
  type StytchProtectedResourceOptions,
} from "./protected-resource-document";
import {
  attachRoutePermissions,
  checkAgainstPolicy,
  ROUTE_PERMISSIONS_LAYER_FILE,
  type RoutePermissionTable,
  type RouteTableShipment,
} from "./route-permission-table";
import { StytchMonitoring, type StytchMonitoringProps } from "./stytch-monitoring";
import { StytchRequestAuthorizer } from "./stytch-request-authorizer";
import {
  CONNECTION_PROP_OF_VARIABLE,
  createsPlaceholderSecret,
  deployedEnvironment,
  functionSettingsOf,
  loadProblem,
  mergeEnvironment,
  propsError,
  putSecretCommand,
  resolveSecret,
  type StytchConnectionProps,
  type StytchFunctionOptions,
  stytchEnvironment,
  warnDeprecatedFunctionOptions,
  wholeNumberEnvironment,
} from "./stytch-settings";
import { SNAPSHOT_LAYER_FILE, type StytchSnapshot } from "./stytch-snapshot";

/**
 * Where API Gateway lets the authorizer look for the Stytch credential.
 *
 * - `"header-or-cookie"` (default): the authorizer reads the `Authorization` header **or** the
 *   Stytch session cookies. API Gateway ANDs identity sources and answers 401 without invoking
 *   the authorizer when one is missing, so this mode declares **no** identity source, which in
 *   turn forces authorizer result caching **off**: every request is verified (locally against
 *   the cached JWKS, so this is cheap), and a revoked session stops working as soon as Stytch
 *   reports it revoked.
 * - `"header"`: only `Authorization: Bearer …` counts; cookie-only requests get 401 from API
 *   Gateway without invoking the authorizer. Results are cached per header value for
 *   {@link StytchAuthorizerProps.resultsCacheTtl}. Trade-off: a cached Allow keeps a revoked
 *   session working until the TTL ends.
 */
export type StytchIdentityMode = "header-or-cookie" | "header";

/** Longest cache TTL allowed without `allowLongCache`: the 5-minute lifetime of a Stytch session JWT. */
export const MAX_SAFE_CACHE_TTL: Duration = Duration.minutes(5);

/** Longest timeout of the authorizer: HTTP APIs fail an authorizer that takes longer than 10 s. */
export const MAX_AUTHORIZER_TIMEOUT: Duration = Duration.seconds(10);

/** An alias of the authorizer function's current version, which API Gateway then invokes. */
export interface StytchAuthorizerAliasOptions {
  /** Name of the alias, e.g. `"live"`. */
  readonly aliasName: string;
  /** Provisioned concurrency of the alias (pre-initialised containers: no cold starts). @default - none */
  readonly provisionedConcurrentExecutions?: number;
}

/** Options of an additional authorizer ({@link StytchAuthorizer.addRestAuthorizer}, {@link StytchAuthorizer.addHttpAuthorizer}). */
export interface StytchAuthorizerOptions {
  /** Name of the authorizer in API Gateway. @default `<authorizerName or construct id>-<id>` */
  readonly authorizerName?: string;
}

/** Monitoring settings of {@link StytchAuthorizer}: those of {@link StytchMonitoring}, for its own function. */
export type StytchAuthorizerMonitoringOptions = Omit<
  StytchMonitoringProps,
  "authorizerFunction" | "refreshFunction" | "organizationSwitchFunction"
>;

/** Properties of {@link StytchAuthorizer}. */
export interface StytchAuthorizerProps extends StytchConnectionProps, StytchFunctionOptions {
  /**
   * Name of the authorizer resources in API Gateway ({@link restAuthorizer}, {@link httpAuthorizer});
   * additional authorizers get `<authorizerName>-<id>`.
   *
   * @default - `<construct id>-RestAuthorizer` and `<construct id>-StytchSession`
   */
  readonly authorizerName?: string;
  /**
   * Which credentials API Gateway passes to the authorizer, and so whether results are cached.
   * See {@link StytchIdentityMode} for the revocation trade-off.
   *
   * @default "header-or-cookie" (no caching)
   */
  readonly identity?: StytchIdentityMode;
  /**
   * How long API Gateway caches an authorizer result, keyed by the `Authorization` header.
   * Only valid with `identity: "header"` ("header-or-cookie" never caches). A cached Allow keeps
   * a revoked session working until the TTL ends, so the TTL is capped at 300 s (the lifetime of
   * a Stytch session JWT) unless `allowLongCache` is set. The authorizer's REST policy must
   * cover the whole stage, or a cached Allow denies other routes. With {@link routePermissions},
   * only the REST authorizer caches; the HTTP API authorizer does not. A route's step-up freshness limit
   * (`stepUp.within`) must be longer than the TTL plus 5 s, or the synth fails: a cached answer holds such a
   * route only while the limit outlasts the TTL, and a cached 403's body names no reason (docs/step-up.md).
   *
   * @default 300 seconds with `identity: "header"`
   */
  readonly resultsCacheTtl?: Duration;
  /** Allow `resultsCacheTtl` above 300 s (API Gateway's limit of 3600 s still applies). @default false */
  readonly allowLongCache?: boolean;
  /**
   * Per-route permissions (Stytch RBAC and tenancy): declare each route's permission where it is attached
   * (`routePermissions.add("GET", "/orgs/{organization_id}/documents", { resourceId: "documents", action: "read" })`);
   * the table is compiled into the authorizer at synth time (into its environment, or into a layer of its own
   * when beyond Lambda's 4 KB environment). With a table, the HTTP API authorizer caches no results: HTTP APIs
   * cache a simple answer per identity source, not per route. Unset: any member may call any route.
   *
   * With a table, every REST method and HTTP API route that uses this authorizer must be in it, or the synth
   * fails naming the route (the authorizer would refuse every caller of it). A route open to any member of any
   * organization is declared so, explicitly: `routePermissions.add("GET", "/me", "authenticated")`.
   * @default no per-route permissions
   */
  readonly routePermissions?: RoutePermissionTable;
  /**
   * Agents (MCP clients and other Connected Apps) find out how to authenticate: each REST API this authorizer is
   * attached to serves the RFC 9728 protected-resource metadata at `/.well-known/oauth-protected-resource` (no
   * authorization; naming the authorization server, Stytch or your custom domain, and the scopes), and its 401
   * gateway response says `WWW-Authenticate: Bearer resource_metadata="…"`. Needs a route open to Connected Apps
   * (`routePermissions.add(…, { callers: ["connected_app"] })`). HTTP APIs have no gateway responses and no mock
   * integrations: serve the document yourself there (`protectedResourceDocument`).
   * @default - no metadata; the 401 says `WWW-Authenticate: Bearer`
   */
  readonly protectedResource?: StytchProtectedResourceOptions;
  /**
   * A public Connected-App client id (`connected-app-live-…`) as which opaque bearer tokens are introspected
   * (`POST /v1/public/{project_id}/oauth2/introspect`): only on routes that accept Connected Apps and not members,
   * only from the `Authorization` header. Stytch's Connected-App access tokens are JWTs, verified locally; this is
   * for tokens only introspection can judge.
   * @default - no introspection: an opaque credential is always a session token
   */
  readonly introspectionClientId?: string;
  /**
   * A project snapshot, so that a new container answers without waiting for Stytch:
   * `StytchSnapshot.fromFile("stytch-snapshot.json")`, taken before deploy with
   * `npx stytch-b2b-apigw-authorizer snapshot --out stytch-snapshot.json` (public keys and role definitions only).
   * It ships with the function in a layer of its own (`/opt/stytch-snapshot.json`, named by `STYTCH_SNAPSHOT_FILE`).
   * Its keys verify session JWTs, and its RBAC policy decides routes, from the first request on; the key set and
   * policy fetched at start-up replace them as soon as they arrive, and a key Stytch no longer publishes stops
   * verifying then. While Stytch cannot be reached, valid JWTs keep being allowed from the snapshot.
   *
   * The synth fails for a snapshot of another project, and warns when it is already older than
   * {@link snapshotMaxAge}: a function never trusts a snapshot past its maximum age (it then works as one without a
   * snapshot, and logs `snapshot_expired` at every cold start), so take a new one before every deploy (a CI step
   * before `cdk deploy`). With {@link routePermissions}, every route's resource and action must be in the
   * snapshot's RBAC policy.
   *
   * @default - none: a new container waits for the key set (and, with routePermissions, the RBAC policy)
   */
  readonly snapshot?: StytchSnapshot;
  /**
   * How long after it was taken the snapshot is trusted (1 minute to 30 days). Past it, a starting function does
   * not use it, and a running one stops trusting the snapshot's keys and policy. Only with {@link snapshot}.
   *
   * @default 30 days (Stytch keeps a rotated-out signing key published for about a month)
   */
  readonly snapshotMaxAge?: Duration;
  /**
   * Alarms (fault rate, Stytch errors, duration near the timeout, throttles, stale key set) and, with
   * `dashboard: true`, a dashboard for this authorizer, from the metrics it emits: a {@link StytchMonitoring}
   * with these settings. `false` leaves them out, e.g. to create one `StytchMonitoring` yourself that also
   * watches the refresh function (as the demo stack does). What each costs: docs/operations.md.
   *
   * @default - the five alarms with their defaults (9 alarm metrics, about US$0.90 a month); no dashboard; no SNS topic
   */
  readonly monitoring?: StytchAuthorizerMonitoringOptions | false;
  /**
   * Response of the HTTP API authorizer (payload format 2.0): `SIMPLE` (`{isAuthorized, context}`)
   * or `IAM` (a policy for the stage). The authorizer resource and the function always agree.
   *
   * @default HttpLambdaResponseType.SIMPLE
   */
  readonly httpResponseType?: HttpLambdaResponseType;
  /**
   * Invoke the authorizer through an alias of the function's current version, e.g. for
   * provisioned concurrency.
   *
   * @default - API Gateway invokes the function's `$LATEST`
   */
  readonly alias?: StytchAuthorizerAliasOptions;
  /**
   * Add gateway responses to each REST API the authorizer is attached to, so its status codes
   * are the ones the README promises: 401 (`UNAUTHORIZED`, with `WWW-Authenticate: Bearer`),
   * 403 (`ACCESS_DENIED`), and 503 with `Retry-After` for an authorizer fault
   * (`AUTHORIZER_FAILURE`, `AUTHORIZER_CONFIGURATION_ERROR`; API Gateway's default is 500), all
   * with JSON bodies and CORS headers. Turn this off if the API defines these response types
   * itself (API Gateway allows one response per type). HTTP APIs have no gateway responses.
   *
   * @default true
   */
  readonly gatewayResponses?: boolean;
  /**
   * `Access-Control-Allow-Origin` of those gateway responses. A gateway response cannot vary by
   * request, so it names one origin (with `Access-Control-Allow-Credentials: true`), or `*`
   * (without credentials).
   *
   * @default - the first origin of the REST API's `defaultCorsPreflightOptions`, else `*`
   */
  readonly gatewayResponseAllowOrigin?: string;
}

/**
 * A Stytch B2B session authorizer for API Gateway.
 *
 * Creates the authorizer function (the package's prebuilt bundle of `lambda/authorizer.ts`,
 * Node.js 24 on arm64), its log group, a least-privilege role that can read exactly the Stytch
 * secret, (unless one is given) the secret, and (unless `monitoring: false`) a
 * {@link StytchMonitoring} with its alarms and dashboard. With
 * {@link StytchAuthorizerProps.routePermissions}, the route table is compiled into the function at
 * synth: in its environment, or in a layer of its own when too large for Lambda's 4 KB environment.
 * Attach it with {@link restAuthorizer} (REST API)
 * or {@link httpAuthorizer} (HTTP API). Keep the construct in the same stack as the API: an API
 * Gateway authorizer and the function's invoke permission reference each other.
 *
 * Answers: 401 for a missing or invalid credential, 403 for a denied member, and a fault for an
 * outage or misconfiguration: on a REST API the gateway responses this construct adds make that
 * a 503 with `Retry-After`; HTTP APIs have no gateway responses and return 500. A fault is
 * never reported as 401, so clients don't log users out during a Stytch outage.
 */
export class StytchAuthorizer extends Construct {
  /** The authorizer function. */
  public readonly function: lambda.Function;
  /** What API Gateway invokes: the alias when {@link StytchAuthorizerProps.alias} is set, else the function. */
  public readonly handler: lambda.IFunction;
  /** The secret holding the Stytch project secret (given or created). */
  public readonly secret: secretsmanager.ISecret;
  /**
   * The AWS CLI command that puts the Stytch project secret into {@link secret}:
   * `aws secretsmanager put-secret-value --region <region> --secret-id <ARN> --secret-string "$STYTCH_SECRET"`
   * (run `read -rs STYTCH_SECRET` first, so the secret stays out of the shell history). A token: use it in an
   * output, as {@link putSecretCommandOutput} does.
   */
  public readonly putSecretCommand: string;
  /**
   * The stack output `PutStytchSecretCommand` (its logical ID carries the construct's path), created with the
   * placeholder secret, so that `cdk deploy` prints the command that fills it. None when you give `secret`.
   */
  public readonly putSecretCommandOutput?: CfnOutput;
  /** The identity mode in effect. */
  public readonly identity: StytchIdentityMode;
  /**
   * The result cache TTL in effect (zero in "header-or-cookie" mode). With route permissions it applies to
   * REST authorizers only; HTTP API authorizers then cache nothing.
   */
  public readonly resultsCacheTtl: Duration;
  /** The HTTP API response type in effect. */
  public readonly httpResponseType: HttpLambdaResponseType;
  /**
   * Stytch settings as environment variables (`STYTCH_PROJECT_ID`, `STYTCH_SECRET_ARN`, and the
   * optional ones that were given), shared with {@link StytchRefreshFunction}. Holds the secret's
   * ARN, never its value.
   */
  public readonly stytchEnvironment: Readonly<Record<string, string>>;
  /**
   * Authorizer for one HTTP API (payload format 2.0).
   * An HTTP API authorizer belongs to one API; use {@link addHttpAuthorizer} for another API.
   */
  public readonly httpAuthorizer: HttpLambdaAuthorizer;

  private readonly props: StytchAuthorizerProps;
  private _restAuthorizer?: apigateway.RequestAuthorizer;
  /** Every authorizer backed by the function, so that the synth finds the routes that use them. */
  private readonly restAuthorizers: apigateway.RequestAuthorizer[] = [];
  private readonly httpAuthorizers: HttpLambdaAuthorizer[] = [];
  private readonly routeTableShipment?: RouteTableShipment;

  /**
   * @param scope parent construct
   * @param id construct id
   * @param props authorizer settings; `projectId` is required
   * @throws Error naming the construct's path on invalid settings (see the property docs). What the
   *   authorizer would refuse at start-up fails the synth: the construct loads the environment it deploys
   *   with the authorizer's own loader, route table included, and finds every route that uses it.
   */
  constructor(scope: Construct, id: string, props: StytchAuthorizerProps) {
    super(scope, id);
    this.props = props;
    this.identity = props.identity ?? "header-or-cookie";
    this.resultsCacheTtl = validateCacheTtl(this, this.identity, props.resultsCacheTtl, props.allowLongCache ?? false);
    this.httpResponseType = props.httpResponseType ?? HttpLambdaResponseType.SIMPLE;
    if (props.timeout && props.timeout.toMilliseconds() > MAX_AUTHORIZER_TIMEOUT.toMilliseconds()) {
      throw propsError(
        this,
        `timeout must be at most 10 seconds (HTTP API limit), got ${props.timeout.toHumanString()}`,
      );
    }

    if (props.protectedResource) {
      const problems = protectedResourceProblems(props.protectedResource);
      if (!props.routePermissions)
        problems.push("protectedResource needs routePermissions with a route open to Connected Apps");
      if (problems.length > 0) throw propsError(this, problems.join("; "));
    }
    warnDeprecatedFunctionOptions(this, props);
    this.secret = resolveSecret(this, props);
    this.putSecretCommand = putSecretCommand(this.secret);
    if (createsPlaceholderSecret(props)) {
      this.putSecretCommandOutput = new CfnOutput(this, "PutStytchSecretCommand", {
        value: this.putSecretCommand,
        description:
          "Puts the Stytch project secret (Stytch dashboard, API keys) into the placeholder secret: read -rs STYTCH_SECRET, then run this",
      });
    }
    this.stytchEnvironment = stytchEnvironment(this, props, this.secret);
    this.function = createBundledFunction(this, "Function", {
      entry: { packaged: "authorizer" },
      description: `Stytch B2B session authorizer for ${props.projectId}`,
      environment: this.functionEnvironment(),
      ...functionSettingsOf(props),
    });
    this.secret.grantRead(this.function);
    this.handler = props.alias
      ? new lambda.Alias(this, "Alias", {
          aliasName: props.alias.aliasName,
          version: this.function.currentVersion,
          provisionedConcurrentExecutions: props.alias.provisionedConcurrentExecutions,
        })
      : this.function;

    this.routePermissions = props.routePermissions;
    if (props.routePermissions) this.routeTableShipment = attachRoutePermissions(this.function, props.routePermissions);
    if (props.snapshot) this.shipSnapshot(props.snapshot);

    this.httpAuthorizer = this.addHttpAuthorizer("StytchSession", { authorizerName: props.authorizerName });
    this.monitoring =
      props.monitoring === false
        ? undefined
        : new StytchMonitoring(this, "Monitoring", { ...props.monitoring, authorizerFunction: this.function });
    // At synth, once every route is attached and the route table compiled.
    this.node.addValidation({ validate: () => this.validateDeployment() });
  }

  /** The alarms and dashboard of this authorizer, unless {@link StytchAuthorizerProps.monitoring} is `false`. */
  public readonly monitoring?: StytchMonitoring;

  /** The per-route permissions this authorizer enforces, if any (add routes to it as they are attached). */
  public readonly routePermissions?: RoutePermissionTable;

  /**
   * Authorizer for one REST API (a REQUEST authorizer). Created on first access, because a REST
   * authorizer that is not attached to a method fails synthesis. It belongs to one REST API; use
   * {@link addRestAuthorizer} for another API. Attaching it adds the gateway responses
   * ({@link StytchAuthorizerProps.gatewayResponses}).
   */
  public get restAuthorizer(): apigateway.RequestAuthorizer {
    this._restAuthorizer ??= this.addRestAuthorizer("RestAuthorizer", { authorizerName: this.props.authorizerName });
    return this._restAuthorizer;
  }

  /**
   * Adds a REST API authorizer backed by the same function, for another REST API (API Gateway
   * authorizers belong to one API). Attach it to at least one method, or synthesis fails.
   *
   * @param id construct id, also the authorizer's name suffix; unique within this construct
   */
  public addRestAuthorizer(id: string, options: StytchAuthorizerOptions = {}): apigateway.RequestAuthorizer {
    const header = this.identity === "header";
    const authorizer = new StytchRequestAuthorizer(
      this,
      id,
      {
        handler: this.handler,
        authorizerName: options.authorizerName ?? `${this.props.authorizerName ?? this.node.id}-${id}`,
        identitySources: header ? [apigateway.IdentitySource.header("Authorization")] : [],
        resultsCacheTtl: this.resultsCacheTtl,
      },
      (restApi) => {
        const metadataUrl = this.serveProtectedResourceMetadata(restApi);
        if (this.props.gatewayResponses ?? true)
          addGatewayResponses(
            restApi,
            this.props.gatewayResponseAllowOrigin,
            metadataUrl === undefined ? "Bearer" : bearerChallenge(metadataUrl),
          );
      },
    );
    if (!header) {
      // CDK renders an empty list as IdentitySource: ""; without caching the property is optional, so omit it.
      (authorizer.node.defaultChild as apigateway.CfnAuthorizer).addPropertyDeletionOverride("IdentitySource");
    }
    this.restAuthorizers.push(authorizer);
    return authorizer;
  }

  /** Serves the RFC 9728 metadata on a REST API (once per API), if configured; returns its URL. */
  private serveProtectedResourceMetadata(restApi: apigateway.IRestApi): string | undefined {
    const options = this.props.protectedResource;
    if (!options) return undefined;
    const served = this.metadataUrls.get(restApi);
    if (served !== undefined) return served;
    const known = restApi.root.getResource(".well-known")?.getResource("oauth-protected-resource");
    if (known?.node.tryFindChild("GET"))
      throw propsError(this, `${PROTECTED_RESOURCE_METADATA_PATH} is already served on this REST API`);
    const url = serveProtectedResourceMetadata(restApi, options, () => defaultAdvertisedScopes(this.routePermissions));
    this.metadataUrls.set(restApi, url);
    return url;
  }

  private readonly metadataUrls = new Map<apigateway.IRestApi, string>();

  /**
   * Creates an additional REST API authorizer.
   *
   * @deprecated use {@link addRestAuthorizer}
   */
  public newRestAuthorizer(id: string, authorizerName?: string): apigateway.RequestAuthorizer {
    return this.addRestAuthorizer(id, { authorizerName });
  }

  /**
   * Adds an HTTP API authorizer backed by the same function, for another HTTP API (API Gateway
   * authorizers belong to one API).
   *
   * @param id id of the authorizer resource, created in the API's scope when first bound
   */
  public addHttpAuthorizer(id: string, options: StytchAuthorizerOptions = {}): HttpLambdaAuthorizer {
    const header = this.identity === "header";
    const authorizer = new HttpLambdaAuthorizer(id, this.handler, {
      authorizerName: options.authorizerName ?? `${this.props.authorizerName ?? this.node.id}-${id}`,
      responseTypes: [this.httpResponseType],
      identitySource: header ? ["$request.header.Authorization"] : [],
      // An HTTP API caches a simple answer per identity source, not per route: with per-route permissions one
      // route's answer must never be reused for another, so those answers are not cached (REST caches policies, which is safe).
      resultsCacheTtl: this.routePermissions ? Duration.seconds(0) : this.resultsCacheTtl,
    });
    this.httpAuthorizers.push(authorizer);
    return authorizer;
  }

  /**
   * Creates an additional HTTP API authorizer.
   *
   * @deprecated use {@link addHttpAuthorizer}
   */
  public newHttpAuthorizer(id: string, authorizerName?: string): HttpLambdaAuthorizer {
    return this.addHttpAuthorizer(id, { authorizerName });
  }

  /**
   * The synth-time check: what the authorizer would refuse at start-up, and the routes that use it that its
   * route table leaves out (every caller of those would get 403).
   */
  private validateDeployment(): string[] {
    const tableProblems = this.props.routePermissions?.validate() ?? [];
    if (this.props.routePermissions && this.props.snapshot) {
      tableProblems.push(
        ...checkAgainstPolicy(this.props.routePermissions.toJSON(), this.props.snapshot.snapshot.rbac_policy).map(
          (problem) => `${problem} (the snapshot's, ${this.props.snapshot!.file})`,
        ),
      );
    }
    if (tableProblems.length > 0) return tableProblems;
    const env = deployedEnvironment(this.function);
    // The snapshot was checked when it was given (its age only warns: it is the deploy's, not the synth's).
    delete env[VARIABLE.snapshotFile];
    const file = env[VARIABLE.routePermissionsFile];
    if (file !== undefined) {
      const staged = this.routeTableShipment?.stagedFile;
      // The layer's file, read where it was staged; a file the user ships is checked when the function starts.
      if (file === ROUTE_PERMISSIONS_LAYER_FILE && staged !== undefined) env[VARIABLE.routePermissionsFile] = staged;
      else delete env[VARIABLE.routePermissionsFile];
    }
    const loaded = loadProblem(loadAuthorizerConfig, env, AUTHORIZER_PROP_OF_VARIABLE);
    if ("problem" in loaded) return [loaded.problem];
    const table = loaded.config.routePermissions;
    const problems = table ? this.unlistedRoutes(table).map(unlistedRouteProblem) : [];
    if (this.props.protectedResource && !table?.routes.some((route) => route.callers.includes("connected_app")))
      problems.push(
        'protectedResource is set, but no route accepts Connected Apps: add one with { callers: ["connected_app"] }, or drop protectedResource',
      );
    return problems;
  }

  /** The routes that use one of this construct's authorizers and are not in `table`. */
  private unlistedRoutes(table: RoutePermissions): AttachedRoute[] {
    const ids = new Set<string>(this.restAuthorizers.map((authorizer) => authorizer.authorizerId));
    for (const authorizer of this.httpAuthorizers) {
      try {
        ids.add(authorizer.authorizerId);
      } catch {
        // Never bound to a route: nothing uses it.
      }
    }
    return routesUsingAuthorizers(this.node.root, ids).filter((route) => !isInRouteTable(table, route));
  }

  /** The one place the authorizer function's environment is assembled. */
  private functionEnvironment(): Record<string, string> {
    return mergeEnvironment(
      this,
      {
        ...this.stytchEnvironment,
        [VARIABLE.httpApiResponse]: this.httpResponseType === HttpLambdaResponseType.IAM ? "iam" : "simple",
        // Uncached (the default), a route table's answers cover their own request only: exact, no IAM wildcard.
        [VARIABLE.resultsCacheTtlSeconds]: String(this.resultsCacheTtl.toSeconds()),
        ...(this.props.introspectionClientId
          ? { [VARIABLE.introspectionClientId]: this.props.introspectionClientId }
          : {}),
        [SERVICE_NAME_ENV]: SERVICE_NAMES.authorizer,
        ...this.snapshotEnvironment(),
      },
      this.props.environment,
      [
        // Written when the app synthesizes, from routePermissions.
        ...(this.props.routePermissions ? [VARIABLE.routePermissions, VARIABLE.routePermissionsFile] : []),
        // The snapshot prop's: a file named by hand would not ship with the function.
        VARIABLE.snapshotFile,
        VARIABLE.snapshotMaxAgeSeconds,
      ],
    );
  }

  /** STYTCH_SNAPSHOT_FILE and STYTCH_SNAPSHOT_MAX_AGE_SECONDS, with a snapshot. */
  private snapshotEnvironment(): Record<string, string> {
    const { snapshot, snapshotMaxAge } = this.props;
    if (!snapshot) {
      if (snapshotMaxAge !== undefined) throw propsError(this, "snapshotMaxAge needs snapshot");
      return {};
    }
    return {
      [VARIABLE.snapshotFile]: SNAPSHOT_LAYER_FILE,
      [VARIABLE.snapshotMaxAgeSeconds]: wholeNumberEnvironment(
        this,
        "snapshotMaxAge",
        snapshotMaxAge?.toSeconds({ integral: false }) ?? WHOLE_NUMBER.snapshotMaxAgeSeconds.fallback,
        WHOLE_NUMBER.snapshotMaxAgeSeconds,
        "seconds",
      ),
    };
  }

  /**
   * Checks the snapshot against the project (a snapshot of another project fails the synth, as the function would
   * refuse it) and its age (a warning: the age that counts is the deploy's), and ships it in a layer.
   */
  private shipSnapshot(snapshot: StytchSnapshot): void {
    const projectId = this.props.projectId;
    const projectProblem = Token.isUnresolved(projectId)
      ? undefined
      : snapshotProjectProblem(snapshot.snapshot, projectId);
    if (projectProblem) throw propsError(this, `snapshot ${snapshot.file} ${projectProblem}`);
    const maxAgeSeconds = Number(this.snapshotEnvironment()[VARIABLE.snapshotMaxAgeSeconds]);
    const ageProblem = Number.isFinite(maxAgeSeconds)
      ? snapshotAgeProblem(snapshot.snapshot, maxAgeSeconds, Date.now())
      : undefined;
    if (ageProblem) {
      Annotations.of(this).addWarningV2(
        "stytch:snapshotTooOld",
        `snapshot ${snapshot.file} ${ageProblem} (npx stytch-b2b-apigw-authorizer snapshot --out …): deployed as it is, the authorizer ${
          snapshotTakenAtMs(snapshot.snapshot) > Date.now()
            ? "would refuse every request (503)"
            : "does not trust it, and every new container waits for Stytch"
        }`,
      );
    }
    const layer = new lambda.LayerVersion(this, "SnapshotLayer", {
      code: lambda.Code.fromAsset(snapshot.stageLayerFolder()),
      description: `Stytch project snapshot of ${snapshot.snapshot.project_id}, taken at ${snapshot.snapshot.taken_at}`,
    });
    this.function.addLayers(layer);
  }
}

/** The props of {@link StytchAuthorizerProps} by the variable they set, for synth-time messages. */
const AUTHORIZER_PROP_OF_VARIABLE: Readonly<Record<string, string>> = {
  ...CONNECTION_PROP_OF_VARIABLE,
  [VARIABLE.httpApiResponse]: "httpResponseType",
  [VARIABLE.resultsCacheTtlSeconds]: "resultsCacheTtl",
  [VARIABLE.routePermissions]: "routePermissions",
  [VARIABLE.routePermissionsFile]: "routePermissions",
  [VARIABLE.snapshotFile]: "snapshot",
  [VARIABLE.snapshotMaxAgeSeconds]: "snapshotMaxAge",
  [VARIABLE.introspectionClientId]: "introspectionClientId",
};

function unlistedRouteProblem(route: AttachedRoute): string {
  if (route.routeKey === "$default") {
    return `HTTP API route $default (${route.constructPath}) uses this authorizer, but a route table cannot list it (the authorizer sees no method or path), so every caller would get 403: give the route a path, e.g. ANY /{proxy+}, and declare it in routePermissions, or attach it without this authorizer`;
  }
  const [method, path] = route.routeKey.split(" ");
  return `${route.api === "REST" ? "REST method" : "HTTP API route"} ${route.routeKey} (${route.constructPath}) uses this authorizer but is not in its route table, so every caller would get 403: declare it where it is attached, routePermissions.add("${method}", "${path}", { resourceId: "…", action: "…" }), or with "authenticated" to admit any member of any organization`;
}

function validateCacheTtl(
  scope: Construct,
  identity: StytchIdentityMode,
  ttl: Duration | undefined,
  allowLong: boolean,
): Duration {
  if (identity === "header-or-cookie") {
    if (ttl !== undefined && ttl.toSeconds() !== 0) {
      throw propsError(
        scope,
        'resultsCacheTtl needs identity: "header"; "header-or-cookie" declares no identity source, so API Gateway cannot cache',
      );
    }
    return Duration.seconds(0);
  }
  const effective = ttl ?? MAX_SAFE_CACHE_TTL;
  const seconds = effective.toSeconds();
  const { max } = WHOLE_NUMBER.resultsCacheTtlSeconds;
  if (seconds > max)
    throw propsError(scope, `resultsCacheTtl must be at most ${max} seconds (API Gateway limit), got ${seconds}`);
  if (seconds > MAX_SAFE_CACHE_TTL.toSeconds() && !allowLong) {
    throw propsError(
      scope,
      `resultsCacheTtl of ${seconds} s outlives a Stytch session JWT (300 s) and keeps revoked sessions working; set allowLongCache: true to accept that`,
    );
  }
  return effective;
}
