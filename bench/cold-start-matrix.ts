// The cold-start matrix of `npm run bench` (issue 15): module init + first Allow, in fresh processes, at a
// simulated round trip of 0 and 40 ms to Stytch, for ours (with and without a route table, with and without a
// deploy-time snapshot) and for the reference authorizers (aws-jwt-verify with `hydrate()` at init, the same
// with its keys preloaded through `cacheJwks`, and the Stytch SDK).
//
// The network is simulated by the TLS front (local/tls-front.ts): every request costs one round trip, a new
// connection two more. Each scenario has its own front, so its requests are counted apart.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTlsFront, type TlsFront } from "../local/tls-front";
import { type ColdStartSample, coldStart } from "./cold-start";
import { writeSnapshotFile } from "./snapshot-file";
import { median, round } from "./stats";
import type { MintedToken, TokenMint } from "./tokens";

/** The authorizers whose cold start is measured. */
export type ColdImplementation = "ours" | "awsJwtVerifyHydrated" | "awsJwtVerifyPreloaded" | "stytchSdk";

/** One cell of the matrix. */
export interface ColdScenario {
  readonly id: string;
  readonly implementation: ColdImplementation;
  readonly label: string;
  readonly roundTripMs: number;
  readonly routeTable: boolean;
  readonly snapshot: boolean;
}

/** The round trips simulated. */
export const ROUND_TRIPS_MS = [0, 40] as const;

/** The rows of the table, in print order. */
export const COLD_ROWS: ReadonlyArray<Omit<ColdScenario, "id" | "roundTripMs">> = [
  {
    implementation: "awsJwtVerifyHydrated",
    label: "aws-jwt-verify, hydrate() at init",
    routeTable: false,
    snapshot: false,
  },
  {
    implementation: "awsJwtVerifyPreloaded",
    label: "aws-jwt-verify, keys preloaded (cacheJwks)",
    routeTable: false,
    snapshot: false,
  },
  { implementation: "stytchSdk", label: "Stytch SDK authorizer", routeTable: false, snapshot: false },
  { implementation: "ours", label: "ours", routeTable: false, snapshot: false },
  { implementation: "ours", label: "ours, route table", routeTable: true, snapshot: false },
  { implementation: "ours", label: "ours, snapshot", routeTable: false, snapshot: true },
  { implementation: "ours", label: "ours, snapshot + route table", routeTable: true, snapshot: true },
];

/** The id of a scenario, e.g. `ours+routes+snapshot@40ms`. */
export function scenarioId(row: Omit<ColdScenario, "id" | "roundTripMs" | "label">, roundTripMs: number): string {
  const name =
    row.implementation === "ours"
      ? ["ours", ...(row.routeTable ? ["routes"] : []), ...(row.snapshot ? ["snapshot"] : [])].join("+")
      : row.implementation;
  return `${name}@${roundTripMs}ms`;
}

/**
 * The route table of the route-table scenarios: the demo API's routes (infra/demo/routes.ts), with the
 * bench's `GET /me` needing `documents.read` (every minted member, viewer or admin, holds it), so that the
 * first Allow needs the RBAC policy.
 */
export const BENCH_ROUTE_PERMISSIONS = JSON.stringify({
  "GET /me": { resource_id: "documents", action: "read" },
  "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
  "POST /orgs/{organization_id}/documents": { resource_id: "documents", action: "write" },
  "GET /orgs/{organization_id}/billing": { resource_id: "billing", action: "read" },
});

/** Summary of one scenario's samples; every time in ms, medians. */
export interface ColdSummary {
  readonly label: string;
  readonly roundTripMs: number;
  /** Module init + first Allow, inside the child (from the end of node's own boot to the Allow): the measure. */
  readonly initPlusFirstAllowMedianMs: number;
  readonly initMedianMs: number;
  readonly firstInvokeMedianMs: number;
  readonly nodeBootMedianMs: number;
  readonly spawnToAllowMedianMs: number;
  readonly samples: number;
  readonly initPlusFirstAllowMs: readonly number[];
  /** Requests the scenario's front received over all its processes (the warm-up spawn included), and connections. */
  readonly requests: { jwks: number; rbacPolicy: number; authenticate: number; connections: number };
}

/** The outcome of the matrix. */
export interface ColdMatrix {
  readonly scenarios: Record<string, ColdSummary>;
  /** Whether the authorizer reads STYTCH_SNAPSHOT_FILE; the snapshot scenarios run only when it does. */
  readonly snapshotSupport: boolean;
  /** How the snapshot files were made (`npm run snapshot` once it exists, else the bench itself). */
  readonly snapshotMadeBy?: string;
  readonly processesPerScenario: number;
}

/** What the matrix runs against. */
export interface ColdMatrixSetup {
  readonly tmp: string;
  readonly probePath: string;
  readonly bundles: Record<"ours" | "stytchSdk" | "awsJwtVerify", string>;
  readonly emulator: {
    readonly url: string;
    readonly projectId: string;
    readonly secret: string;
    jwks(): { keys: Array<Record<string, unknown>> };
  };
  readonly tls: { key: Buffer; cert: Buffer };
  readonly mint: TokenMint;
  /** Fresh processes per scenario (after one discarded warm-up spawn each). */
  readonly processes: number;
  /** Progress output. */
  readonly progress?: (text: string) => void;
}

/**
 * Runs the matrix: every scenario once to warm the OS file cache (discarded), then `processes` rounds in
 * which every scenario runs once, in an order rotated each round, so that the machine's slow and fast
 * moments fall on every scenario alike.
 */
export async function measureColdMatrix(setup: ColdMatrixSetup): Promise<ColdMatrix> {
  const { tmp, emulator, mint } = setup;
  const jwksFile = join(tmp, "aws-jwt-verify-jwks.json");
  writeFileSync(jwksFile, JSON.stringify(emulator.jwks()));
  const stytchEnv = (front: TlsFront) => ({
    STYTCH_PROJECT_ID: emulator.projectId,
    STYTCH_SECRET: emulator.secret,
    STYTCH_API_URL: front.url,
  });

  // Does our authorizer read STYTCH_SNAPSHOT_FILE at all? A snapshot that cannot be read must be a fault,
  // never an Allow: an Allow with a missing file means the variable is ignored.
  const probeFront = await startTlsFront("cold-snapshot-probe", emulator.url, setup.tls);
  let snapshotSupport: boolean;
  try {
    const t = mint.mint();
    await coldStart(
      setup.probePath,
      setup.bundles.ours,
      childEnv(tmp, { ...stytchEnv(probeFront), STYTCH_SNAPSHOT_FILE: join(tmp, "no-such-snapshot.json") }, t),
      t.sub,
    );
    snapshotSupport = false;
  } catch {
    snapshotSupport = true;
  }
  await probeFront.close();

  const plan: Array<{ scenario: ColdScenario; front: TlsFront; bundle: string; env: Record<string, string> }> = [];
  let snapshotMadeBy: string | undefined;
  for (const roundTripMs of ROUND_TRIPS_MS) {
    for (const row of COLD_ROWS) {
      if (row.snapshot && !snapshotSupport) continue;
      const scenario: ColdScenario = { ...row, id: scenarioId(row, roundTripMs), roundTripMs };
      const front = await startTlsFront(`cold ${scenario.id}`, emulator.url, setup.tls, { roundTripMs });
      const env: Record<string, string> = stytchEnv(front);
      if (row.routeTable) {
        env.STYTCH_ROUTE_PERMISSIONS = BENCH_ROUTE_PERMISSIONS;
        // As the construct deploys it by default (identity "header-or-cookie": API Gateway caches no answer), so a
        // route table's answer is this request's alone.
        env.STYTCH_RESULTS_CACHE_TTL_SECONDS = "0";
      }
      if (row.snapshot) {
        const file = join(tmp, `snapshot-${plan.length}.json`);
        snapshotMadeBy = await writeSnapshotFile(file, {
          projectId: emulator.projectId,
          secret: emulator.secret,
          emulatorUrl: emulator.url,
          apiUrl: front.url,
        });
        env.STYTCH_SNAPSHOT_FILE = file;
      }
      if (row.implementation === "awsJwtVerifyPreloaded") env.AWS_JWT_VERIFY_JWKS_FILE = jwksFile;
      const bundle =
        row.implementation === "ours"
          ? setup.bundles.ours
          : row.implementation === "stytchSdk"
            ? setup.bundles.stytchSdk
            : setup.bundles.awsJwtVerify;
      plan.push({ scenario, front, bundle, env });
    }
  }

  const samples = plan.map(() => [] as ColdStartSample[]);
  const run = async (index: number) => {
    const { bundle, env } = plan[index]!;
    const t = mint.mint();
    return coldStart(setup.probePath, bundle, childEnv(tmp, env, t), t.sub);
  };
  for (let index = 0; index < plan.length; index++) await run(index); // warm the file cache; discarded
  for (let round = 0; round < setup.processes; round++) {
    for (let k = 0; k < plan.length; k++) {
      const index = (k + round) % plan.length;
      samples[index]!.push(await run(index));
    }
    setup.progress?.(".");
  }
  for (const { front } of plan) await front.close();

  const scenarios: Record<string, ColdSummary> = {};
  plan.forEach(({ scenario, front }, index) => {
    const s = samples[index]!;
    const initPlusFirstAllow = s.map((x) => x.allowMs - x.bootedMs);
    scenarios[scenario.id] = {
      label: scenario.label,
      roundTripMs: scenario.roundTripMs,
      initPlusFirstAllowMedianMs: round(median(initPlusFirstAllow), 1),
      initMedianMs: round(median(s.map((x) => x.loadedMs - x.bootedMs)), 1),
      firstInvokeMedianMs: round(median(s.map((x) => x.allowMs - x.loadedMs)), 1),
      nodeBootMedianMs: round(median(s.map((x) => x.bootedMs)), 1),
      spawnToAllowMedianMs: round(median(s.map((x) => x.spawnToAllowMs)), 1),
      samples: s.length,
      initPlusFirstAllowMs: initPlusFirstAllow.map((v) => round(v, 1)),
      requests: {
        jwks: front.counts.jwks,
        rbacPolicy: front.counts.rbacPolicy,
        authenticate: front.counts.authenticate,
        connections: front.counts.connections,
      },
    };
  });
  return { scenarios, snapshotSupport, snapshotMadeBy, processesPerScenario: setup.processes };
}

/**
 * The whole environment of a cold-start child: only what a Lambda would have, plus trust in the loopback
 * certificate alone (not the caller's extra CA bundle, whose parsing would be charged to the cold start).
 */
export function childEnv(tmp: string, settings: Record<string, string>, token: MintedToken): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_EXTRA_CA_CERTS: join(tmp, "loopback-cert.pem"),
    POWERTOOLS_LOG_LEVEL: "INFO",
    ...settings,
    BENCH_COLD_TOKEN: token.jwt,
  };
}

/** A cold-start target: `subject ≤ limit × reference`, both init + first Allow medians of the same run. */
export interface ColdTarget {
  readonly name: string;
  readonly subject: string;
  readonly reference: string;
  readonly limit: number;
}

/** Issue 15's targets. */
export const COLD_TARGETS: readonly ColdTarget[] = [
  {
    name: "at 40 ms, ours with a snapshot ≤ 0.75× aws-jwt-verify hydrated",
    subject: "ours+snapshot@40ms",
    reference: "awsJwtVerifyHydrated@40ms",
    limit: 0.75,
  },
  {
    name: "at 40 ms, ours with a snapshot and a route table ≤ 0.8× aws-jwt-verify hydrated",
    subject: "ours+routes+snapshot@40ms",
    reference: "awsJwtVerifyHydrated@40ms",
    limit: 0.8,
  },
  {
    name: "at 0 ms, ours with a snapshot ≤ 1.2× aws-jwt-verify preloaded",
    subject: "ours+snapshot@0ms",
    reference: "awsJwtVerifyPreloaded@0ms",
    limit: 1.2,
  },
  {
    name: "at 0 ms, ours without a snapshot ≤ 1.2× aws-jwt-verify hydrated",
    subject: "ours@0ms",
    reference: "awsJwtVerifyHydrated@0ms",
    limit: 1.2,
  },
];

/** A target's verdict: `n/a` when its subject did not run (no snapshot support). */
export interface ColdTargetResult {
  readonly name: string;
  readonly value: string;
  readonly pass: boolean | "n/a";
  readonly ratio?: number;
}

/** Judges the targets on one matrix (ratios of medians from this one run). */
export function judgeColdTargets(matrix: ColdMatrix): ColdTargetResult[] {
  return COLD_TARGETS.map((target) => {
    const subject = matrix.scenarios[target.subject];
    const reference = matrix.scenarios[target.reference]!;
    if (!subject) return { name: target.name, value: "n/a: no snapshot support", pass: "n/a" as const };
    const ratio = subject.initPlusFirstAllowMedianMs / reference.initPlusFirstAllowMedianMs;
    return {
      name: target.name,
      value: `${subject.initPlusFirstAllowMedianMs.toFixed(1)} / ${reference.initPlusFirstAllowMedianMs.toFixed(1)} ms = ${ratio.toFixed(2)}× (limit ${target.limit}×)`,
      pass: ratio <= target.limit,
      ratio: round(ratio, 3),
    };
  });
}

/** The matrix as printed lines: one row per authorizer set-up, one column per round trip. */
export function formatColdMatrix(matrix: ColdMatrix): string[] {
  const lines = [
    `Cold start: module init + first Allow in a fresh node, ms (median of ${matrix.processesPerScenario} processes; simulated network: a request costs one round trip, a new TLS connection two more)`,
    `  ${"".padEnd(44)} ${ROUND_TRIPS_MS.map((rtt) => `${rtt} ms round trip`.padStart(26)).join("")}`,
  ];
  for (const row of COLD_ROWS) {
    const cells = ROUND_TRIPS_MS.map((rtt) => {
      const s = matrix.scenarios[scenarioId(row, rtt)];
      if (!s) return (row.snapshot && !matrix.snapshotSupport ? "n/a: no snapshot support" : "—").padStart(26);
      return `${s.initPlusFirstAllowMedianMs.toFixed(1)} (${s.initMedianMs.toFixed(1)} + ${s.firstInvokeMedianMs.toFixed(1)})`.padStart(
        26,
      );
    });
    lines.push(`  ${row.label.padEnd(44)} ${cells.join("")}`);
  }
  lines.push("  (init + first invoke→Allow in parentheses)");
  lines.push("  Requests each scenario's front received, over all its processes (JWKS / RBAC policy / connections):");
  for (const [id, s] of Object.entries(matrix.scenarios))
    lines.push(
      `    ${id.padEnd(36)} ${s.requests.jwks} / ${s.requests.rbacPolicy} / ${s.requests.connections} in ${s.samples + 1} processes`,
    );
  return lines;
}
