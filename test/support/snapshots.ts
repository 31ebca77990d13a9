// Project snapshots for tests: taken from the emulator by the snapshot command's own code, written to a file.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { formatProjectSnapshot, type ProjectSnapshot } from "../../lambda/lib/stytch/project-snapshot";
import type { StytchEmulator } from "../../local/stytch-emulator";
import { takeProjectSnapshot } from "../../scripts/take-snapshot";

/** The emulator's coordinates, as the snapshot command reads them. */
export function emulatorEnvironment(stytch: StytchEmulator): Record<string, string> {
  return { STYTCH_PROJECT_ID: stytch.projectId, STYTCH_SECRET: stytch.secret, STYTCH_API_URL: stytch.url };
}

/** A snapshot of the emulator's project as it is now. */
export function takeSnapshot(stytch: StytchEmulator, takenAt?: Date): Promise<ProjectSnapshot> {
  return takeProjectSnapshot(emulatorEnvironment(stytch), takenAt ? () => takenAt : undefined);
}

/** Writes a snapshot document (or any text) to a new temporary file and returns its path. */
export function writeSnapshotFile(snapshot: ProjectSnapshot | Record<string, unknown> | string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "stytch-snapshot-test-")), "stytch-snapshot.json");
  writeFileSync(file, typeof snapshot === "string" ? snapshot : formatProjectSnapshot(snapshot as ProjectSnapshot));
  return file;
}

/** Takes a snapshot of the emulator's project and writes it to a file; returns the file's path. */
export async function snapshotFile(stytch: StytchEmulator, takenAt?: Date): Promise<string> {
  return writeSnapshotFile(await takeSnapshot(stytch, takenAt));
}
