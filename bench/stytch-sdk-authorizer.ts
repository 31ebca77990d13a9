// A minimal API Gateway authorizer built on the official Stytch Node SDK, for comparison only: its
// bundle size and cold start are measured next to ours by bench/run.ts. It does what the SDK's docs
// suggest: one B2BClient per container, `sessions.authenticateJwt` (local verification with the
// SDK's remote JWKS, falling back to the Stytch API), and an Allow for the stage.

import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { B2BClient } from "stytch";
import { bearerToken, stageAuthorizerResponse } from "./minimal-policy";

// Built at init, outside the handler, as a warm container reuses it.
const client = new B2BClient({
  project_id: process.env.STYTCH_PROJECT_ID ?? "",
  secret: process.env.STYTCH_SECRET ?? "",
  // The SDK only accepts https here (the benchmark serves its JWKS over loopback TLS).
  ...(process.env.STYTCH_API_URL ? { custom_base_url: process.env.STYTCH_API_URL } : {}),
});

/** REST REQUEST authorizer: Allow for a valid Stytch B2B session JWT, `Unauthorized` otherwise. */
export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const token = bearerToken(event);
  if (!token) throw new Error("Unauthorized");
  let memberSession: Awaited<ReturnType<typeof client.sessions.authenticateJwt>>["member_session"];
  try {
    ({ member_session: memberSession } = await client.sessions.authenticateJwt({ session_jwt: token }));
  } catch {
    throw new Error("Unauthorized");
  }
  return stageAuthorizerResponse(memberSession.member_id, event.methodArn, {
    member_id: memberSession.member_id,
    member_session_id: memberSession.member_session_id,
    organization_id: memberSession.organization_id,
    roles: JSON.stringify(memberSession.roles),
  });
}
