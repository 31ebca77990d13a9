// Writes infra/demo/snapshot.json, the demo stack's project snapshot: `npx tsx scripts/demo-snapshot.ts`.
// Taken by the snapshot command's own code from the embedded Stytch emulator, run as the demo project (the
// placeholder project ID of infra/demo/app.ts, and the demo RBAC policy of `npm start` and the tests). Its key is
// the emulator's, whose private half is gone when this script ends: the file proves nothing to anyone, and the
// route table is checked against its policy. test/demo-snapshot.test.ts keeps it in step with the demo policy.

import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { DEMO_PROJECT_ID, DEMO_SNAPSHOT_FILE } from "../infra/demo/demo-snapshot";
import { formatProjectSnapshot } from "../lambda/lib/stytch/project-snapshot";
import { startStytchEmulator } from "../local/stytch-emulator";
import { takeProjectSnapshot } from "./take-snapshot";

async function main(): Promise<void> {
  const stytch = await startStytchEmulator({ projectId: DEMO_PROJECT_ID });
  try {
    const snapshot = await takeProjectSnapshot({
      STYTCH_PROJECT_ID: stytch.projectId,
      STYTCH_SECRET: stytch.secret,
      STYTCH_API_URL: stytch.url,
    });
    // The emulator's address is a port of this run: the file names the Stytch API the demo project would use.
    const demo = { ...snapshot, api_url: "https://test.stytch.com" };
    writeFileSync(DEMO_SNAPSHOT_FILE, formatProjectSnapshot(demo));
    console.log(`wrote ${path.relative(process.cwd(), DEMO_SNAPSHOT_FILE)}, taken at ${snapshot.taken_at}`);
  } finally {
    await stytch.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
