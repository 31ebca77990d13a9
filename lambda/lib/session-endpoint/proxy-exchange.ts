// The API Gateway proxy side of the session endpoints (refresh, organization switch): the event of either
// payload version read into one request, and the answer written back in the event's own version.

import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
} from "aws-lambda";
import { requestOrigin } from "../response/cors";

/** REST (v1) or HTTP API (v2) proxy event. */
export type SessionEndpointEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;
/** The matching proxy result. */
export type SessionEndpointResult = APIGatewayProxyResult | APIGatewayProxyStructuredResultV2;

/** The normalised request, whatever the event version. */
export interface EndpointRequest {
  /** Upper case. */
  readonly method: string;
  readonly origin: string | undefined;
  /** The body as text (base64 decoded). */
  readonly body: string | undefined;
  readonly v2: boolean;
  readonly event: SessionEndpointEvent;
}

/** Reads the method, `Origin` and body of either event version. */
export function readEndpointRequest(event: SessionEndpointEvent): EndpointRequest {
  const v2 = (event as APIGatewayProxyEventV2).version === "2.0";
  const method =
    (v2
      ? (event as APIGatewayProxyEventV2).requestContext?.http?.method
      : (event as APIGatewayProxyEvent).httpMethod) ?? "";
  const origin = requestOrigin(event.headers);
  let body = event.body ?? undefined;
  if (body !== undefined && event.isBase64Encoded) body = Buffer.from(body, "base64").toString("utf8");
  return { method: method.toUpperCase(), origin, body, v2, event };
}

/**
 * The answer, never cached (`Cache-Control: no-store`), with a JSON body if there is one, and the Set-Cookie values
 * where the event's version wants them: `cookies` (v2) or `multiValueHeaders` (v1).
 */
export function endpointResult(
  request: EndpointRequest,
  statusCode: number,
  body: unknown,
  headers: Record<string, string>,
  cookies?: readonly string[],
): SessionEndpointResult {
  const allHeaders: Record<string, string> = { "cache-control": "no-store", ...headers };
  if (body !== undefined) allHeaders["content-type"] = "application/json";
  const text = body === undefined ? "" : JSON.stringify(body);
  if (request.v2)
    return { statusCode, headers: allHeaders, body: text, ...(cookies?.length ? { cookies: [...cookies] } : {}) };
  return {
    statusCode,
    headers: allHeaders,
    body: text,
    ...(cookies?.length ? { multiValueHeaders: { "Set-Cookie": [...cookies] } } : {}),
  };
}
