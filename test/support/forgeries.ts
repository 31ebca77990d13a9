// Hand-made hostile tokens: each one is a classic way to get a JWT accepted without the private key.

import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import type { StytchEmulator } from "../../local/stytch-emulator";

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
}

/** The emulator's current public key as PEM: what an attacker can download. */
export function publicKeyPem(stytch: StytchEmulator): string {
  const jwk = stytch.jwks().keys.find((key) => key.kid === stytch.currentKid) as Record<string, string>;
  return createPublicKey({ key: { kty: "RSA", n: jwk.n!, e: jwk.e! }, format: "jwk" })
    .export({ type: "spki", format: "pem" })
    .toString();
}

let foreignKey: KeyObject | undefined;
/** An RSA key that is not the project's. */
export function foreignPrivateKey(): KeyObject {
  return (foreignKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey);
}

/**
 * Every forgery class, built from a real session's payload. None of these may be allowed, and none
 * may cost a Stytch API call.
 */
export function forgeries(stytch: StytchEmulator, memberSessionId: string): Record<string, string> {
  const payload = stytch.sessionPayload(memberSessionId);
  // Every time claim below is relative to the genuine token's iat, never to a second reading of the clock: read
  // in the next second, "iat: now - 1" was the genuine iat again, and that "forgery" was the genuine token.
  const issued = payload.iat as number;
  const kid = stytch.currentKid;
  const header = { alg: "RS256", kid, typ: "JWT" };
  const genuine = stytch.signJwt(header, payload);
  const [h, p, s] = genuine.split(".") as [string, string, string];
  const hsHeader = b64url({ alg: "HS256", kid, typ: "JWT" });
  const hsPayload = b64url(payload);
  const hsSignature = createHmac("sha256", publicKeyPem(stytch)).update(`${hsHeader}.${hsPayload}`).digest("base64url");
  return {
    "alg none": `${b64url({ alg: "none", kid, typ: "JWT" })}.${b64url(payload)}.`,
    "alg none with a junk signature": `${b64url({ alg: "none", kid, typ: "JWT" })}.${b64url(payload)}.${s}`,
    "HS256 keyed with the public key": `${hsHeader}.${hsPayload}.${hsSignature}`,
    "RS384 with the project key": stytch.signJwt({ ...header, alg: "RS384" }, payload, { algorithm: "RS384" }),
    "PS256 with the project key": stytch.signJwt({ ...header, alg: "PS256" }, payload, { algorithm: "PS256" }),
    "RS256 header over an RS512 signature": stytch.signJwt(header, payload, { algorithm: "RS512" }),
    "tampered payload": `${h}.${b64url({ ...payload, sub: "member-test-attacker" })}.${s}`,
    "tampered roles": `${h}.${b64url({ ...payload, "https://stytch.com/session": { ...(payload["https://stytch.com/session"] as object), roles: ["stytch_admin"] } })}.${s}`,
    "signature from another key with the project kid": stytch.signJwt(header, payload, { key: foreignPrivateKey() }),
    "truncated signature": `${h}.${p}.${s.slice(0, 100)}`,
    "signature of another token": `${h}.${b64url({ ...payload, iat: issued - 1 })}.${s}`,
    "wrong issuer": stytch.signJwt(header, {
      ...payload,
      iss: "stytch.com/project-test-00000000-0000-0000-0000-000000000000",
    }),
    "issuer with https scheme": stytch.signJwt(header, { ...payload, iss: `https://${payload.iss as string}` }),
    "wrong audience": stytch.signJwt(header, {
      ...payload,
      aud: ["project-test-00000000-0000-0000-0000-000000000000"],
    }),
    "future nbf": stytch.signJwt(header, { ...payload, nbf: issued + 3_600 }),
    "missing exp": stytch.signJwt(header, { ...payload, exp: undefined }),
    "string exp": stytch.signJwt(header, { ...payload, exp: String(issued + 300) }),
    "no typ": stytch.signJwt({ alg: "RS256", kid }, payload),
    "no kid": stytch.signJwt({ alg: "RS256", typ: "JWT" }, payload),
    // Issued a minute ago: a key set fetched since then would hold its key, so the kid is definitely unknown
    // (a just-issued token with an unknown kid may be a newly published key: see the key-set tests).
    "random kid": stytch.signJwt(
      { ...header, kid: "jwk-test-00000000-0000-0000-0000-000000000000" },
      { ...payload, iat: issued - 60, nbf: issued - 60 },
    ),
    "M2M token without member claims": stytch.signJwt(header, {
      ...payload,
      "https://stytch.com/session": undefined,
      "https://stytch.com/organization": undefined,
      scope: "read:users",
    }),
    "crit header": stytch.signJwt({ ...header, crit: ["exp"] }, payload),
    // Other spellings of the genuine token (finding 9a): each must be refused, so that a token has one spelling.
    "payload character above U+00FF with the same low byte": `${h}.${sameLowByte(p)}.${s}`,
    "header character above U+00FF with the same low byte": `${sameLowByte(h)}.${p}.${s}`,
    "padded signature": `${h}.${p}.${s}==`,
    "whitespace inside the signature": `${h}.${p}.${s.slice(0, 40)} ${s.slice(40)}`,
    "signature with non-zero unused bits in its last character": `${h}.${p}.${nonCanonicalTail(s)}`,
    "two segments": `${h}.${p}`,
    "four segments": `${h}.${p}.${s}.${s}`,
    garbage: "not-a-token-at-all!!",
    "short garbage": "abc",
  };
}

/** Replaces the first base64url letter with the character 256 above it, which latin1 maps back to the same byte. */
export function sameLowByte(segment: string): string {
  const index = segment.search(/[A-Za-z]/);
  return `${segment.slice(0, index)}${String.fromCharCode(segment.charCodeAt(index) + 0x100)}${segment.slice(index + 1)}`;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The same bytes spelled differently: sets an unused low bit of the last character (length 4k+2 or 4k+3). */
export function nonCanonicalTail(segment: string): string {
  if (segment.length % 4 < 2) throw new Error("segment has no unused bits");
  return `${segment.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(segment.at(-1)!) | 1]}`;
}
