// Type-level tests of getMemberContext and getCallerContext: a downstream handler of every event type users write
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
import {
  type Caller,
  type ConnectedAppCaller,
  getCallerContext,
  getMemberContext,
  hasRole,
  type M2MCaller,
  type MemberSession,
} from "../../lambda/index";

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

// Routes open to machines: getCallerContext returns a discriminated union on `type`.
export const machineHandler: APIGatewayProxyHandlerV2 = async (event) => {
  const caller: Caller = getCallerContext(event);
  switch (caller.type) {
    case "member":
      return { statusCode: 200, body: caller.member.memberId };
    case "m2m": {
      const machine: M2MCaller = caller;
      return { statusCode: machine.scopes.includes("read:usage") ? 200 : 403, body: machine.clientId };
    }
    case "connected_app": {
      const app: ConnectedAppCaller = caller;
      return { statusCode: 200, body: `${app.clientId} for ${app.member.memberId} in ${app.member.organizationId}` };
    }
  }
};

export function restMachine(event: APIGatewayProxyEvent): string {
  const caller = getCallerContext(event);
  // @ts-expect-error only a Connected App acts for a member: narrow on `type` first
  const member: string = caller.member.memberId;
  return caller.type === "m2m" ? caller.tokenExpiresAt : member;
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
  // @ts-expect-error a JWT authorizer's event has no Stytch caller context
  getCallerContext(jwt);
}
