// Which caller a token names, by its claims alone, and the claims each machine caller must have.

import { describe, expect, test } from "vitest";
import { m2mScopesGrant } from "../lambda/lib/callers/m2m-scopes";
import {
  callerTypeOf,
  connectedAppCallerOf,
  MAX_SCOPE_LENGTH,
  m2mCallerOf,
  scopesOf,
} from "../lambda/lib/callers/token-claims";
import type { AuthorizerError } from "../lambda/lib/errors";
import { thrownBy } from "./support/thrown";

const SESSION = "https://stytch.com/session";
const ORGANIZATION = "https://stytch.com/organization";
const M2M_CLIENT = "m2m-client-test-d731954d-dab3-4a2b-bdee-07f3ad1be885";
const APP = "connected-app-test-d731954d-dab3-4a2b-bdee-07f3ad1be888";
const MEMBER = "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f";
const ORG = "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931";
const EXP = 4_102_476_900;

const reasonOf = (fn: () => unknown) => (thrownBy(fn) as AuthorizerError).reason;

describe("callerTypeOf: one type by the claims, or refused", () => {
  test.each([
    ["session claims", { [SESSION]: {}, [ORGANIZATION]: {} }, "member"],
    ["nothing of either (refused later as not a member session)", { sub: MEMBER }, "member"],
    ["client_id", { client_id: APP, scope: "read:documents", [ORGANIZATION]: {} }, "connected_app"],
    ["client_id without scope (refused later: scope is not a string)", { client_id: APP }, "connected_app"],
    ["scope without client_id", { sub: M2M_CLIENT, scope: "read:documents" }, "m2m"],
    ["a null scope (a scope claim all the same)", { sub: M2M_CLIENT, scope: null }, "m2m"],
  ])("%s", (_name, payload, type) => {
    expect(callerTypeOf(payload)).toBe(type);
  });

  test.each([
    ["session claims and a scope", { [SESSION]: {}, scope: "read:documents" }],
    ["session claims and a client_id", { [SESSION]: {}, client_id: APP }],
    ["a null session claim and a scope", { [SESSION]: null, scope: "" }],
    [
      "a scope without client_id, with an organization",
      { scope: "read:documents", [ORGANIZATION]: { organization_id: ORG } },
    ],
  ])("refuses %s as ambiguous", (_name, payload) => {
    expect(reasonOf(() => callerTypeOf(payload))).toBe("ambiguous_token");
  });

  test("an inherited property is no claim", () => {
    const payload = Object.create({ scope: "read:documents", client_id: APP }) as Record<string, unknown>;
    payload[SESSION] = {};
    expect(callerTypeOf(payload)).toBe("member");
  });
});

describe("m2mCallerOf", () => {
  test("the client id, the scopes, the expiry and the custom claims", () => {
    const caller = m2mCallerOf(
      {
        sub: M2M_CLIENT,
        scope: "read:documents write:*",
        iss: "x",
        aud: ["p"],
        iat: 1,
        nbf: 1,
        exp: EXP,
        tier: "gold",
      },
      EXP,
    );
    expect(caller).toEqual({
      type: "m2m",
      clientId: M2M_CLIENT,
      scopes: ["read:documents", "write:*"],
      tokenExpiresAt: new Date(EXP * 1000).toISOString(),
      customClaims: { tier: "gold" },
    });
  });

  test.each([
    ["a member id", MEMBER],
    ["a Connected-App client id", APP],
    ["a number", 42],
    ["nothing", undefined],
    ["an id of another environment's shape", "m2m-client-prod-1"],
  ])("refuses a sub that is %s", (_name, sub) => {
    expect(reasonOf(() => m2mCallerOf({ sub, scope: "read:documents" }, EXP))).toBe("malformed_client_id");
  });

  test.each([
    ["a number", 42],
    ["an array", ["read:documents"]],
    ["null", null],
    ["two spaces", "read:documents  write:documents"],
    ["a leading space", " read:documents"],
    ["a tab", "read:documents\twrite:documents"],
    ["a quote", 'read:"documents"'],
    ["a backslash", "read:\\documents"],
    ["a non-ASCII letter", "read:dokumänte"],
    ["more than the limit", "r".repeat(MAX_SCOPE_LENGTH + 1)],
  ])("refuses a scope that is %s", (_name, scope) => {
    expect(reasonOf(() => m2mCallerOf({ sub: M2M_CLIENT, scope }, EXP))).toBe("malformed_scope");
  });

  test("an empty scope is no scopes", () => {
    expect(scopesOf("")).toEqual([]);
    expect(scopesOf("r".repeat(MAX_SCOPE_LENGTH))).toHaveLength(1);
  });
});

describe("connectedAppCallerOf", () => {
  const valid = {
    sub: MEMBER,
    client_id: APP,
    scope: "openid read:documents",
    jti: "LOe49j3s9d9dmacslUvrb15ZIjPbptMm7fS5UlE52JCF",
    [ORGANIZATION]: { organization_id: ORG, slug: "acme" },
  };

  test("the app, its scopes, and the member it acts for in their organization", () => {
    expect(connectedAppCallerOf(valid, EXP)).toEqual({
      type: "connected_app",
      clientId: APP,
      scopes: ["openid", "read:documents"],
      tokenExpiresAt: new Date(EXP * 1000).toISOString(),
      member: { memberId: MEMBER, organizationId: ORG, organizationSlug: "acme" },
      customClaims: {},
    });
    expect(
      connectedAppCallerOf({ ...valid, [ORGANIZATION]: { organization_id: ORG } }, EXP).member.organizationSlug,
    ).toBe("");
    expect(connectedAppCallerOf({ ...valid, jti: undefined }, EXP).clientId).toBe(APP);
  });

  test.each([
    ["a client_id that is an M2M client id", { client_id: M2M_CLIENT }, "malformed_client_id"],
    ["a numeric client_id", { client_id: 1 }, "malformed_client_id"],
    ["a scope that is not a string", { scope: ["read:documents"] }, "malformed_scope"],
    ["a sub that is a client id", { sub: APP }, "malformed_claims"],
    ["no sub", { sub: undefined }, "malformed_claims"],
    ["a numeric jti", { jti: 7 }, "malformed_claims"],
    ["no organization claim", { [ORGANIZATION]: undefined }, "malformed_claims"],
    ["an organization claim without an id", { [ORGANIZATION]: { slug: "acme" } }, "malformed_claims"],
    ["an empty organization id", { [ORGANIZATION]: { organization_id: "" } }, "malformed_claims"],
    ["a numeric slug", { [ORGANIZATION]: { organization_id: ORG, slug: 5 } }, "malformed_claims"],
    ["a string organization claim", { [ORGANIZATION]: ORG }, "malformed_claims"],
  ])("refuses %s", (_name, override, reason) => {
    expect(reasonOf(() => connectedAppCallerOf({ ...valid, ...override }, EXP))).toBe(reason);
  });
});

describe("m2mScopesGrant: Stytch's performAuthorizationCheck for the route's one required scope", () => {
  test.each([
    [["read:documents"], "documents", "read", true],
    [["read:documents"], "documents", "write", false],
    [["read:documents"], "billing", "read", false],
    [["read:*"], "billing", "read", true],
    [["*:documents"], "documents", "read", false],
    [["read"], "documents", "read", false],
    [["read"], "-", "read", true],
    [["READ:documents"], "documents", "read", false],
    [["read:documents:extra"], "documents", "read", false],
    [["write:billing", "read:documents"], "documents", "read", true],
    [[], "documents", "read", false],
  ])("%j grants %s/%s: %s", (scopes, resource, action, granted) => {
    expect(m2mScopesGrant(scopes, resource, action)).toBe(granted);
  });
});
