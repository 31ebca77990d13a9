// Taking a project snapshot from the Stytch API (see takeProjectSnapshot): the work of the snapshot command
// (scripts/snapshot.ts), also used by `npm start` for its embedded Stytch.

import { loadStytchConfig } from "../lambda/lib/config";
import { fetchKeySetDocument } from "../lambda/lib/stytch/http";
import { buildProjectSnapshot, type ProjectSnapshot } from "../lambda/lib/stytch/project-snapshot";
import { StytchClient } from "../lambda/lib/stytch/stytch-client";

/** Largest key set accepted, as the authorizer's key-set cache. */
const MAX_JWKS_BYTES = 65_536;

/** A snapshot could not be taken; the message never holds the secret. */
export class SnapshotFailedError extends Error {
  override readonly name = "SnapshotFailedError";
}

/**
 * Fetches the project's key set and RBAC project policy with the authorizer's own client code, and builds a
 * snapshot that passes the authorizer's own checks. Reads STYTCH_PROJECT_ID, STYTCH_SECRET and STYTCH_API_URL
 * (and the timeouts) by the authorizer's rules.
 * @param now when the snapshot is taken
 * @throws SnapshotFailedError naming what failed (a setting, Stytch's answer, or the snapshot's own check)
 */
export async function takeProjectSnapshot(
  env: Readonly<Record<string, string | undefined>>,
  now: () => Date = () => new Date(),
): Promise<ProjectSnapshot> {
  let config: ReturnType<typeof loadStytchConfig>;
  try {
    config = loadStytchConfig(env);
  } catch (error) {
    throw new SnapshotFailedError((error as Error).message);
  }
  const secret = config.secret;
  if (secret?.kind !== "value") throw new SnapshotFailedError("set STYTCH_SECRET to the project secret");
  const stytch = new StytchClient({
    apiUrl: config.apiUrl,
    projectId: config.projectId,
    secret: async () => secret.value,
    timeoutMs: config.apiTimeoutMs,
  });
  const takenAt = now();
  const [jwks, rbacPolicy] = await Promise.all([
    fetchKeySetDocument(config.jwksUrl, config.jwksTimeoutMs, MAX_JWKS_BYTES).catch((error: unknown) => {
      throw new SnapshotFailedError(`the key set could not be fetched: ${(error as Error).message}`);
    }),
    stytch.projectPolicy(Date.now() + config.apiTimeoutMs).catch((error: unknown) => {
      throw new SnapshotFailedError(`the RBAC policy could not be fetched: ${(error as Error).message}`);
    }),
  ]);
  try {
    return buildProjectSnapshot({ projectId: config.projectId, apiUrl: config.apiUrl, takenAt, jwks, rbacPolicy });
  } catch (error) {
    throw new SnapshotFailedError(`Stytch's answers do not make a usable snapshot: it ${(error as Error).message}`);
  }
}
