// Unit tests for lambda/lib/session-jwt.ts: parsing a compact JWS, the RS256 signature, the standard
// claims (jose's semantics), and the mapping of an authentic payload to a MemberSession. Tokens are
// signed here with node:crypto, so every byte of every edge case is under the test's control.

import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  BadSignatureError,
  MalformedCredentialError,
  NotMemberSessionError,
  NotYetValidError,
  UnsupportedAlgorithmError,
  WrongAudienceError,
  WrongIssuerError,
  type AuthorizerError,
} from "../lambda/lib/errors";
import { checkClaims, parseSessionJwt, toMemberSession, verifySignature, type ClaimRules } from "../lambda/lib/session-jwt";
import { thrownBy } from "./support/thrown";

const PROJECT_ID = "project-test-1befd812-e9e6-49fe-bdc1-c8df2bfa702a";
const KID = "jwk-test-e9745fbf-3b44-491b-b402-aff8f13eec69";
const NOW = 1_900_000_000; // whole seconds, as jose counts
const TOLERANCE = 5;

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ecKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });

const RULES: ClaimRules = {
  projectId: PROJECT_ID,
  issuers: [`stytch.com/${PROJECT_ID}`, "https://login.example.com"],
  clockToleranceSeconds: TOLERANCE,
  maxTokenAgeSeconds: undefined,
};

const HEADER = { alg: "RS256", kid: KID, typ: "JWT" };

/** A B2B session JWT payload as Stytch mints it (5-minute lifetime, aud as an array, nbf == iat). */
function memberPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    aud: [PROJECT_ID],
    exp: NOW + 290,
    iat: NOW - 10,
    nbf: NOW - 10,
    iss: `stytch.com/${PROJECT_ID}`,
    sub: "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f",
    "https://stytch.com/session": {
      id: "member-session-test-4b6e4c5f-1e9f-4f0a-8f6e-0c1b2d3e4f50",
      started_at: "2030-03-12T18:00:00Z",
      last_accessed_at: "2030-03-12T19:03:00Z",
      expires_at: "2030-03-13T19:03:00Z",
      attributes: { user_agent: "", ip_address: "" },
      authentication_factors: [
        {
          type: "magic_link",
          delivery_method: "email",
          last_authenticated_at: "2030-03-12T18:00:00Z",
          email_factor: { email_id: "email-test-23873e89", email_address: "ada@acme.example" },
        },
      ],
      roles: ["stytch_member", "editor"],
    },
    "https://stytch.com/organization": {
      organization_id: "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931",
      slug: "acme",
    },
    ...overrides,
  };
}

function b64url(bytes: string | Buffer): string {
  return Buffer.from(bytes).toString("base64url");
}

/** Signs `header.payload` with RS256 (or another node:crypto digest) and returns the compact JWS. */
function signJwt(header: unknown, payload: unknown, key: KeyObject = privateKey, digest = "sha256"): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${signingInput}.${sign(digest, Buffer.from(signingInput), key).toString("base64url")}`;
}

/** Signs raw segments (already encoded) so malformed headers and payloads can be built. */
function signSegments(headerSegment: string, payloadSegment: string): string {
  const signingInput = `${headerSegment}.${payloadSegment}`;
  return `${signingInput}.${sign("sha256", Buffer.from(signingInput), privateKey).toString("base64url")}`;
}

const GOOD_JWT = signJwt(HEADER, memberPayload());

/** Runs `fn`, asserts the exact error class and reason code, and returns the error. */
function expectError<E extends AuthorizerError>(fn: () => unknown, errorClass: abstract new (...args: never[]) => E, reason: string): E {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(errorClass);
  expect((caught as E).constructor).toBe(errorClass);
  expect((caught as E).reason).toBe(reason);
  return caught as E;
}

const expectMalformed = (fn: () => unknown) => expectError(fn, MalformedCredentialError, "malformed");
const expectUnsupportedAlgorithm = (fn: () => unknown) => expectError(fn, UnsupportedAlgorithmError, "unsupported_algorithm");
const expectBadSignature = (fn: () => unknown) => expectError(fn, BadSignatureError, "bad_signature");
const expectNotMember = (fn: () => unknown) => expectError(fn, NotMemberSessionError, "not_member_session");
const expectNotYetValid = (fn: () => unknown) => expectError(fn, NotYetValidError, "not_yet_valid");

describe("unit tests session-jwt", () => {
  describe("parseSessionJwt", () => {
    test("a well-formed Stytch session JWT is parsed into header, payload, signing input and signature", () => {
      const [headerSegment, payloadSegment, signatureSegment] = GOOD_JWT.split(".");
      const parsed = parseSessionJwt(GOOD_JWT);
      expect(parsed.header).toEqual({ alg: "RS256", kid: KID });
      expect(parsed.payload).toEqual(memberPayload());
      expect(parsed.signingInput.equals(Buffer.from(`${headerSegment}.${payloadSegment}`))).toBe(true);
      expect(parsed.signature.equals(Buffer.from(signatureSegment, "base64url"))).toBe(true);
      expect(parsed.signature).toHaveLength(256);
    });

    test("the same header parsed twice gives the same kid", () => {
      const first = parseSessionJwt(GOOD_JWT);
      const second = parseSessionJwt(signJwt(HEADER, memberPayload({ sub: "member-test-other" })));
      expect(second.header).toEqual(first.header);
      expect(second.payload.sub).toBe("member-test-other");
    });

    test.each([
      ["one segment", "eyJhbGciOiJSUzI1NiJ9"],
      ["two segments", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"],
      ["four segments", `${GOOD_JWT}.AAAA`],
      ["five segments (a JWE)", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"],
      ["an empty string", ""],
    ])("a token with %s is malformed", (_, token) => {
      expectMalformed(() => parseSessionJwt(token));
    });

    test.each([
      ["an empty header", (h: string, p: string, s: string) => `.${p}.${s}`],
      ["an empty payload", (h: string, _p: string, s: string) => `${h}..${s}`],
      ["an empty signature", (h: string, p: string) => `${h}.${p}.`],
      ["only dots", () => ".."],
    ])("a token with %s is malformed", (_, build) => {
      const [h, p, s] = GOOD_JWT.split(".");
      expectMalformed(() => parseSessionJwt(build(h, p, s)));
    });

    test("a header that is not JSON is malformed", () => {
      const error = expectMalformed(() => parseSessionJwt(signSegments(b64url("{alg:RS256}"), b64url(JSON.stringify(memberPayload())))));
      expect(error.message).toBe("header is not JSON");
    });

    test("a payload that is not JSON is malformed", () => {
      const error = expectMalformed(() => parseSessionJwt(signSegments(b64url(JSON.stringify(HEADER)), b64url("not json"))));
      expect(error.message).toBe("payload is not JSON");
    });

    test.each([
      ["a JSON array", [memberPayload()]],
      ["null", null],
      ["a string", "member-test-1"],
      ["a number", 42],
    ])("a payload that is %s is malformed", (_, payload) => {
      const error = expectMalformed(() => parseSessionJwt(signJwt(HEADER, payload)));
      expect(error.message).toBe("payload is not a JSON object");
    });

    test("a header that is a JSON array is malformed", () => {
      expectMalformed(() => parseSessionJwt(signSegments(b64url(JSON.stringify([HEADER])), b64url("{}"))));
    });

    test("a payload that is not valid UTF-8 is malformed", () => {
      /**
       * 0xC3 0x28 is an invalid two-byte sequence. Decoding it leniently would turn it into U+FFFD
       * and let a payload that is not the signed text be parsed as JSON.
       */
      const bytes = Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
      const error = expectMalformed(() => parseSessionJwt(signSegments(b64url(JSON.stringify(HEADER)), b64url(bytes))));
      expect(error.message).toBe("payload is not UTF-8");
    });

    test("a payload segment whose length is 4k+1 is malformed", () => {
      /**
       * A base64url string of length 4k+1 cannot encode whole bytes. Buffer would silently drop the
       * last character, so "<valid payload>A" would decode to the same payload as "<valid payload>"
       * (jose rejects it). Build a payload segment of length 4k, then add one character.
       */
      let json = JSON.stringify(memberPayload());
      while (b64url(json).length % 4 !== 0) json += " ";
      const payloadSegment = `${b64url(json)}A`;
      expect(payloadSegment.length % 4).toBe(1);
      expect(Buffer.from(payloadSegment, "base64url").toString()).toBe(json);
      const error = expectMalformed(() => parseSessionJwt(signSegments(b64url(JSON.stringify(HEADER)), payloadSegment)));
      expect(error.message).toBe("payload is not base64url");
    });

    test("a signature segment whose length is 4k+1 is malformed", () => {
      const [h, p, s] = GOOD_JWT.split(".");
      expect(s).toHaveLength(342);
      expectMalformed(() => parseSessionJwt(`${h}.${p}.${s.slice(0, 341)}`));
    });

    test.each(["none", "HS256", "RS384", "RS512", "PS256", "ES256", "EdDSA", "rs256"])("alg %s is an unsupported algorithm", (alg) => {
      expectUnsupportedAlgorithm(() => parseSessionJwt(signJwt({ ...HEADER, alg }, memberPayload())));
    });

    test("a header without alg is an unsupported algorithm", () => {
      expectUnsupportedAlgorithm(() => parseSessionJwt(signJwt({ kid: KID, typ: "JWT" }, memberPayload())));
    });

    test("an alg:none token with an empty signature is malformed before the algorithm is even read", () => {
      const unsigned = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(memberPayload()))}.`;
      expectMalformed(() => parseSessionJwt(unsigned));
    });

    test.each([
      ["missing", { alg: "RS256", typ: "JWT" }],
      ["empty", { ...HEADER, kid: "" }],
      ["a number", { ...HEADER, kid: 7 }],
    ])("a kid that is %s is malformed", (_, header) => {
      const error = expectMalformed(() => parseSessionJwt(signJwt(header, memberPayload())));
      expect(error.message).toBe("header has no kid");
    });

    test.each([
      ["missing", { alg: "RS256", kid: KID }],
      ["at+jwt (an access token)", { ...HEADER, typ: "at+jwt" }],
      ["application/at+jwt", { ...HEADER, typ: "application/at+jwt" }],
      ["JOSE", { ...HEADER, typ: "JOSE" }],
      ["a number", { ...HEADER, typ: 1 }],
      ["empty", { ...HEADER, typ: "" }],
    ])("a typ that is %s is malformed", (_, header) => {
      const error = expectMalformed(() => parseSessionJwt(signJwt(header, memberPayload())));
      expect(error.message).toBe('header typ is not "JWT"');
    });

    test.each(["JWT", "jwt", "application/jwt", "Application/JWT"])("typ %s is accepted", (typ) => {
      expect(parseSessionJwt(signJwt({ ...HEADER, typ }, memberPayload())).header).toEqual({ alg: "RS256", kid: KID });
    });

    test.each([
      ["a list of claims", ["exp"]],
      ["an empty list", []],
      ["a string", "b64"],
    ])("a crit header with %s is malformed", (_, crit) => {
      const error = expectMalformed(() => parseSessionJwt(signJwt({ ...HEADER, crit, b64: false }, memberPayload())));
      expect(error.message).toBe("crit header extensions are not supported");
    });

    test("a rejected header is rejected again, not remembered as good", () => {
      const token = signJwt({ ...HEADER, alg: "HS256" }, memberPayload());
      expectUnsupportedAlgorithm(() => parseSessionJwt(token));
      expectUnsupportedAlgorithm(() => parseSessionJwt(token));
    });
  });

  describe("verifySignature", () => {
    test("a token signed with the project key verifies", () => {
      expect(() => verifySignature(parseSessionJwt(GOOD_JWT), publicKey)).not.toThrow();
    });

    test("a tampered payload does not verify", () => {
      /**
       * Swap in a payload naming another member, keeping the original header and signature.
       */
      const [h, , s] = GOOD_JWT.split(".");
      const forged = `${h}.${b64url(JSON.stringify(memberPayload({ sub: "member-test-attacker" })))}.${s}`;
      expectBadSignature(() => verifySignature(parseSessionJwt(forged), publicKey));
    });

    test("a tampered header does not verify", () => {
      const [, p, s] = GOOD_JWT.split(".");
      const forged = `${b64url(JSON.stringify({ ...HEADER, kid: "jwk-test-other" }))}.${p}.${s}`;
      expectBadSignature(() => verifySignature(parseSessionJwt(forged), publicKey));
    });

    test("a token signed with another key does not verify", () => {
      expectBadSignature(() => verifySignature(parseSessionJwt(signJwt(HEADER, memberPayload(), other.privateKey)), publicKey));
      expectBadSignature(() => verifySignature(parseSessionJwt(GOOD_JWT), other.publicKey));
    });

    test("a truncated signature does not verify", () => {
      const [h, p, s] = GOOD_JWT.split(".");
      expectBadSignature(() => verifySignature(parseSessionJwt(`${h}.${p}.${s.slice(0, 338)}`), publicKey));
      expectBadSignature(() => verifySignature(parseSessionJwt(`${h}.${p}.AA`), publicKey));
    });

    test("a signature made with SHA-384 under an RS256 header does not verify", () => {
      expectBadSignature(() => verifySignature(parseSessionJwt(signJwt(HEADER, memberPayload(), privateKey, "sha384")), publicKey));
    });

    test("a key of another type is a bad signature, not a crash", () => {
      expectBadSignature(() => verifySignature(parseSessionJwt(GOOD_JWT), ecKeys.publicKey));
    });
  });

  describe("checkClaims", () => {
    test("valid claims give a verdict that may be reused until exp plus the tolerance", () => {
      const payload = memberPayload();
      expect(checkClaims(payload, RULES, NOW)).toEqual({ status: "valid", notAfterMs: (NOW + 290 + TOLERANCE) * 1000 });
    });

    test.each(["iss", "aud", "exp", "nbf", "iat"])("a payload without %s is malformed", (claim) => {
      const payload = memberPayload();
      delete payload[claim];
      const error = expectMalformed(() => checkClaims(payload, RULES, NOW));
      expect(error.message).toBe("a required claim (iss, aud, exp, nbf, iat) is missing");
    });

    test.each([
      ["another project's issuer", "stytch.com/project-test-00000000-0000-0000-0000-000000000000"],
      ["the issuer with an https:// prefix", `https://stytch.com/${PROJECT_ID}`],
      ["a custom domain that is not configured", "https://login.evil.example"],
      ["the custom domain with a trailing slash", "https://login.example.com/"],
      ["an empty issuer", ""],
      ["a non-string issuer", 42],
      ["an issuer list", [`stytch.com/${PROJECT_ID}`]],
    ])("%s is a wrong issuer", (_, iss) => {
      expectError(() => checkClaims(memberPayload({ iss }), RULES, NOW), WrongIssuerError, "wrong_issuer");
    });

    test("the custom-domain issuer is accepted when it is in the issuer list", () => {
      /**
       * When a project is reached through a CNAME (custom domain), Stytch mints JWTs whose iss is
       * that base URL instead of stytch.com/{projectId}.
       */
      expect(checkClaims(memberPayload({ iss: "https://login.example.com" }), RULES, NOW).status).toBe("valid");
    });

    test("aud may be the project ID as a string or in an array", () => {
      expect(checkClaims(memberPayload({ aud: PROJECT_ID }), RULES, NOW).status).toBe("valid");
      expect(checkClaims(memberPayload({ aud: [PROJECT_ID] }), RULES, NOW).status).toBe("valid");
      expect(checkClaims(memberPayload({ aud: ["project-test-other", PROJECT_ID] }), RULES, NOW).status).toBe("valid");
    });

    test.each([
      ["another project", "project-test-other"],
      ["an array without the project", ["project-test-other"]],
      ["an empty array", []],
      ["a prefix of the project ID", PROJECT_ID.slice(0, -1)],
      ["an object", { [PROJECT_ID]: true }],
    ])("aud that is %s is a wrong audience", (_, aud) => {
      expectError(() => checkClaims(memberPayload({ aud }), RULES, NOW), WrongAudienceError, "wrong_audience");
    });

    test("nbf in the future beyond the tolerance is not yet valid, within the tolerance it is fine", () => {
      expectNotYetValid(() => checkClaims(memberPayload({ nbf: NOW + TOLERANCE + 1 }), RULES, NOW));
      expect(checkClaims(memberPayload({ nbf: NOW + TOLERANCE }), RULES, NOW).status).toBe("valid");
    });

    test("exp in the past is reported as expired, not thrown", () => {
      /**
       * An authentic but expired JWT may still belong to a live session (Stytch JWTs live 5 minutes,
       * sessions much longer), so the caller asks Stytch instead of denying outright.
       */
      expect(checkClaims(memberPayload({ iat: NOW - 400, nbf: NOW - 400, exp: NOW - 100 }), RULES, NOW)).toEqual({ status: "expired" });
    });

    test("exp exactly at now minus the tolerance is expired, one second later is valid", () => {
      expect(checkClaims(memberPayload({ iat: NOW - 300, nbf: NOW - 300, exp: NOW - TOLERANCE }), RULES, NOW)).toEqual({ status: "expired" });
      expect(checkClaims(memberPayload({ iat: NOW - 300, nbf: NOW - 300, exp: NOW - TOLERANCE + 1 }), RULES, NOW)).toEqual({
        status: "valid",
        notAfterMs: (NOW + 1) * 1000,
      });
    });

    test("with no tolerance, a token expiring this very second is expired", () => {
      const rules: ClaimRules = { ...RULES, clockToleranceSeconds: 0 };
      expect(checkClaims(memberPayload({ exp: NOW }), rules, NOW)).toEqual({ status: "expired" });
      expect(checkClaims(memberPayload({ exp: NOW + 1 }), rules, NOW)).toEqual({ status: "valid", notAfterMs: (NOW + 1) * 1000 });
    });

    test("a max token age of 0 makes every token too old (strict mode)", () => {
      const strict: ClaimRules = { ...RULES, maxTokenAgeSeconds: 0 };
      for (const iat of [NOW, NOW - 1, NOW - 299]) {
        expect(checkClaims(memberPayload({ iat, nbf: iat, exp: iat + 300 }), strict, NOW)).toEqual({ status: "too_old" });
      }
    });

    test("with a max age of 60 s, a token issued 100 s ago is too old", () => {
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 60 };
      expect(checkClaims(memberPayload({ iat: NOW - 100, nbf: NOW - 100, exp: NOW + 200 }), rules, NOW)).toEqual({ status: "too_old" });
    });

    test("with a max age of 60 s, a token issued 30 s ago is valid until its age runs out", () => {
      /**
       * The verdict may be reused only until the earlier of exp + tolerance and
       * iat + max age + tolerance: here (NOW - 30 + 60 + 5) s, long before exp.
       */
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 60 };
      const iat = NOW - 30;
      const exp = iat + 300;
      expect(checkClaims(memberPayload({ iat, nbf: iat, exp }), rules, NOW)).toEqual({
        status: "valid",
        notAfterMs: Math.min(exp + TOLERANCE, iat + 60 + TOLERANCE) * 1000,
      });
      expect(Math.min(exp + TOLERANCE, iat + 60 + TOLERANCE)).toBe(NOW + 35);
    });

    test("when exp comes before the max age runs out, exp bounds the verdict", () => {
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 3_600 };
      const iat = NOW - 30;
      expect(checkClaims(memberPayload({ iat, nbf: iat, exp: iat + 300 }), rules, NOW)).toEqual({
        status: "valid",
        notAfterMs: (iat + 300 + TOLERANCE) * 1000,
      });
    });

    test("the max age boundary follows jose: age minus tolerance equal to the max is still valid", () => {
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 60 };
      const atLimit = NOW - 60 - TOLERANCE;
      expect(checkClaims(memberPayload({ iat: atLimit, nbf: atLimit, exp: atLimit + 300 }), rules, NOW)).toEqual({
        status: "valid",
        notAfterMs: NOW * 1000,
      });
      const pastLimit = atLimit - 1;
      expect(checkClaims(memberPayload({ iat: pastLimit, nbf: pastLimit, exp: pastLimit + 300 }), rules, NOW)).toEqual({ status: "too_old" });
    });

    test("iat in the future beyond the tolerance is not yet valid when a max age is set", () => {
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 60 };
      expectNotYetValid(() => checkClaims(memberPayload({ iat: NOW + TOLERANCE + 1, nbf: NOW, exp: NOW + 300 }), rules, NOW));
      expect(checkClaims(memberPayload({ iat: NOW + TOLERANCE, nbf: NOW, exp: NOW + 300 }), rules, NOW).status).toBe("valid");
    });

    test.each([
      ["exp as a string", { exp: String(NOW + 290) }],
      ["nbf as a string", { nbf: String(NOW - 10) }],
      ["iat as a string", { iat: String(NOW - 10) }],
      ["iat as null", { iat: null }],
      ["exp as a boolean", { exp: true }],
      ["nbf as an array", { nbf: [NOW - 10] }],
    ])("%s is malformed", (_, overrides) => {
      const error = expectMalformed(() => checkClaims(memberPayload(overrides), RULES, NOW));
      expect(error.message).toBe("a time claim is not a number");
    });
  });

  describe("toMemberSession", () => {
    test("an authentic payload maps to the member session", () => {
      expect(toMemberSession(memberPayload({ tier: "gold" }))).toStrictEqual({
        memberId: "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f",
        memberSessionId: "member-session-test-4b6e4c5f-1e9f-4f0a-8f6e-0c1b2d3e4f50",
        organizationId: "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931",
        organizationSlug: "acme",
        roles: ["stytch_member", "editor"],
        authMethod: "jwt",
        sessionExpiresAt: "2030-03-13T19:03:00Z",
        email: "ada@acme.example",
        customClaims: { tier: "gold" },
      });
    });

    test("the slug is read from `slug`, not from `organization_slug`", () => {
      /**
       * Stytch's Node SDK read `organization_slug` from the organization claim until PR #435;
       * the claim's key is `slug`.
       */
      const payload = memberPayload({
        "https://stytch.com/organization": { organization_id: "organization-test-1", organization_slug: "wrong" },
      });
      expect(toMemberSession(payload).organizationSlug).toBe("");
      expect(toMemberSession(memberPayload({ "https://stytch.com/organization": { organization_id: "organization-test-1", slug: "right" } })).organizationSlug).toBe(
        "right"
      );
    });

    test("a session without roles has no roles", () => {
      const payload = memberPayload();
      const session = { ...(payload["https://stytch.com/session"] as Record<string, unknown>) };
      delete session.roles;
      expect(toMemberSession({ ...payload, "https://stytch.com/session": session }).roles).toEqual([]);
    });

    test("without a session expires_at, the JWT's exp is used", () => {
      const payload = memberPayload();
      const session = { ...(payload["https://stytch.com/session"] as Record<string, unknown>) };
      delete session.expires_at;
      expect(toMemberSession({ ...payload, "https://stytch.com/session": session }).sessionExpiresAt).toBe(new Date((NOW + 290) * 1000).toISOString());
    });

    test("the email comes from the first authentication factor that has one", () => {
      const payload = memberPayload();
      const session = payload["https://stytch.com/session"] as Record<string, unknown>;
      const factors = [
        { type: "password", delivery_method: "knowledge" },
        { type: "oauth", delivery_method: "oauth_google", email_factor: { email_address: "" } },
        { type: "sso", delivery_method: "sso_saml", email_factor: { email_id: "email-test-2", email_address: "grace@acme.example" } },
        { type: "magic_link", delivery_method: "email", email_factor: { email_id: "email-test-3", email_address: "later@acme.example" } },
      ];
      expect(toMemberSession({ ...payload, "https://stytch.com/session": { ...session, authentication_factors: factors } }).email).toBe("grace@acme.example");
    });

    test("without any email factor, the member has no email property", () => {
      const payload = memberPayload();
      const session = payload["https://stytch.com/session"] as Record<string, unknown>;
      const member = toMemberSession({ ...payload, "https://stytch.com/session": { ...session, authentication_factors: [{ type: "totp" }, null] } });
      expect(member).not.toHaveProperty("email");
      const noFactors = toMemberSession({ ...payload, "https://stytch.com/session": { ...session, authentication_factors: undefined } });
      expect(noFactors).not.toHaveProperty("email");
    });

    test("custom claims are the top-level keys left after the registered and Stytch claims", () => {
      const payload = memberPayload({
        jti: "jwt-id-1",
        tier: "gold",
        "https://acme.example/claims": { plan: "pro" },
        permissions: ["read", "write"],
      });
      expect(toMemberSession(payload).customClaims).toStrictEqual({
        tier: "gold",
        "https://acme.example/claims": { plan: "pro" },
        permissions: ["read", "write"],
      });
    });

    test("a payload with no custom claims maps to empty custom claims", () => {
      expect(toMemberSession(memberPayload()).customClaims).toStrictEqual({});
    });

    test("a __proto__ claim is ignored and pollutes nothing", () => {
      /**
       * JSON.parse turns "__proto__" into an own property. Copying it with a plain assignment
       * would replace the custom-claims object's prototype instead of adding a claim.
       */
      const token = signSegments(b64url(JSON.stringify(HEADER)), b64url(JSON.stringify(memberPayload()).replace(/^\{/, '{"__proto__":{"isAdmin":true},"tier":"gold",')));
      const payload = parseSessionJwt(token).payload;
      expect(Object.keys(payload)).toContain("__proto__");
      const claims = toMemberSession(payload).customClaims;
      expect(claims).toStrictEqual({ tier: "gold" });
      expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
      expect((claims as { isAdmin?: unknown }).isAdmin).toBeUndefined();
      expect(({} as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    });

    test("an M2M token signed with the same keys is not a member session", () => {
      /**
       * Stytch M2M access tokens are signed with the project's keys too, and pass the signature,
       * issuer and audience checks. Without the session and organization claims they must never
       * become a member.
       */
      const m2m = {
        aud: [PROJECT_ID],
        exp: NOW + 3_600,
        iat: NOW,
        nbf: NOW,
        iss: `stytch.com/${PROJECT_ID}`,
        sub: "m2m-client-test-d731954d-dab3-4a2b-bdee-07f3ad1be885",
        scope: "read:users write:users",
      };
      expect(checkClaims(m2m, RULES, NOW).status).toBe("valid");
      const error = expectNotMember(() => toMemberSession(m2m));
      expect(error.message).toBe("no Stytch session and organization claims");
    });

    test.each([
      ["no organization claim", { "https://stytch.com/organization": undefined }],
      ["no session claim", { "https://stytch.com/session": undefined }],
      ["a null session claim", { "https://stytch.com/session": null }],
      ["a string organization claim", { "https://stytch.com/organization": "organization-test-1" }],
      ["no sub", { sub: undefined }],
      ["an empty sub", { sub: "" }],
      ["a session without an id", { "https://stytch.com/session": { roles: [] } }],
      ["an organization without an id", { "https://stytch.com/organization": { slug: "acme" } }],
    ])("a payload with %s is not a member session", (_, overrides) => {
      expectNotMember(() => toMemberSession(memberPayload(overrides)));
    });

    test.each([
      ["a string", "admin"],
      ["an array with a number", ["stytch_member", 1]],
      ["an array with null", [null]],
      ["an object", { admin: true }],
    ])("roles that are %s are not a member session", (_, roles) => {
      const payload = memberPayload();
      const session = payload["https://stytch.com/session"] as Record<string, unknown>;
      const error = expectNotMember(() => toMemberSession({ ...payload, "https://stytch.com/session": { ...session, roles } }));
      expect(error.message).toBe("session roles are not a list of strings");
    });
  });

  describe("the whole local verification", () => {
    test("a real-looking token goes through parse, signature, claims and mapping", () => {
      const jwt = signJwt(HEADER, memberPayload({ iss: "https://login.example.com" }));
      const parsed = parseSessionJwt(jwt);
      verifySignature(parsed, publicKey);
      expect(checkClaims(parsed.payload, { ...RULES, maxTokenAgeSeconds: 300 }, NOW)).toEqual({
        status: "valid",
        notAfterMs: (NOW + 290 + TOLERANCE) * 1000,
      });
      expect(toMemberSession(parsed.payload).memberId).toBe("member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f");
    });
  });
});
