// Unit tests for lambda/lib/session/session-jwt.ts: the strict compact form, the header, verification with jose
// (signature, standard claims), and the mapping of an authentic payload to a MemberSession. Tokens are
// signed here with node:crypto, so every byte of every edge case is under the test's control.

import { constants, createHmac, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { importJWK } from "jose";
import { describe, expect, test } from "vitest";
import {
  type AuthorizerError,
  BadSignatureError,
  MalformedCredentialError,
  NotMemberSessionError,
  NotYetValidError,
  UnsupportedAlgorithmError,
  WrongAudienceError,
  WrongIssuerError,
} from "../lambda/lib/errors";
import type { VerificationKey } from "../lambda/lib/session/jwks-cache";
import {
  assertCompactJws,
  type ClaimRules,
  type ClaimsVerdict,
  MAX_TIME_CLAIM_SECONDS,
  parseSessionJwt,
  SessionJwtVerifier,
  screenUnverifiedClaims,
  toMemberSession,
} from "../lambda/lib/session/session-jwt";
import { nonCanonicalTail, sameLowByte } from "./support/forgeries";
import { thrownBy } from "./support/thrown";

const PROJECT_ID = "project-test-1befd812-e9e6-49fe-bdc1-c8df2bfa702a";
const KID = "jwk-test-e9745fbf-3b44-491b-b402-aff8f13eec69";
const NOW = 1_900_000_000; // whole seconds, as jose counts
const TOLERANCE = 5;

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });

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

const importKey = (key: KeyObject) =>
  importJWK({ ...key.export({ format: "jwk" }), alg: "RS256" }, "RS256") as Promise<VerificationKey>;
const projectKey = await importKey(publicKey);
const otherKey = await importKey(other.publicKey);

/** Verifies with jose at the fixed clock and reduces the result to the claims verdict. */
async function verdictOf(
  token: string,
  rules: ClaimRules = RULES,
  key: VerificationKey = projectKey,
): Promise<ClaimsVerdict> {
  const jwt = await new SessionJwtVerifier(rules).verify(token, key, NOW);
  return jwt.status === "valid" ? { status: "valid", notAfterMs: jwt.notAfterMs } : { status: jwt.status };
}

/** The claims verdict of a token signed with the project key over `payload`. */
const claimsOf = (payload: Record<string, unknown>, rules: ClaimRules = RULES) =>
  verdictOf(signJwt(HEADER, payload), rules);

/** Awaits `promise`, asserts it rejected with exactly `errorClass` and `reason`, and returns the error. */
async function expectRejection<E extends AuthorizerError>(
  promise: Promise<unknown>,
  errorClass: abstract new (...args: never[]) => E,
  reason: string,
): Promise<E> {
  const caught = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(caught).toBeInstanceOf(errorClass);
  expect((caught as E).constructor).toBe(errorClass);
  expect((caught as E).reason).toBe(reason);
  return caught as E;
}

/** Runs `fn`, asserts the exact error class and reason code, and returns the error. */
function expectError<E extends AuthorizerError>(
  fn: () => unknown,
  errorClass: abstract new (...args: never[]) => E,
  reason: string,
): E {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(errorClass);
  expect((caught as E).constructor).toBe(errorClass);
  expect((caught as E).reason).toBe(reason);
  return caught as E;
}

const expectMalformed = (fn: () => unknown) => expectError(fn, MalformedCredentialError, "malformed");
const expectUnsupportedAlgorithm = (fn: () => unknown) =>
  expectError(fn, UnsupportedAlgorithmError, "unsupported_algorithm");
const expectNotMember = (fn: () => unknown) => expectError(fn, NotMemberSessionError, "not_member_session");

describe("unit tests session-jwt", () => {
  describe("parseSessionJwt", () => {
    test("a well-formed Stytch session JWT is parsed into header, payload, signing input and signature", () => {
      const [headerSegment, payloadSegment, signatureSegment] = GOOD_JWT.split(".");
      const parsed = parseSessionJwt(GOOD_JWT);
      expect(parsed.header).toEqual({ alg: "RS256", kid: KID });
      expect(parsed.payload).toEqual(memberPayload());
      expect(parsed.raw).toBe(`${headerSegment}.${payloadSegment}.${signatureSegment}`);
      expect(Buffer.from(signatureSegment!, "base64url")).toHaveLength(256);
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
      ["an empty header", (_h: string, p: string, s: string) => `.${p}.${s}`],
      ["an empty payload", (h: string, _p: string, s: string) => `${h}..${s}`],
      ["an empty signature", (h: string, p: string) => `${h}.${p}.`],
      ["only dots", () => ".."],
    ])("a token with %s is malformed", (_, build) => {
      const [h, p, s] = GOOD_JWT.split(".");
      expectMalformed(() => parseSessionJwt(build(h, p, s)));
    });

    test("a header that is not JSON is malformed", () => {
      const error = expectMalformed(() =>
        parseSessionJwt(signSegments(b64url("{alg:RS256}"), b64url(JSON.stringify(memberPayload())))),
      );
      expect(error.message).toBe("header is not JSON");
    });

    test("a payload that is not JSON is malformed", () => {
      const error = expectMalformed(() =>
        parseSessionJwt(signSegments(b64url(JSON.stringify(HEADER)), b64url("not json"))),
      );
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
      const error = expectMalformed(() =>
        parseSessionJwt(signSegments(b64url(JSON.stringify([HEADER])), b64url("{}"))),
      );
      expect(error.message).toBe("header is not a JSON object");
    });

    test("a header that is not valid UTF-8 is malformed, never decoded leniently", () => {
      // A kid with U+FFFD in place of the bad bytes could name a key the signed header does not.
      const bytes = Buffer.concat([
        Buffer.from('{"alg":"RS256","typ":"JWT","kid":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}'),
      ]);
      const error = expectMalformed(() =>
        parseSessionJwt(signSegments(b64url(bytes), b64url(JSON.stringify(memberPayload())))),
      );
      expect(error.message).toBe("header is not UTF-8");
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
      const error = expectMalformed(() =>
        parseSessionJwt(signSegments(b64url(JSON.stringify(HEADER)), payloadSegment)),
      );
      expect(error.message).toBe("a segment is not canonical base64url");
    });

    test("a last character is accepted exactly when it spells its bytes the one canonical way", () => {
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      for (const stem of ["AAAAA", "AAAAAA"]) {
        const accepted: string[] = [];
        for (const last of alphabet) {
          const segment = `${stem}${last}`;
          const canonical = Buffer.from(segment, "base64url").toString("base64url") === segment;
          let passes = true;
          try {
            assertCompactJws(`eyJh.${segment}.AAAA`);
          } catch {
            passes = false;
          }
          expect(passes, `${segment}`).toBe(canonical);
          if (passes) accepted.push(last);
        }
        // 2 trailing characters leave 4 unused bits (4 spellings), 3 leave 2 (16 spellings).
        expect(accepted).toHaveLength(stem.length === 5 ? 4 : 16);
      }
    });

    test("a signature segment whose length is 4k+1 is malformed", () => {
      const [h, p, s] = GOOD_JWT.split(".");
      expect(s).toHaveLength(342);
      expectMalformed(() => parseSessionJwt(`${h}.${p}.${s.slice(0, 341)}`));
    });

    test.each(["none", "HS256", "RS384", "RS512", "PS256", "ES256", "EdDSA", "rs256"])(
      "alg %s is an unsupported algorithm",
      (alg) => {
        expectUnsupportedAlgorithm(() => parseSessionJwt(signJwt({ ...HEADER, alg }, memberPayload())));
      },
    );

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

  describe("the strict compact form (one spelling per token)", () => {
    test("a token as Stytch mints it is in strict compact form", () => {
      expect(() => assertCompactJws(GOOD_JWT)).not.toThrow();
    });

    test.each([
      [
        "a payload character above U+00FF whose low byte is a base64url letter",
        () => {
          const [h, p, s] = GOOD_JWT.split(".") as [string, string, string];
          return `${h}.${sameLowByte(p)}.${s}`;
        },
      ],
      [
        "a header character above U+00FF whose low byte is a base64url letter",
        () => {
          const [h, p, s] = GOOD_JWT.split(".") as [string, string, string];
          return `${sameLowByte(h)}.${p}.${s}`;
        },
      ],
      ["= padding on the signature", () => `${GOOD_JWT}==`],
      ["a space inside the signature", () => `${GOOD_JWT.slice(0, -40)} ${GOOD_JWT.slice(-40)}`],
      ["a tab inside the payload", () => GOOD_JWT.replace(".", ".\t")],
      [
        "non-zero unused bits in the signature's last character",
        () => {
          const [h, p, s] = GOOD_JWT.split(".") as [string, string, string];
          return `${h}.${p}.${nonCanonicalTail(s)}`;
        },
      ],
      ["standard base64 characters", () => GOOD_JWT.replace(/-/g, "+").replace(/_/g, "/")],
    ])("%s is malformed, although it decodes to the genuine token's bytes", (_, build) => {
      /**
       * Finding 9a: each of these decodes (with latin1, Buffer's lenient base64url, or jose's
       * forgiving decoder) to the same bytes as the genuine token, so without the strict form every
       * JWT would have countless spellings, each one a separate entry in any cache keyed on the token.
       */
      const token = build();
      expect(token).not.toBe(GOOD_JWT);
      expectMalformed(() => assertCompactJws(token));
      expectMalformed(() => parseSessionJwt(token));
    });

    test("a non-canonical spelling is not verified by jose either, even with the right key", async () => {
      const [h, p, s] = GOOD_JWT.split(".") as [string, string, string];
      const token = `${h}.${sameLowByte(p)}.${s}`;
      expect(Buffer.from(`${h}.${sameLowByte(p)}`, "latin1").equals(Buffer.from(`${h}.${p}`))).toBe(true);
      await expect(verdictOf(token)).rejects.toBeInstanceOf(MalformedCredentialError);
    });
  });

  describe("SessionJwtVerifier: signature (jose)", () => {
    test("a token signed with the project key verifies", async () => {
      expect((await verdictOf(GOOD_JWT)).status).toBe("valid");
    });

    test("a tampered payload does not verify", async () => {
      const [h, , s] = GOOD_JWT.split(".");
      const forged = `${h}.${b64url(JSON.stringify(memberPayload({ sub: "member-test-attacker" })))}.${s}`;
      await expectRejection(verdictOf(forged), BadSignatureError, "bad_signature");
    });

    test("a tampered header does not verify", async () => {
      const [, p, s] = GOOD_JWT.split(".");
      const forged = `${b64url(JSON.stringify({ ...HEADER, kid: "jwk-test-other" }))}.${p}.${s}`;
      await expectRejection(verdictOf(forged), BadSignatureError, "bad_signature");
    });

    test("a token signed with another key does not verify", async () => {
      await expectRejection(
        verdictOf(signJwt(HEADER, memberPayload(), other.privateKey)),
        BadSignatureError,
        "bad_signature",
      );
      await expectRejection(verdictOf(GOOD_JWT, RULES, otherKey), BadSignatureError, "bad_signature");
    });

    test("a truncated signature does not verify", async () => {
      const [h, p, s] = GOOD_JWT.split(".") as [string, string, string];
      await expectRejection(verdictOf(`${h}.${p}.${s.slice(0, 336)}`), BadSignatureError, "bad_signature");
      await expectRejection(verdictOf(`${h}.${p}.AA`), BadSignatureError, "bad_signature");
    });

    test("a signature made with SHA-384 under an RS256 header does not verify", async () => {
      await expectRejection(
        verdictOf(signJwt(HEADER, memberPayload(), privateKey, "sha384")),
        BadSignatureError,
        "bad_signature",
      );
    });

    test("a header alg other than RS256 is refused by jose even if the parser were bypassed", async () => {
      await expectRejection(
        verdictOf(signJwt({ ...HEADER, alg: "RS384" }, memberPayload(), privateKey, "sha384")),
        UnsupportedAlgorithmError,
        "unsupported_algorithm",
      );
    });
  });

  describe("SessionJwtVerifier: standard claims (jose) and freshness", () => {
    test("valid claims give a verdict that may be reused until exp plus the tolerance", async () => {
      expect(await claimsOf(memberPayload())).toEqual({ status: "valid", notAfterMs: (NOW + 290 + TOLERANCE) * 1000 });
    });

    test.each(["iss", "aud", "exp", "nbf", "iat"])("a payload without %s is malformed", async (claim) => {
      const payload = memberPayload();
      delete payload[claim];
      await expectRejection(claimsOf(payload), MalformedCredentialError, "malformed");
    });

    test.each([
      ["another project's issuer", "stytch.com/project-test-00000000-0000-0000-0000-000000000000"],
      ["the issuer with an https:// prefix", `https://stytch.com/${PROJECT_ID}`],
      ["a custom domain that is not configured", "https://login.evil.example"],
      ["the custom domain with a trailing slash", "https://login.example.com/"],
      ["an empty issuer", ""],
      ["a non-string issuer", 42],
      ["an issuer list", [`stytch.com/${PROJECT_ID}`]],
    ])("%s is a wrong issuer", async (_, iss) => {
      await expectRejection(claimsOf(memberPayload({ iss })), WrongIssuerError, "wrong_issuer");
    });

    test("the custom-domain issuer is accepted when it is in the issuer list", async () => {
      /**
       * When a project is reached through a CNAME (custom domain), Stytch mints JWTs whose iss is
       * that base URL instead of stytch.com/{projectId}.
       */
      expect((await claimsOf(memberPayload({ iss: "https://login.example.com" }))).status).toBe("valid");
    });

    test("aud may be the project ID as a string or in an array", async () => {
      expect((await claimsOf(memberPayload({ aud: PROJECT_ID }))).status).toBe("valid");
      expect((await claimsOf(memberPayload({ aud: [PROJECT_ID] }))).status).toBe("valid");
      expect((await claimsOf(memberPayload({ aud: ["project-test-other", PROJECT_ID] }))).status).toBe("valid");
    });

    test.each([
      ["another project", "project-test-other"],
      ["an array without the project", ["project-test-other"]],
      ["an empty array", []],
      ["a prefix of the project ID", PROJECT_ID.slice(0, -1)],
      ["an object", { [PROJECT_ID]: true }],
    ])("aud that is %s is a wrong audience", async (_, aud) => {
      await expectRejection(claimsOf(memberPayload({ aud })), WrongAudienceError, "wrong_audience");
    });

    test("nbf in the future beyond the tolerance is not yet valid, within the tolerance it is fine", async () => {
      await expectRejection(claimsOf(memberPayload({ nbf: NOW + TOLERANCE + 1 })), NotYetValidError, "not_yet_valid");
      expect((await claimsOf(memberPayload({ nbf: NOW + TOLERANCE }))).status).toBe("valid");
    });

    test("exp in the past is reported as expired, not thrown", async () => {
      /**
       * An authentic but expired JWT may still belong to a live session (Stytch JWTs live 5 minutes,
       * sessions much longer), so the caller asks Stytch instead of denying outright. jose checks the
       * signature first, so only an authentic token is ever reported expired.
       */
      expect(await claimsOf(memberPayload({ iat: NOW - 400, nbf: NOW - 400, exp: NOW - 100 }))).toEqual({
        status: "expired",
      });
    });

    test("an expired token with a bad signature is a bad signature, never expired", async () => {
      const expired = signJwt(
        HEADER,
        memberPayload({ iat: NOW - 400, nbf: NOW - 400, exp: NOW - 100 }),
        other.privateKey,
      );
      await expectRejection(verdictOf(expired), BadSignatureError, "bad_signature");
    });

    test("an expired token that is not a member session is refused, not sent to Stytch", async () => {
      const m2m = {
        ...memberPayload({ iat: NOW - 400, nbf: NOW - 400, exp: NOW - 100 }),
        "https://stytch.com/session": undefined,
      };
      await expectRejection(claimsOf(m2m), NotMemberSessionError, "not_member_session");
    });

    test("exp exactly at now minus the tolerance is expired, one second later is valid", async () => {
      expect(await claimsOf(memberPayload({ iat: NOW - 300, nbf: NOW - 300, exp: NOW - TOLERANCE }))).toEqual({
        status: "expired",
      });
      expect(await claimsOf(memberPayload({ iat: NOW - 300, nbf: NOW - 300, exp: NOW - TOLERANCE + 1 }))).toEqual({
        status: "valid",
        notAfterMs: (NOW + 1) * 1000,
      });
    });

    test("with no tolerance, a token expiring this very second is expired", async () => {
      const rules: ClaimRules = { ...RULES, clockToleranceSeconds: 0 };
      expect(await claimsOf(memberPayload({ exp: NOW }), rules)).toEqual({ status: "expired" });
      expect(await claimsOf(memberPayload({ exp: NOW + 1 }), rules)).toEqual({
        status: "valid",
        notAfterMs: (NOW + 1) * 1000,
      });
    });

    test("a max token age of 0 makes every token too old (strict mode)", async () => {
      const strict: ClaimRules = { ...RULES, maxTokenAgeSeconds: 0 };
      for (const iat of [NOW, NOW - 1, NOW - 299]) {
        expect(await claimsOf(memberPayload({ iat, nbf: iat, exp: iat + 300 }), strict)).toEqual({ status: "too_old" });
      }
    });

    test("with a max age of 60 s, a token issued 100 s ago is too old", async () => {
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 60 };
      expect(await claimsOf(memberPayload({ iat: NOW - 100, nbf: NOW - 100, exp: NOW + 200 }), rules)).toEqual({
        status: "too_old",
      });
    });

    test("with a max age of 60 s, a token issued 30 s ago is valid until its age runs out", async () => {
      /**
       * The verdict may be reused only until the earlier of exp + tolerance and
       * iat + max age + tolerance: here (NOW - 30 + 60 + 5) s, long before exp.
       */
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 60 };
      const iat = NOW - 30;
      expect(await claimsOf(memberPayload({ iat, nbf: iat, exp: iat + 300 }), rules)).toEqual({
        status: "valid",
        notAfterMs: (NOW + 35) * 1000,
      });
    });

    test("when exp comes before the max age runs out, exp bounds the verdict", async () => {
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 3_600 };
      const iat = NOW - 30;
      expect(await claimsOf(memberPayload({ iat, nbf: iat, exp: iat + 300 }), rules)).toEqual({
        status: "valid",
        notAfterMs: (iat + 300 + TOLERANCE) * 1000,
      });
    });

    test("the max age boundary follows jose: age minus tolerance equal to the max is still valid", async () => {
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 60 };
      const atLimit = NOW - 60 - TOLERANCE;
      expect(await claimsOf(memberPayload({ iat: atLimit, nbf: atLimit, exp: atLimit + 300 }), rules)).toEqual({
        status: "valid",
        notAfterMs: NOW * 1000,
      });
      const pastLimit = atLimit - 1;
      expect(await claimsOf(memberPayload({ iat: pastLimit, nbf: pastLimit, exp: pastLimit + 300 }), rules)).toEqual({
        status: "too_old",
      });
    });

    test("iat in the future beyond the tolerance is not yet valid when a max age is set", async () => {
      const rules: ClaimRules = { ...RULES, maxTokenAgeSeconds: 60 };
      await expectRejection(
        claimsOf(memberPayload({ iat: NOW + TOLERANCE + 1, nbf: NOW, exp: NOW + 300 }), rules),
        NotYetValidError,
        "not_yet_valid",
      );
      expect((await claimsOf(memberPayload({ iat: NOW + TOLERANCE, nbf: NOW, exp: NOW + 300 }), rules)).status).toBe(
        "valid",
      );
    });

    test.each([
      ["exp as a string", { exp: String(NOW + 290) }],
      ["nbf as a string", { nbf: String(NOW - 10) }],
      ["iat as a string", { iat: String(NOW - 10) }],
      ["iat as null", { iat: null }],
      ["exp as a boolean", { exp: true }],
      ["nbf as an array", { nbf: [NOW - 10] }],
    ])("%s is malformed", async (_, overrides) => {
      await expectRejection(claimsOf(memberPayload(overrides)), MalformedCredentialError, "malformed");
    });

    test.each([
      ["exp of 1e300", { exp: 1e300 }],
      ["exp past 8.64e12 s (beyond any Date)", { exp: 8.64e12 + 1 }],
      ["exp just past year 9999", { exp: MAX_TIME_CLAIM_SECONDS + 1 }],
      ["a negative nbf", { nbf: -1 }],
      ["nbf of -1e300", { nbf: -1e300 }],
      ["iat of 1e300", { iat: 1e300 }],
    ])("an out-of-range time claim (%s) is malformed, not a fault", async (_, overrides) => {
      /**
       * Finding 9b: `new Date(1e300 * 1000).toISOString()` throws a RangeError, which became a 503.
       * A time claim that is no date at all is a malformed token: 401.
       */
      const payload = memberPayload(overrides);
      const session = { ...(payload["https://stytch.com/session"] as Record<string, unknown>) };
      delete session.expires_at; // so the mapping falls back to exp, as in the reported case
      await expectRejection(
        claimsOf({ ...payload, "https://stytch.com/session": session }),
        MalformedCredentialError,
        "malformed",
      );
    });

    test("an exp written as 1e400 (Infinity once parsed) is malformed", async () => {
      const json = JSON.stringify(memberPayload()).replace(/"exp":\d+/, '"exp":1e400');
      expect(JSON.parse(json).exp).toBe(Infinity);
      await expectRejection(
        verdictOf(signSegments(b64url(JSON.stringify(HEADER)), b64url(json))),
        MalformedCredentialError,
        "malformed",
      );
    });

    test("an authentic expired token with an out-of-range iat is malformed, not sent to Stytch", async () => {
      const payload = memberPayload({ iat: 1e300, nbf: NOW - 400, exp: NOW - 100 });
      await expectRejection(claimsOf(payload), MalformedCredentialError, "malformed");
    });

    test("the largest accepted time claim is the last second of year 9999", async () => {
      expect(new Date(MAX_TIME_CLAIM_SECONDS * 1000).toISOString()).toBe("9999-12-31T23:59:59.000Z");
      expect((await claimsOf(memberPayload({ exp: MAX_TIME_CLAIM_SECONDS }))).status).toBe("valid");
    });
  });

  describe("screenUnverifiedClaims (no key set at all)", () => {
    test("a token shaped like one of this project's member sessions passes", () => {
      expect(() => screenUnverifiedClaims(memberPayload(), RULES, NOW)).not.toThrow();
      expect(() =>
        screenUnverifiedClaims(memberPayload({ iat: NOW - 900, nbf: NOW - 900, exp: NOW - 600 }), RULES, NOW),
      ).not.toThrow();
    });

    test.each([
      ["another project's issuer", { iss: "stytch.com/project-test-other" }, WrongIssuerError],
      ["another project's audience", { aud: ["project-test-other"] }, WrongAudienceError],
      ["a future nbf", { nbf: NOW + 3_600 }, NotYetValidError],
      ["no member claims", { "https://stytch.com/session": undefined }, NotMemberSessionError],
      ["an out-of-range exp", { exp: 1e300 }, MalformedCredentialError],
    ])("%s is refused", (_, overrides, errorClass) => {
      expect(thrownBy(() => screenUnverifiedClaims(memberPayload(overrides), RULES, NOW))).toBeInstanceOf(errorClass);
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
        authenticationFactors: [
          { type: "magic_link", deliveryMethod: "email", lastAuthenticatedAt: "2030-03-12T18:00:00Z" },
        ],
      });
    });

    test("the factors are read from the session claim, with the impersonator of an impersonated session", () => {
      const session = memberPayload({})["https://stytch.com/session"] as Record<string, unknown>;
      const impersonated = toMemberSession(
        memberPayload({
          "https://stytch.com/session": {
            ...session,
            authentication_factors: [
              {
                type: "impersonated",
                delivery_method: "impersonation",
                last_authenticated_at: "2030-03-12T18:00:00Z",
                impersonated_factor: { impersonator_id: "member-live-support", impersonator_email_address: "s@x" },
              },
            ],
          },
        }),
      );
      expect(impersonated.impersonatorId).toBe("member-live-support");
      expect(impersonated.authenticationFactors).toHaveLength(1);
      // A claim without factors is still a member session; the factor list reads as unreadable.
      const { authentication_factors: _, ...without } = session;
      expect(
        toMemberSession(memberPayload({ "https://stytch.com/session": without })).authenticationFactors,
      ).toStrictEqual([{ type: "", deliveryMethod: "", lastAuthenticatedAt: "" }]);
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
      expect(
        toMemberSession(
          memberPayload({
            "https://stytch.com/organization": { organization_id: "organization-test-1", slug: "right" },
          }),
        ).organizationSlug,
      ).toBe("right");
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
      expect(toMemberSession({ ...payload, "https://stytch.com/session": session }).sessionExpiresAt).toBe(
        new Date((NOW + 290) * 1000).toISOString(),
      );
    });

    test("the email comes from the first authentication factor that has one", () => {
      const payload = memberPayload();
      const session = payload["https://stytch.com/session"] as Record<string, unknown>;
      const factors = [
        { type: "password", delivery_method: "knowledge" },
        { type: "oauth", delivery_method: "oauth_google", email_factor: { email_address: "" } },
        {
          type: "sso",
          delivery_method: "sso_saml",
          email_factor: { email_id: "email-test-2", email_address: "grace@acme.example" },
        },
        {
          type: "magic_link",
          delivery_method: "email",
          email_factor: { email_id: "email-test-3", email_address: "later@acme.example" },
        },
      ];
      expect(
        toMemberSession({ ...payload, "https://stytch.com/session": { ...session, authentication_factors: factors } })
          .email,
      ).toBe("grace@acme.example");
    });

    test("without any email factor, the member has no email property", () => {
      const payload = memberPayload();
      const session = payload["https://stytch.com/session"] as Record<string, unknown>;
      const member = toMemberSession({
        ...payload,
        "https://stytch.com/session": { ...session, authentication_factors: [{ type: "totp" }, null] },
      });
      expect(member).not.toHaveProperty("email");
      const noFactors = toMemberSession({
        ...payload,
        "https://stytch.com/session": { ...session, authentication_factors: undefined },
      });
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
      const token = signSegments(
        b64url(JSON.stringify(HEADER)),
        b64url(JSON.stringify(memberPayload()).replace(/^\{/, '{"__proto__":{"isAdmin":true},"tier":"gold",')),
      );
      const payload = parseSessionJwt(token).payload;
      expect(Object.keys(payload)).toContain("__proto__");
      const claims = toMemberSession(payload).customClaims;
      expect(claims).toStrictEqual({ tier: "gold" });
      expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
      expect((claims as { isAdmin?: unknown }).isAdmin).toBeUndefined();
      expect(({} as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    });

    test("an M2M token signed with the same keys is not a member session", async () => {
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
      await expectRejection(claimsOf(m2m), NotMemberSessionError, "not_member_session");
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
      const error = expectNotMember(() =>
        toMemberSession({ ...payload, "https://stytch.com/session": { ...session, roles } }),
      );
      expect(error.message).toBe("session roles are not a list of strings");
    });
  });

  describe("the whole local verification", () => {
    test("a real-looking token goes through the strict form, the header, jose and the mapping", async () => {
      const jwt = signJwt(HEADER, memberPayload({ iss: "https://login.example.com" }));
      assertCompactJws(jwt);
      expect(parseSessionJwt(jwt).header.kid).toBe(KID);
      const verified = await new SessionJwtVerifier({ ...RULES, maxTokenAgeSeconds: 300 }).verify(jwt, projectKey, NOW);
      expect(verified).toMatchObject({ status: "valid", notAfterMs: (NOW + 290 + TOLERANCE) * 1000 });
      expect(verified.memberSession.memberId).toBe("member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f");
    });
  });
});

describe("hardening: the verifier's own checks, with the header parser bypassed", () => {
  test.each([
    ["at+jwt (an access token)", { ...HEADER, typ: "at+jwt" }],
    ["application/at+jwt", { ...HEADER, typ: "application/at+jwt" }],
    ["JOSE", { ...HEADER, typ: "JOSE" }],
    ["missing", { alg: "RS256", kid: KID }],
  ])("a correctly signed token whose typ is %s is malformed when handed straight to verify()", async (_, header) => {
    /**
     * In production the header parser refuses a wrong typ first; jose's typ option is the second line of
     * defence, so it is checked here without the parser, as the algorithm list is.
     */
    await expectRejection(verdictOf(signJwt(header, memberPayload())), MalformedCredentialError, "malformed");
  });

  test.each(["JWT", "application/jwt"])(
    "a correctly signed token whose typ is %s verifies when handed straight to verify()",
    async (typ) => {
      expect((await verdictOf(signJwt({ ...HEADER, typ }, memberPayload()))).status).toBe("valid");
    },
  );

  const ecKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const signedAs: Record<string, () => string> = {
    RS384: () => signJwt({ ...HEADER, alg: "RS384" }, memberPayload(), privateKey, "sha384"),
    RS512: () => signJwt({ ...HEADER, alg: "RS512" }, memberPayload(), privateKey, "sha512"),
    PS256: () => {
      const input = `${b64url(JSON.stringify({ ...HEADER, alg: "PS256" }))}.${b64url(JSON.stringify(memberPayload()))}`;
      const signature = sign("sha256", Buffer.from(input), {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
      return `${input}.${signature.toString("base64url")}`;
    },
    ES256: () => {
      const input = `${b64url(JSON.stringify({ ...HEADER, alg: "ES256" }))}.${b64url(JSON.stringify(memberPayload()))}`;
      return `${input}.${sign("sha256", Buffer.from(input), { key: ecKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
    },
    HS256: () => {
      const input = `${b64url(JSON.stringify({ ...HEADER, alg: "HS256" }))}.${b64url(JSON.stringify(memberPayload()))}`;
      const pem = publicKey.export({ type: "spki", format: "pem" });
      return `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
    },
    none: () => `${b64url(JSON.stringify({ ...HEADER, alg: "none" }))}.${b64url(JSON.stringify(memberPayload()))}.AAAA`,
  };

  test.each(Object.keys(signedAs))(
    "a token with alg %s, properly signed for that algorithm, is refused by the verifier itself",
    async (alg) => {
      /**
       * The algorithm list is pinned by the header parser and by one RS384 token through jose; this passes
       * each classic substitute through the real verifier (jose), parser bypassed, with the project key.
       */
      await expectRejection(verdictOf(signedAs[alg]!()), UnsupportedAlgorithmError, "unsupported_algorithm");
    },
  );

  test("with no tolerance and a max age, an iat one second ahead is not yet valid and an iat of now is valid", async () => {
    /**
     * A second angle on the future iat: no tolerance to hide behind, a long max age, a fresh verifier, and
     * a token whose nbf and exp are fine, so only the iat can be what refuses it.
     */
    const rules: ClaimRules = { ...RULES, clockToleranceSeconds: 0, maxTokenAgeSeconds: 300 };
    await expectRejection(
      claimsOf(memberPayload({ iat: NOW + 1, nbf: NOW - 10, exp: NOW + 290 }), rules),
      NotYetValidError,
      "not_yet_valid",
    );
    await expectRejection(
      claimsOf(memberPayload({ iat: NOW + 3_600, nbf: NOW - 10, exp: NOW + 7_200 }), rules),
      NotYetValidError,
      "not_yet_valid",
    );
    expect(await claimsOf(memberPayload({ iat: NOW, nbf: NOW - 10, exp: NOW + 290 }), rules)).toEqual({
      status: "valid",
      notAfterMs: (NOW + 290) * 1000,
    });
  });
});
