// The CDK side of per-route permissions: routes declare their permission where they are attached, the
// construct compiles the table into the authorizer at synth, and an optional synth-time check against the RBAC
// policy of a project snapshot (or a checked-in policy) fails on names the RBAC policy does not define.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { describe, expect, test } from "vitest";
import { routePermissionTableOf } from "../infra/demo/demo-route-table";
import { DEMO_PROJECT_ID, DEMO_SNAPSHOT_FILE } from "../infra/demo/demo-snapshot";
import { FEATURE_FLAGS } from "../infra/demo/feature-flags";
import { API_ROUTES } from "../infra/demo/routes";
import { checkAgainstPolicy, RoutePermissionTable, readRbacPolicyFile } from "../infra/route-permission-table";
import { StytchAuthorizer } from "../infra/stytch-authorizer";
import { parseRoutePermissions } from "../lambda/lib/permissions/route-table";
import { DEMO_RBAC_POLICY } from "../local/stytch-emulator";

/** The demo project's snapshot: its RBAC policy is the demo policy. */
const POLICY_FILE = DEMO_SNAPSHOT_FILE;

/** A user's stack: their REST API, the construct, and routes declared where they are attached. */
function synth(
  declare: (table: RoutePermissionTable, attach: (method: string, pathText: string) => void) => void,
  policyFile?: string,
  cache: { identity?: "header"; resultsCacheTtl?: Duration } = {},
) {
  const app = new App({
    context: { ...FEATURE_FLAGS, "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
  const stack = new Stack(app, "UserStack", { env: { account: "123456789012", region: "eu-west-1" } });
  const table = new RoutePermissionTable(policyFile ? { policyFile } : {});
  const auth = new StytchAuthorizer(stack, "Auth", {
    projectId: "project-test-11111111-2222-3333-4444-555555555555",
    routePermissions: table,
    ...cache,
  });
  const api = new apigateway.RestApi(stack, "Api");
  const fn = new lambda.Function(stack, "Fn", {
    runtime: lambda.Runtime.NODEJS_LATEST,
    handler: "index.handler",
    code: lambda.Code.fromInline("exports.handler=async()=>({statusCode:200})"),
  });
  const attach = (method: string, pathText: string) => {
    api.root
      .resourceForPath(pathText)
      .addMethod(method, new apigateway.LambdaIntegration(fn), { authorizer: auth.restAuthorizer });
  };
  declare(table, attach);
  return () => Template.fromStack(stack);
}

function authorizerEnvironment(template: Template): Record<string, string> {
  const authorizer = Object.values(template.findResources("AWS::Lambda::Function")).find((resource) =>
    String((resource as { Properties: { Description?: string } }).Properties.Description ?? "").startsWith(
      "Stytch B2B session authorizer",
    ),
  ) as { Properties: { Environment: { Variables: Record<string, string> } } };
  return authorizer.Properties.Environment.Variables;
}

describe("compiling the table", () => {
  test("the shared route table compiles to exactly the routes behind the authorizer, and the authorizer accepts it", () => {
    const json = routePermissionTableOf(API_ROUTES).toJSON();
    expect(json).toEqual({
      "GET /me": "authenticated",
      "GET /orgs/{organization_id}/documents": {
        resource_id: "documents",
        action: "read",
        callers: ["member", "connected_app"],
      },
      "POST /orgs/{organization_id}/documents": { resource_id: "documents", action: "write" },
      "GET /orgs/{organization_id}/billing": {
        resource_id: "billing",
        action: "read",
        // The demo's one step-up requirement.
        step_up: { factors: ["mfa"], within_minutes: 15, impersonation: "refused" },
      },
      "GET /by-slug/{organization_slug}/documents": { resource_id: "documents", action: "read" },
      "GET /service/usage": { resource_id: "usage", action: "read", callers: ["m2m"] },
    });
    expect(parseRoutePermissions(JSON.stringify(json), "compiled").routes).toHaveLength(6);
  });

  test("routes declared after the authorizer was created still reach its environment (compiled at synth)", () => {
    const template = synth((table, attach) => {
      attach("GET", "/orgs/{organization_id}/documents");
      table.add("GET", "/orgs/{organization_id}/documents", { resourceId: "documents", action: "read" });
      attach("GET", "/me");
      table.add("GET", "/me", "authenticated");
    })();
    expect(JSON.parse(authorizerEnvironment(template).STYTCH_ROUTE_PERMISSIONS!)).toEqual({
      "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
      "GET /me": "authenticated",
    });
  });

  test("the demo stack's authorizer carries the compiled shared table", async () => {
    const { StytchApiStack } = await import("../infra/demo/stytch-api-stack");
    const app = new App({
      context: { ...FEATURE_FLAGS, "aws:cdk:bundling-stacks": [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new StytchApiStack(app, "Demo", {
      projectId: "project-test-11111111-2222-3333-4444-555555555555",
      env: { account: "123456789012", region: "eu-west-1" },
    });
    const variables = authorizerEnvironment(Template.fromStack(stack));
    expect(JSON.parse(variables.STYTCH_ROUTE_PERMISSIONS!)).toEqual(routePermissionTableOf(API_ROUTES).toJSON());
  });

  test("declaring a route twice with different permissions, or a malformed route, fails at once", () => {
    const table = new RoutePermissionTable().add("GET", "/a", "authenticated");
    expect(() => table.add("GET", "/a", { resourceId: "documents", action: "read" })).toThrow(/twice/);
    expect(() => table.add("get", "/a", "authenticated")).toThrow(/"get \/a" is not a route key/);
    expect(() => table.add("GET", "a/b", "authenticated")).toThrow(/"GET a\/b" is not a route key/);
    expect(() => table.add("GET", "/a//b", "authenticated")).toThrow(/empty or invalid path segment/);
  });

  test("a route's step-up options compile to its step_up, checked by the authorizer's own parser as declared", () => {
    const table = new RoutePermissionTable()
      .add(
        "POST",
        "/orgs/{organization_id}/billing",
        { resourceId: "billing", action: "write" },
        {
          stepUp: { factors: ["mfa"], within: Duration.minutes(15) },
        },
      )
      .add("GET", "/admin", "authenticated", {
        stepUp: {
          factors: ["sso:saml-connection-test-d89ff7a0-e86f-4b4d-b6a3-9a74d967528e"],
          impersonation: "allowed",
        },
      })
      .add(
        "GET",
        "/orgs/{organization_id}/billing",
        { resourceId: "billing", action: "read" },
        {
          stepUp: { impersonation: "read_only" },
        },
      );
    expect(table.toJSON()).toEqual({
      "POST /orgs/{organization_id}/billing": {
        resource_id: "billing",
        action: "write",
        step_up: { factors: ["mfa"], within_minutes: 15, impersonation: "refused" },
      },
      "GET /admin": {
        step_up: {
          factors: ["sso:saml-connection-test-d89ff7a0-e86f-4b4d-b6a3-9a74d967528e"],
          impersonation: "allowed",
        },
      },
      "GET /orgs/{organization_id}/billing": {
        resource_id: "billing",
        action: "read",
        step_up: { impersonation: "read_only" },
      },
    });
    const parsed = parseRoutePermissions(JSON.stringify(table.toJSON()), "compiled");
    expect(parsed.byRouteKey.get("POST /orgs/{organization_id}/billing")!.stepUp).toEqual({
      factors: ["mfa"],
      withinMinutes: 15,
      impersonation: "refused",
    });
    // The same route again with the same requirements is fine; with other ones it is not.
    table.add("GET", "/admin", "authenticated", {
      stepUp: { factors: ["sso:saml-connection-test-d89ff7a0-e86f-4b4d-b6a3-9a74d967528e"], impersonation: "allowed" },
    });
    expect(() => table.add("GET", "/admin", "authenticated", { stepUp: { factors: ["sso"] } })).toThrow(/twice/);
  });

  test.each([
    [{ factors: ["face_id" as never] }, /"GET \/a" has the step_up factor "face_id"/],
    [{ within: Duration.seconds(90) }, /"GET \/a" stepUp.within must be whole minutes, got 1 minute 30 seconds/],
    [{ within: Duration.days(2) }, /within_minutes that is not a whole number of minutes from 1 to 1440/],
    [{}, /"GET \/a" has an empty stepUp/],
  ])("invalid step-up options fail at once: %j", (stepUp, message) => {
    expect(() => new RoutePermissionTable().add("GET", "/a", "authenticated", { stepUp: stepUp as never })).toThrow(
      message,
    );
    expect(() =>
      new RoutePermissionTable().add("POST", "/a", "authenticated", { stepUp: { impersonation: "read_only" } }),
    ).toThrow(/read_only on POST/);
  });
});

describe("result caching", () => {
  test("with per-route permissions the HTTP API's simple answers are never cached; REST IAM policies still are", () => {
    const app = new App({
      context: { ...FEATURE_FLAGS, "aws:cdk:bundling-stacks": [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, "Cached", { env: { account: "123456789012", region: "eu-west-1" } });
    const table = new RoutePermissionTable().add("GET", "/me", "authenticated");
    const auth = new StytchAuthorizer(stack, "Auth", {
      projectId: "project-test-11111111-2222-3333-4444-555555555555",
      identity: "header",
      routePermissions: table,
    });
    const fn = new lambda.Function(stack, "Fn", {
      runtime: lambda.Runtime.NODEJS_LATEST,
      handler: "index.handler",
      code: lambda.Code.fromInline("exports.handler=async()=>({})"),
    });
    new apigateway.RestApi(stack, "Rest").root
      .addResource("me")
      .addMethod("GET", new apigateway.LambdaIntegration(fn), { authorizer: auth.restAuthorizer });
    new apigwv2.HttpApi(stack, "Http").addRoutes({
      path: "/me",
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpLambdaIntegration("Me", fn),
      authorizer: auth.httpAuthorizer,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", { AuthorizerResultTtlInSeconds: 0 });
    template.hasResourceProperties("AWS::ApiGateway::Authorizer", { AuthorizerResultTtlInSeconds: 300 });
  });
});

describe("synth-time checks", () => {
  test("a route naming a resource or an action the snapshot's RBAC policy does not define fails the synth", () => {
    const build = synth((table, attach) => {
      attach("GET", "/orgs/{organization_id}/payroll");
      table.add("GET", "/orgs/{organization_id}/payroll", { resourceId: "payroll", action: "read" });
      attach("DELETE", "/orgs/{organization_id}/billing");
      table.add("DELETE", "/orgs/{organization_id}/billing", { resourceId: "billing", action: "delete" });
    }, POLICY_FILE);
    expect(build).toThrow(/names resource "payroll", which the RBAC policy does not define/);
    expect(build).toThrow(/names action "delete", which resource "billing" does not define/);
  });

  test("a bare RBAC policy file (GET /v1/b2b/rbac/policy's answer, or its policy object) is still accepted", () => {
    const folder = mkdtempSync(path.join(tmpdir(), "rbac-policy-"));
    for (const [name, json] of [
      ["answer.json", { request_id: "request-id-test-1", status_code: 200, policy: DEMO_RBAC_POLICY }],
      ["policy.json", DEMO_RBAC_POLICY],
    ] as const) {
      const file = path.join(folder, name);
      writeFileSync(file, JSON.stringify(json));
      const build = synth((table, attach) => {
        attach("GET", "/orgs/{organization_id}/payroll");
        table.add("GET", "/orgs/{organization_id}/payroll", { resourceId: "payroll", action: "read" });
      }, file);
      expect(build).toThrow(/names resource "payroll", which the RBAC policy does not define/);
    }
  });

  test("a file that says it is a snapshot but is not a valid one fails the synth, naming the file", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "rbac-policy-")), "snapshot.json");
    const snapshot = JSON.parse(readFileSync(DEMO_SNAPSHOT_FILE, "utf8"));
    writeFileSync(file, JSON.stringify({ ...snapshot, jwks: { keys: [] } }));
    const build = synth((table, attach) => {
      attach("GET", "/me");
      table.add("GET", "/me", "authenticated");
    }, file);
    expect(build).toThrow(`${file} holds no usable key`);
  });

  test("a freshness limit that a cached answer could outlive fails the synth, naming resultsCacheTtl and the route", () => {
    const declare = (within: Duration) => (table: RoutePermissionTable, attach: (m: string, p: string) => void) => {
      attach("GET", "/orgs/{organization_id}/billing");
      table.add(
        "GET",
        "/orgs/{organization_id}/billing",
        { resourceId: "billing", action: "read" },
        {
          stepUp: { factors: ["mfa"], within },
        },
      );
    };
    const cached = { identity: "header" as const, resultsCacheTtl: Duration.minutes(5) };
    expect(synth(declare(Duration.minutes(5)), POLICY_FILE, cached)).toThrow(
      /resultsCacheTtl: STYTCH_RESULTS_CACHE_TTL_SECONDS \(300 s\) is not shorter than the step-up freshness limit of "GET \/orgs\/\{organization_id\}\/billing" \(within 5 minutes\)/,
    );
    expect(synth(declare(Duration.minutes(15)), POLICY_FILE, cached)).not.toThrow();
    // Uncached (the default identity), any limit will do.
    expect(synth(declare(Duration.minutes(1)), POLICY_FILE)).not.toThrow();
  });

  test("a route open to any member with only step-up requirements passes the RBAC policy check", () => {
    expect(
      synth((table, attach) => {
        attach("GET", "/admin");
        table.add("GET", "/admin", "authenticated", { stepUp: { factors: ["sso"] } });
      }, POLICY_FILE),
    ).not.toThrow();
  });

  test("the same routes synthesize without an RBAC policy file (the check is optional)", () => {
    expect(
      synth((table, attach) => {
        attach("GET", "/orgs/{organization_id}/payroll");
        table.add("GET", "/orgs/{organization_id}/payroll", { resourceId: "payroll", action: "read" });
      }),
    ).not.toThrow();
  });

  test("a table beyond Lambda's 4 KB environment ships as a file in a layer, named by STYTCH_ROUTE_PERMISSIONS_FILE", () => {
    const template = synth((table, attach) => {
      for (let i = 0; i < 60; i++) {
        attach("GET", `/orgs/{organization_id}/collection-${i}`);
        table.add("GET", `/orgs/{organization_id}/collection-${i}`, { resourceId: "documents", action: "read" });
      }
    })();
    const env = authorizerEnvironment(template);
    expect(env).not.toHaveProperty("STYTCH_ROUTE_PERMISSIONS");
    expect(env.STYTCH_ROUTE_PERMISSIONS_FILE).toBe("/opt/stytch-route-permissions.json");
    template.resourceCountIs("AWS::Lambda::LayerVersion", 1);
    const [layerId] = Object.keys(template.findResources("AWS::Lambda::LayerVersion"));
    const fn = Object.values(template.findResources("AWS::Lambda::Function")).find(
      (f) => f.Properties.Environment?.Variables?.STYTCH_ROUTE_PERMISSIONS_FILE,
    );
    expect(fn!.Properties.Layers).toEqual([{ Ref: layerId }]);
  });

  test("the layer's file is the whole table, which the authorizer's loader reads back", () => {
    const app = new App({
      context: { ...FEATURE_FLAGS, "aws:cdk:enable-asset-metadata": true },
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, "Big");
    const table = new RoutePermissionTable();
    for (let i = 0; i < 60; i++)
      table.add("GET", `/orgs/{organization_id}/collection-${i}`, { resourceId: "documents", action: "read" });
    const auth = new StytchAuthorizer(stack, "Auth", {
      projectId: "project-test-11111111-2222-3333-4444-555555555555",
      routePermissions: table,
      monitoring: false,
    });
    const api = new apigwv2.HttpApi(stack, "Api");
    const fn = new lambda.Function(stack, "Fn", {
      runtime: lambda.Runtime.NODEJS_LATEST,
      handler: "index.handler",
      code: lambda.Code.fromInline("exports.handler=async()=>({statusCode:200})"),
    });
    api.addRoutes({
      path: "/orgs/{organization_id}/collection-0",
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpLambdaIntegration("Fn", fn),
      authorizer: auth.httpAuthorizer,
    });
    const assembly = app.synth();
    const layer = auth.function.node.findChild("RoutePermissionsLayer") as lambda.LayerVersion;
    const layerId = stack.getLogicalId(layer.node.defaultChild as lambda.CfnLayerVersion);
    const assetPath: string = assembly.getStackByName("Big").template.Resources[layerId].Metadata["aws:asset:path"];
    const file = readFileSync(path.join(assembly.directory, assetPath, "stytch-route-permissions.json"), "utf8");
    expect(JSON.parse(file)).toEqual(table.toJSON());
    expect(parseRoutePermissions(file, "STYTCH_ROUTE_PERMISSIONS_FILE").routes).toHaveLength(60);
  });

  test("a small table stays in the environment, without a layer", () => {
    const template = synth((table, attach) => {
      attach("GET", "/orgs/{organization_id}/documents");
      table.add("GET", "/orgs/{organization_id}/documents", { resourceId: "documents", action: "read" });
    })();
    expect(JSON.parse(authorizerEnvironment(template).STYTCH_ROUTE_PERMISSIONS!)).toEqual({
      "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
    });
    template.resourceCountIs("AWS::Lambda::LayerVersion", 0);
  });

  test("the demo snapshot is of the placeholder project, and its RBAC policy is the emulator's demo RBAC policy (they cannot drift apart)", () => {
    const snapshot = JSON.parse(readFileSync(POLICY_FILE, "utf8"));
    expect(snapshot.project_id).toBe(DEMO_PROJECT_ID);
    expect(snapshot.rbac_policy).toEqual(DEMO_RBAC_POLICY);
    expect(checkAgainstPolicy(routePermissionTableOf(API_ROUTES).toJSON(), readRbacPolicyFile(POLICY_FILE))).toEqual(
      [],
    );
  });
});
