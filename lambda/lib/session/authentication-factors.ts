// Stytch's `authentication_factors`, read into the member session (see readAuthenticationFactors).

import type { AuthenticationFactor } from "../response/member-context";

// Stytch's types and delivery methods are lower-case identifiers (`totp`, `authenticator_app`, `sso_saml`).
const IDENTIFIER = /^[a-z0-9_]{1,64}$/;
// Stytch's timestamps: RFC 3339 in UTC, second precision (`2024-07-16T20:38:53Z`); fractions and offsets are
// accepted too. Anything else is not a date this reader trusts.
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
// Stytch IDs (`saml-connection-test-…`, `member-live-…`): printable, no quotes, bounded.
const ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const UNREADABLE: AuthenticationFactor = Object.freeze({ type: "", deliveryMethod: "", lastAuthenticatedAt: "" });
const NONE: readonly AuthenticationFactor[] = Object.freeze([]);

/**
 * Reads the `authentication_factors` of a Stytch session, from the session JWT's `https://stytch.com/session`
 * claim or from the API's `member_session` (the same shape, reference §11; the SDK's `AuthenticationFactor`).
 * It never throws: the session is still the member's, whatever its factor list looks like. What it cannot
 * trust is read as empty, so that the factor proves nothing (lambda/lib/permissions/step-up.ts then refuses
 * the session wherever a route has step-up requirements):
 *
 * - a `type` or `delivery_method` that is not a lower-case identifier of at most 64 characters reads `""`;
 * - a `last_authenticated_at` that is missing or not an RFC 3339 date reads `""`;
 * - an entry that is not an object, or a list that is not a list, reads as one factor with every field `""`.
 *
 * An impersonated factor is found wherever it is, and by any of its marks (`type` `impersonated`,
 * `delivery_method` `impersonation`, or an `impersonated_factor`): it is then read as Stytch's impersonated
 * factor, whatever else the entry claims, so that it cannot hide among the others.
 */
export function readAuthenticationFactors(value: unknown): readonly AuthenticationFactor[] {
  if (!Array.isArray(value)) return [UNREADABLE];
  if (value.length === 0) return NONE;
  const factors: AuthenticationFactor[] = [];
  for (const entry of value) factors.push(readFactor(entry));
  return factors;
}

/** The impersonator's ID of the first impersonated factor that names one. */
export function impersonatorOf(factors: readonly AuthenticationFactor[]): string | undefined {
  for (const factor of factors) if (factor.impersonatorId !== undefined) return factor.impersonatorId;
  return undefined;
}

function readFactor(entry: unknown): AuthenticationFactor {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return UNREADABLE;
  const factor = entry as Record<string, unknown>;
  const lastAuthenticatedAt = dateOf(factor.last_authenticated_at);
  if (
    factor.type === "impersonated" ||
    factor.delivery_method === "impersonation" ||
    factor.impersonated_factor !== undefined
  ) {
    const impersonatorId = idOf((factor.impersonated_factor as { impersonator_id?: unknown } | null)?.impersonator_id);
    return {
      type: "impersonated",
      deliveryMethod: "impersonation",
      lastAuthenticatedAt,
      ...(impersonatorId !== undefined ? { impersonatorId } : {}),
    };
  }
  const type = identifierOf(factor.type);
  const deliveryMethod = identifierOf(factor.delivery_method);
  if (type !== "sso") return { type, deliveryMethod, lastAuthenticatedAt };
  // The SSO connection sits in the details object of the protocol the delivery method names.
  const details =
    deliveryMethod === "sso_saml"
      ? factor.saml_sso_factor
      : deliveryMethod === "sso_oidc"
        ? factor.oidc_sso_factor
        : undefined;
  const connectionId = idOf((details as { provider_id?: unknown } | null | undefined)?.provider_id);
  return { type, deliveryMethod, lastAuthenticatedAt, ...(connectionId !== undefined ? { connectionId } : {}) };
}

function identifierOf(value: unknown): string {
  return typeof value === "string" && IDENTIFIER.test(value) ? value : "";
}

function idOf(value: unknown): string | undefined {
  return typeof value === "string" && ID.test(value) ? value : undefined;
}

/** The timestamp as Stytch wrote it, when it is a real RFC 3339 date (no February 30th, no hour 24). */
function dateOf(value: unknown): string {
  if (typeof value !== "string" || !RFC_3339.test(value)) return "";
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return "";
  if (Number(value.slice(11, 13)) > 23 || Number(value.slice(14, 16)) > 59 || Number(value.slice(17, 19)) > 59)
    return "";
  // An offset (`+02:00`) is hours 0–23 and minutes 0–59 too.
  if (!value.endsWith("Z") && (Number(value.slice(-5, -3)) > 23 || Number(value.slice(-2)) > 59)) return "";
  return value;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
