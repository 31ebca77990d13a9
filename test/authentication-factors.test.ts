// Unit tests for lambda/lib/session/authentication-factors.ts: Stytch's authentication_factors read into the
// member session, never throwing, and never trusting what is not in Stytch's shape.

import { describe, expect, test } from "vitest";
import { impersonatorOf, readAuthenticationFactors } from "../lambda/lib/session/authentication-factors";

const AT = "2026-03-01T12:00:00Z";

describe("readAuthenticationFactors", () => {
  test("Stytch's factors are read with their type, delivery method and time", () => {
    expect(
      readAuthenticationFactors([
        {
          type: "magic_link",
          delivery_method: "email",
          last_authenticated_at: AT,
          created_at: AT,
          updated_at: AT,
          email_factor: { email_id: "email-test-1", email_address: "ada@acme.example" },
        },
        {
          type: "totp",
          delivery_method: "authenticator_app",
          last_authenticated_at: "2026-03-01T12:01:00Z",
          authenticator_app_factor: { totp_id: "member-totp-test-1" },
        },
      ]),
    ).toEqual([
      { type: "magic_link", deliveryMethod: "email", lastAuthenticatedAt: AT },
      { type: "totp", deliveryMethod: "authenticator_app", lastAuthenticatedAt: "2026-03-01T12:01:00Z" },
    ]);
  });

  test("an SSO factor names its connection: the provider_id of the details object its delivery method names", () => {
    const connection = "saml-connection-test-d89ff7a0-e86f-4b4d-b6a3-9a74d967528e";
    const details = { id: "saml-registration-test-1", provider_id: connection, external_id: "ada" };
    expect(
      readAuthenticationFactors([
        { type: "sso", delivery_method: "sso_saml", last_authenticated_at: AT, saml_sso_factor: details },
      ]),
    ).toEqual([{ type: "sso", deliveryMethod: "sso_saml", lastAuthenticatedAt: AT, connectionId: connection }]);
    expect(
      readAuthenticationFactors([
        { type: "sso", delivery_method: "sso_oidc", last_authenticated_at: AT, oidc_sso_factor: details },
      ])[0]?.connectionId,
    ).toBe(connection);
    // The OIDC details under a SAML delivery method name no connection.
    expect(
      readAuthenticationFactors([
        { type: "sso", delivery_method: "sso_saml", last_authenticated_at: AT, oidc_sso_factor: details },
      ])[0],
    ).not.toHaveProperty("connectionId");
  });

  test("an impersonated factor names the impersonator", () => {
    const factors = readAuthenticationFactors([
      {
        type: "impersonated",
        delivery_method: "impersonation",
        last_authenticated_at: AT,
        impersonated_factor: { impersonator_id: "member-live-support", impersonator_email_address: "s@stytch.com" },
      },
    ]);
    expect(factors).toEqual([
      {
        type: "impersonated",
        deliveryMethod: "impersonation",
        lastAuthenticatedAt: AT,
        impersonatorId: "member-live-support",
      },
    ]);
    expect(impersonatorOf(factors)).toBe("member-live-support");
  });

  test.each([
    ["a type of impersonated", { type: "impersonated", delivery_method: "email" }],
    ["a delivery method of impersonation", { type: "totp", delivery_method: "impersonation" }],
    [
      "an impersonated_factor on a TOTP factor",
      {
        type: "totp",
        delivery_method: "authenticator_app",
        impersonated_factor: { impersonator_id: "member-live-x", impersonator_email_address: "x@y" },
      },
    ],
  ])(
    "an impersonated factor hidden among others is found by %s, and read as impersonated whatever else it claims",
    (_, entry) => {
      const factors = readAuthenticationFactors([
        { type: "magic_link", delivery_method: "email", last_authenticated_at: AT },
        { ...entry, last_authenticated_at: AT },
        { type: "totp", delivery_method: "authenticator_app", last_authenticated_at: AT },
      ]);
      expect(factors[1]).toMatchObject({ type: "impersonated", deliveryMethod: "impersonation" });
    },
  );

  test.each([
    ["missing", undefined],
    ["a number", 1_772_366_400],
    ["not a date", "yesterday"],
    ["a date without a time", "2026-03-01"],
    ["February 30th", "2026-02-30T12:00:00Z"],
    ["hour 24", "2026-03-01T24:00:00Z"],
    ["a leap second", "2026-03-01T23:59:60Z"],
    ["an offset of 24 hours", "2026-03-01T12:00:00+24:00"],
    ["padded with a space", ` ${AT}`],
  ])("a last_authenticated_at that is %s reads as empty: the factor proves nothing", (_, value) => {
    expect(
      readAuthenticationFactors([
        { type: "totp", delivery_method: "authenticator_app", last_authenticated_at: value },
      ])[0]?.lastAuthenticatedAt,
    ).toBe("");
  });

  test("RFC 3339 with fractions, offsets and leap days is read as written", () => {
    for (const at of ["2026-03-01T12:00:00.123Z", "2026-03-01T14:00:00+02:00", "2028-02-29T00:00:00Z"]) {
      expect(
        readAuthenticationFactors([
          { type: "totp", delivery_method: "authenticator_app", last_authenticated_at: at },
        ])[0]?.lastAuthenticatedAt,
      ).toBe(at);
    }
  });

  test("a type or delivery method that is not a lower-case identifier reads as empty; unknown identifiers are kept", () => {
    const [odd, quoted, unknown] = readAuthenticationFactors([
      { type: "TOTP", delivery_method: 7, last_authenticated_at: AT },
      { type: 'totp"', delivery_method: "x".repeat(65), last_authenticated_at: AT },
      { type: "passkey", delivery_method: "webauthn_registration", last_authenticated_at: AT },
    ]);
    expect(odd).toMatchObject({ type: "", deliveryMethod: "" });
    expect(quoted).toMatchObject({ type: "", deliveryMethod: "" });
    expect(unknown).toMatchObject({ type: "passkey", deliveryMethod: "webauthn_registration" });
  });

  test("a list that is not a list, or an entry that is not an object, reads as a factor with nothing in it", () => {
    const nothing = { type: "", deliveryMethod: "", lastAuthenticatedAt: "" };
    expect(readAuthenticationFactors(undefined)).toEqual([nothing]);
    expect(readAuthenticationFactors({ type: "totp" })).toEqual([nothing]);
    expect(readAuthenticationFactors([null, "totp", []])).toEqual([nothing, nothing, nothing]);
    expect(readAuthenticationFactors([])).toEqual([]);
  });

  test("IDs that could break out of the context's JSON, or are unbounded, are left out", () => {
    const [sso, impersonated] = readAuthenticationFactors([
      {
        type: "sso",
        delivery_method: "sso_saml",
        last_authenticated_at: AT,
        saml_sso_factor: { provider_id: 'saml-connection-test-1"}' },
      },
      {
        type: "impersonated",
        delivery_method: "impersonation",
        last_authenticated_at: AT,
        impersonated_factor: { impersonator_id: "m".repeat(129) },
      },
    ]);
    expect(sso).not.toHaveProperty("connectionId");
    expect(impersonated).not.toHaveProperty("impersonatorId");
    expect(impersonated?.type).toBe("impersonated");
  });
});
