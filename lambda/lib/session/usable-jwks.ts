// Which keys of a JWKS document may verify session JWTs (see usableJwks). Plain code without dependencies: the
// key-set cache, the project snapshot (lambda/lib/stytch/project-snapshot.ts) and the CDK constructs share it,
// so a key in a snapshot passes exactly the filters of a key Stytch serves.

/** The public members of one key that may verify session JWTs. */
export interface UsableJwk {
  readonly kid: string;
  readonly n: string;
  readonly e: string;
}

/** The smallest RSA modulus accepted, in bits (jose refuses RS256 keys below it too). */
export const MIN_RSA_MODULUS_BITS = 2048;

/** Keys read from one document at most (Stytch serves two or three). */
const MAX_KEYS = 100;

/**
 * The keys of a JWKS document that may verify RS256 session JWTs: RSA, for signatures (`use` absent or `sig`,
 * `key_ops` absent or holding `verify`), RS256 or no `alg`, with a `kid`, and a modulus of at least
 * {@link MIN_RSA_MODULUS_BITS} bits. Anything else is skipped, never trusted. Only the public members are
 * returned: a `d` or an `ext` in the document changes nothing.
 * @throws Error when the document is not a JWKS (no `keys` array)
 */
export function usableJwks(document: unknown): UsableJwk[] {
  const list = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error("JWKS has no keys array");
  const usable: UsableJwk[] = [];
  for (const jwk of list.slice(0, MAX_KEYS) as Array<Record<string, unknown>>) {
    if (typeof jwk !== "object" || jwk === null) continue;
    const { kty, kid, alg, use, n, e } = jwk;
    const keyOps = jwk.key_ops;
    if (kty !== "RSA" || typeof kid !== "string" || kid === "" || kid.length > 256) continue;
    if (alg !== undefined && alg !== "RS256") continue; // https://datatracker.ietf.org/doc/html/rfc7517#section-4.4
    if (use !== undefined && use !== "sig") continue; // https://datatracker.ietf.org/doc/html/rfc7517#section-4.2
    if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes("verify"))) continue;
    if (typeof n !== "string" || typeof e !== "string") continue;
    if (modulusBits(n) < MIN_RSA_MODULUS_BITS) continue;
    usable.push({ kid, n, e });
  }
  return usable;
}

/** The bit length of an RSA modulus given as base64url (leading zero bytes do not count). */
export function modulusBits(n: string): number {
  if (!/^[A-Za-z0-9_-]+$/.test(n)) return 0;
  const bytes = Buffer.from(n, "base64url");
  let first = 0;
  while (first < bytes.length && bytes[first] === 0) first += 1;
  if (first === bytes.length) return 0;
  return (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes[first]!));
}
