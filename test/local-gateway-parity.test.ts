// `npm start` claims to answer browsers exactly like the deployed REST API. This holds it to that: the local
// gateway's preflight and its 401/403/503 answers carry every header, status and body that the synthesized
// demo stack configures (its CORS preflight methods and gateway responses), for an allowed origin.

import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { FEATURE_FLAGS } from "../infra/demo/feature-flags";
import { StytchApiStack } from "../infra/demo/stytch-api-stack";
import { type AuthorizerFunction, authorize } from "../local/api-gateway-authorization";
import { requestAuthorizerEvent } from "../local/api-gateway-events";
import { preflightResponse, withGatewayCors } from "../local/gateway-cors";

const APP_ORIGIN = "https://app.example.com";
type Properties = Record<string, any>;
let resources: Array<{ Type: string; Properties: Properties }>;

beforeAll(() => {
  const app = new App({
    context: { ...FEATURE_FLAGS, "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
  const stack = new StytchApiStack(app, "Parity", {
    projectId: "project-test-11111111-2222-3333-4444-555555555555",
    allowedOrigins: [APP_ORIGIN],
  });
  resources = Object.values(
    Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties: Properties }>,
  );
});

/** `{ "gatewayresponse.header.Retry-After": "'5'" }` → `{ "retry-after": "5" }` */
function headersOf(parameters: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(parameters).map(([name, value]) => [
      name.slice(prefix.length).toLowerCase(),
      value.replace(/^'|'$/g, ""),
    ]),
  );
}

const event = (): APIGatewayRequestAuthorizerEvent =>
  requestAuthorizerEvent(
    { method: "GET", path: "/me" },
    {
      method: "GET",
      path: "/me",
      searchParams: new URLSearchParams(),
      rawHeaders: ["Origin", APP_ORIGIN],
      body: Buffer.alloc(0),
      sourceIp: "127.0.0.1",
      requestId: "r",
      receivedAt: 0,
    },
  );

/** What the local gateway answers an allowed origin when the authorizer behaves like this. */
async function localAnswer(authorizer: AuthorizerFunction) {
  const outcome = await authorize(authorizer, event());
  if (outcome.kind !== "reject") throw new Error("expected the gateway to answer itself");
  return withGatewayCors({ ...outcome.response, body: Buffer.from(outcome.response.body) }, APP_ORIGIN, [APP_ORIGIN]);
}

const deny = async () => ({
  principalId: "m",
  policyDocument: {
    Version: "2012-10-17",
    Statement: [{ Action: "execute-api:Invoke", Effect: "Deny", Resource: "*" }],
  },
  context: { reason: "step_up_required" },
});
/** What API Gateway makes of a gateway response template: `$context.authorizer.<key>` replaced by the answer's value. */
const CONTEXT_OF_DENY = { reason: "step_up_required" };
function substituted(template: string): string {
  return template.replace(/\$context\.authorizer\.([A-Za-z_]+)/g, (_, key: string) =>
    String((CONTEXT_OF_DENY as Record<string, string>)[key] ?? ""),
  );
}
const LOCAL_BEHAVIOUR: Record<string, AuthorizerFunction> = {
  UNAUTHORIZED: async () => {
    throw new Error("Unauthorized");
  },
  ACCESS_DENIED: deny,
  AUTHORIZER_FAILURE: async () => {
    throw new Error("Authorizer upstream fault");
  },
  AUTHORIZER_CONFIGURATION_ERROR: async () => "not an authorizer result",
};

describe("the local gateway against the deployed stack's configuration", () => {
  for (const [type, authorizer] of Object.entries(LOCAL_BEHAVIOUR)) {
    it(`answers ${type} with the stack's status, headers and body`, async () => {
      const configured = resources.find(
        (r) => r.Type === "AWS::ApiGateway::GatewayResponse" && r.Properties.ResponseType === type,
      )!.Properties;
      const local = await localAnswer(authorizer);
      expect(String(local.statusCode)).toBe(configured.StatusCode);
      expect(local.headers).toMatchObject(headersOf(configured.ResponseParameters, "gatewayresponse.header."));
      expect(JSON.parse(local.body.toString())).toEqual(
        JSON.parse(substituted(configured.ResponseTemplates["application/json"])),
      );
    });
  }

  it("answers a preflight from the allowed origin with every header of the stack's preflight methods", () => {
    const preflights = resources.filter(
      (r) => r.Type === "AWS::ApiGateway::Method" && r.Properties.HttpMethod === "OPTIONS",
    );
    expect(preflights.length).toBeGreaterThan(0);
    const local = preflightResponse(APP_ORIGIN, [APP_ORIGIN], "GET, OPTIONS");
    for (const method of preflights) {
      const [integrationResponse] = method.Properties.Integration.IntegrationResponses;
      expect(String(local.statusCode)).toBe(integrationResponse.StatusCode);
      expect(local.headers).toMatchObject(headersOf(integrationResponse.ResponseParameters, "method.response.header."));
    }
  });
});
