// The example downstream handler behind the authorizer: it answers with the calling member, read from
// the authorizer context with getMemberContext(). It does no verification of its own: API Gateway only
// invokes it after the authorizer allowed the request.

import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyResult,
} from "aws-lambda";
import { corsHeadersFor, downstreamAllowedOrigins, requestOrigin } from "../lib/response/cors";
import { getMemberContext, MissingMemberContextError } from "../lib/response/member-context";

// REST APIs leave CORS on actual responses to the integration (HTTP APIs add the headers themselves),
// so a browser app on an allowed origin needs them from here to read the answer of a credentialed call.
const ALLOWED_ORIGINS = downstreamAllowedOrigins();

/** `GET /me`: the member as JSON, for REST (v1) and HTTP API (v2) events. */
export async function handler(
  event: APIGatewayProxyEvent | APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, unknown>>,
): Promise<APIGatewayProxyResult> {
  const cors = corsHeadersFor(requestOrigin(event.headers), ALLOWED_ORIGINS);
  try {
    const member = getMemberContext(event);
    return json(200, { member }, cors);
  } catch (error) {
    // Only reachable when the route was deployed without the authorizer: a server-side mistake.
    if (error instanceof MissingMemberContextError)
      return json(500, { message: "route is not behind the Stytch authorizer" }, cors);
    throw error;
  }
}

function json(statusCode: number, body: unknown, headers: Record<string, string>): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
    body: JSON.stringify(body),
  };
}
