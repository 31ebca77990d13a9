// Cold start, measured from outside: spawn a fresh `node` running the bundled authorizer, and stop the
// clock when its first answer (an Allow) arrives on the pipe. That includes node's own start-up, loading
// and initialising the bundle, the TLS handshake and JWKS fetch from loopback, and the first verification.
// It does not include what Lambda adds around it (sandbox, runtime bootstrap, downloading the code).

import { spawn } from "node:child_process";

/** One cold start. All times in milliseconds. */
export interface ColdStartSample {
  /** From `spawn()` to the Allow line, seen by the parent. */
  readonly spawnToAllowMs: number;
  /** Inside the child: from its time origin to the probe's first line (node's own start-up). */
  readonly bootedMs: number;
  /** Inside the child: from its time origin to the end of `require(bundle)` (the authorizer's init). */
  readonly loadedMs: number;
  /** Inside the child: from its time origin to the Allow. */
  readonly allowMs: number;
}

/**
 * Runs one cold start.
 * @param probePath the bundled cold-start probe (.cjs)
 * @param bundlePath the authorizer bundle under test
 * @param env the child's whole environment (nothing is inherited, so nothing leaks in from tsx)
 * @param expectedSub the member the token names: anything but an Allow for them is an error
 */
export function coldStart(
  probePath: string,
  bundlePath: string,
  env: NodeJS.ProcessEnv,
  expectedSub: string,
): Promise<ColdStartSample> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let arrived: bigint | undefined;
    let stdout = "";
    let stderr = "";
    const child = spawn(process.execPath, [probePath, bundlePath], { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      // The handler writes its EMF metrics record to stdout too: the probe's report is the line that counts.
      if (arrived === undefined && stdout.split("\n").slice(0, -1).some(isProbeReport))
        arrived = process.hrtime.bigint();
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = stdout.split("\n").find(isProbeReport);
      const report = line
        ? (JSON.parse(line) as {
            effect?: string;
            principalId?: string;
            bootedMs?: number;
            loadedMs?: number;
            allowMs?: number;
            error?: string;
          })
        : {};
      if (code !== 0 || arrived === undefined || report.effect !== "Allow" || report.principalId !== expectedSub) {
        reject(
          new Error(
            `cold start of ${bundlePath} did not Allow (exit ${code}): ${report.error ?? stdout.trim()} ${stderr.trim()}`,
          ),
        );
        return;
      }
      resolve({
        spawnToAllowMs: Number(arrived - started) / 1e6,
        bootedMs: report.bootedMs!,
        loadedMs: report.loadedMs!,
        allowMs: report.allowMs!,
      });
    });
  });
}

/** The probe's one JSON line (`{"effect":…}` or `{"error":…}`), as opposed to the handler's own output. */
function isProbeReport(line: string): boolean {
  return line.startsWith('{"effect"') || line.startsWith('{"error"');
}
