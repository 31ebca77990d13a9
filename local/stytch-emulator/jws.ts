// Compact JWS with node's crypto alone (no JOSE library: the emulator exists to check our use of one).
// Signs whatever it is given, so tests can build forgeries; verifies RS256 only, as Stytch mints only RS256.

import {
  constants as cryptoConstants,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
  type SignKeyObjectInput,
} from "node:crypto";
import { isJsonObject, type JsonObject } from "./json";

/** The algorithms the emulator can sign with (forgeries included). */
export type Algorithm = "RS256" | "RS384" | "RS512" | "PS256";

const ALGORITHMS: Record<Algorithm, { hash: string; pss: boolean }> = {
  RS256: { hash: "sha256", pss: false },
  RS384: { hash: "sha384", pss: false },
  RS512: { hash: "sha512", pss: false },
  PS256: { hash: "sha256", pss: true },
};

/** Signs `header` and `payload` exactly as given (the header's `alg` is not checked against `algorithm`). */
export function signCompact(
  header: JsonObject,
  payload: JsonObject,
  privateKey: KeyObject,
  algorithm: Algorithm,
): string {
  const { hash, pss } = ALGORITHMS[algorithm];
  const signingInput = `${base64urlJson(header)}.${base64urlJson(payload)}`;
  const key: KeyObject | SignKeyObjectInput = pss
    ? {
        key: privateKey,
        padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
        saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST,
      }
    : privateKey;
  return `${signingInput}.${cryptoSign(hash, Buffer.from(signingInput), key).toString("base64url")}`;
}

/** A compact JWS split into its parts, header and payload decoded; not yet verified. */
export interface DecodedJws {
  header: JsonObject;
  payload: JsonObject;
  /** `<header>.<payload>` as received. */
  signingInput: string;
  signature: Buffer;
}

/**
 * Decodes a compact JWS: three base64url segments whose first two are JSON objects. Undefined for anything else.
 */
export function decodeCompact(jws: string): DecodedJws | undefined {
  const parts = jws.split(".");
  if (parts.length !== 3 || !parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part))) return undefined;
  const header = parseJsonSegment(parts[0]!);
  const payload = parseJsonSegment(parts[1]!);
  if (header === undefined || payload === undefined) return undefined;
  return {
    header,
    payload,
    signingInput: `${parts[0]}.${parts[1]}`,
    signature: Buffer.from(parts[2]!, "base64url"),
  };
}

/** Whether `jws` carries a valid RS256 (RSASSA-PKCS1-v1_5, SHA-256) signature by `publicKey`. */
export function verifiesRs256(jws: DecodedJws, publicKey: KeyObject): boolean {
  return cryptoVerify("sha256", Buffer.from(jws.signingInput), publicKey, jws.signature);
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function parseJsonSegment(segment: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
