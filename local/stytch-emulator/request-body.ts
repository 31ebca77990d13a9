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
