// A session's authentication factors in Stytch's wire format (the SDK's `AuthenticationFactor`, reference §11):
// how the member logged in, and when. The same list is in the session JWT's `https://stytch.com/session` claim
// and in the API's `member_session`; the API's copy also carries `created_at` and `updated_at` (reference §5.1).

import type { JsonObject } from "./json";
import type { MemberRecord } from "./organizations";
import type { Project } from "./project";
import { rfc3339 } from "./time";

/**
 * The factors the emulator can put into a session, each as Stytch writes it (`type` / `delivery_method` and the
 * details object):
 * - `magic_link`: `magic_link`/`email`, `email_factor` (the default: an email magic-link login);
 * - `password`: `password`/`knowledge`;
 * - `totp`: `totp`/`authenticator_app`, `authenticator_app_factor`;
 * - `sms_otp`: `otp`/`sms`, `phone_number_factor`;
 * - `recovery_code`: `recovery_codes`/`recovery_code`, `recovery_code_factor`;
 * - `sso_saml`, `sso_oidc`: `sso`/`sso_saml` or `sso_oidc`, `saml_sso_factor` or `oidc_sso_factor` (`provider_id` is
 *   the SSO connection);
 * - `impersonated`: `impersonated`/`impersonation`, `impersonated_factor` (what Stytch's impersonation gives).
 */
export const FACTOR_KINDS = [
  "magic_link",
  "password",
  "totp",
  "sms_otp",
  "recovery_code",
  "sso_saml",
  "sso_oidc",
  "impersonated",
] as const;
export type FactorKind = (typeof FACTOR_KINDS)[number];

/** One factor of a session to create (see `CreateSessionOptions.authenticationFactors`). */
export type EmulatedFactor =
  | {
      readonly kind: FactorKind;
      /** When the member last authenticated it (epoch seconds); default: when the session starts. */
      readonly authenticatedAt?: number;
      /** `sso_saml`/`sso_oidc`: the SSO connection; default a fresh `saml-connection-…`/`oidc-connection-…` ID. */
      readonly connectionId?: string;
      /** `impersonated`: the impersonator's ID and email; default a fresh `member-…` ID and `support@stytch.example`. */
      readonly impersonatorId?: string;
      readonly impersonatorEmail?: string;
    }
  /** A factor exactly as given (the same object in the JWT and the API answer), for tests of malformed input. */
  | { readonly raw: JsonObject };

/** A factor as a session keeps it. */
export type StoredFactor =
  | {
      readonly kind: FactorKind;
      readonly authenticatedAt: number;
      /** The ID of the factor's details object (`totp_id`, `phone_id`, the SSO registration, …). */
      readonly detailId: string;
      readonly connectionId?: string;
      readonly impersonatorId?: string;
      readonly impersonatorEmail?: string;
    }
  | { readonly raw: JsonObject };

/** The factors of a new session, IDs minted; without any given, one email magic-link factor. */
export function storeFactors(
  factors: readonly EmulatedFactor[] | undefined,
  startedAt: number,
  project: Project,
): StoredFactor[] {
  return (factors ?? [{ kind: "magic_link" }]).map((factor) => {
    if ("raw" in factor) return { raw: structuredClone(factor.raw) };
    const { kind } = factor;
    if (!(FACTOR_KINDS as readonly string[]).includes(kind)) throw new RangeError(`unknown factor kind ${kind}`);
    const authenticatedAt = factor.authenticatedAt ?? startedAt;
    if (!Number.isFinite(authenticatedAt)) throw new RangeError("authenticatedAt must be a finite number");
    return {
      kind,
      authenticatedAt,
      detailId: project.newId(DETAIL_ID_PREFIX[kind]),
      ...(kind === "sso_saml" || kind === "sso_oidc"
        ? {
            connectionId:
              factor.connectionId ?? project.newId(kind === "sso_saml" ? "saml-connection" : "oidc-connection"),
          }
        : {}),
      ...(kind === "impersonated"
        ? {
            impersonatorId: factor.impersonatorId ?? project.newId("member"),
            impersonatorEmail: factor.impersonatorEmail ?? "support@stytch.example",
          }
        : {}),
    };
  });
}

const DETAIL_ID_PREFIX: Readonly<Record<FactorKind, string>> = {
  magic_link: "email",
  password: "member-password",
  totp: "member-totp",
  sms_otp: "phone-number",
  recovery_code: "member-totp-recovery-code",
  sso_saml: "saml-registration",
  sso_oidc: "oidc-registration",
  impersonated: "impersonation",
};

/** A stored factor in Stytch's wire format; the API's object carries created_at/updated_at, the JWT's does not. */
export function factorObject(factor: StoredFactor, member: MemberRecord, withTimestamps: boolean): JsonObject {
  if ("raw" in factor) return structuredClone(factor.raw);
  const at = rfc3339(factor.authenticatedAt);
  const [type, deliveryMethod, details] = wireForm(factor, member);
  return {
    type,
    delivery_method: deliveryMethod,
    last_authenticated_at: at,
    ...(withTimestamps ? { created_at: at, updated_at: at } : {}),
    ...details,
  };
}

function wireForm(
  factor: Exclude<StoredFactor, { raw: JsonObject }>,
  member: MemberRecord,
): [string, string, JsonObject] {
  switch (factor.kind) {
    case "magic_link":
      // The member's email: the email factor of a login is the member's own address.
      return ["magic_link", "email", { email_factor: { email_id: member.emailId, email_address: member.email } }];
    case "password":
      return ["password", "knowledge", {}];
    case "totp":
      return ["totp", "authenticator_app", { authenticator_app_factor: { totp_id: factor.detailId } }];
    case "sms_otp":
      return ["otp", "sms", { phone_number_factor: { phone_id: factor.detailId, phone_number: "+15005550006" } }];
    case "recovery_code":
      return ["recovery_codes", "recovery_code", { recovery_code_factor: { totp_recovery_code_id: factor.detailId } }];
    case "sso_saml":
    case "sso_oidc": {
      const details = { id: factor.detailId, provider_id: factor.connectionId!, external_id: member.email };
      return factor.kind === "sso_saml"
        ? ["sso", "sso_saml", { saml_sso_factor: details }]
        : ["sso", "sso_oidc", { oidc_sso_factor: details }];
    }
    case "impersonated":
      return [
        "impersonated",
        "impersonation",
        {
          impersonated_factor: {
            impersonator_id: factor.impersonatorId!,
            impersonator_email_address: factor.impersonatorEmail!,
          },
        },
      ];
  }
}
