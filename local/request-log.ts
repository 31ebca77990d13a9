// One line per request for the local server: method, path, status, what the authorizer decided (its reason
// code) and latency. Built only from fields that cannot hold a credential: never headers, cookies, bodies or
// query strings, and path segments that look like a token are masked.

import type { DecisionRecord } from "../lambda/lib/operations/log";

/** What is known about a request once it has been answered. */
export interface RequestLogEntry {
  readonly method: string;
  /** The URL path (no query string). */
  readonly path: string;
  readonly status: number;
  /** The authorizer's decision record, when the route has the authorizer. */
  readonly decision?: DecisionRecord;
  /** The gateway's own reason when it overrode or never asked the authorizer (e.g. `policy_implicit_deny`). */
  readonly gatewayNote?: string;
  readonly latencyMs: number;
}

/** Where log lines go: `console.log` by default, a spy in tests. */
export type LogSink = (line: string) => void;

/**
 * Formats a request as one line, e.g. `GET /me 200 authorizer=allow:local 4.1ms`,
 * `GET /me 401 authorizer=missing_credential 0.7ms`, `POST /dev/login 200 authorizer=- 3.0ms`.
 */
export function formatRequestLine(entry: RequestLogEntry): string {
  const decision = entry.decision;
  const authorizer = !decision
    ? "-"
    : decision.outcome === "allow"
      ? `allow:${decision.path}`
      : (decision.reason ?? decision.outcome);
  const gateway = entry.gatewayNote ? ` gateway=${entry.gatewayNote}` : "";
  return `${entry.method} ${maskPath(entry.path)} ${entry.status} authorizer=${authorizer}${gateway} ${entry.latencyMs.toFixed(1)}ms`;
}

// A JWT, or a run of 24+ base64url characters (the shape of a Stytch session token).
const TOKEN_LIKE = /^(?:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+|[A-Za-z0-9_=-]{24,})$/;

/** The path with any segment that could be a credential replaced by `…`, and cut to a sane length. */
export function maskPath(path: string): string {
  const masked = path
    .split("/")
    .map((segment) => (TOKEN_LIKE.test(segment) ? "…" : segment))
    .join("/");
  return masked.length > 200 ? `${masked.slice(0, 200)}…` : masked;
}
