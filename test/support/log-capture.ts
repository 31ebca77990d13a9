// The JSON log records the handlers write during one test. Vitest runs Powertools in dev mode
// (vitest.config.mts), where it writes through the global console; this takes those lines for the test to read
// instead of printing them, and gives the console back when the test ends.

import { onTestFinished, vi } from "vitest";

/** One structured log record, as written. */
export type LogRecord = Record<string, unknown>;

/**
 * Captures, for the rest of the current test, every JSON log record written through the console (lines that are
 * not JSON are kept as `{ text }`). Call it inside a test (or a `beforeEach`).
 */
export function captureLogRecords(): LogRecord[] {
  const records: LogRecord[] = [];
  const spies = (["log", "info", "warn", "error", "debug", "trace"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      const text = args.map(String).join(" ");
      try {
        const parsed: unknown = JSON.parse(text);
        records.push(typeof parsed === "object" && parsed !== null ? (parsed as LogRecord) : { text });
      } catch {
        records.push({ text });
      }
    }),
  );
  onTestFinished(() => {
    for (const spy of spies) spy.mockRestore();
  });
  return records;
}
