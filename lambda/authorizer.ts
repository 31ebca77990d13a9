// The API Gateway Lambda authorizer for Stytch B2B sessions.
//
//   event ──► credential ──► verdict ──► (route permission, with a route table) ──► response
//
// Everything slow happens once per container, outside the handler: configuration is validated, and
// the project's key set (and, with a route table, its RBAC policy) starts downloading while the runtime
// initialises. With a project snapshot (STYTCH_SNAPSHOT_FILE), its keys and policy answer until those land.

import type {
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewayTokenAuthorizerEvent,
  Context,
} from "aws-lambda";
import { principalOf } from "./lib/callers/caller";
import { type AuthorizerConfig, loadAuthorizerConfig } from "./lib/config";
import {
  AuthorizerError,
  CredentialRejectedError,
  failureOutcome,
  MissingCredentialError,
  type ReasonCode,
  RejectedByStytchError,
  RevokedSessionError,
  UpstreamFaultError,
} from "./lib/errors";
import {
  addLambdaContext,
  type DecisionRecord,
  logDecision,
  logger,
  logsAllow,
  type VerdictPath,
} from "./lib/operations/log";
import { SERVICE_NAMES } from "./lib/operations/metric-names";
import { DecisionMetrics } from "./lib/operations/metrics";
import { RbacPolicyCache } from "./lib/permissions/rbac-policy-cache";
import { decideRouteAccess, type RouteAccess, type RouteOutcome, requestedRoute } from "./lib/permissions/route-access";
import { findRoute, type RoutePermissions } from "./lib/permissions/route-table";
import {
  type AuthorizerResponse,
  answersThisRequestOnly,
  type RouteAnswerSettings,
  routeTableAuthorizerResponse,
  stageAuthorizerResponse,
  stageRefusalResponse,
} from "./lib/response/authorizer-response";
import { asOpaqueAccessToken, type Credential, findCredential } from "./lib/session/credentials";
import { JwksCache } from "./lib/session/jwks-cache";
import { RejectionCache } from "./lib/session/rejection-cache";
import { SessionJwtVerifier } from "./lib/session/session-jwt";
import { decideVerdict, type SessionVerdictDeps } from "./lib/session/session-verdict";
import { VerdictCache } from "./lib/session/verdict-cache";
import { CACHE_HORIZON_MARGIN_SECONDS } from "./lib/settings";
import { createSecretProvider } from "./lib/stytch/project-secret";
import { StytchClient } from "./lib/stytch/stytch-client";

/** Every event shape API Gateway sends to a Lambda authorizer: REST TOKEN and REQUEST, HTTP API 1.0 and 2.0. */
export type AuthorizerEvent =
  | APIGatewayTokenAuthorizerEvent
  | APIGatewayRequestAuthorizerEvent
  | APIGatewayRequestAuthorizerEventV2;

/**
 * The authorizer handler: resolves with an Allow (with a route table: the member's IAM policy for every route, or for
 * HTTP API `simple` responses `{isAuthorized: false}` → 403 when this route is not theirs), or rejects with
 * `Unauthorized` (401) or a fault (500 → 503).
 */
export type AuthorizerHandler = (
  event: AuthorizerEvent,
  context?: Pick<Context, "getRemainingTimeInMillis" | "awsRequestId">,
) => Promise<AuthorizerResponse>;

/** The message API Gateway turns into a 401. It must be exactly this. */
export const UNAUTHORIZED = "Unauthorized";
/** The message of every fault. API Gateway answers 500; the stack's gateway responses turn that into 503. */
export const UPSTREAM_FAULT = "Authorizer upstream fault";

/** Time kept back from the Lambda's remaining time, so we always answer before being killed. */
const DEADLINE_SAFETY_MS = 500;

/** Per-container state: built once, shared by every invocation of a warm container. */
export interface AuthorizerRuntime extends SessionVerdictDeps {
  /** Stytch's RBAC policies, when a route table is configured. */
  readonly rbacPolicies?: RbacPolicyCache;
  /** How a route table's answers are shaped. */
  readonly routeAnswers: RouteAnswerSettings;
  /** Whether a project snapshot within its maximum age seeded the key set and the RBAC policy. */
  readonly seededFromSnapshot: boolean;
}

/**
 * Builds the per-container runtime from validated configuration.
 * @throws ConfigurationError
 */
function createAuthorizerRuntime(
  config: AuthorizerConfig,
  metrics?: DecisionMetrics,
  clock?: () => number,
): AuthorizerRuntime {
  const verdictCache = new VerdictCache();
  const jwksCache = new JwksCache({
    jwksUrl: config.jwksUrl,
    timeoutMs: config.jwksTimeoutMs,
    clockSkewMs: config.clockToleranceSeconds * 1000,
    // A key vanished from the project's key set: forget every verdict, some may rest on that key.
    onKeysRemoved: () => verdictCache.clear(),
    onRefresh: metrics?.jwksRefreshed,
    onKeysAdded: metrics?.keySetRotated,
  });
  const stytch = new StytchClient({
    apiUrl: config.apiUrl,
    projectId: config.projectId,
    secret: createSecretProvider(config.secret),
    timeoutMs: config.apiTimeoutMs,
    onAttempt: metrics?.stytchAttempt,
  });
  const rbacPolicies = config.routePermissions ? new RbacPolicyCache({ source: stytch }) : undefined;
  const snapshot =
    config.snapshot !== undefined && Date.now() < config.snapshot.expiresAtMs ? config.snapshot : undefined;
  if (snapshot) {
    // Through the same filters as a fetched key set; replaced (and its dropped kids forgotten) when one lands.
    jwksCache.seed(snapshot.snapshot.jwks, snapshot.takenAtMs, snapshot.expiresAtMs);
    rbacPolicies?.seedProjectPolicy(snapshot.snapshot.rbac_policy, snapshot.expiresAtMs);
  } else if (config.snapshot) {
    // Never trusted past its maximum age; the function starts as one without a snapshot, loudly.
    logger.error("project snapshot past its maximum age: not used; the key set and RBAC policy come from Stytch", {
      reason: "snapshot_expired",
      detail: `taken at ${config.snapshot.snapshot.taken_at}; take a new one and redeploy`,
    });
  }
  return {
    config,
    jwksCache,
    stytch,
    verdictCache,
    rejectionCache: new RejectionCache(),
    sessionJwts: new SessionJwtVerifier(config),
    rbacPolicies,
    seededFromSnapshot: snapshot !== undefined,
    routeAnswers: routeAnswerSettings(config),
    ...(clock !== undefined ? { clock } : {}),
  };
}

/** How a route table's answers are shaped, and how long a cached one may be reused. */
function routeAnswerSettings(config: AuthorizerConfig): RouteAnswerSettings {
  const cached = config.resultsCacheTtlSeconds !== 0;
  return {
    httpApiResponse: config.httpApiResponse,
    cached,
    // Unknown TTL (not said): config.ts refuses freshness limits then, so only the margin matters.
    cacheHorizonMs: cached ? ((config.resultsCacheTtlSeconds ?? 0) + CACHE_HORIZON_MARGIN_SECONDS) * 1000 : 0,
    clockToleranceMs: config.clockToleranceSeconds * 1000,
  };
}

/** Options of {@link createAuthorizer}. */
export interface AuthorizerOptions {
  /** Observes every decision (the same token-free record that is logged), e.g. for the local dev server's request log. */
  readonly onDecision?: (record: DecisionRecord) => void;
  /**
   * The clock (epoch ms) of the verdict, its caches and the step-up requirements, for tests that move time;
   * by default the system clock.
   */
  readonly clock?: () => number;
}

/**
 * Creates an authorizer handler for an environment. Configuration is validated here, once; an invalid
 * configuration yields a handler that answers every request with a fault, never an Allow.
 */
export function createAuthorizer(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: AuthorizerOptions = {},
): AuthorizerHandler {
  const observed = options.onDecision !== undefined;
  const metrics = new DecisionMetrics({ env, service: SERVICE_NAMES.authorizer });
  const decided = (record: DecisionRecord, context: Parameters<AuthorizerHandler>[1]) => {
    addLambdaContext(context);
    metrics.decided(record.outcome, record.path, record.reason);
    logDecision(record);
    options.onDecision?.(record);
  };
  let runtime: AuthorizerRuntime | undefined;
  let startupError: AuthorizerError | undefined;
  let snapshotRefreshStarted = false;
  try {
    runtime = createAuthorizerRuntime(loadAuthorizerConfig(env), metrics, options.clock);
    // Without a snapshot, in parallel: the key set, and with a route table the project's RBAC policy. With one,
    // its keys and policy answer the first requests: the key-set refresh that replaces them starts right after
    // the first answer (off the cold start's critical path: node:https and a TLS handshake), and the policy is
    // refreshed in the background from its first use (reading the secret, from Secrets Manager with the AWS SDK,
    // is left out of the init of a container that does not need it to answer).
    if (!runtime.seededFromSnapshot) {
      runtime.jwksCache.prefetch();
      runtime.rbacPolicies?.prefetchProjectRoles(Date.now() + runtime.config.apiTimeoutMs);
    }
  } catch (error) {
    startupError = error as AuthorizerError;
    logger.error("invalid authorizer configuration", {
      reason: "bad_config",
      detail: (error as Error).message,
      errorName: (error as Error).name,
    });
  }

  return async function handler(event, context) {
    const started = performance.now();
    let credential: Credential | undefined;
    try {
      if (!runtime) throw startupError;
      credential = findCredential(event, runtime.config);
      if (!credential) throw new MissingCredentialError("no credential in the Authorization header or Stytch cookies");
      const table = runtime.config.routePermissions;
      // The one place an opaque credential may be read as a Connected-App access token instead of a session token.
      if (credential.kind === "session_token" && table && runtime.config.introspectionClientId)
        credential = opaqueCredentialFor(event, credential, table);
      const deadline = deadlineOf(context, runtime.config);
      const pending = decideVerdict(credential, deadline, runtime);
      // Most verdicts are synchronous (cache or cached key): skip the extra microtask of an await.
      const verdict = pending instanceof Promise ? await pending : pending;
      const caller = verdict.caller;
      const principalId = principalOf(caller);
      // Permission: with a route table, what this caller may call (caller type, tenancy, then its permission).
      let access: RouteAccess | undefined;
      if (table) {
        const { cached, cacheHorizonMs, clockToleranceMs } = runtime.routeAnswers;
        const deciding = decideRouteAccess(event, caller, table, runtime.rbacPolicies!, deadline, {
          thisRequestOnly: answersThisRequestOnly(event, runtime.routeAnswers),
          nowMs: runtime.clock?.() ?? Date.now(),
          toleranceMs: clockToleranceMs,
          horizonMs: cacheHorizonMs,
          cached,
        });
        access = deciding instanceof Promise ? await deciding : deciding;
      }
      let forbidden: Exclude<RouteOutcome, "allowed"> | undefined;
      let response: AuthorizerResponse;
      if (access) {
        response = routeTableAuthorizerResponse(
          event,
          principalId,
          verdict.context,
          runtime.routeAnswers,
          table!,
          caller,
          access,
        );
        const outcome = access.outcome;
        forbidden = outcome !== undefined && outcome !== "allowed" ? outcome : undefined;
      } else if (caller.type === "member") {
        response = stageAuthorizerResponse(event, principalId, verdict.context, runtime.config.httpApiResponse);
      } else {
        // Without a route table every route is members-only: a valid machine caller is refused (403), never 401.
        response = stageRefusalResponse(event, principalId, runtime.config.httpApiResponse);
        forbidden = "caller_not_accepted";
      }
      // A valid caller refused this route (caller type, permission, tenancy, step-up): 403, never 401, logged with
      // its reason even on the hot path.
      if (forbidden || observed || logsAllow(verdict.path)) {
        const organization = caller.type === "m2m" ? undefined : caller.member;
        decided(
          {
            outcome: forbidden ? "forbidden" : "allow",
            ...(forbidden ? { reason: forbidden } : {}),
            ...(access?.routeKey ? { routeKey: access.routeKey } : {}),
            path: verdict.path,
            latencyMs: elapsed(started),
            credentialKind: credential.kind,
            credentialSource: credential.source,
            callerType: caller.type,
            ...(caller.type === "member" ? {} : { clientId: caller.clientId }),
            ...(organization ? { memberId: organization.memberId, organizationId: organization.organizationId } : {}),
          },
          context,
        );
      } else metrics.allowed(verdict.path, context);
      return response;
    } catch (error) {
      const denied = error instanceof CredentialRejectedError;
      const reason: ReasonCode = error instanceof AuthorizerError ? error.reason : "internal_error";
      decided(
        {
          // deny (401), unproven (503: e.g. a kid that may be newly published; anyone can send one, so never
          // a fault) or fault (503: something we depend on failed).
          outcome: failureOutcome(error),
          reason,
          path: credential ? pathOf(error) : "none",
          latencyMs: elapsed(started),
          credentialKind: credential?.kind,
          credentialSource: credential?.source,
          ...(denied ? {} : { detail: (error as Error)?.message, errorName: (error as Error)?.name }),
        },
        context,
      );
      // Fail closed: a denial is exactly "Unauthorized" (401); anything else, known fault or bug, is a 500.
      throw new Error(denied ? UNAUTHORIZED : UPSTREAM_FAULT);
    } finally {
      // A snapshot answered: its refresh starts once this answer is on its way (see the init above).
      if (runtime?.seededFromSnapshot && !snapshotRefreshStarted) {
        snapshotRefreshStarted = true;
        const { jwksCache } = runtime;
        setImmediate(() => jwksCache.prefetch());
      }
    }
  };
}

/**
 * The Lambda entry point, wired to the container's environment. When the environment names a project
 * (always, when deployed) it is built during init, so the key set downloads before the first request;
 * otherwise (a test importing this module for its factory) it is built on first use.
 */
export const handler: AuthorizerHandler = process.env.STYTCH_PROJECT_ID
  ? createAuthorizer()
  : (() => {
      let built: AuthorizerHandler | undefined;
      return (event, context) => (built ??= createAuthorizer())(event, context);
    })();

/**
 * Where an opaque bearer credential goes (a strict rule, so that no credential ever reaches two Stytch APIs): to
 * Stytch's introspection endpoint only when an introspection client is configured, the credential came in the
 * `Authorization` header, and the request's route is known, accepts Connected Apps and does not accept members;
 * everywhere else it is a session token, as it always was. Cookies always carry sessions.
 */
function opaqueCredentialFor(event: AuthorizerEvent, credential: Credential, table: RoutePermissions): Credential {
  const request = requestedRoute(event);
  const route = request ? findRoute(table, request.routeKey) : undefined;
  if (!route || route.callers.includes("member") || !route.callers.includes("connected_app")) return credential;
  return asOpaqueAccessToken(credential) ?? credential;
}

function deadlineOf(context: Pick<Context, "getRemainingTimeInMillis"> | undefined, config: AuthorizerConfig): number {
  const now = Date.now();
  const remaining =
    typeof context?.getRemainingTimeInMillis === "function"
      ? context.getRemainingTimeInMillis() - DEADLINE_SAFETY_MS
      : Infinity;
  return now + Math.max(0, Math.min(config.apiTimeoutMs, remaining));
}

/** The 503s (faults, and the unproven `kid_not_yet_known`) that arise without a Stytch API call (every other fault is one of the API's). */
const LOCAL_FAULTS = new Set<ReasonCode>([
  "jwks_unavailable",
  "kid_not_yet_known",
  "bad_config",
  "bad_event",
  "policy_too_large",
]);

/** Whether a failure came from the Stytch API (remote) or from local checks. */
function pathOf(error: unknown): VerdictPath {
  if (error instanceof RevokedSessionError || error instanceof RejectedByStytchError) return "remote";
  return error instanceof UpstreamFaultError && !LOCAL_FAULTS.has(error.reason) ? "remote" : "local";
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}
