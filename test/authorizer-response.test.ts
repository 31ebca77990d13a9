// Unit tests for lambda/lib/response/authorizer-response.ts: the Allow answer to API Gateway, always covering the whole
// stage so that a cached authorizer response never turns into a 403 on the next route.

import type { APIGatewayAuthorizerResult, APIGatewaySimpleAuthorizerWithContextResult } from "aws-lambda";
import { describe, expect, test } from "vitest";
import type { Caller } from "../lambda/lib/callers/caller";
import { IamPolicyTooLargeError, UnsupportedEventError } from "../lambda/lib/errors";
import type { RbacRole } from "../lambda/lib/permissions/permission-check";
import type { RouteAccess } from "../lambda/lib/permissions/route-access";
import { parseRoutePermissions } from "../lambda/lib/permissions/route-table";
import {
  type AuthorizerResponse,
  routeTableAuthorizerResponse,
  stageAuthorizerResponse,
  stageResourceArn,
} from "../lambda/lib/response/authorizer-response";
import type { AuthorizerContext } from "../lambda/lib/response/member-context";
import { evaluateIamPolicy } from "../local/iam-policy-evaluator";
import { thrownBy } from "./support/thrown";

const MEMBER_ID = "member-test-32fc5024-9c09-4da3-bd2e-c9ce4da9375f";
const CONTEXT: AuthorizerContext = {
  member_id: MEMBER_ID,
  member_session_id: "member-session-test-4b6e4c5f-1e9f-4f0a-8f6e-0c1b2d3e4f50",
  organization_id: "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931",
  organization_slug: "acme",
  roles: '["stytch_member","editor"]',
  auth_method: "jwt",
  session_expires_at: "2030-01-01T00:00:00Z",
  custom_claims: "{}",
};

/** Asserts that `fn` throws UnsupportedEventError with reason "bad_event". */
function expectBadEvent(fn: () => unknown): void {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(UnsupportedEventError);
  expect((caught as UnsupportedEventError).reason).toBe("bad_event");
}

/** The single Resource of an IAM-policy answer. */
function resourceOf(response: AuthorizerResponse): unknown {
  const policy = (response as APIGatewayAuthorizerResult).policyDocument;
  expect(policy.Version).toBe("2012-10-17");
  expect(policy.Statement).toHaveLength(1);
  const statement = policy.Statement[0] as { Action: unknown; Effect: unknown; Resource: unknown };
  expect(statement.Action).toBe("execute-api:Invoke");
  expect(statement.Effect).toBe("Allow");
  return statement.Resource;
}

describe("the authorizer response", () => {
  describe("stageResourceArn", () => {
    test.each([
      [
        "a REST method ARN",
        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders",
        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*",
      ],
      [
        "a nested path",
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/DELETE/orders/42/items/7",
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/*",
      ],
      [
        "the root resource",
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/dev/GET/",
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/dev/*/*",
      ],
      [
        "the HTTP API $default stage",
        "arn:aws:execute-api:eu-central-1:123456789012:x7y8z9/$default/POST/orders",
        "arn:aws:execute-api:eu-central-1:123456789012:x7y8z9/$default/*/*",
      ],
      [
        "an ANY method",
        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/ANY/proxy",
        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*",
      ],
      [
        "the aws-cn partition",
        "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3d4e5/prod/GET/orders",
        "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3d4e5/prod/*/*",
      ],
      [
        "the aws-us-gov partition",
        "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:a1b2c3d4e5/prod/PUT/orders/1",
        "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:a1b2c3d4e5/prod/*/*",
      ],
    ])("%s maps to the whole stage", (_, methodArn, expected) => {
      expect(stageResourceArn(methodArn)).toBe(expected);
    });

    test.each([
      ["an empty string", ""],
      ["garbage", "not-an-arn"],
      ["a Lambda function ARN", "arn:aws:lambda:eu-west-1:123456789012:function:orders/prod/GET/orders"],
      ["an S3 ARN", "arn:aws:s3:::bucket/prod/GET/orders"],
      ["a non-AWS partition", "arn:gcp:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders"],
      ["a short account ID", "arn:aws:execute-api:eu-west-1:1234:a1b2c3d4e5/prod/GET/orders"],
      ["no stage", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5"],
      ["a stage but no method", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod"],
      ["an empty stage", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5//GET/orders"],
      ["a wildcard API ID", "arn:aws:execute-api:eu-west-1:123456789012:*/prod/GET/orders"],
      ["whitespace in the path", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/or ders"],
    ])("%s is rejected", (_, arn) => {
      expectBadEvent(() => stageResourceArn(arn));
    });

    test("a missing ARN is rejected", () => {
      expectBadEvent(() => stageResourceArn(undefined));
    });
  });

  describe("stageAuthorizerResponse", () => {
    test("a REST event gets a stage-wide IAM policy, the member as principal, and the context", () => {
      const response = stageAuthorizerResponse(
        { methodArn: "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders/42" },
        MEMBER_ID,
        CONTEXT,
        "simple",
      );
      expect(response).toEqual({
        principalId: MEMBER_ID,
        policyDocument: {
          Version: "2012-10-17",
          Statement: [
            {
              Action: "execute-api:Invoke",
              Effect: "Allow",
              Resource: "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*",
            },
          ],
        },
        context: CONTEXT,
      });
    });

    test("two different methods on the same stage get the same stage-wide resource", () => {
      /**
       * The famous caching bug: API Gateway caches the first answer under the credential. If the
       * Allow named only GET /orders, the same member's POST /invoices would get a 403 from the
       * cache for the rest of the TTL, without the authorizer ever running again. Both answers
       * must therefore cover every method and path of the stage.
       */
      const first = stageAuthorizerResponse(
        { methodArn: "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders" },
        MEMBER_ID,
        CONTEXT,
        "iam",
      );
      const second = stageAuthorizerResponse(
        { methodArn: "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/invoices/9/lines" },
        MEMBER_ID,
        CONTEXT,
        "iam",
      );
      expect(resourceOf(first)).toBe("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*");
      expect(resourceOf(second)).toBe("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*");
    });

    test("different stages and APIs get their own resources", () => {
      /**
       * The IAM policy is memoised per stage; the memo must never hand one stage's IAM policy to another.
       */
      const arns = [
        [
          "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/x",
          "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*",
        ],
        [
          "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/staging/GET/x",
          "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/staging/*/*",
        ],
        [
          "arn:aws:execute-api:eu-west-1:123456789012:zzz999/prod/GET/x",
          "arn:aws:execute-api:eu-west-1:123456789012:zzz999/prod/*/*",
        ],
        [
          "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/x",
          "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/*",
        ],
        [
          "arn:aws:execute-api:eu-west-1:210987654321:a1b2c3d4e5/prod/GET/x",
          "arn:aws:execute-api:eu-west-1:210987654321:a1b2c3d4e5/prod/*/*",
        ],
      ];
      for (let round = 0; round < 2; round++) {
        for (const [methodArn, expected] of arns) {
          expect(resourceOf(stageAuthorizerResponse({ methodArn }, MEMBER_ID, CONTEXT, "iam"))).toBe(expected);
        }
      }
    });

    test("more stages than the IAM policy memo holds still get correct resources", () => {
      for (let i = 0; i < 200; i++) {
        const response = stageAuthorizerResponse(
          { methodArn: `arn:aws:execute-api:eu-west-1:123456789012:api${i}/prod/GET/x` },
          MEMBER_ID,
          CONTEXT,
          "iam",
        );
        expect(resourceOf(response)).toBe(`arn:aws:execute-api:eu-west-1:123456789012:api${i}/prod/*/*`);
      }
    });

    test("the principal and context of each answer belong to that answer's member", () => {
      const methodArn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders";
      const otherContext: AuthorizerContext = { ...CONTEXT, member_id: "member-test-other" };
      const first = stageAuthorizerResponse({ methodArn }, MEMBER_ID, CONTEXT, "iam") as APIGatewayAuthorizerResult;
      const second = stageAuthorizerResponse(
        { methodArn },
        "member-test-other",
        otherContext,
        "iam",
      ) as APIGatewayAuthorizerResult;
      expect(first.principalId).toBe(MEMBER_ID);
      expect(first.context).toBe(CONTEXT);
      expect(second.principalId).toBe("member-test-other");
      expect(second.context).toBe(otherContext);
    });

    test('an HTTP API 2.0 event in "simple" mode gets a simple response with the context', () => {
      const response = stageAuthorizerResponse(
        { version: "2.0", routeArn: "arn:aws:execute-api:eu-west-1:123456789012:x7y8z9/$default/GET/orders" },
        MEMBER_ID,
        CONTEXT,
        "simple",
      ) as APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;
      expect(response).toEqual({ isAuthorized: true, context: CONTEXT });
      expect(response).not.toHaveProperty("policyDocument");
      expect(response).not.toHaveProperty("principalId");
    });

    test('an HTTP API 2.0 event in "iam" mode gets an IAM policy built from its routeArn', () => {
      const response = stageAuthorizerResponse(
        { version: "2.0", routeArn: "arn:aws:execute-api:eu-west-1:123456789012:x7y8z9/$default/GET/orders/{id}" },
        MEMBER_ID,
        CONTEXT,
        "iam",
      );
      expect(resourceOf(response)).toBe("arn:aws:execute-api:eu-west-1:123456789012:x7y8z9/$default/*/*");
      expect((response as APIGatewayAuthorizerResult).principalId).toBe(MEMBER_ID);
      expect((response as APIGatewayAuthorizerResult).context).toEqual(CONTEXT);
      expect(response).not.toHaveProperty("isAuthorized");
    });

    test('an HTTP API 1.0 event gets an IAM policy even when "simple" is configured', () => {
      /**
       * Payload 1.0 only understands IAM policies; the simple format exists for 2.0 alone.
       */
      const response = stageAuthorizerResponse(
        { version: "1.0", methodArn: "arn:aws:execute-api:eu-west-1:123456789012:x7y8z9/$default/GET/orders" },
        MEMBER_ID,
        CONTEXT,
        "simple",
      );
      expect(resourceOf(response)).toBe("arn:aws:execute-api:eu-west-1:123456789012:x7y8z9/$default/*/*");
      expect((response as APIGatewayAuthorizerResult).principalId).toBe(MEMBER_ID);
    });

    test("an event without any ARN is rejected when an IAM policy is needed", () => {
      expectBadEvent(() => stageAuthorizerResponse({}, MEMBER_ID, CONTEXT, "iam"));
      expectBadEvent(() => stageAuthorizerResponse({ version: "1.0" }, MEMBER_ID, CONTEXT, "simple"));
      expectBadEvent(() => stageAuthorizerResponse({ version: "2.0" }, MEMBER_ID, CONTEXT, "iam"));
    });

    test("an unparsable or non-execute-api ARN is rejected", () => {
      expectBadEvent(() =>
        stageAuthorizerResponse(
          { methodArn: "arn:aws:lambda:eu-west-1:123456789012:function:orders" },
          MEMBER_ID,
          CONTEXT,
          "iam",
        ),
      );
      expectBadEvent(() =>
        stageAuthorizerResponse(
          { methodArn: "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod" },
          MEMBER_ID,
          CONTEXT,
          "iam",
        ),
      );
      expectBadEvent(() =>
        stageAuthorizerResponse({ version: "2.0", routeArn: "nonsense" }, MEMBER_ID, CONTEXT, "iam"),
      );
    });

    test("an invalid ARN is rejected even after a valid one of the same stage was answered", () => {
      /**
       * The stage's IAM policy is memoised by its ARN prefix; the memo must not let a malformed ARN
       * through just because its prefix looks like a stage seen before.
       */
      const stage = "arn:aws:execute-api:eu-west-1:123456789012:memo1/prod";
      expect(resourceOf(stageAuthorizerResponse({ methodArn: `${stage}/GET/orders` }, MEMBER_ID, CONTEXT, "iam"))).toBe(
        `${stage}/*/*`,
      );
      expectBadEvent(() => stageAuthorizerResponse({ methodArn: `${stage}/GET/or ders` }, MEMBER_ID, CONTEXT, "iam"));
    });
  });
});

describe("routeTableAuthorizerResponse: the member's IAM policy for a route table", () => {
  const ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/me";
  const PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod";
  const ORG = "organization-test-07971b06-ac8b-4cdb-9c15-63b17e653931";
  const table = parseRoutePermissions(
    JSON.stringify({
      "GET /orgs/{organization_id}/billing": { resource_id: "billing", action: "read" },
      "GET /me": "authenticated",
    }),
    "test",
  );
  const BILLING = `${PREFIX}/GET/orgs/${ORG}/billing`;
  const grants = (roleId: string, resourceId: string): RbacRole[] => [
    { role_id: roleId, permissions: [{ resource_id: resourceId, actions: ["read"] }] },
  ];
  const cached = { httpApiResponse: "iam", cached: true, cacheHorizonMs: 305_000, clockToleranceMs: 5_000 } as const;
  const iamPolicyOf = (response: AuthorizerResponse) => (response as APIGatewayAuthorizerResult).policyDocument;
  const member = (roles: string[]): Caller => ({
    type: "member",
    member: {
      memberId: MEMBER_ID,
      memberSessionId: "member-session-test-1",
      organizationId: ORG,
      organizationSlug: "acme",
      roles,
      authMethod: "jwt",
      sessionExpiresAt: "2099-01-01T00:00:00Z",
      customClaims: {},
      authenticationFactors: [],
    },
  });
  const access = (version: string, roles: RbacRole[]): RouteAccess => ({
    policy: { type: "member", rbacRoles: { version, roles }, version },
    outcome: undefined,
    routeKey: undefined,
    nowMs: Date.now(),
  });

  test("a newer RBAC policy version is never answered with the policy of an older one, even for the same member object", () => {
    const same = member(["auditor"]);
    const before = routeTableAuthorizerResponse(
      { methodArn: ARN },
      MEMBER_ID,
      CONTEXT,
      cached,
      table,
      same,
      access("v1", grants("auditor", "billing")),
    );
    expect(evaluateIamPolicy(iamPolicyOf(before), BILLING)).toBe("allow");
    const after = routeTableAuthorizerResponse(
      { methodArn: ARN },
      MEMBER_ID,
      CONTEXT,
      cached,
      table,
      same,
      access("v2", grants("auditor", "documents")),
    );
    expect(evaluateIamPolicy(iamPolicyOf(after), BILLING)).not.toBe("allow");
  });

  test("roles are kept apart in the IAM policy's cache key: ['viewer\\nadmin'] is not ['viewer', 'admin']", () => {
    const roles: RbacRole[] = [...grants("admin", "billing"), ...grants("viewer", "documents")];
    const two = routeTableAuthorizerResponse(
      { methodArn: ARN },
      MEMBER_ID,
      CONTEXT,
      cached,
      table,
      member(["viewer", "admin"]),
      access("v1", roles),
    );
    expect(evaluateIamPolicy(iamPolicyOf(two), BILLING)).toBe("allow");
    const one = routeTableAuthorizerResponse(
      { methodArn: ARN },
      MEMBER_ID,
      CONTEXT,
      cached,
      table,
      member(["viewer\nadmin"]),
      access("v1", roles),
    );
    expect(evaluateIamPolicy(iamPolicyOf(one), BILLING)).not.toBe("allow");
  });

  test("an IAM policy too large for API Gateway is a fault, remembered like a success: the second request does not build it again", () => {
    const routes: Record<string, unknown> = {};
    // Nothing to merge: every route has a path of its own from the first segment on.
    for (let r = 0; r < 400; r++) routes[`GET /resource-${r}/{organization_id}/items`] = "authenticated";
    const big = parseRoutePermissions(JSON.stringify(routes), "test");
    let reads = 0;
    // A view of the table that counts how often building the IAM policy walks its routes.
    const counted = {
      byRouteKey: big.byRouteKey,
      stepUpRoutes: big.stepUpRoutes,
      get routes() {
        reads++;
        return big.routes;
      },
    };
    const ask = () =>
      thrownBy(() =>
        routeTableAuthorizerResponse(
          { methodArn: ARN },
          MEMBER_ID,
          CONTEXT,
          cached,
          counted,
          member([]),
          access("v1", []),
        ),
      );
    expect(ask()).toBeInstanceOf(IamPolicyTooLargeError);
    const built = reads;
    expect(built).toBeGreaterThan(0);
    expect(ask()).toBeInstanceOf(IamPolicyTooLargeError);
    expect(reads).toBe(built);
  });

  test("uncached, an event that names its route gets an Allow or a Deny of exactly its ARN, never a wildcard", () => {
    const uncached = { httpApiResponse: "iam", cached: false, cacheHorizonMs: 0, clockToleranceMs: 5_000 } as const;
    const allowed = routeTableAuthorizerResponse(
      { methodArn: BILLING },
      MEMBER_ID,
      CONTEXT,
      uncached,
      table,
      member([]),
      {
        ...access("v1", []),
        outcome: "allowed",
        routeKey: "GET /orgs/{organization_id}/billing",
      },
    );
    expect(iamPolicyOf(allowed).Statement).toEqual([
      { Action: "execute-api:Invoke", Effect: "Allow", Resource: BILLING },
    ]);
    const refused = routeTableAuthorizerResponse(
      { methodArn: BILLING },
      MEMBER_ID,
      CONTEXT,
      uncached,
      table,
      member([]),
      {
        ...access("v1", []),
        outcome: "permission_denied",
        routeKey: "GET /orgs/{organization_id}/billing",
      },
    );
    expect(iamPolicyOf(refused).Statement).toEqual([
      { Action: "execute-api:Invoke", Effect: "Deny", Resource: BILLING },
    ]);
    // A request path holding an IAM wildcard is never written alone as a resource.
    const starry = `${PREFIX}/GET/orgs/${ORG}/*`;
    const wild = routeTableAuthorizerResponse({ methodArn: starry }, MEMBER_ID, CONTEXT, uncached, table, member([]), {
      ...access("v1", []),
      outcome: "allowed",
      routeKey: "GET /orgs/{organization_id}/billing",
    });
    expect(JSON.stringify(iamPolicyOf(wild))).not.toContain(`"${starry}"`);
  });
});
