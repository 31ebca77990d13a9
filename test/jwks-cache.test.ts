// The key-set cache against the emulator's real JWKS endpoint, with a hand-driven clock.

import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { JwksUnavailableError, KeyNotYetKnownError, UnknownKeyError } from "../lambda/lib/errors";
import { JwksCache, type JwksCacheOptions, parseJwks } from "../lambda/lib/session/jwks-cache";
import { type StytchEmulator, startStytchEmulator } from "../local/stytch-emulator";

let stytch: StytchEmulator;
let clock: number;

/** Key-set downloads each cache has finished (successful or not), counted through its onRefresh observer. */
const finishedDownloads = new WeakMap<JwksCache, number>();

// The download timeout is generous where it is not what a test is about: on a loaded machine a loopback
// download can outlast a short one, and the cache would then report a failure the test did not ask for.
function cacheWith(options: Partial<JwksCacheOptions> = {}): JwksCache {
  const cache: JwksCache = new JwksCache({
    jwksUrl: `${stytch.url}/v1/b2b/sessions/jwks/${stytch.projectId}`,
    timeoutMs: 10_000,
    now: () => clock,
    ...options,
    onRefresh: (ok) => {
      finishedDownloads.set(cache, (finishedDownloads.get(cache) ?? 0) + 1);
      options.onRefresh?.(ok);
    },
  });
  return cache;
}

/** The `iat` (epoch ms) of a token issued just now by the hand-driven clock. */
const issuedNow = () => clock;

/** Waits until every download the cache started (a background refresh included) has finished: no fixed sleep. */
async function settle(cache: JwksCache): Promise<void> {
  const givingUpAt = Date.now() + 10_000;
  while ((finishedDownloads.get(cache) ?? 0) < cache.stats.fetches) {
    if (Date.now() > givingUpAt) throw new Error("a key-set download did not finish within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

beforeAll(async () => {
  stytch = await startStytchEmulator();
});

afterAll(async () => {
  await stytch.close();
});

beforeEach(() => {
  clock = 1_000_000;
  stytch.resetCounters();
  stytch.faults.jwks = "none";
});

describe("fetching", () => {
  test("concurrent callers on a cold cache share one fetch", async () => {
    /**
     * Fifty requests arrive before the key set is known. Only one HTTP request may reach the JWKS
     * endpoint; everyone else waits on that same promise.
     */
    stytch.setLatency("jwks", 30);
    try {
      const cache = cacheWith();
      const keys = await Promise.all(Array.from({ length: 50 }, () => cache.getKey(stytch.currentKid, issuedNow())));
      expect(new Set(keys).size).toBe(1);
      expect(stytch.calls.jwks).toBe(1);
    } finally {
      stytch.setLatency("jwks", 0);
    }
  });

  test("prefetch at init makes the first request find the key without another fetch", async () => {
    const cache = cacheWith();
    cache.prefetch();
    await cache.getKey(stytch.currentKid, issuedNow());
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    expect(stytch.calls.jwks).toBe(1);
  });

  test("a key set with no usable RS256 key is refused", async () => {
    await expect(parseJwks({ keys: [{ kty: "EC", kid: "a", crv: "P-256", x: "x", y: "y" }] })).rejects.toThrow(
      /no usable/,
    );
    await expect(parseJwks({ keys: [{ ...stytch.jwks().keys[0], alg: "RS512" }] })).rejects.toThrow(/no usable/);
    await expect(parseJwks({ keys: [{ ...stytch.jwks().keys[0], use: "enc" }] })).rejects.toThrow(/no usable/);
    await expect(parseJwks({ nope: true })).rejects.toThrow(/no keys array/);
    expect((await parseJwks(stytch.jwks())).has(stytch.currentKid)).toBe(true);
  });

  test("an RSA key shorter than 2048 bits is skipped, never trusted", async () => {
    /**
     * Mutation-testing finding 9 §3: nothing offered a 1024-bit key. A 1024-bit RSA key can be
     * factored by a determined attacker; a key set that carries one must not make it a project key.
     */
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" });
    const weakJwk = { kty: "RSA", use: "sig", alg: "RS256", kid: "jwk-test-weak-1024", n: weak.n, e: weak.e };
    const keys = await parseJwks({ keys: [weakJwk, ...stytch.jwks().keys] });
    expect(keys.has("jwk-test-weak-1024")).toBe(false);
    expect(keys.has(stytch.currentKid)).toBe(true);
    await expect(parseJwks({ keys: [weakJwk] })).rejects.toThrow(/no usable/);
  });

  test("keys are imported once as WebCrypto RS256 verification keys", async () => {
    const key = (await parseJwks(stytch.jwks())).get(stytch.currentKid)!;
    expect(key).toBeInstanceOf(CryptoKey);
    expect(key.algorithm).toMatchObject({ name: "RSASSA-PKCS1-v1_5", hash: { name: "SHA-256" }, modulusLength: 2048 });
    expect(key.usages).toEqual(["verify"]);
    expect(key.type).toBe("public");
  });

  test("an oversized JWKS response is refused rather than buffered", async () => {
    stytch.faults.jwks = "oversized";
    const cache = cacheWith();
    await expect(cache.getKey(stytch.currentKid, issuedNow())).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(cache.stats.failures).toBe(1);
  });

  test("a key set over the configured cap is refused", async () => {
    const cache = cacheWith({ maxResponseBytes: 100 });
    await expect(cache.getKey(stytch.currentKid, issuedNow())).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(cache.stats.failures).toBe(1);
  });

  test("a non-JSON or failing JWKS endpoint means no keys, reported as unavailable", async () => {
    for (const fault of ["garbage", "500", "reset"] as const) {
      stytch.faults.jwks = fault;
      await expect(cacheWith().getKey(stytch.currentKid, issuedNow()), fault).rejects.toBeInstanceOf(
        JwksUnavailableError,
      );
    }
  });

  test("a hanging JWKS endpoint is abandoned after the timeout", async () => {
    stytch.faults.jwks = "hang";
    const started = Date.now();
    await expect(cacheWith({ timeoutMs: 200 }).getKey(stytch.currentKid, issuedNow())).rejects.toBeInstanceOf(
      JwksUnavailableError,
    );
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe("unknown kids", () => {
  test("a kid missing from a key set fetched after the token was issued is unknown at once, without a fetch", async () => {
    const cache = cacheWith();
    await cache.getKey(stytch.currentKid, issuedNow());
    clock += 60_000;
    // Issued before our key set was fetched (beyond the 5 s skew): its key would be in the set.
    for (let i = 0; i < 20; i += 1)
      await expect(cache.getKey(`jwk-test-made-up-${i}`, clock - 90_000)).rejects.toBeInstanceOf(UnknownKeyError);
    expect(stytch.calls.jwks).toBe(1);
  });

  test("a token claiming to come from the future cannot name a key we are missing", async () => {
    const cache = cacheWith();
    await cache.getKey(stytch.currentKid, issuedNow());
    await expect(cache.getKey("jwk-test-made-up", clock + 60_000)).rejects.toBeInstanceOf(UnknownKeyError);
    expect(stytch.calls.jwks).toBe(1);
  });

  test("an unknown kid on a token newer than the key set refetches, then waits out the interval with a retryable fault", async () => {
    const cache = cacheWith({ unknownKidRefetchIntervalMs: 3_000 });
    await cache.getKey(stytch.currentKid, issuedNow());
    clock += 60_000;
    await expect(cache.getKey("jwk-test-made-up-1", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(2);
    clock += 2_999;
    await expect(cache.getKey("jwk-test-made-up-2", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(2);
    clock += 1;
    await expect(cache.getKey("jwk-test-made-up-3", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(3);
  });

  test("once a key set fetched after the token's issuance lacks the kid, it is unknown", async () => {
    const cache = cacheWith({ unknownKidRefetchIntervalMs: 3_000 });
    await cache.getKey(stytch.currentKid, issuedNow());
    const issuedAt = clock;
    clock += 6_000; // past the 5 s skew: a fetch now would hold a key used at issuedAt
    await expect(cache.getKey("jwk-test-made-up", issuedAt)).rejects.toBeInstanceOf(UnknownKeyError);
    expect(stytch.calls.jwks).toBe(2);
    await expect(cache.getKey("jwk-test-made-up", issuedAt)).rejects.toBeInstanceOf(UnknownKeyError);
    expect(stytch.calls.jwks).toBe(2);
  });

  test("a key set requested before a token was issued never settles that token's kid, however late its answer arrived", async () => {
    /**
     * What counts is when the key set was asked for, not when the answer arrived: a slow response may
     * predate a key published while it was on its way.
     */
    const cache = cacheWith({ unknownKidRefetchIntervalMs: 60_000 });
    stytch.setLatency("jwks", 50);
    try {
      const requestedAt = clock;
      const first = cache.getKey(stytch.currentKid, requestedAt);
      clock += 10_000; // the answer takes "10 s" on the hand-driven clock
      const newKid = cache.getKey("jwk-test-published-meanwhile", requestedAt + 1_000);
      await first;
      await expect(newKid).rejects.toBeInstanceOf(KeyNotYetKnownError);
      expect(stytch.calls.jwks).toBe(1);
    } finally {
      stytch.setLatency("jwks", 0);
    }
  });

  test("the fetch of a cold cache counts as the unknown kid's refetch", async () => {
    const cache = cacheWith();
    await expect(cache.getKey("jwk-test-made-up", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    await expect(cache.getKey("jwk-test-made-up-again", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(1);
  });

  test("a rotated key is found by the refetch", async () => {
    const cache = cacheWith();
    await cache.getKey(stytch.currentKid, issuedNow());
    const { newKid } = stytch.rotateKeys();
    await expect(cache.getKey(newKid, issuedNow())).resolves.toBeDefined();
    expect(stytch.calls.jwks).toBe(2);
  });

  test("onKeysAdded hears of a rotation the refetch found, once, and never of invented kids or of the first key set", async () => {
    const added: number[] = [];
    const cache = cacheWith({ unknownKidRefetchIntervalMs: 3_000, onKeysAdded: (count) => added.push(count) });
    await cache.getKey(stytch.currentKid, issuedNow());
    clock += 60_000;
    // Invented kids: refetches that find nothing new.
    for (let i = 0; i < 3; i += 1) {
      await expect(cache.getKey(`jwk-test-made-up-${i}`, issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
      clock += 3_000;
    }
    expect(stytch.calls.jwks).toBe(4);
    expect(added).toEqual([]);
    // A real rotation: the refetch for the new kid finds it.
    const { newKid } = stytch.rotateKeys();
    await expect(cache.getKey(newKid, issuedNow())).resolves.toBeDefined();
    expect(added).toEqual([1]);
    clock += 3_000;
    await expect(cache.getKey("jwk-test-made-up-after", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(added).toEqual([1]);
  });

  test("a key published right after an invented kid is never unknown, and is found within the interval however many invented kids follow", async () => {
    /**
     * Finding 9d: an invented kid arrives (one refetch), then Stytch rotates and signs with the new key
     * at once. The new key's tokens get a retryable fault until the next refetch is allowed, never an
     * UnknownKeyError (a 401 would log members out), and invented kids sent meanwhile cannot push that
     * refetch further away.
     */
    const cache = cacheWith({ unknownKidRefetchIntervalMs: 3_000 });
    await cache.getKey(stytch.currentKid, issuedNow());
    clock += 600_000 - 1; // a warm container, keys just short of their background refresh
    await expect(cache.getKey("jwk-test-invented-0", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(2);
    const { newKid } = stytch.rotateKeys();
    const published = clock;
    for (let step = 1; step <= 29; step += 1) {
      clock = published + step * 100;
      await expect(cache.getKey(`jwk-test-invented-${step}`, issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
      await expect(cache.getKey(newKid, published)).rejects.toBeInstanceOf(KeyNotYetKnownError);
    }
    clock = published + 3_000;
    await expect(cache.getKey(`jwk-test-invented-30`, issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    await expect(cache.getKey(newKid, published)).resolves.toBeDefined();
    expect(stytch.calls.jwks).toBe(3);
  });
});

describe("age, background refresh and stale-if-error", () => {
  test("keys past refreshAfter are still served while one background refresh runs", async () => {
    const cache = cacheWith({ refreshAfterMs: 60_000 });
    await cache.getKey(stytch.currentKid, issuedNow());
    clock += 61_000;
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    await settle(cache);
    expect(stytch.calls.jwks).toBe(2);
  });

  test("when refreshes fail, known keys keep verifying until maxStale, then the cache reports unavailable", async () => {
    /**
     * Stytch's JWKS goes down after the cache warmed up. For a bounded time the known keys still
     * verify (an outage must not log everyone out); past that bound they are no longer trusted.
     */
    const cache = cacheWith({ refreshAfterMs: 60_000, maxStaleMs: 3_600_000, failureBackoffMs: 1_000 });
    await cache.getKey(stytch.currentKid, issuedNow());
    stytch.faults.jwks = "500";
    clock += 120_000;
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    await settle(cache);
    expect(cache.stats.failures).toBe(1);
    clock += 1_800_000;
    await expect(cache.getKey(stytch.currentKid, issuedNow())).resolves.toBeDefined();
    clock += 1_800_000;
    expect(cache.cachedKey(stytch.currentKid)).toBeUndefined();
    await expect(cache.getKey(stytch.currentKid, issuedNow())).rejects.toBeInstanceOf(JwksUnavailableError);
  });

  test("failed fetches back off instead of hammering the endpoint", async () => {
    stytch.faults.jwks = "500";
    const cache = cacheWith({ failureBackoffMs: 1_000, maxFailureBackoffMs: 4_000 });
    await expect(cache.getKey(stytch.currentKid, issuedNow())).rejects.toBeInstanceOf(JwksUnavailableError);
    await expect(cache.getKey(stytch.currentKid, issuedNow())).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(stytch.calls.jwks).toBe(1);
    clock += 1_000;
    await expect(cache.getKey(stytch.currentKid, issuedNow())).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(stytch.calls.jwks).toBe(2);
    clock += 1_000; // second failure: the backoff doubled to 2 s
    await expect(cache.getKey(stytch.currentKid, issuedNow())).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(stytch.calls.jwks).toBe(2);
    stytch.faults.jwks = "none";
    clock += 1_000;
    await expect(cache.getKey(stytch.currentKid, issuedNow())).resolves.toBeDefined();
    expect(stytch.calls.jwks).toBe(3);
  });

  test("a refresh that drops a kid tells the owner, so verdicts resting on it are forgotten", async () => {
    let removals = 0;
    const cache = cacheWith({ refreshAfterMs: 60_000, onKeysRemoved: () => (removals += 1) });
    await cache.getKey(stytch.currentKid, issuedNow());
    const { previousKid } = stytch.rotateKeys();
    stytch.retireKey(previousKid);
    clock += 61_000;
    cache.cachedKey(previousKid);
    await settle(cache);
    expect(removals).toBe(1);
    expect(cache.cachedKey(previousKid)).toBeUndefined();
  });
});

describe("hardening: which published keys are usable", () => {
  /** The project's current key as the emulator publishes it, with `changes` applied. */
  const projectJwk = (changes: Record<string, unknown>) => ({
    ...stytch.jwks().keys.find((key) => key.kid === stytch.currentKid),
    ...changes,
  });

  test.each([
    ["for encryption only", ["encrypt"]],
    ["for signing but not verifying", ["sign"]],
    ["as an empty list", []],
    ['"verify" as a string, not a list', "verify"],
    ["as an object", { verify: true }],
  ])("a key whose key_ops are %s is unusable", async (_, keyOps) => {
    await expect(parseJwks({ keys: [projectJwk({ key_ops: keyOps })] })).rejects.toThrow(/no usable/);
    const keys = await parseJwks({
      keys: [projectJwk({ kid: "jwk-test-restricted", key_ops: keyOps }), ...stytch.jwks().keys],
    });
    expect(keys.has("jwk-test-restricted")).toBe(false);
    expect(keys.has(stytch.currentKid)).toBe(true);
  });

  test.each([
    ["verify", ["verify"]],
    ["sign and verify", ["sign", "verify"]],
  ])("a key whose key_ops include verify (%s) is usable", async (_, keyOps) => {
    expect((await parseJwks({ keys: [projectJwk({ key_ops: keyOps })] })).has(stytch.currentKid)).toBe(true);
  });

  test.each([1024, 2047])("a %i-bit RSA key is skipped even when its kid is the one the token names", async (bits) => {
    /**
     * A second angle on the 2048-bit floor: one bit short of it, and under the very kid a token asks for,
     * with no other key of that kid to fall back on.
     */
    const weak = generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
    const keys = await parseJwks({
      keys: [
        { kty: "RSA", use: "sig", alg: "RS256", kid: stytch.currentKid, n: weak.n, e: weak.e },
        projectJwk({ kid: "jwk-test-other" }),
      ],
    });
    expect(keys.has(stytch.currentKid)).toBe(false);
    expect(keys.has("jwk-test-other")).toBe(true);
  });

  test("a 2048-bit RSA key is usable", async () => {
    const strong = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
    const key = (
      await parseJwks({
        keys: [{ kty: "RSA", use: "sig", alg: "RS256", kid: "jwk-test-2048", n: strong.n, e: strong.e }],
      })
    ).get("jwk-test-2048");
    expect(key?.algorithm).toMatchObject({ modulusLength: 2048 });
  });
});

describe("hardening: the unknown-kid refetch interval", () => {
  test("with the default interval, two unknown kids within 3 s cost one fetch, and one arriving after it another", async () => {
    const cache = cacheWith();
    await cache.getKey(stytch.currentKid, issuedNow());
    clock += 60_000;
    await expect(cache.getKey("jwk-test-unknown-a", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    clock += 2_999;
    await expect(cache.getKey("jwk-test-unknown-b", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(2);
    clock += 1;
    await expect(cache.getKey("jwk-test-unknown-c", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(3);
  });

  test("a longer configured interval is honoured: no refetch 5 s later, one at 10 s", async () => {
    const cache = cacheWith({ unknownKidRefetchIntervalMs: 10_000 });
    await cache.getKey(stytch.currentKid, issuedNow());
    clock += 60_000;
    await expect(cache.getKey("jwk-test-unknown-a", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(2);
    clock += 5_000;
    await expect(cache.getKey("jwk-test-unknown-b", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    clock += 4_999;
    await expect(cache.getKey("jwk-test-unknown-a", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(2);
    clock += 1;
    await expect(cache.getKey("jwk-test-unknown-c", issuedNow())).rejects.toBeInstanceOf(KeyNotYetKnownError);
    expect(stytch.calls.jwks).toBe(3);
  });
});

describe("a project snapshot's keys (seed)", () => {
  test("they verify before any fetch, while the key set cannot be fetched at all", async () => {
    stytch.faults.jwks = "503";
    const cache = cacheWith();
    cache.seed(stytch.jwks(), clock, clock + 60_000);
    cache.prefetch();
    const key = await cache.getKey(stytch.currentKid, issuedNow());
    expect(cache.cachedKey(stytch.currentKid)).toBe(key);
    expect(cache.hasUsableKeys()).toBe(true);
    await settle(cache);
    expect(cache.stats.failures).toBe(1);
  });

  test("their use starts no fetch: the refresh that replaces them waits for prefetch (the authorizer's, after its first answer)", async () => {
    const cache = cacheWith();
    cache.seed(stytch.jwks(), clock - 86_400_000, clock + 60_000); // taken a day ago: a refresh is long due
    await cache.getKey(stytch.currentKid, issuedNow());
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    expect(cache.stats.fetches).toBe(0);
    cache.prefetch();
    expect(cache.stats.fetches).toBe(1);
    await settle(cache);
    expect(stytch.calls.jwks).toBe(1);
  });

  test("once prefetch has run, a refresh that failed is retried at a later use of the snapshot's keys", async () => {
    stytch.faults.jwks = "503";
    const cache = cacheWith({ failureBackoffMs: 1_000 });
    cache.seed(stytch.jwks(), clock, clock + 600_000);
    await cache.getKey(stytch.currentKid, issuedNow());
    cache.prefetch();
    await settle(cache);
    expect(cache.stats.failures).toBe(1);
    stytch.faults.jwks = "none";
    clock += 1_000;
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined(); // still the snapshot's, while the retry runs
    expect(cache.stats.fetches).toBe(2);
    await settle(cache);
    expect(cache.stats.failures).toBe(1);
  });

  test("a kid the snapshot lacks, in a token issued since, fetches without waiting for prefetch", async () => {
    const before = stytch.jwks();
    const { newKid } = stytch.rotateKeys();
    const cache = cacheWith();
    cache.seed(before, clock - 60_000, clock + 60_000);
    expect(await cache.getKey(newKid, issuedNow())).toBeDefined();
    expect(cache.stats.fetches).toBe(1);
  });

  test("they stop being trusted when the snapshot passes its maximum age, during the container's life", async () => {
    stytch.faults.jwks = "503";
    const cache = cacheWith({ failureBackoffMs: 1 });
    cache.seed(stytch.jwks(), clock, clock + 60_000);
    await cache.getKey(stytch.currentKid, issuedNow());
    clock += 60_000;
    expect(cache.cachedKey(stytch.currentKid)).toBeUndefined();
    expect(cache.hasUsableKeys()).toBe(false);
    await expect(cache.getKey(stytch.currentKid, issuedNow())).rejects.toBeInstanceOf(JwksUnavailableError);
  });

  test("the fetched key set replaces them: a kid it lacks stops verifying at once and onKeysRemoved fires; no rotation is reported", async () => {
    const { previousKid } = stytch.rotateKeys();
    const snapshotKeys = stytch.jwks();
    stytch.retireKey(previousKid);
    let removed = 0;
    let added = 0;
    const cache = cacheWith({ onKeysRemoved: () => removed++, onKeysAdded: () => added++ });
    cache.seed(snapshotKeys, clock, clock + 60_000);
    await cache.getKey(previousKid, issuedNow());
    cache.prefetch();
    await settle(cache);
    expect(cache.cachedKey(previousKid)).toBeUndefined();
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    expect([removed, added]).toEqual([1, 0]);
  });

  test("a kid the snapshot lacks, in a token issued after it was taken, waits for the fetched key set (a key published since)", async () => {
    const before = stytch.jwks();
    const { newKid } = stytch.rotateKeys();
    const cache = cacheWith();
    cache.seed(before, clock - 60_000, clock + 60_000);
    cache.prefetch();
    expect(await cache.getKey(newKid, issuedNow())).toBeDefined();
  });

  test("a kid the snapshot lacks, in a token issued before it was taken, is unknown at once, without waiting for a fetch that hangs", async () => {
    stytch.faults.jwks = "hang";
    const cache = cacheWith();
    cache.seed(stytch.jwks(), clock, clock + 60_000);
    cache.prefetch();
    let downloadsFinishedWhenAnswered: number | undefined;
    const answer = cache
      .getKey("jwk-test-invented", clock - 60_000)
      .finally(() => (downloadsFinishedWhenAnswered = finishedDownloads.get(cache) ?? 0));
    await expect(answer).rejects.toBeInstanceOf(UnknownKeyError);
    expect(downloadsFinishedWhenAnswered).toBe(0); // answered while the download still hangs
  });

  test("a fetched key set that landed first is never overwritten by a snapshot's", async () => {
    const cache = cacheWith();
    cache.prefetch();
    await settle(cache);
    const fetched = cache.cachedKey(stytch.currentKid);
    const foreign = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
    cache.seed(
      { keys: [{ ...foreign, kid: "jwk-test-snapshot-only", alg: "RS256", use: "sig" }] },
      clock,
      clock + 60_000,
    );
    await cache.getKey(stytch.currentKid, issuedNow());
    expect(cache.cachedKey(stytch.currentKid)).toBe(fetched);
    expect(cache.cachedKey("jwk-test-snapshot-only")).toBeUndefined();
  });
});
