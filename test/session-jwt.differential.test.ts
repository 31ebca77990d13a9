// Differential test: our hot path verifies RS256 with node:crypto instead of jose. For a large,
// generated set of valid and forged tokens, its verdict must equal jose.jwtVerify's with the same options.
//
// Verdict classes:
//   valid  – jose resolves;                          ours: checkClaims → "valid"
//   stale  – jose throws JWTExpired (exp or max age); ours: "expired" / "too_old" (→ Stytch API)
//   denied – any other jose error;                   ours: a CredentialRejectedError
//
// Strict mode (max token age 0) is excluded on purpose: it is Stytch's SDK semantics ("every JWT goes
// to the API"), which jose does not have; test/session-jwt.test.ts covers it.

import { createHmac, createPublicKey } from "node:crypto";
import { createLocalJWKSet, errors as joseErrors, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CredentialRejectedError } from "../lambda/lib/errors";
import { parseJwks } from "../lambda/lib/jwks-cache";
import { checkClaims, parseSessionJwt, toMemberSession, verifySignature, type ClaimRules } from "../lambda/lib/session-jwt";
import { startStytchEmulator, type StytchEmulator } from "../local/stytch-emulator";
import { b64url, foreignPrivateKey } from "./support/forgeries";

type Verdict = "valid" | "stale" | "denied";

let stytch: StytchEmulator;
let previousKid: string;
const CUSTOM_DOMAIN = "https://login.example.com";
const NOW = Math.floor(Date.now() / 1000);

/** Our verdict: the same steps as the authorizer's local path (session-verdict.ts), at a fixed clock. */
function ourVerdict(token: string, keys: ReturnType<typeof parseJwks>, rules: ClaimRules): Verdict {
  try {
    const jwt = parseSessionJwt(token);
    const key = keys.get(jwt.header.kid);
    if (!key) return "denied";
    verifySignature(jwt, key);
    const claims = checkClaims(jwt.payload, rules, NOW);
    toMemberSession(jwt.payload);
    return claims.status === "valid" ? "valid" : "stale";
  } catch (error) {
    if (error instanceof CredentialRejectedError) return "denied";
    throw error;
  }
}

async function joseVerdict(token: string, jwks: ReturnType<typeof createLocalJWKSet>, rules: ClaimRules): Promise<Verdict> {
  try {
    await jwtVerify(token, jwks, {
      algorithms: ["RS256"],
      issuer: [...rules.issuers],
      audience: rules.projectId,
      typ: "JWT",
      clockTolerance: rules.clockToleranceSeconds,
      requiredClaims: ["exp", "nbf", "iat"],
      ...(rules.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: rules.maxTokenAgeSeconds }),
      currentDate: new Date(NOW * 1000),
    });
    return "valid";
  } catch (error) {
    return error instanceof joseErrors.JWTExpired ? "stale" : "denied";
  }
}

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function generateTokens(count: number, seed: number): string[] {
  const random = prng(seed);
  const pick = <T>(options: readonly T[], validBias = 0.6): T => (random() < validBias ? options[0]! : options[Math.floor(random() * options.length)]!);
  const session = stytch.createSession({ roles: ["stytch_member", "editor"] });
  const otherProject = "project-test-99999999-9999-9999-9999-999999999999";
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const alg = pick(["RS256", "RS384", "PS256", "HS256", "none", "rs256"] as const, 0.8);
    const typ = pick(["JWT", "jwt", "application/jwt", "at+jwt", undefined, 123] as const, 0.7);
    const kid = pick([stytch.currentKid, previousKid, "jwk-test-unknown", undefined, 7] as const, 0.7);
    const header: Record<string, unknown> = { alg, ...(typ === undefined ? {} : { typ }), ...(kid === undefined ? {} : { kid }) };
    const payload = stytch.sessionPayload(session.memberSessionId, {
      iss: pick([`stytch.com/${stytch.projectId}`, CUSTOM_DOMAIN, `stytch.com/${otherProject}`, `https://stytch.com/${stytch.projectId}`, undefined, 5] as const),
      aud: pick([[stytch.projectId], stytch.projectId, [otherProject, stytch.projectId], [otherProject], otherProject, undefined, 42, [42]] as const),
      iat: pick([NOW - 10, NOW, NOW - 100, NOW - 700, NOW + 100, NOW + 5, undefined, "1700000000"] as const),
      nbf: pick([NOW - 10, NOW, NOW + 5, NOW + 6, NOW + 3_600, undefined, "soon"] as const),
      exp: pick([NOW + 290, NOW + 1, NOW, NOW - 4, NOW - 5, NOW - 6, NOW - 10_000, undefined, "later"] as const),
      jti: `t-${i}`,
    });
    const signer = pick(["matching", "foreign key", "tampered", "truncated"] as const, 0.85);
    let token: string;
    if (alg === "HS256") {
      const pem = createPublicKey({ key: stytch.jwks().keys[0] as never, format: "jwk" }).export({ type: "spki", format: "pem" });
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
    tokens.push(token);
  }
  return tokens;
}

beforeAll(async () => {
  stytch = await startStytchEmulator();
  previousKid = stytch.currentKid;
  // Two keys in the set, as right after a Stytch rotation: a kid-less token must not pick one at random.
  stytch.rotateKeys();
});

afterAll(async () => {
  await stytch.close();
});

describe("our RS256 verdict equals jose.jwtVerify's", () => {
  const optionSets: Array<[string, Omit<ClaimRules, "projectId" | "issuers">]> = [
    ["no tolerance, no max age", { clockToleranceSeconds: 0, maxTokenAgeSeconds: undefined }],
    ["5 s tolerance, no max age", { clockToleranceSeconds: 5, maxTokenAgeSeconds: undefined }],
    ["5 s tolerance, max age 60 s", { clockToleranceSeconds: 5, maxTokenAgeSeconds: 60 }],
    ["no tolerance, max age 600 s", { clockToleranceSeconds: 0, maxTokenAgeSeconds: 600 }],
  ];

  test.each(optionSets)("for 600 generated tokens with %s", async (_name, options) => {
    const rules: ClaimRules = { projectId: stytch.projectId, issuers: [`stytch.com/${stytch.projectId}`, CUSTOM_DOMAIN], ...options };
    const document = stytch.jwks();
    const ourKeys = parseJwks(document);
    const joseKeys = createLocalJWKSet(document as never);
    const tokens = generateTokens(600, 0x5eed + options.clockToleranceSeconds * 31 + (options.maxTokenAgeSeconds ?? 0));
    const tally: Record<Verdict, number> = { valid: 0, stale: 0, denied: 0 };
    const disagreements: Array<{ token: string; ours: Verdict; jose: Verdict }> = [];
    for (const token of tokens) {
      const ours = ourVerdict(token, ourKeys, rules);
      const jose = await joseVerdict(token, joseKeys, rules);
      tally[jose] += 1;
      if (ours !== jose) disagreements.push({ token, ours, jose });
    }
    expect(disagreements).toEqual([]);
    // The generated set must exercise every class, or the comparison proves little.
    expect(tally.valid).toBeGreaterThan(30);
    expect(tally.stale).toBeGreaterThan(10);
    expect(tally.denied).toBeGreaterThan(100);
  });
});
