// The handler every session endpoint shares (see createSessionEndpoint).

import type { Context } from "aws-lambda";
import { loadRefreshConfig, type RefreshConfig } from "../config";
import { AuthorizerError, CredentialRejectedError, failureOutcome, MemberRefusedError } from "../errors";
import { addLambdaContext, handlerLogger } from "../operations/log";
import type { DecisionPath } from "../operations/metric-names";
import { DecisionMetrics, type DecisionReason } from "../operations/metrics";
import { corsHeadersFor } from "../response/cors";
import { clearedCookie, type SessionCookieOptions } from "../response/session-cookies";
import { RETRY_AFTER_SECONDS, UNAVAILABLE_BODY } from "../response/unavailable";
import type { Credential } from "../session/credentials";
import { JwksCache } from "../session/jwks-cache";
import { SessionJwtVerifier } from "../session/session-jwt";
import { type ScreeningDeps, screenSessionJwt } from "../session/session-verdict";
import { createSecretProvider } from "../stytch/project-secret";
import type { StytchClient, StytchClientOptions } from "../stytch/stytch-client";
import {
  endpointResult,
  readEndpointRequest,
  type SessionEndpointEvent,
  type SessionEndpointResult,
} from "./proxy-exchange";
import { BadRequestError, parseBody, readSessionRequest, SESSION_FIELDS, type SessionRequest } from "./request-body";

/** A session endpoint's handler. */
export type SessionEndpointHandler = (
  event: SessionEndpointEvent,
  context?: Partial<Context>,
) => Promise<SessionEndpointResult>;

/** Seconds a client should wait after a 503: the package's one 503 contract. */
export { RETRY_AFTER_SECONDS };

/** What an endpoint works with, built once per container from its configuration. */
export interface SessionEndpointRuntime<Client extends StytchClient = StytchClient> {
  readonly config: RefreshConfig;
  readonly stytch: Client;
  readonly cookies: SessionCookieOptions;
}

/** One request, once its body is read and its credential found and screened: what the endpoint asks Stytch. */
export interface SessionCall<Input> extends SessionRequest {
  /** The endpoint's own fields, as its {@link SessionEndpointSpec.readInput} read them. */
  readonly input: Input;
  /** Absolute deadline (epoch ms) of the Stytch call. */
  readonly deadline: number;
}

/** A 200: its body and cookies, and what its log line says (never a token). */
export interface SessionAnswer {
  readonly body: unknown;
  readonly cookies: readonly string[];
  readonly logMessage: string;
  readonly memberId: string;
  readonly organizationId?: string;
}

/** What makes one session endpoint: its name, its own body fields, and its Stytch call. */
export interface SessionEndpointSpec<Input, Client extends StytchClient = StytchClient> {
  /** The `service` of its metrics (SERVICE_NAMES). */
  readonly service: string;
  /** Its name in log lines, e.g. `refresh`. */
  readonly name: string;
  /** Its body fields besides the credential and `session_duration_minutes`. */
  readonly fields: readonly string[];
  /** Reads (and checks) its own fields, before the credential is looked for. @throws BadRequestError */
  readonly readInput: (fields: Readonly<Record<string, unknown>>, config: RefreshConfig) => Input;
  /** The Stytch client it calls (a StytchClient with the calls it adds). */
  readonly client: new (
    options: StytchClientOptions,
  ) => Client;
  /**
   * Calls Stytch and makes the 200.
   * @throws a CredentialRejectedError (401), a MemberRefusedError (403) or an UpstreamFaultError (503)
   */
  readonly answer: (call: SessionCall<Input>, runtime: SessionEndpointRuntime<Client>) => Promise<SessionAnswer>;
}

/**
 * Creates a session endpoint's handler for an environment: the part every endpoint that exchanges a session
 * credential with Stytch for the browser shares. Configuration is validated once, here (`loadRefreshConfig`: the
 * endpoints share their settings); an invalid configuration yields a handler that answers 503 to every request.
 *
 * The route is public by design (an authorizer would refuse the expired JWTs the endpoints accept), so each request
 * goes through the same gates, in order:
 *
 * - `OPTIONS`: the preflight, 204 for an allowed origin and 403 for any other; a method other than `POST`: 405;
 * - a request with an `Origin` outside the allow-list: 403, before anything is read (a browser sends `Origin` on
 *   cross-origin POSTs, and such a request must not ride the member's cookies: the CSRF defence, with
 *   `SameSite=Lax`);
 * - the body (400 when malformed), the endpoint's own fields (400), the credential (401 when missing or of no
 *   Stytch shape), and a JWT's authenticity and project (401: forged or foreign JWTs never reach Stytch);
 * - the endpoint's Stytch call.
 *
 * Answers: 200 with the endpoint's body and cookies; 401 `{message, reason}` clearing both session cookies (the
 * session is dead); 403 `{message, reason}` for a refused member, cookies untouched; 503 `{message, reason}` with
 * `Retry-After` and the cookies untouched (an outage is not a logout). Every answer carries credentialed CORS
 * headers for an allowed origin and `Cache-Control: no-store`.
 */
export function createSessionEndpoint<Input, Client extends StytchClient>(
  env: Readonly<Record<string, string | undefined>>,
  spec: SessionEndpointSpec<Input, Client>,
): SessionEndpointHandler {
  const { name } = spec;
  const bodyFields = new Set<string>([...SESSION_FIELDS, ...spec.fields]);
  let runtime: (SessionEndpointRuntime<Client> & { readonly screening: ScreeningDeps }) | undefined;
  // Its own service and Lambda context, also when it shares a process with the authorizer (npm start).
  const logger = handlerLogger(spec.service, env);
  const metrics = new DecisionMetrics({ env, service: spec.service });
  try {
    const config = loadRefreshConfig(env);
    runtime = {
      config,
      stytch: new spec.client({
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
    logger.error(`invalid ${name} configuration`, {
      reason: "bad_config",
      detail: (error as Error).message,
      errorName: (error as Error).name,
    });
  }

  return async function handler(event, context) {
    addLambdaContext(context, logger);
    const request = readEndpointRequest(event);
    const allowedOrigins = runtime?.config.allowedOrigins ?? [];
    const allowedOrigin =
      request.origin !== undefined && allowedOrigins.includes(request.origin) ? request.origin : undefined;
    const cors = corsHeadersFor(request.origin, allowedOrigins);
    const respond = (
      status: number,
      body: unknown,
      extra: { headers?: Record<string, string>; cookies?: readonly string[] } = {},
    ) => endpointResult(request, status, body, { ...cors, ...extra.headers }, extra.cookies);
    const retryLater = { headers: { "retry-after": String(RETRY_AFTER_SECONDS) } };

    if (request.method === "OPTIONS") {
      if (!allowedOrigin) return respond(403, { message: "origin not allowed" });
      return endpointResult(request, 204, undefined, {
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
      return respond(503, UNAVAILABLE_BODY, retryLater);
    }

    const { config, screening, cookies } = runtime;
    let reason: DecisionReason | undefined;
    let path: DecisionPath = "none"; // for metrics: how far the request got
    let credential: Credential | undefined;
    try {
      const fields = parseBody(request.body, bodyFields);
      const input = spec.readInput(fields, config);
      const session = readSessionRequest(request, fields, config);
      credential = session.credential;
      path = "local";
      if (credential.kind === "session_jwt") await screenSessionJwt(credential.value, screening);
      path = "remote";
      const answer = await spec.answer({ ...session, input, deadline: Date.now() + config.apiTimeoutMs }, runtime);
      metrics.decided("allow", path);
      logger.info(answer.logMessage, {
        status: 200,
        credentialKind: credential.kind,
        credentialSource: credential.source,
        memberId: answer.memberId,
        ...(answer.organizationId === undefined ? {} : { organizationId: answer.organizationId }),
      });
      return respond(200, answer.body, { cookies: answer.cookies });
    } catch (error) {
      if (error instanceof BadRequestError) {
        reason = "bad_request";
        metrics.decided("deny", path, reason);
        logger.info(`${name} refused`, { status: 400, reason, detail: error.message });
        return respond(400, { message: error.message });
      }
      if (error instanceof CredentialRejectedError) {
        reason = error.reason;
        metrics.decided(failureOutcome(error), path, reason);
        logger.info(`${name} refused`, { status: 401, reason });
        return respond(
          401,
          { message: "Unauthorized", reason },
          { cookies: [clearedCookie(config.jwtCookieName, cookies), clearedCookie(config.sessionCookieName, cookies)] },
        );
      }
      if (error instanceof MemberRefusedError) {
        // A live session that may not have what it asked for: it stays, and so do its cookies.
        reason = error.reason;
        metrics.decided(failureOutcome(error), path, reason);
        logger.info(`${name} refused`, {
          status: 403,
          reason,
          detail: error.message,
          credentialKind: credential?.kind,
        });
        return respond(403, { message: "Forbidden", reason });
      }
      reason = error instanceof AuthorizerError ? error.reason : "internal_error";
      const outcome = failureOutcome(error);
      metrics.decided(outcome, path, reason);
      const record = { status: 503, reason, detail: (error as Error)?.message, errorName: (error as Error)?.name };
      // An unproven credential (a kid that may be newly published) proved nothing: not an error of ours.
      if (outcome === "unproven") logger.info(`${name} deferred`, record);
      else logger.error(`${name} failed`, record);
      // An outage is not a logout: the cookies stay, and the client is told to come back.
      // The body is every 503's; what failed is in the log line above, never in the response.
      return respond(503, UNAVAILABLE_BODY, retryLater);
    }
  };
}

/**
 * A handler module's Lambda entry point, wired to the container's environment: built during init when the
 * environment names a project (always, when deployed), otherwise on first use (a test importing the module for
 * its factory).
 */
export function lambdaEntryPoint(create: () => SessionEndpointHandler): SessionEndpointHandler {
  if (process.env.STYTCH_PROJECT_ID) return create();
  let built: SessionEndpointHandler | undefined;
  return (event, context) => (built ??= create())(event, context);
}
