// The snapshot on the CDK side: StytchSnapshot.fromFile, the authorizer's `snapshot` prop (a layer, both variables,
// the synth-time checks and the age warning), and the demo stack's snapshot.

import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { describe, expect, test } from "vitest";
import { DEMO_PROJECT_ID, DEMO_SNAPSHOT_FILE } from "../infra/demo/demo-snapshot";
import { FEATURE_FLAGS } from "../infra/demo/feature-flags";
import { StytchApiStack } from "../infra/demo/stytch-api-stack";
import { RoutePermissionTable } from "../infra/route-permission-table";
import { StytchAuthorizer, type StytchAuthorizerProps } from "../infra/stytch-authorizer";
import { SNAPSHOT_LAYER_FILE, StytchSnapshot } from "../infra/stytch-snapshot";
import { loadSnapshot } from "../lambda/lib/config";
import { buildProjectSnapshot, formatProjectSnapshot } from "../lambda/lib/stytch/project-snapshot";
import { DEMO_RBAC_POLICY } from "../local/stytch-emulator";
import { thrownBy } from "./support/thrown";

const PROJECT_ID = "project-test-11111111-2222-3333-4444-555555555555";
const DAY_MS = 86_400_000;
const KEY = { ...generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" }), kid: "k1" };

/** A snapshot file of `projectId`, taken at `takenAt`. */
function snapshotFile(projectId = PROJECT_ID, takenAt = new Date()): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "stytch-snapshot-cdk-")), "stytch-snapshot.json");
  const snapshot = buildProjectSnapshot({
    projectId,
    apiUrl: "https://test.stytch.com",
    takenAt,
    jwks: { keys: [KEY] },
    rbacPolicy: DEMO_RBAC_POLICY,
  });
  writeFileSync(file, formatProjectSnapshot(snapshot));
  return file;
}

function userStack(props: Partial<StytchAuthorizerProps>, route = "/orders") {
  const app = new App({
    context: { ...FEATURE_FLAGS, "aws:cdk:enable-asset-metadata": true },
    builtinCloudFormationValidation: false,
  });
  const stack = new Stack(app, "UserStack", { env: { account: "123456789012", region: "eu-west-1" } });
  const auth = new StytchAuthorizer(stack, "Auth", { projectId: PROJECT_ID, monitoring: false, ...props });
  const fn = new lambda.Function(stack, "Orders", {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 })"),
  });
  new apigwv2.HttpApi(stack, "Http").addRoutes({
    path: route,
    methods: [apigwv2.HttpMethod.GET],
    integration: new HttpLambdaIntegration("Orders", fn),
    authorizer: auth.httpAuthorizer,
  });
  return { app, stack, auth };
}

function authorizerVariables(template: Template): Record<string, string> {
  const [fn] = Object.values(
    template.findResources("AWS::Lambda::Function", {
      Properties: { Description: Match.stringLikeRegexp("session authorizer") },
    }),
  );
  return fn!.Properties.Environment.Variables;
}

describe("the authorizer's snapshot prop", () => {
  test("ships the snapshot in a layer as /opt/stytch-snapshot.json, names it and its maximum age, and the authorizer's loader reads the shipped file", () => {
    const file = snapshotFile();
    const { app, stack, auth } = userStack({ snapshot: StytchSnapshot.fromFile(file) });
    const template = Template.fromStack(stack);
    expect(authorizerVariables(template)).toMatchObject({
      STYTCH_SNAPSHOT_FILE: SNAPSHOT_LAYER_FILE,
      STYTCH_SNAPSHOT_MAX_AGE_SECONDS: "2592000",
    });
    const layer = auth.node.findChild("SnapshotLayer") as lambda.LayerVersion;
    const layerId = stack.getLogicalId(layer.node.defaultChild as lambda.CfnLayerVersion);
    const [fn] = Object.values(
      template.findResources("AWS::Lambda::Function", { Properties: { Layers: Match.anyValue() } }),
    );
    expect(fn!.Properties.Layers).toEqual([{ Ref: layerId }]);
    const assembly = app.synth();
    const assetPath: string =
      assembly.getStackByName("UserStack").template.Resources[layerId].Metadata["aws:asset:path"];
    const shipped = path.join(assembly.directory, assetPath, path.basename(SNAPSHOT_LAYER_FILE));
    expect(readFileSync(shipped, "utf8")).toBe(readFileSync(file, "utf8"));
    expect(loadSnapshot({ STYTCH_SNAPSHOT_FILE: shipped }, PROJECT_ID, Date.now())?.snapshot.project_id).toBe(
      PROJECT_ID,
    );
  });

  test("snapshotMaxAge sets STYTCH_SNAPSHOT_MAX_AGE_SECONDS by the handler's rule, and needs a snapshot", () => {
    const snapshot = StytchSnapshot.fromFile(snapshotFile());
    const { stack } = userStack({ snapshot, snapshotMaxAge: Duration.days(7) });
    expect(authorizerVariables(Template.fromStack(stack)).STYTCH_SNAPSHOT_MAX_AGE_SECONDS).toBe("604800");
    expect(
      (thrownBy(() => userStack({ snapshot, snapshotMaxAge: Duration.days(31) })) as Error | undefined)?.message,
    ).toBe("UserStack/Auth: snapshotMaxAge must be between 60 and 2592000 (in seconds), got 2678400");
    expect((thrownBy(() => userStack({ snapshotMaxAge: Duration.days(1) })) as Error | undefined)?.message).toBe(
      "UserStack/Auth: snapshotMaxAge needs snapshot",
    );
  });

  test("a snapshot of another project fails the synth, as the function would refuse it", () => {
    const file = snapshotFile(DEMO_PROJECT_ID);
    expect((thrownBy(() => userStack({ snapshot: StytchSnapshot.fromFile(file) })) as Error | undefined)?.message).toBe(
      `UserStack/Auth: snapshot ${file} was taken of project ${DEMO_PROJECT_ID}, not of ${PROJECT_ID}`,
    );
  });

  test.each([
    [
      "does not exist",
      () => "/nonexistent/stytch-snapshot.json",
      /cannot be read \(ENOENT\): take one with npx stytch-b2b-apigw-authorizer snapshot/,
    ],
    [
      "is not a snapshot",
      () => writeTemp(JSON.stringify({ policy: DEMO_RBAC_POLICY })),
      /is not a snapshot of this format/,
    ],
  ])("a file that %s fails at once, naming it", (_, file, message) => {
    expect(() => StytchSnapshot.fromFile(file())).toThrow(message);
  });

  test("a snapshot already past its maximum age synthesizes with a warning (the function would not trust it); a fresh one without", () => {
    const old = userStack({
      snapshot: StytchSnapshot.fromFile(snapshotFile(PROJECT_ID, new Date(Date.now() - 8 * DAY_MS))),
      snapshotMaxAge: Duration.days(7),
    });
    Annotations.fromStack(old.stack).hasWarning(
      "/UserStack/Auth",
      Match.stringLikeRegexp(
        "more than 604800 seconds ago .*does not trust it, and every new container waits for Stytch",
      ),
    );
    const fresh = userStack({ snapshot: StytchSnapshot.fromFile(snapshotFile()), snapshotMaxAge: Duration.days(7) });
    Annotations.fromStack(fresh.stack).hasNoWarning("/UserStack/Auth", Match.stringLikeRegexp("snapshot"));
  });

  test("the environment prop may not name a snapshot file of its own (it would not ship with the function)", () => {
    expect(
      (thrownBy(() => userStack({ environment: { STYTCH_SNAPSHOT_FILE: "/var/task/s.json" } })) as Error | undefined)
        ?.message,
    ).toBe("UserStack/Auth: environment may not override STYTCH_SNAPSHOT_FILE; it is set by the construct");
  });

  test("with a route table, every route's resource and action must be in the snapshot's RBAC policy", () => {
    const routePermissions = new RoutePermissionTable().add("GET", "/orders", { resourceId: "orders", action: "read" });
    const { app } = userStack({ snapshot: StytchSnapshot.fromFile(snapshotFile()), routePermissions });
    expect(() => app.synth()).toThrow(
      /GET \/orders names resource "orders", which the RBAC policy does not define \(the snapshot's/,
    );
    const fine = new RoutePermissionTable().add("GET", "/orders", { resourceId: "documents", action: "read" });
    expect(() =>
      userStack({ snapshot: StytchSnapshot.fromFile(snapshotFile()), routePermissions: fine }).app.synth(),
    ).not.toThrow();
  });
});

describe("the demo stack's snapshot", () => {
  function demo(projectId: string, snapshotFileProp?: string): Stack {
    const app = new App({
      context: { ...FEATURE_FLAGS, "aws:cdk:bundling-stacks": [] },
      builtinCloudFormationValidation: false,
    });
    return new StytchApiStack(app, "Demo", {
      projectId,
      ...(snapshotFileProp ? { snapshotFile: snapshotFileProp } : {}),
      env: { account: "123456789012", region: "eu-west-1" },
    });
  }

  test("for the placeholder project, the authorizer starts from the checked-in demo snapshot", () => {
    const variables = authorizerVariables(Template.fromStack(demo(DEMO_PROJECT_ID)));
    expect(variables.STYTCH_SNAPSHOT_FILE).toBe(SNAPSHOT_LAYER_FILE);
    expect(JSON.parse(readFileSync(DEMO_SNAPSHOT_FILE, "utf8")).project_id).toBe(DEMO_PROJECT_ID);
  });

  test("for another project, it starts without one and the synth says how to take one; with -c snapshotFile it starts from that", () => {
    const other = demo(PROJECT_ID);
    expect(authorizerVariables(Template.fromStack(other))).not.toHaveProperty("STYTCH_SNAPSHOT_FILE");
    Annotations.fromStack(other).hasWarning("/Demo", Match.stringLikeRegexp("npm run snapshot -- --out"));
    const own = demo(PROJECT_ID, snapshotFile());
    expect(authorizerVariables(Template.fromStack(own)).STYTCH_SNAPSHOT_FILE).toBe(SNAPSHOT_LAYER_FILE);
    expect(() => demo(PROJECT_ID, DEMO_SNAPSHOT_FILE)).toThrow(/was taken of project project-test-00000000/);
  });
});

function writeTemp(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "stytch-snapshot-cdk-")), "file.json");
  writeFileSync(file, text);
  return file;
}
