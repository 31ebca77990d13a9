// `npm start` itself: the CLI is spawned as a developer would run it (npx tsx local/server.ts), on a free
// port, and driven over HTTP, including the curl walkthrough it prints, pasted into bash as printed.

import { type ChildProcess, execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROUTES } from "../infra/demo/routes";
import { BANNER_END, freePort, type NpmStart, spawnNpmStart, waitFor } from "./support/npm-start";

const ME = API_ROUTES.find((route) => route.entry === "lambda/demo/me.ts")!;

let server: NpmStart;
let child: ChildProcess;
let port: number;
let url: string;
let demoUrl: string;
const output = () => server.output();

beforeAll(async () => {
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const demoPort = await freePort();
  demoUrl = `http://127.0.0.1:${demoPort}`;
  server = spawnNpmStart({ PORT: String(port), DEMO_PORT: String(demoPort) });
  child = server.child;
  await waitFor(
    () => output().includes(BANNER_END),
    20_000,
    () => `no banner; output so far:\n${output()}`,
  );
}, 30_000);

afterAll(() => server?.kill());

describe("npm start", () => {
  it("prints the API and demo page URLs as two lines, its mode, and answers a dev login and GET /me over HTTP", async () => {
    expect(output()).toMatch(new RegExp(`^API: ${url}$`, "m"));
    expect(output()).toMatch(new RegExp(`^Demo page: ${demoUrl}$`, "m"));
    expect(output()).toContain("Emulator mode: embedded Stytch");
    const login = await fetch(`${url}/dev/login`, { method: "POST", body: JSON.stringify({ roles: ["admin"] }) });
    expect(login.status).toBe(200);
    const { session_jwt, member_id } = (await login.json()) as { session_jwt: string; member_id: string };
    const me = await fetch(`${url}${ME.path}`, { headers: { authorization: `Bearer ${session_jwt}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      member: { memberId: member_id, roles: expect.arrayContaining(["admin"]), authMethod: "jwt" },
    });
    // The request log line arrives through the child's stdout pipe, possibly a moment after the response.
    const logged = new RegExp(`GET ${ME.path} 200 authorizer=allow:\\w+ `);
    await waitFor(
      () => logged.test(output()),
      5_000,
      () => `no request log line for GET ${ME.path}:\n${output()}`,
    );
    expect(output()).not.toContain(session_jwt);
  });

  it("prints a curl walkthrough that works when pasted into bash, and writes nothing into the folder it runs in", async () => {
    const script = walkthroughFromBanner(output());
    expect(script).toContain("curl");
    const dir = await mkdtemp(path.join(tmpdir(), "local-walkthrough-"));
    try {
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile("bash", ["-c", script], { cwd: dir, timeout: 15_000 }, (error, out, err) =>
          error ? reject(new Error(`${error.message}\n${out}\n${err}`)) : resolve(out),
        ),
      );
      // login, /me with the JWT, /me with the cookie jar, refresh, logout, 401 for the opaque token, /me with the JWT,
      // and after the organization switch /me with the switched cookie jar
      const members = stdout.match(/"authMethod":"jwt"/g) ?? [];
      expect(members.length, stdout).toBe(4);
      // The organization switch: a session in globex (its cookies in the jar, /me in globex), then initech's MFA.
      expect(stdout).toMatch(/\{"member_authenticated":true,"session_jwt":"[^"]+",.*"organization_slug":"globex"\}/);
      expect(stdout).toMatch(/"organizationSlug":"globex","roles":\["stytch_member"\],"authMethod":"jwt"/);
      expect(stdout).toMatch(
        /\{"member_authenticated":false,"intermediate_session_token":"[\w-]+",.*"organization_slug":"initech",/,
      );
      expect(stdout).toMatch(/"session_expires_at"/); // the refresh answer
      expect(stdout).toContain('{"revoked":true}');
      expect(stdout).toMatch(/HTTP\/1\.1 401 Unauthorized/);
      expect(stdout).not.toMatch(/HTTP\/1\.1 5\d\d/);
      // Per-route permissions: admin billing 200, viewer documents 200, viewer billing 403, another organization 403;
      // step-up: MFA 20 minutes ago 403, impersonated 403.
      expect(
        [...stdout.matchAll(/ HTTP (\d{3})$/gm)].map((match) => match[1]),
        stdout,
      ).toEqual(["200", "200", "403", "403", "403", "403"]);
      // The 403 bodies tell "step up" from "not permitted".
      expect(stdout).toContain('{"message":"Forbidden","reason":"permission_denied"}  HTTP 403');
      expect(stdout).toContain('{"message":"Forbidden","reason":"step_up_required"}  HTTP 403');
      expect(stdout).toContain('{"message":"Forbidden","reason":"impersonation_refused"}  HTTP 403');
      expect(stdout).toContain('"billing":{"plan"');
      // Its cookie jar and login answer went to a temporary folder (removed at the end), not where it was pasted.
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("prints a machines-and-agents walkthrough that works when pasted into bash", async () => {
    const script = walkthroughFromBanner(output(), "Machines and agents");
    expect(script).toContain("/dev/m2m-client");
    const dir = await mkdtemp(path.join(tmpdir(), "local-machines-"));
    try {
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile("bash", ["-c", script], { cwd: dir, timeout: 15_000 }, (error, out, err) =>
          error ? reject(new Error(`${error.message}\n${out}\n${err}`)) : resolve(out),
        ),
      );
      // M2M on its route 200, on /me 403; the agent on its member's documents 200, elsewhere 403, on billing 403.
      expect(
        [...stdout.matchAll(/ HTTP (\d{3})$/gm)].map((match) => match[1]),
        stdout,
      ).toEqual(["200", "403", "200", "403", "403"]);
      expect(stdout).toContain(
        `www-authenticate: Bearer resource_metadata="${url}/.well-known/oauth-protected-resource"`,
      );
      const metadata = JSON.parse(stdout.split("\n").find((line) => line.startsWith('{"resource"'))!);
      expect(metadata).toMatchObject({
        resource: url,
        scopes_supported: ["read:documents", "write:documents"],
        bearer_methods_supported: ["header"],
      });
      expect(metadata.authorization_servers[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(stdout).toContain('"usage":[');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("stops cleanly on Ctrl+C", async () => {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    process.kill(-child.pid!, "SIGINT");
    await exited;
    await waitFor(() => output().includes("stopping the local API"), 5_000, output);
    // The exit summary counts the decisions of the tests above (at least the walkthrough's allows and its 401).
    expect(output()).toMatch(
      /\ndecisions: \d+ allow \((cache|local) \d+.*\), \d+ deny \(.+\), \d+ forbidden \(.+\), \d+ unproven(?: \(.+\))?, \d+ fault/,
    );
    // The server itself (not just npx) is gone: nothing listens on either port any more.
    await waitFor(
      async () =>
        await fetch(url).then(
          () => false,
          () => true,
        ),
      5_000,
      () => "the port still answers",
    );
    await waitFor(
      async () =>
        await fetch(demoUrl).then(
          () => false,
          () => true,
        ),
      5_000,
      () => "the demo page still answers",
    );
  });
});

/** The walkthrough lines of the banner, as a bash script (the banner indents them by two spaces). */
function walkthroughFromBanner(text: string, heading = "Try it"): string {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.startsWith(heading));
  const end = lines.findIndex((line, i) => i > start && line.trim() === "");
  return lines
    .slice(start + 1, end)
    .map((line) => line.replace(/^ {2}/, ""))
    .join("\n");
}
