// Type-level tests of getMemberContext: a downstream handler of every event type users write
// compiles, and events that can never carry the Stytch context do not. `npm test` type-checks this
// file against the source; the consumer test compiles it again against the installed package
// (it rewrites the import below to the package name). Nothing here runs.

import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyHandler,
  APIGatewayProxyHandlerV2,
  APIGatewayProxyHandlerV2WithLambdaAuthorizer,
  APIGatewayProxyResult,
  APIGatewayProxyResultV2,
  SQSEvent,
} from "aws-lambda";
import { getMemberContext, hasRole, type MemberSession } from "../../lambda/index";

// REST API (and HTTP API payload 1.0) proxy events.
export const restHandler: APIGatewayProxyHandler = async (event) => {
  const member: MemberSession = getMemberContext(event);
  return { statusCode: hasRole(member, "admin") ? 200 : 403, body: member.organizationSlug };
};

export async function restFunction(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return { statusCode: 200, body: getMemberContext(event).memberId };
}

// HTTP API payload 2.0, the plain event type most handlers use.
export const httpHandler: APIGatewayProxyHandlerV2 = async (event) => ({
  statusCode: 200,
  body: getMemberContext(event).email ?? "",
});

export async function httpFunction(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  return { statusCode: 200, body: getMemberContext(event).roles.join(",") };
}

// HTTP API payload 2.0 with the Lambda authorizer's context typed by the user.
type StytchContext = { member_id: string; organization_id: string };
export const typedHttpHandler: APIGatewayProxyHandlerV2WithLambdaAuthorizer<StytchContext> = async (event) => {
  const fromApiGateway: string = event.requestContext.authorizer.lambda.member_id;
  return { statusCode: fromApiGateway === getMemberContext(event).memberId ? 200 : 500 };
};

export function withLooseContext(event: APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, unknown>>): string {
  return getMemberContext(event).sessionExpiresAt;
}

// Events that can never carry this authorizer's context are compile errors.
export function refused(
  jwt: APIGatewayProxyEventV2WithJWTAuthorizer,
  iam: APIGatewayProxyEventV2WithIAMAuthorizer,
  sqs: SQSEvent,
): void {
  // @ts-expect-error a JWT authorizer's event has no Stytch member context
  getMemberContext(jwt);
  // @ts-expect-error an IAM-authorized event has no Stytch member context
  getMemberContext(iam);
  // @ts-expect-error not an API Gateway event
  getMemberContext(sqs);
  // @ts-expect-error not an event
  getMemberContext("member-123");
}
