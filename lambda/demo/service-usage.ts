// The demo handler of the M2M route: a back end (an M2M client with the read:usage scope) reads usage across
// organizations. It checks nothing itself: the authorizer admitted only M2M callers whose scopes grant it, and the
// caller is read with getCallerContext, a discriminated union on `type`.

import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyResult,
} from "aws-lambda";
import { getCallerContext } from "../lib/response/caller-context";
import { MissingMemberContextError } from "../lib/response/member-context";

type Event = APIGatewayProxyEvent | APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, unknown>>;

/** `GET /service/usage`: usage per organization, and the client that asked. */
export async function handler(event: Event): Promise<APIGatewayProxyResult> {
  let caller: ReturnType<typeof getCallerContext>;
  try {
    caller = getCallerContext(event);
  } catch (error) {
    // Only reachable when the route was deployed without the authorizer: a server-side mistake.
    if (error instanceof MissingMemberContextError)
      return json(500, { message: "route is not behind the Stytch authorizer" });
    throw error;
  }
  // The route table admits M2M clients only; anything else here is a deployment mistake.
  if (caller.type !== "m2m") return json(500, { message: "route expects an M2M client" });
  return json(200, {
    client_id: caller.clientId,
    scopes: caller.scopes,
    usage: [
      { organization_slug: "acme", requests: 1_204 },
      { organization_slug: "globex", requests: 87 },
    ],
  });
}

function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
    body: JSON.stringify(body),
  };
}
