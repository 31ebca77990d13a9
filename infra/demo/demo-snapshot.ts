/**
 * The demo project's snapshot (infra/demo/snapshot.json, written by `npx tsx scripts/demo-snapshot.ts`): what the
 * demo stack's route table is checked against, and what its authorizer starts from when the stack is synthesized
 * for the placeholder project.
 *
 * @module
 */
import * as path from "node:path";
import { REPO_ROOT } from "../lambda-defaults";

/** The placeholder project ID of `cdk synth` without a Stytch project, and of the demo snapshot. */
export const DEMO_PROJECT_ID = "project-test-00000000-0000-0000-0000-000000000000";

/** The checked-in demo snapshot. */
export const DEMO_SNAPSHOT_FILE: string = path.join(REPO_ROOT, "infra", "demo", "snapshot.json");
