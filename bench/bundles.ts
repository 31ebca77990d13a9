// Bundles authorizers exactly as the CDK stack does (NodejsFunction: esbuild --bundle --minify
// --platform=node --format=cjs --target=node24 --external:@aws-sdk/*), so that the measured size is
// the size of the code Lambda loads on a cold start.

import { readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build, stop } from "esbuild";

/** One bundled authorizer. */
export interface BundleResult {
  readonly name: string;
  /** Entry point, relative to the repository. */
  readonly entry: string;
  /** Where the bundle was written (a temp dir: build output never lands in the repository). */
  readonly outfile: string;
  readonly bytes: number;
  /** gzip -9 size: roughly what the deployment zip carries. */
  readonly gzipBytes: number;
  /** The largest inputs by bytes in the minified output, to see what the size is made of. */
  readonly largestInputs: ReadonlyArray<{ input: string; bytes: number }>;
}

/**
 * Bundles `entry` to `outfile` with the CDK's options.
 * @param entry path of the entry point (relative to the working directory, the repository root)
 */
export async function bundleAuthorizer(name: string, entry: string, outfile: string): Promise<BundleResult> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    platform: "node",
    format: "cjs",
    target: "node24",
    external: ["@aws-sdk/*"],
    metafile: true,
    logLevel: "silent",
  });
  const output = Object.values(result.metafile.outputs)[0]!;
  // Group by package (or by file for our own code), so the list says "@aws-lambda-powertools/logger", not 40 paths.
  const byInput = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = match ? match[1]! : input;
    byInput.set(key, (byInput.get(key) ?? 0) + bytesInOutput);
  }
  const largestInputs = [...byInput.entries()]
    .map(([input, bytes]) => ({ input, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 6);
  return {
    name,
    entry,
    outfile,
    bytes: statSync(outfile).size,
    gzipBytes: gzipSync(readFileSync(outfile), { level: 9 }).length,
    largestInputs,
  };
}

/**
 * Bundles the cold-start probe (not minified: it is not what is measured, only what drives the measurement).
 * The probe loads the authorizer bundle with a runtime `require`, which esbuild leaves alone.
 */
export async function bundleProbe(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "silent",
  });
}

/** Stops esbuild's background service, so it cannot compete for the CPU while we time things. */
export async function stopBundler(): Promise<void> {
  await stop();
}
