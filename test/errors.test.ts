// The failure tree as it is deployed: bundled and minified with the construct's own esbuild options
// (packagedBundleOptions). Minification renames every class, so each error spells out its name, and the
// Stytch client reads whether a fault is retryable from the error itself.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { build } from "esbuild";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { packagedBundleOptions, resolveEntry } from "../infra/lambda-defaults";
import type * as AuthorizerModule from "../lambda/authorizer";
import type * as ErrorsModule from "../lambda/lib/errors";
import type * as RefreshModule from "../lambda/refresh";
import type { StytchEmulator } from "../local/stytch-emulator";
import { restRequestEvent } from "./support/authorizer-events";
import { useStytchEmulator } from "./support/fixtures";

let scratch: string;

/** Bundles `entry` as the packaged handlers are bundled, writes it to a scratch directory and loads it. */
async function loadBundled<T>(entry: string, file: string): Promise<T> {
  const options = { ...packagedBundleOptions("authorizer"), entryPoints: [resolveEntry(entry)] };
  const result = await build({ ...options, write: false, logLevel: "silent" });
  const bundle = path.join(scratch, file);
  writeFileSync(bundle, result.outputFiles[0]!.contents);
  return createRequire(__filename)(bundle) as T;
}

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "bundled-errors-"));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("the failure tree in a minified bundle", () => {
  test("every failure is named after its class, though minification renamed the class itself", async () => {
    const errors = await loadBundled<typeof ErrorsModule>("lambda/lib/errors.ts", "errors.js");
    const names: Record<string, string> = {};
    const classNames: string[] = [];
    for (const [exported, value] of Object.entries(errors)) {
      if (typeof value !== "function") continue;
      const error = new (value as new (message: string) => ErrorsModule.AuthorizerError)("what failed");
      if (error.reason === undefined) continue; // one of the three abstract branches
      names[exported] = error.name;
      classNames.push(value.name);
      expect(String(error)).toBe(`${exported}: what failed`);
      expect(error.stack?.startsWith(`${exported}: what failed\n`)).toBe(true);
    }
    expect(Object.keys(names).length).toBeGreaterThanOrEqual(20);
    expect(names).toEqual(Object.fromEntries(Object.keys(names).map((exported) => [exported, exported])));
    // The test means something only if the bundle does rename classes (no esbuild keepNames).
    expect(classNames.filter((name) => name in names)).toEqual([]);
  });

  test("a fault is retryable only when made so, and a denial never is", async () => {
    const errors = await loadBundled<typeof ErrorsModule>("lambda/lib/errors.ts", "errors.js");
    expect(new errors.UpstreamUnavailableError("5xx", { retryable: true }).retryable).toBe(true);
    expect(new errors.UpstreamUnavailableError("oversized").retryable).toBe(false);
    expect(new errors.UpstreamTimeoutError("slow").retryable).toBe(false);
    expect(new errors.RevokedSessionError("gone").retryable).toBe(false);
  });
});

describe("the bundled handlers' log lines name the failure's class", () => {
  let stytch: StytchEmulator;
  let authorizer: typeof AuthorizerModule;
  let refresh: typeof RefreshModule;
  let logRecords: Record<string, unknown>[];

  useStytchEmulator((emulator) => (stytch = emulator));

  beforeAll(async () => {
    authorizer = await loadBundled<typeof AuthorizerModule>("lambda/authorizer.ts", "authorizer.js");
    refresh = await loadBundled<typeof RefreshModule>("lambda/refresh.ts", "refresh.js");
  });

  beforeEach(() => {
    logRecords = [];
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        try {
          logRecords.push(JSON.parse(args.map(String).join(" ")));
        } catch {
          // not a log record
        }
      });
    }
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  test("an invalid configuration is logged, at start-up and per request, as a ConfigurationError", async () => {
    const handler = authorizer.createAuthorizer({ STYTCH_SECRET: "secret-value" });
    await expect(handler(restRequestEvent({ Authorization: "Bearer some-token" }))).rejects.toThrow(
      authorizer.UPSTREAM_FAULT,
    );
    expect(logRecords.filter((record) => record.reason === "bad_config")).toEqual([
      expect.objectContaining({ message: "invalid authorizer configuration", errorName: "ConfigurationError" }),
      expect.objectContaining({ message: "authorizer fault", errorName: "ConfigurationError" }),
    ]);
  });

  test("Stytch failing twice with a 5xx is retried once, then logged as an UpstreamUnavailableError", async () => {
    stytch.faults.authenticate = "503";
    const handler = authorizer.createAuthorizer({
      STYTCH_PROJECT_ID: stytch.projectId,
      STYTCH_SECRET: stytch.secret,
      STYTCH_API_URL: stytch.url,
    });
    const { sessionToken } = stytch.createSession();
    await expect(handler(restRequestEvent({ Authorization: `Bearer ${sessionToken}` }))).rejects.toThrow(
      authorizer.UPSTREAM_FAULT,
    );
    expect(stytch.calls.authenticate).toBe(2);
    expect(logRecords.filter((record) => record.message === "authorizer fault")).toEqual([
      expect.objectContaining({ reason: "upstream_unavailable", errorName: "UpstreamUnavailableError" }),
    ]);
  });

  test("the refresh endpoint logs Stytch failing twice with a 5xx as an UpstreamUnavailableError", async () => {
    stytch.faults.authenticate = "503";
    const handler = refresh.createRefreshHandler({
      STYTCH_PROJECT_ID: stytch.projectId,
      STYTCH_SECRET: stytch.secret,
      STYTCH_API_URL: stytch.url,
      REFRESH_ALLOWED_ORIGINS: "https://app.example.com",
    });
    const { sessionToken } = stytch.createSession();
    const answer = await handler({
      version: "2.0",
      requestContext: { http: { method: "POST" } },
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ session_token: sessionToken }),
      isBase64Encoded: false,
    } as unknown as RefreshModule.RefreshEvent);
    expect(answer).toMatchObject({ statusCode: 503 });
    expect(stytch.calls.authenticate).toBe(2);
    expect(logRecords.filter((record) => record.message === "refresh failed")).toEqual([
      expect.objectContaining({ reason: "upstream_unavailable", errorName: "UpstreamUnavailableError" }),
    ]);
  });
});
