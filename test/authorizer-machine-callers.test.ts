// Machines as callers, end to end against the loopback Stytch emulator: M2M access tokens (client credentials)
// and Connected-App access tokens (an app acting for a member), accepted per route by the route table's
// `callers`, each checked the way Stytch checks its type. REST answers are judged by evaluating the returned IAM
// policy as API Gateway does; HTTP API `simple` answers by `isAuthorized`.

import type { PolicyDocument } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { type AuthorizerHandler, createAuthorizer } from "../lambda/authorizer";
import { evaluateIamPolicy } from "../local/iam-policy-evaluator";
import type { CreatedSession, StytchEmulator } from "../local/stytch-emulator";
import { tokenEvent } from "./support/authorizer-events";
import { UNHURRIED_TIMEOUTS, useStytchEmulator } from "./support/fixtures";
import {
  httpRouteEvent,
  httpStatus,
  REST_STAGE_ARN as PREFIX,
  restRouteEvent,
  restStatus,
} from "./support/route-requests";

const TABLE = {
  "GET /me": "authenticated",
  "GET /orgs/{organization_id}/documents": {
    resource_id: "documents",
    action: "read",
    callers: ["member", "connected_app"],
  },
  "POST /orgs/{organization_id}/documents": { resource_id: "documents", action: "write" },
  "GET /orgs/{organization_id}/agent/documents": {
    resource_id: "documents",
    action: "read",
    callers: ["connected_app"],
  },
  "GET /service/documents": { resource_id: "documents", action: "read", callers: ["m2m"] },
  "GET /service/billing": { resource_id: "billing", action: "read", callers: ["m2m"] },
  "GET /whoami": { callers: ["member", "m2m", "connected_app"] },
};

let stytch: StytchEmulator;
let logLines: string[];
useStytchEmulator((emulator) => (stytch = emulator));

beforeEach(() => {
  logLines = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation(
      (...args: unknown[]) => void logLines.push(args.map(String).join(" ")),
    );
  }
});
afterEach(() => vi.restoreAllMocks());

function authorizer(overrides: Record<string, string | undefined> = {}): AuthorizerHandler {
  return createAuthorizer({
    STYTCH_PROJECT_ID: stytch.projectId,
    STYTCH_SECRET: stytch.secret,
    STYTCH_API_URL: stytch.url,
    STYTCH_ROUTE_PERMISSIONS: JSON.stringify(TABLE),
    ...UNHURRIED_TIMEOUTS,
    ...overrides,
  });
}

function decisionLog(): Array<Record<string, unknown>> {
  return logLines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** The reason of the last denial or refusal logged. */
function lastReason(): unknown {
  return decisionLog()
    .filter((line) => line.reason !== undefined)
    .at(-1)?.reason;
}

function m2mToken(scopes: string[], overrides?: Record<string, unknown>): { token: string; clientId: string } {
  const client = stytch.createM2MClient({ scopes });
  return { token: stytch.mintM2MToken(client.clientId, overrides), clientId: client.clientId };
}

function member(roles: string[] = ["viewer"], organizationSlug = "acme"): CreatedSession {
  return stytch.createSession({ roles, organizationSlug });
}

function connectedAppToken(session: CreatedSession, scopes: string[], overrides?: Record<string, unknown>) {
  const app = stytch.createConnectedApp();
  return {
    ...stytch.issueConnectedAppToken({ clientId: app.clientId, memberId: session.memberId, scopes, overrides }),
    clientId: app.clientId,
  };
}

describe("M2M access tokens", () => {
  test("a token from the token endpoint is allowed on an M2M route, locally, with the client in the context", async () => {
    const client = stytch.createM2MClient({ scopes: ["read:documents"] });
    const answer = await fetch(`${stytch.url}/v1/public/${stytch.projectId}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        grant_type: "client_credentials",
      }),
    });
    const { access_token: token } = (await answer.json()) as { access_token: string };
    const handler = authorizer({ STYTCH_RESULTS_CACHE_TTL_SECONDS: "0" });
    const event = restRouteEvent(token, "GET /service/documents");
    const response = (await handler(event)) as { principalId: string; policyDocument: PolicyDocument; context: object };
    expect(evaluateIamPolicy(response.policyDocument, event.methodArn)).toBe("allow");
    expect(response.principalId).toBe(client.clientId);
    expect(response.context).toMatchObject({
      caller_type: "m2m",
      client_id: client.clientId,
      scopes: JSON.stringify(["read:documents"]),
    });
    expect(response.context).not.toHaveProperty("member_id");
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("a valid M2M token on a members-only route is 403 caller_not_accepted, never 401", async () => {
    const { token } = m2mToken(["read:documents"]);
    const handler = authorizer();
    expect(await restStatus(handler, restRouteEvent(token, "GET /me"))).toBe(403);
    expect(lastReason()).toBe("caller_not_accepted");
    expect(await httpStatus(handler, httpRouteEvent(token, "GET /me"))).toBe(403);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("scopes are action:resource: read:documents reads documents, not billing; read:* reads both", async () => {
    const handler = authorizer();
    const narrow = m2mToken(["read:documents"]).token;
    expect(await restStatus(handler, restRouteEvent(narrow, "GET /service/documents"))).toBe(200);
    expect(await restStatus(handler, restRouteEvent(narrow, "GET /service/billing"))).toBe(403);
    expect(lastReason()).toBe("permission_denied");
    const wide = m2mToken(["read:*"]).token;
    expect(await httpStatus(handler, httpRouteEvent(wide, "GET /service/billing"))).toBe(200);
    const writer = m2mToken(["write:*"]).token;
    expect(await httpStatus(handler, httpRouteEvent(writer, "GET /service/billing"))).toBe(403);
  });

  test("an M2M route open to any authenticated caller admits a token without scopes", async () => {
    const handler = authorizer();
    expect(await restStatus(handler, restRouteEvent(m2mToken([]).token, "GET /whoami"))).toBe(200);
  });

  test("the M2M client's cached IAM policy lists its routes only: no tenancy route, no members-only route", async () => {
    const handler = authorizer();
    const { token } = m2mToken(["read:*", "write:*"]);
    const response = (await handler(restRouteEvent(token, "GET /service/documents"))) as {
      policyDocument: PolicyDocument;
    };
    const at = (path: string) => evaluateIamPolicy(response.policyDocument, `${PREFIX}/${path}`);
    expect(at("GET/service/documents")).toBe("allow");
    expect(at("GET/service/billing")).toBe("allow");
    expect(at("GET/whoami")).toBe("allow");
    expect(at("GET/me")).not.toBe("allow");
    for (const organization of ["o1", "organization-test-1", "*"]) {
      expect(at(`GET/orgs/${organization}/documents`)).not.toBe("allow");
      expect(at(`POST/orgs/${organization}/documents`)).not.toBe("allow");
    }
  });

  test("one client's cached IAM policy is never another's: scopes and organizations are part of its key", async () => {
    const handler = authorizer();
    const narrow = m2mToken(["read:documents"]).token;
    const wide = m2mToken(["read:*"]).token;
    expect(await restStatus(handler, restRouteEvent(narrow, "GET /service/billing"))).toBe(403);
    expect(await restStatus(handler, restRouteEvent(wide, "GET /service/billing"))).toBe(200);
    const viewer = member(["viewer"]);
    const other = member(["viewer"], "globex");
    const ownApp = connectedAppToken(viewer, ["read:documents"]).accessToken;
    const otherApp = connectedAppToken(other, ["read:documents"]).accessToken;
    const unscoped = connectedAppToken(viewer, ["openid"]).accessToken;
    const path = { organization_id: viewer.organizationId };
    const otherPath = { organization_id: other.organizationId };
    // Each allowed on its own organization's path: the answer is its IAM policy, never the other app's.
    expect(
      await restStatus(handler, restRouteEvent(otherApp, "GET /orgs/{organization_id}/documents", otherPath)),
    ).toBe(200);
    expect(await restStatus(handler, restRouteEvent(ownApp, "GET /orgs/{organization_id}/documents", path))).toBe(200);
    const { policyDocument } = (await handler(restRouteEvent(unscoped, "GET /me"))) as {
      policyDocument: PolicyDocument;
    };
    expect(evaluateIamPolicy(policyDocument, `${PREFIX}/GET/orgs/${viewer.organizationId}/documents`)).not.toBe(
      "allow",
    );
  });

  test("a repeated M2M token is answered from the verdict cache, like a session JWT", async () => {
    const handler = authorizer({ POWERTOOLS_LOG_LEVEL: "DEBUG" });
    const { token } = m2mToken(["read:documents"]);
    const decisions: string[] = [];
    const observed = createAuthorizer(
      {
        STYTCH_PROJECT_ID: stytch.projectId,
        STYTCH_SECRET: stytch.secret,
        STYTCH_API_URL: stytch.url,
        STYTCH_ROUTE_PERMISSIONS: JSON.stringify(TABLE),
        ...UNHURRIED_TIMEOUTS,
      },
      { onDecision: (record) => decisions.push(`${record.path} ${record.callerType}`) },
    );
    await observed(restRouteEvent(token, "GET /service/documents"));
    await observed(restRouteEvent(token, "GET /service/documents"));
    expect(decisions).toEqual(["local m2m", "cache m2m"]);
    expect(await restStatus(handler, restRouteEvent(token, "GET /service/documents"))).toBe(200);
  });

  test("machine tokens are exempt from the maximum token age (a session rule): strict mode still allows one locally", async () => {
    const handler = authorizer({ STYTCH_MAX_TOKEN_AGE_SECONDS: "0" });
    const now = Math.floor(Date.now() / 1000);
    const { token } = m2mToken(["read:documents"], { iat: now - 600, nbf: now - 600 });
    expect(await restStatus(handler, restRouteEvent(token, "GET /service/documents"))).toBe(200);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("without a route table every route is members-only: a valid M2M token is 403 on every route, never 401", async () => {
    const handler = authorizer({ STYTCH_ROUTE_PERMISSIONS: undefined });
    const { token } = m2mToken(["read:documents"]);
    expect(await restStatus(handler, restRouteEvent(token, "GET /service/documents"))).toBe(403);
    expect(await httpStatus(handler, httpRouteEvent(token, "GET /service/documents"))).toBe(403);
    const tokenAnswer = (await handler(tokenEvent(token, `${PREFIX}/GET/anything`))) as {
      policyDocument: PolicyDocument;
    };
    expect(evaluateIamPolicy(tokenAnswer.policyDocument, `${PREFIX}/GET/me`)).toBe("explicit_deny");
    expect(lastReason()).toBe("caller_not_accepted");
    // A member is still allowed everywhere, as before.
    expect(await restStatus(handler, restRouteEvent(member().sessionJwt, "GET /service/documents"))).toBe(200);
  });

  test("with no key set at all, an M2M token is a fault (503), never sent to the Stytch session API", async () => {
    const { token } = m2mToken(["read:documents"]);
    stytch.faults.jwks = "500";
    const handler = authorizer({ STYTCH_JWKS_TIMEOUT_MS: "500" });
    expect(await restStatus(handler, restRouteEvent(token, "GET /service/documents"))).toBe(503);
    expect(stytch.calls.authenticate).toBe(0);
  });
});

describe("members next to machines", () => {
  test("a member is 403 caller_not_accepted on an M2M route and on a Connected-App route, allowed where members are", async () => {
    const handler = authorizer();
    const viewer = member(["viewer"]);
    const org = { organization_id: viewer.organizationId };
    expect(await restStatus(handler, restRouteEvent(viewer.sessionJwt, "GET /service/documents"))).toBe(403);
    expect(lastReason()).toBe("caller_not_accepted");
    expect(
      await restStatus(handler, restRouteEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/agent/documents", org)),
    ).toBe(403);
    expect(
      await restStatus(handler, restRouteEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/documents", org)),
    ).toBe(200);
    expect(await restStatus(handler, restRouteEvent(viewer.sessionJwt, "GET /whoami"))).toBe(200);
  });

  test("one API serves both: each token's cached IAM policy covers only what its caller type may call", async () => {
    const handler = authorizer();
    const admin = member(["admin"]);
    const { token } = m2mToken(["read:*"]);
    const memberPolicy = (
      (await handler(restRouteEvent(admin.sessionJwt, "GET /me"))) as { policyDocument: PolicyDocument }
    ).policyDocument;
    const machinePolicy = ((await handler(restRouteEvent(token, "GET /me"))) as { policyDocument: PolicyDocument })
      .policyDocument;
    expect(evaluateIamPolicy(memberPolicy, `${PREFIX}/GET/service/documents`)).not.toBe("allow");
    expect(evaluateIamPolicy(memberPolicy, `${PREFIX}/GET/orgs/${admin.organizationId}/documents`)).toBe("allow");
    expect(evaluateIamPolicy(machinePolicy, `${PREFIX}/GET/service/documents`)).toBe("allow");
    expect(evaluateIamPolicy(machinePolicy, `${PREFIX}/GET/me`)).not.toBe("allow");
  });
});

describe("Connected-App access tokens", () => {
  test("an app acting for a member reads its organization's documents; the context carries the app and the member", async () => {
    const handler = authorizer();
    const viewer = member(["viewer"]);
    const { accessToken, clientId } = connectedAppToken(viewer, ["read:documents"]);
    const event = restRouteEvent(accessToken, "GET /orgs/{organization_id}/documents", {
      organization_id: viewer.organizationId,
    });
    const response = (await handler(event)) as { principalId: string; policyDocument: PolicyDocument; context: object };
    expect(evaluateIamPolicy(response.policyDocument, event.methodArn)).toBe("allow");
    expect(response.principalId).toBe(clientId);
    expect(response.context).toMatchObject({
      caller_type: "connected_app",
      client_id: clientId,
      scopes: JSON.stringify(["read:documents"]),
      member_id: viewer.memberId,
      organization_id: viewer.organizationId,
      organization_slug: "acme",
    });
    expect(response.context).not.toHaveProperty("member_session_id");
    expect(stytch.calls.authenticate).toBe(0);
    expect(stytch.calls.introspect).toBe(0);
  });

  test("another organization's path is 403 tenancy_mismatch, on REST and HTTP APIs", async () => {
    const handler = authorizer();
    const viewer = member(["viewer"]);
    const other = member(["admin"], "globex");
    const { accessToken } = connectedAppToken(viewer, ["read:documents"]);
    const path = { organization_id: other.organizationId };
    expect(await restStatus(handler, restRouteEvent(accessToken, "GET /orgs/{organization_id}/documents", path))).toBe(
      403,
    );
    expect(lastReason()).toBe("tenancy_mismatch");
    expect(await httpStatus(handler, httpRouteEvent(accessToken, "GET /orgs/{organization_id}/documents", path))).toBe(
      403,
    );
  });

  test("scopes map to permissions through the RBAC policy's scopes: an unmapped scope grants nothing", async () => {
    const handler = authorizer();
    const viewer = member(["viewer"]);
    const org = { organization_id: viewer.organizationId };
    const unmapped = connectedAppToken(viewer, ["openid", "documents:read"]).accessToken;
    expect(await httpStatus(handler, httpRouteEvent(unmapped, "GET /orgs/{organization_id}/documents", org))).toBe(403);
    expect(lastReason()).toBe("permission_denied");
    const mapped = connectedAppToken(viewer, ["openid", "read:documents"]).accessToken;
    expect(await httpStatus(handler, httpRouteEvent(mapped, "GET /orgs/{organization_id}/documents", org))).toBe(200);
    // The policy decides: without the scope in the policy, the same token grants nothing.
    stytch.rbacPolicy = { ...stytch.rbacPolicy, scopes: [] };
    const fresh = authorizer();
    expect(await httpStatus(fresh, httpRouteEvent(mapped, "GET /orgs/{organization_id}/documents", org))).toBe(403);
  });

  test("a Connected App on a members-only route is 403 caller_not_accepted", async () => {
    const handler = authorizer();
    const viewer = member(["viewer"]);
    const { accessToken } = connectedAppToken(viewer, ["write:documents"]);
    expect(
      await restStatus(
        handler,
        restRouteEvent(accessToken, "POST /orgs/{organization_id}/documents", {
          organization_id: viewer.organizationId,
        }),
      ),
    ).toBe(403);
    expect(lastReason()).toBe("caller_not_accepted");
    expect(await restStatus(handler, restRouteEvent(accessToken, "GET /me"))).toBe(403);
  });
});

describe("bad machine tokens: 401 with a reason code, never an Allow, never a Stytch session call", () => {
  const cases: Array<[string, () => string, string]> = [
    [
      "session claims next to a scope",
      () => {
        const session = member();
        return stytch.signJwt(
          { alg: "RS256", kid: stytch.currentKid, typ: "JWT" },
          stytch.sessionPayload(session.memberSessionId, { scope: "read:documents" }),
        );
      },
      "ambiguous_token",
    ],
    [
      "session claims next to a client_id",
      () => {
        const session = member();
        const client = stytch.createConnectedApp();
        return stytch.signJwt(
          { alg: "RS256", kid: stytch.currentKid, typ: "JWT" },
          stytch.sessionPayload(session.memberSessionId, { client_id: client.clientId }),
        );
      },
      "ambiguous_token",
    ],
    [
      "an M2M token with an organization claim",
      () => m2mToken(["read:documents"], { "https://stytch.com/organization": { organization_id: "o1" } }).token,
      "ambiguous_token",
    ],
    ["a scope that is not a string", () => m2mToken([], { scope: ["read:documents"] }).token, "malformed_scope"],
    ["a scope of 42", () => m2mToken([], { scope: 42 }).token, "malformed_scope"],
    [
      "an M2M sub that is a member id",
      () => m2mToken(["read:documents"], { sub: member().memberId }).token,
      "malformed_client_id",
    ],
    ["an M2M sub that is a number", () => m2mToken(["read:documents"], { sub: 7 }).token, "malformed_client_id"],
    [
      "a Connected-App client_id that is an M2M client id",
      () =>
        connectedAppToken(member(), ["read:documents"], { client_id: stytch.createM2MClient().clientId }).accessToken,
      "malformed_client_id",
    ],
    [
      "a Connected-App token without its organization",
      () =>
        connectedAppToken(member(), ["read:documents"], { "https://stytch.com/organization": undefined }).accessToken,
      "malformed_claims",
    ],
    [
      "an expired M2M token",
      () => {
        const now = Math.floor(Date.now() / 1000);
        return m2mToken(["read:documents"], { iat: now - 7200, nbf: now - 7200, exp: now - 3600 }).token;
      },
      "expired_token",
    ],
    [
      "an expired Connected-App token",
      () => {
        const now = Math.floor(Date.now() / 1000);
        return connectedAppToken(member(), ["read:documents"], { iat: now - 7200, nbf: now - 7200, exp: now - 3600 })
          .accessToken;
      },
      "expired_token",
    ],
  ];

  test.each(cases)("%s", async (_, make, reason) => {
    const token = make();
    for (const table of [JSON.stringify(TABLE), undefined]) {
      const handler = authorizer({ STYTCH_ROUTE_PERMISSIONS: table, STYTCH_MAX_TOKEN_AGE_SECONDS: "0" });
      for (const routeKey of ["GET /service/documents", "GET /whoami", "GET /me"]) {
        expect(await restStatus(handler, restRouteEvent(token, routeKey))).toBe(401);
        expect(lastReason()).toBe(reason);
        expect(await httpStatus(handler, httpRouteEvent(token, routeKey))).toBe(401);
      }
    }
    expect(stytch.calls.authenticate).toBe(0);
    expect(stytch.calls.introspect).toBe(0);
    expect(JSON.stringify(logLines)).not.toContain(token);
  });
});

describe("opaque Connected-App access tokens: introspected only on routes that accept Connected Apps and not members", () => {
  const INTROSPECTION = () => ({ STYTCH_INTROSPECTION_CLIENT_ID: stytch.createConnectedApp().clientId });

  test("an active opaque access token is introspected and allowed, in its member's organization only", async () => {
    const handler = authorizer(INTROSPECTION());
    const viewer = member(["viewer"]);
    const other = member(["viewer"], "globex");
    const { opaqueAccessToken, clientId } = connectedAppToken(viewer, ["read:documents"]);
    const own = restRouteEvent(opaqueAccessToken, "GET /orgs/{organization_id}/agent/documents", {
      organization_id: viewer.organizationId,
    });
    const response = (await handler(own)) as { policyDocument: PolicyDocument; context: object };
    expect(evaluateIamPolicy(response.policyDocument, own.methodArn)).toBe("allow");
    expect(response.context).toMatchObject({
      caller_type: "connected_app",
      client_id: clientId,
      member_id: viewer.memberId,
      // The introspection answer's own fields (active, token_type, request_id, status_code) are no custom claims.
      custom_claims: "{}",
    });
    expect(
      await httpStatus(
        handler,
        httpRouteEvent(opaqueAccessToken, "GET /orgs/{organization_id}/agent/documents", {
          organization_id: other.organizationId,
        }),
      ),
    ).toBe(403);
    expect(stytch.calls.introspect).toBe(2);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("a refresh token, a revoked token and an unknown string are 401 inactive_token, with one introspection each", async () => {
    const handler = authorizer(INTROSPECTION());
    const viewer = member(["viewer"]);
    const issued = connectedAppToken(viewer, ["read:documents"]);
    const revoked = connectedAppToken(viewer, ["read:documents"]).opaqueAccessToken;
    stytch.revokeConnectedAppToken(revoked);
    const org = { organization_id: viewer.organizationId };
    for (const token of [issued.refreshToken, revoked, "A".repeat(44)]) {
      for (let replay = 0; replay < 2; replay++) {
        expect(
          await restStatus(handler, restRouteEvent(token, "GET /orgs/{organization_id}/agent/documents", org)),
        ).toBe(401);
        expect(lastReason()).toBe("inactive_token");
      }
    }
    expect(stytch.calls.introspect).toBe(3);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("on a route that accepts members an opaque credential is a session token; cookies always are", async () => {
    const handler = authorizer(INTROSPECTION());
    const viewer = member(["viewer"]);
    const { opaqueAccessToken } = connectedAppToken(viewer, ["read:documents"]);
    const org = { organization_id: viewer.organizationId };
    // GET /orgs/{organization_id}/documents accepts members and Connected Apps: the session API decides.
    expect(
      await restStatus(handler, restRouteEvent(opaqueAccessToken, "GET /orgs/{organization_id}/documents", org)),
    ).toBe(401);
    expect(lastReason()).toBe("revoked");
    expect(stytch.calls).toMatchObject({ authenticate: 1, introspect: 0 });
    expect(
      await restStatus(handler, restRouteEvent(viewer.sessionToken, "GET /orgs/{organization_id}/documents", org)),
    ).toBe(200);
    // A cookie on a Connected-App-only route: still a session token (a fresh one, not remembered as rejected).
    const fresh = connectedAppToken(viewer, ["read:documents"]).opaqueAccessToken;
    const cookie = {
      ...restRouteEvent("unused", "GET /orgs/{organization_id}/agent/documents", org),
      headers: { Cookie: `stytch_session=${fresh}` },
      multiValueHeaders: { Cookie: [`stytch_session=${fresh}`] },
    };
    expect(await restStatus(handler, cookie)).toBe(401);
    expect(stytch.calls).toMatchObject({ authenticate: 3, introspect: 0 });
  });

  test("without an introspection client, opaque credentials are session tokens everywhere, as before", async () => {
    const handler = authorizer();
    const viewer = member(["viewer"]);
    const { opaqueAccessToken } = connectedAppToken(viewer, ["read:documents"]);
    const org = { organization_id: viewer.organizationId };
    expect(
      await restStatus(handler, restRouteEvent(opaqueAccessToken, "GET /orgs/{organization_id}/agent/documents", org)),
    ).toBe(401);
    expect(stytch.calls).toMatchObject({ authenticate: 1, introspect: 0 });
  });

  test("an introspection client Stytch refuses is a fault (503), never 401", async () => {
    const handler = authorizer({
      STYTCH_INTROSPECTION_CLIENT_ID: "connected-app-test-00000000-0000-0000-0000-000000000000",
    });
    const viewer = member(["viewer"]);
    const { opaqueAccessToken } = connectedAppToken(viewer, ["read:documents"]);
    expect(
      await restStatus(
        handler,
        restRouteEvent(opaqueAccessToken, "GET /orgs/{organization_id}/agent/documents", {
          organization_id: viewer.organizationId,
        }),
      ),
    ).toBe(503);
  });
});
