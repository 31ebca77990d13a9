// The contract between the constructs and the handlers (issue 18): for every prop that reaches a function's
// environment, what `cdk synth` accepts the deployed function loads, and what the function would refuse at
// start-up (then answering every request with a 503) fails the synth, naming the construct and the prop.
//
// Each case gives props and the variables they stand for. The handler's own loader decides whether those
// variables are acceptable; the synth must agree, except where a case names a construct policy (a limit the
// construct sets on purpose, stricter than the handler). When the synth succeeds, the template's
// Environment.Variables (tokens replaced by the stand-ins) must carry those variables and load.

import { App, Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaResponseType } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { describe, expect, test } from "vitest";
import { FEATURE_FLAGS } from "../infra/demo/feature-flags";
import { RoutePermissionTable } from "../infra/route-permission-table";
import { StytchAuthorizer, type StytchAuthorizerProps } from "../infra/stytch-authorizer";
import { StytchRefreshFunction, type StytchRefreshFunctionProps } from "../infra/stytch-refresh-function";
import { loadAuthorizerConfig, loadRefreshConfig } from "../lambda/lib/config";
import { SYNTH_STAND_INS } from "../lambda/lib/settings";
import { thrownBy } from "./support/thrown";

const PROJECT_ID = "project-test-11111111-2222-3333-4444-555555555555";
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stytch-AbCdEf";
const STAND_IN_SECRET_ARN = SYNTH_STAND_INS.STYTCH_SECRET_ARN!;
/** The route every test stack attaches the authorizer to, on a REST API and an HTTP API. */
const ATTACHED = { "GET /orders": "authenticated" } as const;

type Env = Record<string, string>;

/** A case: props, the variables they stand for, and whether the handler accepts those. */
interface Case<P> {
  readonly name: string;
  readonly props: (stack: Stack) => Partial<P>;
  /** The variables these props set, as a hand-configured function would get them. */
  readonly env: Env;
  /** What the template holds for them, where the construct normalizes the value. @default env */
  readonly deployed?: Env;
  /** Whether the handler's loader accepts `env`. */
  readonly loads: boolean;
  /** A limit the construct sets on purpose, stricter than the handler: the synth fails although `env` loads. */
  readonly constructPolicy?: string;
  /** Where the refusal is reported. @default the construct's path */
  readonly refusedAt?: RegExp;
}

function fastApp(): App {
  return new App({
    context: { ...FEATURE_FLAGS, "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
}

function downstream(stack: Stack): lambda.Function {
  return new lambda.Function(stack, "Orders", {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })"),
  });
}

/** A user's stack: the authorizer on `GET /orders` of a REST API and of an HTTP API, and a refresh function. */
function userStack(
  authorizerProps: (stack: Stack) => Partial<StytchAuthorizerProps> = () => ({}),
  refreshProps: (stack: Stack) => Partial<StytchRefreshFunctionProps> = () => ({}),
): Template {
  const stack = new Stack(fastApp(), "UserStack", { env: { account: "123456789012", region: "eu-west-1" } });
  const auth = new StytchAuthorizer(stack, "Auth", {
    projectId: PROJECT_ID,
    secret: secretsmanager.Secret.fromSecretCompleteArn(stack, "Secret", SECRET_ARN),
    monitoring: false,
    ...authorizerProps(stack),
  });
  const orders = downstream(stack);
  new apigateway.RestApi(stack, "Rest", { cloudWatchRole: false }).root
    .addResource("orders")
    .addMethod("GET", new apigateway.LambdaIntegration(orders), { authorizer: auth.restAuthorizer });
  new apigwv2.HttpApi(stack, "Http").addRoutes({
    path: "/orders",
    methods: [apigwv2.HttpMethod.GET],
    integration: new HttpLambdaIntegration("Orders", orders),
    authorizer: auth.httpAuthorizer,
  });
  new StytchRefreshFunction(stack, "Refresh", { authorizer: auth, allowedOrigins: [], ...refreshProps(stack) });
  return Template.fromStack(stack);
}

/** The Environment.Variables of the function with this description. */
function variablesOf(template: Template, description: RegExp): Record<string, unknown> {
  const [fn] = Object.values(template.findResources("AWS::Lambda::Function")).filter((resource) =>
    description.test(String(resource.Properties.Description)),
  );
  return fn!.Properties.Environment.Variables;
}

/** Template variables as the function reads them: a token (an object in the template) becomes its stand-in. */
function asDeployed(variables: Record<string, unknown>): Env {
  return Object.fromEntries(
    Object.entries(variables).flatMap(([name, value]) =>
      typeof value === "string" ? [[name, value]] : name in SYNTH_STAND_INS ? [[name, SYNTH_STAND_INS[name]!]] : [],
    ),
  );
}

function loads(load: (env: Env) => unknown, env: Env): boolean {
  return thrownBy(() => load(env)) === undefined;
}

/** Checks one case: the handler's verdict on `env`, the synth's verdict, and the synthesized environment. */
function checkCase<P>(
  testCase: Case<P>,
  base: Env,
  load: (env: Env) => unknown,
  synth: (props: (stack: Stack) => Partial<P>) => Template,
  description: RegExp,
  constructPath: string,
): void {
  expect(loads(load, { ...base, ...testCase.env }), "the handler's verdict").toBe(testCase.loads);
  const failure = thrownBy(() => synth(testCase.props));
  if (testCase.loads && testCase.constructPolicy === undefined) {
    expect(failure, "what the handler loads synthesizes").toBeUndefined();
  } else {
    // What the handler refuses (or the construct's own policy) fails the synth, naming the construct.
    expect(failure, "what the handler refuses fails the synth").toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(testCase.refusedAt ?? constructPath);
    return;
  }
  const template = synth(testCase.props);
  const variables = variablesOf(template, description);
  expect(variables).toMatchObject(testCase.deployed ?? testCase.env);
  const deployed = asDeployed(variables);
  expect(
    thrownBy(() => load(deployed)),
    "the synthesized environment loads",
  ).toBeUndefined();
}

const AUTHORIZER_BASE: Env = { STYTCH_PROJECT_ID: PROJECT_ID, STYTCH_SECRET_ARN: SECRET_ARN };

const table = (routes: Record<string, StytchAuthorizerRoute>) => () => {
  const routePermissions = new RoutePermissionTable();
  for (const [key, permission] of Object.entries({ ...ATTACHED, ...routes })) {
    const [method, path] = key.split(" ") as [string, string];
    routePermissions.add(method, path, permission);
  }
  return { routePermissions };
};
type StytchAuthorizerRoute = Parameters<RoutePermissionTable["add"]>[2];
const tableEnv = (routes: Record<string, unknown>): Env => ({
  STYTCH_ROUTE_PERMISSIONS: JSON.stringify({ ...ATTACHED, ...routes }),
});

const AUTHORIZER_CASES: Case<StytchAuthorizerProps>[] = [
  // projectId
  { name: "a test project id", props: () => ({}), env: {}, loads: true },
  ...[
    [`project-live-${"a".repeat(64)}`, true],
    [`project-test-${"a".repeat(65)}`, false],
    ["secret-test-abc", false],
    ["project-prod-1befd812", false],
    ["project-test-abc def", false],
  ].map(([projectId, ok]) => ({
    name: `projectId ${projectId}`,
    props: () => ({ projectId: projectId as string }),
    env: { STYTCH_PROJECT_ID: projectId as string },
    loads: ok as boolean,
  })),
  // secret
  {
    name: "a secret created in the same stack (its ARN a token, checked with the stand-in)",
    props: (stack) => ({ secret: new secretsmanager.Secret(stack, "Mine") }),
    env: { STYTCH_SECRET_ARN: STAND_IN_SECRET_ARN },
    deployed: {},
    loads: true,
  },
  {
    name: "a secret named by name (a partial ARN with tokens)",
    props: (stack) => ({ secret: secretsmanager.Secret.fromSecretNameV2(stack, "ByName", "prod/stytch") }),
    env: { STYTCH_SECRET_ARN: STAND_IN_SECRET_ARN },
    deployed: {},
    loads: true,
  },
  ...[
    [SECRET_ARN, true],
    ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/stytch", true],
    ["prod/stytch", false],
    ["arn:aws:s3:::bucket", false],
  ].map(([secretArn, ok]) => ({
    name: `secretArn ${secretArn}`,
    props: () => ({ secret: undefined, secretArn: secretArn as string }),
    env: { STYTCH_SECRET_ARN: secretArn as string },
    loads: ok as boolean,
  })),
  // apiUrl
  ...[
    ["https://login.example.com", "https://login.example.com", true],
    ["https://login.example.com/", "https://login.example.com", true],
    ["https://login.example.com:8443", "https://login.example.com:8443", true],
    ["http://localhost:8080", "http://localhost:8080", true],
    ["http://login.example.com", undefined, false],
    ["https://login.example.com/v1", undefined, false],
    ["https://user:pw@login.example.com", undefined, false],
    ["https://login.example.com/?x=1", undefined, false],
    ["login.example.com", undefined, false],
  ].map(([apiUrl, deployed, ok]) => ({
    name: `apiUrl ${apiUrl}`,
    props: () => ({ apiUrl: apiUrl as string }),
    env: { STYTCH_API_URL: apiUrl as string },
    deployed: deployed ? { STYTCH_API_URL: deployed as string } : undefined,
    loads: ok as boolean,
  })),
  // maxTokenAge, clockTolerance
  ...[
    [0, true],
    [60, true],
    [86_400, true],
    [86_401, false],
  ].map(([seconds, ok]) => ({
    name: `maxTokenAge ${seconds} s`,
    props: () => ({ maxTokenAge: Duration.seconds(seconds as number) }),
    env: { STYTCH_MAX_TOKEN_AGE_SECONDS: String(seconds) },
    loads: ok as boolean,
  })),
  ...[
    [0, true],
    [60, true],
    [61, false],
  ].map(([seconds, ok]) => ({
    name: `clockTolerance ${seconds} s`,
    props: () => ({ clockTolerance: Duration.seconds(seconds as number) }),
    env: { STYTCH_CLOCK_TOLERANCE_SECONDS: String(seconds) },
    loads: ok as boolean,
  })),
  // cookie names
  ...(["jwtCookieName", "sessionCookieName"] as const).flatMap((prop) =>
    [
      ["jwt", true],
      ["__Host-acme.jwt", true],
      ["a".repeat(64), true],
      ["a".repeat(65), false],
      ["bad name;", false],
      ["a=b", false],
      ["é", false],
    ].map(([name, ok]) => ({
      name: `${prop} ${name}`,
      props: () => ({ [prop]: name as string }),
      env: { [prop === "jwtCookieName" ? "STYTCH_JWT_COOKIE_NAME" : "STYTCH_SESSION_COOKIE_NAME"]: name as string },
      loads: ok as boolean,
    })),
  ),
  // httpResponseType, identity and resultsCacheTtl
  {
    name: "httpResponseType IAM",
    props: () => ({ httpResponseType: HttpLambdaResponseType.IAM }),
    env: { STYTCH_HTTP_API_RESPONSE: "iam" },
    loads: true,
  },
  {
    name: "httpResponseType SIMPLE",
    props: () => ({ httpResponseType: HttpLambdaResponseType.SIMPLE }),
    env: { STYTCH_HTTP_API_RESPONSE: "simple" },
    loads: true,
  },
  ...[
    [60, false, true, undefined],
    [300, false, true, undefined],
    [900, true, true, undefined],
    [3_600, true, true, undefined],
    [900, false, true, "a cached Allow may not outlive a session JWT unless allowLongCache"],
    [3_601, true, false, undefined],
  ].map(([seconds, allowLongCache, ok, constructPolicy]) => ({
    name: `identity "header", resultsCacheTtl ${seconds} s${allowLongCache ? " with allowLongCache" : ""}`,
    props: () => ({
      identity: "header" as const,
      resultsCacheTtl: Duration.seconds(seconds as number),
      allowLongCache: allowLongCache as boolean,
    }),
    env: { STYTCH_RESULTS_CACHE_TTL_SECONDS: String(seconds) },
    loads: ok as boolean,
    constructPolicy: constructPolicy as string | undefined,
  })),
  {
    name: 'identity "header-or-cookie" with a cache TTL',
    props: () => ({ resultsCacheTtl: Duration.seconds(60) }),
    env: { STYTCH_RESULTS_CACHE_TTL_SECONDS: "60" },
    loads: true,
    constructPolicy: "without an identity source API Gateway cannot cache",
  },
  // routePermissions
  {
    name: "a route table",
    props: table({ "GET /orgs/{organization_id}/documents": { resourceId: "documents", action: "read" } }),
    env: tableEnv({ "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" } }),
    loads: true,
  },
  {
    name: "a route asking for a wildcard action",
    props: table({ "GET /documents": { resourceId: "documents", action: "*" } }),
    env: tableEnv({ "GET /documents": { resource_id: "documents", action: "*" } }),
    loads: false,
    // Where the route is declared: the table's `add` checks each entry with the authorizer's parser.
    refusedAt: /^route permissions: "GET \/documents" needs/,
  },
  {
    name: "a route table whose greedy route would reach other organizations' routes",
    props: table({
      "GET /{proxy+}": "authenticated",
      "GET /orgs/{organization_id}/documents": { resourceId: "documents", action: "read" },
    }),
    env: tableEnv({
      "GET /{proxy+}": "authenticated",
      "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
    }),
    loads: false,
  },
  {
    name: "routes that API Gateway treats as one",
    props: table({ "GET /items/{id}": "authenticated", "GET /items/{item_id}": "authenticated" }),
    env: tableEnv({ "GET /items/{id}": "authenticated", "GET /items/{item_id}": "authenticated" }),
    loads: false,
  },
  // environment: the variables without a prop of their own
  ...[
    ["STYTCH_API_TIMEOUT_MS", "5000", true],
    ["STYTCH_API_TIMEOUT_MS", "50", false],
    ["STYTCH_JWKS_TIMEOUT_MS", "20000", false],
    ["STYTCH_SESSION_TOKEN_CACHE_SECONDS", "300", true],
    ["STYTCH_SESSION_TOKEN_CACHE_SECONDS", "301", false],
    ["STYTCH_SESSION_TOKEN_CACHE_SECONDS", "5m", false],
    ["STYTCH_ROUTE_PERMISSIONS", JSON.stringify(ATTACHED), true],
    ["STYTCH_ROUTE_PERMISSIONS", "{not json", false],
    ["POWERTOOLS_LOG_LEVEL", "DEBUG", true],
  ].map(([name, value, ok]) => ({
    name: `environment ${name}=${value}`,
    props: () => ({ environment: { [name as string]: value as string } }),
    env: { [name as string]: value as string },
    loads: ok as boolean,
  })),
];

const REFRESH_BASE: Env = { ...AUTHORIZER_BASE };

const REFRESH_CASES: Case<StytchRefreshFunctionProps>[] = [
  // allowedOrigins: the refresh handler's rule (https, or http to a loopback host)
  ...[
    [[], true],
    [["https://app.example.com"], true],
    [["https://app.example.com:8443", "https://admin.example.com"], true],
    [["http://localhost:3000"], true],
    [["http://127.0.0.1:3000"], true],
    [["http://127.0.0.2:3000"], true],
    [["http://[::1]:3000"], true],
    [["*"], false],
    [["https://app.example.com/"], false],
    [["https://app.example.com/path"], false],
    [["http://app.example.com"], false],
    [["https://*.example.com"], false],
  ].map(([origins, ok]) => ({
    name: `allowedOrigins ${JSON.stringify(origins)}`,
    props: () => ({ allowedOrigins: origins as string[] }),
    env: { REFRESH_ALLOWED_ORIGINS: (origins as string[]).join(",") },
    loads: ok as boolean,
  })),
  // maxSessionDuration: Stytch's session_duration_minutes is 5 minutes to 366 days; 0 turns extension off
  ...[
    [0, true],
    [5, true],
    [527_040, true],
    [3, false],
    [527_041, false],
  ].map(([minutes, ok]) => ({
    name: `maxSessionDuration ${minutes} min`,
    props: () => ({ maxSessionDuration: Duration.minutes(minutes as number) }),
    env: { REFRESH_MAX_SESSION_DURATION_MINUTES: String(minutes) },
    loads: ok as boolean,
  })),
  // cookieDomain
  ...[
    ["example.com", true],
    [".example.com", true],
    ["auth.example.co.uk", true],
    ["localhost", false],
    ["https://example.com", false],
    ["example.com/", false],
    ["exa mple.com", false],
  ].map(([domain, ok]) => ({
    name: `cookieDomain ${domain}`,
    props: () => ({ cookieDomain: domain as string }),
    env: { REFRESH_COOKIE_DOMAIN: domain as string },
    loads: ok as boolean,
  })),
  // booleans
  ...(["cookieHttpOnly", "returnSessionToken"] as const).flatMap((prop) =>
    [true, false].map((value) => ({
      name: `${prop} ${value}`,
      props: () => ({ [prop]: value }),
      env: {
        [prop === "cookieHttpOnly" ? "REFRESH_COOKIE_HTTP_ONLY" : "REFRESH_RETURN_SESSION_TOKEN"]: String(value),
      },
      loads: true,
    })),
  ),
  // environment
  ...[
    ["STYTCH_API_TIMEOUT_MS", "10000", true],
    ["STYTCH_API_TIMEOUT_MS", "99", false],
  ].map(([name, value, ok]) => ({
    name: `environment ${name}=${value}`,
    props: () => ({ environment: { [name as string]: value as string } }),
    env: { [name as string]: value as string },
    loads: ok as boolean,
  })),
];

describe("what synthesizes, the handlers load; what they refuse fails the synth", () => {
  test.each(AUTHORIZER_CASES.map((c) => [c.name, c] as const))("StytchAuthorizer: %s", (_name, testCase) => {
    checkCase(
      testCase,
      AUTHORIZER_BASE,
      loadAuthorizerConfig,
      (props) => userStack(props),
      /authorizer/,
      "UserStack/Auth",
    );
  });

  test.each(REFRESH_CASES.map((c) => [c.name, c] as const))("StytchRefreshFunction: %s", (_name, testCase) => {
    checkCase(
      testCase,
      REFRESH_BASE,
      loadRefreshConfig,
      (props) => userStack(undefined, props),
      /refresh/,
      "UserStack/Refresh",
    );
  });

  test.each(REFRESH_CASES.map((c) => [c.name, c] as const))(
    "StytchRefreshFunction with the organization switch: %s",
    (_name, testCase) => {
      checkCase(
        { ...testCase, props: (stack) => ({ ...testCase.props(stack), organizationSwitch: true }) },
        REFRESH_BASE,
        loadRefreshConfig,
        (props) => userStack(undefined, props),
        /organization switch/,
        "UserStack/Refresh",
      );
    },
  );

  test("a variable added to the organization switch's function after construction is still checked at synth", () => {
    const stack = new Stack(fastApp(), "UserStack");
    const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, monitoring: false });
    const refresh = new StytchRefreshFunction(stack, "Refresh", {
      authorizer: auth,
      allowedOrigins: [],
      organizationSwitch: true,
    });
    refresh.organizationSwitchFunction!.addEnvironment("REFRESH_ALLOWED_ORIGINS", "https://*.example.com");
    const error = thrownBy(() => Template.fromStack(stack)) as Error;
    expect(error.message).toMatch(
      /\[UserStack\/Refresh\] allowedOrigins: REFRESH_ALLOWED_ORIGINS entries must be exact https origins.*the function would refuse this environment/,
    );
  });

  test("the authorizer's settings reach the refresh function, which loads them", () => {
    const template = userStack(() => ({
      apiUrl: "https://login.example.com",
      jwtCookieName: "acme_jwt",
      sessionCookieName: "acme_session",
      clockTolerance: Duration.seconds(10),
    }));
    const refresh = asDeployed(variablesOf(template, /refresh/));
    expect(loadRefreshConfig(refresh)).toMatchObject({
      apiUrl: "https://login.example.com",
      jwtCookieName: "acme_jwt",
      sessionCookieName: "acme_session",
      clockToleranceSeconds: 10,
    });
  });
});

describe("a configuration mistake fails the synth with a clear message naming the construct and the prop", () => {
  test("a prop is refused where it is given, at the construct's path, with the handler's words", () => {
    const error = thrownBy(() => userStack(() => ({ jwtCookieName: "a".repeat(65) }))) as Error;
    expect(error.message).toMatch(/^UserStack\/Auth: jwtCookieName is not a valid cookie name \(1 to 64 /);
  });

  test("a variable from `environment` is refused at synth by the handler's loader, at the construct's path", () => {
    const error = thrownBy(() =>
      userStack(() => ({ environment: { STYTCH_SESSION_TOKEN_CACHE_SECONDS: "301" } })),
    ) as Error;
    expect(error.message).toContain(
      "[UserStack/Auth] environment: STYTCH_SESSION_TOKEN_CACHE_SECONDS must be between 0 and 300 (the function would refuse",
    );
  });

  test("an invalid route table fails the synth naming the prop and the route", () => {
    const error = thrownBy(() =>
      userStack(table({ "GET /{proxy+}": "authenticated", "GET /orgs/{organization_id}/documents": "authenticated" })),
    ) as Error;
    expect(error.message).toContain(
      '[UserStack/Auth] routePermissions: STYTCH_ROUTE_PERMISSIONS: "GET /{proxy+}" would also match',
    );
  });

  test("a route table shipped in a layer is loaded from the staged file at synth, so its mistakes fail the synth too", () => {
    const error = thrownBy(() =>
      routesStack((scope) => {
        restRoute(scope, "GET", "/orgs/{organization_id}/collection-0");
        // Beyond the 3 KB environment budget: shipped in a layer. The greedy route would reach other organizations.
        for (let i = 0; i < 60; i++)
          scope.routePermissions.add("GET", `/orgs/{organization_id}/collection-${i}`, "authenticated");
        scope.routePermissions.add("GET", "/{proxy+}", "authenticated");
      }),
    ) as Error;
    expect(error?.message).toContain(
      '[RoutesStack/Auth] routePermissions: STYTCH_ROUTE_PERMISSIONS_FILE: "GET /{proxy+}" would also match',
    );
  });

  test("with a route table, `environment` may not set the route table variables the construct writes", () => {
    for (const name of ["STYTCH_ROUTE_PERMISSIONS", "STYTCH_ROUTE_PERMISSIONS_FILE"]) {
      expect(() => userStack(table({}), undefined)).not.toThrow();
      expect(() => userStack(() => ({ ...table({})(), environment: { [name]: JSON.stringify(ATTACHED) } }))).toThrow(
        new RegExp(`^UserStack/Auth: environment may not override ${name}`),
      );
    }
  });

  test("no message carries the value of a secret", () => {
    const secretValue = "secret-test-DO-NOT-PRINT-0123456789";
    const error = thrownBy(() => userStack(() => ({ environment: { STYTCH_SECRET: secretValue } }))) as Error;
    expect(error.message).toMatch(/^UserStack\/Auth: environment may not carry the Stytch secret/);
    expect(error.message).not.toContain(secretValue);
  });
});

/** What a routes test attaches its routes with; the APIs are created on first use. */
interface RoutesScope {
  readonly routePermissions: RoutePermissionTable;
  readonly auth: StytchAuthorizer;
  readonly fn: lambda.Function;
  rest(): apigateway.RestApi;
  http(): apigwv2.HttpApi;
}

/** A stack whose authorizer has a route table; `attach` adds the user's routes. */
function routesStack(attach: (scope: RoutesScope) => void): Template {
  const stack = new Stack(fastApp(), "RoutesStack", { env: { account: "123456789012", region: "eu-west-1" } });
  const routePermissions = new RoutePermissionTable();
  const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, routePermissions, monitoring: false });
  let rest: apigateway.RestApi | undefined;
  let http: apigwv2.HttpApi | undefined;
  attach({
    routePermissions,
    auth,
    fn: downstream(stack),
    rest: () => (rest ??= new apigateway.RestApi(stack, "Rest", { cloudWatchRole: false })),
    http: () => (http ??= new apigwv2.HttpApi(stack, "Http")),
  });
  return Template.fromStack(stack);
}

function restRoute(scope: RoutesScope, method: string, path: string): void {
  scope
    .rest()
    .root.resourceForPath(path)
    .addMethod(method, new apigateway.LambdaIntegration(scope.fn), { authorizer: scope.auth.restAuthorizer });
}

function httpRoute(scope: RoutesScope, methods: apigwv2.HttpMethod[] | undefined, path: string): void {
  scope.http().addRoutes({
    path,
    methods,
    integration: new HttpLambdaIntegration(`Integration${path}`, scope.fn),
    authorizer: scope.auth.httpAuthorizer,
  });
}

describe("the drifts of issue 18: each synthesized, and the deployed function then failed every request", () => {
  test("a route asking for a wildcard action fails at synth (the authorizer refuses wildcards)", () => {
    const error = thrownBy(() =>
      routesStack((scope) => {
        restRoute(scope, "GET", "/documents");
        scope.routePermissions.add("GET", "/documents", { resourceId: "documents", action: "*" });
      }),
    ) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/"GET \/documents" needs .*\(no wildcards\)/);
  });

  test("a 65-character jwtCookieName fails at synth; 64 characters synthesize, and the authorizer loads them", () => {
    expect(() => userStack(() => ({ jwtCookieName: "a".repeat(65) }))).toThrow(/UserStack\/Auth.*jwtCookieName/);
    const env = asDeployed(
      variablesOf(
        userStack(() => ({ jwtCookieName: "a".repeat(64) })),
        /authorizer/,
      ),
    );
    expect(loadAuthorizerConfig(env).jwtCookieName).toBe("a".repeat(64));
  });

  test("the project id rule is the authorizer's: a 65-character suffix fails at synth", () => {
    expect(
      loads(loadAuthorizerConfig, { ...AUTHORIZER_BASE, STYTCH_PROJECT_ID: `project-test-${"a".repeat(65)}` }),
    ).toBe(false);
    expect(() => userStack(() => ({ projectId: `project-test-${"a".repeat(65)}` }))).toThrow(
      /UserStack\/Auth.*projectId/,
    );
  });

  test("the origin rule is the refresh handler's: http to any loopback host synthesizes and loads", () => {
    for (const origin of ["http://[::1]:3000", "http://127.0.0.2:3000"]) {
      const env = asDeployed(
        variablesOf(
          userStack(undefined, () => ({ allowedOrigins: [origin] })),
          /refresh/,
        ),
      );
      expect(loadRefreshConfig(env).allowedOrigins).toEqual([origin]);
    }
  });

  test("the session-duration rule is Stytch's on both sides: 1 to 4 minutes are refused by the handler too", () => {
    expect(loads(loadRefreshConfig, { ...REFRESH_BASE, REFRESH_MAX_SESSION_DURATION_MINUTES: "3" })).toBe(false);
    expect(() => userStack(undefined, () => ({ maxSessionDuration: Duration.minutes(3) }))).toThrow(
      /UserStack\/Refresh.*maxSessionDuration/,
    );
  });

  test("a variable the handler reads, set through `environment`, is checked at synth", () => {
    expect(() => userStack(() => ({ environment: { STYTCH_SESSION_TOKEN_CACHE_SECONDS: "301" } }))).toThrow(
      /UserStack\/Auth.*STYTCH_SESSION_TOKEN_CACHE_SECONDS must be between 0 and 300/,
    );
  });

  test("a REST method that uses the authorizer but is not in the route table fails the synth, naming it", () => {
    const error = thrownBy(() =>
      routesStack((scope) => {
        restRoute(scope, "GET", "/me");
        scope.routePermissions.add("GET", "/me", "authenticated");
        restRoute(scope, "DELETE", "/orgs/{organization_id}/documents");
      }),
    ) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain("[RoutesStack/Auth] REST method DELETE /orgs/{organization_id}/documents");
    expect(error.message).toContain("RoutesStack/Rest/Default/orgs/{organization_id}/documents/DELETE");
    expect(error.message).toContain('"authenticated"');
    expect(error.message).not.toContain("GET /me");
  });

  test("an HTTP API route that uses the authorizer but is not in the route table fails the synth, naming it", () => {
    const error = thrownBy(() =>
      routesStack((scope) => {
        httpRoute(scope, [apigwv2.HttpMethod.GET], "/me");
        scope.routePermissions.add("GET", "/me", "authenticated");
        httpRoute(scope, [apigwv2.HttpMethod.POST], "/orgs/{organization_id}/documents");
      }),
    ) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain("[RoutesStack/Auth] HTTP API route POST /orgs/{organization_id}/documents");
    expect(error.message).not.toContain("GET /me");
  });
});

describe("every route that uses the authorizer is in its route table", () => {
  const synthesizes = (attach: (scope: RoutesScope) => void) => thrownBy(() => routesStack(attach)) === undefined;

  test('a route declared with its permission, or explicitly with "authenticated", synthesizes', () => {
    expect(
      synthesizes((scope) => {
        restRoute(scope, "GET", "/me");
        httpRoute(scope, [apigwv2.HttpMethod.GET], "/me");
        scope.routePermissions.add("GET", "/me", "authenticated");
        restRoute(scope, "GET", "/orgs/{organization_id}/documents");
        scope.routePermissions.add("GET", "/orgs/{organization_id}/documents", {
          resourceId: "documents",
          action: "read",
        });
      }),
    ).toBe(true);
  });

  test("routes declared after they are attached, and table entries no route uses, are fine", () => {
    expect(
      synthesizes((scope) => {
        restRoute(scope, "GET", "/me");
        scope.routePermissions.add("GET", "/me", "authenticated").add("GET", "/unused", "authenticated");
      }),
    ).toBe(true);
  });

  test("an ANY entry covers every method of its path, on both API types", () => {
    expect(
      synthesizes((scope) => {
        restRoute(scope, "GET", "/items");
        restRoute(scope, "ANY", "/items");
        httpRoute(scope, [apigwv2.HttpMethod.POST], "/items");
        httpRoute(scope, undefined, "/items/{proxy+}");
        scope.routePermissions.add("ANY", "/items", "authenticated").add("ANY", "/items/{proxy+}", "authenticated");
      }),
    ).toBe(true);
  });

  test("a method's entry does not cover an ANY route (the authorizer would refuse the other methods)", () => {
    for (const attach of [
      (scope: RoutesScope) => restRoute(scope, "ANY", "/items"),
      (scope: RoutesScope) => httpRoute(scope, undefined, "/items"),
    ]) {
      const error = thrownBy(() =>
        routesStack((scope) => {
          attach(scope);
          scope.routePermissions.add("GET", "/items", "authenticated");
        }),
      ) as Error;
      expect(error?.message).toMatch(/ANY \/items .*is not in its route table/);
    }
  });

  test("a route must be spelt as in the table, parameter names included", () => {
    const error = thrownBy(() =>
      routesStack((scope) => {
        restRoute(scope, "GET", "/orgs/{org}/documents");
        scope.routePermissions.add("GET", "/orgs/{organization_id}/documents", {
          resourceId: "documents",
          action: "read",
        });
      }),
    ) as Error;
    expect(error?.message).toContain("REST method GET /orgs/{org}/documents");
  });

  test("an HTTP API's $default route cannot be in a route table, so it may not use the authorizer", () => {
    const error = thrownBy(() =>
      routesStack((scope) => {
        httpRoute(scope, [apigwv2.HttpMethod.GET], "/me");
        scope.routePermissions.add("GET", "/me", "authenticated");
        new apigwv2.HttpRoute(scope.http(), "CatchAll", {
          httpApi: scope.http(),
          routeKey: apigwv2.HttpRouteKey.DEFAULT,
          integration: new HttpLambdaIntegration("CatchAll", scope.fn),
          authorizer: scope.auth.httpAuthorizer,
        });
      }),
    ) as Error;
    expect(error?.message).toContain("[RoutesStack/Auth] HTTP API route $default");
    expect(error?.message).toContain("ANY /{proxy+}");
    expect(error?.message).not.toContain("GET /me");
  });

  test("an API's default authorizer counts, and a method without an authorizer is not checked", () => {
    const error = thrownBy(() =>
      routesStack((scope) => {
        const api = new apigateway.RestApi(Stack.of(scope.auth), "Defaulted", {
          cloudWatchRole: false,
          defaultMethodOptions: { authorizer: scope.auth.addRestAuthorizer("Defaulted") },
        });
        api.root.addResource("reports").addMethod("GET", new apigateway.LambdaIntegration(scope.fn));
        api.root.addResource("health").addMethod("GET", new apigateway.LambdaIntegration(scope.fn), {
          authorizationType: apigateway.AuthorizationType.NONE,
        });
        scope.routePermissions.add("GET", "/unrelated", "authenticated");
      }),
    ) as Error;
    expect(error?.message).toContain("REST method GET /reports");
    expect(error?.message).not.toContain("/health");
  });

  test("routes of another construct's authorizer are not this one's business", () => {
    expect(
      synthesizes((scope) => {
        const other = new StytchAuthorizer(Stack.of(scope.auth), "Other", { projectId: PROJECT_ID, monitoring: false });
        scope
          .rest()
          .root.addResource("other")
          .addMethod("GET", new apigateway.LambdaIntegration(scope.fn), { authorizer: other.restAuthorizer });
        restRoute(scope, "GET", "/me");
        scope.routePermissions.add("GET", "/me", "authenticated");
      }),
    ).toBe(true);
  });

  test("without a route table, nothing is checked", () => {
    const stack = new Stack(fastApp(), "NoTable");
    const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, monitoring: false });
    new apigateway.RestApi(stack, "Rest", { cloudWatchRole: false }).root
      .addResource("anything")
      .addMethod("GET", new apigateway.MockIntegration(), { authorizer: auth.restAuthorizer });
    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});
