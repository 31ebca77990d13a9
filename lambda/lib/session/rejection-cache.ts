// A short, bounded memory of credentials that Stytch has declared dead (see RejectionCache).

/** Tuning of the rejection cache. */
export interface RejectionCacheOptions {
  /** How long a rejection is remembered. Default 30 s. */
  readonly ttlMs?: number;
  /** Most credentials remembered at once; when full, the oldest goes. Default 1,024. */
  readonly maxEntries?: number;
}

/**
 * A short, bounded memory of credentials that Stytch has declared dead (404 `session_not_found`): a
 * revoked session's expired JWT, or an old opaque token. Without it, whoever replays one dead
 * credential spends one of our Stytch calls per request. Only definitive answers are remembered,
 * never a fault (5xx, 429, timeout): those say nothing about the credential.
 *
 * Remembers rejected credentials by their SHA-256 digest, so an entry costs about 100 bytes however
 * long the credential, and no credential is kept in memory. Lookups happen only where a Stytch call
 * would follow, so the hash is never on the hot path of a valid JWT.
 */
export class RejectionCache {
  private readonly entries = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(options: RejectionCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxEntries = options.maxEntries ?? 1_024;
  }

  /** True when Stytch rejected this exact credential less than the TTL ago. */
  has(credential: string, nowMs: number): boolean {
    const digest = digestOf(credential);
    const until = this.entries.get(digest);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    this.entries.delete(digest);
    return false;
  }

  /** Remembers that Stytch rejected this credential. */
  add(credential: string, nowMs: number): void {
    const digest = digestOf(credential);
    // Re-inserted at the end, so the insertion order stays the expiry order.
    this.entries.delete(digest);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(digest, nowMs + this.ttlMs);
  }

  get size(): number {
    return this.entries.size;
  }
}

function digestOf(credential: string): string {
  // node:crypto is loaded at the first lookup, not at init: only a Stytch call follows one, and loading the module
  // (its ciphers and streams, beyond the WebCrypto that verifies JWTs) is about a millisecond of a cold start.
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return createHash("sha256").update(credential).digest("base64url");
}
