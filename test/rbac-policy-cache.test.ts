// The RBAC policy cache over the real Stytch client and the loopback emulator: single flight, the
// 5-minute refresh, stale-if-error, and faults when there is no copy at all.

import { afterEach, describe, expect, test, vi } from "vitest";
import { RbacPolicyUnavailableError } from "../lambda/lib/errors";
import { RbacPolicyCache, type RbacPolicySource } from "../lambda/lib/permissions/rbac-policy-cache";
import { StytchClient } from "../lambda/lib/stytch/stytch-client";
import type { StytchEmulator } from "../local/stytch-emulator";
import { useStytchEmulator } from "./support/fixtures";

let stytch: StytchEmulator;
useStytchEmulator((emulator) => (stytch = emulator));
afterEach(() => vi.useRealTimers());

function client(secret = stytch.secret): StytchClient {
  return new StytchClient({
    apiUrl: stytch.url,
    projectId: stytch.projectId,
    secret: async () => secret,
    timeoutMs: 10_000,
  });
}

// Generous where the deadline is not what a test is about (a loaded machine must not turn an answer into a timeout).
const soon = () => Date.now() + 10_000;

describe("fetching", () => {
  test("combines the project roles and the organization's custom roles, project first, in Stytch's wire format", async () => {
    const { organizationId } = stytch.createSession({ organizationSlug: "initech" });
    stytch.setOrganizationRoles(organizationId, [
      { role_id: "auditor", permissions: [{ resource_id: "billing", actions: ["read"] }] },
    ]);
    const policies = await new RbacPolicyCache({ source: client() }).rolesFor(organizationId, soon());
    expect(policies.roles.map((role) => role.role_id)).toEqual([
      "stytch_member",
      "stytch_admin",
      "viewer",
      "editor",
      "admin",
      "auditor",
    ]);
    expect(policies.roles.at(-1)).toEqual({
      role_id: "auditor",
      permissions: [{ resource_id: "billing", actions: ["read"] }],
    });
  });

  test("a fetch starts on the event loop's next turn, not inside the call that needed it (an answer given meanwhile pays nothing for it)", async () => {
    const stytchClient = client();
    const started: string[] = [];
    const source: RbacPolicySource = {
      projectPolicy: (deadline) => {
        started.push("project");
        return stytchClient.projectPolicy(deadline);
      },
      organizationRoles: (organizationId, deadline) => {
        started.push("organization");
        return stytchClient.organizationRoles(organizationId, deadline);
      },
    };
    const { organizationId } = stytch.createSession();
    const cache = new RbacPolicyCache({ source });
    const roles = cache.rolesFor(organizationId, soon());
    expect(started).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started.sort()).toEqual(["organization", "project"]);
    await roles;
  });

  test("a second request within 5 minutes is answered synchronously, without a fetch", async () => {
    const { organizationId } = stytch.createSession();
    const cache = new RbacPolicyCache({ source: client() });
    await cache.rolesFor(organizationId, soon());
    const again = cache.rolesFor(organizationId, soon());
    expect(again).not.toBeInstanceOf(Promise);
    expect(stytch.calls.rbacPolicy + stytch.calls.organizationPolicy).toBe(2);
  });

  test("30 concurrent cold requests share one fetch of each policy", async () => {
    const { organizationId } = stytch.createSession();
    stytch.setLatency("rbac", 50);
    try {
      const cache = new RbacPolicyCache({ source: client() });
      const all = await Promise.all(Array.from({ length: 30 }, () => cache.rolesFor(organizationId, soon())));
      expect(new Set(all).size).toBe(1);
      expect(stytch.calls.rbacPolicy).toBe(1);
      expect(stytch.calls.organizationPolicy).toBe(1);
    } finally {
      stytch.setLatency("rbac", 0);
    }
  });
});

describe("age", () => {
  test("after 5 minutes the policy is fetched again before it is used, and a change is seen", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { organizationId } = stytch.createSession();
    const cache = new RbacPolicyCache({ source: client() });
    const first = await cache.rolesFor(organizationId, soon());
    vi.setSystemTime(Date.now() + 299_000);
    expect(cache.rolesFor(organizationId, soon())).toBe(first);
    stytch.rbacPolicy = { ...stytch.rbacPolicy, roles: [{ role_id: "viewer", permissions: [] }] };
    vi.setSystemTime(Date.now() + 2_000);
    const second = await cache.rolesFor(organizationId, soon());
    expect(second.roles.map((role) => role.role_id)).toEqual(["viewer"]);
    expect(second.version).not.toBe(first.version);
    expect(stytch.calls.rbacPolicy).toBe(2);
  });

  test("an unchanged policy keeps its version across refreshes (member policies stay cached)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { organizationId } = stytch.createSession();
    const cache = new RbacPolicyCache({ source: client() });
    const first = await cache.rolesFor(organizationId, soon());
    vi.setSystemTime(Date.now() + 301_000);
    expect((await cache.rolesFor(organizationId, soon())).version).toBe(first.version);
  });
  test("an organization forgotten to make room, then fetched again with other roles, gets a version it never had", async () => {
    const { organizationId } = stytch.createSession();
    const other = stytch.createSession({ organizationSlug: "initech" }).organizationId;
    const cache = new RbacPolicyCache({ source: client(), maxOrganizations: 1 });
    const first = await cache.rolesFor(organizationId, soon());
    await cache.rolesFor(other, soon()); // evicts the first organization
    stytch.setOrganizationRoles(organizationId, [
      { role_id: "auditor", permissions: [{ resource_id: "billing", actions: ["read"] }] },
    ]);
    const again = await cache.rolesFor(organizationId, soon());
    expect(again.roles.map((role) => role.role_id)).toContain("auditor");
    // Member policies are memoised by (organization, version): a repeated version would serve the old roles' policy.
    expect(again.version).not.toBe(first.version);
  });
});

describe("faults", () => {
  test("stale if error: a failed refresh keeps the last copy, and waits 30 s before trying again", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { organizationId } = stytch.createSession();
    const cache = new RbacPolicyCache({ source: client() });
    const first = await cache.rolesFor(organizationId, soon());
    stytch.faults.rbac = "503";
    vi.setSystemTime(Date.now() + 301_000);
    expect(await cache.rolesFor(organizationId, soon())).toBe(first);
    const fetched = stytch.calls.rbacPolicy + stytch.calls.organizationPolicy;
    expect(cache.rolesFor(organizationId, soon())).toBe(first); // synchronous: no fetch during the pause
    expect(stytch.calls.rbacPolicy + stytch.calls.organizationPolicy).toBe(fetched);
    vi.setSystemTime(Date.now() + 31_000);
    await cache.rolesFor(organizationId, soon());
    expect(stytch.calls.rbacPolicy + stytch.calls.organizationPolicy).toBeGreaterThan(fetched);
  });

  test("a stale copy is not used past 24 hours", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { organizationId } = stytch.createSession();
    const cache = new RbacPolicyCache({ source: client() });
    await cache.rolesFor(organizationId, soon());
    stytch.faults.rbac = "500";
    vi.setSystemTime(Date.now() + 86_400_000);
    await expect(cache.rolesFor(organizationId, soon())).rejects.toBeInstanceOf(RbacPolicyUnavailableError);
  });

  test.each([
    ["a 500", "500"],
    ["a 429", "429"],
    ["a reset connection", "reset"],
  ] as const)("no copy and %s: RbacPolicyUnavailableError (503), once per burst", async (_name, mode) => {
    const { organizationId } = stytch.createSession();
    stytch.faults.rbac = mode;
    const cache = new RbacPolicyCache({ source: client() });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => cache.rolesFor(organizationId, soon())));
    expect(
      results.every((result) => result.status === "rejected" && result.reason instanceof RbacPolicyUnavailableError),
    ).toBe(true);
    expect(stytch.calls.rbacPolicy).toBe(1);
  });

  test("a hanging Stytch is cut off at the deadline", async () => {
    const { organizationId } = stytch.createSession();
    stytch.faults.rbac = "hang";
    const started = Date.now();
    await expect(new RbacPolicyCache({ source: client() }).rolesFor(organizationId, Date.now() + 300)).rejects.toThrow(
      /upstream_timeout/,
    );
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  test("a wrong project secret is a fault naming the credentials, not a missing policy", async () => {
    const { organizationId } = stytch.createSession();
    await expect(
      new RbacPolicyCache({ source: client("secret-test-wrong") }).rolesFor(organizationId, soon()),
    ).rejects.toThrow(/upstream_credentials_rejected/);
  });

  test("the organization endpoint of a project without the feature counts as no custom roles", async () => {
    stytch.organizationPoliciesEnabled = false;
    const { organizationId } = stytch.createSession();
    const policies = await new RbacPolicyCache({ source: client() }).rolesFor(organizationId, soon());
    expect(policies.roles).toHaveLength(5);
  });
});

describe("hardening: a broken organization-policy answer is a fault, never no custom roles", () => {
  test.each([
    ["a body that is not JSON", "200-not-json"],
    ["JSON without org_policy", "200-without-org-policy"],
  ] as const)("with no copy, a 200 with %s is RbacPolicyUnavailableError (503)", async (_, fault) => {
    const { organizationId } = stytch.createSession();
    stytch.organizationPolicyFault = fault;
    const error = await Promise.resolve(
      new RbacPolicyCache({ source: client() }).rolesFor(organizationId, soon()),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RbacPolicyUnavailableError);
    expect((error as Error).message).toMatch(/no RBAC organization policy: upstream_unavailable/);
  });

  test("with a copy, a 200 without org_policy keeps the organization's custom roles (stale if error) instead of dropping them", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { organizationId } = stytch.createSession({ organizationSlug: "hardening-stale-custom-roles" });
    stytch.setOrganizationRoles(organizationId, [
      { role_id: "auditor", permissions: [{ resource_id: "billing", actions: ["read"] }] },
    ]);
    const cache = new RbacPolicyCache({ source: client() });
    const first = await cache.rolesFor(organizationId, soon());
    expect(first.roles.map((role) => role.role_id)).toContain("auditor");
    stytch.organizationPolicyFault = "200-without-org-policy";
    vi.setSystemTime(Date.now() + 301_000);
    const again = await cache.rolesFor(organizationId, soon());
    expect(stytch.calls.organizationPolicy).toBe(2);
    expect(again.roles.map((role) => role.role_id)).toContain("auditor");
    expect(again.version).toBe(first.version);
  });

  test.each([
    ["not enabled for the project (403)", () => (stytch.organizationPoliciesEnabled = false)],
    ["an organization Stytch does not know (404)", () => undefined],
  ])("an organization policy %s still counts as no custom roles", async (_, arrange) => {
    arrange();
    const organizationId = stytch.organizationPoliciesEnabled
      ? "organization-test-00000000-0000-0000-0000-000000000000"
      : stytch.createSession().organizationId;
    const policies = await new RbacPolicyCache({ source: client() }).rolesFor(organizationId, soon());
    expect(policies.roles.map((role) => role.role_id)).toEqual(stytch.rbacPolicy.roles.map((role) => role.role_id));
  });
});

describe("a project snapshot's policy (seedProjectPolicy)", () => {
  const SNAPSHOT_ROLES = [{ role_id: "viewer", permissions: [{ resource_id: "documents", actions: ["read"] }] }];

  test("the project roles are at hand at once, and stay so while Stytch cannot be reached, within the snapshot's age", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    stytch.faults.rbac = "reset";
    const cache = new RbacPolicyCache({ source: client() });
    cache.seedProjectPolicy({ roles: SNAPSHOT_ROLES, scopes: [] }, Date.now() + 3_600_000);
    cache.prefetchProjectRoles(soon());
    expect(cache.projectRolesNow(soon())).toMatchObject({ roles: SNAPSHOT_ROLES, projectOnly: true });
    await expect(cache.rolesFor("organization-test-1", soon())).rejects.toBeInstanceOf(RbacPolicyUnavailableError);
    vi.setSystemTime(Date.now() + 3_599_000);
    expect(cache.projectRolesNow(soon())?.roles).toEqual(SNAPSHOT_ROLES);
  });

  test("past the snapshot's maximum age its roles are never used again: no copy, no answer, a fault", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { organizationId } = stytch.createSession();
    stytch.faults.rbac = "reset";
    const cache = new RbacPolicyCache({ source: client() });
    cache.seedProjectPolicy({ roles: SNAPSHOT_ROLES, scopes: [] }, Date.now() + 60_000);
    vi.setSystemTime(Date.now() + 60_000);
    expect(cache.projectRolesNow(soon())).toBeUndefined();
    await expect(cache.rolesFor(organizationId, soon())).rejects.toBeInstanceOf(RbacPolicyUnavailableError);
  });

  test("the first fetched project policy replaces the snapshot's; until it lands the snapshot's answers without waiting", async () => {
    stytch.setLatency("rbac", 100);
    try {
      const cache = new RbacPolicyCache({ source: client() });
      cache.seedProjectPolicy({ roles: SNAPSHOT_ROLES, scopes: [] }, Date.now() + 3_600_000);
      cache.prefetchProjectRoles(soon());
      expect(cache.projectRolesNow(soon())?.roles).toEqual(SNAPSHOT_ROLES);
      const givingUpAt = Date.now() + 5_000;
      while (cache.projectRolesNow(soon())?.roles === SNAPSHOT_ROLES) {
        if (Date.now() > givingUpAt) throw new Error("the project policy did not land within 5 s");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(cache.projectRolesNow(soon())?.roles.map((role) => role.role_id)).toEqual(
        stytch.rbacPolicy.roles.map((role) => role.role_id),
      );
      expect(stytch.calls.rbacPolicy).toBe(1);
    } finally {
      stytch.setLatency("rbac", 0);
    }
  });

  test("an organization policy may repeat a project role's ID and so extend it (stytch-node concatenates the roles)", async () => {
    const { organizationId } = stytch.createSession({ organizationSlug: "extends-viewer" });
    stytch.setOrganizationRoles(organizationId, [
      { role_id: "viewer", permissions: [{ resource_id: "billing", actions: ["read"] }] },
    ]);
    const cache = new RbacPolicyCache({ source: client() });
    const roles = await cache.rolesFor(organizationId, soon());
    const { hasPermission } = await import("../lambda/lib/permissions/permission-check");
    expect(hasPermission(roles.roles, ["viewer"], "billing", "read")).toBe(true);
    expect(hasPermission(cache.projectRolesNow(soon())!.roles, ["viewer"], "billing", "read")).toBe(false);
  });
});
