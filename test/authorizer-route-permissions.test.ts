// The authorizer with a route table, end to end against the loopback Stytch emulator: real JWTs, real
// RBAC policy endpoints. REST answers are judged by evaluating the returned policy as API Gateway does.

import type { PolicyDocument } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { type AuthorizerHandler, createAuthorizer, UNAUTHORIZED, UPSTREAM_FAULT } from "../lambda/authorizer";
import { evaluateIamPolicy } from "../local/iam-policy-evaluator";
import type { CreatedSession, StytchEmulator } from "../local/stytch-emulator";
import { restRequestEvent, tokenEvent } from "./support/authorizer-events";
import { UNHURRIED_TIMEOUTS, useStytchEmulator } from "./support/fixtures";
import {
  HTTP_STAGE_ARN as HTTP_PREFIX,
  httpRouteEvent,
  httpStatus,
  REST_STAGE_ARN as PREFIX,
  restRouteEvent,
  restStatus,
} from "./support/route-requests";

const TABLE = {
  "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
  "POST /orgs/{organization_id}/documents": { resource_id: "documents", action: "write" },
  "GET /orgs/{organization_id}/billing": { resource_id: "billing", action: "read" },
  "GET /by-slug/{organization_slug}/documents": { resource_id: "documents", action: "read" },
  "GET /me": "authenticated",
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

function session(roles: string[], organizationSlug = "acme"): CreatedSession {
  return stytch.createSession({ roles, organizationSlug });
}

describe("REST: the IAM policy covers exactly the routes the member may call", () => {
  test("a viewer reads documents (200), cannot write (403) or see billing (403), and /me is open to every member", async () => {
    const handler = authorizer();
    const viewer = session(["viewer"]);
    const org = { organization_id: viewer.organizationId };
    expect(
      await restStatus(handler, restRouteEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/documents", org)),
    ).toBe(200);
    expect(
      await restStatus(handler, restRouteEvent(viewer.sessionJwt, "POST /orgs/{organization_id}/documents", org)),
    ).toBe(403);
    expect(
      await restStatus(handler, restRouteEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/billing", org)),
    ).toBe(403);
    expect(await restStatus(handler, restRouteEvent(viewer.sessionJwt, "GET /me"))).toBe(200);
  });

  test("a refusal is logged as forbidden with reason permission_denied and the route key, never as a 401", async () => {
    const handler = authorizer();
    const viewer = session(["viewer"]);
    await restStatus(
      handler,
      restRouteEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/billing", {
        organization_id: viewer.organizationId,
      }),
    );
    const record = decisionLog().find((line) => line.message === "request forbidden");
    expect(record).toMatchObject({
      outcome: "forbidden",
      reason: "permission_denied",
      routeKey: "GET /orgs/{organization_id}/billing",
      memberId: viewer.memberId,
    });
    expect(JSON.stringify(logLines)).not.toContain(viewer.sessionJwt);
  });

  test("another organization's path is a 403 with reason tenancy_mismatch, even for an admin", async () => {
    const handler = authorizer();
    const admin = session(["admin"]);
    const other = session(["admin"], "globex");
    expect(
      await restStatus(
        handler,
        restRouteEvent(admin.sessionJwt, "GET /orgs/{organization_id}/billing", {
          organization_id: admin.organizationId,
        }),
      ),
    ).toBe(200);
    expect(
      await restStatus(
        handler,
        restRouteEvent(admin.sessionJwt, "GET /orgs/{organization_id}/billing", {
          organization_id: other.organizationId,
        }),
      ),
    ).toBe(403);
    expect(decisionLog().find((line) => line.message === "request forbidden")).toMatchObject({
      reason: "tenancy_mismatch",
    });
    expect(
      await restStatus(
        handler,
        restRouteEvent(admin.sessionJwt, "GET /by-slug/{organization_slug}/documents", { organization_slug: "acme" }),
      ),
    ).toBe(200);
    expect(
      await restStatus(
        handler,
        restRouteEvent(admin.sessionJwt, "GET /by-slug/{organization_slug}/documents", { organization_slug: "globex" }),
      ),
    ).toBe(403);
  });

  test("the IAM policy depends only on the token: the same document whichever route triggered the authorizer", async () => {
    const handler = authorizer();
    const editor = session(["editor"]);
    const org = { organization_id: editor.organizationId };
    const first = (await handler(restRouteEvent(editor.sessionJwt, "GET /me"))) as { policyDocument: PolicyDocument };
    const again = (await handler(restRouteEvent(editor.sessionJwt, "POST /orgs/{organization_id}/documents", org))) as {
      policyDocument: PolicyDocument;
    };
    expect(again.policyDocument).toEqual(first.policyDocument);
    // A refused request adds one thing only: an explicit Deny of its own exact ARN, right for every later request.
    const refused = restRouteEvent(editor.sessionJwt, "GET /orgs/{organization_id}/billing", org);
    const second = (await handler(refused)) as { policyDocument: PolicyDocument };
    expect(second.policyDocument.Statement).toEqual([
      ...first.policyDocument.Statement,
      { Action: "execute-api:Invoke", Effect: "Deny", Resource: refused.methodArn },
    ]);
    // API Gateway's result cache would reuse `first` for the documents route: it must answer right there too.
    expect(evaluateIamPolicy(first.policyDocument, `${PREFIX}/POST/orgs/${editor.organizationId}/documents`)).toBe(
      "allow",
    );
    expect(evaluateIamPolicy(first.policyDocument, `${PREFIX}/GET/orgs/${editor.organizationId}/billing`)).toBe(
      "implicit_deny",
    );
  });

  test("TOKEN events get the same member IAM policy; the route is decided by API Gateway against it", async () => {
    const handler = authorizer();
    const viewer = session(["viewer"]);
    const response = (await handler(tokenEvent(viewer.sessionJwt, `${PREFIX}/GET/me`))) as { policyDocument: unknown };
    expect(evaluateIamPolicy(response.policyDocument, `${PREFIX}/GET/orgs/${viewer.organizationId}/documents`)).toBe(
      "allow",
    );
    expect(evaluateIamPolicy(response.policyDocument, `${PREFIX}/GET/orgs/${viewer.organizationId}/billing`)).toBe(
      "implicit_deny",
    );
  });

  test("the context keeps the member fields", async () => {
    const viewer = session(["viewer"]);
    const response = (await authorizer()(restRouteEvent(viewer.sessionJwt, "GET /me"))) as {
      context: Record<string, unknown>;
    };
    expect(response.context).toMatchObject({
      member_id: viewer.memberId,
      organization_id: viewer.organizationId,
      organization_slug: "acme",
    });
  });

  test("opaque session tokens: the roles come from Stytch's member_session", async () => {
    const handler = authorizer();
    const editor = session(["editor"]);
    const org = { organization_id: editor.organizationId };
    expect(
      await restStatus(handler, restRouteEvent(editor.sessionToken, "POST /orgs/{organization_id}/documents", org)),
    ).toBe(200);
    expect(
      await restStatus(handler, restRouteEvent(editor.sessionToken, "GET /orgs/{organization_id}/billing", org)),
    ).toBe(403);
    expect(stytch.calls.authenticate).toBe(2);
  });

  test("HTTP API in iam mode answers with the same kind of IAM policy", async () => {
    const viewer = session(["viewer"]);
    const event = httpRouteEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/documents", {
      organization_id: viewer.organizationId,
    });
    const response = (await authorizer({ STYTCH_HTTP_API_RESPONSE: "iam" })(event)) as { policyDocument: unknown };
    expect(evaluateIamPolicy(response.policyDocument, event.routeArn)).toBe("allow");
    expect(evaluateIamPolicy(response.policyDocument, `${HTTP_PREFIX}/GET/orgs/${viewer.organizationId}/billing`)).toBe(
      "implicit_deny",
    );
  });
});

describe("HTTP API simple mode: routeKey and pathParameters", () => {
  test("allowed: isAuthorized true with the context; missing permission: isAuthorized false (403), never 401", async () => {
    const handler = authorizer();
    const viewer = session(["viewer"]);
    const org = { organization_id: viewer.organizationId };
    const allowed = await handler(httpRouteEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/documents", org));
    expect(allowed).toMatchObject({ isAuthorized: true, context: { member_id: viewer.memberId } });
    expect(await handler(httpRouteEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/billing", org))).toEqual({
      isAuthorized: false,
    });
  });

  test("tenancy by ID and by slug comes first: another organization is refused whatever the roles", async () => {
    const handler = authorizer();
    const admin = session(["admin"]);
    expect(
      await httpStatus(
        handler,
        httpRouteEvent(admin.sessionJwt, "GET /orgs/{organization_id}/billing", {
          organization_id: "organization-test-someone-else",
        }),
      ),
    ).toBe(403);
    expect(
      await httpStatus(
        handler,
        httpRouteEvent(admin.sessionJwt, "GET /by-slug/{organization_slug}/documents", { organization_slug: "acme" }),
      ),
    ).toBe(200);
    expect(
      await httpStatus(
        handler,
        httpRouteEvent(admin.sessionJwt, "GET /by-slug/{organization_slug}/documents", { organization_slug: "globex" }),
      ),
    ).toBe(403);
    const reasons = decisionLog()
      .filter((line) => line.outcome === "forbidden")
      .map((line) => line.reason);
    expect(reasons).toEqual(["tenancy_mismatch", "tenancy_mismatch"]);
  });

  test("a route the table does not list is closed to everyone", async () => {
    const admin = session(["admin"]);
    expect(
      await httpStatus(
        authorizer(),
        httpRouteEvent(admin.sessionJwt, "DELETE /orgs/{organization_id}/documents", {
          organization_id: admin.organizationId,
        }),
      ),
    ).toBe(403);
  });

  test("bad credentials are still 401 before any permission is looked at", async () => {
    expect(await httpStatus(authorizer(), httpRouteEvent("not-a-token", "GET /me"))).toBe(401);
    expect(stytch.calls.rbacPolicy).toBe(0);
  });
});

describe("Stytch's RBAC policies", () => {
  test("custom organization roles grant permissions in their organization only", async () => {
    const auditor = session(["auditor"], "initech");
    stytch.setOrganizationRoles("initech", [
      { role_id: "auditor", permissions: [{ resource_id: "billing", actions: ["read"] }] },
    ]);
    const elsewhere = session(["auditor"], "hooli");
    const handler = authorizer();
    expect(
      await httpStatus(
        handler,
        httpRouteEvent(auditor.sessionJwt, "GET /orgs/{organization_id}/billing", {
          organization_id: auditor.organizationId,
        }),
      ),
    ).toBe(200);
    expect(
      await httpStatus(
        handler,
        httpRouteEvent(elsewhere.sessionJwt, "GET /orgs/{organization_id}/billing", {
          organization_id: elsewhere.organizationId,
        }),
      ),
    ).toBe(403);
  });

  test("a project without organization RBAC policies counts as no custom roles, not as a fault", async () => {
    stytch.organizationPoliciesEnabled = false;
    const viewer = session(["viewer"]);
    const handler = authorizer();
    // The project roles refuse it: only the organization's answer (no custom roles) can settle that.
    expect(
      await httpStatus(
        handler,
        httpRouteEvent(viewer.sessionJwt, "POST /orgs/{organization_id}/documents", {
          organization_id: viewer.organizationId,
        }),
      ),
    ).toBe(403);
    expect(stytch.calls.organizationPolicy).toBe(1);
  });

  test("a 30-way cold burst fetches the project's and the organization's RBAC policy once each", async () => {
    const members = Array.from({ length: 30 }, (_, i) => session([i % 2 ? "viewer" : "admin"]));
    const handler = authorizer();
    const statuses = await Promise.all(
      members.map((m) =>
        httpStatus(
          handler,
          httpRouteEvent(m.sessionJwt, "GET /orgs/{organization_id}/documents", { organization_id: m.organizationId }),
        ),
      ),
    );
    expect(statuses).toEqual(Array(30).fill(200));
    // The project roles grant these routes: the answers did not wait for the organization's policy, whose one
    // fetch may still be on its way.
    const givingUpAt = Date.now() + 5_000;
    while (stytch.calls.organizationPolicy === 0 && Date.now() < givingUpAt)
      await new Promise((r) => setTimeout(r, 10));
    expect(stytch.calls.rbacPolicy).toBe(1);
    expect(stytch.calls.organizationPolicy).toBe(1);
  });

  test("no RBAC policy and no cached copy: a fault (503), never an Allow and never a 401", async () => {
    stytch.faults.rbac = "503";
    const admin = session(["admin"]);
    expect(await httpStatus(authorizer(), httpRouteEvent(admin.sessionJwt, "GET /me"))).toBe(503);
    expect(await restStatus(authorizer(), restRouteEvent(admin.sessionJwt, "GET /me"))).toBe(503);
    expect(decisionLog().find((line) => line.outcome === "fault")).toMatchObject({ reason: "rbac_policy_unavailable" });
  });

  test("a member IAM policy too large for API Gateway even merged is a local fault (503), never an Allow", async () => {
    // 200 routes under distinct literal prefixes: nothing merges, so the member's IAM policy stays far above the budget.
    const table = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`GET /r${i}/{id}`, "authenticated"]));
    const viewer = session(["viewer"]);
    const handler = authorizer({ STYTCH_ROUTE_PERMISSIONS: JSON.stringify(table) });
    expect(await restStatus(handler, restRouteEvent(viewer.sessionJwt, "GET /r0/{id}", { id: "1" }))).toBe(503);
    // Computed here, not by Stytch: the metrics' path dimension must not send operators to the Stytch side.
    expect(decisionLog().find((line) => line.outcome === "fault")).toMatchObject({
      reason: "policy_too_large",
      path: "local",
    });
  });

  test("an RBAC policy Stytch answers in an unreadable shape is a fault too", async () => {
    stytch.rbacPolicy = { roles: [{ role_id: "admin", permissions: "everything" }] } as never;
    const admin = session(["admin"]);
    await expect(authorizer()(httpRouteEvent(admin.sessionJwt, "GET /me"))).rejects.toThrow(UPSTREAM_FAULT);
  });

  test("an RBAC policy fault after a good fetch keeps answering with the cached copy", async () => {
    const handler = authorizer();
    const viewer = session(["viewer"]);
    const event = httpRouteEvent(viewer.sessionJwt, "GET /orgs/{organization_id}/documents", {
      organization_id: viewer.organizationId,
    });
    expect(await httpStatus(handler, event)).toBe(200);
    stytch.faults.rbac = "500";
    expect(await httpStatus(handler, event)).toBe(200);
    expect(stytch.calls.rbacPolicy).toBe(1);
  });

  test("without a table nothing changes: one stage-wide Allow and no RBAC policy fetch", async () => {
    const viewer = session(["viewer"]);
    const response = (await authorizer({ STYTCH_ROUTE_PERMISSIONS: undefined })(
      restRouteEvent(viewer.sessionJwt, "GET /me"),
    )) as { policyDocument: { Statement: Array<{ Resource: string }> } };
    expect(response.policyDocument.Statement[0]!.Resource).toBe(`${PREFIX}/*/*`);
    expect(stytch.calls.rbacPolicy).toBe(0);
  });

  test("an invalid table is a configuration fault for every request", async () => {
    const viewer = session(["viewer"]);
    expect(
      await httpStatus(
        authorizer({ STYTCH_ROUTE_PERMISSIONS: '{"GET /x": "public"}' }),
        httpRouteEvent(viewer.sessionJwt, "GET /me"),
      ),
    ).toBe(503);
  });
});

describe("a slug that equals a route's literal never opens another organization's routes", () => {
  const MIXED = {
    "GET /{organization_slug}/{project_id}/documents": { resource_id: "documents", action: "read" },
    "GET /orgs/{organization_id}/documents": { resource_id: "documents", action: "read" },
    "ANY /{organization_slug}/{proxy+}": "authenticated",
    "GET /v1/orgs/{organization_id}/reports": { resource_id: "documents", action: "read" },
  };
  const OTHER_ORG = "organization-test-99999999-9999-4999-8999-999999999999";

  /** The status API Gateway would give `GET {path}` (served by `routeKey`), from an answer it may have cached. */
  async function statusOf(
    handler: AuthorizerHandler,
    event: Parameters<AuthorizerHandler>[0],
    arn: string,
  ): Promise<200 | 401 | 403 | 503> {
    try {
      const response = (await handler(event)) as { policyDocument: unknown };
      return evaluateIamPolicy(response.policyDocument, arn) === "allow" ? 200 : 403;
    } catch (error) {
      return (error as Error).message === UNAUTHORIZED ? 401 : 503;
    }
  }

  for (const cache of ["0", "300"]) {
    for (const credential of ["JWT", "opaque token"] as const) {
      test(`slug orgs and slug v1, ${credential}, results cache ${cache} s: REST TOKEN and REQUEST, HTTP 1.0 and 2.0 iam all refuse the other organization`, async () => {
        const handler = authorizer({
          STYTCH_ROUTE_PERMISSIONS: JSON.stringify(MIXED),
          STYTCH_RESULTS_CACHE_TTL_SECONDS: cache,
          STYTCH_HTTP_API_RESPONSE: "iam",
        });
        for (const slug of ["orgs", "v1"]) {
          const member = session(["viewer"], slug);
          const token = credential === "JWT" ? member.sessionJwt : member.sessionToken;
          const attacks =
            slug === "orgs"
              ? [
                  {
                    routeKey: "GET /orgs/{organization_id}/documents",
                    path: `/orgs/${OTHER_ORG}/documents`,
                    pathParameters: { organization_id: OTHER_ORG },
                  },
                ]
              : [
                  {
                    routeKey: "GET /v1/orgs/{organization_id}/reports",
                    path: `/v1/orgs/${OTHER_ORG}/reports`,
                    pathParameters: { organization_id: OTHER_ORG },
                  },
                ];
          for (const attack of attacks) {
            const [method, resource] = attack.routeKey.split(" ") as [string, string];
            const arn = `${PREFIX}/${method}${attack.path}`;
            const rest = {
              ...restRequestEvent({ Authorization: `Bearer ${token}` }, arn),
              httpMethod: method,
              resource,
              path: attack.path,
              pathParameters: attack.pathParameters,
            };
            // The attack itself, and an answer to a harmless first request that API Gateway could reuse for it.
            expect(await statusOf(handler, rest, arn)).toBe(403);
            expect(await statusOf(handler, { ...rest, version: "1.0" } as Parameters<AuthorizerHandler>[0], arn)).toBe(
              403,
            );
            const v2 = { ...httpRouteEvent(token, attack.routeKey, attack.pathParameters), routeArn: arn };
            expect(await statusOf(handler, v2, arn)).toBe(403);
            if (cache !== "0") {
              expect(await statusOf(handler, tokenEvent(`Bearer ${token}`, `${PREFIX}/GET/me`), arn)).toBe(403);
              expect(
                await statusOf(
                  handler,
                  {
                    ...restRequestEvent({ Authorization: `Bearer ${token}` }, `${PREFIX}/GET/${slug}/p1/documents`),
                    resource: "/{organization_slug}/{project_id}/documents",
                    path: `/${slug}/p1/documents`,
                    pathParameters: { organization_slug: slug, project_id: "p1" },
                  },
                  arn,
                ),
              ).toBe(403);
            }
          }
          // The member's own organization stays open.
          const own = `${PREFIX}/GET/orgs/${member.organizationId}/documents`;
          const ownEvent = {
            ...restRequestEvent({ Authorization: `Bearer ${token}` }, own),
            resource: "/orgs/{organization_id}/documents",
            path: `/orgs/${member.organizationId}/documents`,
            pathParameters: { organization_id: member.organizationId },
          };
          expect(await statusOf(handler, ownEvent, own)).toBe(200);
        }
      });
    }
  }
});

describe("routes the table does not list", () => {
  const UNLISTED = {
    resource: "/orgs/{organization_id}/documents/{document_id}/secret",
    pathSuffix: "/documents/d1/secret",
  };
  const LISTED = {
    "GET /orgs/{organization_id}/documents/{document_id}": { resource_id: "documents", action: "read" },
    "GET /public/{proxy+}": "authenticated",
  };

  test("uncached (the construct's default), an unlisted route is refused even where a listed route's wildcard would cover it", async () => {
    const handler = authorizer({
      STYTCH_ROUTE_PERMISSIONS: JSON.stringify(LISTED),
      STYTCH_RESULTS_CACHE_TTL_SECONDS: "0",
    });
    const viewer = session(["viewer"]);
    const path = `/orgs/${viewer.organizationId}${UNLISTED.pathSuffix}`;
    const event = {
      ...restRequestEvent({ Authorization: `Bearer ${viewer.sessionJwt}` }, `${PREFIX}/GET${path}`),
      resource: UNLISTED.resource,
      path,
      pathParameters: { organization_id: viewer.organizationId, document_id: "d1" },
    };
    const response = (await handler(event)) as { policyDocument: PolicyDocument };
    expect(response.policyDocument.Statement).toEqual([
      { Action: "execute-api:Invoke", Effect: "Deny", Resource: event.methodArn },
    ]);
    // An unlisted organization route under a listed greedy route: refused for every organization, own included.
    const greedy = `/public/orgs/${viewer.organizationId}/reports`;
    const hidden = {
      ...restRequestEvent({ Authorization: `Bearer ${viewer.sessionJwt}` }, `${PREFIX}/GET${greedy}`),
      resource: "/public/orgs/{organization_id}/reports",
      path: greedy,
      pathParameters: { organization_id: viewer.organizationId },
    };
    expect(
      evaluateIamPolicy(((await handler(hidden)) as { policyDocument: unknown }).policyDocument, hidden.methodArn),
    ).toBe("explicit_deny");
    // The listed routes still answer with an Allow of exactly the request.
    const listed = {
      ...event,
      resource: "/orgs/{organization_id}/documents/{document_id}",
      path: `/orgs/${viewer.organizationId}/documents/d1`,
      methodArn: `${PREFIX}/GET/orgs/${viewer.organizationId}/documents/d1`,
    };
    expect(((await handler(listed)) as { policyDocument: PolicyDocument }).policyDocument.Statement).toEqual([
      { Action: "execute-api:Invoke", Effect: "Allow", Resource: listed.methodArn },
    ]);
  });

  test("cached, a request to an unlisted route is still refused by an exact Deny", async () => {
    const handler = authorizer({
      STYTCH_ROUTE_PERMISSIONS: JSON.stringify(LISTED),
      STYTCH_RESULTS_CACHE_TTL_SECONDS: "300",
    });
    const viewer = session(["viewer"]);
    const path = `/orgs/${viewer.organizationId}${UNLISTED.pathSuffix}`;
    const event = {
      ...restRequestEvent({ Authorization: `Bearer ${viewer.sessionJwt}` }, `${PREFIX}/GET${path}`),
      resource: UNLISTED.resource,
      path,
      pathParameters: { organization_id: viewer.organizationId, document_id: "d1" },
    };
    expect(
      evaluateIamPolicy(((await handler(event)) as { policyDocument: unknown }).policyDocument, event.methodArn),
    ).toBe("explicit_deny");
  });
});
