/**
 * Serving the RFC 9728 protected-resource metadata on a REST API (the document itself, without CDK, is in
 * protected-resource-document.ts, which `npm start` serves too).
 *
 * @module
 */
import { Lazy, Stack } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import type { Construct } from "constructs";
import { acknowledgeFinding } from "./lambda-defaults";
import {
  PROTECTED_RESOURCE_METADATA_PATH,
  protectedResourceDocument,
  type StytchProtectedResourceOptions,
} from "./protected-resource-document";

/**
 * Serves the metadata document on a REST API: `GET /.well-known/oauth-protected-resource`, a mock integration
 * without authorization (agents read it before they have a token), `Cache-Control: max-age=300`.
 * @param scopes resolved when the app synthesizes (routes declared later count)
 * @returns the metadata document's URL
 * @throws Error for an imported REST API without `options.resource`
 */
export function serveProtectedResourceMetadata(
  restApi: apigateway.IRestApi,
  options: StytchProtectedResourceOptions,
  scopes: () => readonly string[] | undefined,
): string {
  const resource = options.resource?.replace(/\/+$/, "") ?? stageUrl(restApi);
  const document = Lazy.string({
    produce: () => JSON.stringify(protectedResourceDocument(resource, options, options.scopes ?? scopes())),
  });
  const wellKnown = restApi.root.resourceForPath(PROTECTED_RESOURCE_METADATA_PATH);
  const method = wellKnown.addMethod(
    "GET",
    new apigateway.MockIntegration({
      requestTemplates: { "application/json": '{"statusCode": 200}' },
      passthroughBehavior: apigateway.PassthroughBehavior.NEVER,
      integrationResponses: [
        {
          statusCode: "200",
          responseTemplates: { "application/json": document },
          responseParameters: {
            "method.response.header.Content-Type": "'application/json'",
            "method.response.header.Cache-Control": "'max-age=300'",
            "method.response.header.Access-Control-Allow-Origin": "'*'",
          },
        },
      ],
    }),
    {
      authorizationType: apigateway.AuthorizationType.NONE,
      methodResponses: [
        {
          statusCode: "200",
          responseParameters: {
            "method.response.header.Content-Type": true,
            "method.response.header.Cache-Control": true,
            "method.response.header.Access-Control-Allow-Origin": true,
          },
        },
      ],
    },
  );
  const reason =
    "RFC 9728 protected-resource metadata: public by definition (agents read it to learn how to get a token); a static mock response";
  acknowledgeFinding(method, { id: "AwsSolutions-APIG4", reason });
  acknowledgeFinding(method, { id: "AwsSolutions-COG4", reason });
  return `${resource}${PROTECTED_RESOURCE_METADATA_PATH}`;
}

/**
 * `https://{api id}.execute-api.{region}.{suffix}/{stage}` of a REST API with the deployment stage CDK made for it.
 * The stage's name is taken as written (its construct id), never as a reference: the document and the 401 are part
 * of the deployment, and a reference to the stage would make the deployment depend on itself.
 */
function stageUrl(restApi: apigateway.IRestApi): string {
  let stageName: string | undefined;
  try {
    if (restApi instanceof apigateway.RestApiBase)
      stageName = /^DeploymentStage\.(.+)$/.exec(restApi.deploymentStage.node.id)?.[1];
  } catch {
    // `deploy: false`: no stage to name.
  }
  if (stageName === undefined) {
    throw new Error(
      `${(restApi as unknown as Construct).node?.path ?? "the REST API"}: protectedResource.resource is required for a REST API without the deployment stage CDK creates (e.g. an imported one)`,
    );
  }
  const stack = Stack.of(restApi);
  return `https://${restApi.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${stageName}`;
}
