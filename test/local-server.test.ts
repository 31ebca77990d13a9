// `npm start` itself: the CLI is spawned as a developer would run it (npx tsx local/server.ts), on a free
// port, and driven over HTTP, including the curl walkthrough it prints, pasted into bash as printed.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROUTES } from "../infra/routes";

const REPO_ROOT = path.resolve(__dirname, "..");
const ME = API_ROUTES.find((route) => route.entry === "lambda/me.ts")!;
const BANNER_END = "Ctrl+C to stop.";

let child: ChildProcess;
let output = "";
let port: number;
let url: string;

beforeAll(async () => {
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  // As on a fresh checkout: no Stytch project (so the emulator), and no test-runner logging settings.
  for (const name of Object.keys(env)) if (/^(STYTCH_|REFRESH_|POWERTOOLS_)/.test(name)) delete env[name];
  // Its own process group, so the test can Ctrl+C the whole npx → tsx → node chain like a terminal does.
  child = spawn("npx", ["tsx", "local/server.ts"], { cwd: REPO_ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => output.includes(BANNER_END), 20_000, () => `no banner; output so far:\n${output}`);
}, 30_000);

afterAll(() => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

describe("npm start", () => {
  it("prints its URL and mode, and answers a dev login and GET /me over HTTP", async () => {
    expect(output).toContain(`Local API listening on ${url} (emulator mode`);
    const login = await fetch(`${url}/dev/login`, { method: "POST", body: JSON.stringify({ roles: ["admin"] }) });
    expect(login.status).toBe(200);
    const { session_jwt, member_id } = (await login.json()) as { session_jwt: string; member_id: string };
    const me = await fetch(`${url}${ME.path}`, { headers: { authorization: `Bearer ${session_jwt}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ member: { memberId: member_id, roles: expect.arrayContaining(["admin"]), authMethod: "jwt" } });
    // The request log line arrives through the child's stdout pipe, possibly a moment after the response.
    const logged = new RegExp(`GET ${ME.path} 200 authorizer=allow:\\w+ `);
    await waitFor(() => logged.test(output), 5_000, () => `no request log line for GET ${ME.path}:\n${output}`);
    expect(output).not.toContain(session_jwt);
  });

  it("prints a curl walkthrough that works when pasted into bash", async () => {
    const script = walkthroughFromBanner(output);
    expect(script).toContain("curl");
    const dir = await mkdtemp(path.join(tmpdir(), "local-walkthrough-"));
    try {
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile("bash", ["-c", script], { cwd: dir, timeout: 15_000 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${out}\n${err}`)) : resolve(out))),
      );
      // login, /me with the JWT, /me with the cookie jar, refresh, logout, 401 for the opaque token, /me with the JWT
      const members = stdout.match(/"authMethod":"jwt"/g) ?? [];
      expect(members.length, stdout).toBe(3);
      expect(stdout).toMatch(/"session_expires_at"/); // the refresh answer
      expect(stdout).toContain('{"revoked":true}');
      expect(stdout).toMatch(/HTTP\/1\.1 401 Unauthorized/);
      expect(stdout).not.toMatch(/HTTP\/1\.1 5\d\d/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("stops cleanly on Ctrl+C", async () => {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    process.kill(-child.pid!, "SIGINT");
    await exited;
    await waitFor(() => output.includes("stopping the local API"), 5_000, () => output);
    // The exit summary counts the decisions of the tests above (at least the walkthrough's allows and its 401).
    expect(output).toMatch(/\ndecisions: \d+ allow \((cache|local) \d+.*\), \d+ deny \(.+\), \d+ fault/);
    // The server itself (not just npx) is gone: nothing listens on the port any more.
    await waitFor(async () => (await fetch(url).then(() => false, () => true)), 5_000, () => "the port still answers");
  });
});

/** The walkthrough lines of the banner, as a bash script (the banner indents them by two spaces). */
function walkthroughFromBanner(text: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.startsWith("Try it"));
  const end = lines.findIndex((line, i) => i > start && line.trim() === "");
  return lines
    .slice(start + 1, end)
    .map((line) => line.replace(/^ {2}/, ""))
    .join("\n");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
