// Unit tests for lambda/lib/config.ts: the environment is validated once, every mistake becomes a
// ConfigurationError (reason "bad_config") that names the variable but never echoes a secret.

import { describe, expect, test } from "vitest";
import { isLoopbackHost, loadAuthorizerConfig, loadStytchConfig } from "../lambda/lib/config";
import { ConfigurationError } from "../lambda/lib/errors";
import { thrownBy } from "./support/thrown";

const PROJECT_ID = "project-test-1befd812-e9e6-49fe-bdc1-c8df2bfa702a";
const LIVE_PROJECT_ID = "project-live-1befd812-e9e6-49fe-bdc1-c8df2bfa702a";
const SECRET = "secret-test-RECOGNISABLE-VALUE-12345=";
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stytch/project-secret-AbCdEf";

/** The smallest environment an authorizer accepts. */
function env(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { STYTCH_PROJECT_ID: PROJECT_ID, STYTCH_SECRET: SECRET, ...overrides };
}

/** Runs `fn`, asserts it threw a ConfigurationError, and returns it for further checks. */
function configError(fn: () => unknown): ConfigurationError {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(ConfigurationError);
  expect((caught as ConfigurationError).reason).toBe("bad_config");
  return caught as ConfigurationError;
}

describe("unit tests config", () => {
  describe("STYTCH_PROJECT_ID", () => {
    test("a missing project ID is rejected", () => {
      const error = configError(() => loadStytchConfig({}));
      expect(error.message).toContain("STYTCH_PROJECT_ID");
    });

    test("an empty or blank project ID is rejected", () => {
      configError(() => loadStytchConfig({ STYTCH_PROJECT_ID: "" }));
      configError(() => loadStytchConfig({ STYTCH_PROJECT_ID: "   " }));
    });

    test.each([
      "1befd812-e9e6-49fe-bdc1-c8df2bfa702a",
      "project-prod-1befd812",
      "project-test-",
      "Project-test-abc",
      "project-test-abc/../../x",
      "project-test-abc def",
      `project-test-${"a".repeat(65)}`,
      "organization-test-1befd812",
    ])("the malformed project ID %j is rejected", (projectId) => {
      const error = configError(() => loadStytchConfig({ STYTCH_PROJECT_ID: projectId }));
      expect(error.message).toContain("STYTCH_PROJECT_ID");
    });

    test("test and live project IDs are accepted, with surrounding whitespace trimmed", () => {
      expect(loadStytchConfig({ STYTCH_PROJECT_ID: `  ${PROJECT_ID}\n` }).projectId).toBe(PROJECT_ID);
      expect(loadStytchConfig({ STYTCH_PROJECT_ID: LIVE_PROJECT_ID }).projectId).toBe(LIVE_PROJECT_ID);
      expect(loadStytchConfig({ STYTCH_PROJECT_ID: `project-test-${"a".repeat(64)}` }).projectId).toBe(
        `project-test-${"a".repeat(64)}`,
      );
    });
  });

  describe("STYTCH_API_URL", () => {
    test("a test project defaults to test.stytch.com and a live project to api.stytch.com", () => {
      /**
       * Stytch's SDK rule: the project ID prefix decides the environment when no base URL is given.
       */
      expect(loadStytchConfig({ STYTCH_PROJECT_ID: PROJECT_ID }).apiUrl).toBe("https://test.stytch.com");
      expect(loadStytchConfig({ STYTCH_PROJECT_ID: LIVE_PROJECT_ID }).apiUrl).toBe("https://api.stytch.com");
      expect(loadStytchConfig({ STYTCH_PROJECT_ID: LIVE_PROJECT_ID, STYTCH_API_URL: "  " }).apiUrl).toBe(
        "https://api.stytch.com",
      );
    });

    test("the JWKS URL and both accepted issuers are derived from the API URL", () => {
      const config = loadStytchConfig({ STYTCH_PROJECT_ID: PROJECT_ID });
      expect(config.jwksUrl).toBe(`https://test.stytch.com/v1/b2b/sessions/jwks/${PROJECT_ID}`);
      expect(config.issuers).toEqual([`stytch.com/${PROJECT_ID}`, "https://test.stytch.com"]);
    });

    test("a custom domain is used for the JWKS URL and accepted as an issuer", () => {
      const config = loadStytchConfig({
        STYTCH_PROJECT_ID: LIVE_PROJECT_ID,
        STYTCH_API_URL: "https://login.example.com",
      });
      expect(config.apiUrl).toBe("https://login.example.com");
      expect(config.jwksUrl).toBe(`https://login.example.com/v1/b2b/sessions/jwks/${LIVE_PROJECT_ID}`);
      expect(config.issuers).toEqual([`stytch.com/${LIVE_PROJECT_ID}`, "https://login.example.com"]);
    });

    test("a trailing slash and a default port are stripped from the API URL", () => {
      expect(loadStytchConfig(env({ STYTCH_API_URL: "https://login.example.com/" })).apiUrl).toBe(
        "https://login.example.com",
      );
      expect(loadStytchConfig(env({ STYTCH_API_URL: " https://login.example.com:443/ " })).apiUrl).toBe(
        "https://login.example.com",
      );
      expect(loadStytchConfig(env({ STYTCH_API_URL: "https://login.example.com:8443/" })).apiUrl).toBe(
        "https://login.example.com:8443",
      );
    });

    test.each([
      ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
      ["http://127.42.0.9/", "http://127.42.0.9"],
      ["http://[::1]:4010", "http://[::1]:4010"],
      ["http://localhost:4010/", "http://localhost:4010"],
    ])("plain http is allowed for the loopback URL %s", (raw, origin) => {
      const config = loadStytchConfig(env({ STYTCH_API_URL: raw }));
      expect(config.apiUrl).toBe(origin);
      expect(config.jwksUrl).toBe(`${origin}/v1/b2b/sessions/jwks/${PROJECT_ID}`);
    });

    test.each([
      "http://example.com",
      "http://10.0.0.1",
      "http://192.168.1.10:8080",
      "http://localhost.example.com",
      "http://127.0.0.1.nip.io",
      "http://[::2]",
      "ftp://login.example.com",
      "ws://localhost:4010",
    ])("the non-https, non-loopback URL %s is rejected", (raw) => {
      const error = configError(() => loadStytchConfig(env({ STYTCH_API_URL: raw })));
      expect(error.message).toContain("STYTCH_API_URL");
      expect(error.message).toContain("https");
    });

    test.each([
      "https://login.example.com/v1",
      "https://login.example.com/v1/b2b/sessions/jwks/",
      "https://user:pass@login.example.com",
      "https://user@login.example.com",
      "https://login.example.com/?x=1",
      "https://login.example.com/#frag",
      "http://user:pass@localhost:4010",
    ])("the URL %s is rejected because it is not a bare origin", (raw) => {
      const error = configError(() => loadStytchConfig(env({ STYTCH_API_URL: raw })));
      expect(error.message).toContain("bare origin");
    });

    test("something that is not a URL at all is rejected", () => {
      const error = configError(() => loadStytchConfig(env({ STYTCH_API_URL: "login.example.com" })));
      expect(error.message).toBe("STYTCH_API_URL is not a URL");
    });
  });

  describe("isLoopbackHost", () => {
    test.each(["localhost", "127.0.0.1", "127.255.255.254", "127.1.2.3", "::1", "[::1]"])(
      "%s is a loopback host",
      (host) => {
        expect(isLoopbackHost(host)).toBe(true);
      },
    );

    test.each([
      "example.com",
      "10.0.0.1",
      "128.0.0.1",
      "0.0.0.0",
      "127.0.0.1.example.com",
      "localhost.example.com",
      "::2",
      "[::ffff:127.0.0.1]",
      "1127.0.0.1",
      "",
    ])("%j is not a loopback host", (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    });
  });

  describe("the project secret", () => {
    test("STYTCH_SECRET is kept as a trimmed value", () => {
      expect(loadStytchConfig(env({ STYTCH_SECRET: `  ${SECRET}\n` })).secret).toEqual({
        kind: "value",
        value: SECRET,
      });
    });

    test("STYTCH_SECRET_ARN is kept as an ARN", () => {
      const config = loadStytchConfig({ STYTCH_PROJECT_ID: PROJECT_ID, STYTCH_SECRET_ARN: ` ${SECRET_ARN} ` });
      expect(config.secret).toEqual({ kind: "arn", arn: SECRET_ARN });
    });

    test("ARNs of other partitions are accepted", () => {
      const arn = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:stytch-AbCdEf";
      expect(loadStytchConfig({ STYTCH_PROJECT_ID: PROJECT_ID, STYTCH_SECRET_ARN: arn }).secret).toEqual({
        kind: "arn",
        arn,
      });
    });

    test("setting both STYTCH_SECRET and STYTCH_SECRET_ARN is rejected", () => {
      const error = configError(() => loadStytchConfig(env({ STYTCH_SECRET_ARN: SECRET_ARN })));
      expect(error.message).toContain("not both");
      expect(error.message).not.toContain(SECRET);
    });

    test("a Stytch-only consumer may run without any secret, but the authorizer may not", () => {
      /**
       * Without a secret the fallback paths (opaque tokens, expired or too-old JWTs) could never
       * reach Stytch, so the authorizer refuses to start half-working.
       */
      expect(loadStytchConfig({ STYTCH_PROJECT_ID: PROJECT_ID }).secret).toBeUndefined();
      const error = configError(() => loadAuthorizerConfig({ STYTCH_PROJECT_ID: PROJECT_ID }));
      expect(error.message).toContain("STYTCH_SECRET");
      expect(error.message).toContain("STYTCH_SECRET_ARN");
    });

    test.each([
      "stytch/project-secret",
      "arn:aws:s3:::my-bucket",
      "arn:aws:secretsmanager:eu-west-1:1234:secret:x",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:",
      "arn:aws:ssm:eu-west-1:123456789012:parameter/stytch",
    ])("the bad secret ARN %j is rejected", (arn) => {
      const error = configError(() => loadStytchConfig({ STYTCH_PROJECT_ID: PROJECT_ID, STYTCH_SECRET_ARN: arn }));
      expect(error.message).toBe("STYTCH_SECRET_ARN is not a Secrets Manager secret ARN");
    });

    test("an empty or blank STYTCH_SECRET is rejected", () => {
      expect(configError(() => loadStytchConfig(env({ STYTCH_SECRET: "" }))).message).toBe("STYTCH_SECRET is empty");
      expect(configError(() => loadStytchConfig(env({ STYTCH_SECRET: " \t " }))).message).toBe(
        "STYTCH_SECRET is empty",
      );
    });

    test("no error message ever contains the secret value", () => {
      /**
       * Configuration errors end up in logs. Set a recognisable secret, then break every other
       * setting in turn: none of the messages may echo the secret.
       */
      const broken: Record<string, string>[] = [
        { STYTCH_PROJECT_ID: "not-a-project" },
        { STYTCH_API_URL: "http://example.com" },
        { STYTCH_API_URL: `https://${SECRET}@login.example.com` },
        { STYTCH_SECRET_ARN: SECRET_ARN },
        { STYTCH_MAX_TOKEN_AGE_SECONDS: "-1" },
        { STYTCH_CLOCK_TOLERANCE_SECONDS: "61" },
        { STYTCH_JWT_COOKIE_NAME: "bad name" },
        { STYTCH_HTTP_API_RESPONSE: "both" },
      ];
      for (const overrides of broken) {
        const error = configError(() => loadAuthorizerConfig(env(overrides)));
        expect(error.message).not.toContain(SECRET);
        expect(error.message).not.toContain("RECOGNISABLE");
        expect(String(error.stack)).not.toContain("RECOGNISABLE");
      }
    });
  });

  describe("whole-number settings", () => {
    test("the defaults apply when nothing is set", () => {
      const config = loadAuthorizerConfig(env());
      expect(config.maxTokenAgeSeconds).toBeUndefined();
      expect(config.clockToleranceSeconds).toBe(5);
      expect(config.apiTimeoutMs).toBe(5_000);
      expect(config.jwksTimeoutMs).toBe(2_000);
      expect(config.sessionTokenCacheSeconds).toBe(0);
      expect(config.httpApiResponse).toBe("simple");
    });

    test("an empty max token age means no age limit", () => {
      expect(loadAuthorizerConfig(env({ STYTCH_MAX_TOKEN_AGE_SECONDS: "" })).maxTokenAgeSeconds).toBeUndefined();
      expect(loadAuthorizerConfig(env({ STYTCH_MAX_TOKEN_AGE_SECONDS: "  " })).maxTokenAgeSeconds).toBeUndefined();
    });

    test("a max token age of 0 is kept as 0 (strict mode), not treated as unset", () => {
      expect(loadAuthorizerConfig(env({ STYTCH_MAX_TOKEN_AGE_SECONDS: "0" })).maxTokenAgeSeconds).toBe(0);
    });

    test("max token age accepts 0 to 86400", () => {
      expect(loadAuthorizerConfig(env({ STYTCH_MAX_TOKEN_AGE_SECONDS: "300" })).maxTokenAgeSeconds).toBe(300);
      expect(loadAuthorizerConfig(env({ STYTCH_MAX_TOKEN_AGE_SECONDS: " 86400 " })).maxTokenAgeSeconds).toBe(86_400);
      const error = configError(() => loadAuthorizerConfig(env({ STYTCH_MAX_TOKEN_AGE_SECONDS: "86401" })));
      expect(error.message).toBe("STYTCH_MAX_TOKEN_AGE_SECONDS must be between 0 and 86400");
    });

    test.each(["-1", "1.5", "1e3", "0x10", "five", "30s", "+5"])(
      "the max token age %j is not a whole number",
      (raw) => {
        const error = configError(() => loadAuthorizerConfig(env({ STYTCH_MAX_TOKEN_AGE_SECONDS: raw })));
        expect(error.message).toBe("STYTCH_MAX_TOKEN_AGE_SECONDS must be a whole number");
      },
    );

    test("clock tolerance defaults to 5 and accepts 0 to 60", () => {
      expect(loadAuthorizerConfig(env({ STYTCH_CLOCK_TOLERANCE_SECONDS: "0" })).clockToleranceSeconds).toBe(0);
      expect(loadAuthorizerConfig(env({ STYTCH_CLOCK_TOLERANCE_SECONDS: "60" })).clockToleranceSeconds).toBe(60);
      const error = configError(() => loadAuthorizerConfig(env({ STYTCH_CLOCK_TOLERANCE_SECONDS: "61" })));
      expect(error.message).toBe("STYTCH_CLOCK_TOLERANCE_SECONDS must be between 0 and 60");
      expect(configError(() => loadAuthorizerConfig(env({ STYTCH_CLOCK_TOLERANCE_SECONDS: "-5" }))).message).toContain(
        "whole number",
      );
    });

    test("the API timeout accepts 100 to 10000 ms", () => {
      expect(loadStytchConfig(env({ STYTCH_API_TIMEOUT_MS: "100" })).apiTimeoutMs).toBe(100);
      expect(loadStytchConfig(env({ STYTCH_API_TIMEOUT_MS: "10000" })).apiTimeoutMs).toBe(10_000);
      expect(configError(() => loadStytchConfig(env({ STYTCH_API_TIMEOUT_MS: "99" }))).message).toBe(
        "STYTCH_API_TIMEOUT_MS must be between 100 and 10000",
      );
      expect(configError(() => loadStytchConfig(env({ STYTCH_API_TIMEOUT_MS: "10001" }))).message).toBe(
        "STYTCH_API_TIMEOUT_MS must be between 100 and 10000",
      );
      expect(configError(() => loadStytchConfig(env({ STYTCH_API_TIMEOUT_MS: "5s" }))).message).toBe(
        "STYTCH_API_TIMEOUT_MS must be a whole number",
      );
    });

    test("the JWKS timeout accepts 100 to 10000 ms", () => {
      expect(loadAuthorizerConfig(env({ STYTCH_JWKS_TIMEOUT_MS: "750" })).jwksTimeoutMs).toBe(750);
      expect(configError(() => loadAuthorizerConfig(env({ STYTCH_JWKS_TIMEOUT_MS: "0" }))).message).toBe(
        "STYTCH_JWKS_TIMEOUT_MS must be between 100 and 10000",
      );
    });

    test("the session token cache accepts 0 to 300 seconds", () => {
      expect(loadAuthorizerConfig(env({ STYTCH_SESSION_TOKEN_CACHE_SECONDS: "0" })).sessionTokenCacheSeconds).toBe(0);
      expect(loadAuthorizerConfig(env({ STYTCH_SESSION_TOKEN_CACHE_SECONDS: "300" })).sessionTokenCacheSeconds).toBe(
        300,
      );
      expect(configError(() => loadAuthorizerConfig(env({ STYTCH_SESSION_TOKEN_CACHE_SECONDS: "301" }))).message).toBe(
        "STYTCH_SESSION_TOKEN_CACHE_SECONDS must be between 0 and 300",
      );
    });

    test("the snapshot's maximum age accepts 60 s to 30 days, and is checked even without a snapshot", () => {
      expect(loadAuthorizerConfig(env({ STYTCH_SNAPSHOT_MAX_AGE_SECONDS: "2592000" })).snapshot).toBeUndefined();
      expect(configError(() => loadAuthorizerConfig(env({ STYTCH_SNAPSHOT_MAX_AGE_SECONDS: "2592001" }))).message).toBe(
        "STYTCH_SNAPSHOT_MAX_AGE_SECONDS must be between 60 and 2592000",
      );
      expect(configError(() => loadAuthorizerConfig(env({ STYTCH_SNAPSHOT_MAX_AGE_SECONDS: "59" }))).message).toBe(
        "STYTCH_SNAPSHOT_MAX_AGE_SECONDS must be between 60 and 2592000",
      );
    });

    test("a huge number is out of range rather than silently rounded", () => {
      const error = configError(() =>
        loadAuthorizerConfig(env({ STYTCH_CLOCK_TOLERANCE_SECONDS: "99999999999999999999999" })),
      );
      expect(error.message).toBe("STYTCH_CLOCK_TOLERANCE_SECONDS must be between 0 and 60");
    });
  });

  describe("cookie names", () => {
    test("the cookie names default to Stytch's own", () => {
      const config = loadAuthorizerConfig(env());
      expect(config.jwtCookieName).toBe("stytch_session_jwt");
      expect(config.sessionCookieName).toBe("stytch_session");
    });

    test("custom cookie names are accepted and trimmed", () => {
      const config = loadAuthorizerConfig(
        env({ STYTCH_JWT_COOKIE_NAME: " __Host-acme_jwt ", STYTCH_SESSION_COOKIE_NAME: "acme.session" }),
      );
      expect(config.jwtCookieName).toBe("__Host-acme_jwt");
      expect(config.sessionCookieName).toBe("acme.session");
    });

    test("a blank cookie name falls back to the default", () => {
      expect(loadAuthorizerConfig(env({ STYTCH_JWT_COOKIE_NAME: "  " })).jwtCookieName).toBe("stytch_session_jwt");
    });

    test.each(["bad name", "a=b", "a;b", "a,b", 'a"b', "(x)", "é", "a".repeat(65)])(
      "the invalid cookie name %j is rejected",
      (name) => {
        expect(configError(() => loadAuthorizerConfig(env({ STYTCH_JWT_COOKIE_NAME: name }))).message).toBe(
          "STYTCH_JWT_COOKIE_NAME is not a valid cookie name (1 to 64 letters, digits or !#$%&'*+-.^_`|~)",
        );
        expect(configError(() => loadAuthorizerConfig(env({ STYTCH_SESSION_COOKIE_NAME: name }))).message).toMatch(
          /^STYTCH_SESSION_COOKIE_NAME is not a valid cookie name/,
        );
      },
    );
  });

  describe("step-up freshness limits and API Gateway's result cache", () => {
    const table = (withinMinutes: number) =>
      JSON.stringify({
        "GET /me": "authenticated",
        "GET /billing": {
          resource_id: "billing",
          action: "read",
          step_up: { factors: ["mfa"], within_minutes: withinMinutes },
        },
      });

    test("uncached, or cached for less than the limit (and the 5 s margin), is accepted", () => {
      for (const ttl of ["0", "300", "894"])
        expect(
          loadAuthorizerConfig(env({ STYTCH_ROUTE_PERMISSIONS: table(15), STYTCH_RESULTS_CACHE_TTL_SECONDS: ttl }))
            .resultsCacheTtlSeconds,
        ).toBe(Number(ttl));
    });

    test("a TTL that the limit does not outlast is refused: no cached answer could ever allow the route", () => {
      const error = configError(() =>
        loadAuthorizerConfig(env({ STYTCH_ROUTE_PERMISSIONS: table(5), STYTCH_RESULTS_CACHE_TTL_SECONDS: "300" })),
      );
      expect(error.message).toMatch(/^STYTCH_RESULTS_CACHE_TTL_SECONDS \(300 s\)/);
      expect(error.message).toContain('"GET /billing" (within 5 minutes)');
      expect(error.message).toContain("less than 295 s");
      configError(() =>
        loadAuthorizerConfig(env({ STYTCH_ROUTE_PERMISSIONS: table(15), STYTCH_RESULTS_CACHE_TTL_SECONDS: "895" })),
      );
    });

    test("an unknown TTL is refused when a route has a freshness limit, and fine without one", () => {
      const error = configError(() => loadAuthorizerConfig(env({ STYTCH_ROUTE_PERMISSIONS: table(15) })));
      expect(error.message).toMatch(/^STYTCH_RESULTS_CACHE_TTL_SECONDS must be set/);
      const factorsOnly = JSON.stringify({ "GET /admin": { step_up: { factors: ["sso"] } } });
      expect(loadAuthorizerConfig(env({ STYTCH_ROUTE_PERMISSIONS: factorsOnly })).routePermissions).toBeDefined();
    });
  });

  describe("STYTCH_HTTP_API_RESPONSE", () => {
    test('"simple" and "iam" are accepted, "simple" is the default', () => {
      expect(loadAuthorizerConfig(env({ STYTCH_HTTP_API_RESPONSE: "iam" })).httpApiResponse).toBe("iam");
      expect(loadAuthorizerConfig(env({ STYTCH_HTTP_API_RESPONSE: " simple " })).httpApiResponse).toBe("simple");
      expect(loadAuthorizerConfig(env()).httpApiResponse).toBe("simple");
    });

    test.each(["IAM", "Simple", "policy", ""])("the response format %j is rejected", (value) => {
      const error = configError(() => loadAuthorizerConfig(env({ STYTCH_HTTP_API_RESPONSE: value })));
      expect(error.message).toBe('STYTCH_HTTP_API_RESPONSE must be "simple" or "iam"');
    });
  });

  describe("the result", () => {
    test("the authorizer configuration and its issuer list are frozen", () => {
      const config = loadAuthorizerConfig(env({ STYTCH_MAX_TOKEN_AGE_SECONDS: "60" }));
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.issuers)).toBe(true);
      expect(() => {
        (config as { clockToleranceSeconds: number }).clockToleranceSeconds = 3600;
      }).toThrow(TypeError);
      expect(() => (config.issuers as string[]).push("https://evil.example.com")).toThrow(TypeError);
      expect(config.clockToleranceSeconds).toBe(5);
      expect(config.issuers).toEqual([`stytch.com/${PROJECT_ID}`, "https://test.stytch.com"]);
    });

    test("the Stytch configuration is frozen too", () => {
      const config = loadStytchConfig(env());
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.issuers)).toBe(true);
    });

    test("the authorizer configuration carries every Stytch setting", () => {
      const config = loadAuthorizerConfig(
        env({ STYTCH_API_URL: "https://login.example.com", STYTCH_API_TIMEOUT_MS: "2500" }),
      );
      expect(config).toMatchObject({
        projectId: PROJECT_ID,
        apiUrl: "https://login.example.com",
        jwksUrl: `https://login.example.com/v1/b2b/sessions/jwks/${PROJECT_ID}`,
        secret: { kind: "value", value: SECRET },
        apiTimeoutMs: 2_500,
      });
    });
  });
});
