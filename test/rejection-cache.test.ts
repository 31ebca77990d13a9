// Unit tests for lambda/lib/session/rejection-cache.ts: a short, bounded memory of credentials Stytch declared dead.

import { describe, expect, test } from "vitest";
import { RejectionCache } from "../lambda/lib/session/rejection-cache";

const NOW = 1_900_000_000_000;

describe("unit tests rejection-cache", () => {
  test("a rejected credential is remembered for the TTL, and not at its end", () => {
    const cache = new RejectionCache({ ttlMs: 30_000 });
    cache.add("dead-token", NOW);
    expect(cache.has("dead-token", NOW)).toBe(true);
    expect(cache.has("dead-token", NOW + 29_999)).toBe(true);
    expect(cache.has("dead-token", NOW + 30_000)).toBe(false);
    expect(cache.size).toBe(0);
  });

  test("only the exact credential is remembered", () => {
    const cache = new RejectionCache();
    cache.add("dead-token", NOW);
    expect(cache.has("dead-token ", NOW)).toBe(false);
    expect(cache.has("Dead-token", NOW)).toBe(false);
    expect(cache.has("live-token", NOW)).toBe(false);
  });

  test("the cache never holds more than its cap, dropping the oldest first", () => {
    const cache = new RejectionCache({ maxEntries: 100 });
    for (let i = 0; i < 10_000; i += 1) {
      cache.add(`dead-${i}`, NOW);
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(cache.has("dead-9899", NOW)).toBe(false);
    expect(cache.has("dead-9900", NOW)).toBe(true);
  });

  test("a credential rejected again is remembered from the new rejection on", () => {
    const cache = new RejectionCache({ ttlMs: 1_000, maxEntries: 2 });
    cache.add("a", NOW);
    cache.add("b", NOW);
    cache.add("a", NOW + 500);
    cache.add("c", NOW + 500); // evicts the oldest entry, which is now "b"
    expect(cache.has("a", NOW + 1_200)).toBe(true);
    expect(cache.has("b", NOW + 600)).toBe(false);
  });

  test("no credential is kept in memory, only its digest", () => {
    const cache = new RejectionCache();
    const credential = `eyJ${"x".repeat(2_000)}`;
    cache.add(credential, NOW);
    expect(JSON.stringify([...(cache as unknown as { entries: Map<string, number> }).entries.keys()])).not.toContain(
      "xxxx",
    );
  });
});
