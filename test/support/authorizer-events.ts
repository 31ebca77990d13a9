// Builders for the four event shapes API Gateway sends to a Lambda authorizer, as documented in
// the API Gateway developer guide (see shared/reference/api-gateway-authorizers.md §C).

import type {
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewayTokenAuthorizerEvent,
} from "aws-lambda";

export const METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/me";
export const STAGE_RESOURCE = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*";
export const ROUTE_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/GET/me";

/** REST API TOKEN authorizer event. */
export function tokenEvent(authorizationToken: string, methodArn = METHOD_ARN): APIGatewayTokenAuthorizerEvent {
  return { type: "TOKEN", authorizationToken, methodArn };
}

/** REST API REQUEST authorizer event with the given headers (a Cookie header may be among them). */
export function restRequestEvent(
  headers: Record<string, string>,
  methodArn = METHOD_ARN,
): APIGatewayRequestAuthorizerEvent {
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) multiValueHeaders[name] = [value];
  return {
    type: "REQUEST",
    methodArn,
    resource: "/me",
    path: "/me",
    httpMethod: "GET",
    headers,
    multiValueHeaders,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayRequestAuthorizerEvent["requestContext"],
  };
}

/** HTTP API payload 1.0 event (REST-compatible, with `version: "1.0"`). */
export function httpV1Event(
  headers: Record<string, string>,
  methodArn = METHOD_ARN,
): APIGatewayRequestAuthorizerEvent & { version: "1.0" } {
  return { ...restRequestEvent(headers, methodArn), version: "1.0" } as APIGatewayRequestAuthorizerEvent & {
    version: "1.0";
  };
}

/** HTTP API payload 2.0 event: lower-case headers and a separate cookies array. */
export function httpV2Event(
  headers: Record<string, string>,
  cookies?: string[],
  routeArn = ROUTE_ARN,
): APIGatewayRequestAuthorizerEventV2 {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  // API Gateway omits `cookies` when the request has none, although @types/aws-lambda declares it required.
  return {
    version: "2.0",
    type: "REQUEST",
    routeArn,
    identitySource: [],
    routeKey: "GET /me",
    rawPath: "/me",
    rawQueryString: "",
    ...(cookies ? { cookies } : {}),
    headers: lower,
    requestContext: {} as APIGatewayRequestAuthorizerEventV2["requestContext"],
  } as APIGatewayRequestAuthorizerEventV2;
}
