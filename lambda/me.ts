// The example downstream handler behind the authorizer: it answers with the calling member, read from
// the authorizer context with getMemberContext(). It does no verification of its own: API Gateway only
// invokes it after the authorizer allowed the request.

import type { APIGatewayProxyEvent, APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyResult } from "aws-lambda";
import { getMemberContext, MissingMemberContextError } from "./member-context";

/** `GET /me`: the member as JSON, for REST (v1) and HTTP API (v2) events. */
export async function handler(
  event: APIGatewayProxyEvent | APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, unknown>>,
): Promise<APIGatewayProxyResult> {
  try {
    const member = getMemberContext(event);
    return json(200, { member });
  } catch (error) {
    // Only reachable when the route was deployed without the authorizer: a server-side mistake.
    if (error instanceof MissingMemberContextError) return json(500, { message: "route is not behind the Stytch authorizer" });
    throw error;
  }
}

function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify(body) };
}
