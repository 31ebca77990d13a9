// The emulated Stytch project: its ID, secret and issuer, the IDs it mints, and the check of the project
// credentials (HTTP Basic) that every authenticated endpoint shares.

import { randomBytes, randomUUID } from "node:crypto";
import { unauthorizedCredentials } from "./stytch-api-error";

/** The identity of the emulated project, derived once from the emulator's options. */
export class Project {
  readonly projectId: string;
  readonly secret: string;
  /** `iss` of every JWT the project mints. */
  readonly issuer: string;
  /** "test" or "live", mirrored into every minted ID like Stytch does. */
  readonly env: "test" | "live";
  readonly #expectedAuthorization: string;

  /**
   * @param options.projectId default `project-test-<uuid>`; a `project-live-` prefix makes all minted IDs `-live-`.
   * @param options.secret default `secret-<env>-<36 base64url chars>`.
   * @param options.issuer default `stytch.com/${projectId}` (no scheme, like Stytch).
   */
  constructor(options: { projectId?: string; secret?: string; issuer?: string }) {
    this.projectId = options.projectId ?? `project-test-${randomUUID()}`;
    this.env = this.projectId.startsWith("project-live-") ? "live" : "test";
    this.secret = options.secret ?? `secret-${this.env}-${randomBytes(27).toString("base64url")}`;
    this.issuer = options.issuer ?? `stytch.com/${this.projectId}`;
    this.#expectedAuthorization = `Basic ${Buffer.from(`${this.projectId}:${this.secret}`).toString("base64")}`;
  }

  /** A new Stytch-style ID, `<prefix>-<env>-<uuid>` (e.g. `member-test-…`, `request-id-test-…`, `jwk-test-…`). */
  newId(prefix: string): string {
    return `${prefix}-${this.env}-${randomUUID()}`;
  }

  /** Throws 401 `unauthorized_credentials` unless `authorization` is HTTP Basic with this project's ID and secret. */
  requireCredentials(authorization: string | undefined): void {
    // UNVERIFIED: 401 unauthorized_credentials for a missing header, a wrong project_id and a wrong secret alike.
    if (authorization !== this.#expectedAuthorization) throw unauthorizedCredentials();
  }
}
