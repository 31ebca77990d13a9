// Which caller a Stytch token names, by its claims alone (see callerTypeOf), and the machine callers' claims.

import { AmbiguousTokenError, MalformedClaimsError, MalformedClientIdError, MalformedScopeError } from "../errors";
import type { CallerType, ConnectedAppCaller, M2MCaller } from "./caller";

/** Stytch's member-session claim (session JWTs only). */
export const SESSION_CLAIM = "https://stytch.com/session";
/** Stytch's organization claim (session JWTs and Connected-App access tokens). */
export const ORGANIZATION_CLAIM = "https://stytch.com/organization";

/** Stytch client and member ids: `<kind>-<test|live>-<id>`. */
const M2M_CLIENT_ID = /^m2m-client-(test|live)-[A-Za-z0-9-]{1,128}$/;
const CONNECTED_APP_CLIENT_ID = /^connected-app-(test|live)-[A-Za-z0-9-]{1,128}$/;
const MEMBER_ID = /^member-(test|live)-[A-Za-z0-9-]{1,128}$/;
/**
 * A `scope` claim: RFC 6749 §3.3 scope tokens (printable ASCII but space, `"` and `\`) separated by single
 * spaces, or the empty string (no scopes). Bounded, so that the scopes always fit the authorizer context.
 */
const SCOPE = /^([\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*)?$/;
/** Longest `scope` accepted: far beyond any real grant, well within API Gateway's 8 KB context. */
export const MAX_SCOPE_LENGTH = 2_048;

// Claims that are never custom claims of a machine token (the same set Stytch's SDK strips, for both types).
const MACHINE_REGISTERED_CLAIMS = new Set([
  "aud",
  "exp",
  "iat",
  "iss",
  "jti",
  "nbf",
  "sub",
  "scope",
  "client_id",
  ORGANIZATION_CLAIM,
]);
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * The caller type a token's claims name, strictly, before anything else reads them. One project key set signs
 * session JWTs, M2M and Connected-App access tokens alike, with one issuer and audience, so only the claims tell
 * them apart:
 *
 * ```text
 * https://stytch.com/session    → member         (with client_id or scope as well: ambiguous, 401)
 * client_id                     → connected_app
 * scope, no client_id           → m2m            (with an organization claim as well: ambiguous, 401)
 * none of them                  → member         (and refused as not a member session, 401)
 * ```
 *
 * A claim counts when it is present at all, whatever its value (`"scope": null` is a scope claim, and a
 * malformed one). The type's own claims are checked afterwards ({@link m2mCallerOf}, {@link connectedAppCallerOf},
 * and toMemberSession for members).
 * @throws AmbiguousTokenError
 */
export function callerTypeOf(payload: Readonly<Record<string, unknown>>): CallerType {
  const hasClientId = hasOwn(payload, "client_id");
  const hasScope = hasOwn(payload, "scope");
  if (hasOwn(payload, SESSION_CLAIM)) {
    if (hasClientId || hasScope)
      throw new AmbiguousTokenError("session claims next to client claims (client_id, scope)");
    return "member";
  }
  if (hasClientId) return "connected_app";
  if (hasScope) {
    if (hasOwn(payload, ORGANIZATION_CLAIM))
      throw new AmbiguousTokenError("an M2M token (scope without client_id) with an organization claim");
    return "m2m";
  }
  return "member";
}

/**
 * The M2M caller of an authentic M2M access token: `sub` is an M2M client id, `scope` a scope string.
 * @param expSeconds the token's verified `exp`
 * @throws MalformedClientIdError or MalformedScopeError
 */
export function m2mCallerOf(payload: Readonly<Record<string, unknown>>, expSeconds: number): M2MCaller {
  const { sub } = payload;
  if (typeof sub !== "string" || !M2M_CLIENT_ID.test(sub))
    throw new MalformedClientIdError("an M2M token's sub is not an M2M client id");
  return Object.freeze({
    type: "m2m",
    clientId: sub,
    scopes: scopesOf(payload.scope),
    tokenExpiresAt: new Date(expSeconds * 1000).toISOString(),
    customClaims: customClaimsOf(payload, MACHINE_REGISTERED_CLAIMS),
  });
}

/**
 * The Connected-App caller of an authentic Connected-App access token: `client_id` a Connected-App client id,
 * `scope` a scope string, `sub` the member it acts for, the organization claim with the member's organization
 * id (and slug), `jti` (when present) a string.
 * @param expSeconds the token's verified `exp`
 * @throws MalformedClientIdError, MalformedScopeError or MalformedClaimsError
 */
export function connectedAppCallerOf(
  payload: Readonly<Record<string, unknown>>,
  expSeconds: number,
): ConnectedAppCaller {
  const { client_id: clientId, sub, jti } = payload;
  if (typeof clientId !== "string" || !CONNECTED_APP_CLIENT_ID.test(clientId))
    throw new MalformedClientIdError("a Connected-App token's client_id is not a Connected-App client id");
  const scopes = scopesOf(payload.scope);
  if (typeof sub !== "string" || !MEMBER_ID.test(sub))
    throw new MalformedClaimsError("a Connected-App token's sub is not a member id");
  if (jti !== undefined && typeof jti !== "string") throw new MalformedClaimsError("jti is not a string");
  const organization = payload[ORGANIZATION_CLAIM] as Record<string, unknown> | null | undefined;
  const organizationId =
    typeof organization === "object" && organization !== null ? organization.organization_id : undefined;
  const slug = typeof organization === "object" && organization !== null ? organization.slug : undefined;
  if (typeof organizationId !== "string" || organizationId === "" || (slug !== undefined && typeof slug !== "string"))
    throw new MalformedClaimsError("a Connected-App token has no organization claim with an organization_id");
  return Object.freeze({
    type: "connected_app",
    clientId,
    scopes,
    tokenExpiresAt: new Date(expSeconds * 1000).toISOString(),
    member: Object.freeze({ memberId: sub, organizationId, organizationSlug: slug ?? "" }),
    customClaims: customClaimsOf(payload, MACHINE_REGISTERED_CLAIMS),
  });
}

/**
 * The scopes of a `scope` claim (or an introspection answer's `scope`): RFC 6749 scope tokens separated by single
 * spaces; `""` is no scopes.
 * @throws MalformedScopeError for anything else (not a string, empty entries, control characters, too long)
 */
export function scopesOf(scope: unknown): readonly string[] {
  if (typeof scope !== "string") throw new MalformedScopeError("scope is not a string");
  if (scope.length > MAX_SCOPE_LENGTH || !SCOPE.test(scope))
    throw new MalformedScopeError("scope is not a list of scopes separated by single spaces");
  return Object.freeze(scope === "" ? [] : scope.split(" "));
}

/**
 * A token's custom claims: every claim but the `registered` ones (and keys that would reach an object's prototype),
 * in one shared frozen empty object when there are none.
 */
export function customClaimsOf(
  payload: Readonly<Record<string, unknown>>,
  registered: ReadonlySet<string>,
): Record<string, unknown> {
  let claims: Record<string, unknown> | undefined;
  for (const key in payload) {
    if (registered.has(key) || UNSAFE_KEYS.has(key)) continue;
    (claims ??= {})[key] = payload[key];
  }
  return claims ?? EMPTY_CLAIMS;
}

const EMPTY_CLAIMS: Record<string, unknown> = Object.freeze({});

function hasOwn(payload: Readonly<Record<string, unknown>>, claim: string): boolean {
  return Object.hasOwn(payload, claim);
}
