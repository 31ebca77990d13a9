// Unit tests for lambda/lib/response/caller-context.ts: a machine caller is encoded into API Gateway's flat context,
// and getCallerContext decodes any caller (members included) for downstream Lambdas of routes open to several types.

import type { APIGatewayProxyEvent } from "aws-lambda";
import { describe, expect, test } from "vitest";
import type { ConnectedAppCaller, M2MCaller } from "../lambda/lib/callers/caller";
import { getCallerContext, machineAuthorizerContext } from "../lambda/lib/response/caller-context";
import {
  type AuthorizerContext,
  getMemberContext,
  MAX_CONTEXT_BYTES,
  type MemberSession,
  MissingMemberContextError,
  toAuthorizerContext,
} from "../lambda/lib/response/member-context";
import { thrownBy } from "./support/thrown";

const M2M: M2MCaller = {
  type: "m2m",
  clientId: "m2m-client-test-d731954d-dab3-4a2b-bdee-07f3ad1be885",
  scopes: ["read:documents", "write:*"],
  tokenExpiresAt: "2030-01-01T01:00:00.000Z",
  customClaims: { region: "eu" },
};
const APP: ConnectedAppCaller = {
  type: "connected_app",
  clientId: "connected-app-test-d731954d-dab3-4a2b-bdee-07f3ad1be888",
  scopes: ["openid", "read:documents"],
  tokenExpiresAt: "2030-01-01T01:00:00.000Z",
  member: {
    memberId: "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f",
    organizationId: "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931",
    organizationSlug: "acme",
  },
  customClaims: {},
};
const MEMBER: MemberSession = {
  memberId: "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f",
  memberSessionId: "member-session-test-4b6e4c5f-1e9f-4f0a-8f6e-0c1b2d3e4f50",
  organizationId: "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931",
  organizationSlug: "acme",
  roles: ["stytch_member"],
  authMethod: "jwt",
  sessionExpiresAt: "2030-01-01T00:00:00Z",
  customClaims: {},
  authenticationFactors: [],
};

/** A REST proxy event: API Gateway stringifies every context value. */
function restEvent(context: AuthorizerContext): Pick<APIGatewayProxyEvent, "requestContext"> {
  const stringified: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) stringified[key] = String(value);
  return {
    requestContext: { requestId: "r-1", authorizer: { ...stringified, principalId: "p", integrationLatency: 3 } },
  } as unknown as Pick<APIGatewayProxyEvent, "requestContext">;
}

/** An HTTP API payload 2.0 event: the context as returned, under `lambda`. */
function httpEvent(context: Record<string, unknown>) {
  return { requestContext: { requestId: "r-2", authorizer: { lambda: context } } };
}

describe("machineAuthorizerContext", () => {
  test("an M2M client: its type, client id, scopes as JSON, expiry and custom claims; no member keys", () => {
    expect(machineAuthorizerContext(M2M)).toStrictEqual({
      caller_type: "m2m",
      client_id: M2M.clientId,
      scopes: '["read:documents","write:*"]',
      token_expires_at: M2M.tokenExpiresAt,
      custom_claims: '{"region":"eu"}',
    });
  });

  test("a Connected App: the app, and the member it acts for under the members' keys (no session, no roles)", () => {
    expect(machineAuthorizerContext(APP)).toStrictEqual({
      caller_type: "connected_app",
      client_id: APP.clientId,
      scopes: '["openid","read:documents"]',
      token_expires_at: APP.tokenExpiresAt,
      custom_claims: "{}",
      member_id: APP.member.memberId,
      organization_id: APP.member.organizationId,
      organization_slug: "acme",
    });
  });

  test("custom claims too large for API Gateway are left out, and said so", () => {
    const context = machineAuthorizerContext({ ...M2M, customClaims: { blob: "x".repeat(MAX_CONTEXT_BYTES) } });
    expect(context.custom_claims).toBe("{}");
    expect(context.custom_claims_truncated).toBe(true);
  });
});

describe("getCallerContext: a discriminated union on type", () => {
  test.each([
    ["REST", restEvent],
    ["HTTP API", httpEvent],
  ] as const)("%s: every caller type comes back as it was encoded", (_api, eventOf) => {
    expect(getCallerContext(eventOf(machineAuthorizerContext(M2M)))).toEqual(M2M);
    expect(getCallerContext(eventOf(machineAuthorizerContext(APP)))).toEqual(APP);
    expect(getCallerContext(eventOf(toAuthorizerContext(MEMBER)))).toEqual({ type: "member", member: MEMBER });
  });

  test("a context without caller_type (an authorizer before machine callers) is a member's", () => {
    const { caller_type: _, ...old } = toAuthorizerContext(MEMBER);
    expect(getCallerContext(restEvent(old))).toEqual({ type: "member", member: MEMBER });
    expect(getMemberContext(restEvent(old))).toEqual(MEMBER);
  });

  test("an unknown caller type, or a machine context without its client id, is refused", () => {
    expect(
      thrownBy(() => getCallerContext(httpEvent({ ...machineAuthorizerContext(M2M), caller_type: "robot" }))),
    ).toBeInstanceOf(MissingMemberContextError);
    const { client_id: _, ...noClient } = machineAuthorizerContext(M2M);
    expect(thrownBy(() => getCallerContext(httpEvent(noClient)))).toBeInstanceOf(MissingMemberContextError);
    expect(thrownBy(() => getCallerContext({ requestContext: { requestId: "r" } }))).toBeInstanceOf(
      MissingMemberContextError,
    );
  });
});

describe("getMemberContext on a machine caller's event", () => {
  test("is refused, naming getCallerContext, so that a machine is never read as a member", () => {
    for (const caller of [M2M, APP]) {
      const error = thrownBy(() => getMemberContext(restEvent(machineAuthorizerContext(caller))));
      expect(error).toBeInstanceOf(MissingMemberContextError);
      expect((error as Error).message).toMatch(/getCallerContext/);
    }
  });
});
