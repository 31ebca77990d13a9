// The M2M scope check (see m2mScopesGrant).

/**
 * Whether an M2M token's scopes grant `action` on `resourceId`: Stytch's `performAuthorizationCheck`
 * (stytch-node `m2m_local`) for the one required scope `action:resourceId`, which the route's permission names.
 *
 * - A scope is `action:resource`; a scope without `:` is the action alone, with resource `-`.
 * - A scope whose resource is `*` grants its action on every resource; there is no wildcard action.
 * - Deliberately stricter than the SDK: a scope with a second `:` (`read:documents:x`) grants nothing, where the
 *   SDK reads it as `read:documents`. (Route tables refuse `:` inside the resource and action of routes open to
 *   M2M, so a required scope always has exactly one.)
 */
export function m2mScopesGrant(scopes: readonly string[], resourceId: string, action: string): boolean {
  for (const scope of scopes) {
    const colon = scope.indexOf(":");
    if (colon < 0) {
      if (scope === action && resourceId === "-") return true;
      continue;
    }
    const resource = scope.slice(colon + 1);
    if (resource.includes(":") || scope.slice(0, colon) !== action) continue;
    if (resource === "*" || resource === resourceId) return true;
  }
  return false;
}
