/**
 * The gateway responses that give a REST API the authorizer's status table.
 *
 * @module
 */
import * as apigateway from "aws-cdk-lib/aws-apigateway";

/** Seconds a client should wait before retrying after an authorizer fault (REST 503 `Retry-After`). */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Adds the gateway responses that give a REST API the authorizer's status table: 401 and 403 with
 * JSON bodies, and 503 with `Retry-After` for authorizer faults (an outage must never read as
 * "logged out"), all with CORS headers so that browsers can read them.
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
    ["AccessDenied", apigateway.ResponseType.ACCESS_DENIED, "403", {}, "Forbidden", "forbidden"],
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
      "Service Unavailable",
      "authorizer_unavailable",
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
