// Stytch's local authorization check, step for step (stytch-node rbac_local): tenancy first, then roles,
// then an exact resource and the action or "*".

import { describe, expect, test } from "vitest";
import { checkPermission, type RbacRole } from "../lambda/lib/permissions/permission-check";

const ROLES: RbacRole[] = [
  { role_id: "viewer", permissions: [{ resource_id: "documents", actions: ["read"] }] },
  { role_id: "admin", permissions: [{ resource_id: "documents", actions: ["*"] }] },
  { role_id: "custom", permissions: [{ resource_id: "billing", actions: ["read", "write"] }] },
];
const check = (resource_id: string, action: string, organization_id = "org-1") => ({
  organization_id,
  resource_id,
  action,
});

describe("the local check", () => {
  test("tenancy comes first: another organization is tenancy_mismatch even when the roles would grant it", () => {
    expect(
      checkPermission(ROLES, { organizationId: "org-1", roles: ["admin"] }, check("documents", "read", "org-2")),
    ).toBe("tenancy_mismatch");
    expect(checkPermission(ROLES, { organizationId: "org-1", roles: [] }, check("documents", "read", "org-2"))).toBe(
      "tenancy_mismatch",
    );
  });

  test("a role grants an action it lists, or every action with *", () => {
    expect(checkPermission(ROLES, { organizationId: "org-1", roles: ["viewer"] }, check("documents", "read"))).toBe(
      "allowed",
    );
    expect(checkPermission(ROLES, { organizationId: "org-1", roles: ["viewer"] }, check("documents", "write"))).toBe(
      "permission_denied",
    );
    expect(checkPermission(ROLES, { organizationId: "org-1", roles: ["admin"] }, check("documents", "delete"))).toBe(
      "allowed",
    );
  });

  test("resources match exactly: * is no resource wildcard, and a prefix is not the resource", () => {
    const star: RbacRole[] = [{ role_id: "r", permissions: [{ resource_id: "*", actions: ["*"] }] }];
    expect(checkPermission(star, { organizationId: "o", roles: ["r"] }, check("documents", "read", "o"))).toBe(
      "permission_denied",
    );
    expect(
      checkPermission(ROLES, { organizationId: "org-1", roles: ["admin"] }, check("documents.secret", "read")),
    ).toBe("permission_denied");
  });

  test("only the member's roles count; a role the RBAC policy does not define grants nothing", () => {
    expect(checkPermission(ROLES, { organizationId: "org-1", roles: ["custom"] }, check("billing", "write"))).toBe(
      "allowed",
    );
    expect(checkPermission(ROLES, { organizationId: "org-1", roles: ["ghost"] }, check("documents", "read"))).toBe(
      "permission_denied",
    );
    expect(checkPermission([], { organizationId: "org-1", roles: ["admin"] }, check("documents", "read"))).toBe(
      "permission_denied",
    );
  });
});
