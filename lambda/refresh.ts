// POST /auth/refresh: exchanges a Stytch session credential (cookie, Authorization header or JSON body)
// for a fresh 5-minute session JWT, and rotates the session cookies.
//
//   event ──► request ──► credential ──► Stytch sessions/authenticate ──► JSON + Set-Cookie
//
// The route is public by design: an authorizer would reject the expired JWTs it exists to refresh.
// So it screens JWTs itself (forged or foreign JWTs never reach Stytch) and refuses credentialed
// requests from origins outside the allow-list (lib/session-endpoint/session-endpoint.ts: the gates and
// answers it shares with the organization switch).

import { SERVICE_NAMES } from "./lib/operations/metric-names";
import { sessionCookie } from "./lib/response/session-cookies";
import {
  createSessionEndpoint,
  lambdaEntryPoint,
  type SessionEndpointHandler,
} from "./lib/session-endpoint/session-endpoint";
import { StytchClient, sessionCredentialOf } from "./lib/stytch/stytch-client";

export type {
  SessionEndpointEvent as RefreshEvent,
  SessionEndpointResult as RefreshResult,
} from "./lib/session-endpoint/proxy-exchange";
export { MAX_BODY_BYTES } from "./lib/session-endpoint/request-body";
export { RETRY_AFTER_SECONDS } from "./lib/session-endpoint/session-endpoint";

/** The refresh endpoint's handler. */
export type RefreshHandler = SessionEndpointHandler;

/** The JSON body of a 200. The opaque session token appears only when REFRESH_RETURN_SESSION_TOKEN=true. */
export interface RefreshResponseBody {
  readonly session_jwt: string;
  readonly session_expires_at: string;
  readonly member_id: string;
  readonly organization_id: string;
  readonly session_token?: string;
}

/**
 * Creates the refresh handler for an environment; configuration is validated once, here. An invalid
 * configuration yields a handler that answers 503 to every request.
 */
export function createRefreshHandler(env: Readonly<Record<string, string | undefined>> = process.env): RefreshHandler {
  return createSessionEndpoint(env, {
    service: SERVICE_NAMES.refresh,
    name: "refresh",
    fields: [],
    readInput: () => undefined,
    client: StytchClient,
    async answer({ credential, sessionDurationMinutes, deadline }, { config, stytch, cookies }) {
      const answer = await stytch.authenticate(sessionCredentialOf(credential), {
        deadline,
        ...(sessionDurationMinutes === undefined ? {} : { sessionDurationMinutes }),
      });
      const session = answer.member_session;
      if (!answer.session_jwt) throw new Error("Stytch answered without a session JWT");
      const setCookies = [sessionCookie(config.jwtCookieName, answer.session_jwt, session.expires_at, cookies)];
      if (answer.session_token)
        setCookies.push(sessionCookie(config.sessionCookieName, answer.session_token, session.expires_at, cookies));
      const body: RefreshResponseBody = {
        session_jwt: answer.session_jwt,
        session_expires_at: session.expires_at,
        member_id: session.member_id,
        organization_id: session.organization_id,
        ...(config.returnSessionToken && answer.session_token ? { session_token: answer.session_token } : {}),
      };
      return { body, cookies: setCookies, logMessage: "session refreshed", memberId: session.member_id };
    },
  });
}

/** The Lambda entry point, wired to the container's environment. */
export const handler: RefreshHandler = lambdaEntryPoint(() => createRefreshHandler());
