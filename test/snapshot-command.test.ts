// The snapshot command (`npm run snapshot -- --out <file>`; the package's bin runs the same file, see
// consumer.test.ts), run as a user runs it, against the loopback Stytch emulator.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { loadSnapshot } from "../lambda/lib/config";
import { DEMO_RBAC_POLICY, type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";
import { useStytchEmulator } from "./support/fixtures";
import { emulatorEnvironment } from "./support/snapshots";

const REPO = path.resolve(__dirname, "..");
const TSX = path.join(REPO, "node_modules", ".bin", "tsx");

let stytch: StytchEmulator;
useStytchEmulator((emulator) => (stytch = emulator));

interface Run {
  readonly code: number;
  readonly output: string;
}

/** Runs the command in a child process (asynchronously: the emulator answers from this one). */
function snapshotCommand(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [path.join(REPO, "scripts", "snapshot.ts"), ...args],
      { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

function scratch(): string {
  return mkdtempSync(path.join(tmpdir(), "stytch-snapshot-command-"));
}

describe("npm run snapshot -- --out <file>", () => {
  test("writes a snapshot of the project that the authorizer loads, with the key set and the RBAC policy, and never the secret", async () => {
    const out = path.join(scratch(), "stytch-snapshot.json");
    const run = await snapshotCommand(["snapshot", "--out", out], emulatorEnvironment(stytch));
    expect(run.code).toBe(0);
    expect(run.output).toContain(`wrote ${out}: project ${stytch.projectId}, 1 key(s), 5 role(s)`);
    const text = readFileSync(out, "utf8");
    expect(text).not.toContain(stytch.secret);
    expect(run.output).not.toContain(stytch.secret);
    const loaded = loadSnapshot({ STYTCH_SNAPSHOT_FILE: out }, stytch.projectId, Date.now())!;
    expect(loaded.snapshot.jwks.keys.map((key) => key.kid)).toEqual([stytch.currentKid]);
    expect(loaded.snapshot.rbac_policy).toEqual(DEMO_RBAC_POLICY);
    expect(loaded.snapshot.api_url).toBe(stytch.url);
    expect(Date.now() - loaded.takenAtMs).toBeLessThan(60_000);
  });

  test("a wrong secret: nothing is written, the failure is named, and the secret is not printed", async () => {
    const folder = scratch();
    const secret = "secret-test-WRONG-AND-RECOGNISABLE-0123456789";
    const run = await snapshotCommand(["--out", path.join(folder, "s.json")], {
      ...emulatorEnvironment(stytch),
      STYTCH_SECRET: secret,
    });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(
      /no snapshot written: the RBAC policy could not be fetched: Stytch refused the project credentials/,
    );
    expect(run.output).not.toContain(secret);
    expect(readdirSync(folder)).toEqual([]);
  });

  test("Stytch unreachable: nothing is written", async () => {
    const folder = scratch();
    stytch.faults.jwks = "503";
    const run = await snapshotCommand(["--out", path.join(folder, "s.json")], emulatorEnvironment(stytch));
    expect(run.code).toBe(1);
    expect(run.output).toContain(
      "no snapshot written: the key set could not be fetched: JWKS endpoint answered HTTP 503",
    );
    expect(readdirSync(folder)).toEqual([]);
  });

  test("a key set the authorizer would not use (1024-bit keys) makes no snapshot: it refuses to write what fails its own check", async () => {
    const weak = await startStytchEmulator({ keyBits: 1024 });
    try {
      const folder = scratch();
      const run = await snapshotCommand(["--out", path.join(folder, "s.json")], emulatorEnvironment(weak));
      expect(run.code).toBe(1);
      expect(run.output).toContain("it holds no usable key");
      expect(readdirSync(folder)).toEqual([]);
    } finally {
      await weak.close();
    }
  });

  test.each([
    ["without --out", [], {}],
    ["with an unknown argument", ["--output", "x.json"], {}],
  ])("%s: usage, exit code 2", async (_, args, env) => {
    const run = await snapshotCommand(args, { ...emulatorEnvironment(stytch), ...env });
    expect(run.code).toBe(2);
    expect(run.output).toContain("Usage: stytch-b2b-apigw-authorizer snapshot --out <file>");
  });

  test("settings are checked by the authorizer's rules: no project ID, or an ARN instead of the secret", async () => {
    const out = path.join(scratch(), "s.json");
    const noProject = await snapshotCommand(["--out", out], { STYTCH_SECRET: "secret" });
    expect(noProject.code).toBe(1);
    expect(noProject.output).toContain("STYTCH_PROJECT_ID is missing or is not a Stytch project ID");
    const arn = await snapshotCommand(["--out", out], {
      STYTCH_PROJECT_ID: stytch.projectId,
      STYTCH_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stytch-AbCdEf",
    });
    expect(arn.output).toContain("set STYTCH_SECRET to the project secret");
    expect(existsSync(out)).toBe(false);
  });
});
