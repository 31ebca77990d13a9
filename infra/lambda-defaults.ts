/**
 * Shared defaults for every Lambda function of this project: runtime, architecture, esbuild
 * bundling, an explicit log group with retention, and a least-privilege execution role.
 *
 * Each decision lives here once; the authorizer, the refresh function and the demo handlers all
 * call {@link createBundledFunction}.
 *
 * Where the code comes from: the installed package ships prebuilt bundles of the authorizer, refresh and
 * organization switch handlers (`dist/assets/<name>/index.js`, built at pack time by `npm run build`), used
 * with `Code.fromAsset`, so a consuming app needs no esbuild, no Docker and no particular lock file.
 * A source checkout has no such bundles and bundles from `lambda/*.ts` with the local esbuild.
 *
 * @module
 */

import { existsSync } from "node:fs";
import * as path from "node:path";
import * as cdk from "aws-cdk-lib";
import { Duration, Token } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct, IConstruct } from "constructs";

/** Handler file of the Lambda authorizer, relative to the repository root. */
export const AUTHORIZER_ENTRY = "lambda/authorizer.ts";

/** Absolute path of the repository root (the directory holding `package.json`). */
export const REPO_ROOT: string = path.resolve(__dirname, "..");

/**
 * Resolves a repository-relative entry such as `"lambda/demo/me.ts"` to an absolute path.
 *
 * @throws Error if the entry is absolute or escapes the repository root.
 */
export function resolveEntry(entry: string): string {
  if (path.isAbsolute(entry)) {
    throw new Error(`Route entry must be relative to the repository root, got ${entry}`);
  }
  const resolved = path.resolve(REPO_ROOT, entry);
  if (!resolved.startsWith(REPO_ROOT + path.sep)) {
    throw new Error(`Route entry ${entry} resolves outside the repository root`);
  }
  return resolved;
}

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

/** The handlers the package ships prebuilt, by bundle name, with their source files (relative to the repository root). */
export const PACKAGED_HANDLERS = {
  authorizer: AUTHORIZER_ENTRY,
  refresh: "lambda/refresh.ts",
  "switch-organization": "lambda/switch-organization.ts",
} as const;

/** Name of a prebuilt handler bundle. */
export type PackagedHandler = keyof typeof PACKAGED_HANDLERS;

/** The product standard: a handler bundle the package ships is at most 128 KiB. */
export const MAX_BUNDLE_BYTES = 128 * 1024;

/**
 * esbuild's options for a packaged handler's bundle, from a source checkout: {@link DEFAULT_BUNDLING} in
 * esbuild's own terms, so that `npm run build` and the bundle-size test build the bundle the construct
 * builds from source.
 */
export function packagedBundleOptions(name: PackagedHandler) {
  return {
    entryPoints: [resolveEntry(PACKAGED_HANDLERS[name])],
    bundle: true,
    platform: "node" as const,
    target: DEFAULT_BUNDLING.target,
    format: DEFAULT_BUNDLING.format,
    minify: DEFAULT_BUNDLING.minify,
    sourcemap: DEFAULT_BUNDLING.sourceMap,
    external: [...(DEFAULT_BUNDLING.externalModules ?? [])],
  };
}

/**
 * Directory of the prebuilt bundles: `dist/assets` next to the compiled `dist/infra` of the
 * installed package. In a source checkout (`infra/*.ts`) it does not exist.
 */
const PREBUILT_ASSETS_DIR: string = path.resolve(__dirname, "..", "assets");

/**
 * The prebuilt bundle directory of a handler (holding `index.js`), or undefined when this is a
 * source checkout and the handler must be bundled from source.
 */
function prebuiltBundle(name: PackagedHandler): string | undefined {
  const dir = path.join(PREBUILT_ASSETS_DIR, name);
  return existsSync(path.join(dir, "index.js")) ? dir : undefined;
}

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
  /**
   * The code: a packaged handler (its prebuilt bundle when installed, else bundled from source),
   * or a handler file relative to the repository root, e.g. `"lambda/demo/me.ts"` (always bundled).
   */
  readonly entry: { readonly packaged: PackagedHandler } | string;
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
  /** The log group the function writes to. @default - a log group of its own, `<id>LogGroup`, with {@link logRetention} */
  readonly logGroup?: logs.ILogGroup;
  /** Retention of the log group created for the function (not with {@link logGroup}). @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** X-Ray tracing mode. @default - no tracing */
  readonly tracing?: lambda.Tracing;
  /** Reserved concurrent executions. @default - none (the account's unreserved pool) */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * Creates a bundled Node.js function with the project defaults, under `scope`:
 * `<id>` (the function), `<id>LogGroup` (its log group, created explicitly with retention) and
 * `<id>Role` (an execution role whose only permission is writing to that log group; no AWS
 * managed policy). Callers add further grants, e.g. `secret.grantRead(fn)`.
 */
export function createBundledFunction(scope: Construct, id: string, options: BundledFunctionOptions): lambda.Function {
  const memorySize = options.memorySize ?? DEFAULT_MEMORY_MB;
  if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
    throw new Error(`${id}: memorySize must be an integer between 128 and 10240 MB, got ${memorySize}`);
  }
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  const timeoutMs = timeout.toMilliseconds();
  if (!Token.isUnresolved(timeoutMs) && (timeoutMs < 1000 || timeoutMs > MAX_API_TIMEOUT.toMilliseconds())) {
    throw new Error(`${id}: timeout must be between 1 and 29 seconds, got ${timeout.toHumanString()}`);
  }

  if (options.logGroup && options.logRetention !== undefined) {
    throw new Error(`${scope.node.path}: give logGroup or logRetention, not both (set the retention on the log group)`);
  }
  const logGroup =
    options.logGroup ??
    new logs.LogGroup(scope, `${id}LogGroup`, { retention: options.logRetention ?? DEFAULT_LOG_RETENTION });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description: `Execution role of ${id}: writes to its own log group; further grants are explicit`,
  });
  // Least privilege instead of the AWS managed AWSLambdaBasicExecutionRole (logs:* on *).
  logGroup.grantWrite(role);

  const common = {
    description: options.description,
    runtime: LAMBDA_RUNTIME,
    architecture: LAMBDA_ARCHITECTURE,
    memorySize,
    timeout,
    role,
    logGroup,
    tracing: options.tracing,
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    environment: options.environment ? { ...options.environment } : undefined,
  } satisfies lambda.FunctionOptions & { runtime: lambda.Runtime };
  const handler = options.handler ?? "handler";
  const prebuilt = typeof options.entry === "string" ? undefined : prebuiltBundle(options.entry.packaged);
  const fn = prebuilt
    ? new lambda.Function(scope, id, {
        ...common,
        code: lambda.Code.fromAsset(prebuilt),
        handler: `index.${handler}`,
      })
    : new nodejs.NodejsFunction(scope, id, {
        ...common,
        entry: resolveEntry(
          typeof options.entry === "string" ? options.entry : PACKAGED_HANDLERS[options.entry.packaged],
        ),
        handler,
        depsLockFilePath: DEPS_LOCK_FILE,
        projectRoot: REPO_ROOT,
        bundling: DEFAULT_BUNDLING,
      });

  const defaultPolicy = role.node.tryFindChild("DefaultPolicy");
  if (options.tracing === lambda.Tracing.ACTIVE && defaultPolicy) {
    acknowledgeFinding(defaultPolicy, {
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions; the wildcard covers only these two actions",
    });
  }
  return fn;
}

/** A cdk-nag 3 acknowledgement: the finding's rule id and why it does not apply. */
export interface FindingAcknowledgement {
  readonly id: string;
  readonly reason: string;
}

/**
 * Acknowledges a validation finding (cdk-nag 3) on a construct's CloudFormation resource, the
 * narrowest scope. `Validations` came to aws-cdk-lib after the oldest release this package
 * supports; there is no cdk-nag 3 without it, so an older aws-cdk-lib simply skips this.
 */
export function acknowledgeFinding(construct: IConstruct, acknowledgement: FindingAcknowledgement): void {
  // Feature-detected, so the package's peer range can reach below the release that added it.
  const validations = (cdk as { Validations?: typeof cdk.Validations }).Validations;
  validations?.of(construct.node.defaultChild ?? construct).acknowledge(acknowledgement);
}
