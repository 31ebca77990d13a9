// Structured, token-free logging. Every line about a request carries a reason code instead of the
// credential: a token, a cookie or a secret is never passed to the logger, so it cannot leak.

import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import type { CallerType } from "../callers/caller";
import type { ReasonCode } from "../errors";
import { type DecisionOutcome, type DecisionPath, SERVICE_NAME_ENV, SERVICE_NAMES } from "./metric-names";

/** The service of the shared logger: the function's (set by the constructs), else the authorizer's. */
const SHARED_SERVICE = process.env[SERVICE_NAME_ENV]?.trim() || SERVICE_NAMES.authorizer;

let powertoolsLogger: Logger | undefined;
/** The Lambda context given before the logger existed (the latest), and how many times one was given. */
let pendingContext: Context | undefined;
let contextsBeforeLogger = 0;

/**
 * The Powertools logger, created at its first use. Loading Powertools Logger (and the `Console` it opens on stdout
 * and stderr) measured as a visible part of a cold start, and a healthy container logs nothing on the way to its
 * first Allow, or on any local Allow after it. The contexts handed to {@link addLambdaContext} meanwhile are
 * replayed, so every line carries what it would have carried had the logger been there from the start.
 */
function createdLogger(): Logger {
  if (powertoolsLogger) return powertoolsLogger;
  // A require inside the function: the bundle evaluates the module only when a first line is logged.
  const { Logger: PowertoolsLogger } =
    require("@aws-lambda-powertools/logger") as typeof import("@aws-lambda-powertools/logger");
  const created = new PowertoolsLogger({ serviceName: SHARED_SERVICE });
  if (pendingContext) {
    // Powertools counts its first addContext as the cold start: a second one says this is a later invocation.
    created.addContext(pendingContext);
    if (contextsBeforeLogger > 1) created.addContext(pendingContext);
    pendingContext = undefined;
  }
  powertoolsLogger = created;
  return created;
}

/**
 * The shared Powertools logger (JSON, level from POWERTOOLS_LOG_LEVEL, default INFO), created when first used:
 * every property of it is the created logger's.
 */
export const logger: Logger = new Proxy({} as Logger, {
  get(_target, name) {
    const created = createdLogger();
    const value: unknown = Reflect.get(created, name, created);
    return typeof value === "function" ? value.bind(created) : value;
  },
  set(_target, name, value) {
    return Reflect.set(createdLogger(), name, value);
  },
});

// Decided once at start-up: asking the logger its level re-reads the environment on every call,
// which would cost more than the rest of a cached verdict.
const LOG_LOCAL_ALLOWS = /^(DEBUG|TRACE)$/i.test(
  process.env.POWERTOOLS_LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL ?? "",
);

/** Which way a verdict was reached: the metrics' `path` dimension (metric-names.ts), so log and metrics cannot drift. */
export type VerdictPath = DecisionPath;

/** One authorization decision, as logged. Contains no credential material by construction. */
export interface DecisionRecord {
  /**
   * `forbidden`: a valid caller without the route's permission, organization or caller type (403). `unproven`: a credential
   * that proved nothing yet (503 to retry, e.g. `kid_not_yet_known`), which is not a fault of ours.
   */
  readonly outcome: DecisionOutcome;
  readonly reason?: ReasonCode;
  readonly path: VerdictPath;
  readonly latencyMs: number;
  readonly credentialKind?: "session_jwt" | "session_token" | "access_token";
  readonly credentialSource?: "authorization" | "cookie" | "body";
  /** Who the credential proved: a member, an M2M client, a Connected App. */
  readonly callerType?: CallerType;
  /** Machine callers: the M2M or Connected-App client id. */
  readonly clientId?: string;
  /** A member's id, or the member a Connected App acts for. */
  readonly memberId?: string;
  readonly organizationId?: string;
  /** With a route table: the route key decided. */
  readonly routeKey?: string;
  /** For faults and unproven credentials: what failed, in words that never include a credential. */
  readonly detail?: string;
  /** For faults: the error's class name, e.g. `UpstreamTimeoutError` (or `TypeError` for a bug). */
  readonly errorName?: string;
}

/**
 * Logs a decision. Allows reached locally (or from the verdict cache) are logged only when the log level
 * is DEBUG at start-up: they are the hot path, and a log line would cost more than the verdict. Remote
 * allows, denials, refusals (forbidden, 403) and unproven credentials are INFO (anyone can cause them),
 * faults ERROR.
 */
export function logDecision(record: DecisionRecord): void {
  if (record.outcome === "allow" && !logsAllow(record.path)) return;
  if (record.outcome === "fault") logger.error("authorizer fault", { ...record });
  else if (record.outcome === "deny") logger.info("request denied", { ...record });
  else if (record.outcome === "forbidden") logger.info("request forbidden", { ...record });
  else if (record.outcome === "unproven") logger.info("request unproven", { ...record });
  else if (record.path === "remote") logger.info("request allowed", { ...record });
  else logger.debug("request allowed", { ...record });
}

/** Whether an allow reached this way is logged at all; lets the hot path skip building the record. */
export function logsAllow(path: VerdictPath): boolean {
  return path === "remote" || LOG_LOCAL_ALLOWS;
}

/**
 * The logger of a handler whose service is `service` (`stytch-refresh`): the shared logger when that is its
 * service, else a child of it with that service (and the shared logger's current level). Two handlers in one
 * process (`npm start`, tests) then each log under their own service and function; a deployed function has
 * one handler, and the construct names its service in `POWERTOOLS_SERVICE_NAME`, which wins.
 */
export function handlerLogger(
  service: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Logger {
  const name = env[SERVICE_NAME_ENV]?.trim() || service;
  return name === SHARED_SERVICE ? logger : logger.createChild({ serviceName: name });
}

/**
 * Tags the log lines that follow with the invocation's Lambda context: `function_request_id` (the request
 * id to search for), `cold_start`, `function_name`, version, ARN and memory. Call it before logging about an
 * invocation, and in the first invocation of a container (Powertools counts the first call as the cold start).
 */
export function addLambdaContext(context: Partial<Context> | undefined, log: Logger = logger): void {
  if (!context?.awsRequestId) return;
  if (log !== logger) log.addContext(context as Context);
  else if (powertoolsLogger) powertoolsLogger.addContext(context as Context);
  else {
    pendingContext = context as Context;
    contextsBeforeLogger += 1;
  }
}
