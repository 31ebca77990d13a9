// The one home of the RBAC decision (see checkPermission).

/** One permission of a Stytch RBAC role, in Stytch's wire format. */
export interface RbacPermission {
  readonly resource_id: string;
  readonly actions: readonly string[];
}

/** One role of a Stytch project or organization RBAC policy, in Stytch's wire format. */
export interface RbacRole {
  readonly role_id: string;
  readonly permissions: readonly RbacPermission[];
}

/** One scope of a Stytch project RBAC policy (`policy.scopes`): what a Connected App granted it may do. */
export interface RbacScope {
  readonly scope: string;
  readonly permissions: readonly RbacPermission[];
}

/** The member facts the check reads. */
export interface PermissionSubject {
  readonly organizationId: string;
  readonly roles: readonly string[];
}

/** What is being checked, as Stytch's `authorization_check` names it. */
export interface AuthorizationCheck {
  readonly organization_id: string;
  readonly resource_id: string;
  readonly action: string;
}

/** The outcome, with the reason code we log for a refusal. */
export type PermissionOutcome = "allowed" | "tenancy_mismatch" | "permission_denied";

/**
 * The one home of the RBAC decision: may this member do `action` on `resource_id` in this organization?
 * It is Stytch's local authorization check, step for step as the official SDK performs it (stytch-node
 * `rbac_local`):
 *
 * 1. tenancy first: the member's organization must be the one checked;
 * 2. the subject roles are the session's roles (JWT claim, or `member_session.roles` from Stytch);
 * 3. keep the RBAC policy's roles (project + organization) whose role_id is among them;
 * 4. allowed if one of their permissions names exactly the resource and lists the action or "*".
 *
 * No resource wildcard, no deny rule: implicit role assignments are already resolved into the session's roles.
 * @param rbacRoles the project RBAC policy's roles followed by the member's organization's custom roles
 */
export function checkPermission(
  rbacRoles: readonly RbacRole[],
  subject: PermissionSubject,
  check: AuthorizationCheck,
): PermissionOutcome {
  if (subject.organizationId !== check.organization_id) return "tenancy_mismatch";
  return hasPermission(rbacRoles, subject.roles, check.resource_id, check.action) ? "allowed" : "permission_denied";
}

/** Steps 2–4 of {@link checkPermission}, for callers that have settled tenancy themselves (a member's IAM policy binds it into ARNs). */
export function hasPermission(
  rbacRoles: readonly RbacRole[],
  subjectRoles: readonly string[],
  resourceId: string,
  action: string,
): boolean {
  for (const role of rbacRoles) {
    if (!subjectRoles.includes(role.role_id)) continue;
    for (const permission of role.permissions) {
      if (
        permission.resource_id === resourceId &&
        (permission.actions.includes(action) || permission.actions.includes("*"))
      )
        return true;
    }
  }
  return false;
}

/**
 * Whether a Connected App's scopes grant `action` on `resourceId`: Stytch's scope check (stytch-node
 * `performBaseScopeAuthorizationCheck`, used by `idp.introspectTokenLocal`): keep the project policy's scopes the
 * token names, then one of their permissions must name exactly the resource and list the action or `"*"`.
 * Tenancy (the token's organization) is settled by the caller, as for {@link hasPermission}.
 * @param policyScopes the project RBAC policy's `scopes` (organization policies have none)
 */
export function scopesGrant(
  policyScopes: readonly RbacScope[],
  tokenScopes: readonly string[],
  resourceId: string,
  action: string,
): boolean {
  for (const scope of policyScopes) {
    if (!tokenScopes.includes(scope.scope)) continue;
    for (const permission of scope.permissions) {
      if (
        permission.resource_id === resourceId &&
        (permission.actions.includes(action) || permission.actions.includes("*"))
      )
        return true;
    }
  }
  return false;
}
