// Unit tests for lambda/lib/response/member-context.ts: the member is encoded into API Gateway's flat authorizer
// context by the authorizer, and decoded again by downstream Lambdas, for REST and HTTP APIs.

import type { APIGatewayProxyEvent, APIGatewayProxyEventV2WithLambdaAuthorizer } from "aws-lambda";
import { describe, expect, test } from "vitest";
import {
  type AuthorizerContext,
  CONTEXT_KEYS,
  contextBytes,
  getMemberContext,
  hasRole,
  isImpersonated,
  MAX_CONTEXT_BYTES,
  MAX_CONTEXT_FACTORS,
  MAX_CUSTOM_CLAIMS_JSON_LENGTH,
  MAX_EMAIL_LENGTH,
  type MemberSession,
  MissingMemberContextError,
  toAuthorizerContext,
} from "../lambda/lib/response/member-context";
import { thrownBy } from "./support/thrown";

const MEMBER: MemberSession = {
  memberId: "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f",
  memberSessionId: "member-session-test-4b6e4c5f-1e9f-4f0a-8f6e-0c1b2d3e4f50",
  organizationId: "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931",
  organizationSlug: "acme",
  roles: ["stytch_member", "editor"],
  authMethod: "jwt",
  sessionExpiresAt: "2030-01-01T00:00:00Z",
  email: "ada@acme.example",
  customClaims: { tier: "gold", seats: 12, flags: { beta: true }, teams: ["red", "blue"] },
  authenticationFactors: [
    { type: "magic_link", deliveryMethod: "email", lastAuthenticatedAt: "2029-12-31T23:00:00Z" },
    { type: "totp", deliveryMethod: "authenticator_app", lastAuthenticatedAt: "2029-12-31T23:01:00Z" },
  ],
};
const MAGIC_LINK_AND_TOTP =
  '[{"type":"magic_link","delivery_method":"email","last_authenticated_at":"2029-12-31T23:00:00Z"},' +
  '{"type":"totp","delivery_method":"authenticator_app","last_authenticated_at":"2029-12-31T23:01:00Z"}]';
const IMPERSONATED: MemberSession = {
  ...MEMBER,
  authenticationFactors: [
    {
      type: "impersonated",
      deliveryMethod: "impersonation",
      lastAuthenticatedAt: "2029-12-31T23:30:00Z",
      impersonatorId: "member-live-support-1",
    },
  ],
  impersonatorId: "member-live-support-1",
};
const SSO_FACTOR = {
  type: "sso",
  deliveryMethod: "sso_saml",
  lastAuthenticatedAt: "2029-12-31T23:30:00Z",
  connectionId: "saml-connection-test-d89ff7a0-e86f-4b4d-b6a3-9a74d967528e",
};

/**
 * What API Gateway does to a REST authorizer's context before a Lambda proxy integration sees it:
 * every value is stringified, and `principalId` and `integrationLatency` are added.
 */
function restProxyEvent(context: AuthorizerContext, principalId: string): Pick<APIGatewayProxyEvent, "requestContext"> {
  const stringified: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) stringified[key] = String(value);
  return {
    requestContext: {
      accountId: "123456789012",
      apiId: "a1b2c3d4e5",
      authorizer: { ...stringified, principalId, integrationLatency: 42 },
      protocol: "HTTP/1.1",
      httpMethod: "GET",
      identity: {} as APIGatewayProxyEvent["requestContext"]["identity"],
      path: "/prod/orders",
      stage: "prod",
      requestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
      requestTimeEpoch: 1_700_000_000_000,
      resourceId: "abc123",
      resourcePath: "/orders",
    },
  };
}

/** An HTTP API (payload 2.0) proxy event: the context sits under `authorizer.lambda`, as returned. */
function httpApiEvent(
  context: Record<string, unknown>,
): Pick<APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, unknown>>, "requestContext"> {
  return {
    requestContext: {
      accountId: "123456789012",
      apiId: "x7y8z9",
      authorizer: { lambda: context },
      domainName: "x7y8z9.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "x7y8z9",
      http: { method: "GET", path: "/orders", protocol: "HTTP/1.1", sourceIp: "203.0.113.9", userAgent: "test" },
      requestId: "JKJaXmPLvHcESHA=",
      routeKey: "GET /orders",
      stage: "$default",
      time: "12/Mar/2030:19:03:58 +0000",
      timeEpoch: 1_900_000_000_000,
    },
  };
}

/** Asserts that `fn` throws MissingMemberContextError, and returns its message. */
function expectMissing(fn: () => unknown): string {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(MissingMemberContextError);
  expect((caught as Error).name).toBe("MissingMemberContextError");
  return (caught as Error).message;
}

describe("unit tests member-context", () => {
  describe("toAuthorizerContext", () => {
    test("a member becomes exactly the documented flat keys", () => {
      expect(toAuthorizerContext(MEMBER)).toStrictEqual({
        caller_type: "member",
        member_id: MEMBER.memberId,
        member_session_id: MEMBER.memberSessionId,
        organization_id: MEMBER.organizationId,
        organization_slug: "acme",
        roles: '["stytch_member","editor"]',
        auth_method: "jwt",
        session_expires_at: "2030-01-01T00:00:00Z",
        email: "ada@acme.example",
        custom_claims: '{"tier":"gold","seats":12,"flags":{"beta":true},"teams":["red","blue"]}',
        authentication_factors: MAGIC_LINK_AND_TOTP,
      });
    });

    test("the factors travel with their times and Stytch's field names; an impersonated session names its impersonator", () => {
      expect(toAuthorizerContext({ ...MEMBER, authenticationFactors: [SSO_FACTOR] }).authentication_factors).toBe(
        '[{"type":"sso","delivery_method":"sso_saml","last_authenticated_at":"2029-12-31T23:30:00Z","connection_id":"saml-connection-test-d89ff7a0-e86f-4b4d-b6a3-9a74d967528e"}]',
      );
      const context = toAuthorizerContext(IMPERSONATED);
      expect(context.impersonator_id).toBe("member-live-support-1");
      expect(JSON.parse(context.authentication_factors as string)).toEqual([
        {
          type: "impersonated",
          delivery_method: "impersonation",
          last_authenticated_at: "2029-12-31T23:30:00Z",
          impersonator_id: "member-live-support-1",
        },
      ]);
      expect(toAuthorizerContext(MEMBER)).not.toHaveProperty("impersonator_id");
      expect(toAuthorizerContext({ ...MEMBER, authenticationFactors: [] }).authentication_factors).toBe("[]");
    });

    test("at most MAX_CONTEXT_FACTORS factors travel, flagged as truncated beyond; the impersonator stays", () => {
      const many = Array.from({ length: MAX_CONTEXT_FACTORS + 1 }, () => MEMBER.authenticationFactors[1]!);
      const context = toAuthorizerContext({ ...IMPERSONATED, authenticationFactors: many });
      expect(JSON.parse(context.authentication_factors as string)).toHaveLength(MAX_CONTEXT_FACTORS);
      expect(context.authentication_factors_truncated).toBe(true);
      expect(context.impersonator_id).toBe("member-live-support-1");
      expect(toAuthorizerContext({ ...MEMBER, authenticationFactors: many.slice(1) })).not.toHaveProperty(
        "authentication_factors_truncated",
      );
    });

    test("factors give way to a huge identity so that the context stays within its budget; they go before custom claims", () => {
      const long = {
        type: "sso",
        deliveryMethod: "sso_saml",
        lastAuthenticatedAt: "2029-12-31T23:30:00Z",
        connectionId: "c".repeat(128),
      };
      const member = {
        ...MEMBER,
        organizationSlug: "s".repeat(6_000),
        authenticationFactors: Array.from({ length: MAX_CONTEXT_FACTORS }, () => long),
        customClaims: { blob: "x".repeat(1_000) },
      };
      const context = toAuthorizerContext(member);
      expect(contextBytes(context)).toBeLessThanOrEqual(MAX_CONTEXT_BYTES);
      expect(context.authentication_factors_truncated).toBe(true);
      expect(JSON.parse(context.authentication_factors as string).length).toBeGreaterThan(0);
      expect(context.custom_claims_truncated).toBe(true);
      // With a short slug, all of them fit, next to the custom claims.
      const roomy = toAuthorizerContext({ ...member, organizationSlug: "acme" });
      expect(JSON.parse(roomy.authentication_factors as string)).toHaveLength(MAX_CONTEXT_FACTORS);
      expect(roomy).not.toHaveProperty("authentication_factors_truncated");
      expect(roomy).not.toHaveProperty("custom_claims_truncated");
    });

    test("every value is a string, number or boolean", () => {
      /**
       * API Gateway answers 500 (AuthorizerConfigurationException) when a context value is an
       * object or an array, so roles and custom claims must travel as JSON strings.
       */
      const oversized: MemberSession = { ...MEMBER, customClaims: { blob: "x".repeat(MAX_CUSTOM_CLAIMS_JSON_LENGTH) } };
      for (const member of [MEMBER, oversized]) {
        for (const value of Object.values(toAuthorizerContext(member))) {
          expect(["string", "number", "boolean"]).toContain(typeof value);
        }
      }
    });

    test("the email key is present only when the email is known", () => {
      const { email: _, ...withoutEmail } = MEMBER;
      expect(toAuthorizerContext(withoutEmail)).not.toHaveProperty("email");
      expect(toAuthorizerContext({ ...MEMBER, email: "" })).not.toHaveProperty("email");
    });

    test("empty custom claims and empty roles are encoded as {} and []", () => {
      const context = toAuthorizerContext({ ...MEMBER, roles: [], customClaims: {} });
      expect(context.custom_claims).toBe("{}");
      expect(context.roles).toBe("[]");
      expect(context).not.toHaveProperty("custom_claims_truncated");
    });

    test("an opaque-token member keeps its auth method", () => {
      expect(toAuthorizerContext({ ...MEMBER, authMethod: "session_token" }).auth_method).toBe("session_token");
    });

    test("custom claims exactly at the size limit are kept", () => {
      const claims = { blob: "x".repeat(MAX_CUSTOM_CLAIMS_JSON_LENGTH - '{"blob":""}'.length) };
      expect(JSON.stringify(claims)).toHaveLength(MAX_CUSTOM_CLAIMS_JSON_LENGTH);
      const context = toAuthorizerContext({ ...MEMBER, customClaims: claims });
      expect(context.custom_claims).toBe(JSON.stringify(claims));
      expect(context).not.toHaveProperty("custom_claims_truncated");
    });

    test("custom claims one character over the limit are replaced by {} and flagged as truncated", () => {
      /**
       * The context travels with every cached authorizer response and every downstream event; a member with
       * huge custom claims must not push the authorizer response over API Gateway's limits.
       */
      const claims = { blob: "x".repeat(MAX_CUSTOM_CLAIMS_JSON_LENGTH - '{"blob":""}'.length + 1) };
      const context = toAuthorizerContext({ ...MEMBER, customClaims: claims });
      expect(context.custom_claims).toBe("{}");
      expect(context.custom_claims_truncated).toBe(true);
      expect(context.member_id).toBe(MEMBER.memberId);
    });

    test("custom claims that would push the whole context past its budget are left out; the member's identity stays", () => {
      /**
       * Finding 9f: each field may be within its own limit while the whole context is not. Custom
       * claims are what gives way; the ids, slug, roles and session expiry always stay.
       */
      const member = { ...MEMBER, organizationSlug: "s".repeat(6_500), customClaims: { blob: "x".repeat(1_900) } };
      expect(JSON.stringify(member.customClaims).length).toBeLessThanOrEqual(MAX_CUSTOM_CLAIMS_JSON_LENGTH);
      const context = toAuthorizerContext(member);
      expect(context.custom_claims).toBe("{}");
      expect(context.custom_claims_truncated).toBe(true);
      expect(context.organization_slug).toBe(member.organizationSlug);
      expect(context.member_id).toBe(MEMBER.memberId);
      expect(contextBytes(context)).toBeLessThanOrEqual(MAX_CONTEXT_BYTES);
      // The same claims fit next to a short slug.
      expect(toAuthorizerContext({ ...member, organizationSlug: "acme" }).custom_claims).toBe(
        JSON.stringify(member.customClaims),
      );
    });

    test("the budget counts UTF-8 bytes, not characters", () => {
      const member = { ...MEMBER, organizationSlug: "é".repeat(3_200), customClaims: { blob: "x".repeat(1_900) } };
      expect(member.organizationSlug.length + 1_900).toBeLessThan(MAX_CONTEXT_BYTES);
      expect(toAuthorizerContext(member).custom_claims_truncated).toBe(true);
    });

    test("an email longer than any deliverable address is left out of the context", () => {
      const long = `${"e".repeat(MAX_EMAIL_LENGTH - "@acme.example".length + 1)}@acme.example`;
      expect(toAuthorizerContext({ ...MEMBER, email: long })).not.toHaveProperty("email");
      const longest = `${"e".repeat(MAX_EMAIL_LENGTH - "@acme.example".length)}@acme.example`;
      expect(toAuthorizerContext({ ...MEMBER, email: longest }).email).toBe(longest);
    });

    test("the context keys are the documented ones and cannot be changed", () => {
      expect(CONTEXT_KEYS).toStrictEqual({
        memberId: "member_id",
        memberSessionId: "member_session_id",
        organizationId: "organization_id",
        organizationSlug: "organization_slug",
        roles: "roles",
        authMethod: "auth_method",
        sessionExpiresAt: "session_expires_at",
        email: "email",
        customClaims: "custom_claims",
        customClaimsTruncated: "custom_claims_truncated",
        authenticationFactors: "authentication_factors",
        authenticationFactorsTruncated: "authentication_factors_truncated",
        impersonatorId: "impersonator_id",
        callerType: "caller_type",
        clientId: "client_id",
        scopes: "scopes",
        tokenExpiresAt: "token_expires_at",
      });
      expect(Object.isFrozen(CONTEXT_KEYS)).toBe(true);
    });
  });

  describe("getMemberContext", () => {
    test("a member survives the round trip through a REST proxy event, where every value is a string", () => {
      const event = restProxyEvent(toAuthorizerContext(MEMBER), MEMBER.memberId);
      expect(getMemberContext(event)).toStrictEqual(MEMBER);
    });

    test("a member survives the round trip through an HTTP API v2 event", () => {
      const event = httpApiEvent(toAuthorizerContext(MEMBER));
      expect(getMemberContext(event)).toStrictEqual(MEMBER);
    });

    test("factors and the impersonator survive both round trips, and isImpersonated finds the impersonation", () => {
      for (const member of [IMPERSONATED, { ...MEMBER, authenticationFactors: [SSO_FACTOR] }]) {
        expect(getMemberContext(restProxyEvent(toAuthorizerContext(member), member.memberId))).toStrictEqual(member);
        expect(getMemberContext(httpApiEvent(toAuthorizerContext(member)))).toStrictEqual(member);
      }
      expect(isImpersonated(getMemberContext(httpApiEvent(toAuthorizerContext(IMPERSONATED))))).toBe(true);
      expect(isImpersonated(getMemberContext(httpApiEvent(toAuthorizerContext(MEMBER))))).toBe(false);
      // Impersonated without a readable impersonator: still impersonated.
      const { impersonatorId: _, ...anonymous } = IMPERSONATED;
      expect(
        isImpersonated({
          ...anonymous,
          authenticationFactors: [{ ...IMPERSONATED.authenticationFactors[0]!, impersonatorId: undefined }],
        }),
      ).toBe(true);
    });

    test("a context without authentication_factors (an older authorizer) reads as no factors", () => {
      const { authentication_factors: _, ...context } = toAuthorizerContext(MEMBER);
      expect(getMemberContext(httpApiEvent(context)).authenticationFactors).toStrictEqual([]);
    });

    test.each([
      ["not JSON", "[{type:totp}]"],
      ["an object", '{"type":"totp"}'],
      ["a list with a factor lacking its time", '[{"type":"totp","delivery_method":"authenticator_app"}]'],
      ["a list with a number", "[1]"],
    ])("authentication factors that are %s are rejected", (_, factors) => {
      expectMissing(() =>
        getMemberContext(restProxyEvent({ ...toAuthorizerContext(MEMBER), authentication_factors: factors }, "m")),
      );
    });

    test("a member without an email or custom claims survives both round trips", () => {
      const member: MemberSession = { ...MEMBER, authMethod: "session_token", roles: [], customClaims: {} };
      delete (member as { email?: string }).email;
      expect(getMemberContext(restProxyEvent(toAuthorizerContext(member), member.memberId))).toStrictEqual(member);
      expect(getMemberContext(httpApiEvent(toAuthorizerContext(member)))).toStrictEqual(member);
    });

    test("a member whose organization has no slug survives the round trip", () => {
      /**
       * Both producers of a MemberSession fall back to an empty slug when Stytch sends none
       * (session-jwt.ts: JWT organization claim without `slug`; session-verdict.ts: API answer
       * without `organization_slug`). The authorizer then Allows with `organization_slug: ""`,
       * so the downstream decoder must accept what the encoder produced.
       */
      const member: MemberSession = { ...MEMBER, organizationSlug: "" };
      expect(getMemberContext(restProxyEvent(toAuthorizerContext(member), member.memberId))).toStrictEqual(member);
      expect(getMemberContext(httpApiEvent(toAuthorizerContext(member)))).toStrictEqual(member);
    });

    test("a member with truncated custom claims comes back with empty custom claims", () => {
      /**
       * REST stringifies `custom_claims_truncated: true` to "true"; the decoder must not trip
       * over it, and the member simply has no custom claims downstream.
       */
      const big: MemberSession = { ...MEMBER, customClaims: { blob: "x".repeat(MAX_CUSTOM_CLAIMS_JSON_LENGTH) } };
      const event = restProxyEvent(toAuthorizerContext(big), big.memberId);
      expect((event.requestContext.authorizer as Record<string, unknown>).custom_claims_truncated).toBe("true");
      expect(getMemberContext(event)).toStrictEqual({ ...MEMBER, customClaims: {} });
    });

    test("an HTTP API context whose roles and custom claims arrive as real JSON values is accepted", () => {
      const context = {
        ...toAuthorizerContext(MEMBER),
        roles: ["stytch_member", "editor"],
        custom_claims: { tier: "gold" },
      };
      const member = getMemberContext(httpApiEvent(context));
      expect(member.roles).toEqual(["stytch_member", "editor"]);
      expect(member.customClaims).toEqual({ tier: "gold" });
    });

    test("a missing custom_claims key means no custom claims", () => {
      const { custom_claims: _, ...context } = toAuthorizerContext(MEMBER);
      expect(getMemberContext(httpApiEvent(context)).customClaims).toStrictEqual({});
    });

    test("an event without any authorizer context is rejected", () => {
      const rest = restProxyEvent({}, "x");
      delete (rest.requestContext as { authorizer?: unknown }).authorizer;
      expect(expectMissing(() => getMemberContext(rest))).toContain("Stytch authorizer");
      expectMissing(() =>
        getMemberContext({ requestContext: undefined } as unknown as Pick<APIGatewayProxyEvent, "requestContext">),
      );
      expectMissing(() => getMemberContext(undefined as unknown as Pick<APIGatewayProxyEvent, "requestContext">));
    });

    test("a context from another authorizer (IAM, Cognito, JWT) is rejected", () => {
      const jwtAuthorizer = { requestContext: { authorizer: { jwt: { claims: { sub: "user-1" }, scopes: null } } } };
      expectMissing(() => getMemberContext(jwtAuthorizer as unknown as Pick<APIGatewayProxyEvent, "requestContext">));
      expectMissing(() => getMemberContext(httpApiEvent({ userId: "123" })));
    });

    test.each([
      "member_id",
      "member_session_id",
      "organization_id",
      "organization_slug",
      "roles",
      "auth_method",
      "session_expires_at",
    ])("a context without %s is rejected", (key) => {
      const context: Record<string, unknown> = { ...toAuthorizerContext(MEMBER) };
      delete context[key];
      expectMissing(() => getMemberContext(httpApiEvent(context)));
      expectMissing(() => getMemberContext(restProxyEvent(context as AuthorizerContext, MEMBER.memberId)));
    });

    test("an empty member_id is rejected", () => {
      const message = expectMissing(() =>
        getMemberContext(httpApiEvent({ ...toAuthorizerContext(MEMBER), member_id: "" })),
      );
      expect(message).toContain("member_id");
    });

    test("a non-string member_id is rejected", () => {
      expectMissing(() => getMemberContext(httpApiEvent({ ...toAuthorizerContext(MEMBER), member_id: 42 })));
    });

    test.each([
      ["not JSON", "stytch_member,editor", "is not valid JSON"],
      ["a JSON object", '{"0":"stytch_member"}', "has the wrong shape"],
      ["a JSON string", '"stytch_member"', "has the wrong shape"],
      ["an array with a number", '["stytch_member",1]', "has the wrong shape"],
      ["null", "null", "has the wrong shape"],
    ])("roles that are %s are rejected", (_, roles, message) => {
      expect(
        expectMissing(() =>
          getMemberContext(restProxyEvent({ ...toAuthorizerContext(MEMBER), roles }, MEMBER.memberId)),
        ),
      ).toBe(`authorizer context roles ${message}`);
    });

    test.each([
      ["not JSON", "{tier:gold}"],
      ["a JSON array", '["gold"]'],
      ["null", "null"],
      ["a number", "7"],
    ])("custom claims that are %s are rejected", (_, customClaims) => {
      expectMissing(() =>
        getMemberContext(
          restProxyEvent({ ...toAuthorizerContext(MEMBER), custom_claims: customClaims }, MEMBER.memberId),
        ),
      );
    });

    test.each(["password", "JWT", "", "undefined"])("the unknown auth_method %j is rejected", (authMethod) => {
      expectMissing(() => getMemberContext(httpApiEvent({ ...toAuthorizerContext(MEMBER), auth_method: authMethod })));
    });

    test("an empty email is treated as no email", () => {
      const member = getMemberContext(httpApiEvent({ ...toAuthorizerContext(MEMBER), email: "" }));
      expect(member).not.toHaveProperty("email");
    });
  });

  describe("hasRole", () => {
    test("a role of the member is found", () => {
      expect(hasRole(MEMBER, "editor")).toBe(true);
      expect(hasRole(MEMBER, "stytch_member")).toBe(true);
    });

    test("roles are matched exactly, not by prefix or case", () => {
      expect(hasRole(MEMBER, "stytch_admin")).toBe(false);
      expect(hasRole(MEMBER, "Editor")).toBe(false);
      expect(hasRole(MEMBER, "edit")).toBe(false);
      expect(hasRole(MEMBER, "")).toBe(false);
      expect(hasRole({ roles: [] }, "stytch_member")).toBe(false);
    });

    test("roles decoded from a downstream event are checked the same way", () => {
      const member = getMemberContext(restProxyEvent(toAuthorizerContext(MEMBER), MEMBER.memberId));
      expect(hasRole(member, "editor")).toBe(true);
      expect(hasRole(member, "admin")).toBe(false);
    });
  });
});
