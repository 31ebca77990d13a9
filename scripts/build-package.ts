// `npm run build` (run by `prepack`, so `npm pack` always ships a fresh build) writes the package's
// contents to dist/:
//   dist/lambda, dist/infra   compiled JavaScript and .d.ts of the two entry points (tsconfig.build.json)
//   dist/assets/<name>/       the prebuilt handler bundles the constructs deploy with Code.fromAsset,
//                             built with the same esbuild options as the repository's own stack
// A consuming app therefore needs no esbuild, no Docker and no particular lock file.

import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { DEFAULT_BUNDLING, PACKAGED_HANDLERS, type PackagedHandler } from "../infra/lambda-defaults";

/** The product standard: a handler bundle stays at or under 96 KiB. */
export const MAX_BUNDLE_BYTES = 96 * 1024;

const root = path.resolve(__dirname, "..");
const dist = path.join(root, "dist");

async function main(): Promise<void> {
  rmSync(dist, { recursive: true, force: true });
  execFileSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });

  for (const [name, entry] of Object.entries(PACKAGED_HANDLERS) as Array<[PackagedHandler, string]>) {
    const outfile = path.join(dist, "assets", name, "index.js");
    await build({
      entryPoints: [path.join(root, entry)],
      outfile,
      bundle: true,
      platform: "node",
      target: DEFAULT_BUNDLING.target,
      format: DEFAULT_BUNDLING.format,
      minify: DEFAULT_BUNDLING.minify,
      sourcemap: DEFAULT_BUNDLING.sourceMap,
      external: [...(DEFAULT_BUNDLING.externalModules ?? [])],
      logLevel: "warning",
    });
    const bytes = statSync(outfile).size;
    if (bytes > MAX_BUNDLE_BYTES) throw new Error(`${name} bundle is ${bytes} bytes, over the ${MAX_BUNDLE_BYTES}-byte budget`);
    console.log(`dist/assets/${name}/index.js  ${(bytes / 1024).toFixed(1)} KiB`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
