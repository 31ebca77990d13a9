// The metrics contract: every CloudWatch name the handlers emit (lambda/lib/operations/metrics.ts) and the monitoring
// construct alarms on (infra/stytch-monitoring.ts). Plain data only, so infra/ can import it without pulling
// in handler code, and a renamed metric cannot leave an alarm watching nothing.

/** Namespace used when `POWERTOOLS_METRICS_NAMESPACE` is not set. */
export const DEFAULT_METRICS_NAMESPACE = "StytchAuthorizer";

/** Environment variable naming the namespace (Powertools' own). */
export const METRICS_NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE";

/** Environment variable naming the `service` dimension's value (Powertools' own). */
export const SERVICE_NAME_ENV = "POWERTOOLS_SERVICE_NAME";

/** What CloudWatch accepts as a namespace: 1-255 of these characters, and not AWS's own prefix. */
export const METRICS_NAMESPACE_PATTERN = /^(?!AWS\/)[0-9A-Za-z.\-_/#: ]{1,255}$/;

/** Values of the `service` dimension (Powertools' default dimension, from `POWERTOOLS_SERVICE_NAME`). */
export const SERVICE_NAMES = {
  authorizer: "stytch-authorizer",
  refresh: "stytch-refresh",
  organizationSwitch: "stytch-organization-switch",
} as const;

/** Metric names. */
export const METRIC = {
  /** Count: one per decision (see {@link OUTCOMES}). Read with the Sum statistic: hot-path allows arrive batched. */
  decisions: "Decisions",
  /** Milliseconds: one value per HTTP attempt to the Stytch API. */
  stytchLatency: "StytchLatency",
  /** Count: failed Stytch API attempts (5xx or unreachable, 429, timeout, our credentials refused). */
  stytchErrors: "StytchErrors",
  /** Count: successful key-set (JWKS) downloads. */
  jwksRefreshes: "JwksRefreshes",
  /** Count: failed key-set downloads. */
  jwksRefreshFailures: "JwksRefreshFailures",
  /**
   * Count: signing keys (kids) found in a downloaded key set that the container's previous key set did not
   * hold: Stytch rotated its keys. A JWT signed with a new key makes the cache refetch at once, so a rotation is
   * counted (once per container) within seconds of the new key's first use. Only Stytch's key set moves it:
   * invented kids never do.
   */
  keySetRotations: "KeySetRotations",
  /** Seconds since the key set in use was downloaded. */
  keySetAge: "KeySetAge",
  /** Count: 1 in the first metrics record of each new container. */
  coldStarts: "ColdStart",
} as const;

/** Dimension names. Never an id: member, organization and session ids go to the log record only. */
export const DIMENSION = {
  service: "service",
  outcome: "outcome",
  path: "path",
  reason: "reason",
  errorClass: "errorClass",
} as const;

/**
 * The dimension sets of every metrics record. Every metric of a record is published under each set the
 * record carries: `[service]` (totals) and `[service, outcome, path]` always, `[service, reason]` for
 * anything but an allow, `[service, errorClass]` when a Stytch attempt failed. The sets share no key but
 * `service`, so each record stays one small EMF object.
 */
// Literals checked against DIMENSION by the compiler: unlike reads of DIMENSION's properties, a literal is
// something a bundler may drop where the sets are not used (the handlers only need the names).
export const DIMENSION_SETS = {
  total: ["service"],
  byOutcomeAndPath: ["service", "outcome", "path"],
  byReason: ["service", "reason"],
  byErrorClass: ["service", "errorClass"],
} as const satisfies Record<string, ReadonlyArray<(typeof DIMENSION)[keyof typeof DIMENSION]>>;

/**
 * Values of the `outcome` dimension:
 * - `allow`;
 * - `deny` (401);
 * - `forbidden`: a valid member refused a route by the route table (403, reason `permission_denied`,
 *   `tenancy_mismatch`, or for the route's step-up requirements `step_up_required` or `impersonation_refused`),
 *   or refused an organization switch by Stytch (403, reason `organization_switch_refused`);
 * - `unproven`: a credential that proved nothing, answered with a retryable 503 so that a real key rotation never
 *   logs anyone out: a JWT whose kid is not in our key set while the key set may predate it (reason
 *   `kid_not_yet_known`). Anyone can mint such a JWT, so it is not a fault and never counts in the fault rate;
 *   a real rotation shows as {@link METRIC.keySetRotations};
 * - `fault` (503): something we depend on failed. The fault-rate alarm counts these, and nothing else.
 */
export const OUTCOMES = ["allow", "deny", "forbidden", "unproven", "fault"] as const;
/** Values of the `path` dimension: verdict cache, local JWT verification, Stytch API, or no credential to judge. */
export const PATHS = ["cache", "local", "remote", "none"] as const;
/** Values of the `errorClass` dimension. `5xx` also covers an unreachable Stytch or a broken answer. */
export const STYTCH_ERROR_CLASSES = ["5xx", "429", "timeout", "credentials"] as const;

/** A decision's outcome. */
export type DecisionOutcome = (typeof OUTCOMES)[number];
/** Which way a decision was reached. */
export type DecisionPath = (typeof PATHS)[number];
/** The class of a failed Stytch API attempt. */
export type StytchErrorClass = (typeof STYTCH_ERROR_CLASSES)[number];
