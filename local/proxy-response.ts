// Turns a Lambda proxy result into the HTTP response a REST API would send, including API Gateway's
// quirks: `headers` and `multiValueHeaders` are merged (multi-value wins for the same name), a body can
// be base64, the default Content-Type is application/json, and a malformed result is a 502.

import type { ServerResponse } from "node:http";

/** A complete HTTP response, ready to write. Header values are strings, or arrays for repeated headers. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Buffer;
}

/** The handler's result is not a proxy result; API Gateway answers 502. */
export class MalformedProxyResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedProxyResultError";
  }
}

/** What API Gateway answers when the integration fails or returns garbage. */
export const BAD_GATEWAY: HttpResponse = Object.freeze({
  statusCode: 502,
  headers: Object.freeze({ "content-type": "application/json", "x-amzn-ErrorType": "InternalServerErrorException" }),
  body: Buffer.from(JSON.stringify({ message: "Internal server error" })),
});

/**
 * Converts a REST (v1) proxy result. HTTP API-only fields (`cookies`) are ignored, as a REST API ignores them.
 * @throws MalformedProxyResultError when there is no valid statusCode, or headers/body have the wrong types
 */
export function fromProxyResult(result: unknown): HttpResponse {
  if (typeof result !== "object" || result === null) throw new MalformedProxyResultError("handler returned no object");
  const { statusCode, headers, multiValueHeaders, body, isBase64Encoded } = result as Record<string, unknown>;
  if (typeof statusCode !== "number" || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new MalformedProxyResultError("statusCode is not an HTTP status");
  }
  if (body !== undefined && body !== null && typeof body !== "string")
    throw new MalformedProxyResultError("body is not a string");

  const merged = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of entries(headers, "headers")) {
    merged.set(name.toLowerCase(), { name, values: [scalar(value, name)] });
  }
  // A name present in multiValueHeaders takes its values from there only (API Gateway's merge rule).
  for (const [name, value] of entries(multiValueHeaders, "multiValueHeaders")) {
    if (!Array.isArray(value)) throw new MalformedProxyResultError(`multiValueHeaders["${name}"] is not an array`);
    merged.set(name.toLowerCase(), { name, values: value.map((item) => scalar(item, name)) });
  }
  if (!merged.has("content-type")) merged.set("content-type", { name: "content-type", values: ["application/json"] });

  const out: Record<string, string | readonly string[]> = {};
  for (const { name, values } of merged.values()) out[name] = values.length === 1 ? values[0]! : values;
  const text = typeof body === "string" ? body : "";
  return {
    statusCode,
    headers: out,
    body: isBase64Encoded === true ? Buffer.from(text, "base64") : Buffer.from(text, "utf8"),
  };
}

/** A JSON response with no-store caching, for responses the local server produces itself. */
export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string | readonly string[]> = {},
): HttpResponse {
  return {
    statusCode,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/** Writes a response to Node's ServerResponse. */
export function writeResponse(res: ServerResponse, response: HttpResponse): void {
  res.statusCode = response.statusCode;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.setHeader("content-length", response.body.length);
  res.end(response.body);
}

function entries(value: unknown, field: string): Array<[string, unknown]> {
  if (value === undefined || value === null) return [];
  if (typeof value !== "object" || Array.isArray(value))
    throw new MalformedProxyResultError(`${field} is not an object`);
  return Object.entries(value);
}

function scalar(value: unknown, name: string): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  throw new MalformedProxyResultError(`header "${name}" has a value that is not a string, number or boolean`);
}
