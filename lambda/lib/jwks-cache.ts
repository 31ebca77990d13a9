// The project's key set (JWKS), cached in the warm container. It owns every rule about fetching keys:
// single-flight, a bounded age with background refresh, the unknown-kid penalty box, failure backoff,
// stale-if-error, a timeout and a size cap. It knows nothing about claims.

import { createPublicKey, type KeyObject } from "node:crypto";
import { JwksUnavailableError, UnknownKeyError } from "./errors";
import { readTextCapped } from "./http";
import { logger } from "./log";

/** Tuning of the key-set cache. All durations in milliseconds. */
export interface JwksCacheOptions {
  readonly jwksUrl: string;
  /** Timeout of one JWKS request. */
  readonly timeoutMs: number;
  /** Largest JWKS response accepted. Default 64 KiB (Stytch serves two or three keys). */
  readonly maxResponseBytes?: number;
  /** Keys older than this are still used, and refreshed in the background. Default 10 minutes. */
  readonly refreshAfterMs?: number;
  /** Stale-if-error: keys are used at most this long after the last successful fetch. Default 24 hours. */
  readonly maxStaleMs?: number;
  /** After an unknown `kid` caused a refetch, further unknown kids wait this long (the penalty box). Default 30 s. */
  readonly unknownKidCooldownMs?: number;
  /** First backoff after a failed fetch; doubles per consecutive failure up to `maxFailureBackoffMs`. Default 1 s. */
  readonly failureBackoffMs?: number;
  /** Default 30 s. */
  readonly maxFailureBackoffMs?: number;
  /** Called after a refresh dropped a kid, so anything verified with it can be forgotten. */
  readonly onKeysRemoved?: () => void;
  /** Called when a key-set download finishes, with whether it succeeded (for metrics). */
  readonly onRefresh?: (ok: boolean) => void;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** Counters, for tests and the benchmark. */
export interface JwksCacheStats {
  fetches: number;
  failures: number;
}

/**
 * Caches the RS256 public keys of one Stytch project, keyed by `kid`.
 *
 * Lifecycle of a warm container:
 * - the first caller (or {@link JwksCache.prefetch} at init) starts a fetch; everyone else waits on that same fetch;
 * - keys older than `refreshAfterMs` keep verifying while one background refresh replaces them;
 * - if refreshes fail, known keys keep verifying until `maxStaleMs` (stale-if-error), then the cache
 *   reports {@link JwksUnavailableError} so the caller can fall back to the Stytch API;
 * - an unknown `kid` triggers one immediate refetch (the key may have just rotated); further unknown
 *   kids inside the penalty box are rejected without a fetch.
 */
export class JwksCache {
  readonly stats: JwksCacheStats = { fetches: 0, failures: 0 };
  private keys = new Map<string, KeyObject>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<boolean> | undefined;
  private lastUnknownKidFetchAt = Number.NEGATIVE_INFINITY;
  private consecutiveFailures = 0;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly refreshAfterMs: number;
  private readonly maxStaleMs: number;

  constructor(private readonly options: JwksCacheOptions) {
    this.now = options.now ?? Date.now;
    this.refreshAfterMs = options.refreshAfterMs ?? 10 * 60_000;
    this.maxStaleMs = options.maxStaleMs ?? 24 * 3_600_000;
  }

  /**
   * The hot path: the key for `kid` if it is cached and usable now, without awaiting anything.
   * Starts a background refresh when the keys are due for one.
   */
  cachedKey(kid: string): KeyObject | undefined {
    const key = this.keys.get(kid);
    if (key === undefined) return undefined;
    const age = this.now() - this.fetchedAt;
    if (age < this.refreshAfterMs) return key;
    if (age >= this.maxStaleMs) return undefined;
    this.refreshInBackground();
    return key;
  }

  /**
   * Resolves the key for `kid`, fetching the key set when it must.
   * @throws UnknownKeyError when the (fresh) key set has no such kid, or the penalty box is closed
   * @throws JwksUnavailableError when no usable key set can be obtained at all
   */
  async getKey(kid: string): Promise<KeyObject> {
    const cached = this.cachedKey(kid);
    if (cached) return cached;

    if (!this.hasUsableKeys()) {
      // Nothing to verify with: one blocking fetch, shared by every concurrent caller.
      const ok = await this.refresh();
      const key = this.cachedKey(kid);
      if (key) return key;
      if (!ok || !this.hasUsableKeys()) throw new JwksUnavailableError("no usable JWKS could be obtained");
      // The key set we just fetched lacks this kid: that fetch is the kid's one refetch.
      this.lastUnknownKidFetchAt = this.now();
      throw new UnknownKeyError("kid is not in the project's key set");
    }

    if (this.inflight) {
      // A fetch is already on its way; it is free to wait for it.
      await this.inflight;
      const key = this.cachedKey(kid);
      if (key) return key;
      throw new UnknownKeyError("kid is not in the project's key set");
    }

    // Unknown kid while we hold good keys: maybe Stytch just rotated, maybe someone is making kids up.
    // Someone might be messing with us: allow one refetch, then keep the penalty box closed for a while
    // so a flood of random kids costs at most one JWKS request per cooldown.
    if (this.now() - this.lastUnknownKidFetchAt < (this.options.unknownKidCooldownMs ?? 30_000)) {
      throw new UnknownKeyError("kid is not in the project's key set (refetch rate-limited)");
    }
    this.lastUnknownKidFetchAt = this.now();
    await this.refresh();
    const key = this.cachedKey(kid);
    if (key) return key;
    throw new UnknownKeyError("kid is not in the project's key set");
  }

  /** Starts fetching the key set if nothing is cached yet (call at init, outside the handler). */
  prefetch(): void {
    if (this.keys.size === 0) void this.refresh();
  }

  /** True while the cached keys may be used (fetched successfully, not older than the stale limit). */
  hasUsableKeys(): boolean {
    return this.keys.size > 0 && this.now() - this.fetchedAt < this.maxStaleMs;
  }

  private refreshInBackground(): void {
    void this.refresh();
  }

  /** Single-flight fetch. Resolves `true` when a new key set was installed; never rejects. */
  private refresh(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    if (this.inBackoff()) return Promise.resolve(false);
    this.inflight = this.fetchKeySet()
      .then((keys) => {
        this.install(keys);
        this.options.onRefresh?.(true);
        return true;
      })
      .catch((error: unknown) => {
        this.consecutiveFailures += 1;
        this.lastFailureAt = this.now();
        this.stats.failures += 1;
        logger.warn("JWKS fetch failed", {
          reason: "jwks_unavailable",
          detail: error instanceof Error ? error.message : String(error),
          consecutiveFailures: this.consecutiveFailures,
          keysCached: this.keys.size,
        });
        this.options.onRefresh?.(false);
        return false;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private inBackoff(): boolean {
    if (this.consecutiveFailures === 0) return false;
    const base = this.options.failureBackoffMs ?? 1_000;
    const backoff = Math.min(base * 2 ** (this.consecutiveFailures - 1), this.options.maxFailureBackoffMs ?? 30_000);
    return this.now() - this.lastFailureAt < backoff;
  }

  private install(keys: Map<string, KeyObject>): void {
    let removed = false;
    for (const kid of this.keys.keys()) if (!keys.has(kid)) removed = true;
    this.keys = keys;
    this.fetchedAt = this.now();
    this.consecutiveFailures = 0;
    if (removed) this.options.onKeysRemoved?.();
  }

  private async fetchKeySet(): Promise<Map<string, KeyObject>> {
    this.stats.fetches += 1;
    const response = await fetch(this.options.jwksUrl, {
      headers: { accept: "application/json" },
      redirect: "error",
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`JWKS endpoint answered HTTP ${response.status}`);
    }
    const text = await readTextCapped(response, this.options.maxResponseBytes ?? 65_536);
    return parseJwks(JSON.parse(text));
  }
}

/**
 * Imports the usable keys of a JWKS document: RSA, for signatures, RS256 (or no `alg`), with a `kid`,
 * and a modulus of at least 2048 bits. Anything else is skipped, never trusted.
 * @throws Error when the document is not a JWKS or holds no usable key
 */
export function parseJwks(document: unknown): Map<string, KeyObject> {
  const list = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error("JWKS has no keys array");
  const keys = new Map<string, KeyObject>();
  for (const jwk of list.slice(0, 100) as Array<Record<string, unknown>>) {
    if (typeof jwk !== "object" || jwk === null) continue;
    const { kty, kid, alg, use, n, e } = jwk;
    const keyOps = jwk.key_ops;
    if (kty !== "RSA" || typeof kid !== "string" || kid === "" || kid.length > 256) continue;
    if (alg !== undefined && alg !== "RS256") continue; // https://datatracker.ietf.org/doc/html/rfc7517#section-4.4
    if (use !== undefined && use !== "sig") continue; // https://datatracker.ietf.org/doc/html/rfc7517#section-4.2
    if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes("verify"))) continue;
    if (typeof n !== "string" || typeof e !== "string") continue;
    try {
      const key = createPublicKey({ key: { kty: "RSA", n, e }, format: "jwk" });
      if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) continue;
      keys.set(kid, key);
    } catch {
      continue;
    }
  }
  if (keys.size === 0) throw new Error("JWKS holds no usable RS256 key");
  return keys;
}
