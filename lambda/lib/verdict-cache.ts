// A bounded memory of positive verdicts, keyed by the exact credential string. It makes a repeated
// JWT cost a map lookup instead of an RSA verification. An entry never outlives the instant its
// verdict would have changed: the JWT's `exp`, its maximum age, or (for opaque tokens, only when
// configured) a short TTL.

import type { AuthorizerContext, MemberSession } from "../member-context";

/** A remembered verdict: the member, and its encoded context (built once). */
export interface CachedVerdict {
  readonly memberSession: MemberSession;
  readonly context: AuthorizerContext;
  /** Epoch ms after which the verdict must be recomputed. */
  readonly notAfterMs: number;
}

interface Entry {
  readonly credential: string;
  readonly verdict: CachedVerdict;
}

/**
 * An insertion-ordered map with a hard cap: when full, the oldest entry goes. Memory stays bounded
 * however many distinct tokens arrive.
 *
 * Entries are found by a short key (the tail of a JWT's signature) and then compared in full, so a
 * lookup hashes 43 characters instead of the whole token. Two tokens sharing that tail but differing
 * elsewhere are different credentials: the full comparison makes that a miss.
 */
export class VerdictCache {
  private readonly entries = new Map<string, Entry>();

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

  set(credential: string, verdict: CachedVerdict): void {
    const key = keyOf(credential);
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      this.entries.delete(this.entries.keys().next().value as string);
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
 * The last 43 characters (258 bits) of a JWT's signature, or the whole opaque token. An RSA signature
 * is indistinguishable from random, so its tail identifies the signed content; the full comparison on
 * lookup keeps any look-alike out.
 */
function keyOf(credential: string): string {
  return credential.length > 64 ? credential.slice(-43) : credential;
}
