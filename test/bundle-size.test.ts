// The product's hard budget: every handler bundle the package ships is at most 96 KiB. Bundled here with
// esbuild and the construct's own bundling options (a second, CDK-synthesized check of the authorizer is
// in stytch-authorizer.test.ts; scripts/build-package.ts refuses to pack an oversized bundle).

import { build } from "esbuild";
import * as path from "node:path";
import { expect, test } from "vitest";
import { DEFAULT_BUNDLING, PACKAGED_HANDLERS } from "../infra/lambda-defaults";

const BUDGET_BYTES = 96 * 1024;
const root = path.resolve(__dirname, "..");

async function bundleBytes(entry: string): Promise<number> {
  const result = await build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    write: false,
    platform: "node",
    target: DEFAULT_BUNDLING.target,
    format: DEFAULT_BUNDLING.format,
    minify: DEFAULT_BUNDLING.minify,
    external: [...(DEFAULT_BUNDLING.externalModules ?? [])],
    logLevel: "silent",
  });
  return result.outputFiles[0]!.contents.byteLength;
}

test.each(Object.entries(PACKAGED_HANDLERS))("the %s bundle is within the 96 KiB budget", async (_name, entry) => {
  const bytes = await bundleBytes(entry);
  expect(bytes).toBeGreaterThan(10_000); // a real bundle, with its dependencies in it
  expect(bytes).toBeLessThanOrEqual(BUDGET_BYTES);
});
