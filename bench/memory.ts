// Memory under a stream of distinct tokens. The verdict cache admits a JWT on its first verification, so
// every token is remembered: the worst case for the cache's memory. The cache is capped (2048 entries), so the heap must level off once the cap is
// reached, however many tokens follow.

import type { AuthorizerHandler } from "../lambda/authorizer";
import { restRequestEvent, type TokenMint } from "./tokens";

/** Heap in use after a full GC, at one point of the stream. */
export interface HeapCheckpoint {
  readonly tokens: number;
  readonly heapUsedBytes: number;
}

/** The outcome of the memory phase. */
export interface MemoryResult {
  readonly tokens: number;
  readonly checkpoints: readonly HeapCheckpoint[];
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
  readonly seconds: number;
}

/** heapUsed after full collections (twice: the first may only promote what the second frees). */
export function heapUsedAfterGc(): number {
  if (typeof gc !== "function") throw new Error("run with --expose-gc (bench/run.ts re-spawns itself with it)");
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Sends `count` distinct, freshly signed tokens through `handler` one after another, and samples the
 * heap (after GC) before, at each of `checkpoints` (token counts), and after.
 * @throws when any token is not allowed for its own member: the measurement would be meaningless
 */
export async function measureMemory(
  handler: AuthorizerHandler,
  mint: TokenMint,
  count: number,
  checkpoints: readonly number[],
): Promise<MemoryResult> {
  const started = process.hrtime.bigint();
  const samples: HeapCheckpoint[] = [];
  const heapBeforeBytes = heapUsedAfterGc();
  samples.push({ tokens: 0, heapUsedBytes: heapBeforeBytes });
  const marks = new Set(checkpoints.filter((c) => c > 0 && c < count));
  for (let i = 1; i <= count; i++) {
    // Tokens are signed one at a time and dropped right after use: only what the handler keeps stays alive.
    const token = mint.mint();
    const result = await handler(restRequestEvent(token.jwt));
    if (!("principalId" in result) || result.principalId !== token.sub)
      throw new Error(`memory phase: token ${i} was not allowed for its member`);
    if (marks.has(i)) samples.push({ tokens: i, heapUsedBytes: heapUsedAfterGc() });
  }
  const heapAfterBytes = heapUsedAfterGc();
  samples.push({ tokens: count, heapUsedBytes: heapAfterBytes });
  return {
    tokens: count,
    checkpoints: samples,
    heapBeforeBytes,
    heapAfterBytes,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}
