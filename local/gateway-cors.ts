// CORS as the deployed REST API does it (infra/demo/stytch-api-stack.ts): the gateway answers preflights itself
// (CDK's defaultCorsPreflightOptions: a MOCK OPTIONS method on every resource), and its own responses
// (401/403/503 from the authorizer, 404/405/413/502) carry credentialed CORS headers through gateway
// responses, so that a browser app can read them instead of reporting a network error. Responses of the
// route handlers are left alone: REST APIs leave CORS on integration responses to the function.

import { CORS_PREFLIGHT } from "../infra/demo/routes";
import { corsHeadersFor } from "../lambda/lib/response/cors";
import type { HttpResponse } from "./proxy-response";

/** Methods and headers a preflight allows, and for how long: the stack's CORS options. */
const PREFLIGHT_HEADERS = Object.freeze({
  "access-control-allow-methods": CORS_PREFLIGHT.allowMethods.join(","),
  "access-control-allow-headers": CORS_PREFLIGHT.allowHeaders.join(","),
  "access-control-max-age": String(CORS_PREFLIGHT.maxAgeSeconds),
});

/**
 * The gateway's answer to `OPTIONS`: 204, with the allowed methods and headers for an allowed origin.
 * (The deployed MOCK method names its first allowed origin to any other origin; leaving the header out is
 * what a browser sees the same way: the preflight fails.)
 */
export function preflightResponse(
  origin: string | undefined,
  allowedOrigins: readonly string[],
  allow: string,
): HttpResponse {
  const cors = corsHeadersFor(origin, allowedOrigins);
  const allowed = "access-control-allow-origin" in cors;
  return { statusCode: 204, headers: { allow, ...cors, ...(allowed ? PREFLIGHT_HEADERS : {}) }, body: Buffer.alloc(0) };
}

/** The response with the gateway's CORS headers added (for responses the gateway itself produces). */
export function withGatewayCors(
  response: HttpResponse,
  origin: string | undefined,
  allowedOrigins: readonly string[],
): HttpResponse {
  return { ...response, headers: { ...response.headers, ...corsHeadersFor(origin, allowedOrigins) } };
}
