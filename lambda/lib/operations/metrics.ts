// CloudWatch metrics of the authorizer and the refresh endpoint, as EMF (written as Powertools Metrics writes it).
//
// At most one EMF record per invocation, and usually none on the hot path: a publish costs about 10 µs (measured
// with Powertools Metrics, whose records EmfWriter reproduces), as much as five to ten cached verdicts. So
// allows from the verdict cache and from local verification are counted in memory and published as one record
// per path at most once per flush interval (default 1 s), from inside the first invocation after it, stamped
// with the time of the first allow counted. Denials, refusals (403), unproven credentials, faults and Stytch-API
// allows publish their own record at once: they are rare, and they are what an alarm must see without delay.
// What happened meanwhile (Stytch attempts, key-set downloads, the cold start) rides on the next record; a key
// rotation does not wait for the batch (the allow it lets through publishes at once). A container that is shut
// down loses at most one interval of allow counts; alarms look at faults, which are never held back.
//
// Dimensions are low-cardinality by construction (outcome, path, reason code, error class): never an id.

import type { Context } from "aws-lambda";
import { AuthorizerError, type ReasonCode } from "../errors";
import { EmfWriter, MetricUnit } from "./emf-writer";
import { addLambdaContext, logger } from "./log";
import {
  DEFAULT_METRICS_NAMESPACE,
  type DecisionOutcome,
  type DecisionPath,
  DIMENSION,
  METRIC,
  METRICS_NAMESPACE_ENV,
  METRICS_NAMESPACE_PATTERN,
  SERVICE_NAME_ENV,
  type StytchErrorClass,
} from "./metric-names";

/** Options of {@link DecisionMetrics}. */
export interface DecisionMetricsOptions {
  /** Value of the `service` dimension unless `POWERTOOLS_SERVICE_NAME` is set. */
  readonly service: string;
  /** Where `POWERTOOLS_METRICS_NAMESPACE` and `POWERTOOLS_SERVICE_NAME` are read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How often batched hot-path allows may be published, in ms. Default 1000. */
  readonly flushIntervalMs?: number;
  /** Clock (epoch ms) for record timestamps and the key set's age; for tests. */
  readonly now?: () => number;
}

/** A denial's or fault's reason: the authorizer's closed set of codes (errors.ts), plus the refresh endpoint's `bad_request`. */
export type DecisionReason = ReasonCode | "bad_request";

/** CloudWatch takes at most this many values of one metric in an EMF record. */
const MAX_VALUES = 100;

// Dimension objects are built once per distinct value and reused: the per-record work is the writer's own.
type Dimensions = Readonly<Record<string, string>>;
const TOTAL: Dimensions = Object.freeze({});
const DIMENSIONS = new Map<string, Dimensions>();

function dimensions(name: string, value: string, name2?: string, value2?: string): Dimensions {
  const key = name2 === undefined ? `${name}=${value}` : `${name}=${value},${name2}=${value2}`;
  let built = DIMENSIONS.get(key);
  if (!built)
    DIMENSIONS.set(
      key,
      (built = Object.freeze(name2 === undefined ? { [name]: value } : { [name]: value, [name2]: value2! })),
    );
  return built;
}

/** Which faults are Stytch API errors, and of which class. Denials (404, other 4xx) are answers, not errors. */
const ERROR_CLASS_BY_REASON: Partial<Record<ReasonCode, StytchErrorClass>> = {
  upstream_unavailable: "5xx",
  upstream_rate_limited: "429",
  upstream_timeout: "timeout",
  upstream_credentials_rejected: "credentials",
};

interface AllowBatch {
  count: number;
  /** When the first allow of the batch was counted (epoch ms): the record's timestamp. */
  since: number;
  /** The flush tick in which the batch was last published. */
  publishedTick: number;
}

/**
 * The metrics of one handler instance (one per container). Hand {@link DecisionMetrics.stytchAttempt},
 * {@link DecisionMetrics.jwksRefreshed} and {@link DecisionMetrics.keySetRotated} to the Stytch client and the key-set cache as observers,
 * and report every decision with {@link DecisionMetrics.decided} (or, on the hot path, {@link DecisionMetrics.allowed}).
 */
export class DecisionMetrics {
  private readonly metrics: EmfWriter;
  private readonly now: () => number;
  /** Advanced by an unref'd timer once per flush interval, so the hot path compares integers instead of reading the clock. */
  private tick = 0;
  /**
   * Whether the next record is the container's cold start. As the logger's `cold_start` (Powertools): only a
   * container Lambda started for a request (`on-demand`); provisioned concurrency initialises ahead of requests.
   */
  private coldStart = process.env.AWS_LAMBDA_INITIALIZATION_TYPE?.trim() === "on-demand";
  private readonly batches: Record<"cache" | "local", AllowBatch> = {
    cache: { count: 0, since: 0, publishedTick: -1 },
    local: { count: 0, since: 0, publishedTick: -1 },
  };
  private stytchLatencies: number[] = [];
  private stytchErrors = 0;
  private stytchErrorClass: StytchErrorClass = "5xx";
  private jwksRefreshes = 0;
  private jwksFailures = 0;
  private keySetRotations = 0;
  private keySetFetchedAt: number | undefined;

  constructor(options: DecisionMetricsOptions) {
    const env = options.env ?? process.env;
    this.now = options.now ?? Date.now;
    // A frozen Lambda runs no timers: after a thaw the tick advances on the first turn of the event loop,
    // so the batch held across the freeze goes out with the next hot-path allow, stamped with its own time.
    setInterval(() => (this.tick += 1), options.flushIntervalMs ?? 1_000).unref();
    let namespace = env[METRICS_NAMESPACE_ENV]?.trim() || DEFAULT_METRICS_NAMESPACE;
    if (!METRICS_NAMESPACE_PATTERN.test(namespace)) {
      // Metrics are not a trust decision: a bad namespace must not stop the authorizer, only be visible.
      logger.error("invalid metrics namespace; using the default", {
        reason: "bad_config",
        detail: `${METRICS_NAMESPACE_ENV} is not a CloudWatch namespace`,
      });
      namespace = DEFAULT_METRICS_NAMESPACE;
    }
    this.metrics = new EmfWriter({ namespace, serviceName: env[SERVICE_NAME_ENV]?.trim() || options.service });
  }

  /**
   * Records an allow; the hot path's only metrics work. Cache and local allows are batched (see the
   * module comment); any other path publishes at once. An invocation that writes a record also tags the
   * logger with its Lambda context: the container's first invocation always writes one, so it is the one
   * Powertools reports as the cold start, although an allow logs nothing.
   * @returns true when this call wrote an EMF record
   */
  allowed(path: DecisionPath, context?: Partial<Context>): boolean {
    if (path !== "cache" && path !== "local") {
      this.publish("allow", path, undefined, 1, undefined);
      return true;
    }
    const batch = this.batches[path];
    if (batch.count++ === 0) batch.since = this.now();
    if (batch.publishedTick === this.tick && this.keySetRotations === 0) return false;
    addLambdaContext(context);
    this.publish("allow", path, undefined, batch.count, batch.since);
    batch.count = 0;
    batch.publishedTick = this.tick;
    return true;
  }

  /** Records a decision. Denials, refusals (403), unproven credentials and faults publish at once, with their reason code. */
  decided(outcome: DecisionOutcome, path: DecisionPath, reason?: DecisionReason): void {
    if (outcome === "allow") this.allowed(path);
    else this.publish(outcome, path, reason, 1, undefined);
  }

  /** Observer of the Stytch client: one call per HTTP attempt, with the error it ended in, if any. */
  readonly stytchAttempt = (latencyMs: number, error?: unknown): void => {
    if (this.stytchLatencies.length < MAX_VALUES) this.stytchLatencies.push(Math.round(latencyMs * 1000) / 1000);
    const errorClass = error instanceof AuthorizerError ? ERROR_CLASS_BY_REASON[error.reason] : undefined;
    if (errorClass) {
      this.stytchErrors += 1;
      this.stytchErrorClass = errorClass;
    }
  };

  /** Observer of the key-set cache: one call per finished download. */
  readonly jwksRefreshed = (ok: boolean): void => {
    if (ok) {
      this.jwksRefreshes += 1;
      this.keySetFetchedAt = this.now();
    } else {
      this.jwksFailures += 1;
    }
  };

  /** Observer of the key-set cache: a downloaded key set held `count` kids the previous one did not (a rotation). */
  readonly keySetRotated = (count: number): void => {
    this.keySetRotations += count;
  };

  private publish(
    outcome: DecisionOutcome,
    path: DecisionPath,
    reason: DecisionReason | undefined,
    count: number,
    timestamp: number | undefined,
  ): void {
    const m = this.metrics;
    m.addDimensions(TOTAL);
    m.addDimensions(dimensions(DIMENSION.outcome, outcome, DIMENSION.path, path));
    if (reason !== undefined) m.addDimensions(dimensions(DIMENSION.reason, reason));
    m.addMetric(METRIC.decisions, MetricUnit.Count, count);
    if (this.stytchErrors > 0) {
      // One class per record: when attempts failed differently (a 5xx, then a timeout), the last one names it.
      m.addDimensions(dimensions(DIMENSION.errorClass, this.stytchErrorClass));
      m.addMetric(METRIC.stytchErrors, MetricUnit.Count, this.stytchErrors);
      this.stytchErrors = 0;
    }
    if (this.stytchLatencies.length > 0) {
      for (const latency of this.stytchLatencies) m.addMetric(METRIC.stytchLatency, MetricUnit.Milliseconds, latency);
      this.stytchLatencies = [];
    }
    if (this.jwksRefreshes > 0) m.addMetric(METRIC.jwksRefreshes, MetricUnit.Count, this.jwksRefreshes);
    if (this.jwksFailures > 0) m.addMetric(METRIC.jwksRefreshFailures, MetricUnit.Count, this.jwksFailures);
    if (this.keySetRotations > 0) m.addMetric(METRIC.keySetRotations, MetricUnit.Count, this.keySetRotations);
    this.jwksRefreshes = 0;
    this.jwksFailures = 0;
    this.keySetRotations = 0;
    if (this.keySetFetchedAt !== undefined)
      m.addMetric(METRIC.keySetAge, MetricUnit.Seconds, Math.round((this.now() - this.keySetFetchedAt) / 1000));
    if (this.coldStart) {
      m.addMetric(METRIC.coldStarts, MetricUnit.Count, 1);
      this.coldStart = false;
    }
    if (timestamp !== undefined) m.setTimestamp(timestamp);
    m.publishStoredMetrics();
  }
}
