// Credentialed CORS for the handlers that answer browsers directly (REST APIs leave CORS headers on
// real responses to the integration): which origin a request comes from, and the headers that let
// exactly that origin read a credentialed answer.

/** The request's `Origin` header (any casing), if any. */
export function requestOrigin(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
): string | undefined {
  let origin: string | undefined;
  for (const name in headers ?? {}) if (name.toLowerCase() === "origin") origin = headers![name] ?? undefined;
  return origin;
}

/**
 * The headers that let `origin`, and only it, read a credentialed response. `Retry-After` is exposed because
 * it is not a CORS-safelisted response header: without this, a page could see a 503 but not when to retry.
 */
export function credentialedCorsHeaders(origin: string): Record<string, string> {
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-credentials": "true",
    "access-control-expose-headers": "Retry-After",
    vary: "Origin",
  };
}

/** Credentialed CORS headers when `origin` is in the allow-list (exact match); otherwise only `Vary: Origin`. */
export function corsHeadersFor(origin: string | undefined, allowedOrigins: readonly string[]): Record<string, string> {
  return origin !== undefined && allowedOrigins.includes(origin) ? credentialedCorsHeaders(origin) : { vary: "Origin" };
}

/**
 * The origins a downstream handler answers with credentialed CORS: `CORS_ALLOWED_ORIGINS`, comma-separated.
 * REST APIs leave CORS on real responses to the integration, so such handlers must add the headers themselves.
 */
export function downstreamAllowedOrigins(
  env: Readonly<Record<string, string | undefined>> = process.env,
): readonly string[] {
  return originList(env.CORS_ALLOWED_ORIGINS);
}

/**
 * The entries of a comma-separated origin list, trimmed, without empty ones (empty or unset: none). Taken as
 * written: the refresh endpoint's configuration (config.ts) also checks that each is an exact origin.
 */
export function originList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
}
