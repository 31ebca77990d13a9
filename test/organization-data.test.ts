// The demo handler behind the permissioned organization routes: it reads the member and answers for the
// member's own organization; the authorizer has already checked the route.

import type { APIGatewayProxyEvent, APIGatewayProxyEventV2WithLambdaAuthorizer } from "aws-lambda";
import { describe, expect, test } from "vitest";
import { handler } from "../lambda/demo/organization-data";
import { type MemberSession, toAuthorizerContext } from "../lambda/lib/response/member-context";

const member: MemberSession = {
  memberId: "member-test-1",
  memberSessionId: "session-test-1",
  organizationId: "organization-test-1",
  organizationSlug: "acme",
  roles: ["stytch_member", "editor"],
  authMethod: "jwt",
  sessionExpiresAt: "2030-01-01T00:00:00Z",
  customClaims: {},
  authenticationFactors: [],
};
const context = Object.fromEntries(
  Object.entries(toAuthorizerContext(member)).map(([key, value]) => [key, String(value)]),
);

function restEvent(method: string, resource: string, withContext = true): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    resource,
    headers: {},
    requestContext: { authorizer: withContext ? { ...context, principalId: member.memberId } : undefined },
  } as unknown as APIGatewayProxyEvent;
}

describe("organization data", () => {
  test("GET documents (REST) lists the documents of the member's own organization", async () => {
    const result = await handler(restEvent("GET", "/orgs/{organization_id}/documents"));
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body);
    expect(body.organization).toEqual({ organization_id: "organization-test-1", organization_slug: "acme" });
    expect(body.documents).toHaveLength(2);
  });

  test("POST documents answers 201 with the new document, created by the member", async () => {
    const result = await handler(restEvent("POST", "/orgs/{organization_id}/documents"));
    expect(result.statusCode).toBe(201);
    expect(JSON.parse(result.body).document).toMatchObject({ created_by: "member-test-1" });
  });

  test("GET billing over an HTTP API event (routeKey, context under authorizer.lambda)", async () => {
    const event = {
      routeKey: "GET /orgs/{organization_id}/billing",
      headers: {},
      requestContext: { authorizer: { lambda: toAuthorizerContext(member) } },
    };
    const result = await handler(
      event as unknown as APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, unknown>>,
    );
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body).billing).toMatchObject({ plan: "team" });
  });

  test("without the authorizer's context (a deployment mistake) it answers 500, never data", async () => {
    const result = await handler(restEvent("GET", "/orgs/{organization_id}/documents", false));
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('documents":');
  });
});
