// POST /auth/refresh: exchanges a Stytch session credential (cookie, Authorization header or JSON body)
// for a fresh 5-minute session JWT, and rotates the session cookies.
//
//   event ──► request ──► credential ──► Stytch sessions/authenticate ──► JSON + Set-Cookie
//
// The route is public by design: an authorizer would reject the expired JWTs it exists to refresh.
// So it screens JWTs itself (forged or foreign JWTs never reach Stytch) and refuses credentialed
// requests from origins outside the allow-list.

import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { loadRefreshConfig, type RefreshConfig } from "./lib/config";
import {
  AuthorizerError,
  CredentialRejectedError,
  failureOutcome,
  MissingCredentialError,
  type ReasonCode,
} from "./lib/errors";
import { addLambdaContext, handlerLogger } from "./lib/operations/log";
import { type DecisionPath, SERVICE_NAMES } from "./lib/operations/metric-names";
import { DecisionMetrics } from "./lib/operations/metrics";
import { corsHeadersFor, requestOrigin } from "./lib/response/cors";
import { clearedCookie, type SessionCookieOptions, sessionCookie } from "./lib/response/session-cookies";
import { RETRY_AFTER_SECONDS, UNAVAILABLE_BODY } from "./lib/response/unavailable";
import { type Credential, classifyCredential, findCredential } from "./lib/session/credentials";
import { JwksCache } from "./lib/session/jwks-cache";
import { SessionJwtVerifier } from "./lib/session/session-jwt";
import { type ScreeningDeps, screenSessionJwt } from "./lib/session/session-verdict";
import { createSecretProvider } from "./lib/stytch/project-secret";
import { StytchClient } from "./lib/stytch/stytch-client";

/** REST (v1) or HTTP API (v2) proxy event. */
export type RefreshEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;
/** The matching proxy result. */
export type RefreshResult = APIGatewayProxyResult | APIGatewayProxyStructuredResultV2;
/** The refresh endpoint's handler. */
export type RefreshHandler = (event: RefreshEvent, context?: Partial<Context>) => Promise<RefreshResult>;

/** The JSON body of a 200. The opaque session token appears only when REFRESH_RETURN_SESSION_TOKEN=true. */
export interface RefreshResponseBody {
  readonly session_jwt: string;
  readonly session_expires_at: string;
  readonly member_id: string;
  readonly organization_id: string;
  readonly session_token?: string;
}

/** Largest request body accepted; a credential plus a duration fit in a fraction of it. */
export const MAX_BODY_BYTES = 8_192;
/** Seconds a client should wait after a 503: the package's one 503 contract. */
export { RETRY_AFTER_SECONDS };

const BODY_FIELDS = new Set(["session_token", "session_jwt", "session_duration_minutes"]);

/** A request the endpoint refuses to read: 400. */
class BadRequestError extends Error {
  override readonly name = "BadRequestError";
}

/** The normalised request, whatever the event version. */
interface RefreshRequest {
  readonly method: string;
  readonly origin: string | undefined;
  readonly body: string | undefined;
  readonly v2: boolean;
  readonly event: RefreshEvent;
}

interface RefreshRuntime {
  readonly config: RefreshConfig;
  readonly stytch: StytchClient;
  readonly screening: ScreeningDeps;
  readonly cookies: SessionCookieOptions;
}

/**
 * Creates the refresh handler for an environment; configuration is validated once, here. An invalid
 * configuration yields a handler that answers 503 to every request.
 */
export function createRefreshHandler(env: Readonly<Record<string, string | undefined>> = process.env): RefreshHandler {
  let runtime: RefreshRuntime | undefined;
  // Its own service and Lambda context, also when it shares a process with the authorizer (npm start).
  const logger = handlerLogger(SERVICE_NAMES.refresh, env);
  const metrics = new DecisionMetrics({ env, service: SERVICE_NAMES.refresh });
  try {
    const config = loadRefreshConfig(env);
    runtime = {
      config,
      stytch: new StytchClient({
        apiUrl: config.apiUrl,
        projectId: config.projectId,
        secret: createSecretProvider(config.secret),
        timeoutMs: config.apiTimeoutMs,
        onAttempt: metrics.stytchAttempt,
      }),
      // Expiry and age are Stytch's to judge here: only authenticity and tenancy are screened.
      screening: {
        sessionJwts: new SessionJwtVerifier({ ...config, maxTokenAgeSeconds: undefined }),
        jwksCache: new JwksCache({
          jwksUrl: config.jwksUrl,
          timeoutMs: config.jwksTimeoutMs,
          clockSkewMs: config.clockToleranceSeconds * 1000,
          onRefresh: metrics.jwksRefreshed,
          onKeysAdded: metrics.keySetRotated,
          logger,
        }),
      },
      cookies: { httpOnly: config.cookieHttpOnly, domain: config.cookieDomain },
    };
  } catch (error) {
    logger.error("invalid refresh configuration", {
      reason: "bad_config",
      detail: (error as Error).message,
      errorName: (error as Error).name,
    });
  }

  return async function handler(event, context) {
    addLambdaContext(context, logger);
    const request = readRequest(event);
    const allowedOrigins = runtime?.config.allowedOrigins ?? [];
    const allowedOrigin =
      request.origin !== undefined && allowedOrigins.includes(request.origin) ? request.origin : undefined;
    const cors = corsHeadersFor(request.origin, allowedOrigins);
    const respond = (
      status: number,
      body: unknown,
      extra: { headers?: Record<string, string>; cookies?: string[] } = {},
    ) => result(request, status, body, { ...cors, ...extra.headers }, extra.cookies);

    if (request.method === "OPTIONS") {
      if (!allowedOrigin) return respond(403, { message: "origin not allowed" });
      return result(request, 204, undefined, {
        ...cors,
        "access-control-allow-methods": "POST, OPTIONS",
        "access-control-allow-headers": "content-type, authorization",
        "access-control-max-age": "600",
      });
    }
    if (request.method !== "POST")
      return respond(405, { message: "method not allowed" }, { headers: { allow: "POST, OPTIONS" } });
    // A browser sends Origin on cross-origin POSTs; one we did not allow must not ride the member's cookies.
    if (request.origin !== undefined && !allowedOrigin) return respond(403, { message: "origin not allowed" });
    if (!runtime) {
      metrics.decided("fault", "none", "bad_config");
      return respond(503, UNAVAILABLE_BODY, { headers: { "retry-after": String(RETRY_AFTER_SECONDS) } });
    }

    const { config, stytch, screening, cookies } = runtime;
    let reason: ReasonCode | "bad_request" | undefined;
    let path: DecisionPath = "none"; // for metrics: how far the request got
    try {
      const { credential, sessionDurationMinutes } = readCredential(request, config);
      path = "local";
      if (credential.kind === "session_jwt") await screenSessionJwt(credential.value, screening);
      path = "remote";
      const answer = await stytch.authenticate(
        credential.kind === "session_jwt" ? { session_jwt: credential.value } : { session_token: credential.value },
        {
          deadline: Date.now() + config.apiTimeoutMs,
          ...(sessionDurationMinutes === undefined ? {} : { sessionDurationMinutes }),
        },
      );
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
      metrics.decided("allow", path);
      logger.info("session refreshed", {
        status: 200,
        credentialKind: credential.kind,
        credentialSource: credential.source,
        memberId: session.member_id,
      });
      return respond(200, body, { cookies: setCookies });
    } catch (error) {
      if (error instanceof BadRequestError) {
        reason = "bad_request";
        metrics.decided("deny", path, reason);
        logger.info("refresh refused", { status: 400, reason, detail: error.message });
        return respond(400, { message: error.message });
      }
      if (error instanceof CredentialRejectedError) {
        reason = error.reason;
        metrics.decided("deny", path, reason);
        logger.info("refresh refused", { status: 401, reason });
        return respond(
          401,
          { message: "Unauthorized", reason },
          { cookies: [clearedCookie(config.jwtCookieName, cookies), clearedCookie(config.sessionCookieName, cookies)] },
        );
      }
      reason = error instanceof AuthorizerError ? error.reason : "internal_error";
      const outcome = failureOutcome(error);
      metrics.decided(outcome, path, reason);
      const record = { status: 503, reason, detail: (error as Error)?.message, errorName: (error as Error)?.name };
      // An unproven credential (a kid that may be newly published) proved nothing: not an error of ours.
      if (outcome === "unproven") logger.info("refresh deferred", record);
      else logger.error("refresh failed", record);
      // An outage is not a logout: the cookies stay, and the client is told to come back. The body is every
      // 503's; what failed is in the log line above, never in the response.
      return respond(503, UNAVAILABLE_BODY, { headers: { "retry-after": String(RETRY_AFTER_SECONDS) } });
    }
  };
}

/**
 * The Lambda entry point, wired to the container's environment: built during init when the environment
 * names a project (always, when deployed), otherwise on first use.
 */
export const handler: RefreshHandler = process.env.STYTCH_PROJECT_ID
  ? createRefreshHandler()
  : (() => {
      let built: RefreshHandler | undefined;
      return (event, context) => (built ??= createRefreshHandler())(event, context);
    })();

function readRequest(event: RefreshEvent): RefreshRequest {
  const v2 = (event as APIGatewayProxyEventV2).version === "2.0";
  const method =
    (v2
      ? (event as APIGatewayProxyEventV2).requestContext?.http?.method
      : (event as APIGatewayProxyEvent).httpMethod) ?? "";
  const origin = requestOrigin(event.headers);
  let body = event.body ?? undefined;
  if (body !== undefined && event.isBase64Encoded) body = Buffer.from(body, "base64").toString("utf8");
  return { method: method.toUpperCase(), origin, body, v2, event };
}

/** The credential: from the JSON body if it names one, else the Authorization header, else the Stytch cookies. */
function readCredential(
  request: RefreshRequest,
  config: RefreshConfig,
): { credential: Credential; sessionDurationMinutes?: number } {
  const fields = parseBody(request.body);
  let sessionDurationMinutes: number | undefined;
  const duration = fields.session_duration_minutes;
  if (duration !== undefined) {
    if (config.maxSessionDurationMinutes === 0)
      throw new BadRequestError("session_duration_minutes is not allowed: session extension is disabled");
    if (
      typeof duration !== "number" ||
      !Number.isInteger(duration) ||
      duration < 5 ||
      duration > config.maxSessionDurationMinutes
    ) {
      throw new BadRequestError(
        `session_duration_minutes must be a whole number from 5 to ${config.maxSessionDurationMinutes}`,
      );
    }
    sessionDurationMinutes = duration;
  }
  const { session_token: token, session_jwt: jwt } = fields;
  if (token !== undefined && jwt !== undefined)
    throw new BadRequestError("send session_token or session_jwt, not both");
  const value = token ?? jwt;
  if (value !== undefined) {
    if (typeof value !== "string" || value === "")
      throw new BadRequestError("session_token and session_jwt must be non-empty strings");
    const credential = classifyCredential(value, "body");
    if (credential.kind !== (token !== undefined ? "session_token" : "session_jwt"))
      throw new BadRequestError("the credential does not match its field name");
    return { credential, ...(sessionDurationMinutes === undefined ? {} : { sessionDurationMinutes }) };
  }
  const event = request.event as RefreshEvent & {
    cookies?: string[];
    multiValueHeaders?: Record<string, string[] | undefined>;
  };
  const credential = findCredential(
    { headers: event.headers, multiValueHeaders: event.multiValueHeaders ?? null, cookies: event.cookies ?? null },
    config,
  );
  if (!credential)
    throw new MissingCredentialError(
      "no session credential in the body, the Authorization header or the Stytch cookies",
    );
  return { credential, ...(sessionDurationMinutes === undefined ? {} : { sessionDurationMinutes }) };
}

function parseBody(body: string | undefined): Record<string, unknown> {
  if (body === undefined || body.trim() === "") return {};
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw new BadRequestError(`body exceeds ${MAX_BODY_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new BadRequestError("body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new BadRequestError("body is not a JSON object");
  for (const key of Object.keys(value))
    if (!BODY_FIELDS.has(key)) throw new BadRequestError(`unknown field ${JSON.stringify(key.slice(0, 64))}`);
  return value as Record<string, unknown>;
}

function result(
  request: RefreshRequest,
  statusCode: number,
  body: unknown,
  headers: Record<string, string>,
  cookies?: string[],
): RefreshResult {
  const allHeaders: Record<string, string> = { "cache-control": "no-store", ...headers };
  if (body !== undefined) allHeaders["content-type"] = "application/json";
  const text = body === undefined ? "" : JSON.stringify(body);
  if (request.v2) return { statusCode, headers: allHeaders, body: text, ...(cookies?.length ? { cookies } : {}) };
  return {
    statusCode,
    headers: allHeaders,
    body: text,
    ...(cookies?.length ? { multiValueHeaders: { "Set-Cookie": cookies } } : {}),
  };
}
