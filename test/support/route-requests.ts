// Requests to the routes of a route table, as API Gateway sends them to the authorizer, and the status the
// client sees from the answer: for the tests that run the authorizer against a table.

import type { APIGatewayRequestAuthorizerEvent, APIGatewayRequestAuthorizerEventV2 } from "aws-lambda";
import { type AuthorizerHandler, UNAUTHORIZED } from "../../lambda/authorizer";
import { evaluateIamPolicy } from "../../local/iam-policy-evaluator";
import { restRequestEvent } from "./authorizer-events";

/** The REST API stage every REST event is sent from. */
export const REST_STAGE_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
/** The HTTP API stage every HTTP API event is sent from. */
export const HTTP_STAGE_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default";

/** What a client sees. */
export type Status = 200 | 401 | 403 | 503;

/** A REST REQUEST event for a concrete request to a route of the table (`routeKey` such as `GET /orgs/{organization_id}`). */
export function restRouteEvent(
  token: string,
  routeKey: string,
  pathParameters: Record<string, string> = {},
): APIGatewayRequestAuthorizerEvent {
  const [method, resource] = routeKey.split(" ") as [string, string];
  const path = resource.replace(/\{(\w+)\}/g, (_, name: string) => pathParameters[name]!);
  return {
    ...restRequestEvent({ Authorization: `Bearer ${token}` }, `${REST_STAGE_ARN}/${method}${path}`),
    httpMethod: method,
    resource,
    path,
    pathParameters,
  };
}

/** An HTTP API payload 2.0 event for a concrete request to a route of the table. */
export function httpRouteEvent(
  token: string,
  routeKey: string,
  pathParameters: Record<string, string> = {},
): APIGatewayRequestAuthorizerEventV2 {
  const [method, resource] = routeKey.split(" ") as [string, string];
  const path = resource.replace(/\{(\w+)\}/g, (_, name: string) => pathParameters[name]!);
  return {
    version: "2.0",
    type: "REQUEST",
    routeArn: `${HTTP_STAGE_ARN}/${method}${path}`,
    identitySource: [],
    routeKey,
    rawPath: path,
    rawQueryString: "",
    headers: { authorization: `Bearer ${token}` },
    pathParameters,
    requestContext: {} as APIGatewayRequestAuthorizerEventV2["requestContext"],
  } as unknown as APIGatewayRequestAuthorizerEventV2;
}

/** What the client sees from a REST API: 200 when the IAM policy covers the request's ARN. */
export async function restStatus(handler: AuthorizerHandler, event: APIGatewayRequestAuthorizerEvent): Promise<Status> {
  try {
    const response = (await handler(event)) as { policyDocument: unknown };
    return evaluateIamPolicy(response.policyDocument, event.methodArn) === "allow" ? 200 : 403;
  } catch (error) {
    return (error as Error).message === UNAUTHORIZED ? 401 : 503;
  }
}

/** What the client sees from an HTTP API in simple mode. */
export async function httpStatus(
  handler: AuthorizerHandler,
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<Status> {
  try {
    return ((await handler(event)) as { isAuthorized: boolean }).isAuthorized ? 200 : 403;
  } catch (error) {
    return (error as Error).message === UNAUTHORIZED ? 401 : 503;
  }
}
