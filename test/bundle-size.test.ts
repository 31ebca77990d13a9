// The product's hard budget: every handler bundle the package ships is at most 128 KiB. Bundled here with
// esbuild and the construct's own bundling options, as `npm run build` bundles them (packagedBundleOptions; a
// second, CDK-synthesized check of the authorizer is in stytch-authorizer.test.ts; scripts/build-package.ts
// refuses to pack an oversized bundle).

import { build } from "esbuild";
import { expect, test } from "vitest";
import {
  MAX_BUNDLE_BYTES,
  PACKAGED_HANDLERS,
  type PackagedHandler,
  packagedBundleOptions,
} from "../infra/lambda-defaults";

async function bundleBytes(name: PackagedHandler): Promise<number> {
  const result = await build({ ...packagedBundleOptions(name), write: false, logLevel: "silent" });
  return result.outputFiles[0]!.contents.byteLength;
}

test.each(Object.keys(PACKAGED_HANDLERS) as PackagedHandler[])(
  "the %s bundle is within the 128 KiB budget",
  async (name) => {
    const bytes = await bundleBytes(name);
    expect(bytes).toBeGreaterThan(10_000); // a real bundle, with its dependencies in it
    expect(bytes).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  },
);
