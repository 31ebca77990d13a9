// Where a cold start's init time goes, measured rather than guessed: each candidate (Node's HTTP
// modules, the global fetch's first call, Powertools Logger and Metrics, jose, WebCrypto's first key import
// and verification) is bundled like the authorizer and loaded alone in a fresh `node`, interleaved, and timed
// from `require()` to ready (an exported `ready` promise, if any), after node's own boot. Our own bundle is
// taken apart in three steps: only parsed (wrapped in a function that is never called), its modules evaluated
// (no STYTCH_* set, so no handler is built), and required as Lambda does (handler built, key-set download started).

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build, stop } from "esbuild";
import { median } from "./stats";

/** The cost of one component in a fresh process. */
export interface ComponentCost {
  readonly name: string;
  readonly medianMs: number;
  readonly samplesMs: readonly number[];
}

const REPO = join(__dirname, "..");

/** Each component as the source of a tiny entry point. */
const COMPONENTS: ReadonlyArray<{ readonly name: string; readonly source: string }> = [
  { name: "node:http + node:https (our key-set fetch)", source: `require("node:http"); require("node:https");` },
  { name: "global fetch, first call (loads undici)", source: `fetch("http://127.0.0.1:9/").catch(() => undefined);` },
  {
    name: "Powertools Logger: import + new Logger() (ours: at the first log line)",
    source: `const { Logger } = require("@aws-lambda-powertools/logger"); new Logger({ serviceName: "probe" });`,
  },
  {
    name: "Powertools Metrics: import + new Metrics() (ours: EmfWriter)",
    source: `const { Metrics } = require("@aws-lambda-powertools/metrics"); new Metrics({ namespace: "probe", serviceName: "probe" });`,
  },
  {
    name: "jose (jwtVerify, importJWK), bundled",
    source: `const jose = require("jose"); if (typeof jose.jwtVerify !== "function" || typeof jose.importJWK !== "function") throw new Error("jose");`,
  },
  {
    name: "WebCrypto: first RSA key import + first verification",
    source: `const { generateKeyPairSync } = require("node:crypto");
const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
const rs256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const started = performance.now();
exports.ready = crypto.subtle.importKey("jwk", jwk, rs256, false, ["verify"])
  .then((key) => crypto.subtle.verify(rs256, key, new Uint8Array(256), new Uint8Array(8)))
  .then(() => { exports.selfMs = performance.now() - started; });`,
  },
];

const PROBE = `const t0 = performance.now();
const m = require(process.argv[1]);
Promise.resolve(m && m.ready).then(() => {
  process.stdout.write(JSON.stringify({ ms: m && m.selfMs !== undefined ? m.selfMs : performance.now() - t0 }) + "\\n");
  process.exit(0);
});`;

/**
 * Measures every component, plus our authorizer bundle in three steps: parsed only, its modules evaluated, and
 * required with the deployed environment (which builds the handler and starts the key-set download).
 * @param dir a temporary directory for the bundled entry points
 * @param oursBundle our bundled authorizer
 * @param env the environment our bundle is required with (a Lambda's, for the cold-start front)
 */
export async function componentCosts(
  dir: string,
  oursBundle: string,
  env: NodeJS.ProcessEnv,
  samples: number,
): Promise<ComponentCost[]> {
  const entries: Array<{ name: string; file: string; env: NodeJS.ProcessEnv }> = [];
  for (const [index, component] of COMPONENTS.entries()) {
    const file = join(dir, `component-${index}.cjs`);
    await build({
      stdin: { contents: component.source, resolveDir: REPO, loader: "js" },
      outfile: file,
      bundle: true,
      minify: true,
      platform: "node",
      format: "cjs",
      target: "node24",
      logLevel: "silent",
    });
    entries.push({ name: component.name, file, env: { PATH: process.env.PATH } });
  }
  await stop(); // esbuild's service must not compete for the CPU while we time
  const parseOnly = join(dir, "ours-parse-only.cjs");
  writeFileSync(parseOnly, `module.exports = function () {\n${readFileSync(oursBundle, "utf8")}\n};\n`);
  entries.push(
    { name: "our bundle, parsed only (a function never called)", file: parseOnly, env: { PATH: process.env.PATH } },
    {
      name: "our bundle, modules evaluated (no STYTCH_*: no handler)",
      file: oursBundle,
      env: { PATH: process.env.PATH },
    },
    { name: "our bundle, as Lambda loads it (handler built, key-set download started)", file: oursBundle, env },
  );
  const times = entries.map(() => [] as number[]);
  for (let i = 0; i < samples; i++) {
    for (const [index, entry] of entries.entries()) times[index]!.push(await timeRequire(entry.file, entry.env));
  }
  return entries.map((entry, index) => ({
    name: entry.name,
    medianMs: median(times[index]!),
    samplesMs: times[index]!.map((t) => Math.round(t * 10) / 10),
  }));
}

function timeRequire(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    const child = spawn(process.execPath, ["-e", PROBE, file], { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => (stdout += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (code !== 0 || !line) {
        reject(new Error(`component probe for ${file} failed (exit ${code}): ${stdout.trim()}`));
        return;
      }
      resolve((JSON.parse(line) as { ms: number }).ms);
    });
  });
}
