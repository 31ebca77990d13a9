/**
 * The gateway responses that give a REST API the authorizer's status table.
 *
 * @module
 */
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import { RETRY_AFTER_SECONDS, UNAVAILABLE_BODY } from "../lambda/lib/response/unavailable";

/** Seconds a client should wait before retrying after an authorizer fault (REST 503 `Retry-After`). */
export { RETRY_AFTER_SECONDS };

/**
 * The `reason` of the 403 body: the authorizer's reason, which it puts in the context of each Deny it answers for
 * one request (`permission_denied`, `tenancy_mismatch`, `step_up_required`, `impersonation_refused`), so that a
 * frontend can tell "step up" from "not permitted". Gateway response templates are not VTL: API Gateway only
 * substitutes the variable, so a 403 of a cached answer (whose context names no reason) reads `""`.
 */
export const ACCESS_DENIED_REASON = "$context.authorizer.reason";

/**
 * Adds the gateway responses that give a REST API the authorizer's status table: 401 and 403 with
 * JSON bodies (the 403's reason from the authorizer, {@link ACCESS_DENIED_REASON}), and 503 with
 * `Retry-After` for authorizer faults (an outage must never read as "logged out"), all with CORS headers
 * so that browsers can read them.
 * @param challenge the 401's `WWW-Authenticate`: `Bearer`, or with `resource_metadata="…"` for agents (RFC 9728)
 */
export function addGatewayResponses(
  restApi: apigateway.IRestApi,
  allowOrigin: string | undefined,
  challenge = "Bearer",
): void {
  // Another Stytch authorizer on the same API already added them (API Gateway allows one per type).
  if (restApi.node.tryFindChild("StytchUnauthorized")) return;
  const origin = allowOrigin ?? corsOriginOf(restApi) ?? "*";
  const cors: Record<string, string> =
    origin === "*"
      ? { "Access-Control-Allow-Origin": "'*'" }
      : {
          "Access-Control-Allow-Origin": `'${origin}'`,
          "Access-Control-Allow-Credentials": "'true'",
          Vary: "'Origin'",
        };
  const json = (message: string, reason: string) => ({ "application/json": JSON.stringify({ message, reason }) });
  const responses: Array<[string, apigateway.ResponseType, string, Record<string, string>, string, string]> = [
    [
      "Unauthorized",
      apigateway.ResponseType.UNAUTHORIZED,
      "401",
      { "WWW-Authenticate": `'${challenge}'` },
      "Unauthorized",
      "unauthorized",
    ],
    ["AccessDenied", apigateway.ResponseType.ACCESS_DENIED, "403", {}, "Forbidden", ACCESS_DENIED_REASON],
  ];
  for (const [id, type] of [
    ["AuthorizerFailure", apigateway.ResponseType.AUTHORIZER_FAILURE],
    ["AuthorizerConfigurationError", apigateway.ResponseType.AUTHORIZER_CONFIGURATION_ERROR],
  ] as const) {
    responses.push([
      id,
      type,
      "503",
      { "Retry-After": `'${RETRY_AFTER_SECONDS}'` },
      UNAVAILABLE_BODY.message,
      UNAVAILABLE_BODY.reason,
    ]);
  }
  for (const [id, type, statusCode, headers, message, reason] of responses) {
    new apigateway.GatewayResponse(restApi, `Stytch${id}`, {
      restApi,
      type,
      statusCode,
      responseHeaders: { ...cors, ...headers, "Cache-Control": "'no-store'" },
      templates: json(message, reason),
    });
  }
}

/** The first origin of a REST API's default CORS preflight options, if it has any. */
function corsOriginOf(restApi: apigateway.IRestApi): string | undefined {
  try {
    return restApi.root.defaultCorsPreflightOptions?.allowOrigins[0];
  } catch {
    // An API imported with RestApi.fromRestApiId has no root resource to ask.
    return undefined;
  }
}
