// The deploy-time snapshot the "with snapshot" cold starts read from STYTCH_SNAPSHOT_FILE (issue 15): the
// project's key set and RBAC project policy, taken from the emulator as `npm run snapshot` takes them from Stytch.

import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

/** The agreed `format` of a snapshot file. */
export const SNAPSHOT_FORMAT = "stytch-b2b-apigw-authorizer/snapshot@1";

/** A snapshot file's content, in the agreed format. */
export interface SnapshotDocument {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly project_id: string;
  readonly api_url: string;
  readonly taken_at: string;
  readonly jwks: { readonly keys: ReadonlyArray<Record<string, unknown>> };
  readonly rbac_policy: Record<string, unknown>;
}

/** The project a snapshot is taken of, as the authorizer's environment names it. */
export interface SnapshotSource {
  readonly projectId: string;
  readonly secret: string;
  /** The emulator itself (plain HTTP on loopback): where the bench reads the key set and the policy. */
  readonly emulatorUrl: string;
  /** The `STYTCH_API_URL` the authorizer under test is given (a TLS front), recorded as the snapshot's `api_url`. */
  readonly apiUrl: string;
}

const REPO = join(__dirname, "..");

/**
 * Writes a snapshot of the emulator's project to `file`. When the repository has the snapshot command
 * (`npm run snapshot -- --out <file>`), that command takes it, exactly as a user's CI would, through the
 * front the authorizer will be given; until then the bench takes it itself, in the agreed format.
 * @returns how the file was made, for the report
 */
export async function writeSnapshotFile(file: string, source: SnapshotSource): Promise<"npm run snapshot" | "bench"> {
  const scripts = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts?: Record<string, string> })
    .scripts;
  if (scripts?.snapshot) {
    // Asynchronously: the TLS front the command talks to answers from this very process.
    await promisify(execFile)("npm", ["run", "--silent", "snapshot", "--", "--out", file], {
      cwd: REPO,
      env: {
        ...process.env,
        STYTCH_PROJECT_ID: source.projectId,
        STYTCH_SECRET: source.secret,
        STYTCH_API_URL: source.apiUrl,
      },
    });
    const written = JSON.parse(readFileSync(file, "utf8")) as { format?: unknown };
    if (written.format !== SNAPSHOT_FORMAT)
      throw new Error(`npm run snapshot wrote format ${String(written.format)}, not ${SNAPSHOT_FORMAT}`);
    return "npm run snapshot";
  }
  const document: SnapshotDocument = {
    format: SNAPSHOT_FORMAT,
    project_id: source.projectId,
    api_url: source.apiUrl,
    taken_at: new Date().toISOString(),
    jwks: (await getJson(source, `/v1/b2b/sessions/jwks/${source.projectId}`)) as SnapshotDocument["jwks"],
    rbac_policy: ((await getJson(source, "/v1/b2b/rbac/policy")) as { policy: Record<string, unknown> }).policy,
  };
  if (!Array.isArray(document.jwks.keys) || document.jwks.keys.length === 0 || !document.rbac_policy)
    throw new Error("the emulator's key set or RBAC policy is empty");
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  return "bench";
}

async function getJson(source: SnapshotSource, path: string): Promise<unknown> {
  const response = await fetch(new URL(path, source.emulatorUrl), {
    headers: { authorization: `Basic ${Buffer.from(`${source.projectId}:${source.secret}`).toString("base64")}` },
  });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
  return response.json();
}
