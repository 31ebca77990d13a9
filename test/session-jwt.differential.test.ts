// Differential test: our local verdict (strict compact form, jose, the Stytch member claims) against the
// official Stytch Node SDK's `sessions.authenticateJwtLocal`, the oracle for Stytch's semantics (it runs
// its own jose copy, 5.x, with a remote JWKS). A large set of generated and mutated tokens must get the
// same verdict from both, except where we are deliberately stricter, and every such case is named below.
//
// Verdict classes:
//   valid  – the SDK returns a member session;                      ours: "valid" (same member)
//   stale  – the SDK throws jwt_too_old, or jwt_invalid caused by     ours: "expired" / "too_old" (→ Stytch API)
//            jose's JWTExpired (authentic but expired)
//   denied – anything else the SDK throws;                           ours: a CredentialRejectedError
//
// The SDK only speaks https, so its JWKS comes through the benchmark's loopback TLS front with a
// throwaway self-signed certificate; certificate checks are switched off in this test process only.

import { createHmac, createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { B2BClient } from "stytch";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CredentialRejectedError } from "../lambda/lib/errors";
import { parseJwks, type VerificationKey } from "../lambda/lib/session/jwks-cache";
import {
  type AuthenticSessionJwt,
  assertCompactJws,
  type ClaimRules,
  SessionJwtVerifier,
  sessionJwtHeader,
} from "../lambda/lib/session/session-jwt";
import { type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";
import { generateLoopbackCertificate } from "../local/tls-cert";
import { closeUpstreamConnections, startTlsFront, type TlsFront } from "../local/tls-front";
import { b64url, foreignPrivateKey, nonCanonicalTail, sameLowByte } from "./support/forgeries";

// The loopback front's certificate is self-signed; the SDK has no option to trust one CA.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

type Verdict = "valid" | "stale" | "denied";

/** A generated token, and why ours may deliberately deny it when the SDK does not. */
interface Case {
  readonly token: string;
  readonly payload: Record<string, unknown>;
  /** Set when ours must deny whatever the SDK says, with the reason. */
  readonly stricter?: string;
}

let stytch: StytchEmulator;
let front: TlsFront;
let certDir: string;
let sdk: B2BClient;
let previousKid: string;
const CUSTOM_DOMAIN = "https://login.example.com";
const NOW = Math.floor(Date.now() / 1000);
const SDK_SUBSET_MEMBER = (session: AuthenticSessionJwt["memberSession"]) => ({
  member_id: session.memberId,
  member_session_id: session.memberSessionId,
  organization_id: session.organizationId,
  organization_slug: session.organizationSlug || undefined,
  roles: session.roles,
});

/** Our verdict: the steps of the authorizer's local path (session-verdict.ts), at a fixed clock. */
async function ourVerdict(
  token: string,
  keys: Map<string, VerificationKey>,
  verifier: SessionJwtVerifier,
): Promise<{ verdict: Verdict; jwt?: AuthenticSessionJwt; reason?: string }> {
  try {
    assertCompactJws(token);
    const key = keys.get(sessionJwtHeader(token).kid);
    if (!key) return { verdict: "denied" };
    const jwt = await verifier.verify(token, key, NOW);
    return { verdict: jwt.status === "valid" ? "valid" : "stale", jwt };
  } catch (error) {
    if (error instanceof CredentialRejectedError) return { verdict: "denied", reason: error.message };
    throw error;
  }
}

/** The Stytch SDK's verdict, with the same tolerance, maximum age and clock. */
async function sdkVerdict(
  token: string,
  rules: ClaimRules,
): Promise<{ verdict: Verdict; member?: Record<string, unknown> }> {
  try {
    const session = await sdk.sessions.authenticateJwtLocal({
      session_jwt: token,
      clock_tolerance_seconds: rules.clockToleranceSeconds,
      ...(rules.maxTokenAgeSeconds === undefined ? {} : { max_token_age_seconds: rules.maxTokenAgeSeconds }),
      current_date: new Date(NOW * 1000),
    });
    const { member_id, member_session_id, organization_id, organization_slug, roles } = session;
    return {
      verdict: "valid",
      member: {
        member_id,
        member_session_id,
        organization_id,
        organization_slug: organization_slug || undefined,
        roles,
      },
    };
  } catch (error) {
    const { code, cause } = error as { code?: string; cause?: { code?: string } };
    if (code === "jwt_too_old" || (code === "jwt_invalid" && cause?.code === "ERR_JWT_EXPIRED"))
      return { verdict: "stale" };
    return { verdict: "denied" };
  }
}

/** What ours must answer, given the SDK's answer: the same, except where we are deliberately stricter. */
function expectedVerdict(sdkAnswer: Verdict, testCase: Case, rules: ClaimRules): Verdict {
  if (testCase.stricter) return "denied";
  const iat = testCase.payload.iat;
  // jose's maxTokenAge semantics (which we use) refuse an iat in the future, unless the token is expired
  // anyway (jose checks exp first); the SDK's own age check does not.
  if (
    rules.maxTokenAgeSeconds &&
    sdkAnswer === "valid" &&
    typeof iat === "number" &&
    iat > NOW + rules.clockToleranceSeconds
  )
    return "denied";
  // Strict mode: ours never allows locally; the SDK still allows a token whose iat is in the future.
  if (rules.maxTokenAgeSeconds === 0 && sdkAnswer === "valid") return "stale";
  return sdkAnswer;
}

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function generateCases(count: number, seed: number): Case[] {
  const random = prng(seed);
  const pick = <T>(options: readonly T[], validBias = 0.6): T =>
    random() < validBias ? options[0]! : options[Math.floor(random() * options.length)]!;
  const session = stytch.createSession({ roles: ["stytch_member", "editor"], customClaims: { tier: "gold" } });
  const otherProject = "project-test-99999999-9999-9999-9999-999999999999";
  const cases: Case[] = [];
  for (let i = 0; i < count; i += 1) {
    const alg = pick(["RS256", "RS384", "PS256", "HS256", "none", "rs256"] as const, 0.8);
    const typ = pick(["JWT", "jwt", "application/jwt", "at+jwt", undefined, 123] as const, 0.7);
    const kid = pick([stytch.currentKid, previousKid, "jwk-test-unknown", undefined, 7] as const, 0.7);
    const header: Record<string, unknown> = {
      alg,
      ...(typ === undefined ? {} : { typ }),
      ...(kid === undefined ? {} : { kid }),
    };
    const payload = stytch.sessionPayload(session.memberSessionId, {
      iss: pick([
        `stytch.com/${stytch.projectId}`,
        CUSTOM_DOMAIN,
        front.url,
        `stytch.com/${otherProject}`,
        `https://stytch.com/${stytch.projectId}`,
        undefined,
        5,
      ] as const),
      aud: pick([
        [stytch.projectId],
        stytch.projectId,
        [otherProject, stytch.projectId],
        [otherProject],
        otherProject,
        undefined,
        42,
        [42],
      ] as const),
      iat: pick([NOW - 10, NOW, NOW - 100, NOW - 700, NOW + 100, NOW + 5, undefined, "1700000000", 1e300] as const),
      nbf: pick([NOW - 10, NOW, NOW + 5, NOW + 6, NOW + 3_600, undefined, "soon", -1e300] as const),
      exp: pick([NOW + 290, NOW + 1, NOW, NOW - 4, NOW - 5, NOW - 6, NOW - 10_000, undefined, "later", 1e300] as const),
      sub: pick([session.memberId, session.memberId, ""] as const, 0.95),
      "https://stytch.com/session": pick(
        [stytch.sessionPayload(session.memberSessionId)["https://stytch.com/session"], undefined] as const,
        0.95,
      ),
      jti: `t-${i}`,
    });
    const signer = pick(["matching", "foreign key", "tampered", "truncated"] as const, 0.85);
    let token: string;
    if (alg === "HS256") {
      const pem = createPublicKey({ key: stytch.jwks().keys[0] as never, format: "jwk" }).export({
        type: "spki",
        format: "pem",
      });
      const input = `${b64url(header)}.${b64url(payload)}`;
      token = `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
    } else if (alg === "none" || alg === "rs256") {
      token = `${b64url(header)}.${b64url(payload)}.${b64url("sig")}`;
    } else {
      const key = kid === previousKid ? "previous" : signer === "foreign key" ? foreignPrivateKey() : "current";
      token = stytch.signJwt(header, payload, { key, algorithm: alg });
    }
    if (signer === "tampered") {
      const [h, , s] = token.split(".");
      token = `${h}.${b64url({ ...payload, sub: "member-test-attacker" })}.${s}`;
    } else if (signer === "truncated") {
      token = token.slice(0, -8);
    }
    cases.push({ token, payload, stricter: stricterReason(header, payload) });
  }
  return cases;
}

/** Where ours denies what the SDK may accept, on purpose. */
function stricterReason(header: Record<string, unknown>, payload: Record<string, unknown>): string | undefined {
  if (header.kid === undefined) return "a kid is required (Stytch always sets one; the SDK tries every key)";
  for (const claim of ["exp", "nbf", "iat"]) {
    const value = payload[claim];
    if (value === undefined) return `${claim} is required (the SDK does not require it)`;
    if (typeof value === "number" && !(value >= 0 && value <= 253_402_300_799))
      return `${claim} out of range is malformed (the SDK accepts any number)`;
  }
  if (payload.sub === "") return "a member session needs a sub (the SDK maps it to an empty member_id)";
  if (payload["https://stytch.com/session"] === undefined) {
    return "without member claims a token is never a member session, even expired (the SDK checks only valid tokens)";
  }
  return undefined;
}

/**
 * Every other spelling of a genuine token. jose (and so the SDK) accepts some of them: "=" padding or
 * whitespace in the signature, non-zero unused bits. Ours refuses them all (finding 9a).
 */
function respellings(token: string): Case[] {
  const [h, p, s] = token.split(".") as [string, string, string];
  const reason = "one spelling per token: the strict compact form";
  const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
  return [
    `${h}.${sameLowByte(p)}.${s}`,
    `${sameLowByte(h)}.${p}.${s}`,
    `${h}.${p}.${s}==`,
    `${h}.${p}.${s.slice(0, 20)} ${s.slice(20)}`,
    `${h}.${p}.${s.slice(0, 20)}\n${s.slice(20)}`,
    `${h}.${p}.${nonCanonicalTail(s)}`,
    ` ${token}`,
    `${token}\t`,
  ].map((variant) => ({ token: variant, payload, stricter: reason }));
}

beforeAll(async () => {
  stytch = await startStytchEmulator();
  certDir = mkdtempSync(join(tmpdir(), "stytch-sdk-oracle-"));
  const { certPath, keyPath } = generateLoopbackCertificate(certDir);
  front = await startTlsFront("stytch-sdk-oracle", stytch.url, {
    key: readFileSync(keyPath),
    cert: readFileSync(certPath),
  });
  sdk = new B2BClient({ project_id: stytch.projectId, secret: stytch.secret, custom_base_url: front.url });
  previousKid = stytch.currentKid;
  // Two keys in the set, as right after a Stytch rotation: a kid-less token must not pick one at random.
  stytch.rotateKeys();
});

afterAll(async () => {
  await front?.close();
  closeUpstreamConnections();
  await stytch?.close();
  rmSync(certDir, { recursive: true, force: true });
});

describe("our verdict equals the Stytch SDK's authenticateJwtLocal", () => {
  const optionSets: Array<[string, Omit<ClaimRules, "projectId" | "issuers">]> = [
    ["no tolerance, no max age", { clockToleranceSeconds: 0, maxTokenAgeSeconds: undefined }],
    ["5 s tolerance, no max age", { clockToleranceSeconds: 5, maxTokenAgeSeconds: undefined }],
    ["5 s tolerance, max age 60 s", { clockToleranceSeconds: 5, maxTokenAgeSeconds: 60 }],
    ["no tolerance, max age 600 s", { clockToleranceSeconds: 0, maxTokenAgeSeconds: 600 }],
    ["5 s tolerance, strict mode (max age 0)", { clockToleranceSeconds: 5, maxTokenAgeSeconds: 0 }],
  ];

  test.each(optionSets)(
    "for 600 generated tokens and every respelling of the valid ones, with %s",
    async (_name, options) => {
      // The SDK's issuers are stytch.com/{project} and its base URL; ours get the same two.
      const rules: ClaimRules = {
        projectId: stytch.projectId,
        issuers: [`stytch.com/${stytch.projectId}`, front.url],
        ...options,
      };
      const verifier = new SessionJwtVerifier(rules);
      const keys = await parseJwks(stytch.jwks());
      const generated = generateCases(
        600,
        0x5eed + options.clockToleranceSeconds * 31 + (options.maxTokenAgeSeconds ?? 7),
      );
      const tally: Record<Verdict, number> = { valid: 0, stale: 0, denied: 0 };
      const stricterTally: Record<string, number> = {};
      const disagreements: Array<{ claims: unknown; ours: Verdict; why?: string; sdk: Verdict; expected: Verdict }> =
        [];
      const memberMismatches: Array<{ ours: unknown; sdk: unknown }> = [];
      const check = async (testCase: Case) => {
        const theirs = await sdkVerdict(testCase.token, rules);
        const ours = await ourVerdict(testCase.token, keys, verifier);
        const expected = expectedVerdict(theirs.verdict, testCase, rules);
        tally[theirs.verdict] += 1;
        if (testCase.stricter && theirs.verdict !== "denied")
          stricterTally[testCase.stricter] = (stricterTally[testCase.stricter] ?? 0) + 1;
        if (ours.verdict !== expected) {
          const { iat, nbf, exp, iss, aud, sub } = testCase.payload;
          disagreements.push({
            claims: {
              header: testCase.token.split(".")[0],
              iat: iat === undefined ? "-" : Number(iat) - NOW,
              nbf: nbf === undefined ? "-" : Number(nbf) - NOW,
              exp: exp === undefined ? "-" : Number(exp) - NOW,
              iss,
              aud,
              sub,
            },
            ours: ours.verdict,
            why: ours.reason,
            sdk: theirs.verdict,
            expected,
          });
        }
        if (ours.verdict === "valid" && theirs.verdict === "valid") {
          const mine = SDK_SUBSET_MEMBER(ours.jwt!.memberSession);
          if (JSON.stringify(mine) !== JSON.stringify(theirs.member))
            memberMismatches.push({ ours: mine, sdk: theirs.member });
        }
      };
      for (const testCase of generated) await check(testCase);
      for (const testCase of generated.slice(0, 200)) {
        if ((await sdkVerdict(testCase.token, rules)).verdict === "denied") continue;
        for (const variant of respellings(testCase.token)) await check(variant);
      }
      expect(disagreements).toEqual([]);
      expect(memberMismatches).toEqual([]);
      // The set must exercise every class, or the comparison proves little.
      if (options.maxTokenAgeSeconds !== 0) expect(tally.valid).toBeGreaterThan(30);
      expect(tally.stale).toBeGreaterThan(10);
      expect(tally.denied).toBeGreaterThan(100);
      // And the deliberate differences must really occur: respellings the SDK accepts, at least.
      expect(stricterTally["one spelling per token: the strict compact form"] ?? 0).toBeGreaterThan(10);
    },
  );
});
