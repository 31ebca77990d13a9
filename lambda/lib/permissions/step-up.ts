// Step-up requirements of a route: how and how recently the member authenticated, and impersonation (see
// StepUpRequirement and checkStepUp; docs/step-up.md).

import type { AuthenticationFactor } from "../response/member-context";

/**
 * The factor vocabulary of a route's `step_up.factors`, each a set of Stytch factors (`type` and
 * `delivery_method`, as in Stytch's `AuthenticationFactor`):
 *
 * | requirement | Stytch factors                                                                                        |
 * | ----------- | ----------------------------------------------------------------------------------------------------- |
 * | `mfa`       | `totp`/`authenticator_app`, `otp`/`sms`, `recovery_codes`/`recovery_code` (Stytch's B2B MFA methods)    |
 * | `totp`      | `totp`/`authenticator_app`                                                                            |
 * | `sms_otp`   | `otp`/`sms`                                                                                           |
 * | `sso`       | `sso`/`sso_saml`, `sso`/`sso_oidc`                                                                    |
 * | `sso:<id>`  | `sso` through that SSO connection (`saml-connection-…`/`oidc-connection-…`: the factor's `provider_id`) |
 */
export const FACTOR_REQUIREMENTS = ["mfa", "totp", "sms_otp", "sso"] as const;

/** One entry of `step_up.factors`: a word of {@link FACTOR_REQUIREMENTS}, or `sso:<connection_id>`. */
export type FactorRequirement = (typeof FACTOR_REQUIREMENTS)[number] | `sso:${string}`;

/**
 * What an impersonated session (Stytch's `impersonated` factor: support staff acting as the member) may do on the
 * route: nothing (`refused`, the default), anything (`allowed`), or only safe methods (`read_only`: GET, HEAD,
 * OPTIONS).
 */
export const IMPERSONATION_RULES = ["refused", "allowed", "read_only"] as const;
export type ImpersonationRule = (typeof IMPERSONATION_RULES)[number];

/** The methods `read_only` admits: those that change nothing (RFC 9110 §9.2.1). */
export const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);
/** The longest freshness limit: one day. */
export const MAX_WITHIN_MINUTES = 1_440;
/** At most this many factor requirements per route. */
const MAX_FACTOR_REQUIREMENTS = 8;

/**
 * A route's step-up requirements, next to its permission: the member's session must have authenticated in one
 * of these ways, recently enough, and impersonated sessions get the route only as their rule says.
 *
 * For an impersonated session, {@link impersonation} alone decides: the factors of such a session are the
 * impersonation, never the member's own proof, so `factors` and `withinMinutes` apply to the member's own
 * sessions only.
 */
export interface StepUpRequirement {
  /** One of these must hold; empty: any factor (then `withinMinutes` says how recent). */
  readonly factors: readonly FactorRequirement[];
  /** The factor must have been authenticated less than this many minutes ago; `undefined`: any time. */
  readonly withinMinutes: number | undefined;
  readonly impersonation: ImpersonationRule;
}

/** The step-up verdict for one route: `allowed`, or the 403 reason. */
export type StepUpOutcome = "allowed" | "step_up_required" | "impersonation_refused";

// Stytch's factor types (the SDK's AuthenticationFactor.type): a factor of another type proves nothing here.
const KNOWN_FACTOR_TYPES: ReadonlySet<string> = new Set([
  "magic_link",
  "otp",
  "oauth",
  "webauthn",
  "totp",
  "crypto",
  "password",
  "signature_challenge",
  "sso",
  "imported",
  "recovery_codes",
  "email_otp",
  "impersonated",
  "trusted_auth_token",
]);
// Stytch's SSO connection IDs: `saml-connection-test-d89ff7a0-…`, `oidc-connection-live-…`.
const SSO_CONNECTION_ID = /^(saml|oidc)-connection-(test|live)-[A-Za-z0-9-]{1,64}$/;
const STEP_UP_KEYS = new Set(["factors", "within_minutes", "impersonation"]);

/**
 * Parses a route's `step_up` (the table's JSON form: `{"factors": ["mfa"], "within_minutes": 15,
 * "impersonation": "read_only"}`).
 * @param method the route's method: `read_only` on a method that is never safe is a mistake
 * @returns the requirement, or the problem (a phrase that follows the route key in the error message)
 */
export function parseStepUp(value: unknown, method: string): StepUpRequirement | string {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return 'has a step_up that is not an object such as {"factors": ["mfa"], "within_minutes": 15}';
  const object = value as Record<string, unknown>;
  const unknown = Object.keys(object).filter((key) => !STEP_UP_KEYS.has(key));
  if (unknown.length > 0)
    return `has unknown step_up key(s) ${unknown.map((key) => JSON.stringify(key)).join(", ")} (known: factors, within_minutes, impersonation)`;
  const { factors, within_minutes: within, impersonation } = object;
  if (factors === undefined && within === undefined && impersonation === undefined)
    return "has an empty step_up: give factors, within_minutes or impersonation";
  const requirements: FactorRequirement[] = [];
  if (factors !== undefined) {
    if (!Array.isArray(factors) || factors.length === 0 || factors.length > MAX_FACTOR_REQUIREMENTS)
      return `has step_up factors that are not a list of 1 to ${MAX_FACTOR_REQUIREMENTS} of ${vocabulary()}`;
    for (const factor of factors) {
      if (!isFactorRequirement(factor))
        return `has the step_up factor ${quoted(factor)}, which is not one of ${vocabulary()}`;
      if (requirements.includes(factor)) return `names the step_up factor "${factor}" twice`;
      requirements.push(factor);
    }
  }
  if (
    within !== undefined &&
    !(Number.isInteger(within) && (within as number) >= 1 && (within as number) <= MAX_WITHIN_MINUTES)
  )
    return `has a step_up within_minutes that is not a whole number of minutes from 1 to ${MAX_WITHIN_MINUTES}`;
  const rule = impersonation ?? "refused";
  if (!(IMPERSONATION_RULES as readonly unknown[]).includes(rule))
    return `has a step_up impersonation that is not one of ${IMPERSONATION_RULES.map((r) => `"${r}"`).join(", ")}`;
  if (rule === "read_only" && method !== "ANY" && !SAFE_METHODS.has(method))
    return `allows impersonation read_only on ${method}, which is never read-only: say "refused" (or "allowed")`;
  return Object.freeze({
    factors: Object.freeze(requirements),
    withinMinutes: within as number | undefined,
    impersonation: rule as ImpersonationRule,
  });
}

/** A requirement in the table's JSON form (the inverse of {@link parseStepUp}), with its impersonation rule spelled out. */
export function stepUpJson(requirement: StepUpRequirement): Record<string, unknown> {
  return {
    ...(requirement.factors.length > 0 ? { factors: [...requirement.factors] } : {}),
    ...(requirement.withinMinutes !== undefined ? { within_minutes: requirement.withinMinutes } : {}),
    impersonation: requirement.impersonation,
  };
}

/**
 * Judges a member's session against a route's step-up requirement, at `nowMs`, for an answer that may be reused
 * until `nowMs + horizonMs` (API Gateway's result cache): a freshness limit must still hold then.
 *
 * 1. Impersonated (a factor of type `impersonated`, wherever it is): `refused`, or `read_only` with a method
 *    that is not safe (or not known: a TOKEN event, an `ANY` route in a cached answer), is `impersonation_refused`.
 * 2. Every factor must be one this authorizer can judge, or nothing is proven and the answer is
 *    `step_up_required`: a known Stytch type, a delivery method, and a `last_authenticated_at` that is a date
 *    and not in the future (beyond the clock tolerance).
 * 3. An impersonated session admitted by its rule is `allowed` (see {@link StepUpRequirement}), and so is any
 *    session when the requirement is about impersonation only.
 * 4. Otherwise one factor must meet one of the requirement's factors (any, when none is listed) and, with a
 *    freshness limit, have been authenticated less than `withinMinutes` before `nowMs + horizonMs`.
 * @param method the request's method, when known
 */
export function checkStepUp(
  requirement: StepUpRequirement,
  factors: readonly AuthenticationFactor[],
  method: string | undefined,
  nowMs: number,
  horizonMs: number,
  toleranceMs: number,
): StepUpOutcome {
  let impersonated = false;
  for (const factor of factors) if (factor.type === "impersonated") impersonated = true;
  if (impersonated) {
    if (requirement.impersonation === "refused") return "impersonation_refused";
    if (requirement.impersonation === "read_only" && !(method !== undefined && SAFE_METHODS.has(method)))
      return "impersonation_refused";
  }
  const latest = nowMs + toleranceMs;
  for (const factor of factors) {
    if (!KNOWN_FACTOR_TYPES.has(factor.type) || factor.deliveryMethod === "") return "step_up_required";
    const at = Date.parse(factor.lastAuthenticatedAt);
    if (!(at <= latest)) return "step_up_required";
  }
  const { withinMinutes } = requirement;
  if (impersonated || (requirement.factors.length === 0 && withinMinutes === undefined)) return "allowed";
  const until = nowMs + horizonMs;
  for (const factor of factors) {
    if (requirement.factors.length > 0 && !requirement.factors.some((wanted) => meets(factor, wanted))) continue;
    if (withinMinutes !== undefined && Date.parse(factor.lastAuthenticatedAt) + withinMinutes * 60_000 <= until)
      continue;
    return "allowed";
  }
  return "step_up_required";
}

/** Whether a factor is one of the Stytch factors a requirement stands for (see {@link FACTOR_REQUIREMENTS}). */
function meets(factor: AuthenticationFactor, requirement: FactorRequirement): boolean {
  const { type, deliveryMethod } = factor;
  const totp = type === "totp" && deliveryMethod === "authenticator_app";
  const smsOtp = type === "otp" && deliveryMethod === "sms";
  const sso = type === "sso" && (deliveryMethod === "sso_saml" || deliveryMethod === "sso_oidc");
  switch (requirement) {
    case "mfa":
      return totp || smsOtp || (type === "recovery_codes" && deliveryMethod === "recovery_code");
    case "totp":
      return totp;
    case "sms_otp":
      return smsOtp;
    case "sso":
      return sso;
    default:
      return sso && factor.connectionId === requirement.slice("sso:".length);
  }
}

function isFactorRequirement(value: unknown): value is FactorRequirement {
  if (typeof value !== "string") return false;
  if ((FACTOR_REQUIREMENTS as readonly string[]).includes(value)) return true;
  return value.startsWith("sso:") && SSO_CONNECTION_ID.test(value.slice("sso:".length));
}

function vocabulary(): string {
  return `${FACTOR_REQUIREMENTS.map((word) => `"${word}"`).join(", ")} or "sso:<saml-connection-… or oidc-connection-…>"`;
}

function quoted(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
