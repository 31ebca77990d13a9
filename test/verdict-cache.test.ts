// Unit tests for lambda/lib/session/verdict-cache.ts: a bounded, insertion-ordered memory of positive
// verdicts that never serves an entry at or after its notAfterMs.

import { describe, expect, test } from "vitest";
import type { MemberSession } from "../lambda/lib/response/member-context";
import { type CachedVerdict, VerdictCache } from "../lambda/lib/session/verdict-cache";

const NOW = 1_900_000_000_000;

function verdict(memberId: string, notAfterMs: number): CachedVerdict {
  const memberSession: MemberSession = {
    memberId,
    memberSessionId: `member-session-${memberId}`,
    organizationId: "organization-test-1",
    organizationSlug: "acme",
    roles: ["stytch_member"],
    authMethod: "jwt",
    sessionExpiresAt: "2030-01-01T00:00:00Z",
    customClaims: {},
    authenticationFactors: [],
  };
  return { caller: { type: "member", member: memberSession }, context: { member_id: memberId }, notAfterMs };
}

describe("unit tests verdict-cache", () => {
  test("a remembered verdict is returned for the exact same credential", () => {
    const cache = new VerdictCache(10);
    const entry = verdict("member-a", NOW + 60_000);
    cache.set("token-a", entry);
    expect(cache.get("token-a", NOW)).toBe(entry);
    expect(cache.get("token-A", NOW)).toBeUndefined();
    expect(cache.get("token-a ", NOW)).toBeUndefined();
    expect(cache.get("token-b", NOW)).toBeUndefined();
  });

  test("an entry is served until just before notAfterMs, and not at notAfterMs itself", () => {
    /**
     * notAfterMs is exclusive: it is the first instant at which the verdict could have changed
     * (exp + tolerance, or iat + max age + tolerance), so the cache must already recompute then.
     */
    const cache = new VerdictCache(10);
    const entry = verdict("member-a", NOW + 1_000);
    cache.set("token-a", entry);
    expect(cache.get("token-a", NOW + 999)).toBe(entry);
    expect(cache.get("token-a", NOW + 1_000)).toBeUndefined();
  });

  test("an expired entry is forgotten, even if asked about again with an earlier clock", () => {
    const cache = new VerdictCache(10);
    cache.set("token-a", verdict("member-a", NOW));
    cache.set("token-b", verdict("member-b", NOW + 60_000));
    expect(cache.get("token-a", NOW + 1)).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.get("token-a", NOW - 1)).toBeUndefined();
    expect(cache.get("token-b", NOW + 1)?.context.member_id).toBe("member-b");
  });

  test("replacing the verdict of a credential keeps one entry with the new verdict", () => {
    const cache = new VerdictCache(10);
    cache.set("token-a", verdict("member-a", NOW + 1_000));
    const newer = verdict("member-a", NOW + 5_000);
    cache.set("token-a", newer);
    expect(cache.size).toBe(1);
    expect(cache.get("token-a", NOW + 2_000)).toBe(newer);
  });

  test("when the cache is full, the oldest entry is evicted first", () => {
    const cache = new VerdictCache(3);
    cache.set("token-1", verdict("member-1", NOW + 60_000));
    cache.set("token-2", verdict("member-2", NOW + 60_000));
    cache.set("token-3", verdict("member-3", NOW + 60_000));
    // Reading an entry does not make it younger: eviction follows insertion order.
    expect(cache.get("token-1", NOW)?.context.member_id).toBe("member-1");
    cache.set("token-4", verdict("member-4", NOW + 60_000));
    expect(cache.size).toBe(3);
    expect(cache.get("token-1", NOW)).toBeUndefined();
    expect(cache.get("token-2", NOW)?.context.member_id).toBe("member-2");
    expect(cache.get("token-4", NOW)?.context.member_id).toBe("member-4");
    cache.set("token-5", verdict("member-5", NOW + 60_000));
    expect(cache.get("token-2", NOW)).toBeUndefined();
    expect(cache.get("token-3", NOW)?.context.member_id).toBe("member-3");
  });

  test("updating a credential that is already cached does not evict anyone when full", () => {
    const cache = new VerdictCache(2);
    cache.set("token-1", verdict("member-1", NOW + 60_000));
    cache.set("token-2", verdict("member-2", NOW + 60_000));
    cache.set("token-2", verdict("member-2", NOW + 120_000));
    expect(cache.size).toBe(2);
    expect(cache.get("token-1", NOW)?.context.member_id).toBe("member-1");
    expect(cache.get("token-2", NOW + 90_000)?.context.member_id).toBe("member-2");
  });

  test("clear() forgets every verdict", () => {
    const cache = new VerdictCache(10);
    cache.set("token-1", verdict("member-1", NOW + 60_000));
    cache.set("token-2", verdict("member-2", NOW + 60_000));
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get("token-1", NOW)).toBeUndefined();
    expect(cache.get("token-2", NOW)).toBeUndefined();
    cache.set("token-3", verdict("member-3", NOW + 60_000));
    expect(cache.size).toBe(1);
  });

  test("memory stays bounded however many distinct tokens arrive", () => {
    /**
     * An attacker can mint endless distinct (valid, short-lived) tokens or replay many members'
     * tokens; the cache must never grow past its cap.
     */
    const cache = new VerdictCache(100);
    for (let i = 0; i < 10_000; i++) {
      cache.set(`token-${i}`, verdict(`member-${i}`, NOW + 60_000));
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(cache.size).toBe(100);
    expect(cache.get("token-9899", NOW)).toBeUndefined();
    expect(cache.get("token-9900", NOW)?.context.member_id).toBe("member-9900");
    expect(cache.get("token-9999", NOW)?.context.member_id).toBe("member-9999");
  });

  test("the default cap is 2048 entries", () => {
    const cache = new VerdictCache();
    for (let i = 0; i < 3_000; i++) cache.set(`token-${i}`, verdict(`member-${i}`, NOW + 60_000));
    expect(cache.size).toBe(2_048);
    expect(cache.get("token-951", NOW)).toBeUndefined();
    expect(cache.get("token-952", NOW)?.context.member_id).toBe("member-952");
  });

  test("two credentials with the same tail are still told apart", () => {
    /**
     * The lookup key is folded from the credential's last characters only; the full comparison is
     * what decides. A token that reuses another's signature segment must never get its verdict.
     */
    const cache = new VerdictCache(10);
    cache.set("header.payload.SAMETAIL", verdict("member-genuine", NOW + 60_000));
    expect(cache.get("header.tampered.SAMETAIL", NOW)).toBeUndefined();
    expect(cache.get("header.payload.SAMETAIL", NOW)?.context.member_id).toBe("member-genuine");
  });
});
