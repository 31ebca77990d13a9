// Small statistics and formatting helpers. Medians, not means: this machine is shared and noisy, and
// one descheduled batch must not move the result.

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rounds to `digits` decimals (for JSON output that stays readable). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Pads a table cell to `width`, right-aligned for numbers, left-aligned otherwise. */
export function cell(value: string | number, width: number): string {
  const text = String(value);
  return typeof value === "number" ? text.padStart(width) : text.padEnd(width);
}

/** Bytes as `12,345 B (12.1 KiB)`. */
export function formatBytes(bytes: number): string {
  return `${bytes.toLocaleString("en-US")} B (${(bytes / 1024).toFixed(1)} KiB)`;
}

/** Bytes as MiB with two decimals. */
export function mib(bytes: number): number {
  return round(bytes / (1024 * 1024), 2);
}
