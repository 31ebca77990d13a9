// The key-set cache against the emulator's real JWKS endpoint, with a hand-driven clock.

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { JwksUnavailableError, UnknownKeyError } from "../lambda/lib/errors";
import { JwksCache, parseJwks, type JwksCacheOptions } from "../lambda/lib/jwks-cache";
import { startStytchEmulator, type StytchEmulator } from "../local/stytch-emulator";

let stytch: StytchEmulator;
let clock: number;

function cacheWith(options: Partial<JwksCacheOptions> = {}): JwksCache {
  return new JwksCache({ jwksUrl: `${stytch.url}/v1/b2b/sessions/jwks/${stytch.projectId}`, timeoutMs: 500, now: () => clock, ...options });
}

/** Lets a background refresh that was just started finish. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
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
      const keys = await Promise.all(Array.from({ length: 50 }, () => cache.getKey(stytch.currentKid)));
      expect(new Set(keys).size).toBe(1);
      expect(stytch.calls.jwks).toBe(1);
    } finally {
      stytch.setLatency("jwks", 0);
    }
  });

  test("prefetch at init makes the first request find the key without another fetch", async () => {
    const cache = cacheWith();
    cache.prefetch();
    await cache.getKey(stytch.currentKid);
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    expect(stytch.calls.jwks).toBe(1);
  });

  test("a key set with no usable RS256 key is refused", () => {
    expect(() => parseJwks({ keys: [{ kty: "EC", kid: "a", crv: "P-256", x: "x", y: "y" }] })).toThrow(/no usable/);
    expect(() => parseJwks({ keys: [{ ...stytch.jwks().keys[0], alg: "RS512" }] })).toThrow(/no usable/);
    expect(() => parseJwks({ keys: [{ ...stytch.jwks().keys[0], use: "enc" }] })).toThrow(/no usable/);
    expect(() => parseJwks({ nope: true })).toThrow(/no keys array/);
    expect(parseJwks(stytch.jwks()).has(stytch.currentKid)).toBe(true);
  });

  test("an oversized JWKS response is refused rather than buffered", async () => {
    stytch.faults.jwks = "oversized";
    const cache = cacheWith();
    await expect(cache.getKey(stytch.currentKid)).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(cache.stats.failures).toBe(1);
  });

  test("a non-JSON or failing JWKS endpoint means no keys, reported as unavailable", async () => {
    for (const fault of ["garbage", "500", "reset"] as const) {
      stytch.faults.jwks = fault;
      await expect(cacheWith().getKey(stytch.currentKid), fault).rejects.toBeInstanceOf(JwksUnavailableError);
    }
  });

  test("a hanging JWKS endpoint is abandoned after the timeout", async () => {
    stytch.faults.jwks = "hang";
    const started = Date.now();
    await expect(cacheWith({ timeoutMs: 200 }).getKey(stytch.currentKid)).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe("unknown kids", () => {
  test("an unknown kid causes one refetch, then the penalty box refuses without fetching", async () => {
    const cache = cacheWith({ unknownKidCooldownMs: 30_000 });
    await cache.getKey(stytch.currentKid);
    await expect(cache.getKey("jwk-test-made-up-1")).rejects.toBeInstanceOf(UnknownKeyError);
    expect(stytch.calls.jwks).toBe(2);
    await expect(cache.getKey("jwk-test-made-up-2")).rejects.toBeInstanceOf(UnknownKeyError);
    expect(stytch.calls.jwks).toBe(2);
    clock += 30_000;
    await expect(cache.getKey("jwk-test-made-up-3")).rejects.toBeInstanceOf(UnknownKeyError);
    expect(stytch.calls.jwks).toBe(3);
  });

  test("the fetch of a cold cache counts as the unknown kid's refetch", async () => {
    const cache = cacheWith();
    await expect(cache.getKey("jwk-test-made-up")).rejects.toBeInstanceOf(UnknownKeyError);
    await expect(cache.getKey("jwk-test-made-up-again")).rejects.toBeInstanceOf(UnknownKeyError);
    expect(stytch.calls.jwks).toBe(1);
  });

  test("a rotated key is found by the refetch", async () => {
    const cache = cacheWith();
    await cache.getKey(stytch.currentKid);
    const { newKid } = stytch.rotateKeys();
    await expect(cache.getKey(newKid)).resolves.toBeDefined();
    expect(stytch.calls.jwks).toBe(2);
  });
});

describe("age, background refresh and stale-if-error", () => {
  test("keys past refreshAfter are still served while one background refresh runs", async () => {
    const cache = cacheWith({ refreshAfterMs: 60_000 });
    await cache.getKey(stytch.currentKid);
    clock += 61_000;
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    await settle();
    expect(stytch.calls.jwks).toBe(2);
  });

  test("when refreshes fail, known keys keep verifying until maxStale, then the cache reports unavailable", async () => {
    /**
     * Stytch's JWKS goes down after the cache warmed up. For a bounded time the known keys still
     * verify (an outage must not log everyone out); past that bound they are no longer trusted.
     */
    const cache = cacheWith({ refreshAfterMs: 60_000, maxStaleMs: 3_600_000, failureBackoffMs: 1_000 });
    await cache.getKey(stytch.currentKid);
    stytch.faults.jwks = "500";
    clock += 120_000;
    expect(cache.cachedKey(stytch.currentKid)).toBeDefined();
    await settle();
    expect(cache.stats.failures).toBe(1);
    clock += 1_800_000;
    await expect(cache.getKey(stytch.currentKid)).resolves.toBeDefined();
    clock += 1_800_000;
    expect(cache.cachedKey(stytch.currentKid)).toBeUndefined();
    await expect(cache.getKey(stytch.currentKid)).rejects.toBeInstanceOf(JwksUnavailableError);
  });

  test("failed fetches back off instead of hammering the endpoint", async () => {
    stytch.faults.jwks = "500";
    const cache = cacheWith({ failureBackoffMs: 1_000, maxFailureBackoffMs: 4_000 });
    await expect(cache.getKey(stytch.currentKid)).rejects.toBeInstanceOf(JwksUnavailableError);
    await expect(cache.getKey(stytch.currentKid)).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(stytch.calls.jwks).toBe(1);
    clock += 1_000;
    await expect(cache.getKey(stytch.currentKid)).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(stytch.calls.jwks).toBe(2);
    clock += 1_000; // second failure: the backoff doubled to 2 s
    await expect(cache.getKey(stytch.currentKid)).rejects.toBeInstanceOf(JwksUnavailableError);
    expect(stytch.calls.jwks).toBe(2);
    stytch.faults.jwks = "none";
    clock += 1_000;
    await expect(cache.getKey(stytch.currentKid)).resolves.toBeDefined();
    expect(stytch.calls.jwks).toBe(3);
  });

  test("a refresh that drops a kid tells the owner, so verdicts resting on it are forgotten", async () => {
    let removals = 0;
    const cache = cacheWith({ refreshAfterMs: 60_000, onKeysRemoved: () => (removals += 1) });
    await cache.getKey(stytch.currentKid);
    const { previousKid } = stytch.rotateKeys();
    stytch.retireKey(previousKid);
    clock += 61_000;
    cache.cachedKey(previousKid);
    await settle();
    expect(removals).toBe(1);
    expect(cache.cachedKey(previousKid)).toBeUndefined();
  });
});
