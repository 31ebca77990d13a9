/**
 * {@link StytchSnapshot}: a project snapshot for {@link StytchAuthorizerProps.snapshot}, so that a cold authorizer
 * answers without waiting for Stytch.
 *
 * @module
 */
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  InvalidSnapshotError,
  type ProjectSnapshot,
  parseProjectSnapshot,
} from "../lambda/lib/stytch/project-snapshot";

/** Where the snapshot's layer puts the file: Lambda mounts layers under /opt. */
export const SNAPSHOT_LAYER_FILE = "/opt/stytch-snapshot.json";

/**
 * A project snapshot: the project's key set and RBAC project policy, taken before deploy with
 * `npx stytch-b2b-apigw-authorizer snapshot --out stytch-snapshot.json` (public data only; check it in, or have CI
 * write it before `cdk deploy`). The authorizer construct ships it with the function, in a layer of its own.
 */
export class StytchSnapshot {
  /**
   * A snapshot file, read and checked (with the authorizer's own reader) when the app synthesizes.
   * @param file path of the file, absolute or relative to the working directory
   * @throws Error when the file cannot be read or is not a snapshot the authorizer would accept
   */
  static fromFile(file: string): StytchSnapshot {
    const resolved = path.resolve(file);
    let text: string;
    try {
      text = readFileSync(resolved, "utf8");
    } catch (error) {
      throw new Error(
        `snapshot ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}): take one with npx stytch-b2b-apigw-authorizer snapshot --out ${file}`,
      );
    }
    try {
      return new StytchSnapshot(resolved, parseProjectSnapshot(text));
    } catch (error) {
      if (error instanceof InvalidSnapshotError) throw new Error(`snapshot ${file} ${error.message}`);
      throw error;
    }
  }

  private staged?: string;

  private constructor(
    /** The absolute path of the file. */
    readonly file: string,
    /** The snapshot, as read and checked. */
    readonly snapshot: ProjectSnapshot,
  ) {}

  /**
   * A folder holding only the file, named as the layer ships it (its asset is hashed by content, so the folder
   * only has to live until synth).
   */
  stageLayerFolder(): string {
    if (this.staged === undefined) {
      this.staged = mkdtempSync(path.join(tmpdir(), "stytch-snapshot-"));
      copyFileSync(this.file, path.join(this.staged, path.basename(SNAPSHOT_LAYER_FILE)));
    }
    return this.staged;
  }
}
