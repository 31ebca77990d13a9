// The cookie, CORS and refresh story in a real browser: Debian's Chromium, driven with puppeteer-core, against
// the real `npm start` (spawned as a developer runs it), from the demo page's own origin. curl enforces none of
// a browser's rules (SameSite, Secure, preflights, credentialed CORS, opaque CORS failures); this does.
//
// Without a Chromium the file is skipped with one line saying how to enable it; in CI (CI=true) it never is.

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import puppeteer, { type Browser, type CDPSession, type Cookie, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNAVAILABLE_REASON } from "../lambda/lib/response/unavailable";
import { BANNER_END, freePort, type NpmStart, spawnNpmStart, waitFor } from "./support/npm-start";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM && !process.env.CI) {
  console.warn(
    `browser test skipped: no Chromium at ${CHROMIUM}. Enable it with: sudo apt-get install chromium (or set CHROMIUM_PATH)`,
  );
}
const ARTIFACTS = path.resolve(__dirname, "..", "test-artifacts", "browser");
/** Flags for a machine without network access: nothing phones home, nothing waits for it. */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

interface CallResult {
  label: string;
  method: string;
  path: string;
  status: number | "network error";
  reason: string;
  message: string;
  retryAfter: string | null;
  json?: { session_jwt?: string; member?: Record<string, unknown> } & Record<string, unknown>;
}
interface SentRequest {
  method: string;
  url: string;
  /** Headers the page set (no cookies). */
  headers: Record<string, string>;
  /** The Cookie header as it went on the wire. */
  cookie?: string;
}

let server: NpmStart;
let apiUrl: string;
let demoUrl: string;
let browser: Browser;
let page: Page;
let userDataDir: string;
let foreign: Server;
let foreignUrl: string;
const sent = new Map<string, SentRequest>();

describe.skipIf(!HAVE_CHROMIUM && !process.env.CI)("the demo page in Chromium, against npm start", () => {
  beforeAll(async () => {
    const [port, demoPort, foreignPort] = [await freePort(), await freePort(), await freePort()];
    server = spawnNpmStart({ PORT: String(port), DEMO_PORT: String(demoPort) });
    await waitFor(
      () => server.output().includes(BANNER_END),
      30_000,
      () => `no banner; output so far:\n${server.output()}`,
    );
    apiUrl = `http://127.0.0.1:${port}`;
    demoUrl = `http://127.0.0.1:${demoPort}`;
    // A page on another origin of the same site: its fetches carry the member's SameSite=Lax cookies, so only CORS
    // and refresh's origin check stand between it and the member's session.
    foreign = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>foreign</title><p>another app"),
    );
    await new Promise<void>((resolve) => foreign.listen(foreignPort, "127.0.0.1", resolve));
    foreignUrl = `http://127.0.0.1:${foreignPort}`;

    userDataDir = await mkdtemp(path.join(tmpdir(), "chromium-profile-"));
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, userDataDir, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    await watchRequests(await page.createCDPSession());
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (foreign ? foreign.close(resolve) : resolve(undefined)));
    server?.kill();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  it("npm start prints the API and the demo page, each on one line", () => {
    expect(server.output()).toMatch(new RegExp(`^API: ${apiUrl}$`, "m"));
    expect(server.output()).toMatch(new RegExp(`^Demo page: ${demoUrl}$`, "m"));
  });

  it("logs in on the demo page; GET /me with cookies only (no Authorization header) is 200 with the member", async () => {
    await page.goto(demoUrl);
    await page.click("#login"); // the "viewer" role is ticked by default
    await page.waitForFunction(() => (globalThis as unknown as DemoWindow).demo.member !== null, { timeout: 10_000 });
    const [login, me] = await results();
    expect(login).toMatchObject({ label: "login", status: 200 });
    expect(me).toMatchObject({ label: "me", status: 200 });
    expect(me!.json!.member).toMatchObject({
      authMethod: "jwt",
      organizationId: login!.json!.organization_id,
      memberId: login!.json!.member_id,
    });
    expect(me!.json!.member!.roles).toContain("viewer");
    // On the wire: the JWT cookie, and no Authorization header.
    const request = lastSent("GET", `${apiUrl}/me`);
    expect(request.headers).not.toHaveProperty("authorization");
    expect(request.headers).not.toHaveProperty("Authorization");
    expect(request.cookie).toContain(`stytch_session_jwt=${login!.json!.session_jwt}`);
    // The page shows the member.
    expect(await text("#member-id")).toBe(login!.json!.member_id);
    expect(await text("#member-roles")).toContain("viewer");

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "demo-after-login.png"), fullPage: true });
  });

  it("keeps the cookies the way the Stytch SDK writes them: host-only, Path=/, SameSite=Lax, readable by scripts", async () => {
    const jar = await cookies();
    for (const name of ["stytch_session", "stytch_session_jwt"]) {
      expect(jar[name], name).toMatchObject({ domain: "127.0.0.1", path: "/", sameSite: "Lax", httpOnly: false });
      // Expires with the session (Stytch's default 60 minutes here), not with the 5-minute JWT.
      expect(jar[name]!.expires * 1000, name).toBeGreaterThan(Date.now() + 30 * 60_000);
    }
  });

  it("reads a garbage bearer token's 401 as JSON, not as a CORS failure", async () => {
    const garbage = await act("garbage");
    expect(garbage).toMatchObject({ status: 401, reason: "unauthorized", message: "Unauthorized" });
  });

  it("reads a Stytch outage as a 503 with Retry-After, from the gateway and from refresh; the page retries, the session survives", async () => {
    expect(await act("outage-on")).toMatchObject({ status: 200 });
    const opaque = await act("opaque"); // the opaque session token needs Stytch; a valid JWT would not
    expect(opaque).toMatchObject({ status: 503, reason: UNAVAILABLE_REASON, retryAfter: "5" });
    const refresh = await act("refresh");
    expect(refresh).toMatchObject({ status: 503, reason: UNAVAILABLE_REASON, retryAfter: "5" });
    expect(await act("outage-off")).toMatchObject({ status: 200 });
    // An outage is not a logout: the cookies are still there, and the page retries after Retry-After.
    expect(Object.keys(await cookies())).toEqual(expect.arrayContaining(["stytch_session", "stytch_session_jwt"]));
    await page.waitForFunction(
      () =>
        (globalThis as unknown as DemoWindow).demo.results.some(
          (r) => r.label === "refresh (retry)" && r.status === 200,
        ),
      { timeout: 10_000 },
    );
  });

  it("refresh rotates the JWT cookie in the browser's own jar (Secure is accepted on http loopback), and the next /me sends the new one", async () => {
    const before = (await cookies()).stytch_session_jwt!.value;
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // a new iat second, so a new JWT
    const refresh = await act("refresh");
    expect(refresh).toMatchObject({ status: 200 });
    const rotated = await cookies();
    const after = rotated.stytch_session_jwt!;
    expect(after.value).not.toBe(before);
    expect(after.value).toBe(refresh.json!.session_jwt);
    // Refresh writes Secure cookies; Chromium keeps them on http://127.0.0.1 (a potentially trustworthy origin).
    expect(after).toMatchObject({ secure: true, sameSite: "Lax", path: "/", domain: "127.0.0.1", httpOnly: false });

    const me = await act("me");
    expect(me).toMatchObject({ status: 200 });
    const request = lastSent("GET", `${apiUrl}/me`);
    expect(request.cookie).toContain(`stytch_session_jwt=${after.value}`);
    expect(request.cookie).not.toContain(before);
  });

  it("refreshes the JWT by itself before it expires, without reloading the page", async () => {
    // refresh_lead=297: refresh 297 s before the 300 s JWT expires, i.e. about 3 s from now.
    await page.goto(`${demoUrl}/?refresh_lead=297`);
    await page.waitForFunction(() => (globalThis as unknown as DemoWindow).demo.member !== null, { timeout: 10_000 });
    const loadedAt = await page.evaluate(() => (globalThis as unknown as DemoWindow).demo.loadedAt);
    const before = (await cookies()).stytch_session_jwt!.value;
    await page.waitForFunction(() => (globalThis as unknown as DemoWindow).demo.refreshes > 0, { timeout: 15_000 });
    const automatic = (await results()).find((r) => r.label === "refresh (automatic)");
    expect(automatic).toMatchObject({ status: 200 });
    expect(await page.evaluate(() => (globalThis as unknown as DemoWindow).demo.loadedAt)).toBe(loadedAt); // same document
    expect((await cookies()).stytch_session_jwt!.value).not.toBe(before);
    await page.goto(demoUrl); // back to the default lead (60 s), so nothing refreshes during the next tests
    await page.waitForFunction(() => (globalThis as unknown as DemoWindow).demo.member !== null, { timeout: 10_000 });
  });

  it("a viewer gets a readable 200 from a permitted route and a readable 403 from a forbidden one", async () => {
    const documents = await act("documents");
    const billing = await act("billing");
    expect(documents).toMatchObject({ status: 200 });
    expect(documents!.json).toMatchObject({ documents: expect.any(Array) });
    // The 403 body names the reason: not permitted, as opposed to "step up".
    expect(billing).toMatchObject({ status: 403, reason: "permission_denied" });
  });

  it("an admin whose MFA is 20 minutes old reads a 403 step_up_required from billing; impersonated, impersonation_refused; MFA just now, 200", async () => {
    await page.click('input[name="role"][value="admin"]');
    try {
      for (const [choice, expected] of [
        ["mfa-20", { status: 403, reason: "step_up_required" }],
        ["impersonated", { status: 403, reason: "impersonation_refused" }],
        ["mfa-now", { status: 200 }],
      ] as const) {
        await page.select("#factors", choice);
        expect(await act("login")).toMatchObject({ status: 200 });
        expect(await act("billing"), choice).toMatchObject(expected);
      }
      // The page shows how the member authenticated, from the context's factors.
      expect(await text("#member-factors")).toMatch(/^magic_link\/email at .*, totp\/authenticator_app at /);
      await page.screenshot({ path: path.join(ARTIFACTS, "demo-step-up.png"), fullPage: true });
    } finally {
      await page.click('input[name="role"][value="admin"]');
    }
  });

  it("gives a page on a foreign origin no credentialed access: unreadable answers, refresh, switch and logout refused with 403", async () => {
    const jwtBefore = (await cookies()).stytch_session_jwt!.value;
    const logStart = server.output().length;
    const other = await browser.newPage();
    try {
      await other.goto(foreignUrl);
      const outcomes = await other.evaluate(async (api: string) => {
        const attempt = async (path: string, init: RequestInit) => {
          try {
            const res = await fetch(api + path, { credentials: "include", ...init });
            return `read ${res.status}: ${await res.text()}`;
          } catch (error) {
            return `refused (${(error as Error).name})`;
          }
        };
        return {
          me: await attempt("/me", {}),
          refresh: await attempt("/auth/refresh", { method: "POST" }),
          // A simple request (text/plain body, no preflight): it reaches the server, with the member's cookies.
          switch: await attempt("/auth/switch-organization", {
            method: "POST",
            body: JSON.stringify({ organization_id: "organization-test-00000000-0000-4000-8000-000000000000" }),
          }),
          logout: await attempt("/dev/logout", { method: "POST" }),
          preflighted: await attempt("/me", { headers: { authorization: "Bearer x" } }),
        };
      }, apiUrl);
      expect(outcomes).toEqual({
        me: "refused (TypeError)",
        refresh: "refused (TypeError)",
        switch: "refused (TypeError)",
        logout: "refused (TypeError)",
        preflighted: "refused (TypeError)",
      });
    } finally {
      await other.close();
    }
    // What the server did: refresh and logout refused the foreign origin, and the preflight let nothing through.
    const log = () => server.output().slice(logStart);
    await waitFor(() => /^POST \/dev\/logout 403 /m.test(log()), 5_000, log);
    expect(log()).toMatch(/^POST \/auth\/refresh 403 authorizer=- /m);
    expect(log()).toMatch(/^POST \/auth\/switch-organization 403 authorizer=- /m);
    // The call with an Authorization header needs a preflight, which names no origin for this page: the browser
    // never sent the GET itself, so the authorizer never saw the bogus token.
    expect(log()).toMatch(/^OPTIONS \/me 204 /m);
    expect(log()).not.toMatch(/^GET \/me 401 /m);
    // The member's session is untouched: same JWT cookie, still logged in.
    expect((await cookies()).stytch_session_jwt?.value).toBe(jwtBefore);
    expect(await act("me")).toMatchObject({ status: 200 });
  });

  it("works the same when the page is opened on localhost: it then calls the API on localhost, same-site again", async () => {
    const local = await browser.newPage();
    try {
      const localhostDemo = demoUrl.replace("127.0.0.1", "localhost");
      await local.goto(localhostDemo);
      expect(
        await local.evaluate(() => (globalThis as unknown as DemoWindow & { demo: { api: string } }).demo.api),
      ).toBe(apiUrl.replace("127.0.0.1", "localhost"));
      await local.click("#login");
      await local.waitForFunction(() => (globalThis as unknown as DemoWindow).demo.member !== null, {
        timeout: 10_000,
      });
      const all = await local.evaluate(() => (globalThis as unknown as DemoWindow).demo.results);
      expect(all.map((r) => [r.label, r.status])).toEqual([
        ["login", 200],
        ["me", 200],
      ]);
      const jar = (await browser.cookies())
        .filter((cookie) => cookie.domain === "localhost")
        .map((cookie) => cookie.name);
      expect(jar.sort()).toEqual(["stytch_session", "stytch_session_jwt"]);
    } finally {
      await local.close();
    }
  });

  it("switches organization: a full switch rotates both cookies and /me shows the new organization; one that needs MFA sets no cookie", async () => {
    const before = await cookies();
    const globex = await act("switch-globex", 2); // then GET /me
    expect(globex).toMatchObject({ status: 200, json: { member_authenticated: true, organization_slug: "globex" } });
    const switched = await cookies();
    expect(switched.stytch_session_jwt!.value).toBe(globex.json!.session_jwt);
    expect(switched.stytch_session!.value).not.toBe(before.stytch_session!.value);
    expect(switched.stytch_session_jwt).toMatchObject({ secure: true, sameSite: "Lax", domain: "127.0.0.1" });
    expect((await results()).at(-1)).toMatchObject({ label: "me", status: 200 });
    expect(await text("#member-organization")).toMatch(/^globex /);

    const initech = await act("switch-initech");
    expect(initech).toMatchObject({
      status: 200,
      json: {
        member_authenticated: false,
        organization_slug: "initech",
        intermediate_session_token: expect.any(String),
      },
    });
    // Not half a session: the jar still holds the globex session, untouched.
    const after = await cookies();
    expect(after.stytch_session_jwt!.value).toBe(switched.stytch_session_jwt!.value);
    expect(after.stytch_session!.value).toBe(switched.stytch_session!.value);
    expect(await act("me")).toMatchObject({ status: 200, json: { member: { organizationSlug: "globex" } } });
  });

  it("logs out: both cookies leave the jar, and GET /me is then a readable 401", async () => {
    expect(await act("logout")).toMatchObject({ status: 200 });
    const jar = await cookies();
    expect(jar).not.toHaveProperty("stytch_session");
    expect(jar).not.toHaveProperty("stytch_session_jwt");
    const me = (await results()).at(-1)!;
    expect(me).toMatchObject({ label: "me", status: 401, reason: "unauthorized" });
    expect(lastSent("GET", `${apiUrl}/me`).cookie ?? "").not.toContain("stytch_session");
    expect(await text("#member-id")).toBe("—");
  });
});

interface DemoWindow {
  demo: {
    member: unknown;
    results: CallResult[];
    refreshes: number;
    loadedAt: number;
    actions: Record<string, () => Promise<CallResult>>;
  };
}

/** Clicks the page's button `id` and returns the call it made (its first, for buttons that make two). */
async function act(id: string, expectedCalls?: number): Promise<CallResult> {
  const count = (await results()).length;
  const calls = expectedCalls ?? (id === "login" || id === "logout" ? 2 : 1); // both follow up with GET /me
  await page.click(`#${id}`);
  await page.waitForFunction(
    (n: number) => (globalThis as unknown as DemoWindow).demo.results.length >= n,
    { timeout: 15_000 },
    count + calls,
  );
  return (await results())[count]!;
}

function results(): Promise<CallResult[]> {
  return page.evaluate(() => (globalThis as unknown as DemoWindow).demo.results);
}

async function text(selector: string): Promise<string> {
  return page.$eval(selector, (element) => element.textContent ?? "");
}

/** The browser's cookies for the API's host, by name. */
async function cookies(): Promise<Record<string, Cookie>> {
  const all = await browser.cookies();
  return Object.fromEntries(
    all.filter((cookie) => cookie.domain === "127.0.0.1").map((cookie) => [cookie.name, cookie]),
  );
}

/** Records each request's method, URL, page-set headers and the Cookie header that actually went on the wire. */
async function watchRequests(session: CDPSession): Promise<void> {
  await session.send("Network.enable");
  session.on("Network.requestWillBeSent", (event) => {
    const known = sent.get(event.requestId);
    sent.set(event.requestId, {
      ...known,
      method: event.request.method,
      url: event.request.url,
      headers: event.request.headers as Record<string, string>,
    });
  });
  session.on("Network.requestWillBeSentExtraInfo", (event) => {
    const headers = event.headers as Record<string, string>;
    const cookie = headers.cookie ?? headers.Cookie;
    const known = sent.get(event.requestId) ?? { method: "", url: "", headers: {} };
    sent.set(event.requestId, { ...known, ...(cookie === undefined ? {} : { cookie }) });
  });
}

function lastSent(method: string, url: string): SentRequest {
  const matching = [...sent.values()].filter((request) => request.method === method && request.url === url);
  if (matching.length === 0) throw new Error(`no ${method} ${url} was sent`);
  return matching.at(-1)!;
}
