// Reading request bodies the way Stytch's API does: JSON objects, optional string fields, and the errors
// Stytch answers for a body it cannot read.

import type { IncomingMessage } from "node:http";
import { isJsonObject, type JsonObject } from "./json";
import { StytchApiError } from "./stytch-api-error";

/** The whole request body as UTF-8; rejects when the client aborts while sending it. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
    req.on("aborted", () => reject(new Error("request aborted")));
  });
}

/** A JSON request body as an object; 400 `invalid_request` for anything else. */
export function parseJsonBody(raw: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // UNVERIFIED: error_type for a body that is not JSON (or, below, not a JSON object).
    throw new StytchApiError(400, "invalid_request", "Request body must be valid JSON.");
  }
  if (!isJsonObject(value)) throw new StytchApiError(400, "invalid_request", "Request body must be a JSON object.");
  return value;
}

/** The body parsed as JSON, or the raw string if it is not JSON (for recording what was received). */
export function parseJsonOrRaw(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * Reads an optional string field. Stytch's backend is written in Go, where an absent string and `""` are the same
 * zero value, so `""` and `null` count as absent. UNVERIFIED, but it matches how Go JSON decoding behaves.
 */
export function optionalString(body: JsonObject, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null || value === "") return undefined;
  // UNVERIFIED: error_type for a field of the wrong JSON type.
  if (typeof value !== "string") throw new StytchApiError(400, "invalid_request", `${field} must be a string.`);
  return value;
}

/**
 * The parameters of an OAuth request body: `application/x-www-form-urlencoded` as RFC 6749 (and Stytch's SDK)
 * sends them, or a JSON object as Stytch's API reference shows them. A repeated form field: the first value.
 * UNVERIFIED: that Stytch accepts both encodings on every public OAuth endpoint (its docs show both).
 */
export function parseOAuthParams(raw: string): Record<string, string | undefined> {
  if (raw.trimStart().startsWith("{")) {
    const body = parseJsonBody(raw);
    const params: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(body)) {
      if (typeof value === "string") params[name] = value;
      // UNVERIFIED: error_type for a non-string OAuth parameter.
      else if (value !== null && value !== undefined)
        throw new StytchApiError(400, "invalid_request", `${name} must be a string.`, "oauth");
    }
    return params;
  }
  const params: Record<string, string | undefined> = {};
  for (const [name, value] of new URLSearchParams(raw)) params[name] ??= value;
  return params;
}

/**
 * OAuth client credentials: HTTP Basic (`client_id:client_secret`, form-encoded as RFC 6749 §2.3.1 says) or the
 * body's `client_id` and `client_secret`.
 */
export function clientCredentials(
  authorization: string | undefined,
  params: Record<string, string | undefined>,
): { clientId: string | undefined; clientSecret: string | undefined } {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? "");
  if (basic) {
    const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      try {
        return {
          clientId: decodeURIComponent(decoded.slice(0, colon)),
          clientSecret: decodeURIComponent(decoded.slice(colon + 1)),
        };
      } catch {
        return { clientId: undefined, clientSecret: undefined };
      }
    }
  }
  return { clientId: params.client_id || undefined, clientSecret: params.client_secret || undefined };
}
