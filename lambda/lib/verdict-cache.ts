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

/**
 * An insertion-ordered map with a hard cap: when full, the oldest entry goes. Memory stays bounded
 * however many distinct tokens arrive.
 */
export class VerdictCache {
  private readonly entries = new Map<string, CachedVerdict>();

  constructor(private readonly maxEntries = 2_048) {}

  /** The verdict for this exact credential, if remembered and still valid at `nowMs`. */
  get(credential: string, nowMs: number): CachedVerdict | undefined {
    const entry = this.entries.get(credential);
    if (entry === undefined) return undefined;
    if (entry.notAfterMs > nowMs) return entry;
    this.entries.delete(credential);
    return undefined;
  }

  set(credential: string, verdict: CachedVerdict): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(credential)) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(credential, verdict);
  }

  /** Forgets everything, e.g. when a signing key disappeared from the project's key set. */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
