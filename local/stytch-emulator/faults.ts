// Fault injection: persistent fault switches, one-shot faults, latency, and what each fault answers.

import type { JsonObject } from "./json";
import { internalServerError, StytchApiError } from "./stytch-api-error";

/**
 * A fault to inject.
 * - `"500"`, `"503"`, `"429"`: answer with that status and a Stytch error body.
 * - `"hang"`: accept the request and never answer (until the client aborts or the emulator closes).
 * - `"reset"`: reset the connection without an HTTP response.
 * - `"401-unknown-error-type"`: 401 with a Stytch error body whose `error_type` no client knows (a new one).
 * - `"401-not-json"`: 401 with a body that is not JSON (as a proxy in front of Stytch might send).
 */
export type FaultMode = "none" | "500" | "503" | "429" | "hang" | "reset" | "401-unknown-error-type" | "401-not-json";

/**
 * Faults that only make sense for the JWKS endpoint, in addition to {@link FaultMode}:
 * - `"oversized"`: 200 with a valid JWKS JSON body larger than 1 MiB (sent chunked, without Content-Length, so a
 *   client has to cap the body while streaming, not just trust a header);
 * - `"garbage"`: 200 with a body that is not JSON.
 */
export type JwksFaultMode = FaultMode | "oversized" | "garbage";

/** A fault switch, with its latency setting; one switch may govern several routes (`rbac` covers both policies). */
export type FaultSwitch = "authenticate" | "exchange" | "jwks" | "rbac";

/** The persistent fault switches, read on every request. */
export interface FaultSwitches {
  authenticate: FaultMode;
  exchange: FaultMode;
  jwks: JwksFaultMode;
  rbac: FaultMode;
}

/** How a faulted request is answered; the HTTP server carries it out. */
export type FaultAnswer =
  | { kind: "hang" }
  | { kind: "reset" }
  | { kind: "error"; error: StytchApiError }
  | { kind: "body"; status: number; body: string }
  /** 200 with `body` padded past `minBytes` and streamed without Content-Length. */
  | { kind: "oversized"; body: JsonObject; minBytes: number };

/** Size of the `"oversized"` JWKS body: comfortably above 1 MiB. */
const OVERSIZED_JWKS_BYTES = 1536 * 1024;

/** The fault switches, the one-shot fault queues and the latency settings of one emulator. */
export class FaultInjector {
  /** Persistent fault switches, read on every request (replaceable as a whole). */
  switches: FaultSwitches = { authenticate: "none", exchange: "none", jwks: "none", rbac: "none" };
  readonly #oneShot: Record<FaultSwitch, JwksFaultMode[]> = { authenticate: [], exchange: [], jwks: [], rbac: [] };
  readonly #latencyMs: Record<FaultSwitch, number> = { authenticate: 0, exchange: 0, jwks: 0, rbac: 0 };
  readonly #jwksBody: () => JsonObject;

  /** @param jwksBody the valid JWKS response body that the `"oversized"` fault pads. */
  constructor(jwksBody: () => JsonObject) {
    this.#jwksBody = jwksBody;
  }

  /** Queues `count` one-shot faults for `faultSwitch`; `"oversized"` and `"garbage"` are JWKS-only. */
  failNext(faultSwitch: FaultSwitch, mode: JwksFaultMode, count = 1): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer`);
    if (faultSwitch !== "jwks" && (mode === "oversized" || mode === "garbage")) {
      throw new TypeError(`fault "${mode}" only applies to the jwks endpoint`);
    }
    for (let i = 0; i < count; i++) this.#oneShot[faultSwitch].push(mode);
  }

  /** Delays every response governed by `faultSwitch` by `ms` milliseconds (0 = none). */
  setLatency(faultSwitch: FaultSwitch, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be a non-negative number of ms`);
    this.#latencyMs[faultSwitch] = ms;
  }

  /** The latency of responses governed by `faultSwitch` (0 for requests no switch governs). */
  latencyOf(faultSwitch: FaultSwitch | undefined): number {
    return faultSwitch ? this.#latencyMs[faultSwitch] : 0;
  }

  /**
   * The fault for a request just received: the next one-shot fault if one is queued (and it is used up), else the
   * persistent switch. Taken on arrival, so "fail the next request" means the next one received, even if several
   * are in flight at once.
   */
  take(faultSwitch: FaultSwitch | undefined): JwksFaultMode {
    return faultSwitch ? (this.#oneShot[faultSwitch].shift() ?? this.switches[faultSwitch]) : "none";
  }

  /** How to answer a request under `fault`; undefined for `"none"` (answer normally). */
  answerFor(fault: JwksFaultMode): FaultAnswer | undefined {
    switch (fault) {
      case "none":
        return undefined;
      case "hang":
        return { kind: "hang" };
      case "reset":
        return { kind: "reset" };
      case "500":
        return { kind: "error", error: internalServerError() };
      case "503":
        // UNVERIFIED: error_type for a 503; Stytch documents none for sessions.
        return {
          kind: "error",
          error: new StytchApiError(503, "service_unavailable", "The service is temporarily unavailable."),
        };
      case "429":
        // UNVERIFIED: whether Stytch sends Retry-After; the emulator does not.
        return {
          kind: "error",
          error: new StytchApiError(429, "too_many_requests", "Too many requests have been made."),
        };
      case "401-unknown-error-type":
        return {
          kind: "error",
          error: new StytchApiError(401, "emulator_unknown_error_type", "An error type this client has never seen."),
        };
      case "401-not-json":
        return { kind: "body", status: 401, body: "<html><body>401 Authorization Required</body></html>\n" };
      case "oversized":
        return { kind: "oversized", body: this.#jwksBody(), minBytes: OVERSIZED_JWKS_BYTES };
      case "garbage":
        return { kind: "body", status: 200, body: "<html><body>502 Bad Gateway</body></html>\n" };
    }
  }
}
