// Organizations and their members as the emulator knows them (created on demand by sessions and tests), and
// their `Member` and `Organization` objects in Stytch's wire format.

import type { JsonObject } from "./json";
import { rfc3339 } from "./time";

/** A member known to the emulator. */
export interface EmulatorMember {
  memberId: string;
  organizationId: string;
  organizationSlug: string;
  email: string;
  roles: string[];
}

/** Stytch's `mfa_policy` of an organization: `REQUIRED_FOR_ALL` members must complete MFA to get a session. */
export type MfaPolicy = "OPTIONAL" | "REQUIRED_FOR_ALL";

/** An organization; times are epoch seconds. */
export interface OrganizationRecord {
  organizationId: string;
  slug: string;
  name: string;
  createdAt: number;
  mfaPolicy: MfaPolicy;
}

/** A member of one organization; times are epoch seconds. */
export interface MemberRecord {
  memberId: string;
  organizationId: string;
  email: string;
  emailId: string;
  /** Always includes `stytch_member`, as Stytch assigns it to everyone. */
  roles: string[];
  createdAt: number;
  updatedAt: number;
}

/** Every organization and member of the project. */
export class Organizations {
  readonly #organizationsBySlug = new Map<string, OrganizationRecord>();
  readonly #organizationsById = new Map<string, OrganizationRecord>();
  readonly #members = new Map<string, MemberRecord>();
  readonly #membersByKey = new Map<string, MemberRecord>();
  readonly #newId: (prefix: string) => string;

  /** @param newId mints Stytch-style IDs (`organization-test-…`). */
  constructor(newId: (prefix: string) => string) {
    this.#newId = newId;
  }

  /** The organization with this ID, if any. */
  organization(organizationId: string): OrganizationRecord | undefined {
    return this.#organizationsById.get(organizationId);
  }

  /** The organization with this ID or slug, if any (Stytch's exchange takes either). */
  organizationByIdOrSlug(idOrSlug: string): OrganizationRecord | undefined {
    return this.#organizationsById.get(idOrSlug) ?? this.#organizationsBySlug.get(idOrSlug);
  }

  /** The member with this ID, if any. */
  member(memberId: string): MemberRecord | undefined {
    return this.#members.get(memberId);
  }

  /** The member of an organization with this email (compared case-insensitively), if any; never creates one. */
  memberByEmail(organization: OrganizationRecord, email: string): MemberRecord | undefined {
    return this.#membersByKey.get(memberKey(organization, email));
  }

  /** The organization with this slug, created (at `now`) if new. */
  organizationFor(slug: string, now: number): OrganizationRecord {
    let organization = this.#organizationsBySlug.get(slug);
    if (organization === undefined) {
      organization = {
        organizationId: this.#newId("organization"),
        slug,
        name: slug.charAt(0).toUpperCase() + slug.slice(1),
        createdAt: now,
        mfaPolicy: "OPTIONAL",
      };
      this.#organizationsBySlug.set(slug, organization);
      this.#organizationsById.set(organization.organizationId, organization);
    }
    return organization;
  }

  /**
   * The member with this email in the organization, created (at `now`) if new. `roles`, when given, replace the
   * member's roles (`stytch_member` is always kept).
   */
  memberFor(organization: OrganizationRecord, email: string, roles: string[] | undefined, now: number): MemberRecord {
    const key = memberKey(organization, email);
    let member = this.#membersByKey.get(key);
    if (member === undefined) {
      member = {
        memberId: this.#newId("member"),
        organizationId: organization.organizationId,
        email,
        emailId: this.#newId("email"),
        roles: withDefaultRole(roles ?? []),
        createdAt: now,
        updatedAt: now,
      };
      this.#membersByKey.set(key, member);
      this.#members.set(member.memberId, member);
    } else if (roles !== undefined) {
      member.roles = withDefaultRole(roles);
      member.updatedAt = now;
    }
    return member;
  }
}

/** A subset of the `Member` object of reference §2.3: every required field, with a fresh member's values. */
export function memberObject(member: MemberRecord): JsonObject {
  return {
    organization_id: member.organizationId,
    member_id: member.memberId,
    email_address: member.email,
    status: "active",
    name: "",
    sso_registrations: [],
    is_breakglass: false,
    member_password_id: "",
    oauth_registrations: [],
    email_address_verified: true,
    mfa_phone_number_verified: false,
    is_admin: member.roles.includes("stytch_admin"),
    totp_registration_id: "",
    retired_email_addresses: [],
    is_locked: false,
    mfa_enrolled: false,
    mfa_phone_number: "",
    default_mfa_method: "",
    // UNVERIFIED: the source Stytch reports for the implicit stytch_member role; the brief asks for direct_assignment.
    roles: member.roles.map((roleId) => ({ role_id: roleId, sources: [{ type: "direct_assignment", details: {} }] })),
    trusted_metadata: {},
    untrusted_metadata: {},
    created_at: rfc3339(member.createdAt),
    updated_at: rfc3339(member.updatedAt),
  };
}

/** A subset of the `Organization` object of reference §2.4, with Stytch's defaults for a new organization. */
export function organizationObject(organization: OrganizationRecord): JsonObject {
  return {
    organization_id: organization.organizationId,
    organization_name: organization.name,
    organization_logo_url: "",
    organization_slug: organization.slug,
    sso_jit_provisioning: "NOT_ALLOWED",
    sso_jit_provisioning_allowed_connections: [],
    sso_active_connections: [],
    email_allowed_domains: [],
    email_jit_provisioning: "NOT_ALLOWED",
    email_invites: "ALL_ALLOWED",
    auth_methods: "ALL_ALLOWED",
    allowed_auth_methods: [],
    mfa_policy: organization.mfaPolicy,
    rbac_email_implicit_role_assignments: [],
    mfa_methods: "ALL_ALLOWED",
    allowed_mfa_methods: [],
    oauth_tenant_jit_provisioning: "NOT_ALLOWED",
    claimed_email_domains: [],
    custom_roles: [],
    trusted_metadata: {},
    created_at: rfc3339(organization.createdAt),
    updated_at: rfc3339(organization.createdAt),
  };
}

/** Stytch keys members by (organization, email), with emails compared case-insensitively. */
function memberKey(organization: OrganizationRecord, email: string): string {
  return `${organization.organizationId}\n${email.toLowerCase()}`;
}

function withDefaultRole(roles: string[]): string[] {
  const unique = [...new Set(roles)];
  return unique.includes("stytch_member") ? unique : ["stytch_member", ...unique];
}
