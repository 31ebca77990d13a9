// The project snapshot: the one definition of its format (see ProjectSnapshot). Plain code without dependencies:
// the authorizer (at init), the CDK constructs (at synth) and the snapshot command all read and check a snapshot
// with it.

import type { RbacPermission, RbacRole } from "../permissions/permission-check";
import { usableJwks } from "../session/usable-jwks";
import { apiUrlProblem, projectIdProblem } from "../settings";

/** The value of a snapshot's `format`: the name and version of this format. */
export const SNAPSHOT_FORMAT = "stytch-b2b-apigw-authorizer/snapshot@1";

/** The JWK members a snapshot keeps: the public ones. Anything else a key set carries is left out. */
const PUBLIC_JWK_MEMBERS = ["kty", "kid", "use", "alg", "key_ops", "n", "e"] as const;

/** How far ahead of our clock a snapshot's `taken_at` may be (the clock of the machine that took it). */
const CLOCK_SKEW_MS = 5 * 60_000;

const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** A resource of a Stytch RBAC policy: what the route table's synth-time check reads. */
export interface RbacResource {
  readonly resource_id: string;
  readonly description?: string;
  readonly actions: readonly string[];
}

/** A scope of a Stytch RBAC policy (kept as Stytch gave it; the authorizer does not read scopes). */
export interface RbacScope {
  readonly scope: string;
  readonly description?: string;
  readonly permissions: readonly RbacPermission[];
}

/** Stytch's project RBAC policy: the `policy` object of `GET /v1/b2b/rbac/policy`. */
export interface RbacPolicyDocument {
  readonly roles: readonly RbacRole[];
  readonly resources: readonly RbacResource[];
  readonly scopes: readonly RbacScope[];
}

/**
 * A project snapshot: what a cold authorizer needs to answer without the network, taken before deploy
 * (`npx stytch-b2b-apigw-authorizer snapshot --out <file>`): the project's key set and its RBAC project policy,
 * and when they were taken. Public keys and role definitions only, nothing secret: it may be checked in.
 */
export interface ProjectSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly project_id: string;
  /** The Stytch API base URL it was taken from. */
  readonly api_url: string;
  /** When it was taken (RFC 3339). */
  readonly taken_at: string;
  /** The project's key set (JWKS), public members only. */
  readonly jwks: { readonly keys: ReadonlyArray<Readonly<Record<string, unknown>>> };
  readonly rbac_policy: RbacPolicyDocument;
}

/** A snapshot that cannot be used. Its message is a phrase that follows the snapshot's name ("… is not JSON"). */
export class InvalidSnapshotError extends Error {
  override readonly name = "InvalidSnapshotError";
}

/**
 * Reads a snapshot from its JSON text and checks everything about it that does not depend on who reads it or
 * when: the format, the project ID and API URL, `taken_at`, a key set holding at least one usable key (by the
 * key-set cache's own filters), and a well-formed RBAC policy.
 * @throws InvalidSnapshotError
 */
export function parseProjectSnapshot(text: string): ProjectSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidSnapshotError("is not JSON");
  }
  return checkProjectSnapshot(value);
}

/**
 * Checks a snapshot document (see {@link parseProjectSnapshot}) and returns it frozen, with only the public
 * members of its keys.
 * @throws InvalidSnapshotError
 */
export function checkProjectSnapshot(value: unknown): ProjectSnapshot {
  if (!isObject(value)) throw new InvalidSnapshotError("is not a snapshot (not a JSON object)");
  if (value.format !== SNAPSHOT_FORMAT) {
    throw new InvalidSnapshotError(`is not a snapshot of this format (format must be "${SNAPSHOT_FORMAT}")`);
  }
  const projectId = value.project_id;
  if (typeof projectId !== "string" || projectIdProblem(projectId) !== undefined)
    throw new InvalidSnapshotError("has no valid project_id");
  const apiUrl = value.api_url;
  if (typeof apiUrl !== "string" || apiUrlProblem(apiUrl) !== undefined)
    throw new InvalidSnapshotError("has no valid api_url");
  const takenAt = value.taken_at;
  if (typeof takenAt !== "string" || !RFC_3339.test(takenAt) || !Number.isFinite(Date.parse(takenAt)))
    throw new InvalidSnapshotError("has no valid taken_at (an RFC 3339 date-time)");
  let usable: number;
  try {
    usable = usableJwks(value.jwks).length;
  } catch {
    throw new InvalidSnapshotError("has no key set (jwks.keys)");
  }
  if (usable === 0) throw new InvalidSnapshotError("holds no usable key (RSA of 2048 bits or more, for RS256)");
  const keys = (value.jwks as { keys: unknown[] }).keys;
  return deepFreeze({
    format: SNAPSHOT_FORMAT,
    project_id: projectId,
    api_url: apiUrl,
    taken_at: takenAt,
    jwks: { keys: keys.filter(isObject).map(publicJwk) },
    rbac_policy: checkRbacPolicy(value.rbac_policy),
  });
}

/**
 * Checks the `policy` object of `GET /v1/b2b/rbac/policy`: roles with permissions, resources with actions,
 * and scopes (an absent list is empty). Returns a copy without unknown members.
 * @throws InvalidSnapshotError
 */
export function checkRbacPolicy(value: unknown): RbacPolicyDocument {
  if (!isObject(value)) throw new InvalidSnapshotError("has no RBAC policy (rbac_policy)");
  const { roles, resources } = value;
  const scopes = value.scopes ?? [];
  if (!Array.isArray(roles) || !roles.every(isRole)) throw new InvalidSnapshotError("has malformed RBAC roles");
  if (!Array.isArray(resources) || !resources.every(isResource))
    throw new InvalidSnapshotError("has malformed RBAC resources");
  if (!Array.isArray(scopes) || !scopes.every(isScope)) throw new InvalidSnapshotError("has malformed RBAC scopes");
  return {
    roles: roles.map((role) => ({
      role_id: role.role_id,
      ...described(role),
      permissions: role.permissions.map(permission),
    })),
    resources: resources.map((resource) => ({
      resource_id: resource.resource_id,
      ...described(resource),
      actions: [...resource.actions],
    })),
    scopes: scopes.map((scope) => ({
      scope: scope.scope,
      ...described(scope),
      permissions: scope.permissions.map(permission),
    })),
  };
}

/** When the snapshot was taken, in epoch ms. */
export function snapshotTakenAtMs(snapshot: ProjectSnapshot): number {
  return Date.parse(snapshot.taken_at);
}

/** The moment the snapshot stops being trusted, in epoch ms. */
export function snapshotExpiresAtMs(snapshot: ProjectSnapshot, maxAgeSeconds: number): number {
  return snapshotTakenAtMs(snapshot) + maxAgeSeconds * 1000;
}

/** Why a snapshot may not serve this project, or `undefined`. The phrase follows the snapshot's name. */
export function snapshotProjectProblem(snapshot: ProjectSnapshot, projectId: string): string | undefined {
  return snapshot.project_id === projectId
    ? undefined
    : `was taken of project ${snapshot.project_id}, not of ${projectId}`;
}

/**
 * Why a snapshot is too old (or claims to be from the future) at `nowMs`, or `undefined`. The phrase follows the
 * snapshot's name.
 */
export function snapshotAgeProblem(
  snapshot: ProjectSnapshot,
  maxAgeSeconds: number,
  nowMs: number,
): string | undefined {
  const takenAt = snapshotTakenAtMs(snapshot);
  if (takenAt > nowMs + CLOCK_SKEW_MS) return `was taken in the future (${snapshot.taken_at})`;
  if (nowMs >= snapshotExpiresAtMs(snapshot, maxAgeSeconds)) {
    return `was taken at ${snapshot.taken_at}, more than ${maxAgeSeconds} seconds ago (its maximum age): take a new one`;
  }
  return undefined;
}

/**
 * Builds a snapshot from what Stytch served, and checks it as any reader will: a snapshot the authorizer would
 * refuse is never produced.
 * @throws InvalidSnapshotError
 */
export function buildProjectSnapshot(parts: {
  readonly projectId: string;
  readonly apiUrl: string;
  readonly takenAt: Date;
  readonly jwks: unknown;
  readonly rbacPolicy: unknown;
}): ProjectSnapshot {
  return checkProjectSnapshot({
    format: SNAPSHOT_FORMAT,
    project_id: parts.projectId,
    api_url: parts.apiUrl,
    taken_at: parts.takenAt.toISOString(),
    jwks: parts.jwks,
    rbac_policy: parts.rbacPolicy,
  });
}

/** The file text of a snapshot: stable key order, two-space indentation, a final newline (diff-friendly). */
export function formatProjectSnapshot(snapshot: ProjectSnapshot): string {
  return `${JSON.stringify(snapshot, null, 2)}\n`;
}

/** Whether a JSON document says it is a snapshot (it may still be an invalid one). */
export function claimsToBeSnapshot(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof value.format === "string" &&
    value.format.startsWith("stytch-b2b-apigw-authorizer/snapshot")
  );
}

function publicJwk(jwk: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const member of PUBLIC_JWK_MEMBERS) if (jwk[member] !== undefined) kept[member] = jwk[member];
  return kept;
}

function described(value: { description?: unknown }): { description?: string } {
  return typeof value.description === "string" ? { description: value.description } : {};
}

function permission(value: RbacPermission): RbacPermission {
  return { resource_id: value.resource_id, actions: [...value.actions] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function isPermission(value: unknown): value is RbacPermission {
  return isObject(value) && typeof value.resource_id === "string" && isStringList(value.actions);
}

function isRole(value: unknown): value is RbacRole & { description?: unknown } {
  return (
    isObject(value) &&
    typeof value.role_id === "string" &&
    Array.isArray(value.permissions) &&
    value.permissions.every(isPermission)
  );
}

function isResource(value: unknown): value is RbacResource {
  return isObject(value) && typeof value.resource_id === "string" && isStringList(value.actions);
}

function isScope(value: unknown): value is RbacScope {
  return (
    isObject(value) &&
    typeof value.scope === "string" &&
    Array.isArray(value.permissions) &&
    value.permissions.every(isPermission)
  );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
