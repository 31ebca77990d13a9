// Small HTTP helpers shared by the key-set fetcher and the Stytch client: requests over node:http(s), and one
// body reader with a size cap, so a misbehaving or hostile upstream cannot make us buffer megabytes inside an
// authorizer. Not the global `fetch`: its first use loads undici, which measured as the largest part of the
// authorizer's cold start, and the first Stytch calls happen during init or on a cold container's first request.

import type { IncomingMessage } from "node:http";

/** One request: a GET, or a POST with a JSON body. */
export interface RequestInit {
  readonly method: "GET" | "POST";
  readonly headers: Readonly<Record<string, string>>;
  /** A POST's body; its Content-Length is set from it. */
  readonly body?: string;
  /** Aborts the request, and the reading of its body. */
  readonly signal: AbortSignal;
}

/**
 * Sends a request and resolves with the response once its headers arrived (the body is left to read, e.g. with
 * {@link readTextCapped}). https, or plain http (loopback, by configuration). Redirects are not followed: a 3xx
 * is an answer like any other.
 * @throws Error on a network error or an abort (the signal's reason is the error's `cause`)
 */
export function openRequest(url: string, init: RequestInit): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    // Loaded at the first request, not at init: a container that starts from a project snapshot answers its first
    // requests without the network, and node:https with its TLS stack is a visible part of a cold start.
    const send = url.startsWith("https:")
      ? (require("node:https") as typeof import("node:https")).request
      : (require("node:http") as typeof import("node:http")).request;
    const headers =
      init.body === undefined
        ? init.headers
        : { ...init.headers, "content-length": String(Buffer.byteLength(init.body)) };
    send(url, { method: init.method, headers, signal: init.signal }, resolve).on("error", reject).end(init.body);
  });
}

/**
 * GETs the project's key set (JWKS) document, within `timeoutMs` and `maxBytes`.
 * @throws Error on a network error, a timeout, a status other than 200, a body over the cap, or one that is not JSON
 */
export async function fetchKeySetDocument(jwksUrl: string, timeoutMs: number, maxBytes: number): Promise<unknown> {
  const response = await openRequest(jwksUrl, {
    method: "GET",
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.statusCode !== 200) {
    response.resume();
    throw new Error(`JWKS endpoint answered HTTP ${response.statusCode}`);
  }
  return JSON.parse(await readTextCapped(response, Number(response.headers["content-length"]), maxBytes));
}

/** Thrown when a response body exceeds its cap. */
export class ResponseTooLargeError extends Error {
  constructor(maxBytes: number) {
    super(`response body exceeds ${maxBytes} bytes`);
    this.name = "ResponseTooLargeError";
  }
}

/**
 * Reads a body as UTF-8 text, refusing more than `maxBytes`. Any async iterable of bytes: the body of a
 * `fetch` Response, or a node:http response.
 * @param declaredBytes the Content-Length (`NaN` or 0 when absent): a body declared too large is refused
 *   at its first chunk
 * @throws ResponseTooLargeError past the cap. Leaving the loop cancels a fetch body and destroys a node:http
 *   response, so the rest is never read.
 */
export async function readTextCapped(
  body: AsyncIterable<Uint8Array> | null,
  declaredBytes: number,
  maxBytes: number,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (body) {
    for await (const chunk of body) {
      total += chunk.byteLength;
      if (total > maxBytes || declaredBytes > maxBytes) throw new ResponseTooLargeError(maxBytes);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks, total).toString("utf8");
}

/** True when the error is an abort caused by a timeout signal (thrown as such, or as an abort carrying it). */
export function isTimeout(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "TimeoutError" ||
      (error.name === "AbortError" &&
        (/timeout/i.test(String(error.message)) || (error.cause as Error | undefined)?.name === "TimeoutError")))
  );
}
