// Small HTTP helpers shared by the key-set fetcher and the Stytch client: one body reader with a size
// cap, so a misbehaving or hostile upstream cannot make us buffer megabytes inside an authorizer.

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

/** True when the error is an abort caused by a timeout signal. */
export function isTimeout(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "TimeoutError" || (error.name === "AbortError" && /timeout/i.test(String(error.message))))
  );
}
