/**
 * CDK app entry (`cdk.json` runs it): the {@link StytchApiStack} demo, checked by cdk-nag's
 * AwsSolutions rules on every synth.
 *
 * Project id: `-c stytchProjectId=…`, else `STYTCH_PROJECT_ID`, else an obviously fake test id
 * (with a warning) so `cdk synth` works on a fresh clone.
 * Project snapshot: `-c snapshotFile=stytch-snapshot.json` (take one with `npm run snapshot -- --out …`), else
 * the demo project's (infra/demo/snapshot.json), which only the placeholder project can use.
 * Browser origins: `-c allowedOrigins=https://app.example.com,https://admin.example.com` (none by
 * default, with a loud warning: the deployed demo must not trust a developer's localhost).
 * `-c createCloudWatchRole=false` where the account already has API Gateway's logging role.
 * Agents: `-c authorizationServer=https://login.example.com` (your Stytch project domain or custom domain) serves
 * the RFC 9728 protected-resource metadata on the REST API and points 401s at it.
 *
 * @module
 */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { DEMO_PROJECT_ID } from "./demo-snapshot";
import { StytchApiStack } from "./stytch-api-stack";

/** Placeholder project id for synthesizing without a Stytch project. */
export const FAKE_PROJECT_ID = DEMO_PROJECT_ID;

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

let projectId: unknown = app.node.tryGetContext("stytchProjectId") ?? process.env.STYTCH_PROJECT_ID;
if (typeof projectId !== "string" || projectId === "") {
  console.warn(
    `WARNING: no Stytch project id (pass -c stytchProjectId=project-… or set STYTCH_PROJECT_ID); using the fake ${FAKE_PROJECT_ID}. Do not deploy this.`,
  );
  projectId = FAKE_PROJECT_ID;
}

const allowedOrigins = String(app.node.tryGetContext("allowedOrigins") ?? "")
  .split(",")
  .map((origin) => origin.trim())
  .filter((origin) => origin !== "");
// With none, StytchApiStack warns itself (a construct annotation, which `cdk synth` prints).
const createCloudWatchRole = String(app.node.tryGetContext("createCloudWatchRole") ?? "true") !== "false";
const snapshotFile: unknown = app.node.tryGetContext("snapshotFile");
const authorizationServer = app.node.tryGetContext("authorizationServer");

new StytchApiStack(app, "StytchAuthorizerDemo", {
  projectId: projectId as string,
  allowedOrigins,
  createCloudWatchRole,
  ...(typeof snapshotFile === "string" && snapshotFile !== "" ? { snapshotFile } : {}),
  ...(typeof authorizationServer === "string" && authorizationServer !== ""
    ? { authorizer: { protectedResource: { authorizationServer, resourceName: "Stytch authorizer demo" } } }
    : {}),
  description: "Stytch B2B session authorizer demo: REST and HTTP APIs with a Lambda authorizer",
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

app.synth();
