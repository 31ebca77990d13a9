// Machines and agents in the constructs: the route table's callers, the RFC 9728 protected-resource metadata and the
// 401's `WWW-Authenticate: Bearer resource_metadata="…"` on REST APIs, and the introspection client, in real synths.

import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, test } from "vitest";
import { DEMO_SNAPSHOT_FILE } from "../infra/demo/demo-snapshot";
import { FEATURE_FLAGS } from "../infra/demo/feature-flags";
import { protectedResourceDocument } from "../infra/protected-resource-document";
import {
  checkAgainstPolicy,
  type RoutePermissionJson,
  RoutePermissionTable,
  readRbacPolicyFile,
} from "../infra/route-permission-table";
import { StytchAuthorizer, type StytchAuthorizerProps } from "../infra/stytch-authorizer";

const PROJECT_ID = "project-test-11111111-2222-3333-4444-555555555555";
const POLICY_FILE = DEMO_SNAPSHOT_FILE;
const AUTHORIZATION_SERVER = "https://login.example.com";

/** A user's REST API with routes for members, an agent route and an M2M route, and the construct's props. */
function synth(props: Partial<StytchAuthorizerProps> = {}, callers: RoutePermissionJson = { callers: [] }) {
  const app = new App({
    context: { ...FEATURE_FLAGS, "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
  const stack = new Stack(app, "UserStack", { env: { account: "123456789012", region: "eu-west-1" } });
  const table = new RoutePermissionTable({ policyFile: POLICY_FILE });
  const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, routePermissions: table, ...props });
  const api = new apigateway.RestApi(stack, "Api", { cloudWatchRole: false });
  const fn = new lambda.Function(stack, "Fn", {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: lambda.Code.fromInline("exports.handler=async()=>({statusCode:200})"),
  });
  const route = (method: string, pathText: string) =>
    api.root
      .resourceForPath(pathText)
      .addMethod(method, new apigateway.LambdaIntegration(fn), { authorizer: auth.restAuthorizer });
  route("GET", "/me");
  table.add("GET", "/me", "authenticated");
  route("GET", "/orgs/{organization_id}/documents");
  const agentCallers = (callers as { callers: readonly string[] }).callers;
  table.add(
    "GET",
    "/orgs/{organization_id}/documents",
    { resourceId: "documents", action: "read" },
    {
      callers: agentCallers.length > 0 ? (agentCallers as never) : ["member", "connected_app"],
    },
  );
  route("GET", "/service/usage");
  table.add("GET", "/service/usage", { resourceId: "usage", action: "read" }, { callers: ["m2m"] });
  return { app, stack, auth, template: () => Template.fromStack(stack) };
}

function environment(template: Template): Record<string, string> {
  const [fn] = Object.values(template.findResources("AWS::Lambda::Function")).filter((resource) =>
    String(resource.Properties.Description ?? "").startsWith("Stytch B2B session authorizer"),
  );
  return fn!.Properties.Environment.Variables;
}

/** A CloudFormation string with its Fn::Join parts written out (tokens as `{Ref}`-style names). */
function flatten(value: unknown): string {
  if (typeof value === "string") return value;
  const join = (value as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (join) return join[1].map(flatten).join(join[0]);
  return `{${JSON.stringify(value)}}`;
}

describe("RoutePermissionTable: callers", () => {
  test("callers reach the compiled table in the authorizer's canonical form; the default stays the old JSON", () => {
    const env = environment(synth().template());
    expect(JSON.parse(env.STYTCH_ROUTE_PERMISSIONS!)).toEqual({
      "GET /me": "authenticated",
      "GET /orgs/{organization_id}/documents": {
        resource_id: "documents",
        action: "read",
        callers: ["member", "connected_app"],
      },
      "GET /service/usage": { resource_id: "usage", action: "read", callers: ["m2m"] },
    });
  });

  test("add refuses what the authorizer would refuse: m2m on a tenancy route, unknown callers", () => {
    const table = new RoutePermissionTable();
    expect(() => table.add("GET", "/orgs/{organization_id}/x", "authenticated", { callers: ["m2m"] })).toThrow(
      /M2M client has no organization/,
    );
    expect(() => table.add("GET", "/x", "authenticated", { callers: ["robot" as never] })).toThrow(/callers/);
    expect(() => table.add("GET", "/x", "authenticated", { callers: [] })).toThrow(/callers/);
    table.add("GET", "/x", "authenticated", { callers: ["connected_app", "member"] });
    expect(() => table.add("GET", "/x", "authenticated")).toThrow(/declared twice/);
  });

  test("the policy check: a Connected-App route needs a scope that grants it; M2M-only routes are not RBAC's", () => {
    const policy = readRbacPolicyFile(POLICY_FILE);
    expect(
      checkAgainstPolicy(
        {
          "GET /a": { resource_id: "documents", action: "read", callers: ["connected_app"] },
          "GET /b": { resource_id: "billing", action: "read", callers: ["member", "connected_app"] },
          "GET /c": { resource_id: "usage", action: "read", callers: ["m2m"] },
          "GET /d": { resource_id: "usage", action: "read", callers: ["member", "m2m"] },
        },
        policy,
      ),
    ).toEqual([
      'route permissions: GET /b accepts connected_app, but no scope of the RBAC policy grants "read" on "billing"',
      'route permissions: GET /d names resource "usage", which the RBAC policy does not define',
    ]);
  });
});

describe("protectedResource: RFC 9728 metadata for agents on REST APIs", () => {
  test("GET /.well-known/oauth-protected-resource is served without authorization, naming the server and the scopes", () => {
    const template = synth({
      protectedResource: { authorizationServer: AUTHORIZATION_SERVER, resourceName: "Orders API" },
    }).template();
    const methods = Object.values(template.findResources("AWS::ApiGateway::Method")).filter(
      (method) => method.Properties.Integration?.Type === "MOCK",
    );
    expect(methods).toHaveLength(1);
    const [method] = methods;
    expect(method!.Properties).toMatchObject({ HttpMethod: "GET", AuthorizationType: "NONE" });
    const document = flatten(
      method!.Properties.Integration.IntegrationResponses[0].ResponseTemplates["application/json"],
    );
    const parsed = JSON.parse(document.replace(/\{\{[^}]*\}\}/g, "TOKEN").replace(/\{[^"]*?\}(?=[^"]*")/g, "TOKEN"));
    expect(parsed).toMatchObject({
      authorization_servers: [AUTHORIZATION_SERVER],
      // The policy file's scopes that grant a route open to Connected Apps (documents/read).
      scopes_supported: ["read:documents", "write:documents"],
      bearer_methods_supported: ["header"],
      resource_name: "Orders API",
    });
    expect(parsed.resource).toMatch(/^https:\/\/.*execute-api\..*\/prod$/);
    expect(method!.Properties.Integration.IntegrationResponses[0].ResponseParameters).toMatchObject({
      "method.response.header.Content-Type": "'application/json'",
    });
    // The resource path is .well-known/oauth-protected-resource.
    const parts = Object.values(template.findResources("AWS::ApiGateway::Resource")).map((r) => r.Properties.PathPart);
    expect(parts).toEqual(expect.arrayContaining([".well-known", "oauth-protected-resource"]));
  });

  test('the 401 points agents at it: WWW-Authenticate: Bearer resource_metadata="…/.well-known/oauth-protected-resource"', () => {
    const template = synth({ protectedResource: { authorizationServer: AUTHORIZATION_SERVER } }).template();
    const [unauthorized] = Object.values(template.findResources("AWS::ApiGateway::GatewayResponse")).filter(
      (response) => response.Properties.ResponseType === "UNAUTHORIZED",
    );
    const challenge = flatten(unauthorized!.Properties.ResponseParameters["gatewayresponse.header.WWW-Authenticate"]);
    expect(challenge).toMatch(
      /^'Bearer resource_metadata="https:\/\/.+\/prod\/\.well-known\/oauth-protected-resource"'$/,
    );
    const explicit = synth({
      protectedResource: { authorizationServer: AUTHORIZATION_SERVER, resource: "https://api.example.com/v1/" },
    }).template();
    const [explicit401] = Object.values(explicit.findResources("AWS::ApiGateway::GatewayResponse")).filter(
      (response) => response.Properties.ResponseType === "UNAUTHORIZED",
    );
    expect(explicit401!.Properties.ResponseParameters["gatewayresponse.header.WWW-Authenticate"]).toBe(
      `'Bearer resource_metadata="https://api.example.com/v1/.well-known/oauth-protected-resource"'`,
    );
  });

  test("without it, nothing is served and the 401 says Bearer", () => {
    const template = synth().template();
    const mocks = Object.values(template.findResources("AWS::ApiGateway::Method")).filter(
      (method) => method.Properties.Integration?.Type === "MOCK",
    );
    expect(mocks).toHaveLength(0);
    const [unauthorized] = Object.values(template.findResources("AWS::ApiGateway::GatewayResponse")).filter(
      (response) => response.Properties.ResponseType === "UNAUTHORIZED",
    );
    expect(unauthorized!.Properties.ResponseParameters["gatewayresponse.header.WWW-Authenticate"]).toBe("'Bearer'");
  });

  test("the synth fails when no route accepts Connected Apps, and the props are checked at once", () => {
    expect(() =>
      synth({ protectedResource: { authorizationServer: AUTHORIZATION_SERVER } }, { callers: ["member"] }).app.synth(),
    ).toThrow(/no route accepts Connected Apps/);
    expect(() => synth({ protectedResource: { authorizationServer: "http://login.example.com" } })).toThrow(
      /authorizationServer must use https/,
    );
    expect(() =>
      synth({ protectedResource: { authorizationServer: AUTHORIZATION_SERVER, scopes: ["read:$documents"] } }),
    ).toThrow(/not a plain scope/);
    const app = new App({ context: FEATURE_FLAGS });
    expect(
      () =>
        new StytchAuthorizer(new Stack(app, "S"), "Auth", {
          projectId: PROJECT_ID,
          protectedResource: { authorizationServer: AUTHORIZATION_SERVER },
        }),
    ).toThrow(/needs routePermissions/);
  });

  test("the metadata method passes cdk-nag AwsSolutions (public by definition, acknowledged with its reason)", () => {
    const { stack } = synth({ protectedResource: { authorizationServer: AUTHORIZATION_SERVER } });
    const api = stack.node.findChild("Api");
    const wellKnown = api.node.findAll().filter((node) => node.node.path.includes("oauth-protected-resource"));
    const report = new AwsSolutionsChecks().validateScope(wellKnown[0]!);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  test("the document: RFC 9728 fields, the server as an origin, no empty scope list", () => {
    expect(
      protectedResourceDocument(
        "https://api.example.com/v1",
        { authorizationServer: "https://login.example.com/" },
        [],
      ),
    ).toEqual({
      resource: "https://api.example.com/v1",
      authorization_servers: ["https://login.example.com"],
      bearer_methods_supported: ["header"],
    });
  });
});

describe("introspectionClientId", () => {
  test("reaches the authorizer's environment; anything but a Connected-App client id fails the synth", () => {
    const clientId = "connected-app-test-d731954d-dab3-4a2b-bdee-07f3ad1be888";
    expect(environment(synth({ introspectionClientId: clientId }).template()).STYTCH_INTROSPECTION_CLIENT_ID).toBe(
      clientId,
    );
    expect(environment(synth().template()).STYTCH_INTROSPECTION_CLIENT_ID).toBeUndefined();
    expect(() => synth({ introspectionClientId: "m2m-client-test-1" }).app.synth()).toThrow(/introspectionClientId/);
  });
});
