// CloudWatch Embedded Metric Format records, written the way Powertools Metrics writes them (see EmfWriter).

import fs from "node:fs";

/** The CloudWatch units the handlers use. */
export const MetricUnit = {
  Count: "Count",
  Milliseconds: "Milliseconds",
  Seconds: "Seconds",
} as const;

/** A CloudWatch unit the handlers use. */
export type MetricUnit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** Options of {@link EmfWriter}. */
export interface EmfWriterOptions {
  readonly namespace: string;
  /** Value of the default `service` dimension, part of every dimension set. */
  readonly serviceName: string;
  /** Where `POWERTOOLS_METRICS_DISABLED` and `POWERTOOLS_DEV` are read (Powertools reads the process's). Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

interface StoredMetric {
  readonly name: string;
  readonly unit: MetricUnit;
  value: number | number[];
}

const TRUTHY = new Set(["1", "y", "yes", "t", "true", "on"]);
const FALSY = new Set(["0", "n", "no", "f", "false", "off"]);

function noop(): void {}

/** As node's Console does for Powertools: a failed write to stdout is never an exception. */
function writeToStdoutStream(bytes: Uint8Array): void {
  const stdout = process.stdout;
  stdout.once("error", noop);
  try {
    stdout.write(bytes, noop);
  } finally {
    stdout.removeListener("error", noop);
  }
}

/**
 * Writes EMF records byte for byte as Powertools Metrics 2 does, for the part of its API the handlers use
 * (dimension sets under a default `service` dimension, standard-resolution metrics, an optional timestamp), so
 * that what infra/stytch-monitoring.ts alarms on is unchanged. It replaces Powertools Metrics because loading and
 * constructing that (with Powertools' commons, and a `Console` that opens stdout and stderr) measured as a
 * visible part of a cold start, on the way to an Allow that writes one small record.
 *
 * Like Powertools: one JSON line per record on stdout (through the global `console` in dev mode, `POWERTOOLS_DEV`,
 * where tests capture it), write errors ignored; metrics are off when `POWERTOOLS_METRICS_DISABLED` is true, or
 * when it is unset and dev mode is on. Unlike Powertools: the line goes to file descriptor 1 with one synchronous
 * write (what a full pipe does not take goes through `process.stdout`), because creating `process.stdout` measured
 * at about a millisecond of a cold start's first Allow; and an unreadable `POWERTOOLS_METRICS_DISABLED` leaves
 * metrics on (Powertools throws at construction): metrics are not a trust decision. CloudWatch takes up to 100
 * values of a metric in one record; Powertools would split the record at the 100th, this writer does not.
 */
export class EmfWriter {
  /** Whether records are dropped instead of written. */
  readonly disabled: boolean;
  private readonly namespace: string;
  private readonly defaultDimensions: Readonly<Record<string, string>>;
  private readonly viaConsole: boolean;
  private dimensionSets: Array<Readonly<Record<string, string>>> = [];
  private metrics = new Map<string, StoredMetric>();
  private timestamp: number | undefined;

  constructor(options: EmfWriterOptions) {
    const env = options.env ?? process.env;
    this.namespace = options.namespace;
    this.defaultDimensions = Object.freeze({ service: options.serviceName });
    const devMode = TRUTHY.has(env.POWERTOOLS_DEV?.trim().toLowerCase() ?? "");
    const disabled = env.POWERTOOLS_METRICS_DISABLED?.trim().toLowerCase();
    this.disabled =
      disabled !== undefined && (TRUTHY.has(disabled) || FALSY.has(disabled)) ? TRUTHY.has(disabled) : devMode;
    this.viaConsole = devMode;
  }

  /** Adds a dimension set to the next record (the default `service` dimension joins it). */
  addDimensions(dimensions: Readonly<Record<string, string>>): void {
    this.dimensionSets.push(dimensions);
  }

  /** Adds a value to the next record; a second value of the same metric makes its value a list. */
  addMetric(name: string, unit: MetricUnit, value: number): void {
    const stored = this.metrics.get(name);
    if (stored === undefined) this.metrics.set(name, { name, unit, value });
    else if (Array.isArray(stored.value)) stored.value.push(value);
    else stored.value = [stored.value, value];
  }

  /** The next record's timestamp (epoch ms); the time of writing when not set. */
  setTimestamp(epochMs: number): void {
    this.timestamp = Number.isInteger(epochMs) ? epochMs : 0;
  }

  /** Writes the record built since the last one, if it holds a metric, and starts a new one. */
  publishStoredMetrics(): void {
    try {
      if (!this.disabled && this.metrics.size > 0) this.write(JSON.stringify(this.serialize()));
    } finally {
      this.metrics = new Map();
      this.dimensionSets = [];
      this.timestamp = undefined;
    }
  }

  /** The record, with Powertools' key order: `_aws`, the default dimension, the dimension sets' values, the metrics. */
  private serialize(): Record<string, unknown> {
    const defaultKeys = Object.keys(this.defaultDimensions);
    const dimensionNames = this.dimensionSets.map((set) => [...new Set([...defaultKeys, ...Object.keys(set)])]);
    if (dimensionNames.length === 0) dimensionNames.push(defaultKeys);
    const metrics = [...this.metrics.values()];
    const record: Record<string, unknown> = {
      _aws: {
        Timestamp: this.timestamp ?? Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.namespace,
            Dimensions: dimensionNames,
            Metrics: metrics.map(({ name, unit }) => ({ Name: name, Unit: unit })),
          },
        ],
      },
      ...this.defaultDimensions,
    };
    for (const set of this.dimensionSets) Object.assign(record, set);
    for (const { name, value } of metrics) record[name] = value;
    return record;
  }

  private write(line: string): void {
    if (this.viaConsole) {
      console.log(line);
      return;
    }
    const bytes = Buffer.from(`${line}\n`);
    let written = 0;
    try {
      // Synchronous, as process.stdout is on Linux for pipes and files, so lines keep their order.
      written = fs.writeSync(1, bytes);
    } catch {
      // e.g. EAGAIN on a full non-blocking pipe: the stream takes what is left, and buffers it
    }
    if (written < bytes.length) writeToStdoutStream(bytes.subarray(written));
  }
}
