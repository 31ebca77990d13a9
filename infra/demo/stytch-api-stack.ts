/**
 * The demo stack: one {@link StytchAuthorizer} protecting the same routes ({@link API_ROUTES})
 * on a REST API and on an HTTP API, with CORS, access logs, throttling and cdk-nag clean.
 *
 * @module
 */
import { Annotations, CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import type { Construct, IConstruct } from "constructs";
import { acknowledgeFinding, createBundledFunction, DEFAULT_LOG_RETENTION } from "../lambda-defaults";
import { RoutePermissionTable } from "../route-permission-table";
import { StytchAuthorizer, type StytchAuthorizerProps } from "../stytch-authorizer";
import { StytchMonitoring, type StytchMonitoringProps } from "../stytch-monitoring";
import { StytchRefreshFunction, type StytchRefreshFunctionProps } from "../stytch-refresh-function";
import { validateOrigins } from "../stytch-settings";
import { StytchSnapshot } from "../stytch-snapshot";
import { routeOptionsOf } from "./demo-route-table";
import { DEMO_SNAPSHOT_FILE } from "./demo-snapshot";
import { API_ROUTES, type ApiRoute, CORS_PREFLIGHT } from "./routes";

/** Throttling applied to every route of a stage. */
export interface StageThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst capacity in requests. */
  readonly burstLimit: number;
}

/** Default stage throttling of both APIs. */
export const DEFAULT_THROTTLE: StageThrottle = { rateLimit: 100, burstLimit: 200 };

/** Properties of {@link StytchApiStack}. */
export interface StytchApiStackProps extends StackProps {
  /** Stytch project id (`project-test-…` or `project-live-…`). */
  readonly projectId: string;
  /**
   * Browser origins allowed to call the APIs with credentials. The first one is also the
   * `Access-Control-Allow-Origin` of REST gateway (error) responses, which cannot vary by request.
   * `infra/demo/app.ts` reads them from context: `-c allowedOrigins=https://app.example.com,https://admin.example.com`.
   *
   * @default - none: no CORS, so no browser page on another origin may call the APIs (synth warns)
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Create the account-and-region-wide API Gateway CloudWatch Logs role (`AWS::ApiGateway::Account`)
   * that REST access and execution logs need. A fresh account has none, and a REST stage with
   * logging fails to deploy without it. Set `false` where the account already has one
   * (`aws apigateway get-account` shows a `cloudwatchRoleArn`), e.g. when another stack owns it.
   * The role is retained when the stack is deleted, because other APIs may rely on it.
   *
   * @default true
   */
  readonly createCloudWatchRole?: boolean;
  /**
   * The project snapshot (`npm run snapshot -- --out <file>`): the authorizer starts from it, and the route table
   * is checked against its RBAC policy. `infra/demo/app.ts` reads it from context: `-c snapshotFile=…`.
   *
   * @default - the demo project's (infra/demo/snapshot.json): the authorizer's for the placeholder project only;
   *   for another project the route table is still checked against it, and the authorizer starts without a
   *   snapshot (synth warns)
   */
  readonly snapshotFile?: string;
  /** Options passed through to the {@link StytchAuthorizer}. @default - construct defaults */
  readonly authorizer?: Omit<StytchAuthorizerProps, "projectId">;
  /**
   * Options passed through to the {@link StytchRefreshFunction} (which also deploys the organization switch, as the
   * route table has its route). @default - construct defaults
   */
  readonly refresh?: Omit<StytchRefreshFunctionProps, "authorizer" | "allowedOrigins" | "organizationSwitch">;
  /** Stage throttling of both APIs. @default 100 requests/s, burst 200 */
  readonly throttle?: StageThrottle;
  /** Retention of the API access log groups. @default one month */
  readonly accessLogRetention?: logs.RetentionDays;
  /** Active X-Ray tracing on the REST stage and all functions. @default false */
  readonly tracing?: boolean;
  /**
   * REST execution logging (ERROR level, no request/response data) and per-method metrics.
   * Needs the account-and-region-wide API Gateway CloudWatch Logs role (see
   * {@link createCloudWatchRole}). Access logs are always on.
   *
   * @default - on when this stack creates the CloudWatch role
   */
  readonly restExecutionLogging?: boolean;
  /** ARN of a regional WAFv2 web ACL to associate with the REST stage. @default - no WAF */
  readonly webAclArn?: string;
  /** Alarms and dashboard of the authorizer and the refresh function. @default - every alarm and the dashboard (the construct's default has none), no notifications */
  readonly monitoring?: Omit<
    StytchMonitoringProps,
    "authorizerFunction" | "refreshFunction" | "organizationSwitchFunction"
  >;
}

/**
 * Demo stack: every route of {@link API_ROUTES} on a REST API and on an HTTP API, protected by
 * one {@link StytchAuthorizer}.
 *
 * Error semantics: on the REST API, gateway responses make an authorizer fault
 * (`AUTHORIZER_FAILURE`, `AUTHORIZER_CONFIGURATION_ERROR`) a 503 with `Retry-After`, so a Stytch
 * outage never reads as "logged out"; 401 and 403 carry JSON bodies and CORS headers. HTTP APIs
 * have no gateway responses: an authorizer fault there is a 500 (still never 401), with
 * API Gateway's own body.
 */
export class StytchApiStack extends Stack {
  /** The Stytch authorizer shared by both APIs. */
  public readonly authorizer: StytchAuthorizer;
  /** The REST API. */
  public readonly restApi: apigateway.RestApi;
  /** The HTTP API. */
  public readonly httpApi: apigwv2.HttpApi;
  /** The HTTP API's `$default` stage. */
  public readonly httpStage: apigwv2.HttpStage;
  /** The route functions by {@link ApiRoute.functionId}, each shared by both APIs. */
  public readonly functions: ReadonlyMap<ApiRoute["functionId"], lambda.IFunction>;
  /** Alarms and dashboard. */
  public readonly monitoring: StytchMonitoring;

  /**
   * @param scope the app
   * @param id stack id
   * @param props stack settings; `projectId` is required
   * @throws Error on invalid settings, e.g. an allowed origin that is not an exact origin
   */
  constructor(scope: Construct, id: string, props: StytchApiStackProps) {
    super(scope, id, props);
    const origins = validateOrigins(this, props.allowedOrigins ?? []);
    if (origins.length === 0) {
      Annotations.of(this).addWarningV2(
        "stytch:noAllowedOrigins",
        "No allowed origins: no browser page on another origin may call these APIs (no CORS). Pass -c allowedOrigins=https://app.example.com[,…] for your frontend",
      );
    }
    const throttle = props.throttle ?? DEFAULT_THROTTLE;
    const logRetention = props.accessLogRetention ?? DEFAULT_LOG_RETENTION;
    const tracing = props.tracing ? lambda.Tracing.ACTIVE : undefined;

    const snapshotFile = props.snapshotFile ?? DEMO_SNAPSHOT_FILE;
    const snapshot = StytchSnapshot.fromFile(snapshotFile);
    const ownSnapshot = props.snapshotFile !== undefined || snapshot.snapshot.project_id === props.projectId;
    if (!ownSnapshot) {
      Annotations.of(this).addWarningV2(
        "stytch:demoSnapshotOnly",
        `The demo snapshot is of ${snapshot.snapshot.project_id}: the authorizer starts without a snapshot. Take one of your project (npm run snapshot -- --out stytch-snapshot.json) and pass -c snapshotFile=stytch-snapshot.json`,
      );
    }
    this.authorizer = new StytchAuthorizer(this, "Auth", {
      tracing,
      // The stack creates one StytchMonitoring below that watches the refresh function too.
      monitoring: false,
      // Per-route permissions, checked at synth against the snapshot's RBAC policy.
      routePermissions: new RoutePermissionTable({ policyFile: snapshotFile }),
      ...(ownSnapshot ? { snapshot } : {}),
      ...props.authorizer,
      projectId: props.projectId,
    });

    // A handler behind the authorizer that answers browsers itself (REST APIs leave CORS headers on real
    // responses to the function).
    const downstreamFunction = (route: ApiRoute): lambda.IFunction =>
      createBundledFunction(this, route.functionId, {
        entry: route.entry,
        handler: route.handler,
        description: route.description,
        tracing,
        environment: origins.length > 0 ? { CORS_ALLOWED_ORIGINS: origins.join(",") } : undefined,
      });
    let refresh: StytchRefreshFunction | undefined;
    // The refresh construct deploys both session endpoints, with the same settings.
    const sessionEndpoints = () =>
      (refresh ??= new StytchRefreshFunction(this, "Refresh", {
        tracing,
        ...props.refresh,
        organizationSwitch: API_ROUTES.some((route) => route.functionId === "SwitchOrganization"),
        authorizer: this.authorizer,
        allowedOrigins: origins,
      }));
    // One factory per function id; the Record type makes a new id in the table a compile error here.
    const factories: Record<ApiRoute["functionId"], (route: ApiRoute) => lambda.IFunction> = {
      Me: (route) => downstreamFunction(route),
      OrganizationData: (route) => downstreamFunction(route),
      ServiceUsage: (route) => downstreamFunction(route),
      Refresh: () => sessionEndpoints().function,
      SwitchOrganization: () => sessionEndpoints().organizationSwitchFunction!,
    };
    const functions = new Map<ApiRoute["functionId"], lambda.IFunction>();
    const functionFor = (route: ApiRoute): lambda.IFunction => {
      let fn = functions.get(route.functionId);
      if (!fn) {
        fn = factories[route.functionId](route);
        functions.set(route.functionId, fn);
      }
      return fn;
    };
    this.functions = functions;

    this.restApi = this.createRestApi(props, origins, throttle, logRetention, props.tracing ?? false);
    ({ api: this.httpApi, stage: this.httpStage } = this.createHttpApi(origins, throttle, logRetention));

    const requestValidator = this.restApi.addRequestValidator("RequestValidator", {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    for (const route of API_ROUTES) {
      const fn = functionFor(route);
      const isPublic = route.authorization === "none";

      const method = this.restApi.root
        .resourceForPath(route.path)
        .addMethod(
          route.method,
          new apigateway.LambdaIntegration(fn),
          isPublic
            ? { authorizationType: apigateway.AuthorizationType.NONE, requestValidator }
            : { authorizer: this.authorizer.restAuthorizer, requestValidator },
        );
      acknowledgeRestRoute(method, route);
      // The route's permission is declared where it is attached; the authorizer compiles the table at synth.
      if (!isPublic)
        this.authorizer.routePermissions?.add(
          route.method,
          route.path,
          route.permission ?? "authenticated",
          routeOptionsOf(route),
        );

      const [httpRoute] = this.httpApi.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.functionId}Integration`, fn),
        authorizer: isPublic ? new apigwv2.HttpNoneAuthorizer() : this.authorizer.httpAuthorizer,
      });
      if (isPublic) acknowledgePublicRoute(httpRoute, route);
    }

    this.monitoring = new StytchMonitoring(this, "Monitoring", {
      // The demo shows its dashboard (US$3 a month beyond an account's three free ones); the construct's default is none.
      dashboard: true,
      ...props.monitoring,
      authorizerFunction: this.authorizer.function,
      refreshFunction: refresh?.function,
      organizationSwitchFunction: refresh?.organizationSwitchFunction,
    });

    // RestApi adds an "Endpoint" output with a generated name; RestApiUrl below replaces it.
    this.restApi.node.tryRemoveChild("Endpoint");
    new CfnOutput(this, "RestApiUrl", { value: this.restApi.url, description: "REST API base URL (stage v1)" });
    new CfnOutput(this, "HttpApiUrl", { value: this.httpStage.url, description: "HTTP API base URL ($default stage)" });
    new CfnOutput(this, "StytchSecretArn", {
      value: this.authorizer.secret.secretArn,
      description: "Secrets Manager secret holding the Stytch project secret",
    });
    // The construct's own output (with the placeholder secret), under the name the docs use.
    this.authorizer.putSecretCommandOutput?.overrideLogicalId("PutStytchSecretCommand");
  }

  private createRestApi(
    props: StytchApiStackProps,
    origins: readonly string[],
    throttle: StageThrottle,
    logRetention: logs.RetentionDays,
    tracing: boolean,
  ): apigateway.RestApi {
    const accessLogs = new logs.LogGroup(this, "RestAccessLogs", { retention: logRetention });
    const cloudWatchRole = props.createCloudWatchRole ?? true;
    const executionLogging = props.restExecutionLogging ?? cloudWatchRole;
    const api = new apigateway.RestApi(this, "RestApi", {
      restApiName: `${this.stackName}-rest`,
      description: "Stytch B2B session authorizer demo (REST API)",
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      // REST access logs need the account-wide API Gateway logging role; a fresh account has none,
      // and the first deploy would fail. Retained on delete: other APIs in the account rely on it.
      cloudWatchRole,
      ...(origins.length > 0
        ? {
            defaultCorsPreflightOptions: {
              allowOrigins: [...origins],
              allowCredentials: true,
              allowMethods: [...CORS_PREFLIGHT.allowMethods],
              allowHeaders: [...CORS_PREFLIGHT.allowHeaders],
              maxAge: Duration.seconds(CORS_PREFLIGHT.maxAgeSeconds),
            },
          }
        : {}),
      deployOptions: {
        stageName: "v1",
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(REST_ACCESS_LOG_FIELDS)),
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        tracingEnabled: tracing,
        ...(executionLogging
          ? { loggingLevel: apigateway.MethodLoggingLevel.ERROR, dataTraceEnabled: false, metricsEnabled: true }
          : {}),
      },
    });

    // 401, 403 and the authorizer's 503 come from the StytchAuthorizer when it is attached; the
    // remaining 4xx and 5xx get CORS headers here, so that browsers can read them too.
    if (origins.length > 0) {
      const cors = {
        "Access-Control-Allow-Origin": `'${origins[0]}'`,
        "Access-Control-Allow-Credentials": "'true'",
        Vary: "'Origin'",
      };
      api.addGatewayResponse("Default4xx", { type: apigateway.ResponseType.DEFAULT_4XX, responseHeaders: cors });
      api.addGatewayResponse("Default5xx", { type: apigateway.ResponseType.DEFAULT_5XX, responseHeaders: cors });
    }
    const role = api.node.tryFindChild("CloudWatchRole");
    if (role) {
      acknowledgeFinding(role, {
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        reason:
          "The account-wide API Gateway logging role uses the AWS managed policy AWS documents for it; it serves every API in the account and region, so it cannot be scoped to this stack's log groups",
      });
    }

    const stage = api.deploymentStage;
    if (!executionLogging) {
      acknowledgeFinding(stage, {
        id: "AwsSolutions-APIG6",
        reason:
          "Execution logging was turned off (restExecutionLogging: false); JSON access logs with authorizer status, latency and error are on",
      });
    }
    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, "RestWebAcl", {
        resourceArn: stage.stageArn,
        webAclArn: props.webAclArn,
      });
    } else {
      acknowledgeFinding(stage, {
        id: "AwsSolutions-APIG3",
        reason:
          "WAF is opt-in for the demo (pass webAclArn) because a web ACL has a fixed monthly cost; the stage is throttled and every protected route is authorized",
      });
    }
    return api;
  }

  private createHttpApi(
    origins: readonly string[],
    throttle: StageThrottle,
    logRetention: logs.RetentionDays,
  ): { api: apigwv2.HttpApi; stage: apigwv2.HttpStage } {
    const accessLogs = new logs.LogGroup(this, "HttpAccessLogs", { retention: logRetention });
    const api = new apigwv2.HttpApi(this, "HttpApi", {
      apiName: `${this.stackName}-http`,
      description: "Stytch B2B session authorizer demo (HTTP API)",
      createDefaultStage: false,
      corsPreflight:
        origins.length > 0
          ? {
              allowOrigins: [...origins],
              allowCredentials: true,
              allowMethods: CORS_PREFLIGHT.allowMethods.map((method) => apigwv2.CorsHttpMethod[method]),
              allowHeaders: CORS_PREFLIGHT.allowHeaders.map((header) => header.toLowerCase()),
              maxAge: Duration.seconds(CORS_PREFLIGHT.maxAgeSeconds),
            }
          : undefined,
    });
    const stage = api.addStage("DefaultStage", {
      stageName: "$default",
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigateway.AccessLogFormat.custom(JSON.stringify(HTTP_ACCESS_LOG_FIELDS)),
      },
    });
    return { api, stage };
  }
}

/** REST access log line (JSON). Authorizer fields show why a request was denied or failed. */
export const REST_ACCESS_LOG_FIELDS = {
  requestId: "$context.requestId",
  extendedRequestId: "$context.extendedRequestId",
  requestTime: "$context.requestTimeEpoch",
  ip: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  method: "$context.httpMethod",
  resourcePath: "$context.resourcePath",
  status: "$context.status",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  errorResponseType: "$context.error.responseType",
  errorMessage: "$context.error.message",
  authorizerStatus: "$context.authorizer.status",
  authorizerIntegrationStatus: "$context.authorizer.integrationStatus",
  authorizerLatency: "$context.authorizer.latency",
  authorizerRequestId: "$context.authorizer.requestId",
  authorizerError: "$context.authorizer.error",
  principalId: "$context.authorizer.principalId",
  integrationStatus: "$context.integration.status",
  integrationLatency: "$context.integration.latency",
  integrationError: "$context.integration.error",
} as const;

/** HTTP API access log line (JSON); HTTP APIs expose fewer authorizer variables than REST. */
export const HTTP_ACCESS_LOG_FIELDS = {
  requestId: "$context.requestId",
  requestTime: "$context.requestTimeEpoch",
  ip: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  method: "$context.httpMethod",
  routeKey: "$context.routeKey",
  status: "$context.status",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  errorResponseType: "$context.error.responseType",
  errorMessage: "$context.error.message",
  authorizerError: "$context.authorizer.error",
  integrationStatus: "$context.integration.status",
  integrationLatency: "$context.integration.latency",
  integrationError: "$context.integration.error",
} as const;

/**
 * Why a public route may be public, by function. A public route without an entry here gets no
 * acknowledgement, so cdk-nag fails until someone writes down the reason.
 */
const PUBLIC_ROUTE_REASONS: Partial<Record<ApiRoute["functionId"], string>> = {
  Refresh:
    "The refresh route authenticates the Stytch session credential itself; an authorizer would reject the expired JWTs it exists to refresh",
  SwitchOrganization:
    "The organization switch authenticates the Stytch session credential itself, as refresh does; an authorizer would reject the expired JWTs it accepts",
};

/** cdk-nag acknowledgements of a REST method, at the method itself. */
function acknowledgeRestRoute(method: apigateway.Method, route: ApiRoute): void {
  if (route.authorization === "stytch") {
    acknowledgeFinding(method, {
      id: "AwsSolutions-COG4",
      reason:
        "This API authenticates Stytch B2B members with a Lambda authorizer; Cognito is not the identity provider",
    });
    return;
  }
  if (acknowledgePublicRoute(method, route)) {
    acknowledgeFinding(method, {
      id: "AwsSolutions-COG4",
      reason: "Public by design (see APIG4); members are Stytch B2B sessions, so Cognito is not the identity provider",
    });
  }
}

/** Acknowledges APIG4 on a route without an authorizer if the route has a documented reason. */
function acknowledgePublicRoute(construct: IConstruct, route: ApiRoute): boolean {
  const reason = PUBLIC_ROUTE_REASONS[route.functionId];
  if (reason === undefined) return false;
  acknowledgeFinding(construct, { id: "AwsSolutions-APIG4", reason });
  return true;
}
