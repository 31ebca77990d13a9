// A bounded memory of positive verdicts (see VerdictCache).

import type { Caller } from "../callers/caller";
import type { AuthorizerContext } from "../response/member-context";

/** A remembered verdict: the caller (a member, an M2M client, a Connected App), and its encoded context (built once). */
export interface CachedVerdict {
  readonly caller: Caller;
  readonly context: AuthorizerContext;
  /** Epoch ms after which the verdict must be recomputed. */
  readonly notAfterMs: number;
}

interface Entry {
  readonly credential: string;
  readonly verdict: CachedVerdict;
}

/**
 * A bounded memory of positive verdicts, keyed by the exact credential string. It makes a repeated
 * JWT cost a map lookup instead of an RSA verification. An entry never outlives the instant its
 * verdict would have changed: the JWT's `exp`, its maximum age, or (for opaque tokens, only when
 * configured) a short TTL.
 *
 * An insertion-ordered map with a hard cap: when full, the oldest entry goes. Memory stays bounded
 * however many distinct tokens arrive.
 *
 * Entries are found by a numeric key folded from the credential's last characters (for a JWT, its
 * signature, which is indistinguishable from random) and then compared in full, so a lookup neither
 * hashes the token nor trusts a look-alike: two credentials that share a key are still different
 * credentials, and the full comparison makes that a miss.
 *
 * A locally verified JWT is admitted at once: a member's session JWT comes back with every request
 * for its five minutes, so each token costs one verification, not two. Machine tokens are admitted the same way,
 * until their `exp`: the verdict records the caller type, so a cached answer is never read as another type.
 * One-off tokens cost memory only up to the cap, and every entry is dropped at its `notAfterMs` when it is next looked up, or evicted.
 */
export class VerdictCache {
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly maxEntries = 2_048) {}

  /** The verdict for this exact credential, if remembered and still valid at `nowMs`. */
  get(credential: string, nowMs: number): CachedVerdict | undefined {
    const key = keyOf(credential);
    const entry = this.entries.get(key);
    if (entry === undefined || entry.credential !== credential) return undefined;
    if (entry.verdict.notAfterMs > nowMs) return entry.verdict;
    this.entries.delete(key);
    return undefined;
  }

  /** Remembers a verdict now. When full, the oldest entry goes (JWTs live 5 minutes, so it also expires first). */
  set(credential: string, verdict: CachedVerdict): void {
    const key = keyOf(credential);
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      this.entries.delete(this.entries.keys().next().value as number);
    }
    this.entries.set(key, { credential, verdict });
  }

  /** Forgets everything, e.g. when a signing key disappeared from the project's key set. */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Folds the last seven characters (7 bits each: base64url is ASCII) into an exact integer below 2^49.
 * No allocation, and no string that would keep the whole request header alive.
 */
function keyOf(credential: string): number {
  let key = 0;
  for (let i = Math.max(0, credential.length - 7); i < credential.length; i += 1)
    key = key * 128 + (credential.charCodeAt(i) & 127);
  return key;
}
