// Small HTTP helpers shared by the key-set fetcher and the Stytch client: a body reader with a size
// cap, so a misbehaving or hostile upstream cannot make us buffer megabytes inside an authorizer.

/** Thrown when a response body exceeds its cap. */
export class ResponseTooLargeError extends Error {
  constructor(maxBytes: number) {
    super(`response body exceeds ${maxBytes} bytes`);
    this.name = "ResponseTooLargeError";
  }
}

/**
 * Reads a response body as UTF-8 text, refusing more than `maxBytes`.
 * @throws ResponseTooLargeError past the cap (the rest of the body is cancelled, not read)
 */
export async function readTextCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(maxBytes);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString("utf8");
}

/** True when the error is an abort caused by a timeout signal. */
export function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || (error.name === "AbortError" && /timeout/i.test(String(error.message))));
}

/** An AbortSignal that fires at the absolute deadline (epoch ms). */
export function deadlineSignal(deadline: number): AbortSignal {
  return AbortSignal.timeout(Math.max(1, deadline - Date.now()));
}
