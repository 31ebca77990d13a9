// The few lines every minimal reference authorizer needs: read the bearer token, and build the stage-wide
// Allow. Kept apart from lambda/ on purpose, so the reference bundles contain none of our code.

import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from "aws-lambda";

/** The bearer token of a REST REQUEST authorizer event, or `undefined`. */
export function bearerToken(event: Pick<APIGatewayRequestAuthorizerEvent, "headers">): string | undefined {
  const header = event.headers?.Authorization ?? event.headers?.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

/** An Allow for the whole stage of `methodArn` (`…/{apiId}/{stage}/*\/*`), with a flat context. */
export function stageAuthorizerResponse(
  principalId: string,
  methodArn: string,
  context: Record<string, string>,
): APIGatewayAuthorizerResult {
  const stage = methodArn.split("/").slice(0, 2).join("/");
  return {
    principalId,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: `${stage}/*/*` }],
    },
    context,
  };
}
