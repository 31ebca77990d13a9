// The project's key set (JWKS), cached in the warm container (see JwksCache).

import type { webcrypto } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { JwksUnavailableError, KeyNotYetKnownError, UnknownKeyError } from "../errors";
import { logger } from "../operations/log";
import { fetchKeySetDocument } from "../stytch/http";
import { MIN_RSA_MODULUS_BITS, usableJwks } from "./usable-jwks";

const KID_NOT_IN_KEY_SET = "kid is not in the project's key set";

/** A project key, imported once per kid as a WebCrypto key (jose's fastest input). */
export type VerificationKey = webcrypto.CryptoKey;

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
  /**
   * An unknown `kid` that may belong to a newly published key refetches the key set at most this often.
   * Default 3 s: a new key is found within 3 s of its first use (plus one fetch), however many invented
   * kids arrive meanwhile.
   */
  readonly unknownKidRefetchIntervalMs?: number;
  /**
   * How far the issuer's clock may be ahead of ours. A key set fetched more than this after a token's
   * `iat` would hold the token's key if it existed. Default 5 s.
   */
  readonly clockSkewMs?: number;
  /** First backoff after a failed fetch; doubles per consecutive failure up to `maxFailureBackoffMs`. Default 1 s. */
  readonly failureBackoffMs?: number;
  /** Default 30 s. */
  readonly maxFailureBackoffMs?: number;
  /** Called after a refresh dropped a kid (of a fetched key set or of a snapshot), so anything verified with it can be forgotten. */
  readonly onKeysRemoved?: () => void;
  /** Called when a key-set download finishes, with whether it succeeded (for metrics). */
  readonly onRefresh?: (ok: boolean) => void;
  /**
   * Called when a downloaded key set holds kids the previous one did not (Stytch rotated its keys), with how
   * many (for metrics). Not called for the container's first key set, nor for the first one after a snapshot's.
   * Only Stytch's answer decides it: a token's invented kid never does.
   */
  readonly onKeysAdded?: (count: number) => void;
  /** Clock, for tests. */
  readonly now?: () => number;
  /** Where failed downloads are logged: the handler's logger. @default the shared logger */
  readonly logger?: Logger;
}

/** Counters, for tests and the benchmark. */
export interface JwksCacheStats {
  fetches: number;
  failures: number;
}

/**
 * Caches the RS256 public keys of one Stytch project, keyed by `kid`: the project's key set (JWKS) in the
 * warm container. It owns every rule about fetching keys: single-flight, a bounded age with background
 * refresh, the rate-limited refetch for unknown kids, failure backoff, stale-if-error, a timeout and a size
 * cap. Keys are imported once per kid as WebCrypto keys for jose. It knows nothing about claims.
 *
 * Lifecycle of a warm container:
 * - with a project snapshot ({@link JwksCache.seed} at init), its keys verify at once, until a fetched key set
 *   replaces them or the snapshot passes its maximum age; a kid the fetched set lacks stops verifying then;
 * - the first caller (or {@link JwksCache.prefetch} at init) starts a fetch; everyone else waits on that same fetch;
 * - keys older than `refreshAfterMs` keep verifying while one background refresh replaces them;
 * - if refreshes fail, known keys keep verifying until `maxStaleMs` (stale-if-error), then the cache
 *   reports {@link JwksUnavailableError} so the caller can fall back to the Stytch API;
 * - an unknown `kid` is a new key only if the key set we hold is older than the token (Stytch signs
 *   with a new key from the moment it publishes it): then the set is refetched, at most once per
 *   `unknownKidRefetchIntervalMs`, and until that is allowed the answer is a retryable
 *   {@link KeyNotYetKnownError}; once a key set fetched after the token's issuance lacks the kid, it is
 *   {@link UnknownKeyError}. A refetch that finds new kids (a real rotation) is reported through `onKeysAdded`.
 */
export class JwksCache {
  readonly stats: JwksCacheStats = { fetches: 0, failures: 0 };
  private keys = new Map<string, VerificationKey>();
  /** Until when the installed keys may verify: the stale limit of a fetched set, or a snapshot's expiry. */
  private trustedUntil = -Infinity;
  /** From when the installed keys are refreshed in the background: at once for a snapshot's. */
  private refreshDueAt = -Infinity;
  /** Set by {@link seed}: the due refresh waits for {@link prefetch} instead of starting at the keys' first use. */
  private refreshHeld = false;
  /** Whether a key set fetched from Stytch was installed (a snapshot's does not count). */
  private fetchedOnce = false;
  /** The import of a snapshot's keys, while it runs. */
  private seeding: Promise<void> | undefined;
  /** When the request for the installed key set was sent: Stytch's answer is at least this recent. */
  private requestedAt = -Infinity;
  private inflight: Promise<boolean> | undefined;
  private lastFetchStartedAt = -Infinity;
  private lastKidRefetchAt = -Infinity;
  private consecutiveFailures = 0;
  private lastFailureAt = -Infinity;
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
  cachedKey(kid: string): VerificationKey | undefined {
    const key = this.keys.get(kid);
    if (key === undefined) return undefined;
    const now = this.now();
    if (now < this.refreshDueAt) return key;
    if (now >= this.trustedUntil) return undefined;
    if (!this.refreshHeld) void this.refresh(); // in the background: the key still verifies meanwhile
    return key;
  }

  /**
   * Installs the keys of a project snapshot (lambda/lib/stytch/project-snapshot.ts), through the same filters
   * as a fetched key set, unless a fetched set is already installed. They verify until `trustedUntilMs` (the
   * snapshot's expiry) or until a fetched key set replaces them. The refresh that replaces them starts at
   * {@link prefetch}, not at their first use: the authorizer calls it once its first answer is on its way, so
   * that loading `node:https` and opening the connection stay off a cold start's first Allow. Call at init; the
   * import takes a moment (no network), and {@link getKey} waits for it. A kid the snapshot lacks still fetches.
   * @param takenAtMs when the snapshot was taken: Stytch's key set was at least that recent
   */
  seed(document: unknown, takenAtMs: number, trustedUntilMs: number): void {
    if (!this.fetchedOnce) this.refreshHeld = true;
    this.seeding = parseJwks(document)
      .then((keys) => {
        if (this.fetchedOnce) return;
        this.keys = keys;
        this.trustedUntil = trustedUntilMs;
        this.refreshDueAt = -Infinity;
        this.requestedAt = takenAtMs;
      })
      .catch((error: unknown) => {
        // The snapshot was checked when the configuration was read; its keys are then only missing.
        logger.error("snapshot keys could not be imported", {
          reason: "bad_config",
          detail: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        this.seeding = undefined;
      });
  }

  /**
   * Resolves the key for `kid`, fetching the key set when it must.
   * @param issuedAtMs the token's `iat` in epoch ms. It is unverified (the key to verify it is what we
   *   are looking for), so it only ever chooses between {@link UnknownKeyError} and
   *   {@link KeyNotYetKnownError}, and whether a refetch is worth it; it never yields a key.
   * @throws UnknownKeyError when a key set fetched after the token's issuance has no such kid
   * @throws KeyNotYetKnownError when the kid may be new but the key set may not be refetched yet
   * @throws JwksUnavailableError when no usable key set can be obtained at all
   */
  async getKey(kid: string, issuedAtMs: number): Promise<VerificationKey> {
    if (this.seeding) await this.seeding;
    const cached = this.cachedKey(kid);
    if (cached) return cached;
    // The usable set we hold was requested after the token was issued: its kid was never published. No need to
    // wait for a fetch on its way (e.g. the first one after a snapshot's keys, which may hang).
    if (this.hasUsableKeys() && this.holdsEveryKeyUsedBy(issuedAtMs)) throw new UnknownKeyError(KID_NOT_IN_KEY_SET);

    if (this.inflight || !this.hasUsableKeys()) {
      // A fetch is on its way, or nothing to verify with yet (one blocking fetch, shared by everyone).
      const ok = await (this.inflight ?? this.refresh());
      const key = this.cachedKey(kid);
      if (key) return key;
      if (!this.hasUsableKeys())
        throw new JwksUnavailableError(ok ? "the key set holds no usable key" : "no usable JWKS could be obtained");
      // The fetch we just waited for was this kid's refetch.
      this.lastKidRefetchAt = this.lastFetchStartedAt;
    }
    if (this.holdsEveryKeyUsedBy(issuedAtMs)) throw new UnknownKeyError(KID_NOT_IN_KEY_SET);

    // The kid may be new: Stytch publishes a key and signs with it at once. Refetch, but at most once
    // per interval however many unknown kids arrive, so invented kids cost at most that many fetches.
    if (this.now() - this.lastKidRefetchAt < (this.options.unknownKidRefetchIntervalMs ?? 3_000)) {
      throw new KeyNotYetKnownError("kid is unknown and the key set was refetched moments ago; retry shortly");
    }
    this.lastKidRefetchAt = this.now();
    await this.refresh();
    const key = this.cachedKey(kid);
    if (key) return key;
    if (this.holdsEveryKeyUsedBy(issuedAtMs)) throw new UnknownKeyError(KID_NOT_IN_KEY_SET);
    throw new KeyNotYetKnownError("kid is unknown, and the key set may predate it; retry shortly");
  }

  /**
   * Starts fetching the key set unless one was fetched already (call at init, outside the handler; after
   * {@link seed}, it is the background refresh that replaces the snapshot's keys).
   */
  prefetch(): void {
    this.refreshHeld = false;
    if (!this.fetchedOnce) void this.refresh();
  }

  /**
   * True when the key set we hold was fetched after any key a token issued at `issuedAtMs` could have
   * been signed with was published, or when the token claims to come from the future (no genuine
   * token does, so its kid cannot be a key that we are missing).
   */
  private holdsEveryKeyUsedBy(issuedAtMs: number): boolean {
    const skew = this.options.clockSkewMs ?? 5_000;
    return this.requestedAt > issuedAtMs + skew || issuedAtMs > this.now() + skew;
  }

  /** True while the cached keys may be used (fetched and not older than the stale limit, or a snapshot's within its age). */
  hasUsableKeys(): boolean {
    return this.keys.size > 0 && this.now() < this.trustedUntil;
  }

  /** Single-flight fetch. Resolves `true` when a new key set was installed; never rejects. */
  private refresh(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    if (this.inBackoff()) return Promise.resolve(false);
    const requestedAt = (this.lastFetchStartedAt = this.now());
    this.inflight = this.fetchKeySet()
      .then((keys) => {
        this.install(keys, requestedAt);
        this.options.onRefresh?.(true);
        return true;
      })
      .catch((error: unknown) => {
        this.consecutiveFailures += 1;
        this.lastFailureAt = this.now();
        this.stats.failures += 1;
        (this.options.logger ?? logger).warn("JWKS fetch failed", {
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

  private install(keys: Map<string, VerificationKey>, requestedAt: number): void {
    let removed = false;
    for (const kid of this.keys.keys()) if (!keys.has(kid)) removed = true;
    let added = 0;
    if (this.fetchedOnce) for (const kid of keys.keys()) if (!this.keys.has(kid)) added += 1;
    const fetchedAt = this.now();
    this.keys = keys;
    this.fetchedOnce = true;
    this.refreshHeld = false;
    this.refreshDueAt = fetchedAt + this.refreshAfterMs;
    this.trustedUntil = fetchedAt + this.maxStaleMs;
    this.requestedAt = requestedAt;
    this.consecutiveFailures = 0;
    if (removed) this.options.onKeysRemoved?.();
    if (added > 0) this.options.onKeysAdded?.(added);
  }

  private async fetchKeySet(): Promise<Map<string, VerificationKey>> {
    this.stats.fetches += 1;
    return parseJwks(
      await fetchKeySetDocument(this.options.jwksUrl, this.options.timeoutMs, this.options.maxResponseBytes ?? 65_536),
    );
  }
}

const RS256_IMPORT: webcrypto.RsaHashedImportParams = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

/**
 * Imports the usable keys of a JWKS document (see {@link usableJwks}: RSA, for signatures, RS256 or no `alg`,
 * with a `kid`, and a modulus of at least 2048 bits) as WebCrypto keys for RS256 verification. Anything else is
 * skipped, never trusted.
 * @throws Error when the document is not a JWKS or holds no usable key
 */
export async function parseJwks(document: unknown): Promise<Map<string, VerificationKey>> {
  const keys = new Map<string, VerificationKey>();
  for (const { kid, n, e } of usableJwks(document)) {
    try {
      // Only the public members are passed on. WebCrypto directly rather than jose's importJWK: the same
      // non-extractable RS256 verify key that jwtVerify checks, without importJWK's general-purpose code in the bundle.
      const key = await crypto.subtle.importKey("jwk", { kty: "RSA", n, e }, RS256_IMPORT, false, ["verify"]);
      if (((key.algorithm as webcrypto.RsaHashedKeyAlgorithm).modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) continue;
      keys.set(kid, key);
    } catch {}
  }
  if (keys.size === 0) throw new Error("JWKS holds no usable RS256 key");
  return keys;
}
