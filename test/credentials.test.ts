// Unit tests for lambda/lib/session/credentials.ts: finding the credential in the four event shapes API Gateway
// sends to an authorizer, and classifying it by shape (session JWT or opaque session token).

import type {
  APIGatewayEventRequestContextV2,
  APIGatewayEventRequestContextWithAuthorizer,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewayTokenAuthorizerEvent,
} from "aws-lambda";
import { describe, expect, test } from "vitest";
import { MalformedCredentialError } from "../lambda/lib/errors";
import { type CookieNames, findCredential, MAX_CREDENTIAL_LENGTH } from "../lambda/lib/session/credentials";
import { parseSessionJwt } from "../lambda/lib/session/session-jwt";
import { thrownBy } from "./support/thrown";

const NAMES: CookieNames = { jwtCookieName: "stytch_session_jwt", sessionCookieName: "stytch_session" };

// Shape-only values: findCredential never verifies anything, it only classifies.
const JWT =
  "eyJhbGciOiJSUzI1NiIsImtpZCI6Imp3ay10ZXN0LTEyMyIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtZW1iZXItdGVzdC0xMjMifQ.c2lnbmF0dXJlLWJ5dGVzLWdvLWhlcmU";
const OTHER_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvdGhlciJ9.b3RoZXItc2lnbmF0dXJl";
// A realistic Stytch session token: 44 base64url characters.
const SESSION_TOKEN = "mZAYn5aLEqKUlZ_Ad9U_fWr38GaAQ1oFAhT8ds245v7Q";
const METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders";
const ROUTE_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/GET/orders";

/** A REST API TOKEN authorizer event: the whole Token Source header value, "Bearer " included. */
function tokenEvent(authorizationToken: string): APIGatewayTokenAuthorizerEvent {
  return { type: "TOKEN", methodArn: METHOD_ARN, authorizationToken };
}

/** A REST API REQUEST authorizer event (and HTTP API payload 1.0, which has the same shape plus `version`). */
function requestEvent(
  headers: Record<string, string> | null,
  multiValueHeaders: Record<string, string[]> | null = null,
): APIGatewayRequestAuthorizerEvent {
  return {
    type: "REQUEST",
    methodArn: METHOD_ARN,
    resource: "/orders",
    path: "/orders",
    httpMethod: "GET",
    headers,
    multiValueHeaders,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayEventRequestContextWithAuthorizer<undefined>,
  };
}

/** An HTTP API payload 1.0 event: REQUEST-shaped, with `version: "1.0"` and an `identitySource` string. */
function httpApiV1Event(
  headers: Record<string, string>,
): APIGatewayRequestAuthorizerEvent & { version: string; identitySource: string } {
  const multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
  return {
    ...requestEvent(headers, multiValueHeaders),
    version: "1.0",
    identitySource: headers.Authorization ?? headers.authorization ?? "",
  };
}

/** An HTTP API payload 2.0 event: lower-case headers, and cookies in their own array. */
function httpApiV2Event(headers: Record<string, string>, cookies: string[] = []): APIGatewayRequestAuthorizerEventV2 {
  return {
    version: "2.0",
    type: "REQUEST",
    routeArn: ROUTE_ARN,
    identitySource: [],
    routeKey: "GET /orders",
    rawPath: "/orders",
    rawQueryString: "",
    cookies,
    headers,
    requestContext: {} as APIGatewayEventRequestContextV2,
  };
}

/** Asserts that `fn` throws MalformedCredentialError with reason "malformed". */
function expectMalformed(fn: () => unknown): MalformedCredentialError {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(MalformedCredentialError);
  expect((caught as MalformedCredentialError).reason).toBe("malformed");
  return caught as MalformedCredentialError;
}

describe("unit tests credentials", () => {
  describe("REST TOKEN events", () => {
    test("a Bearer JWT in authorizationToken is found", () => {
      expect(findCredential(tokenEvent(`Bearer ${JWT}`), NAMES)).toEqual({
        kind: "session_jwt",
        value: JWT,
        source: "authorization",
      });
    });

    test("a bare JWT without the Bearer scheme is found", () => {
      expect(findCredential(tokenEvent(JWT), NAMES)).toEqual({
        kind: "session_jwt",
        value: JWT,
        source: "authorization",
      });
    });

    test.each(["bearer", "BEARER", "BeArEr"])("the %s scheme is recognised case-insensitively", (scheme) => {
      expect(findCredential(tokenEvent(`${scheme} ${SESSION_TOKEN}`), NAMES)).toEqual({
        kind: "session_token",
        value: SESSION_TOKEN,
        source: "authorization",
      });
    });

    test("whitespace around the token and after the scheme is ignored", () => {
      expect(findCredential(tokenEvent(`  Bearer \t ${JWT}  `), NAMES)?.value).toBe(JWT);
    });

    test("an empty authorizationToken means no credential", () => {
      expect(findCredential(tokenEvent(""), NAMES)).toBeUndefined();
      expect(findCredential(tokenEvent("   "), NAMES)).toBeUndefined();
    });

    test("a scheme without a token is malformed", () => {
      expectMalformed(() => findCredential(tokenEvent("Bearer"), NAMES));
      expectMalformed(() => findCredential(tokenEvent("Bearer   "), NAMES));
    });

    test("another scheme is malformed", () => {
      expectMalformed(() => findCredential(tokenEvent("Basic dXNlcjpwYXNzd29yZA=="), NAMES));
    });
  });

  describe("REST REQUEST events", () => {
    test.each(["Authorization", "authorization", "AUTHORIZATION", "aUtHoRiZaTiOn"])(
      "a Bearer token in a %s header is found",
      (name) => {
        expect(findCredential(requestEvent({ [name]: `Bearer ${JWT}` }), NAMES)).toEqual({
          kind: "session_jwt",
          value: JWT,
          source: "authorization",
        });
      },
    );

    test("a header found only in multiValueHeaders is used (first value wins)", () => {
      /**
       * Console test invocations (and some proxies) leave `headers` null; the multi-value map
       * still carries the header.
       */
      const event = requestEvent(null, { AuThOrIzAtIoN: [`Bearer ${SESSION_TOKEN}`, `Bearer ${JWT}`] });
      expect(findCredential(event, NAMES)).toEqual({
        kind: "session_token",
        value: SESSION_TOKEN,
        source: "authorization",
      });
    });

    test("a headers map without Authorization falls through to multiValueHeaders", () => {
      const event = requestEvent({ Accept: "application/json" }, { authorization: [JWT] });
      expect(findCredential(event, NAMES)?.value).toBe(JWT);
    });

    test("the session JWT cookie is found in the Cookie header", () => {
      const event = requestEvent({ Cookie: `theme=dark; stytch_session_jwt=${JWT}; lang=en` });
      expect(findCredential(event, NAMES)).toEqual({ kind: "session_jwt", value: JWT, source: "cookie" });
    });

    test("the session token cookie is found in a lower-case cookie header", () => {
      const event = requestEvent({ cookie: `stytch_session=${SESSION_TOKEN}` });
      expect(findCredential(event, NAMES)).toEqual({ kind: "session_token", value: SESSION_TOKEN, source: "cookie" });
    });

    test("cookies split over several Cookie lines in multiValueHeaders are all read", () => {
      const event = requestEvent(null, { Cookie: ["theme=dark; lang=en", `stytch_session=${SESSION_TOKEN}`] });
      expect(findCredential(event, NAMES)).toEqual({ kind: "session_token", value: SESSION_TOKEN, source: "cookie" });
    });

    test("null header maps mean no credential", () => {
      expect(findCredential(requestEvent(null, null), NAMES)).toBeUndefined();
    });

    test("a request with unrelated headers and cookies has no credential", () => {
      expect(findCredential(requestEvent({ Accept: "*/*", Cookie: "theme=dark; lang=en" }), NAMES)).toBeUndefined();
    });
  });

  describe("HTTP API payload 1.0 events", () => {
    test("a Bearer token in the Authorization header is found", () => {
      expect(findCredential(httpApiV1Event({ Authorization: `Bearer ${JWT}` }), NAMES)).toEqual({
        kind: "session_jwt",
        value: JWT,
        source: "authorization",
      });
    });

    test("the Stytch cookies are read from the Cookie header", () => {
      const event = httpApiV1Event({ cookie: `stytch_session=${SESSION_TOKEN}; other=1` });
      expect(findCredential(event, NAMES)).toEqual({ kind: "session_token", value: SESSION_TOKEN, source: "cookie" });
    });
  });

  describe("HTTP API payload 2.0 events", () => {
    test("a Bearer token in the lower-case authorization header is found", () => {
      expect(findCredential(httpApiV2Event({ authorization: `Bearer ${JWT}` }), NAMES)).toEqual({
        kind: "session_jwt",
        value: JWT,
        source: "authorization",
      });
    });

    test("the Stytch cookies are read from the separate cookies array", () => {
      const event = httpApiV2Event({ accept: "*/*" }, ["theme=dark", `stytch_session_jwt=${JWT}`]);
      expect(findCredential(event, NAMES)).toEqual({ kind: "session_jwt", value: JWT, source: "cookie" });
    });

    test("an empty cookies array means no credential", () => {
      expect(findCredential(httpApiV2Event({ accept: "*/*" }, []), NAMES)).toBeUndefined();
    });
  });

  describe("which credential wins", () => {
    test("the JWT cookie is preferred over the session token cookie, whatever their order", () => {
      const event = httpApiV2Event({}, [`stytch_session=${SESSION_TOKEN}`, `stytch_session_jwt=${JWT}`]);
      expect(findCredential(event, NAMES)).toEqual({ kind: "session_jwt", value: JWT, source: "cookie" });
    });

    test("an empty JWT cookie falls back to the session token cookie", () => {
      const event = requestEvent({ Cookie: `stytch_session_jwt=; stytch_session=${SESSION_TOKEN}` });
      expect(findCredential(event, NAMES)).toEqual({ kind: "session_token", value: SESSION_TOKEN, source: "cookie" });
    });

    test("custom cookie names are honoured and the default names are then ignored", () => {
      const names: CookieNames = { jwtCookieName: "acme_jwt", sessionCookieName: "acme_session" };
      const event = requestEvent({ Cookie: `stytch_session_jwt=${OTHER_JWT}; acme_session=${SESSION_TOKEN}` });
      expect(findCredential(event, names)).toEqual({ kind: "session_token", value: SESSION_TOKEN, source: "cookie" });
      expect(findCredential(requestEvent({ Cookie: `stytch_session_jwt=${OTHER_JWT}` }), names)).toBeUndefined();
      expect(
        findCredential(requestEvent({ Cookie: `acme_jwt=${JWT}; acme_session=${SESSION_TOKEN}` }), names)?.value,
      ).toBe(JWT);
    });

    test("the Authorization header wins over the cookies", () => {
      const event = httpApiV2Event({ authorization: `Bearer ${SESSION_TOKEN}` }, [`stytch_session_jwt=${JWT}`]);
      expect(findCredential(event, NAMES)).toEqual({
        kind: "session_token",
        value: SESSION_TOKEN,
        source: "authorization",
      });
    });

    test("a malformed Authorization header is an error, never replaced by a valid cookie", () => {
      /**
       * A client that sends a broken Authorization header has a bug it should see as a 401; quietly
       * authenticating it with a cookie instead would hide that (and mix two identities).
       */
      const rest = requestEvent({ Authorization: "Bearer not a token!", Cookie: `stytch_session_jwt=${JWT}` });
      expectMalformed(() => findCredential(rest, NAMES));
      // A dotted value is the header's JWT candidate (parsed strictly later), still never the cookie.
      const v2 = httpApiV2Event({ authorization: "Bearer a.b" }, [`stytch_session_jwt=${JWT}`]);
      expect(findCredential(v2, NAMES)).toEqual({ kind: "session_jwt", value: "a.b", source: "authorization" });
    });

    test("a blank Authorization header is treated as absent, so the cookie is used", () => {
      const event = requestEvent({ Authorization: "  ", Cookie: `stytch_session_jwt=${JWT}` });
      expect(findCredential(event, NAMES)).toEqual({ kind: "session_jwt", value: JWT, source: "cookie" });
    });
  });

  describe("cookie parsing", () => {
    test("a double-quoted cookie value is unquoted", () => {
      expect(findCredential(requestEvent({ Cookie: `stytch_session="${SESSION_TOKEN}"` }), NAMES)?.value).toBe(
        SESSION_TOKEN,
      );
    });

    test("a percent-encoded cookie value is decoded", () => {
      /**
       * Some cookie libraries percent-encode every value; "%3D%3D" is base64 padding.
       */
      const encoded = `${SESSION_TOKEN.slice(0, 40)}%3D%3D`;
      expect(findCredential(requestEvent({ Cookie: `stytch_session=${encoded}` }), NAMES)).toEqual({
        kind: "session_token",
        value: `${SESSION_TOKEN.slice(0, 40)}==`,
        source: "cookie",
      });
    });

    test("an undecodable percent sequence is left as is and then rejected as malformed", () => {
      expectMalformed(() => findCredential(requestEvent({ Cookie: `stytch_session=${SESSION_TOKEN}%E0%A4%A` }), NAMES));
    });

    test("the first of two cookies with the same name wins", () => {
      /**
       * Browsers send the cookie with the most specific Path first, so the first value is the
       * one the application meant.
       */
      const rest = requestEvent({ Cookie: `stytch_session_jwt=${JWT}; stytch_session_jwt=${OTHER_JWT}` });
      expect(findCredential(rest, NAMES)?.value).toBe(JWT);
      const v2 = httpApiV2Event({}, [`stytch_session_jwt=${OTHER_JWT}`, `stytch_session_jwt=${JWT}`]);
      expect(findCredential(v2, NAMES)?.value).toBe(OTHER_JWT);
    });

    test("cookie names are matched exactly, not by prefix or case", () => {
      const event = requestEvent({
        Cookie: `STYTCH_SESSION=${SESSION_TOKEN}; stytch_session_jwt_old=${JWT}; xstytch_session=${SESSION_TOKEN}`,
      });
      expect(findCredential(event, NAMES)).toBeUndefined();
    });

    test("pairs without a name or an equals sign are skipped", () => {
      const event = requestEvent({ Cookie: `garbage; =orphan; ; stytch_session=${SESSION_TOKEN}` });
      expect(findCredential(event, NAMES)?.value).toBe(SESSION_TOKEN);
    });

    test("a malformed Stytch cookie is an error", () => {
      expectMalformed(() => findCredential(requestEvent({ Cookie: "stytch_session_jwt=not-a-jwt!" }), NAMES));
    });
  });

  describe("classification", () => {
    test("a realistic 44-character Stytch session token is an opaque session token", () => {
      expect(findCredential(tokenEvent(`Bearer ${SESSION_TOKEN}`), NAMES)).toEqual({
        kind: "session_token",
        value: SESSION_TOKEN,
        source: "authorization",
      });
    });

    test("a three-segment base64url value is a session JWT", () => {
      expect(findCredential(tokenEvent("a.b.c"), NAMES)?.kind).toBe("session_jwt");
      expect(findCredential(tokenEvent(JWT), NAMES)?.kind).toBe("session_jwt");
    });

    test("session tokens of 24 to 128 characters, with up to two = of padding, are accepted", () => {
      expect(findCredential(tokenEvent("a".repeat(24)), NAMES)?.kind).toBe("session_token");
      expect(findCredential(tokenEvent("a".repeat(128)), NAMES)?.kind).toBe("session_token");
      expect(findCredential(tokenEvent(`${"a".repeat(42)}==`), NAMES)?.kind).toBe("session_token");
    });

    test.each([
      ["two segments", "a.b"],
      ["four segments", "a.b.c.d"],
      ["an empty JWT segment", "a..c"],
      ["a trailing dot", "a.b.c."],
      ["standard base64 characters in a JWT", "a+b.c/d.e"],
    ])("%s is a JWT candidate that the JWT parser rejects as malformed", (_, value) => {
      /**
       * Classification only decides the kind, so a repeated, remembered JWT costs no regex. The
       * strict structure check of a JWT lives in one place, session-jwt.ts, and always runs before
       * a JWT is verified or sent anywhere.
       */
      const credential = findCredential(tokenEvent(`Bearer ${value}`), NAMES);
      expect(credential?.kind).toBe("session_jwt");
      expectMalformed(() => parseSessionJwt(credential!.value));
    });

    test.each([
      ["garbage with spaces and punctuation", "not a token!"],
      ["a token that is too short", "a".repeat(23)],
      ["a token that is too long for a session token", "a".repeat(129)],
      ["three = of padding", `${"a".repeat(41)}===`],
      ["padding in the middle", `${"a".repeat(20)}=${"a".repeat(20)}`],
      ["a quote", `"${SESSION_TOKEN}`],
    ])("%s is malformed", (_, value) => {
      expectMalformed(() => findCredential(tokenEvent(`Bearer ${value}`), NAMES));
    });

    test("a credential longer than the limit is malformed even when JWT-shaped", () => {
      const header = "eyJhbGciOiJSUzI1NiJ9";
      const atLimit = `${header}.${"a".repeat(MAX_CREDENTIAL_LENGTH - header.length - 5)}.sig`;
      expect(atLimit).toHaveLength(MAX_CREDENTIAL_LENGTH);
      expect(findCredential(tokenEvent(`Bearer ${atLimit}`), NAMES)?.kind).toBe("session_jwt");
      const tooLong = `${header}.${"a".repeat(MAX_CREDENTIAL_LENGTH - header.length - 4)}.sig`;
      expect(tooLong).toHaveLength(MAX_CREDENTIAL_LENGTH + 1);
      expect(expectMalformed(() => findCredential(tokenEvent(`Bearer ${tooLong}`), NAMES)).message).toBe(
        "credential is too long",
      );
      expect(
        expectMalformed(() => findCredential(httpApiV2Event({}, [`stytch_session_jwt=${tooLong}`]), NAMES)).message,
      ).toBe("credential is too long");
    });

    test("the error message never contains the credential", () => {
      const secretish = "Bearer this-is-not-a-valid-token but looks secret";
      const error = expectMalformed(() => findCredential(tokenEvent(secretish), NAMES));
      expect(error.message).not.toContain("this-is-not-a-valid-token");
    });
  });
});
