// `npm run build` (run by `prepack`, so `npm pack` always ships a fresh build) writes the package's
// contents to dist/:
//   dist/lambda, dist/infra   compiled JavaScript and .d.ts of the two entry points (tsconfig.build.json)
//   dist/assets/<name>/       the prebuilt handler bundles the constructs deploy with Code.fromAsset,
//                             built with the same esbuild options as the repository's own stack
//   dist/bin/<package>.js     the package's bin (`npx stytch-b2b-apigw-authorizer snapshot --out <file>`):
//                             scripts/snapshot.ts in one file, for the Node versions the package supports
// A consuming app therefore needs no esbuild, no Docker and no particular lock file.

import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { build } from "esbuild";
import {
  MAX_BUNDLE_BYTES,
  PACKAGED_HANDLERS,
  type PackagedHandler,
  packagedBundleOptions,
} from "../infra/lambda-defaults";

const root = path.resolve(__dirname, "..");
const dist = path.join(root, "dist");

async function main(): Promise<void> {
  rmSync(dist, { recursive: true, force: true });
  execFileSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "tsconfig.build.json")], {
    stdio: "inherit",
  });

  for (const name of Object.keys(PACKAGED_HANDLERS) as PackagedHandler[]) {
    const outfile = path.join(dist, "assets", name, "index.js");
    await build({ ...packagedBundleOptions(name), outfile, logLevel: "warning" });
    const bytes = statSync(outfile).size;
    if (bytes > MAX_BUNDLE_BYTES)
      throw new Error(`${name} bundle is ${bytes} bytes, over the ${MAX_BUNDLE_BYTES}-byte budget`);
    console.log(`dist/assets/${name}/index.js  ${(bytes / 1024).toFixed(1)} KiB`);
  }

  const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
    bin: Record<string, string>;
    engines: { node: string };
  };
  for (const bin of Object.values(manifest.bin)) {
    const outfile = path.join(root, bin);
    await build({
      entryPoints: [path.join(root, "scripts", "snapshot.ts")],
      bundle: true,
      platform: "node",
      target: `node${manifest.engines.node.replace(/^>=/, "")}`,
      format: "cjs",
      banner: { js: "#!/usr/bin/env node" },
      outfile,
      logLevel: "warning",
    });
    chmodSync(outfile, 0o755);
    console.log(`${bin}  ${(statSync(outfile).size / 1024).toFixed(1)} KiB`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
