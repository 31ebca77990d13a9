// Runs inside a fresh `node` process started by bench/cold-start.ts, and plays the Lambda runtime:
// load the bundled authorizer (its init code runs, including any JWKS prefetch), invoke the handler
// once with a REST REQUEST event, print the outcome as one JSON line, and exit.
//
//   node cold-start-probe.cjs <bundle.js>      (env: STYTCH_*, BENCH_COLD_TOKEN, NODE_EXTRA_CA_CERTS)

import { createRequire } from "node:module";
import { restRequestEvent } from "./tokens";

interface AuthorizerModule {
  handler(
    event: unknown,
    context?: unknown,
  ): Promise<{ principalId?: string; policyDocument?: { Statement?: Array<{ Effect?: string }> } }>;
}

const bundlePath = process.argv[2]!;
// performance.now() counts from this process's time origin, i.e. from (just after) process start.
const bootedMs = performance.now();
const mod = createRequire(bundlePath)(bundlePath) as AuthorizerModule;
const loadedMs = performance.now();
const context = { getRemainingTimeInMillis: () => 3_000, awsRequestId: "cold-start" };

mod.handler(restRequestEvent(process.env.BENCH_COLD_TOKEN ?? ""), context).then(
  (result) => {
    const effect = result.policyDocument?.Statement?.[0]?.Effect;
    process.stdout.write(
      `${JSON.stringify({ effect, principalId: result.principalId, bootedMs, loadedMs, allowMs: performance.now() })}\n`,
    );
    process.exit(0);
  },
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: String((error as Error)?.message ?? error) })}\n`);
    process.exit(1);
  },
);
