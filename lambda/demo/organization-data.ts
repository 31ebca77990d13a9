// The demo handler behind the permissioned organization routes (documents and billing). It checks nothing
// itself: with a route table, the authorizer has already decided that this caller may call this route in
// this organization (tenancy and RBAC, or a Connected App's scopes), so the handler only reads the caller and
// answers. The documents route is open to Connected Apps too: it reads the caller with getCallerContext.

import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyResult,
} from "aws-lambda";
import type { ActingMember } from "../lib/callers/caller";
import { getCallerContext } from "../lib/response/caller-context";
import { corsHeadersFor, downstreamAllowedOrigins, requestOrigin } from "../lib/response/cors";
import { MissingMemberContextError } from "../lib/response/member-context";

// Like /me: a browser app on an allowed origin needs these headers to read a credentialed answer.
const ALLOWED_ORIGINS = downstreamAllowedOrigins();

type Event = APIGatewayProxyEvent | APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, unknown>>;

/** `GET|POST /orgs/{organization_id}/documents`, `GET /orgs/{organization_id}/billing`, `GET /by-slug/{organization_slug}/documents`. */
export async function handler(event: Event): Promise<APIGatewayProxyResult> {
  const cors = corsHeadersFor(requestOrigin(event.headers), ALLOWED_ORIGINS);
  let member: ActingMember;
  let agent: string | undefined;
  try {
    const caller = getCallerContext(event);
    // A member, or the member a Connected App acts for: tenancy is theirs either way.
    if (caller.type === "m2m") return json(500, { message: "route does not expect M2M clients" }, cors);
    member = caller.member;
    if (caller.type === "connected_app") agent = caller.clientId;
  } catch (error) {
    // Only reachable when the route was deployed without the authorizer: a server-side mistake.
    if (error instanceof MissingMemberContextError)
      return json(500, { message: "route is not behind the Stytch authorizer" }, cors);
    throw error;
  }
  const [method, resource] = routeOf(event);
  const organization = {
    organization_id: member.organizationId,
    organization_slug: member.organizationSlug,
    ...(agent ? { read_by_connected_app: agent } : {}),
  };
  if (resource.endsWith("/billing"))
    return json(200, { organization, billing: { plan: "team", seats: 25, next_invoice: "2027-01-01" } }, cors);
  if (method === "POST")
    return json(
      201,
      { organization, document: { id: "doc-3", title: "New document", created_by: member.memberId } },
      cors,
    );
  return json(
    200,
    {
      organization,
      documents: [
        { id: "doc-1", title: "Quarterly plan" },
        { id: "doc-2", title: "Security review" },
      ],
    },
    cors,
  );
}

/** The method and the route's resource path, for REST (v1) and HTTP API (v2) events. */
function routeOf(event: Event): [string, string] {
  if ("routeKey" in event && typeof event.routeKey === "string") {
    const [method = "", resource = ""] = event.routeKey.split(" ");
    return [method, resource];
  }
  const rest = event as APIGatewayProxyEvent;
  return [rest.httpMethod, rest.resource];
}

function json(statusCode: number, body: unknown, headers: Record<string, string>): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
    body: JSON.stringify(body),
  };
}
