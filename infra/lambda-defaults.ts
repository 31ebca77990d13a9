/**
 * Shared defaults for every Lambda function of this project: runtime, architecture, esbuild
 * bundling, an explicit log group with retention, and a least-privilege execution role.
 *
 * Each decision lives here once; the authorizer, the refresh function and the demo handlers all
 * call {@link createBundledFunction}.
 *
 * @module
 */
import { Duration, Token, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import * as path from "node:path";
import { REPO_ROOT, resolveEntry } from "./routes";

/** Lambda runtime of every function: the newest Node.js runtime aws-cdk-lib knows (cdk-nag L1). */
export const LAMBDA_RUNTIME: lambda.Runtime = lambda.Runtime.NODEJS_24_X;

/** CPU architecture of every function (Graviton: cheaper per ms, faster cold starts for Node). */
export const LAMBDA_ARCHITECTURE: lambda.Architecture = lambda.Architecture.ARM_64;

/** Lock file that pins the bundled dependencies (NodejsFunction needs one). */
export const DEPS_LOCK_FILE: string = path.join(REPO_ROOT, "package-lock.json");

/**
 * esbuild options of every function: a small minified CommonJS `index.js` built with the local
 * esbuild (never Docker), without source maps, leaving the AWS SDK v3 to the runtime.
 */
export const DEFAULT_BUNDLING: nodejs.BundlingOptions = {
  minify: true,
  sourceMap: false,
  target: "node24",
  format: nodejs.OutputFormat.CJS,
  externalModules: ["@aws-sdk/*"],
  forceDockerBundling: false,
};

/** Default memory size in MB. */
export const DEFAULT_MEMORY_MB = 512;

/** Default timeout; HTTP API Lambda authorizers must answer within 10 s. */
export const DEFAULT_TIMEOUT: Duration = Duration.seconds(10);

/** Longest useful timeout of a function behind API Gateway (REST integrations time out at 29 s). */
export const MAX_API_TIMEOUT: Duration = Duration.seconds(29);

/** Default log retention of the function log groups. */
export const DEFAULT_LOG_RETENTION: logs.RetentionDays = logs.RetentionDays.ONE_MONTH;

/** Options of {@link createBundledFunction}. */
export interface BundledFunctionOptions {
  /** Handler file relative to the repository root, e.g. `"lambda/me.ts"`. */
  readonly entry: string;
  /** Name of the exported handler. @default "handler" */
  readonly handler?: string;
  /** Function description. */
  readonly description: string;
  /** Environment variables. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Memory in MB (128-10240). @default 512 */
  readonly memorySize?: number;
  /** Timeout (1-29 s). @default 10 seconds */
  readonly timeout?: Duration;
  /** Retention of the function's log group. @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Active X-Ray tracing. @default false */
  readonly tracing?: boolean;
}

/**
 * Creates a bundled Node.js function with the project defaults, under `scope`:
 * `<id>` (the function), `<id>LogGroup` (its log group, created explicitly with retention) and
 * `<id>Role` (an execution role whose only permission is writing to that log group; no AWS
 * managed policy). Callers add further grants, e.g. `secret.grantRead(fn)`.
 */
export function createBundledFunction(
  scope: Construct,
  id: string,
  options: BundledFunctionOptions,
): nodejs.NodejsFunction {
  const memorySize = options.memorySize ?? DEFAULT_MEMORY_MB;
  if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
    throw new Error(`${id}: memorySize must be an integer between 128 and 10240 MB, got ${memorySize}`);
  }
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  const timeoutMs = timeout.toMilliseconds();
  if (!Token.isUnresolved(timeoutMs) && (timeoutMs < 1000 || timeoutMs > MAX_API_TIMEOUT.toMilliseconds())) {
    throw new Error(`${id}: timeout must be between 1 and 29 seconds, got ${timeout.toHumanString()}`);
  }

  const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
    retention: options.logRetention ?? DEFAULT_LOG_RETENTION,
  });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description: `Execution role of ${id}: writes to its own log group; further grants are explicit`,
  });
  // Least privilege instead of the AWS managed AWSLambdaBasicExecutionRole (logs:* on *).
  logGroup.grantWrite(role);

  const fn = new nodejs.NodejsFunction(scope, id, {
    entry: resolveEntry(options.entry),
    handler: options.handler ?? "handler",
    description: options.description,
    runtime: LAMBDA_RUNTIME,
    architecture: LAMBDA_ARCHITECTURE,
    memorySize,
    timeout,
    role,
    logGroup,
    tracing: options.tracing ? lambda.Tracing.ACTIVE : undefined,
    environment: options.environment ? { ...options.environment } : undefined,
    depsLockFilePath: DEPS_LOCK_FILE,
    projectRoot: REPO_ROOT,
    bundling: DEFAULT_BUNDLING,
  });

  const defaultPolicy = role.node.tryFindChild("DefaultPolicy");
  if (options.tracing && defaultPolicy) {
    Validations.of(defaultPolicy.node.defaultChild ?? defaultPolicy).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions; the wildcard covers only these two actions",
    });
  }
  return fn;
}
