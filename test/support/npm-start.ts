// Running `npm start` the way a developer does (npx tsx local/server.ts), on free ports, for end-to-end tests.

import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
/** The last line of the start-up banner. */
export const BANNER_END = "Ctrl+C to stop.";

/** A spawned `npm start`; `output()` is everything it printed so far (stdout and stderr). */
export interface NpmStart {
  readonly child: ChildProcess;
  output(): string;
  /** SIGKILLs the whole process group (npx → tsx → node) if it is still running. */
  kill(): void;
}

/**
 * Spawns the CLI in its own process group (so a test can Ctrl+C the whole chain like a terminal does), as on a
 * fresh checkout: no Stytch project (so the emulator), and no test-runner logging settings.
 */
export function spawnNpmStart(env: Record<string, string>): NpmStart {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of Object.keys(childEnv))
    if (/^(STYTCH_|REFRESH_|POWERTOOLS_|CORS_)/.test(name) && !(name in env)) delete childEnv[name];
  const child = spawn("npx", ["tsx", "local/server.ts"], {
    cwd: REPO_ROOT,
    env: childEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    output: () => output,
    kill: () => {
      if (child.pid && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
  };
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Polls `condition` every 50 ms; throws `describe()` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
