// The RBAC policy of the demo project, served by the emulator unless a test replaces it.

import type { RbacPolicy } from "./rbac-policies";

/**
 * The demo project policy of `npm start` and the tests: Stytch's two default roles, and viewer, editor and
 * admin over the `documents` and `billing` resources.
 */
export const DEMO_RBAC_POLICY: Readonly<RbacPolicy> = Object.freeze({
  roles: [
    {
      role_id: "stytch_member",
      description: "Granted to every member",
      permissions: [{ resource_id: "stytch.self", actions: ["*"] }],
    },
    {
      role_id: "stytch_admin",
      description: "Granted to organization admins",
      permissions: ["stytch.organization", "stytch.member", "stytch.sso", "stytch.self"].map((resource_id) => ({
        resource_id,
        actions: ["*"],
      })),
    },
    {
      role_id: "viewer",
      description: "Reads documents",
      permissions: [{ resource_id: "documents", actions: ["read"] }],
    },
    {
      role_id: "editor",
      description: "Reads and writes documents",
      permissions: [{ resource_id: "documents", actions: ["read", "write"] }],
    },
    {
      role_id: "admin",
      description: "Everything, billing included",
      permissions: [
        { resource_id: "documents", actions: ["*"] },
        { resource_id: "billing", actions: ["read", "write"] },
      ],
    },
  ],
  resources: [
    { resource_id: "documents", description: "Documents of an organization", actions: ["read", "write", "delete"] },
    { resource_id: "billing", description: "Invoices and payment details", actions: ["read", "write"] },
  ],
  scopes: [
    {
      scope: "read:documents",
      description: "Read documents",
      permissions: [{ resource_id: "documents", actions: ["read"] }],
    },
    {
      scope: "write:documents",
      description: "Read and write documents",
      permissions: [{ resource_id: "documents", actions: ["read", "write"] }],
    },
  ],
});
