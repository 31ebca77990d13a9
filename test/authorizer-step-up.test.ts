// Step-up requirements end to end: the authorizer with a route table whose routes ask how and how recently the
// member authenticated, against the loopback Stytch emulator (real RS256 JWTs, Stytch's member_session for opaque
// tokens). The authorizer's clock is injected and moved; nothing sleeps.

import type { APIGatewayRequestAuthorizerEvent, APIGatewayRequestAuthorizerEventV2, PolicyDocument } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { type AuthorizerHandler, createAuthorizer, UNAUTHORIZED } from "../lambda/authorizer";
import type { DecisionRecord } from "../lambda/lib/operations/log";
import { evaluateIamPolicy } from "../local/iam-policy-evaluator";
import type { CreatedSession, FactorKind, StytchEmulator } from "../local/stytch-emulator";
import { restRequestEvent, tokenEvent } from "./support/authorizer-events";
import { UNHURRIED_TIMEOUTS, useStytchEmulator } from "./support/fixtures";

const PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
const HTTP_PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default";
const CONNECTION = "saml-connection-test-d89ff7a0-e86f-4b4d-b6a3-9a74d967528e";
const TABLE = {
  "GET /orgs/{organization_id}/billing": {
    resource_id: "billing",
    action: "read",
    step_up: { factors: ["mfa"], within_minutes: 15, impersonation: "read_only" },
  },
  "POST /orgs/{organization_id}/billing": {
    resource_id: "billing",
    action: "write",
    step_up: { factors: ["mfa"], within_minutes: 15 },
  },
  "ANY /orgs/{organization_id}/invoices": {
    resource_id: "billing",
    action: "read",
    step_up: { impersonation: "read_only" },
  },
  "GET /admin": { step_up: { factors: [`sso:${CONNECTION}`] } },
  "GET /sso": { step_up: { factors: ["sso"] } },
  "GET /me": "authenticated",
};
const MINUTE = 60_000;

let stytch: StytchEmulator;
let records: DecisionRecord[];
/** The authorizer's clock: real time plus whatever a test moved it by. */
let offsetMs = 0;
const clock = () => Date.now() + offsetMs;
useStytchEmulator((emulator) => (stytch = emulator));

beforeEach(() => {
  offsetMs = 0;
  records = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const)
    vi.spyOn(console, method).mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

function authorizer(overrides: Record<string, string | undefined> = {}): AuthorizerHandler {
  return createAuthorizer(
    {
      STYTCH_PROJECT_ID: stytch.projectId,
      STYTCH_SECRET: stytch.secret,
      STYTCH_API_URL: stytch.url,
      STYTCH_ROUTE_PERMISSIONS: JSON.stringify(TABLE),
      STYTCH_RESULTS_CACHE_TTL_SECONDS: "0",
      ...UNHURRIED_TIMEOUTS,
      ...overrides,
    },
    { clock, onDecision: (record) => records.push(record) },
  );
}

/** A member session (admin by default) whose factors were authenticated the given minutes ago. */
function session(factors: ReadonlyArray<readonly [FactorKind, number]>, roles = ["admin"]) {
  const now = Math.floor(Date.now() / 1000);
  return stytch.createSession({
    roles,
    authenticationFactors: factors.map(([kind, minutesAgo]) => ({
      kind,
      authenticatedAt: now - minutesAgo * 60,
      ...(kind === "sso_saml" ? { connectionId: CONNECTION } : {}),
    })),
  });
}
const raw = (factors: Array<Record<string, unknown>>, roles = ["admin"]) =>
  stytch.createSession({ roles, authenticationFactors: factors.map((factor) => ({ raw: factor })) });

/** A REST REQUEST event for `method path` of a route of the table. */
function restEvent(
  token: string,
  routeKey: string,
  member: CreatedSession,
  method?: string,
): APIGatewayRequestAuthorizerEvent {
  const [routeMethod, resource] = routeKey.split(" ") as [string, string];
  const verb = method ?? routeMethod;
  const path = resource.replace("{organization_id}", member.organizationId);
  return {
    ...restRequestEvent({ Authorization: `Bearer ${token}` }, `${PREFIX}/${verb}${path}`),
    httpMethod: verb,
    resource,
    path,
    pathParameters: resource.includes("{organization_id}") ? { organization_id: member.organizationId } : null,
  };
}

function httpEvent(
  token: string,
  routeKey: string,
  member: CreatedSession,
  method?: string,
): APIGatewayRequestAuthorizerEventV2 {
  const [routeMethod, resource] = routeKey.split(" ") as [string, string];
  const verb = method ?? routeMethod;
  const path = resource.replace("{organization_id}", member.organizationId);
  return {
    version: "2.0",
    type: "REQUEST",
    routeArn: `${HTTP_PREFIX}/${verb}${path}`,
    identitySource: [],
    routeKey,
    rawPath: path,
    rawQueryString: "",
    headers: { authorization: `Bearer ${token}` },
    pathParameters: resource.includes("{organization_id}") ? { organization_id: member.organizationId } : {},
    requestContext: { http: { method: verb } } as APIGatewayRequestAuthorizerEventV2["requestContext"],
  } as unknown as APIGatewayRequestAuthorizerEventV2;
}

type Status = 200 | 401 | 403 | 503;

/** What a REST API answers, with the reason its ACCESS_DENIED gateway response shows (the Deny's context). */
async function rest(handler: AuthorizerHandler, event: APIGatewayRequestAuthorizerEvent): Promise<[Status, string?]> {
  try {
    const response = (await handler(event)) as { policyDocument: unknown; context?: Record<string, unknown> };
    return evaluateIamPolicy(response.policyDocument, event.methodArn) === "allow"
      ? [200]
      : [403, String(response.context?.reason ?? "")];
  } catch (error) {
    return [(error as Error).message === UNAUTHORIZED ? 401 : 503];
  }
}

/** What an HTTP API (simple responses) answers. */
async function http(handler: AuthorizerHandler, event: APIGatewayRequestAuthorizerEventV2): Promise<Status> {
  try {
    return ((await handler(event)) as { isAuthorized: boolean }).isAuthorized ? 200 : 403;
  } catch (error) {
    return (error as Error).message === UNAUTHORIZED ? 401 : 503;
  }
}

/** Every decision the authorizer made, as logged (token-free). */
function decisions(): DecisionRecord[] {
  return records;
}

const BILLING = "GET /orgs/{organization_id}/billing";
const PAY = "POST /orgs/{organization_id}/billing";
const INVOICES = "ANY /orgs/{organization_id}/invoices";

describe("each requirement, as an Allow and as a 403 (never a 401)", () => {
  test("MFA within 15 minutes: fresh TOTP or SMS OTP 200; none, or 20 minutes old, 403 step_up_required", async () => {
    const handler = authorizer();
    for (const [factors, expected] of [
      [
        [
          ["magic_link", 30],
          ["totp", 1],
        ],
        [200],
      ],
      [
        [
          ["magic_link", 30],
          ["sms_otp", 14],
        ],
        [200],
      ],
      [
        [
          ["magic_link", 30],
          ["recovery_code", 2],
        ],
        [200],
      ],
      [[["magic_link", 0]], [403, "step_up_required"]],
      [
        [
          ["magic_link", 30],
          ["totp", 20],
        ],
        [403, "step_up_required"],
      ],
      [[["sso_saml", 1]], [403, "step_up_required"]],
    ] as const) {
      const member = session(factors);
      expect(await rest(handler, restEvent(member.sessionJwt, PAY, member)), JSON.stringify(factors)).toEqual(expected);
      expect(await http(handler, httpEvent(member.sessionJwt, PAY, member))).toBe(expected[0]);
    }
    const refusals = decisions().filter((d) => d.outcome === "forbidden");
    expect(refusals).toHaveLength(6);
    expect(refusals.every((d) => d.reason === "step_up_required" && d.routeKey === PAY)).toBe(true);
  });

  test("SSO, and SSO through one named connection", async () => {
    const handler = authorizer();
    const sso = session([["sso_saml", 300]]);
    const other = stytch.createSession({
      authenticationFactors: [{ kind: "sso_oidc", connectionId: "oidc-connection-test-other" }],
    });
    const password = session([["password", 0]]);
    expect(await rest(handler, restEvent(sso.sessionJwt, "GET /admin", sso))).toEqual([200]);
    expect(await rest(handler, restEvent(other.sessionJwt, "GET /admin", other))).toEqual([403, "step_up_required"]);
    expect(await rest(handler, restEvent(other.sessionJwt, "GET /sso", other))).toEqual([200]);
    expect(await rest(handler, restEvent(password.sessionJwt, "GET /sso", password))).toEqual([
      403,
      "step_up_required",
    ]);
  });

  test("the permission comes first: a viewer is refused billing as permission_denied, fresh MFA or not", async () => {
    const handler = authorizer();
    for (const factors of [[["totp", 0]], [["magic_link", 0]]] as const) {
      const viewer = session(factors, ["viewer"]);
      expect(await rest(handler, restEvent(viewer.sessionJwt, BILLING, viewer))).toEqual([403, "permission_denied"]);
    }
  });

  test("routes without requirements are untouched, whatever the factors", async () => {
    const handler = authorizer();
    const member = raw([{ type: "passkey", delivery_method: "webauthn_registration" }]);
    expect(await rest(handler, restEvent(member.sessionJwt, "GET /me", member))).toEqual([200]);
  });

  test("the context of an Allow carries the factors with their times, and the impersonator's ID", async () => {
    const handler = authorizer();
    const member = session([
      ["magic_link", 30],
      ["totp", 1],
    ]);
    const allowed = (await handler(restEvent(member.sessionJwt, BILLING, member))) as {
      context: Record<string, string>;
    };
    expect(JSON.parse(allowed.context.authentication_factors!)).toEqual([
      expect.objectContaining({ type: "magic_link", delivery_method: "email" }),
      expect.objectContaining({ type: "totp", delivery_method: "authenticator_app" }),
    ]);
    const impersonated = stytch.createSession({
      roles: ["admin"],
      authenticationFactors: [{ kind: "impersonated", impersonatorId: "member-test-support-42" }],
    });
    const read = (await handler(restEvent(impersonated.sessionJwt, BILLING, impersonated))) as {
      context: Record<string, string>;
    };
    expect(read.context.impersonator_id).toBe("member-test-support-42");
  });
});

describe("impersonation", () => {
  const impersonated = () =>
    stytch.createSession({ roles: ["admin"], authenticationFactors: [{ kind: "impersonated" }] });

  test("refused (the default) is a 403 impersonation_refused; read_only admits GET and refuses POST", async () => {
    const handler = authorizer();
    const member = impersonated();
    expect(await rest(handler, restEvent(member.sessionJwt, PAY, member))).toEqual([403, "impersonation_refused"]);
    expect(await rest(handler, restEvent(member.sessionJwt, BILLING, member))).toEqual([200]);
    for (const method of ["GET", "HEAD", "OPTIONS"])
      expect(await rest(handler, restEvent(member.sessionJwt, INVOICES, member, method))).toEqual([200]);
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      expect(await rest(handler, restEvent(member.sessionJwt, INVOICES, member, method))).toEqual([
        403,
        "impersonation_refused",
      ]);
      expect(await http(handler, httpEvent(member.sessionJwt, INVOICES, member, method))).toBe(403);
    }
    expect(await http(handler, httpEvent(member.sessionJwt, INVOICES, member, "GET"))).toBe(200);
  });

  test("cached answers cover every method of an ANY route, so read_only there refuses impersonated sessions", async () => {
    const handler = authorizer({ STYTCH_RESULTS_CACHE_TTL_SECONDS: "300" });
    const member = impersonated();
    const response = (await handler(tokenEvent(`Bearer ${member.sessionJwt}`, `${PREFIX}/GET/me`))) as {
      policyDocument: PolicyDocument;
    };
    const at = (verb: string, path: string) =>
      evaluateIamPolicy(response.policyDocument, `${PREFIX}/${verb}/orgs/${member.organizationId}/${path}`);
    expect(at("GET", "billing")).toBe("allow");
    expect(at("POST", "billing")).not.toBe("allow");
    expect(at("GET", "invoices")).not.toBe("allow");
    expect(at("DELETE", "invoices")).not.toBe("allow");
    // A request the answer is made for is judged the same way: its 403 and its log line agree.
    expect((await rest(handler, restEvent(member.sessionJwt, INVOICES, member, "GET")))[0]).toBe(403);
    expect(decisions().at(-1)).toMatchObject({ outcome: "forbidden", reason: "impersonation_refused" });
  });
});

describe("time: no cached answer allows a route past the moment its requirement stopped holding", () => {
  test("uncached: the same JWT, answered from the verdict cache, turns 403 the moment its MFA is 15 minutes old", async () => {
    const handler = authorizer();
    const member = session([
      ["magic_link", 30],
      ["totp", 14],
    ]);
    const event = restEvent(member.sessionJwt, PAY, member);
    expect(await rest(handler, event)).toEqual([200]);
    offsetMs = 59 * 1000;
    expect(await rest(handler, event)).toEqual([200]);
    offsetMs = 60 * 1000 + 1;
    expect(await rest(handler, event)).toEqual([403, "step_up_required"]);
    // The JWT itself is still valid: the verdict came from the cache, the step-up decision did not.
    expect(decisions().map((d) => [d.outcome, d.path])).toEqual([
      ["allow", "local"],
      ["allow", "cache"],
      ["forbidden", "cache"],
    ]);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("cached (TTL 300 s): no answer API Gateway may replay allows a route past its freshness limit", async () => {
    const ttlSeconds = 300;
    const handler = authorizer({ STYTCH_RESULTS_CACHE_TTL_SECONDS: String(ttlSeconds) });
    const member = session([
      ["magic_link", 30],
      ["totp", 9],
    ]);
    const totpAt = Date.parse(
      JSON.parse(Buffer.from(member.sessionJwt.split(".")[1]!, "base64url").toString("utf8"))[
        "https://stytch.com/session"
      ].authentication_factors[1].last_authenticated_at,
    );
    const stale = totpAt + 15 * MINUTE;
    const billing = `${PREFIX}/POST/orgs/${member.organizationId}/billing`;
    const documents: PolicyDocument[] = [];
    let allowedUntil = 0;
    // Every 5 s for two minutes, the answer to a TOKEN event (one IAM policy for every route), as API Gateway
    // would cache it for the TTL: wherever it allows billing, the limit must outlast the whole TTL.
    for (let step = 0; step <= 24; step++) {
      offsetMs = step * 5_000;
      const response = (await handler(tokenEvent(`Bearer ${member.sessionJwt}`, `${PREFIX}/GET/me`))) as {
        policyDocument: PolicyDocument;
      };
      documents.push(response.policyDocument);
      if (evaluateIamPolicy(response.policyDocument, billing) === "allow") {
        expect(clock() + ttlSeconds * 1000, `answer at +${offsetMs / 1000} s`).toBeLessThan(stale);
        allowedUntil = offsetMs;
      }
      // The other routes do not change with time.
      expect(evaluateIamPolicy(response.policyDocument, `${PREFIX}/GET/me`)).toBe("allow");
    }
    // It did allow billing at first (6 minutes of freshness left), and stopped once less than the TTL was left.
    expect(evaluateIamPolicy(documents[0]!, billing)).toBe("allow");
    expect(evaluateIamPolicy(documents.at(-1)!, billing)).not.toBe("allow");
    expect(allowedUntil).toBeGreaterThan(0);
    // Every answer after the first came from the verdict cache, the same member object: its remembered IAM policy
    // was not reused once the step-up state changed.
    expect(decisions().map((d) => d.path)).toEqual(["local", ...Array(24).fill("cache")]);
    expect(stytch.calls.authenticate).toBe(0);
  });

  test("cached: the request that triggered the answer is refused exactly, with the same reason the log gives", async () => {
    const handler = authorizer({ STYTCH_RESULTS_CACHE_TTL_SECONDS: "300" });
    const member = session([
      ["magic_link", 30],
      ["totp", 11],
    ]);
    // 4 minutes of freshness left, less than the TTL: refused now, although an uncached answer would allow it.
    expect((await rest(handler, restEvent(member.sessionJwt, PAY, member)))[0]).toBe(403);
    expect(decisions().at(-1)).toMatchObject({ outcome: "forbidden", reason: "step_up_required" });
    expect(await rest(authorizer(), restEvent(member.sessionJwt, PAY, member))).toEqual([200]);
  });

  test("opaque session tokens: the factors come from Stytch's member_session, by the same rules, cached verdict included", async () => {
    const handler = authorizer({ STYTCH_SESSION_TOKEN_CACHE_SECONDS: "300" });
    const fresh = session([
      ["magic_link", 30],
      ["totp", 14],
    ]);
    const old = session([
      ["magic_link", 30],
      ["totp", 20],
    ]);
    expect(await rest(handler, restEvent(old.sessionToken, PAY, old))).toEqual([403, "step_up_required"]);
    expect(await rest(handler, restEvent(fresh.sessionToken, PAY, fresh))).toEqual([200]);
    offsetMs = 61 * 1000;
    expect(await rest(handler, restEvent(fresh.sessionToken, PAY, fresh))).toEqual([403, "step_up_required"]);
    expect(decisions().at(-1)).toMatchObject({ path: "cache", credentialKind: "session_token" });
    expect(stytch.calls.authenticate).toBe(2);
    const impersonated = stytch.createSession({ roles: ["admin"], authenticationFactors: [{ kind: "impersonated" }] });
    expect(await rest(handler, restEvent(impersonated.sessionToken, PAY, impersonated))).toEqual([
      403,
      "impersonation_refused",
    ]);
  });
});

describe("bad input: a 403 (step-up) or a 401, never an Allow", () => {
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * MINUTE).toISOString().replace(/\.\d+Z$/, "Z");
  const totp = (lastAuthenticatedAt: unknown) => ({
    type: "totp",
    delivery_method: "authenticator_app",
    ...(lastAuthenticatedAt === undefined ? {} : { last_authenticated_at: lastAuthenticatedAt }),
    authenticator_app_factor: { totp_id: "member-totp-test-1" },
  });
  const magicLink = { type: "magic_link", delivery_method: "email", last_authenticated_at: at(30) };

  test.each([
    ["a factor without last_authenticated_at", [magicLink, totp(undefined)], "step_up_required"],
    ["a factor whose last_authenticated_at is not a date", [magicLink, totp("just now")], "step_up_required"],
    ["a factor whose last_authenticated_at is a number", [magicLink, totp(Date.now() / 1000)], "step_up_required"],
    ["a factor authenticated in the future", [magicLink, totp(at(-10))], "step_up_required"],
    [
      "an unknown factor type next to a fresh TOTP",
      [{ type: "mind_reading", delivery_method: "telepathy", last_authenticated_at: at(0) }, totp(at(0))],
      "step_up_required",
    ],
    [
      "an impersonated factor hidden among fresh MFA factors",
      [
        magicLink,
        totp(at(0)),
        {
          type: "impersonated",
          delivery_method: "impersonation",
          last_authenticated_at: at(0),
          impersonated_factor: { impersonator_id: "member-test-x", impersonator_email_address: "x@stytch.example" },
        },
        { type: "otp", delivery_method: "sms", last_authenticated_at: at(0) },
      ],
      "impersonation_refused",
    ],
    [
      "an impersonation disguised as a TOTP factor",
      [
        magicLink,
        { ...totp(at(0)), impersonated_factor: { impersonator_id: "member-test-x", impersonator_email_address: "x" } },
      ],
      "impersonation_refused",
    ],
  ])("%s: 403, as a JWT and as an opaque token", async (_, factors, reason) => {
    const handler = authorizer();
    const member = raw(factors);
    for (const token of [member.sessionJwt, member.sessionToken])
      expect(await rest(handler, restEvent(token, PAY, member))).toEqual([403, reason]);
    expect(await http(handler, httpEvent(member.sessionJwt, PAY, member))).toBe(403);
    // The member is still the member: a route without requirements answers 200.
    expect(await rest(handler, restEvent(member.sessionJwt, "GET /me", member))).toEqual([200]);
  });

  test("a session claim whose factor list is not a list: 403 on step-up routes, 200 elsewhere", async () => {
    const handler = authorizer();
    const member = session([["totp", 0]]);
    const payload = stytch.sessionPayload(member.memberSessionId);
    const claim = payload["https://stytch.com/session"] as Record<string, unknown>;
    const token = stytch.signJwt(
      { alg: "RS256", typ: "JWT", kid: stytch.currentKid },
      { ...payload, "https://stytch.com/session": { ...claim, authentication_factors: { type: "totp" } } },
    );
    expect(await rest(handler, restEvent(token, PAY, member))).toEqual([403, "step_up_required"]);
    expect(await rest(handler, restEvent(token, "GET /me", member))).toEqual([200]);
  });

  test("a forged JWT claiming fresh MFA is a 401 before any step-up is looked at", async () => {
    const handler = authorizer();
    const member = session([["totp", 0]]);
    const [header, payload] = member.sessionJwt.split(".");
    expect(await rest(handler, restEvent(`${header}.${payload}.${"A".repeat(342)}`, PAY, member))).toEqual([401]);
  });
});
