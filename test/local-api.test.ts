// End-to-end tests of the local API (`npm start`) over real HTTP: the route table behind the real authorizer,
// the embedded Stytch emulator, the dev login/logout routes and the request log.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { API_ROUTES } from "../infra/demo/routes";
import { logger } from "../lambda/lib/operations/log";
import { AUTHORIZER_FUNCTION_NAME, type LocalApi, startLocalApi } from "../local/local-api";
import { banner } from "../local/walkthrough";

const ME = API_ROUTES.find((route) => route.entry === "lambda/demo/me.ts")!;
const REFRESH = API_ROUTES.find((route) => route.entry === "lambda/refresh.ts")!;
const SWITCH = API_ROUTES.find((route) => route.entry === "lambda/switch-organization.ts")!;

let api: LocalApi;
const logLines: string[] = [];
/** The browser app allowed to call the API with credentials (the demo page's role in npm start). */
const APP_ORIGIN = "http://localhost:5173";
const FOREIGN_ORIGIN = "http://127.0.0.1:6666";

beforeAll(async () => {
  // The handlers' own structured logs would drown the test output; the log-leak test turns them back on.
  logger.setLogLevel("SILENT");
  // An explicit env keeps the tests on the embedded emulator even if the shell has real Stytch credentials.
  api = await startLocalApi({ port: 0, env: { CORS_ALLOWED_ORIGINS: APP_ORIGIN }, log: (line) => logLines.push(line) });
});

afterAll(async () => {
  await api?.close();
});

afterEach(() => {
  if (api?.stytch) api.stytch.faults.authenticate = "none";
});

interface Login {
  session_token: string;
  session_jwt: string;
  member_id: string;
  organization_id: string;
}

async function login(body?: unknown): Promise<{ status: number; json: Login; cookies: string[] }> {
  const res = await fetch(`${api.url}/dev/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Login, cookies: res.headers.getSetCookie() };
}

function getMe(headers: Record<string, string> = {}, base = api.url): Promise<Response> {
  return fetch(`${base}${ME.path}`, { method: ME.method, headers });
}

function cookie(setCookies: string[], name: string): string | undefined {
  return setCookies.find((line) => line.startsWith(`${name}=`));
}

function cleared(setCookie: string | undefined): boolean {
  return (
    setCookie !== undefined &&
    /=;/.test(setCookie) &&
    (/Max-Age=0/i.test(setCookie) || /Expires=Thu, 01 Jan 1970/i.test(setCookie))
  );
}

/** The log line of the request answered last. */
function lastLogLine(): string {
  return logLines[logLines.length - 1] ?? "";
}

describe("the local API's project snapshot", () => {
  it("starts the authorizer from a snapshot of the embedded Stytch, taken at start as a deploy takes one", async () => {
    const { loadSnapshot } = await import("../lambda/lib/config");
    const file = process.env.STYTCH_SNAPSHOT_FILE;
    expect(file).toBeDefined();
    const loaded = loadSnapshot({ STYTCH_SNAPSHOT_FILE: file }, api.stytch!.projectId, Date.now())!;
    expect(loaded.snapshot.jwks.keys.map((key) => key.kid)).toContain(api.stytch!.currentKid);
  });
});

describe("the local API", () => {
  it("says at start-up that it runs on the embedded emulator", () => {
    expect(api.mode).toBe("emulator");
    expect(api.stytch).toBeDefined();
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(logLines[0]).toContain(`embedded emulator at ${api.stytch!.url}`);
  });

  it("runs against a configured Stytch project (stytch mode), passing its settings through, without dev routes", async () => {
    const stytch = api.stytch!;
    // "Real" Stytch here is the same emulator, named through the variables a developer would set.
    const configured = await startLocalApi({
      port: 0,
      quiet: true,
      env: { STYTCH_PROJECT_ID: stytch.projectId, STYTCH_SECRET: stytch.secret, STYTCH_API_URL: stytch.url },
    });
    try {
      expect(configured.mode).toBe("stytch");
      expect(configured.stytch).toBeUndefined();
      expect((await fetch(`${configured.url}/dev/login`, { method: "POST" })).status).toBe(404);
      const { json } = await login();
      expect((await getMe({ authorization: `Bearer ${json.session_token}` }, configured.url)).status).toBe(200);
    } finally {
      await configured.close();
    }
  });

  it("fails at start-up on an invalid configuration, or on a second Stytch emulator in the same process, and cleans up", async () => {
    const before = { ...process.env };
    await expect(
      startLocalApi({ port: 0, quiet: true, env: { STYTCH_PROJECT_ID: "not-a-project", STYTCH_SECRET: "s" } }),
    ).rejects.toThrow(/STYTCH_PROJECT_ID/);
    // The handler modules already hold the first emulator's settings; a second one would silently be ignored.
    await expect(startLocalApi({ port: 0, quiet: true, env: {} })).rejects.toThrow(/already loaded/);
    expect(process.env).toEqual(before);
  });

  it("answers 401 Unauthorized to a request without any credential", async () => {
    const res = await getMe();
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ message: "Unauthorized" });
    expect(lastLogLine()).toMatch(/^GET \/me 401 authorizer=missing_credential \d+\.\dms$/);
  });

  it("answers 401 to a garbage bearer token and to an unknown session token", async () => {
    expect((await getMe({ authorization: "Bearer not a token at all" })).status).toBe(401);
    expect((await getMe({ authorization: `Bearer ${"x".repeat(44)}` })).status).toBe(401);
  });

  it("logs in a demo member with the four fields and both cookies set like the Stytch SDK", async () => {
    const { status, json, cookies } = await login();
    expect(status).toBe(200);
    expect(json.session_token).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(json.session_jwt.split(".")).toHaveLength(3);
    expect(json.member_id).toMatch(/^member-test-/);
    expect(json.organization_id).toMatch(/^organization-test-/);
    expect(cookie(cookies, "stytch_session")).toMatch(
      new RegExp(`^stytch_session=${json.session_token}; Path=/; SameSite=Lax; Expires=\\w{3}, `),
    );
    expect(cookie(cookies, "stytch_session_jwt")).toMatch(
      new RegExp(`^stytch_session_jwt=${json.session_jwt.replace(/\./g, "\\.")}; Path=/; SameSite=Lax; Expires=`),
    );
    // Scripts must read them (the SDK writes them with document.cookie), and plain-http localhost would drop Secure ones.
    for (const line of cookies) expect(line).not.toMatch(/HttpOnly|Secure/i);
  });

  it("refuses a login body that is not JSON, or has unknown or invalid fields, with 400", async () => {
    const post = (body: string) =>
      fetch(`${api.url}/dev/login`, { method: "POST", headers: { "content-type": "application/json" }, body });
    for (const body of [
      "{not json",
      "[]",
      '{"organizationSlug":"acme"}',
      '{"roles":"admin"}',
      '{"roles":[""]}',
      '{"email":"nobody"}',
      '{"organization_slug":"A B"}',
      '{"also_member_of":"globex"}',
      '{"also_member_of":["Globex Inc"]}',
      `{"also_member_of":${JSON.stringify(Array.from({ length: 9 }, (_, i) => `org-${i}`))}}`,
      '{"factors":[]}',
      '{"factors":[{"factor":"retina_scan"}]}',
      '{"factors":[{"factor":"totp","minutes_ago":-1}]}',
      '{"factors":[{"factor":"totp","minutes_ago":1441}]}',
      '{"factors":[{"factor":"totp","when":"now"}]}',
      '{"factors":"totp"}',
    ]) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBeTruthy();
    }
  });

  it("answers GET /me with the member who logged in, for the JWT as a bearer token", async () => {
    const { json } = await login({
      roles: ["admin", "editor"],
      organization_slug: "globex",
      email: "ada@globex.example",
    });
    const res = await getMe({ authorization: `Bearer ${json.session_jwt}` });
    expect(res.status).toBe(200);
    const { member } = (await res.json()) as { member: Record<string, unknown> };
    expect(member).toMatchObject({
      memberId: json.member_id,
      organizationId: json.organization_id,
      organizationSlug: "globex",
      email: "ada@globex.example",
      authMethod: "jwt",
    });
    expect(Array.isArray(member.roles)).toBe(true);
    expect(new Set(member.roles as string[])).toEqual(new Set(["stytch_member", "admin", "editor"]));
    expect(lastLogLine()).toMatch(/^GET \/me 200 authorizer=allow:(local|cache) /);
  });

  it("a demo login chooses how the member authenticated; by default an email magic link and TOTP, just now", async () => {
    const plain = await login({ roles: ["admin"] });
    const member = async (jwt: string) =>
      ((await (await getMe({ authorization: `Bearer ${jwt}` })).json()) as { member: Record<string, unknown> }).member;
    expect((await member(plain.json.session_jwt)).authenticationFactors).toEqual([
      expect.objectContaining({ type: "magic_link", deliveryMethod: "email" }),
      expect.objectContaining({ type: "totp", deliveryMethod: "authenticator_app" }),
    ]);
    const stale = await login({ roles: ["admin"], factors: [{ factor: "totp", minutes_ago: 20 }] });
    const [totp] = (await member(stale.json.session_jwt)).authenticationFactors as Array<{
      lastAuthenticatedAt: string;
    }>;
    expect(Date.now() - Date.parse(totp!.lastAuthenticatedAt)).toBeGreaterThanOrEqual(20 * 60_000 - 1_000);
    const support = await login({ roles: ["admin"], factors: [{ factor: "impersonated" }] });
    expect(await member(support.json.session_jwt)).toMatchObject({
      authenticationFactors: [expect.objectContaining({ type: "impersonated" })],
      impersonatorId: expect.stringMatching(/^member-test-/),
    });
  });

  it("answers GET /me for a browser that only has the stytch_session cookie, via the session token", async () => {
    const { json } = await login({ roles: ["viewer"] });
    const res = await getMe({ cookie: `stytch_session=${json.session_token}` });
    expect(res.status).toBe(200);
    const { member } = (await res.json()) as { member: Record<string, unknown> };
    expect(member).toMatchObject({
      memberId: json.member_id,
      organizationId: json.organization_id,
      authMethod: "session_token",
    });
    expect(member.roles).toEqual(expect.arrayContaining(["viewer"]));
    expect(lastLogLine()).toContain("authorizer=allow:remote");
  });

  it("switches organization with the cookies of a member who also belongs elsewhere; initech asks for MFA and sets no cookie", async () => {
    const res = await fetch(`${api.url}/dev/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ roles: ["editor"], also_member_of: ["globex", "initech"] }),
    });
    const json = (await res.json()) as Login & { also_member_of: Record<string, string> };
    expect(Object.keys(json.also_member_of)).toEqual(["globex", "initech"]);
    const jar = `stytch_session=${json.session_token}; stytch_session_jwt=${json.session_jwt}`;
    const switchTo = (organizationId: string | undefined) =>
      fetch(`${api.url}${SWITCH.path}`, {
        method: SWITCH.method,
        headers: { cookie: jar, "content-type": "application/json" },
        body: JSON.stringify({ organization_id: organizationId }),
      });
    const globex = await switchTo(json.also_member_of.globex);
    expect(globex.status).toBe(200);
    const switched = (await globex.json()) as { session_jwt: string; organization_slug: string };
    expect(switched.organization_slug).toBe("globex");
    expect(cookie(globex.headers.getSetCookie(), "stytch_session_jwt")).toContain(switched.session_jwt);
    expect(lastLogLine()).toMatch(/^POST \/auth\/switch-organization 200 /);
    const me = await getMe({ authorization: `Bearer ${switched.session_jwt}` });
    expect(((await me.json()) as { member: { organizationSlug: string; roles: string[] } }).member).toMatchObject({
      organizationSlug: "globex",
      roles: expect.arrayContaining(["editor"]),
    });

    const initech = await switchTo(json.also_member_of.initech);
    expect(initech.status).toBe(200);
    expect(await initech.json()).toMatchObject({ member_authenticated: false, organization_slug: "initech" });
    expect(initech.headers.getSetCookie()).toEqual([]);
  });

  it("refreshes with the session cookie: a new JWT in the body and the stytch_session_jwt cookie rotated", async () => {
    const { json } = await login();
    // JWTs minted within the same second can be identical; make sure the refreshed one is minted later.
    await new Promise((resolve) => setTimeout(resolve, 1_000 - (Date.now() % 1_000) + 20));
    const res = await fetch(`${api.url}${REFRESH.path}`, {
      method: REFRESH.method,
      headers: { cookie: `stytch_session=${json.session_token}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      session_jwt: string;
      member_id: string;
      organization_id: string;
      session_expires_at: string;
    };
    expect(body).toMatchObject({ member_id: json.member_id, organization_id: json.organization_id });
    expect(body.session_jwt.split(".")).toHaveLength(3);
    expect(body.session_jwt).not.toBe(json.session_jwt);
    const jwtCookie = cookie(res.headers.getSetCookie(), "stytch_session_jwt");
    expect(jwtCookie?.split(";")[0]).toBe(`stytch_session_jwt=${body.session_jwt}`);
    // The refreshed JWT is a working credential.
    expect((await getMe({ authorization: `Bearer ${body.session_jwt}` })).status).toBe(200);
  });

  describe("after POST /dev/logout", () => {
    let strict: LocalApi | undefined;
    afterAll(async () => {
      await strict?.close();
    });

    it("rejects the opaque token and refresh at once, while the unexpired JWT works until strict mode is on", async () => {
      const { json } = await login();
      // A strict-mode server on the same emulator, so it sees the same sessions and revocations.
      strict = await startLocalApi({
        port: 0,
        quiet: true,
        env: { STYTCH_MAX_TOKEN_AGE_SECONDS: "0" },
        stytch: api.stytch,
      });
      expect((await getMe({ authorization: `Bearer ${json.session_jwt}` }, strict.url)).status).toBe(200);

      const logout = await fetch(`${api.url}/dev/logout`, {
        method: "POST",
        headers: { cookie: `stytch_session=${json.session_token}; stytch_session_jwt=${json.session_jwt}` },
      });
      expect(logout.status).toBe(200);
      expect(cleared(cookie(logout.headers.getSetCookie(), "stytch_session"))).toBe(true);
      expect(cleared(cookie(logout.headers.getSetCookie(), "stytch_session_jwt"))).toBe(true);

      const opaque = await getMe({ authorization: `Bearer ${json.session_token}` });
      expect(opaque.status).toBe(401);
      expect(lastLogLine()).toContain("authorizer=revoked");

      const refresh = await fetch(`${api.url}${REFRESH.path}`, {
        method: REFRESH.method,
        headers: { cookie: `stytch_session=${json.session_token}` },
      });
      expect(refresh.status).toBe(401);
      expect(cleared(cookie(refresh.headers.getSetCookie(), "stytch_session"))).toBe(true);
      expect(cleared(cookie(refresh.headers.getSetCookie(), "stytch_session_jwt"))).toBe(true);

      // The JWT is verified locally and has not expired: it keeps working (the documented revocation lag)...
      expect((await getMe({ authorization: `Bearer ${json.session_jwt}` })).status).toBe(200);
      // ...unless every JWT is checked with Stytch.
      expect((await getMe({ authorization: `Bearer ${json.session_jwt}` }, strict.url)).status).toBe(401);
    });

    it("answers 401 to a logout without a credential or for an unknown session, and still clears the cookies", async () => {
      const none = await fetch(`${api.url}/dev/logout`, { method: "POST" });
      expect(none.status).toBe(401);
      expect(cleared(cookie(none.headers.getSetCookie(), "stytch_session"))).toBe(true);
      const unknown = await fetch(`${api.url}/dev/logout`, {
        method: "POST",
        headers: { authorization: `Bearer ${"y".repeat(44)}` },
      });
      expect(unknown.status).toBe(401);
    });
  });

  it("answers 503 with Retry-After for an opaque token while Stytch is down, and still 200 for a valid JWT", async () => {
    const { json } = await login();
    api.stytch!.faults.authenticate = "500";
    const opaque = await getMe({ authorization: `Bearer ${json.session_token}` });
    expect(opaque.status).toBe(503);
    expect(opaque.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await opaque.json()).toMatchObject({ message: "Service Unavailable" });
    expect(lastLogLine()).toMatch(/ 503 authorizer=upstream_/);
    const jwt = await getMe({ authorization: `Bearer ${json.session_jwt}` });
    expect(jwt.status).toBe(200);
  });

  it("never runs the authorizer on public routes, even for a valid JWT, and gives them no authorizer context", async () => {
    const { json } = await login();
    const publicRoutes = API_ROUTES.filter((route) => route.authorization === "none");
    expect(publicRoutes.length).toBeGreaterThan(0);
    for (const route of publicRoutes) {
      const res = await fetch(`${api.url}${route.path}`, {
        method: route.method,
        headers: { authorization: `Bearer ${json.session_jwt}` },
      });
      expect(res.headers.get("x-amzn-errortype"), route.path).toBeNull();
      expect(lastLogLine()).toMatch(new RegExp(`^${route.method} ${route.path} \\d+ authorizer=- `));
    }
  });

  it("answers 404 for unknown paths, 405 with Allow for other methods, and 204 to OPTIONS, without running the authorizer", async () => {
    const { json } = await login();
    const unknown = await fetch(`${api.url}/nope`, { headers: { authorization: `Bearer ${json.session_jwt}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: "Not Found" });
    expect(lastLogLine()).toContain("authorizer=-");
    // The path only matches exactly: no trailing slash, no sub-paths, no stage prefix.
    for (const path of [`${ME.path}/`, `${ME.path}/x`, `/local${ME.path}`])
      expect((await fetch(`${api.url}${path}`)).status, path).toBe(404);

    const wrong = await fetch(`${api.url}${ME.path}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${json.session_jwt}` },
    });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe(`${ME.method}, OPTIONS`);
    expect(lastLogLine()).toContain("authorizer=-");

    const options = await fetch(`${api.url}${ME.path}`, { method: "OPTIONS" });
    expect(options.status).toBe(204);
    expect(options.headers.get("allow")).toBe(`${ME.method}, OPTIONS`);
  });

  it("serves exactly the routes of the shared route table", async () => {
    expect(api.routes).toBe(API_ROUTES);
    const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    for (const route of API_ROUTES) {
      const res = await fetch(`${api.url}${route.path}`, { method: route.method });
      expect([404, 405], `${route.method} ${route.path}`).not.toContain(res.status);
      if (route.authorization === "stytch") {
        // The gateway's own 401: the authorizer ran and found no credential.
        expect(res.status).toBe(401);
        expect(res.headers.get("x-amzn-errortype")).toBe("UnauthorizedException");
        expect(lastLogLine()).toContain("authorizer=missing_credential");
      } else {
        expect(res.headers.get("x-amzn-errortype")).toBeNull();
        expect(lastLogLine()).toContain("authorizer=-");
      }
      const atPath = API_ROUTES.filter((r) => r.path === route.path).map((r) => r.method);
      const options = await fetch(`${api.url}${route.path}`, { method: "OPTIONS" });
      expect(options.status).toBe(204);
      expect(options.headers.get("allow")?.split(", ").sort()).toEqual([...atPath, "OPTIONS"].sort());
      for (const method of methods.filter((m) => !atPath.includes(m as never))) {
        expect((await fetch(`${api.url}${route.path}`, { method })).status, `${method} ${route.path}`).toBe(405);
      }
    }
  });

  describe("CORS, as the deployed REST API's preflights and gateway responses do it", () => {
    const corsOf = (res: Response) => ({
      origin: res.headers.get("access-control-allow-origin"),
      credentials: res.headers.get("access-control-allow-credentials"),
      vary: res.headers.get("vary"),
    });

    it("answers a preflight from an allowed origin with the stack's methods, headers and max-age, and a foreign one with none", async () => {
      const preflight = (origin: string) =>
        fetch(`${api.url}${ME.path}`, {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization",
          },
        });
      const allowed = await preflight(APP_ORIGIN);
      expect(allowed.status).toBe(204);
      expect(corsOf(allowed)).toEqual({ origin: APP_ORIGIN, credentials: "true", vary: "Origin" });
      expect(allowed.headers.get("access-control-allow-methods")).toBe("GET,POST,OPTIONS");
      expect(allowed.headers.get("access-control-allow-headers")).toBe("Authorization,Content-Type");
      expect(allowed.headers.get("access-control-max-age")).toBe("3600");
      expect(lastLogLine()).toMatch(/^OPTIONS \/me 204 authorizer=- /); // the authorizer never runs for a preflight

      const foreign = await preflight(FOREIGN_ORIGIN);
      expect(foreign.status).toBe(204);
      expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
      expect(foreign.headers.get("access-control-allow-methods")).toBeNull();
    });

    it("puts credentialed CORS on the gateway's own 401, 503 (exposing Retry-After) and 404 for an allowed origin only", async () => {
      const unauthorized = await getMe({ origin: APP_ORIGIN });
      expect(unauthorized.status).toBe(401);
      expect(corsOf(unauthorized)).toEqual({ origin: APP_ORIGIN, credentials: "true", vary: "Origin" });
      expect(await unauthorized.json()).toEqual({ message: "Unauthorized", reason: "unauthorized" });

      const { json } = await login();
      api.stytch!.faults.authenticate = "500";
      const unavailable = await getMe({ origin: APP_ORIGIN, authorization: `Bearer ${json.session_token}` });
      expect(unavailable.status).toBe(503);
      expect(corsOf(unavailable).origin).toBe(APP_ORIGIN);
      expect(unavailable.headers.get("retry-after")).toBe("5");
      // Not a CORS-safelisted response header: without this, a page sees the 503 but not when to retry.
      expect(unavailable.headers.get("access-control-expose-headers")).toBe("Retry-After");

      const notFound = await fetch(`${api.url}/nope`, { headers: { origin: APP_ORIGIN } });
      expect(corsOf(notFound).origin).toBe(APP_ORIGIN);

      const foreign = await getMe({ origin: FOREIGN_ORIGIN });
      expect(foreign.status).toBe(401);
      expect(corsOf(foreign)).toEqual({ origin: null, credentials: null, vary: "Origin" });
    });

    it("lets the handlers answer CORS themselves: /me and refresh accept the same allowed origins", async () => {
      const { json } = await login();
      const me = await getMe({ origin: APP_ORIGIN, cookie: `stytch_session_jwt=${json.session_jwt}` });
      expect(me.status).toBe(200);
      expect(corsOf(me)).toEqual({ origin: APP_ORIGIN, credentials: "true", vary: "Origin" });
      const refresh = await fetch(`${api.url}${REFRESH.path}`, {
        method: REFRESH.method,
        headers: { origin: APP_ORIGIN, cookie: `stytch_session=${json.session_token}` },
      });
      expect(refresh.status).toBe(200);
      expect(corsOf(refresh).origin).toBe(APP_ORIGIN);
      const foreignRefresh = await fetch(`${api.url}${REFRESH.path}`, {
        method: REFRESH.method,
        headers: { origin: FOREIGN_ORIGIN, cookie: `stytch_session=${json.session_token}` },
      });
      expect(foreignRefresh.status).toBe(403);
      expect(corsOf(foreignRefresh).origin).toBeNull();
    });

    it("refuses dev login, logout and the outage switch from a foreign origin with 403, and serves them with CORS to an allowed one", async () => {
      for (const path of ["/dev/login", "/dev/logout", "/dev/stytch-outage"]) {
        const res = await fetch(`${api.url}${path}`, { method: "POST", headers: { origin: FOREIGN_ORIGIN } });
        expect(res.status, path).toBe(403);
      }
      expect(api.stytch!.faults.authenticate).toBe("none");
      const allowed = await fetch(`${api.url}/dev/login`, { method: "POST", headers: { origin: APP_ORIGIN } });
      expect(allowed.status).toBe(200);
      expect(corsOf(allowed).origin).toBe(APP_ORIGIN);
    });

    it("switches the emulated Stytch outage on and off over HTTP, refusing any other body", async () => {
      const post = (body: string) => fetch(`${api.url}/dev/stytch-outage`, { method: "POST", body });
      expect((await post('{"outage":true}')).status).toBe(200);
      expect(api.stytch!.faults.authenticate).toBe("500");
      expect((await post('{"outage":false}')).status).toBe(200);
      expect(api.stytch!.faults.authenticate).toBe("none");
      for (const body of ["", "{}", '{"outage":"yes"}', '{"outage":true,"x":1}', "nope"])
        expect((await post(body)).status, body).toBe(400);
    });

    it("refuses at start-up a cookie Domain that a browser would refuse from the local API", async () => {
      await expect(
        startLocalApi({ port: 0, quiet: true, env: { REFRESH_COOKIE_DOMAIN: "example.com" }, stytch: api.stytch }),
      ).rejects.toThrow(/REFRESH_COOKIE_DOMAIN=example\.com/);
    });

    it("lists in its banner the route table the authorizer enforces: yours when you give one, and leaves out the walkthrough steps that need the demo's", async () => {
      const custom = await startLocalApi({
        port: 0,
        quiet: true,
        stytch: api.stytch,
        env: {
          STYTCH_ROUTE_PERMISSIONS: JSON.stringify({
            "GET /me": "authenticated",
            "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "write" },
            "GET /reports": "authenticated",
          }),
        },
      });
      try {
        const text = banner(custom);
        const line = (method: string, path: string) =>
          text.split("\n").find((l) => l.startsWith(`  ${method.padEnd(5)} ${path} `)) ?? "";
        expect(text).toContain("Route table: yours, from STYTCH_ROUTE_PERMISSIONS");
        expect(line("GET", "/me")).toMatch(/ any member /);
        expect(line("GET", "/orgs/{organization_id}/documents")).toMatch(/ documents:write /);
        expect(line("GET", "/orgs/{organization_id}/billing")).toMatch(/ not in table: 403 /);
        expect(text).toContain("(your table also lists GET /reports, which npm start does not serve: 404)");
        expect(text).not.toContain("Roles (embedded Stytch)");
        expect(text).not.toContain("/billing -H"); // the per-route steps assume the demo's table
        // What it lists is what it does: an admin may read documents by the demo's table, not by this one.
        const admin = api.stytch!.createSession({ roles: ["admin"] });
        const bearer = { authorization: `Bearer ${admin.sessionJwt}` };
        const documents = `/orgs/${admin.organizationId}/documents`;
        expect((await fetch(`${custom.url}${documents}`, { headers: bearer })).status).toBe(200); // admin: documents *
        expect((await fetch(`${custom.url}/orgs/${admin.organizationId}/billing`, { headers: bearer })).status).toBe(
          403,
        );
        const viewer = api.stytch!.createSession({ roles: ["viewer"] });
        const asViewer = { authorization: `Bearer ${viewer.sessionJwt}` };
        expect(
          (await fetch(`${custom.url}/orgs/${viewer.organizationId}/documents`, { headers: asViewer })).status,
        ).toBe(403); // documents:write, which a viewer lacks
      } finally {
        await custom.close();
      }
      const demo = banner(api);
      expect(demo).toContain("Route table: the demo's (infra/demo/routes.ts)");
      expect(demo).toMatch(/Roles \(embedded Stytch\): viewer \(reads documents\), editor .*, admin /);
      expect(demo).toMatch(/\n {2}GET {3}\/orgs\/\{organization_id\}\/billing +billing:read +Billing/);
    });

    it("refuses at start-up a Stytch project ID without its secret, and a secret without its project, instead of quietly using the emulator", async () => {
      const projectId = "project-test-00000000-0000-0000-0000-000000000000";
      await expect(startLocalApi({ port: 0, quiet: true, env: { STYTCH_PROJECT_ID: projectId } })).rejects.toThrow(
        /^STYTCH_PROJECT_ID is set but STYTCH_SECRET is not: set both .* or neither for the embedded emulator$/,
      );
      await expect(startLocalApi({ port: 0, quiet: true, env: { STYTCH_SECRET: "secret-test-x" } })).rejects.toThrow(
        /^STYTCH_SECRET is set but STYTCH_PROJECT_ID is not/,
      );
    });

    it("refuses at start-up a CORS_ALLOWED_ORIGINS entry that is not an exact origin", async () => {
      for (const origins of ["*", "http://localhost:5173/", "http://app.example.com"]) {
        await expect(
          startLocalApi({ port: 0, quiet: true, env: { CORS_ALLOWED_ORIGINS: origins }, stytch: api.stytch }),
        ).rejects.toThrow(/CORS_ALLOWED_ORIGINS/);
      }
    });
  });

  it("never writes a JWT or session token to the request log or the console", async () => {
    // Captured without being printed; the handlers log at INFO here, so their denial and fault lines are included.
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((name) =>
      vi.spyOn(console, name).mockImplementation(() => undefined),
    );
    logger.setLogLevel("INFO");
    const before = logLines.length;
    try {
      const { json, cookies } = await login();
      const jar = cookies.map((line) => line.split(";")[0]).join("; ");
      await getMe({ authorization: `Bearer ${json.session_jwt}` });
      await getMe({ cookie: jar });
      await getMe({ cookie: `stytch_session=${json.session_token}` });
      await fetch(`${api.url}${ME.path}?token=${json.session_jwt}`);
      await fetch(`${api.url}${ME.path}/${json.session_jwt}`);
      await fetch(`${api.url}/${json.session_token}`);
      const refreshed = await fetch(`${api.url}${REFRESH.path}`, { method: REFRESH.method, headers: { cookie: jar } });
      const refreshedJwt = refreshed.ok ? ((await refreshed.json()) as { session_jwt: string }).session_jwt : "unused";
      await fetch(`${api.url}/dev/logout`, { method: "POST", headers: { cookie: jar } });
      await getMe({ authorization: `Bearer ${json.session_token}` }); // revoked → denial logged
      api.stytch!.faults.authenticate = "500";
      // Another opaque token: the revoked one is now remembered as dead for 30 s and would not reach Stytch.
      await getMe({
        cookie: `stytch_session=${json.session_token.slice(0, -1)}${json.session_token.endsWith("A") ? "B" : "A"}`,
      }); // fault logged

      const lines = logLines.slice(before);
      expect(lines).toHaveLength(11);
      const consoleText = spies.flatMap((spy) =>
        spy.mock.calls.map((args) =>
          args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "),
        ),
      );
      for (const text of [...lines, ...consoleText]) {
        for (const secret of [
          json.session_jwt,
          json.session_token,
          refreshedJwt,
          json.session_jwt.split(".")[2]!,
          json.session_token.slice(0, 16),
        ]) {
          expect(text).not.toContain(secret);
        }
        expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/); // no JWT of any kind
      }
      // The capture works: the authorizer's own denial and fault lines are in it.
      expect(consoleText.join("\n")).toMatch(/revoked[\s\S]*upstream_unavailable/);
      // Each line names the function that wrote it: the authorizer's fault, after refresh ran in the same process.
      const faults = consoleText.filter((text) => text.includes('"authorizer fault"')).map((text) => JSON.parse(text));
      expect(faults).toEqual([
        expect.objectContaining({
          reason: "upstream_unavailable",
          service: "stytch-authorizer",
          function_name: AUTHORIZER_FUNCTION_NAME,
        }),
      ]);
      expect(lines.some((line) => line.startsWith(`GET ${ME.path}/… 404 authorizer=- `))).toBe(true);
    } finally {
      logger.setLogLevel("SILENT");
      for (const spy of spies) spy.mockRestore();
    }
  });
});
