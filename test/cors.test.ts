// Unit tests for lambda/lib/response/cors.ts: which origin a request comes from, and the credentialed CORS headers
// that only an origin on the allow-list (matched exactly) receives.

import { describe, expect, test } from "vitest";
import {
  corsHeadersFor,
  credentialedCorsHeaders,
  downstreamAllowedOrigins,
  originList,
  requestOrigin,
} from "../lambda/lib/response/cors";

const APP_ORIGIN = "https://app.example.com";
const ONLY_VARY = { vary: "Origin" };

describe("corsHeadersFor", () => {
  test("an origin on the allow-list gets credentialed CORS headers naming exactly that origin", () => {
    expect(corsHeadersFor(APP_ORIGIN, [APP_ORIGIN, "http://localhost:3000"])).toStrictEqual({
      "access-control-allow-origin": APP_ORIGIN,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "Retry-After",
      vary: "Origin",
    });
    expect(
      corsHeadersFor("http://localhost:3000", [APP_ORIGIN, "http://localhost:3000"])["access-control-allow-origin"],
    ).toBe("http://localhost:3000");
  });

  test.each([APP_ORIGIN, "https://evil.example", "null", ""])(
    "with an empty allow-list, the origin %j gets only Vary: Origin",
    (origin) => {
      expect(corsHeadersFor(origin, [])).toStrictEqual(ONLY_VARY);
    },
  );

  test("a request without an origin gets only Vary: Origin, whatever the allow-list", () => {
    expect(corsHeadersFor(undefined, [APP_ORIGIN])).toStrictEqual(ONLY_VARY);
    expect(corsHeadersFor(undefined, [])).toStrictEqual(ONLY_VARY);
  });

  test.each([
    ["another site", "https://evil.example"],
    ["the allowed origin followed by another domain", `${APP_ORIGIN}.evil.example`],
    ["a subdomain of the allowed origin", "https://evil.app.example.com"],
    ["the allowed origin with a port", `${APP_ORIGIN}:8443`],
    ["the allowed origin with a trailing slash", `${APP_ORIGIN}/`],
    ["the allowed origin over plain http", "http://app.example.com"],
    ["the allowed origin in capitals", "HTTPS://APP.EXAMPLE.COM"],
    ["a prefix of the allowed origin", "https://app.example"],
    ["the literal origin null", "null"],
  ])("%s is not on the allow-list and gets only Vary: Origin", (_, origin) => {
    expect(corsHeadersFor(origin, [APP_ORIGIN])).toStrictEqual(ONLY_VARY);
  });
});

describe("credentialedCorsHeaders", () => {
  test("let the one origin read a credentialed answer, including when to retry after a 503", () => {
    expect(credentialedCorsHeaders("http://localhost:3000")).toStrictEqual({
      "access-control-allow-origin": "http://localhost:3000",
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "Retry-After",
      vary: "Origin",
    });
  });
});

describe("requestOrigin", () => {
  test.each(["Origin", "origin", "ORIGIN"])("reads the %s header", (name) => {
    expect(requestOrigin({ [name]: APP_ORIGIN, Cookie: "a=b" })).toBe(APP_ORIGIN);
  });

  test("is undefined when there are no headers or no Origin header", () => {
    expect(requestOrigin(undefined)).toBeUndefined();
    expect(requestOrigin(null)).toBeUndefined();
    expect(requestOrigin({ Referer: `${APP_ORIGIN}/page` })).toBeUndefined();
    expect(requestOrigin({ Origin: undefined })).toBeUndefined();
  });
});

describe("the allow-list from the environment", () => {
  test("originList trims the entries of a comma-separated list and drops empty ones", () => {
    expect(originList(` ${APP_ORIGIN} ,, http://localhost:3000,`)).toEqual([APP_ORIGIN, "http://localhost:3000"]);
  });

  test("originList of an empty or unset value is no origins at all", () => {
    expect(originList(undefined)).toEqual([]);
    expect(originList("")).toEqual([]);
    expect(originList(" , ")).toEqual([]);
  });

  test("downstreamAllowedOrigins reads CORS_ALLOWED_ORIGINS, and none when it is unset", () => {
    expect(downstreamAllowedOrigins({ CORS_ALLOWED_ORIGINS: `${APP_ORIGIN},http://localhost:3000` })).toEqual([
      APP_ORIGIN,
      "http://localhost:3000",
    ]);
    expect(downstreamAllowedOrigins({})).toEqual([]);
  });

  test("an unset allow-list lets no origin read credentialed answers", () => {
    expect(corsHeadersFor(APP_ORIGIN, downstreamAllowedOrigins({}))).toStrictEqual(ONLY_VARY);
  });
});
