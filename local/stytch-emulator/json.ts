// JSON objects as the emulator handles them.

/** A JSON object (a parsed request body, a JWT header or payload, a response body). */
export type JsonObject = Record<string, unknown>;

/** Whether `value` is a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
