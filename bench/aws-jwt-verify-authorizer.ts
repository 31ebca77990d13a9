// A minimal API Gateway authorizer built on aws-jwt-verify, for reference only: its bundle size and
// cold start are measured next to ours by bench/run.ts. It checks the signature with the project's
// JWKS and the standard claims, and nothing Stytch-specific (no fallback to the Stytch API).
//
// Two set-ups, as the library's documentation recommends them:
// - hydrated (the default): `hydrate()` at init starts the key-set download while the runtime initialises;
// - preloaded, the expert set-up: AWS_JWT_VERIFY_JWKS_FILE names a JWKS document shipped with the function,
//   handed to `cacheJwks()` at init, so that no request ever waits for the network.

import { readFileSync } from "node:fs";
import { JwtVerifier } from "aws-jwt-verify";
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { bearerToken, stageAuthorizerResponse } from "./minimal-policy";

const projectId = process.env.STYTCH_PROJECT_ID ?? "";
const apiUrl =
  process.env.STYTCH_API_URL ||
  (projectId.startsWith("project-live-") ? "https://api.stytch.com" : "https://test.stytch.com");

// Built at init, with its key set (preloaded from the shipped file, or downloading meanwhile).
const verifier = JwtVerifier.create({
  issuer: `stytch.com/${projectId}`,
  audience: projectId,
  jwksUri: `${apiUrl}/v1/b2b/sessions/jwks/${projectId}`,
});
const jwksFile = process.env.AWS_JWT_VERIFY_JWKS_FILE;
if (jwksFile) verifier.cacheJwks(JSON.parse(readFileSync(jwksFile, "utf8")));
else verifier.hydrate().catch(() => undefined); // a failed download is retried by the first verify()

/** REST REQUEST authorizer: Allow for a valid Stytch B2B session JWT, `Unauthorized` otherwise. */
export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const token = bearerToken(event);
  if (!token) throw new Error("Unauthorized");
  let payload: Awaited<ReturnType<typeof verifier.verify>>;
  try {
    payload = await verifier.verify(token);
  } catch {
    throw new Error("Unauthorized");
  }
  const organization = payload["https://stytch.com/organization"] as { organization_id?: string } | undefined;
  return stageAuthorizerResponse(String(payload.sub), event.methodArn, {
    member_id: String(payload.sub),
    organization_id: organization?.organization_id ?? "",
  });
}
