// RBAC policies (reference §6.1): the project policy and the organizations' custom roles, and the two
// endpoints that serve them.

import type { JsonObject } from "./json";
import type { Organizations } from "./organizations";
import type { Project } from "./project";
import type { Route } from "./router";
import { StytchApiError } from "./stytch-api-error";
import { nowSeconds } from "./time";

/** One permission of an RBAC role, in Stytch's wire format (reference §6.1). */
export interface RbacPermission {
  resource_id: string;
  actions: string[];
}

/** One RBAC role, in Stytch's wire format. */
export interface RbacRole {
  role_id: string;
  description?: string;
  permissions: RbacPermission[];
}

/** The `policy` object of `GET /v1/b2b/rbac/policy`. */
export interface RbacPolicy {
  roles: RbacRole[];
  resources: Array<{ resource_id: string; description?: string; actions: string[] }>;
  scopes: Array<{ scope: string; description?: string; permissions: RbacPermission[] }>;
}

/** Route-specific faults of the organization-policy endpoint (see `StytchEmulator.organizationPolicyFault`). */
export type OrganizationPolicyFault = "none" | "200-not-json" | "200-without-org-policy";

const RBAC_POLICY_PATH = "/v1/b2b/rbac/policy";
const ORGANIZATION_POLICY_PREFIX = "/v1/b2b/rbac/organizations/";

/** The project's RBAC policy and the organizations' custom roles, with their switches for tests. */
export class RbacPolicies {
  /** Served by `GET /v1/b2b/rbac/policy` (a deep copy on every request); replaceable. */
  projectPolicy: RbacPolicy;
  /** Whether the project has organization policies (a private beta at Stytch). */
  organizationPoliciesEnabled = true;
  organizationPolicyFault: OrganizationPolicyFault = "none";
  readonly #organizationRoles = new Map<string, RbacRole[]>();
  readonly #organizations: Organizations;

  /** @param projectPolicy the initial project policy (used as given, not copied). */
  constructor(organizations: Organizations, projectPolicy: RbacPolicy) {
    this.#organizations = organizations;
    this.projectPolicy = projectPolicy;
  }

  /** Sets an organization's custom roles (by organization ID or slug; the organization is created if new). */
  setOrganizationRoles(organization: string, roles: RbacRole[]): void {
    const record =
      this.#organizations.organization(organization) ?? this.#organizations.organizationFor(organization, nowSeconds());
    this.#organizationRoles.set(record.organizationId, structuredClone(roles));
  }

  /**
   * The `org_policy` of an organization: its custom roles (a copy), none unless set. Throws the endpoint's errors
   * for a project without organization policies and for an unknown organization.
   */
  organizationPolicy(organizationId: string): { roles: RbacRole[] } {
    // UNVERIFIED: how Stytch answers projects without the organization-policy beta; 403 here, "no custom roles" to clients.
    if (!this.organizationPoliciesEnabled) {
      throw new StytchApiError(
        403,
        "feature_not_enabled",
        "Organization RBAC policies are not enabled for this project.",
      );
    }
    // UNVERIFIED: error_type for an unknown organization.
    if (this.#organizations.organization(organizationId) === undefined) {
      throw new StytchApiError(404, "organization_not_found", "Organization could not be found.");
    }
    return { roles: structuredClone(this.#organizationRoles.get(organizationId) ?? []) };
  }
}

/** `GET /v1/b2b/rbac/policy` and `GET /v1/b2b/rbac/organizations/{organization_id}`, reference §6.1. */
export function rbacPolicyRoutes(rbac: RbacPolicies, project: Project): Route[] {
  const requestId = (): string => project.newId("request-id");
  return [
    {
      method: "GET",
      path: RBAC_POLICY_PATH,
      counter: "rbacPolicy",
      faultSwitch: "rbac",
      credentials: "project",
      handle(): JsonObject {
        return { request_id: requestId(), status_code: 200, policy: structuredClone(rbac.projectPolicy) };
      },
    },
    {
      method: "GET",
      path: `${ORGANIZATION_POLICY_PREFIX}{organization_id}`,
      counter: "organizationPolicy",
      faultSwitch: "rbac",
      credentials: "project",
      faultAnswer() {
        if (rbac.organizationPolicyFault === "none") return undefined;
        if (rbac.organizationPolicyFault === "200-not-json") {
          return { status: 200, body: "<html><body>Organization policy</body></html>\n" };
        }
        return { status: 200, body: JSON.stringify({ request_id: requestId(), status_code: 200 }) };
      },
      handle({ param: organizationId }): JsonObject {
        return { request_id: requestId(), status_code: 200, org_policy: rbac.organizationPolicy(organizationId) };
      },
    },
  ];
}
