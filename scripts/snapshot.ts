// The snapshot command: `npm run snapshot -- --out <file>` here, `npx stytch-b2b-apigw-authorizer snapshot --out
// <file>` in an app that installed the package (scripts/build-package.ts bundles this file as the package's bin).
// Writes the project snapshot the authorizer reads from STYTCH_SNAPSHOT_FILE; run it before `cdk deploy`.

import { renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { formatProjectSnapshot } from "../lambda/lib/stytch/project-snapshot";
import { SnapshotFailedError, takeProjectSnapshot } from "./take-snapshot";

const USAGE = `Usage: stytch-b2b-apigw-authorizer snapshot --out <file>

Writes a snapshot of a Stytch B2B project (its key set and RBAC project policy, public data only) for the
authorizer to answer from when it starts (StytchAuthorizer's snapshot prop, or STYTCH_SNAPSHOT_FILE).

Environment: STYTCH_PROJECT_ID, STYTCH_SECRET (the project secret, only to read the RBAC policy; never
written or printed), STYTCH_API_URL (optional: your custom domain; default the test or live Stytch API).`;

async function main(args: readonly string[]): Promise<number> {
  const rest = args[0] === "snapshot" ? args.slice(1) : [...args];
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let out: string | undefined;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i]!;
    if (arg === "--out" && i + 1 < rest.length) out = rest[++i];
    else if (arg.startsWith("--out=")) out = arg.slice("--out=".length);
    else {
      console.error(`unexpected argument ${JSON.stringify(arg)}\n\n${USAGE}`);
      return 2;
    }
  }
  if (!out) {
    console.error(USAGE);
    return 2;
  }
  try {
    const snapshot = await takeProjectSnapshot(process.env);
    const text = formatProjectSnapshot(snapshot);
    const file = path.resolve(out);
    // Written aside, then moved into place: an interrupted run never leaves half a snapshot behind.
    const partial = `${file}.${process.pid}.partial`;
    try {
      writeFileSync(partial, text);
      renameSync(partial, file);
    } finally {
      rmSync(partial, { force: true });
    }
    console.log(
      `wrote ${out}: project ${snapshot.project_id}, ${snapshot.jwks.keys.length} key(s), ${snapshot.rbac_policy.roles.length} role(s), taken at ${snapshot.taken_at}`,
    );
    return 0;
  } catch (error) {
    // Our messages name what failed, never the secret; anything else is the file system's.
    const message = error instanceof SnapshotFailedError ? error.message : `${(error as Error)?.message ?? error}`;
    console.error(`no snapshot written: ${message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
