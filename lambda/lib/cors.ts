// Credentialed CORS for the handlers that answer browsers directly (REST APIs leave CORS headers on
// real responses to the integration): which origin a request comes from, and the headers that let
// exactly that origin read a credentialed answer.

/** The request's `Origin` header (any casing), if any. */
export function requestOrigin(headers: Readonly<Record<string, string | undefined>> | null | undefined): string | undefined {
  let origin: string | undefined;
  for (const name in headers ?? {}) if (name.toLowerCase() === "origin") origin = headers![name] ?? undefined;
  return origin;
}

/** The headers that let `origin`, and only it, read a credentialed response. */
export function credentialedCorsHeaders(origin: string): Record<string, string> {
  return { "access-control-allow-origin": origin, "access-control-allow-credentials": "true", vary: "Origin" };
}
