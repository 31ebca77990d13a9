import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaResponseType } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, test } from "vitest";
import { FEATURE_FLAGS } from "../infra/demo/feature-flags";
import { LAMBDA_RUNTIME, MAX_BUNDLE_BYTES } from "../infra/lambda-defaults";
import { StytchAuthorizer, type StytchAuthorizerProps } from "../infra/stytch-authorizer";
import { StytchRefreshFunction, type StytchRefreshFunctionProps } from "../infra/stytch-refresh-function";

const PROJECT_ID = "project-test-11111111-2222-3333-4444-555555555555";
const EXISTING_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stytch-AbCdEf";

/** A fast app: no asset bundling, no built-in CloudFormation validation, the project's feature flags. */
function fastApp(): App {
  return new App({
    context: { ...FEATURE_FLAGS, "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
}

/**
 * A user's own stack shape: their own REST API and HTTP API with their own handler, and the
 * construct attached to one route of each in a few lines.
 */
function userStack(
  props: Partial<StytchAuthorizerProps> = {},
  extend?: (stack: Stack, auth: StytchAuthorizer) => void,
  restApiProps: apigateway.RestApiProps = {},
  stackProps: (stack: Stack) => Partial<StytchAuthorizerProps> = () => ({}),
) {
  const app = fastApp();
  const stack = new Stack(app, "UserStack", { env: { account: "123456789012", region: "eu-west-1" } });
  const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, ...props, ...stackProps(stack) });
  const orders = new lambda.Function(stack, "Orders", {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })"),
  });

  const rest = new apigateway.RestApi(stack, "UserRestApi", { cloudWatchRole: false, ...restApiProps });
  rest.root.addResource("orders").addMethod("GET", new apigateway.LambdaIntegration(orders), {
    authorizer: auth.restAuthorizer,
  });

  const http = new apigwv2.HttpApi(stack, "UserHttpApi");
  http.addRoutes({
    path: "/orders",
    methods: [apigwv2.HttpMethod.GET],
    integration: new HttpLambdaIntegration("OrdersIntegration", orders),
    authorizer: auth.httpAuthorizer,
  });
  extend?.(stack, auth);
  return { app, stack, auth, template: Template.fromStack(stack) };
}

function authorizerEnvironment(template: Template): Record<string, unknown> {
  const functions = template.findResources("AWS::Lambda::Function", {
    Properties: { Description: Match.stringLikeRegexp("authorizer") },
  });
  const [fn] = Object.values(functions);
  return fn.Properties.Environment.Variables;
}

function secretLogicalId(template: Template): string {
  const ids = Object.keys(template.findResources("AWS::SecretsManager::Secret"));
  expect(ids).toHaveLength(1);
  return ids[0];
}

describe("the authorizer function", () => {
  test("runs Node.js 24 on arm64 with 512 MB, a 10 s timeout and its own log group", () => {
    const { template } = userStack();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("authorizer"),
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      MemorySize: 512,
      Timeout: 10,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp("^AuthFunctionLogGroup") } },
      ReservedConcurrentExecutions: Match.absent(),
      TracingConfig: Match.absent(),
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  test("gets the project id, the secret's ARN, the simple HTTP API response mode and the (zero) cache TTL, and nothing optional", () => {
    const { template } = userStack();
    expect(authorizerEnvironment(template)).toEqual({
      STYTCH_PROJECT_ID: PROJECT_ID,
      STYTCH_SECRET_ARN: { Ref: secretLogicalId(template) },
      STYTCH_HTTP_API_RESPONSE: "simple",
      STYTCH_RESULTS_CACHE_TTL_SECONDS: "0",
      POWERTOOLS_SERVICE_NAME: "stytch-authorizer",
      POWERTOOLS_METRICS_NAMESPACE: "StytchAuthorizer",
    });
  });

  test("turns the optional settings into environment variables", () => {
    const { template } = userStack({
      apiUrl: "https://login.example.com/",
      maxTokenAge: Duration.minutes(2),
      clockTolerance: Duration.seconds(3),
      jwtCookieName: "jwt",
      sessionCookieName: "sess",
      environment: { POWERTOOLS_LOG_LEVEL: "DEBUG" },
    });
    expect(authorizerEnvironment(template)).toMatchObject({
      STYTCH_API_URL: "https://login.example.com",
      STYTCH_MAX_TOKEN_AGE_SECONDS: "120",
      STYTCH_CLOCK_TOLERANCE_SECONDS: "3",
      STYTCH_JWT_COOKIE_NAME: "jwt",
      STYTCH_SESSION_COOKIE_NAME: "sess",
      POWERTOOLS_LOG_LEVEL: "DEBUG",
    });
  });

  test("has an execution role without AWS managed policies", () => {
    const { template } = userStack();
    const roles = template.findResources("AWS::IAM::Role", {
      Properties: { Description: Match.stringLikeRegexp("^Execution role of Function") },
    });
    expect(Object.keys(roles)).toHaveLength(1);
    for (const role of Object.values(roles)) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test("writes to a given log group, which it may write to, and creates none", () => {
    const { template } = userStack({}, undefined, {}, (stack) => ({
      logGroup: new logs.LogGroup(stack, "MyAuthLogs", { retention: logs.RetentionDays.ONE_WEEK }),
    }));
    const groups = Object.keys(template.findResources("AWS::Logs::LogGroup"));
    expect(groups).toEqual([expect.stringMatching(/^MyAuthLogs/)]);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("authorizer"),
      LoggingConfig: { LogGroup: { Ref: groups[0] } },
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("^AuthFunctionRole") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: { "Fn::GetAtt": [groups[0], "Arn"] },
          }),
        ]),
      },
    });
  });

  test("the deprecated logRetention still sets the created log group's retention, with a warning", () => {
    const { stack, template } = userStack({ logRetention: logs.RetentionDays.ONE_WEEK });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 7 });
    Annotations.fromStack(stack).hasWarning("/UserStack/Auth", Match.stringLikeRegexp("logRetention is deprecated"));
    const both = () =>
      userStack({ logRetention: logs.RetentionDays.ONE_WEEK }, undefined, {}, (s) => ({
        logGroup: new logs.LogGroup(s, "L"),
      }));
    expect(both).toThrow(/^UserStack\/Auth: give logGroup or logRetention, not both/);
  });

  test("enables active X-Ray tracing when asked", () => {
    const { template } = userStack({ tracing: lambda.Tracing.ACTIVE });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("authorizer"),
      TracingConfig: { Mode: "Active" },
    });
  });
});

test("the tests run on the Node.js major the functions deploy with", () => {
  // npm scripts run on the `node` devDependency, so `npm test` and CI use Lambda's runtime major.
  expect(LAMBDA_RUNTIME.name).toBe(`nodejs${process.versions.node.split(".")[0]}.x`);
});

describe("function options", () => {
  test("reserved concurrency, memory, timeout and log retention reach the function", () => {
    const { template } = userStack({
      reservedConcurrentExecutions: 25,
      memorySize: 1024,
      timeout: Duration.seconds(6),
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("authorizer"),
      ReservedConcurrentExecutions: 25,
      MemorySize: 1024,
      Timeout: 6,
    });
  });

  test("an alias with provisioned concurrency is what both API types invoke", () => {
    const { template } = userStack({ alias: { aliasName: "live", provisionedConcurrentExecutions: 2 } });
    const [aliasId] = Object.keys(template.findResources("AWS::Lambda::Alias"));
    template.hasResourceProperties("AWS::Lambda::Alias", {
      Name: "live",
      ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 },
    });
    expect(JSON.stringify(template.findResources("AWS::ApiGateway::Authorizer"))).toContain(aliasId);
    expect(JSON.stringify(template.findResources("AWS::ApiGatewayV2::Authorizer"))).toContain(aliasId);
    const permissions = template.findResources("AWS::Lambda::Permission", {
      Properties: { Principal: "apigateway.amazonaws.com" },
    });
    const onAlias = Object.values(permissions).filter((p) =>
      JSON.stringify(p.Properties.FunctionName).includes(aliasId),
    );
    expect(onAlias).toHaveLength(2);
  });

  test("an IAM HTTP response type switches the authorizer resource and the function together", () => {
    const { template } = userStack({ httpResponseType: HttpLambdaResponseType.IAM });
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", { EnableSimpleResponses: Match.absent() });
    expect(authorizerEnvironment(template).STYTCH_HTTP_API_RESPONSE).toBe("iam");
  });

  test("authorizerName names the authorizers in API Gateway", () => {
    const { template } = userStack({ authorizerName: "orders-stytch" });
    template.hasResourceProperties("AWS::ApiGateway::Authorizer", { Name: "orders-stytch" });
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", { Name: "orders-stytch" });
  });
});

describe("gateway responses when attached to a REST API", () => {
  const responses = (template: Template) =>
    new Map(
      Object.values(template.findResources("AWS::ApiGateway::GatewayResponse")).map((r) => [
        r.Properties.ResponseType,
        r.Properties,
      ]),
    );

  test("401, 403 and a 503 with Retry-After for both fault types, with CORS for the API's first allowed origin", () => {
    const { template } = userStack({}, undefined, {
      defaultCorsPreflightOptions: {
        allowOrigins: ["https://app.example.com", "https://admin.example.com"],
        allowCredentials: true,
      },
    });
    const found = responses(template);
    expect([...found.keys()].sort()).toEqual([
      "ACCESS_DENIED",
      "AUTHORIZER_CONFIGURATION_ERROR",
      "AUTHORIZER_FAILURE",
      "UNAUTHORIZED",
    ]);
    const cors = {
      "gatewayresponse.header.Access-Control-Allow-Origin": "'https://app.example.com'",
      "gatewayresponse.header.Access-Control-Allow-Credentials": "'true'",
    };
    expect(found.get("UNAUTHORIZED")).toMatchObject({
      StatusCode: "401",
      ResponseParameters: { ...cors, "gatewayresponse.header.WWW-Authenticate": "'Bearer'" },
      ResponseTemplates: { "application/json": JSON.stringify({ message: "Unauthorized", reason: "unauthorized" }) },
    });
    expect(found.get("ACCESS_DENIED")).toMatchObject({ StatusCode: "403", ResponseParameters: cors });
    for (const fault of ["AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"]) {
      expect(found.get(fault)).toMatchObject({
        StatusCode: "503",
        ResponseParameters: { ...cors, "gatewayresponse.header.Retry-After": "'5'" },
      });
    }
  });

  test("an API without CORS settings gets a wildcard origin without credentials; an explicit origin wins", () => {
    const plain = responses(userStack().template).get("UNAUTHORIZED");
    expect(plain?.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"]).toBe("'*'");
    expect(plain?.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Credentials"]).toBeUndefined();
    const explicit = responses(userStack({ gatewayResponseAllowOrigin: "https://shop.example.com" }).template).get(
      "AUTHORIZER_FAILURE",
    );
    expect(explicit?.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"]).toBe(
      "'https://shop.example.com'",
    );
  });

  test("an imported REST API gets them too", () => {
    const { template } = userStack({}, (stack, auth) => {
      const imported = apigateway.RestApi.fromRestApiId(stack, "Imported", "a1b2c3d4e5");
      const resource = apigateway.Resource.fromResourceAttributes(stack, "ImportedRoot", {
        restApi: imported,
        resourceId: "r00t",
        path: "/",
      });
      resource.addMethod("GET", new apigateway.MockIntegration(), { authorizer: auth.addRestAuthorizer("Imported") });
    });
    const onImported = Object.values(template.findResources("AWS::ApiGateway::GatewayResponse")).filter(
      (r) => r.Properties.RestApiId === "a1b2c3d4e5",
    );
    expect(
      onImported.map((r) => r.Properties.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"]),
    ).toEqual(["'*'", "'*'", "'*'", "'*'"]);
  });

  test("they can be turned off, and an HTTP-only stack gets none", () => {
    userStack({ gatewayResponses: false }).template.resourceCountIs("AWS::ApiGateway::GatewayResponse", 0);
  });

  test("a second REST API gets its own set; a second authorizer on the same API adds none", () => {
    const { template } = userStack({}, (stack, auth) => {
      const second = new apigateway.RestApi(stack, "SecondApi", { cloudWatchRole: false });
      second.root.addMethod("GET", new apigateway.MockIntegration(), { authorizer: auth.addRestAuthorizer("Second") });
      second.root
        .addResource("x")
        .addMethod("GET", new apigateway.MockIntegration(), { authorizer: auth.addRestAuthorizer("Second2") });
    });
    template.resourceCountIs("AWS::ApiGateway::GatewayResponse", 8);
  });
});

describe("monitoring", () => {
  test("every authorizer gets its five alarms by default, and no dashboard, on the namespace its function writes to", () => {
    const { template } = userStack();
    template.resourceCountIs("AWS::CloudWatch::Alarm", 5);
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 0);
    userStack({ monitoring: { dashboard: true } }).template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    expect(authorizerEnvironment(template)).toMatchObject({
      POWERTOOLS_METRICS_NAMESPACE: "StytchAuthorizer",
      POWERTOOLS_SERVICE_NAME: "stytch-authorizer",
    });
  });

  test("monitoring settings reach the alarms, and false leaves them out", () => {
    const tuned = userStack({
      monitoring: { namespace: "Acme/Auth", alarms: { throttles: false }, dashboard: false },
    }).template;
    tuned.resourceCountIs("AWS::CloudWatch::Alarm", 4);
    tuned.resourceCountIs("AWS::CloudWatch::Dashboard", 0);
    expect(authorizerEnvironment(tuned)).toMatchObject({ POWERTOOLS_METRICS_NAMESPACE: "Acme/Auth" });
    const none = userStack({ monitoring: false }).template;
    none.resourceCountIs("AWS::CloudWatch::Alarm", 0);
    none.resourceCountIs("AWS::CloudWatch::Dashboard", 0);
  });

  test("a refresh function writes its metrics to its authorizer's namespace", () => {
    const stack = new Stack(fastApp(), "S");
    const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, monitoring: { namespace: "Acme/Auth" } });
    new StytchRefreshFunction(stack, "Refresh", { authorizer: auth, allowedOrigins: ["https://app.example.com"] });
    Template.fromStack(stack).hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: "stytch-refresh",
          POWERTOOLS_METRICS_NAMESPACE: "Acme/Auth",
        }),
      },
    });
  });
});

describe("the Stytch secret", () => {
  test("is created with a generated placeholder whose value is never in the template", () => {
    const { template } = userStack();
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: Match.objectLike({ PasswordLength: 32 }),
      SecretString: Match.absent(),
    });
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toContain('"SecretString"');
    expect(json).not.toContain("resolve:secretsmanager");
    expect(json).not.toMatch(/"STYTCH_SECRET"/);
  });

  test("is readable by the authorizer function, and only that secret", () => {
    const { template } = userStack();
    const secretId = secretLogicalId(template);
    const policies = template.findResources("AWS::IAM::Policy", {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp("^AuthFunctionRole") }] },
    });
    const statements = Object.values(policies).flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const secretStatements = statements.filter((s) => JSON.stringify(s.Action).includes("secretsmanager"));
    expect(secretStatements).toEqual([
      {
        Effect: "Allow",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        Resource: { Ref: secretId },
      },
    ]);
    // The only other permission: writing to its own log group.
    const others = statements.filter((s) => !secretStatements.includes(s));
    expect(others).toHaveLength(1);
    expect(others[0]).toMatchObject({ Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"] });
    expect(others[0].Resource["Fn::GetAtt"][0]).toMatch(/^AuthFunctionLogGroup/);
  });

  test("the placeholder is retained when the stack is deleted or the construct replaced", () => {
    const { template } = userStack();
    template.hasResource("AWS::SecretsManager::Secret", { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });

  test("with the placeholder, the stack outputs the command that puts the real secret into it, in its own region", () => {
    const { template, stack, auth } = userStack();
    const secretId = secretLogicalId(template);
    const outputs = Object.entries(template.toJSON().Outputs as Record<string, { Value: unknown }>).filter(([id]) =>
      id.includes("PutStytchSecretCommand"),
    );
    expect(outputs).toHaveLength(1);
    const [[logicalId, output]] = outputs as [[string, { Value: unknown }]];
    expect(logicalId).toBe(stack.getLogicalId(auth.putSecretCommandOutput!));
    expect(output.Value).toEqual(stack.resolve(auth.putSecretCommand));
    expect(output.Value).toEqual({
      "Fn::Join": [
        "",
        [
          "aws secretsmanager put-secret-value --region ",
          { "Fn::Select": [3, { "Fn::Split": [":", { Ref: secretId }] }] },
          " --secret-id ",
          { Ref: secretId },
          ' --secret-string "$STYTCH_SECRET"',
        ],
      ],
    });
  });

  test("with a secret of your own, the command is there to use but no output is added", () => {
    const app = fastApp();
    const stack = new Stack(app, "Own", { env: { account: "123456789012", region: "eu-west-1" } });
    const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, "Given", EXISTING_SECRET_ARN);
    const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, secret });
    expect(auth.putSecretCommandOutput).toBeUndefined();
    expect(Template.fromStack(stack).toJSON().Outputs ?? {}).toEqual({});
    expect(stack.resolve(auth.putSecretCommand)).toBe(
      `aws secretsmanager put-secret-value --region eu-west-1 --secret-id ${EXISTING_SECRET_ARN} --secret-string "$STYTCH_SECRET"`,
    );
  });

  test("the deprecated secretArn names an existing secret: complete ARNs exactly, partial ARNs with Secrets Manager's suffix wildcard", () => {
    for (const [arn, resource] of [
      [EXISTING_SECRET_ARN, EXISTING_SECRET_ARN],
      [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/stytch",
        { "Fn::Join": ["", ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/stytch-??????"]] },
      ],
    ] as const) {
      const { template } = userStack({ secretArn: arn });
      template.resourceCountIs("AWS::SecretsManager::Secret", 0);
      expect(authorizerEnvironment(template).STYTCH_SECRET_ARN).toBe(arn);
      const statements = Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
        (p) => p.Properties.PolicyDocument.Statement,
      );
      const grant = statements.find((st) => JSON.stringify(st.Action).includes("GetSecretValue"));
      expect(JSON.stringify(grant.Resource)).toContain(typeof resource === "string" ? resource : "prod/stytch-??????");
    }
    expect(() => userStack({ secretArn: "prod/stytch" })).toThrow(
      /^UserStack\/Auth: secretArn is not a Secrets Manager secret ARN/,
    );
    Annotations.fromStack(userStack({ secretArn: EXISTING_SECRET_ARN }).stack).hasWarning(
      "/UserStack/Auth",
      Match.stringLikeRegexp("secretArn is deprecated: pass secret"),
    );
    expect(
      () =>
        userStack({}, undefined, {}) &&
        new StytchAuthorizer(new Stack(fastApp(), "Both"), "Auth", {
          projectId: PROJECT_ID,
          secretArn: EXISTING_SECRET_ARN,
          secret: secretsmanager.Secret.fromSecretCompleteArn(new Stack(fastApp(), "Other"), "S", EXISTING_SECRET_ARN),
        }),
    ).toThrow(/not both/);
  });

  test("an existing secret is used as given: no new secret, its ARN in the environment and the grant", () => {
    const app = fastApp();
    const stack = new Stack(app, "Existing", { env: { account: "123456789012", region: "eu-west-1" } });
    const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, "Given", EXISTING_SECRET_ARN);
    const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, secret });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    expect(auth.secret).toBe(secret);
    expect(authorizerEnvironment(template).STYTCH_SECRET_ARN).toBe(EXISTING_SECRET_ARN);
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            Resource: EXISTING_SECRET_ARN,
          }),
        ]),
      },
    });
  });
});

describe("the REST authorizer", () => {
  test("is a REQUEST authorizer with caching off and no identity source by default", () => {
    const { template } = userStack();
    template.hasResourceProperties("AWS::ApiGateway::Authorizer", {
      Type: "REQUEST",
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: Match.absent(),
      Name: "Auth-RestAuthorizer",
    });
  });

  test("in header mode, caches by the Authorization header for 300 s", () => {
    const { template } = userStack({ identity: "header" });
    template.hasResourceProperties("AWS::ApiGateway::Authorizer", {
      Type: "REQUEST",
      IdentitySource: "method.request.header.Authorization",
      AuthorizerResultTtlInSeconds: 300,
    });
  });

  test("is not created until requested, so a stack without a REST API still synthesizes", () => {
    const app = fastApp();
    const stack = new Stack(app, "HttpOnly");
    const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID });
    const http = new apigwv2.HttpApi(stack, "Api");
    http.addRoutes({
      path: "/x",
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpLambdaIntegration("X", auth.function),
      authorizer: auth.httpAuthorizer,
    });
    expect(() => app.synth()).not.toThrow();
    Template.fromStack(stack).resourceCountIs("AWS::ApiGateway::Authorizer", 0);
  });
});

describe("the HTTP API authorizer", () => {
  test("uses payload format 2.0 with simple responses, no identity source and no caching by default", () => {
    const { template } = userStack();
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "REQUEST",
      AuthorizerPayloadFormatVersion: "2.0",
      EnableSimpleResponses: true,
      IdentitySource: [],
      AuthorizerResultTtlInSeconds: 0,
    });
  });

  test("in header mode, caches by the Authorization header", () => {
    const { template } = userStack({ identity: "header", resultsCacheTtl: Duration.seconds(60) });
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      IdentitySource: ["$request.header.Authorization"],
      AuthorizerResultTtlInSeconds: 60,
    });
  });

  test("tells the function the cache TTL it configured, so that cached answers cover every route and uncached ones their request only", () => {
    expect(
      authorizerEnvironment(userStack({ identity: "header", resultsCacheTtl: Duration.seconds(60) }).template)
        .STYTCH_RESULTS_CACHE_TTL_SECONDS,
    ).toBe("60");
    expect(authorizerEnvironment(userStack({ identity: "header" }).template).STYTCH_RESULTS_CACHE_TTL_SECONDS).toBe(
      "300",
    );
    expect(authorizerEnvironment(userStack().template).STYTCH_RESULTS_CACHE_TTL_SECONDS).toBe("0");
  });
});

describe("attached to a user's own APIs", () => {
  test("protects the user's REST method and HTTP route, and API Gateway may invoke the function", () => {
    const { app, template } = userStack();
    const restAuthorizerId = Object.keys(template.findResources("AWS::ApiGateway::Authorizer"))[0];
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "GET",
      AuthorizationType: "CUSTOM",
      AuthorizerId: { Ref: restAuthorizerId },
    });
    const httpAuthorizerId = Object.keys(template.findResources("AWS::ApiGatewayV2::Authorizer"))[0];
    template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
      RouteKey: "GET /orders",
      AuthorizationType: "CUSTOM",
      AuthorizerId: { Ref: httpAuthorizerId },
    });
    // One invoke permission per authorizer, scoped to that authorizer.
    const permissions = template.findResources("AWS::Lambda::Permission", {
      Properties: {
        FunctionName: { "Fn::GetAtt": [Match.stringLikeRegexp("^AuthFunction"), "Arn"] },
        Principal: "apigateway.amazonaws.com",
      },
    });
    expect(Object.keys(permissions)).toHaveLength(2);
    for (const permission of Object.values(permissions)) {
      expect(JSON.stringify(permission.Properties.SourceArn)).toContain("/authorizers/");
    }
    expect(() => app.synth()).not.toThrow();
  });

  test("offers a second authorizer per API type for a second API", () => {
    const { template } = userStack({}, (stack, auth) => {
      const second = new apigateway.RestApi(stack, "SecondApi", { cloudWatchRole: false });
      second.root.addMethod("GET", new apigateway.MockIntegration(), { authorizer: auth.addRestAuthorizer("Second") });
      const secondHttp = new apigwv2.HttpApi(stack, "SecondHttpApi");
      secondHttp.addRoutes({
        path: "/y",
        methods: [apigwv2.HttpMethod.GET],
        integration: new HttpLambdaIntegration("Y", auth.function),
        authorizer: auth.addHttpAuthorizer("SecondHttp"),
      });
    });
    template.resourceCountIs("AWS::ApiGateway::Authorizer", 2);
    template.resourceCountIs("AWS::ApiGatewayV2::Authorizer", 2);
  });

  test("an additional authorizer takes its name from the options, and the deprecated new… factories still work", () => {
    const { template } = userStack({}, (stack, auth) => {
      const second = new apigateway.RestApi(stack, "SecondApi", { cloudWatchRole: false });
      second.root.addMethod("GET", new apigateway.MockIntegration(), {
        authorizer: auth.addRestAuthorizer("Second", { authorizerName: "second-rest" }),
      });
      const third = new apigateway.RestApi(stack, "ThirdApi", { cloudWatchRole: false });
      third.root.addMethod("GET", new apigateway.MockIntegration(), {
        authorizer: auth.newRestAuthorizer("Third", "third-rest"),
      });
      for (const [id, authorizer] of [
        ["SecondHttpApi", auth.addHttpAuthorizer("SecondHttp", { authorizerName: "second-http" })],
        ["ThirdHttpApi", auth.newHttpAuthorizer("ThirdHttp", "third-http")],
      ] as const) {
        new apigwv2.HttpApi(stack, id).addRoutes({
          path: "/y",
          methods: [apigwv2.HttpMethod.GET],
          integration: new HttpLambdaIntegration(`${id}Y`, auth.function),
          authorizer,
        });
      }
    });
    for (const name of ["second-rest", "third-rest"])
      template.hasResourceProperties("AWS::ApiGateway::Authorizer", { Name: name });
    for (const name of ["second-http", "third-http"])
      template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", { Name: name });
  });

  test("the construct itself passes cdk-nag AwsSolutions, with tracing on too", () => {
    for (const tracing of [undefined, lambda.Tracing.ACTIVE]) {
      const { auth } = userStack({ tracing });
      const report = new AwsSolutionsChecks().validateScope(auth);
      expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    }
  });
});

describe("props validation", () => {
  const build = (props: Partial<StytchAuthorizerProps>) => () =>
    new StytchAuthorizer(new Stack(fastApp(), "S"), "Auth", { projectId: PROJECT_ID, ...props });

  test("a cache TTL above 300 s throws unless allowLongCache is set", () => {
    expect(build({ identity: "header", resultsCacheTtl: Duration.seconds(301) })).toThrow(/allowLongCache/);
    const auth = build({ identity: "header", resultsCacheTtl: Duration.minutes(15), allowLongCache: true })();
    expect(auth.resultsCacheTtl.toSeconds()).toBe(900);
    expect(build({ identity: "header", resultsCacheTtl: Duration.hours(2), allowLongCache: true })).toThrow(/3600/);
  });

  test("a cache TTL in header-or-cookie mode throws, because that mode cannot cache", () => {
    expect(build({ resultsCacheTtl: Duration.seconds(60) })).toThrow(/identity: "header"/);
    expect(build({ resultsCacheTtl: Duration.seconds(0) })).not.toThrow();
  });

  test("apiUrl must be an https base URL", () => {
    expect(build({ apiUrl: "http://login.example.com" })).toThrow(/https/);
    expect(build({ apiUrl: "https://login.example.com/v1" })).toThrow(/^S\/Auth: apiUrl must be a bare origin/);
    expect(build({ apiUrl: "login.example.com" })).toThrow(/not a URL/);
  });

  test("the timeout may not exceed the 10 s HTTP API authorizer limit", () => {
    expect(build({ timeout: Duration.seconds(11) })).toThrow(/^S\/Auth: timeout must be at most 10 seconds/);
  });

  test("the project id must be a Stytch project id", () => {
    expect(build({ projectId: "secret-test-abc" })).toThrow(/projectId/);
  });

  test("clock tolerance, token age and cookie names are range-checked", () => {
    expect(build({ clockTolerance: Duration.seconds(61) })).toThrow(/clockTolerance/);
    expect(build({ maxTokenAge: Duration.days(2) })).toThrow(/maxTokenAge/);
    // Zero is strict mode (every JWT checked with Stytch), not a mistake.
    expect(build({ maxTokenAge: Duration.seconds(0) })).not.toThrow();
    expect(build({ jwtCookieName: "bad name;" })).toThrow(/cookie name/);
  });

  test("extra environment may neither override construct variables nor carry the secret", () => {
    expect(build({ environment: { STYTCH_PROJECT_ID: "project-test-x" } })).toThrow(/override STYTCH_PROJECT_ID/);
    expect(build({ environment: { STYTCH_SECRET: "secret-test-abc" } })).toThrow(/secret/);
  });
});

describe("StytchRefreshFunction", () => {
  function refreshStack(props: Partial<StytchRefreshFunctionProps> = {}) {
    const stack = new Stack(fastApp(), "S");
    const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, apiUrl: "https://login.example.com" });
    new StytchRefreshFunction(stack, "Refresh", {
      authorizer: auth,
      allowedOrigins: ["https://app.example.com", "http://localhost:3000"],
      ...props,
    });
    return Template.fromStack(stack);
  }

  test("shares the authorizer's Stytch settings and adds the refresh settings", () => {
    const template = refreshStack({ cookieDomain: "example.com", maxSessionDuration: Duration.days(1) });
    const secretId = secretLogicalId(template);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: "Stytch B2B session refresh",
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Environment: {
        Variables: {
          STYTCH_PROJECT_ID: PROJECT_ID,
          STYTCH_SECRET_ARN: { Ref: secretId },
          STYTCH_API_URL: "https://login.example.com",
          POWERTOOLS_SERVICE_NAME: "stytch-refresh",
          REFRESH_ALLOWED_ORIGINS: "https://app.example.com,http://localhost:3000",
          REFRESH_MAX_SESSION_DURATION_MINUTES: "1440",
          REFRESH_COOKIE_HTTP_ONLY: "false",
          REFRESH_COOKIE_DOMAIN: "example.com",
          REFRESH_RETURN_SESSION_TOKEN: "false",
        },
      },
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("^RefreshFunctionRole") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(["secretsmanager:GetSecretValue"]), Resource: { Ref: secretId } }),
        ]),
      },
    });
  });

  test("disables session extension and omits the cookie domain by default", () => {
    const template = refreshStack();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: "Stytch B2B session refresh",
      Environment: {
        Variables: Match.objectLike({
          REFRESH_MAX_SESSION_DURATION_MINUTES: "0",
          REFRESH_COOKIE_DOMAIN: Match.absent(),
        }),
      },
    });
  });

  test("with organizationSwitch, deploys the organization switch with exactly the refresh settings, its own service name, and a read of the same secret", () => {
    const template = refreshStack({ organizationSwitch: true, cookieDomain: "example.com" });
    const functions = Object.values(template.findResources("AWS::Lambda::Function"));
    const byDescription = (description: string) =>
      functions.find((fn) => fn.Properties.Description === description)!.Properties.Environment.Variables;
    const { POWERTOOLS_SERVICE_NAME: refreshService, ...shared } = byDescription("Stytch B2B session refresh");
    expect(refreshService).toBe("stytch-refresh");
    expect(byDescription("Stytch B2B organization switch")).toEqual({
      ...shared,
      POWERTOOLS_SERVICE_NAME: "stytch-organization-switch",
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: Match.stringLikeRegexp("^RefreshOrganizationSwitchFunctionRole") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["secretsmanager:GetSecretValue"]),
            Resource: { Ref: secretLogicalId(template) },
          }),
        ]),
      },
    });
    // Without it (the default), an upgrade adds no function.
    const without = Object.values(refreshStack().findResources("AWS::Lambda::Function"));
    expect(without.map((fn) => fn.Properties.Description)).not.toContain("Stytch B2B organization switch");
  });

  test("rejects wildcard, path-bearing and plain-http remote origins, and bad session durations", () => {
    expect(() => refreshStack({ allowedOrigins: ["*"] })).toThrow(/^S\/Refresh: allowedOrigins .*not an origin/);
    expect(() => refreshStack({ allowedOrigins: ["https://app.example.com/"] })).toThrow(/exact .*trailing slash/);
    expect(() => refreshStack({ allowedOrigins: ["http://app.example.com"] })).toThrow(/https/);
    expect(() => refreshStack({ allowedOrigins: [] })).not.toThrow();
    expect(() => refreshStack({ maxSessionDuration: Duration.minutes(3) })).toThrow(/maxSessionDuration/);
  });
});

test("bundles the authorizer with the local esbuild into an index.js within the 128 KiB budget", () => {
  const app = new App({
    context: { ...FEATURE_FLAGS, "aws:cdk:enable-asset-metadata": true },
    builtinCloudFormationValidation: false,
  });
  const stack = new Stack(app, "Bundled");
  const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID });
  const assembly = app.synth();
  const template = assembly.getStackByName("Bundled").template;
  const logicalId = stack.getLogicalId(auth.function.node.defaultChild as lambda.CfnFunction);
  const assetPath: string = template.Resources[logicalId].Metadata["aws:asset:path"];
  const indexJs = path.join(assembly.directory, assetPath, "index.js");
  expect(existsSync(indexJs)).toBe(true);
  const size = statSync(indexJs).size;
  expect(size).toBeGreaterThan(0);
  expect(size).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
});
