// EmfWriter against Powertools Metrics, the writer it replaces: the same calls must write the same bytes
// (what infra/stytch-monitoring.ts alarms on), on stdout in production and through the console in dev mode,
// and metrics must be on and off under the same environment.

import fs from "node:fs";
import { Metrics, MetricUnit as PowertoolsUnit } from "@aws-lambda-powertools/metrics";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { EmfWriter, MetricUnit } from "../lambda/lib/operations/emf-writer";

/** One call on a writer. */
type Call =
  | { readonly dimensions: Record<string, string> }
  | { readonly metric: string; readonly unit: keyof typeof MetricUnit; readonly value: number }
  | { readonly timestamp: number }
  | "publish";

/** The part of both writers' API that DecisionMetrics uses. */
interface Writer {
  addDimensions(dimensions: Record<string, string>): unknown;
  addMetric(name: string, unit: never, value: number): unknown;
  setTimestamp(epochMs: number): unknown;
  publishStoredMetrics(): unknown;
}

const NAMESPACE = "StytchAuthorizer";
const SERVICE = "stytch-authorizer";

function play(writer: Writer, calls: readonly Call[]): void {
  for (const call of calls) {
    if (call === "publish") writer.publishStoredMetrics();
    else if ("dimensions" in call) writer.addDimensions(call.dimensions);
    else if ("metric" in call) writer.addMetric(call.metric, MetricUnit[call.unit] as never, call.value);
    else writer.setTimestamp(call.timestamp);
  }
}

/**
 * What a writer hands to stdout (production) and to `console.log` (dev mode, where the tests and `npm start` read
 * records) for the same calls. Powertools' own warnings (stderr, `console.warn`) are silenced and left out.
 */
function capture(
  create: () => Writer,
  calls: readonly Call[],
  /** How many bytes a write to file descriptor 1 takes (a full pipe takes fewer, or fails). */
  fdTakes: (bytes: number) => number = (bytes) => bytes,
): { stdout: string; console: string[] } {
  const stdout: Buffer[] = [];
  const logged: string[] = [];
  const spies = [
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
      stdout.push(Buffer.from(chunk as string));
      return true;
    }),
    vi.spyOn(fs, "writeSync").mockImplementation((fd: number, chunk: unknown) => {
      expect(fd).toBe(1);
      const taken = fdTakes((chunk as Uint8Array).length);
      stdout.push(Buffer.from((chunk as Uint8Array).subarray(0, taken)));
      return taken;
    }),
    vi.spyOn(process.stderr, "write").mockImplementation(() => true),
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logged.push(args.join(" "))),
    vi.spyOn(console, "warn").mockImplementation(() => undefined),
  ];
  try {
    play(create(), calls);
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return { stdout: Buffer.concat(stdout).toString("utf8"), console: logged };
}

const powertools = () =>
  new Metrics({ namespace: NAMESPACE, serviceName: SERVICE }) as unknown as Writer & { addMetric: unknown };
const ours = () => new EmfWriter({ namespace: NAMESPACE, serviceName: SERVICE }) as unknown as Writer;

/** The records DecisionMetrics writes, and the corners of the format: repeated values, reuse after a publish. */
const SCENARIOS: Record<string, readonly Call[]> = {
  "a batched allow with the cold start, stamped with its first allow's time": [
    { dimensions: {} },
    { dimensions: { outcome: "allow", path: "local" } },
    { metric: "Decisions", unit: "Count", value: 12 },
    { metric: "JwksRefreshes", unit: "Count", value: 1 },
    { metric: "KeySetAge", unit: "Seconds", value: 0 },
    { metric: "ColdStart", unit: "Count", value: 1 },
    { timestamp: 1_764_000_000_123 },
    "publish",
  ],
  "a fault with its reason, an error class and three Stytch latencies, unstamped": [
    { dimensions: {} },
    { dimensions: { outcome: "fault", path: "remote" } },
    { dimensions: { reason: "upstream_timeout" } },
    { metric: "Decisions", unit: "Count", value: 1 },
    { dimensions: { errorClass: "timeout" } },
    { metric: "StytchErrors", unit: "Count", value: 3 },
    { metric: "StytchLatency", unit: "Milliseconds", value: 1000.5 },
    { metric: "StytchLatency", unit: "Milliseconds", value: 999 },
    { metric: "StytchLatency", unit: "Milliseconds", value: 1001.25 },
    { metric: "JwksRefreshFailures", unit: "Count", value: 2 },
    { metric: "KeySetRotations", unit: "Count", value: 1 },
    "publish",
  ],
  "two records in a row: nothing of the first leaks into the second": [
    { dimensions: {} },
    { dimensions: { outcome: "deny", path: "local" } },
    { dimensions: { reason: "bad_signature" } },
    { metric: "Decisions", unit: "Count", value: 1 },
    { timestamp: 1_764_000_000_000 },
    "publish",
    { dimensions: {} },
    { dimensions: { outcome: "allow", path: "cache" } },
    { metric: "Decisions", unit: "Count", value: 40 },
    "publish",
  ],
  "a publish with nothing stored writes nothing": ["publish"],
};

describe("in production (stdout)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_764_000_500_000, toFake: ["Date"] });
    vi.stubEnv("POWERTOOLS_DEV", undefined);
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", undefined);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  for (const [name, calls] of Object.entries(SCENARIOS)) {
    test(`${name}: the same bytes as Powertools Metrics`, () => {
      const expected = capture(powertools, calls);
      expect(capture(ours, calls)).toEqual(expected);
      if (calls.length > 1) expect(expected.stdout).toMatch(/^\{"_aws":.*\}\n$/s);
    });
  }

  test("a full pipe: what file descriptor 1 does not take goes through process.stdout, in order", () => {
    const calls = SCENARIOS["two records in a row: nothing of the first leaks into the second"]!;
    const expected = capture(powertools, calls);
    expect(capture(ours, calls, (bytes) => Math.min(bytes, 17))).toEqual(expected);
    const eagain = () => {
      throw Object.assign(new Error("EAGAIN: resource temporarily unavailable, write"), { code: "EAGAIN" });
    };
    expect(capture(ours, calls, eagain)).toEqual(expected);
  });

  test("the units are CloudWatch's, as Powertools names them", () => {
    for (const unit of Object.keys(MetricUnit) as Array<keyof typeof MetricUnit>)
      expect(MetricUnit[unit]).toBe(PowertoolsUnit[unit]);
  });
});

describe("in dev mode (the console, where tests and npm start read records)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_764_000_500_000, toFake: ["Date"] });
    vi.stubEnv("POWERTOOLS_DEV", "true");
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  for (const [name, calls] of Object.entries(SCENARIOS)) {
    test(`${name}: the same lines as Powertools Metrics`, () => {
      const expected = capture(powertools, calls);
      expect(capture(ours, calls)).toEqual(expected);
      if (calls.length > 1) expect(expected.console[0]).toMatch(/^\{"_aws":/);
    });
  }
});

describe("metrics on and off", () => {
  afterEach(() => vi.unstubAllEnvs());
  const calls: Call[] = [{ dimensions: {} }, { metric: "Decisions", unit: "Count", value: 1 }, "publish"];

  for (const [dev, disabled] of [
    [undefined, undefined],
    ["true", undefined],
    ["1", undefined],
    ["false", undefined],
    ["true", "false"],
    ["true", "0"],
    [undefined, "true"],
    [undefined, " Yes "],
    [undefined, "off"],
    ["on", "n"],
  ] as const) {
    test(`POWERTOOLS_DEV=${dev ?? "(unset)"}, POWERTOOLS_METRICS_DISABLED=${disabled ?? "(unset)"}: as Powertools decides`, () => {
      vi.stubEnv("POWERTOOLS_DEV", dev);
      vi.stubEnv("POWERTOOLS_METRICS_DISABLED", disabled);
      const written = (create: () => Writer) => {
        const { stdout, console } = capture(create, calls);
        return stdout.length > 0 || console.length > 0;
      };
      const expected = written(powertools);
      expect(written(ours)).toBe(expected);
      expect(new EmfWriter({ namespace: NAMESPACE, serviceName: SERVICE }).disabled).toBe(!expected);
    });
  }

  test("an unreadable POWERTOOLS_METRICS_DISABLED leaves metrics on, where Powertools refuses to start", () => {
    vi.stubEnv("POWERTOOLS_DEV", undefined);
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "maybe");
    expect(powertools).toThrow(/must be a boolean/);
    expect(capture(ours, calls).stdout).toMatch(/^\{"_aws":/);
  });
});
