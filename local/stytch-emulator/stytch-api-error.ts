// Stytch API errors: thrown by route handlers (and fault injection), answered in Stytch's error format.

/**
 * A Stytch API error, thrown inside handlers and turned into the error body of reference §3.1, or, for the public
 * OAuth endpoints (token, introspection), into RFC 6749's `error` / `error_description` shape, which Stytch's SDK
 * reads there (its `StytchError` takes either).
 */
export class StytchApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorType: string,
    message: string,
    readonly shape: "api" | "oauth" = "api",
  ) {
    super(message);
  }
}

/** An OAuth endpoint's error (RFC 6749 §5.2 names, e.g. `invalid_client`). */
export const oauthError = (statusCode: number, error: string, description: string): StytchApiError =>
  new StytchApiError(statusCode, error, description, "oauth");

/** The error body of reference §3.1 (or RFC 6749's for OAuth errors), answered with request ID `requestId`. */
export function stytchErrorBody(error: StytchApiError, requestId: string): string {
  // UNVERIFIED: the exact body of Stytch's OAuth errors; the SDK's StytchError reads these fields.
  if (error.shape === "oauth") {
    return JSON.stringify({
      status_code: error.statusCode,
      request_id: requestId,
      error: error.errorType,
      error_description: error.message,
      error_uri: `https://stytch.com/docs/api-reference/b2b/api/errors/${error.statusCode}#${error.errorType}`,
    });
  }
  return JSON.stringify({
    status_code: error.statusCode,
    request_id: requestId,
    error_type: error.errorType,
    error_message: error.message,
    error_url: `https://stytch.com/docs/api-reference/b2b/api/errors/${error.statusCode}#${error.errorType}`,
  });
}

/** Wrong or missing project credentials. */
export const unauthorizedCredentials = (): StytchApiError =>
  new StytchApiError(401, "unauthorized_credentials", "Unauthorized credentials.");

/** Stytch's generic 500, with its message unless another one is given (e.g. an emulator bug). */
export const internalServerError = (
  message = "Oops, something seems to have gone wrong, please reach out to support@stytch.com to let us know what went wrong.",
): StytchApiError => new StytchApiError(500, "internal_server_error", message);

/** A path no route serves, or a route called with the wrong method. */
// UNVERIFIED: error_type for an unknown route (or a known route with the wrong method).
export const routeNotFound = (method: string | undefined, pathname: string): StytchApiError =>
  new StytchApiError(404, "route_not_found", `Route ${method ?? "?"} ${pathname} not found.`);
