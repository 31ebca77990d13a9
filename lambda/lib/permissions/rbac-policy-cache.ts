// Stytch's RBAC policies, cached in the warm container (see RbacPolicyCache).

import { type AuthorizerError, RbacPolicyUnavailableError } from "../errors";
import type { RbacRole, RbacScope } from "./permission-check";

/** The roles that decide for one organization: the project RBAC policy's, then the organization's custom roles. */
export interface VersionedRbacRoles {
  readonly roles: readonly RbacRole[];
  /** Changes whenever the content changes; equal versions of the same organization mean equal roles. */
  readonly version: string;
  /**
   * `true`: the project policy's roles alone, the organization's custom roles not known yet
   * ({@link RbacPolicyCache.projectRolesNow}). What they grant is granted (custom roles only add), what they
   * refuse is not decided.
   */
  readonly projectOnly?: true;
}

/** The project RBAC policy's scopes, which decide for Connected Apps (organization policies have none). */
export interface VersionedRbacScopes {
  readonly scopes: readonly RbacScope[];
  /** Changes whenever the project policy changes. */
  readonly version: string;
}

/** Where RBAC policies come from (the Stytch client, in production). */
export interface RbacPolicySource {
  /** `GET /v1/b2b/rbac/policy`: the project policy's roles and scopes. */
  projectPolicy(
    deadline: number,
  ): Promise<{ readonly roles: readonly RbacRole[]; readonly scopes: readonly RbacScope[] }>;
  /** `GET /v1/b2b/rbac/organizations/{organization_id}`: the custom roles; empty when the feature is off. */
  organizationRoles(organizationId: string, deadline: number): Promise<readonly RbacRole[]>;
}

/** Options of {@link RbacPolicyCache}. */
export interface RbacPolicyCacheOptions {
  readonly source: RbacPolicySource;
  /** Age after which a copy is refetched before use. Default 5 minutes, as Stytch's SDK. */
  readonly maxAgeMs?: number;
  /** How long a copy may keep answering while refetches fail. Default 24 hours. */
  readonly maxStaleMs?: number;
  /** Pause between failed refetches while a stale copy answers. Default 30 seconds. */
  readonly retryAfterErrorMs?: number;
  /** Organizations remembered at once (oldest forgotten first). Default 1,024. */
  readonly maxOrganizations?: number;
}

/**
 * The project's RBAC policy and each organization's custom roles, cached in the warm container.
 *
 * - Single flight: a cold burst of requests shares one fetch per policy.
 * - Bounded age: a copy older than 5 minutes (the official SDK's PolicyCache.CacheTTL) is refetched before
 *   it is used, so a role change reaches every container within 5 minutes.
 * - Stale if error: when a refetch fails, the last good copy keeps answering (for at most 24 hours), and the
 *   next refetch waits 30 seconds, so an outage does not add a timeout to every request.
 * - No copy at all and no answer: a fault (503). Never an Allow, never a 401.
 * - A project snapshot's policy ({@link RbacPolicyCache.seedProjectPolicy}) answers at once while the first fetch
 *   (started at init, {@link RbacPolicyCache.prefetchProjectRoles}) is on its way, and while fetches fail, for as
 *   long as the snapshot is within its maximum age; the first fetched copy replaces it.
 */
export class RbacPolicyCache {
  /** Fetches started, for tests and metrics. */
  fetches = 0;
  private readonly project: RbacPolicySlot<ProjectPolicy>;
  private readonly organizations = new Map<string, RbacPolicySlot<readonly RbacRole[]>>();
  private readonly maxOrganizations: number;
  private readonly timing: SlotTiming;

  constructor(private readonly options: RbacPolicyCacheOptions) {
    this.timing = {
      maxAgeMs: options.maxAgeMs ?? 300_000,
      maxStaleMs: options.maxStaleMs ?? 86_400_000,
      retryAfterErrorMs: options.retryAfterErrorMs ?? 30_000,
    };
    this.maxOrganizations = options.maxOrganizations ?? 1_024;
    this.project = new RbacPolicySlot<ProjectPolicy>("project policy", this.timing, (deadline) => {
      this.fetches += 1;
      return options.source.projectPolicy(deadline);
    });
  }

  /**
   * Starts from a project snapshot's roles (call at init): they answer without waiting until `trustedUntilMs` (the
   * snapshot's expiry), each use starting a background fetch while none has landed.
   */
  seedProjectPolicy(policy: ProjectPolicy, trustedUntilMs: number): void {
    this.project.seed({ roles: policy.roles, scopes: policy.scopes }, trustedUntilMs);
  }

  /** Starts fetching the project policy in the background (call at init, alongside the key set). Never rejects. */
  prefetchProjectRoles(deadline: number): void {
    this.project.fetchInBackground(deadline);
  }

  /**
   * The project policy's roles alone, when they are at hand without waiting; `undefined` otherwise. For decisions
   * they settle by themselves: Stytch's check grants when any of the member's roles, project or custom, grants,
   * so what the project roles grant stands whatever the organization's custom roles are.
   */
  projectRolesNow(deadline: number): VersionedRbacRoles | undefined {
    if (this.project.get(Date.now(), deadline) !== undefined) return undefined;
    const version = `${this.project.generation}.project`;
    if (this.projectOnly?.version !== version)
      this.projectOnly = Object.freeze({ roles: this.project.value!.roles, version, projectOnly: true as const });
    return this.projectOnly;
  }

  private projectOnly: VersionedRbacRoles | undefined;

  /**
   * The decisive roles for an organization: synchronously when both copies are fresh (the hot path).
   * @param deadline absolute epoch ms for any fetch this call starts
   * @throws RbacPolicyUnavailableError when a policy has never been obtained and cannot be fetched now
   */
  rolesFor(organizationId: string, deadline: number): VersionedRbacRoles | Promise<VersionedRbacRoles> {
    const now = Date.now();
    const organization = this.organizationSlot(organizationId);
    const project = this.project.get(now, deadline);
    const custom = organization.get(now, deadline);
    if (project instanceof Promise || custom instanceof Promise) {
      return Promise.all([project, custom]).then(() => this.combine(organization));
    }
    return this.combine(organization);
  }

  /**
   * The project policy's scopes, for Connected Apps (Stytch's `introspectTokenLocal` reads only the project
   * policy): synchronously when the copy is fresh.
   * @throws RbacPolicyUnavailableError when the policy has never been obtained and cannot be fetched now
   */
  scopesFor(deadline: number): VersionedRbacScopes | Promise<VersionedRbacScopes> {
    const project = this.project.get(Date.now(), deadline);
    return project instanceof Promise ? project.then(() => this.projectScopes()) : this.projectScopes();
  }

  private projectScopes(): VersionedRbacScopes {
    const version = String(this.project.generation);
    if (this.scopes?.version === version) return this.scopes;
    return (this.scopes = Object.freeze({ scopes: this.project.value!.scopes, version }));
  }

  private scopes: VersionedRbacScopes | undefined;

  /** The organization's roles after the project's, built again only when either changed; kept on the organization's slot. */
  private combine(organization: RbacPolicySlot<readonly RbacRole[]>): VersionedRbacRoles {
    const version = `${this.project.generation}.${organization.generation}`;
    const known = organization.combined;
    if (known?.version === version) return known;
    // The SDK's order: project roles, then the organization's (role IDs may repeat; any match grants).
    return (organization.combined = Object.freeze({
      roles: Object.freeze([...this.project.value!.roles, ...organization.value!]),
      version,
    }));
  }

  private organizationSlot(organizationId: string): RbacPolicySlot<readonly RbacRole[]> {
    let slot = this.organizations.get(organizationId);
    if (slot) return slot;
    if (this.organizations.size >= this.maxOrganizations)
      this.organizations.delete(this.organizations.keys().next().value as string);
    slot = new RbacPolicySlot<readonly RbacRole[]>("organization policy", this.timing, (deadline) => {
      this.fetches += 1;
      return this.options.source.organizationRoles(organizationId, deadline);
    });
    this.organizations.set(organizationId, slot);
    return slot;
  }
}

interface SlotTiming {
  readonly maxAgeMs: number;
  readonly maxStaleMs: number;
  readonly retryAfterErrorMs: number;
}

// Generations are drawn from one counter for every slot: a slot built again for an organization that was
// forgotten to make room must not repeat a version its predecessor gave out for other roles.
let lastGeneration = 0;

/** The project policy as cached: its roles, and its scopes. */
interface ProjectPolicy {
  readonly roles: readonly RbacRole[];
  readonly scopes: readonly RbacScope[];
}

/** One cached RBAC policy with its own freshness, single-flight refetch and stale-if-error state. */
class RbacPolicySlot<T> {
  value: T | undefined;
  /** Replaced by a never-used number when a fetch brings different content. */
  generation = 0;
  /** For an organization's slot: its roles combined with the project's (see RbacPolicyCache.combine). */
  combined: VersionedRbacRoles | undefined;
  private fingerprint = "";
  private fetchedAt = 0;
  private failedAt = -Infinity;
  private inflight: Promise<void> | undefined;
  /** While no fetch has landed: until when a snapshot's roles answer without waiting. */
  private seededUntil = -Infinity;

  constructor(
    private readonly what: string,
    private readonly timing: SlotTiming,
    private readonly fetch: (deadline: number) => Promise<T>,
  ) {}

  /** Installs a snapshot's copy, unless a fetch has landed already. */
  seed(value: T, trustedUntilMs: number): void {
    if (this.fetchedAt !== 0) return;
    this.fingerprint = JSON.stringify(value);
    this.value = value;
    this.generation = ++lastGeneration;
    this.seededUntil = trustedUntilMs;
  }

  /** Starts a fetch unless one is on its way; its failure only counts for the next refetch's pause. */
  fetchInBackground(deadline: number): void {
    (this.inflight ??= this.refetch(deadline).finally(() => (this.inflight = undefined))).catch(() => undefined);
  }

  /** Resolves when `value` is usable; synchronously (undefined) when it already is. */
  get(now: number, deadline: number): undefined | Promise<void> {
    if (this.fetchedAt === 0 && this.value !== undefined) {
      // A snapshot's roles: fetched copies replace them; until then they answer, within the snapshot's age.
      if (now < this.seededUntil) {
        if (now - this.failedAt >= this.timing.retryAfterErrorMs) this.fetchInBackground(deadline);
        return undefined;
      }
      this.value = undefined; // past the snapshot's age: never trusted again
    }
    if (this.value !== undefined) {
      const age = now - this.fetchedAt;
      if (age < this.timing.maxAgeMs) return undefined;
      // Stale, and the last refetch failed a moment ago: keep answering with the copy instead of waiting again.
      if (age < this.timing.maxStaleMs && now - this.failedAt < this.timing.retryAfterErrorMs) return undefined;
    }
    return (this.inflight ??= this.refetch(deadline).finally(() => (this.inflight = undefined)));
  }

  private async refetch(deadline: number): Promise<void> {
    try {
      // The request starts on the next turn of the event loop, not inside the call that needed it: a request
      // answered meanwhile (a member's route the project roles grant, see route-access.ts) goes out without
      // paying for opening a connection (node:https and its TLS context, at a container's first call).
      await new Promise((resolve) => setImmediate(resolve));
      const value = await this.fetch(deadline);
      const fingerprint = JSON.stringify(value);
      if (fingerprint !== this.fingerprint) {
        this.fingerprint = fingerprint;
        this.value = value;
        this.generation = ++lastGeneration;
      }
      this.fetchedAt = Date.now();
      this.failedAt = -Infinity;
    } catch (error) {
      this.failedAt = Date.now();
      if (this.value !== undefined && this.fetchedAt === 0 && Date.now() < this.seededUntil) return; // a snapshot's
      if (this.value !== undefined && Date.now() - this.fetchedAt < this.timing.maxStaleMs) return; // stale if error
      const cause = error as AuthorizerError;
      throw new RbacPolicyUnavailableError(
        `no RBAC ${this.what}: ${cause?.reason ?? "error"}: ${cause?.message ?? String(error)}`,
        { cause: error },
      );
    }
  }
}
