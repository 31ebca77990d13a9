// The example downstream handler: the member from the authorizer context, as JSON.

import type { APIGatewayProxyEvent, APIGatewayProxyEventV2WithLambdaAuthorizer } from "aws-lambda";
import { beforeAll, describe, expect, test } from "vitest";
import { type MemberSession, toAuthorizerContext } from "../lambda/lib/response/member-context";

const APP_ORIGIN = "https://app.example.com";
let handler: typeof import("../lambda/demo/me").handler;

const member: MemberSession = {
  memberId: "member-test-1",
  memberSessionId: "session-test-1",
  organizationId: "organization-test-1",
  organizationSlug: "acme",
  roles: ["stytch_member", "admin"],
  authMethod: "jwt",
  sessionExpiresAt: "2030-01-01T00:00:00Z",
  email: "ada@example.com",
  customClaims: { plan: "pro" },
  authenticationFactors: [],
};

/** API Gateway hands a REST proxy integration every context value as a string. */
function restEvent(headers: Record<string, string>, withContext = true): APIGatewayProxyEvent {
  const context = Object.fromEntries(
    Object.entries(toAuthorizerContext(member)).map(([key, value]) => [key, String(value)]),
  );
  return {
    headers,
    requestContext: { authorizer: withContext ? { ...context, principalId: member.memberId } : undefined },
  } as unknown as APIGatewayProxyEvent;
}

beforeAll(async () => {
  // The allow-list is read once when the module loads, like every handler's configuration.
  process.env.CORS_ALLOWED_ORIGINS = `${APP_ORIGIN}, http://localhost:3000`;
  ({ handler } = await import("../lambda/demo/me"));
});

describe("GET /me", () => {
  test("a REST proxy event answers 200 with the member decoded from the stringified context", async () => {
    const result = await handler(restEvent({}));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ member });
    expect(result.headers).toMatchObject({ "content-type": "application/json", "cache-control": "no-store" });
  });

  test("an HTTP API event reads the member from authorizer.lambda", async () => {
    const event = {
      headers: {},
      requestContext: { authorizer: { lambda: toAuthorizerContext(member) } },
    } as unknown as APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, unknown>>;
    const result = await handler(event);
    expect(JSON.parse(result.body)).toEqual({ member });
  });

  test("a route deployed without the authorizer is a 500, never a member", async () => {
    const result = await handler(restEvent({}, false));
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain("member-test-1");
  });

  test("an allowed origin gets credentialed CORS headers; any other origin gets none", async () => {
    const allowed = await handler(restEvent({ Origin: APP_ORIGIN }));
    expect(allowed.headers).toMatchObject({
      "access-control-allow-origin": APP_ORIGIN,
      "access-control-allow-credentials": "true",
      vary: "Origin",
    });
    const other = await handler(restEvent({ origin: "https://evil.example.net" }));
    expect(other.headers).not.toHaveProperty("access-control-allow-origin");
  });
});
