/**
 * The one contract of a 503, whoever answers it: the REST API's gateway responses for an authorizer fault
 * (infra/gateway-responses.ts), the refresh endpoint, and `npm start`'s gateway. The body never says what
 * failed (the log line's `reason` does): a client can only wait and retry, and the cause, e.g. a rejected
 * project secret, is nobody else's business.
 *
 * @module
 */

/** Seconds a client should wait before retrying after a 503 (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 5;

/** `reason` of every 503 body. */
export const UNAVAILABLE_REASON = "service_unavailable";

/** The body of every 503: `{"message":"Service Unavailable","reason":"service_unavailable"}`. */
export const UNAVAILABLE_BODY: Readonly<{ message: string; reason: string }> = Object.freeze({
  message: "Service Unavailable",
  reason: UNAVAILABLE_REASON,
});
