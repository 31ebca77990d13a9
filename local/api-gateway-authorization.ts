// Runs a Lambda authorizer and honours its answer the way the deployed REST API does: the exact
// `Unauthorized` rejection is a 401, any other failure a 503, and an Allow only counts once its IAM policy
// has been evaluated against the request's method ARN. The response bodies and headers are the deployed
// gateway responses StytchAuthorizer adds to the REST API (infra/gateway-responses.ts), so clients see the
// same answers locally.

import type { APIGatewayRequestAuthorizerEvent, Context } from "aws-lambda";
import { RETRY_AFTER_SECONDS, UNAVAILABLE_BODY } from "../lambda/lib/response/unavailable";
import { ContextShapeError, type ProxyAuthorizerContext, stringifyContext } from "./api-gateway-events";
import { evaluateIamPolicy, MalformedIamPolicyError } from "./iam-policy-evaluator";

/** A response produced by the gateway itself (the handler never runs). */
export interface GatewayResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The verdict of the gateway on one request. `note` says why, for the request log (never a credential). */
export type AuthorizationOutcome =
  | { readonly kind: "allow"; readonly authorizer: ProxyAuthorizerContext; readonly note?: string }
  | { readonly kind: "reject"; readonly response: GatewayResponse; readonly note: string };

/** `Retry-After` of the 503 when the authorizer fails: StytchAuthorizer's, the one 503 contract. */
export const AUTHORIZER_FAILURE_RETRY_AFTER_SECONDS = RETRY_AFTER_SECONDS;

/** The authorizer, as the gateway sees it: a Lambda function that resolves with a result or rejects. */
export type AuthorizerFunction = (event: APIGatewayRequestAuthorizerEvent, context?: Context) => Promise<unknown>;

/**
 * Invokes the authorizer for a request and decides, as the deployed API would, whether the route's handler may run.
 *
 * - rejects with exactly `Unauthorized` → 401 (the stack's UNAUTHORIZED gateway response);
 * - rejects with anything else → 503 with `Retry-After` (the stack maps AUTHORIZER_FAILURE there, so that an
 *   outage never reads as a logout);
 * - IAM policy: explicit Deny → 403, an Allow covering the method ARN → allow, otherwise (implicit deny) → 403;
 * - HTTP API simple response `{isAuthorized}` → allow or 403;
 * - malformed output, or a context value that is an object or an array → AWS's AUTHORIZER_CONFIGURATION_ERROR,
 *   which the stack also answers with 503 (the request log names the cause).
 */
export async function authorize(
  authorizer: AuthorizerFunction,
  event: APIGatewayRequestAuthorizerEvent,
  context?: Context,
): Promise<AuthorizationOutcome> {
  const started = performance.now();
  let result: unknown;
  try {
    result = await authorizer(event, context);
  } catch (error) {
    if (error instanceof Error && error.message === "Unauthorized") return reject(UNAUTHORIZED, "unauthorized");
    return reject(AUTHORIZER_FAILURE, "authorizer_failure");
  }
  const integrationLatency = Math.round(performance.now() - started);
  if (!isObject(result)) return reject(CONFIGURATION_ERROR, "malformed_authorizer_response");
  try {
    if (typeof result.isAuthorized === "boolean") {
      if (!result.isAuthorized) return reject(forbidden(undefined), "not_authorized");
      return {
        kind: "allow",
        authorizer: { ...stringifyContext(result.context), principalId: "", integrationLatency },
        note: "simple_response",
      };
    }
    if (typeof result.principalId !== "string" || result.principalId === "")
      return reject(CONFIGURATION_ERROR, "no_principal_id");
    const decision = evaluateIamPolicy(result.policyDocument, event.methodArn);
    if (decision === "explicit_deny") return reject(forbidden(result.context), "policy_explicit_deny");
    if (decision === "implicit_deny") return reject(forbidden(result.context), "policy_implicit_deny");
    // principalId last, so a context key of the same name cannot override it (API Gateway's own value wins).
    return {
      kind: "allow",
      authorizer: { ...stringifyContext(result.context), principalId: result.principalId, integrationLatency },
    };
  } catch (error) {
    if (error instanceof MalformedIamPolicyError) return reject(CONFIGURATION_ERROR, "malformed_policy");
    if (error instanceof ContextShapeError) return reject(CONFIGURATION_ERROR, "bad_context_value");
    throw error;
  }
}

function gatewayResponse(
  statusCode: number,
  errorType: string,
  body: unknown,
  extra: Record<string, string> = {},
): GatewayResponse {
  return Object.freeze({
    statusCode,
    headers: Object.freeze({ "content-type": "application/json", "x-amzn-ErrorType": errorType, ...extra }),
    body: JSON.stringify(body),
  });
}

// As StytchAuthorizer's gateway responses (infra/gateway-responses.ts); the CORS headers are added per request (local/gateway-cors.ts).
const UNAUTHORIZED = gatewayResponse(
  401,
  "UnauthorizedException",
  { message: "Unauthorized", reason: "unauthorized" },
  { "www-authenticate": "Bearer", "cache-control": "no-store" },
);
/**
 * The stack's ACCESS_DENIED response: it replaces both of AWS's texts (explicit and implicit deny) with one body,
 * whose `reason` is the authorizer's context `reason` (infra/gateway-responses.ts's `$context.authorizer.reason`):
 * API Gateway substitutes it as it is, and an absent key as `""`. An HTTP API has no gateway responses; its
 * refusal (`isAuthorized: false`) is rendered the same way here, without a reason, which is all it can carry.
 */
function forbidden(context: unknown): GatewayResponse {
  const reason = isObject(context) ? context.reason : undefined;
  return gatewayResponse(
    403,
    "AccessDeniedException",
    {
      message: "Forbidden",
      reason:
        typeof reason === "string" || typeof reason === "number" || typeof reason === "boolean" ? String(reason) : "",
    },
    { "cache-control": "no-store" },
  );
}
const unavailable = (errorType: string) =>
  gatewayResponse(503, errorType, UNAVAILABLE_BODY, {
    "retry-after": String(AUTHORIZER_FAILURE_RETRY_AFTER_SECONDS),
    "cache-control": "no-store",
  });
const AUTHORIZER_FAILURE = unavailable("AuthorizerFailureException");
const CONFIGURATION_ERROR = unavailable("AuthorizerConfigurationException");

function reject(response: GatewayResponse, note: string): AuthorizationOutcome {
  return { kind: "reject", response, note };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
