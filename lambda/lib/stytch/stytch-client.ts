// The Stytch API client (see StytchClient).

import type { IncomingMessage } from "node:http";
import {
  AuthorizerError,
  InactiveTokenError,
  RejectedByStytchError,
  RevokedSessionError,
  UpstreamCredentialsRejectedError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from "../errors";
import type { RbacRole } from "../permissions/permission-check";
import type { Credential } from "../session/credentials";
import { isTimeout, openRequest, ResponseTooLargeError, readTextCapped } from "./http";
import { checkRbacPolicy, type RbacPolicyDocument } from "./project-snapshot";

/** Exactly one session credential, as Stytch's request body names it. */
export type SessionCredential = { readonly session_token: string } | { readonly session_jwt: string };

/** A credential as Stytch's request body names it. */
export function sessionCredentialOf(credential: Credential): SessionCredential {
  return credential.kind === "session_jwt" ? { session_jwt: credential.value } : { session_token: credential.value };
}

/** The subset of Stytch's `member_session` object the authorizer and the refresh endpoint use. */
export interface StytchMemberSession {
  readonly member_session_id: string;
  readonly member_id: string;
  readonly organization_id: string;
  readonly organization_slug?: string;
  readonly started_at?: string;
  readonly last_accessed_at?: string;
  readonly expires_at: string;
  readonly authentication_factors?: unknown[];
  readonly roles?: string[];
  readonly custom_claims?: Record<string, unknown>;
}

/** The 200 response of `POST /v1/b2b/sessions/authenticate` (fields we use; the rest pass through). */
export interface StytchAuthenticateResponse {
  readonly request_id: string;
  readonly status_code: number;
  readonly member_session: StytchMemberSession;
  readonly session_token?: string;
  readonly session_jwt?: string;
  readonly member?: { readonly member_id?: string; readonly email_address?: string } & Record<string, unknown>;
  readonly organization?: { readonly organization_id?: string; readonly organization_slug?: string } & Record<
    string,
    unknown
  >;
}

/**
 * The 200 answer of `POST /v1/public/{project_id}/oauth2/introspect` for an active access token (RFC 7662, Stytch's
 * fields): checked as far as the wire goes (`active`, `token_type` `access_token`, a numeric `exp`); the claims
 * that make a Connected-App caller are checked by the caller (token-claims.ts `connectedAppCallerOf`).
 */
export interface StytchIntrospectionResponse extends Record<string, unknown> {
  readonly active: true;
  readonly token_type: "access_token";
  readonly exp: number;
}

/** Options of one authenticate call. */
export interface AuthenticateOptions {
  /** Absolute deadline (epoch ms) for the whole exchange, retries included. */
  readonly deadline: number;
  /** Extends the session to now + N minutes (5 … 527040). Omitted: the session is not extended. */
  readonly sessionDurationMinutes?: number;
}

/** How to reach one Stytch project. */
export interface StytchClientOptions {
  readonly apiUrl: string;
  readonly projectId: string;
  /**
   * Resolves the project secret (from the environment, or Secrets Manager). Its optional
   * `credentialsRejected` hears when Stytch refuses the project credentials, so that it can re-read.
   */
  readonly secret: (() => Promise<string>) & { readonly credentialsRejected?: () => void };
  /** Upper bound of one exchange, retries included. */
  readonly timeoutMs: number;
  /** Largest response body accepted. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  /** Called after every HTTP attempt with its latency and the error it ended in, if any (for metrics). */
  readonly onAttempt?: (latencyMs: number, error?: unknown) => void;
}

// Stytch error types that mean OUR project credentials were refused, not the caller's session.
const PROJECT_CREDENTIAL_ERRORS = new Set([
  "unauthorized_credentials",
  "invalid_secret_authentication",
  "invalid_project_id_authentication",
  "unauthorized_project_id_live",
  "unauthorized_project_id_test",
  "cname_required_for_http_only_cookies",
  "cname_invalid_for_http_only_cookies",
]);

/** Below this much time left, a retry could not finish anyway. */
const MIN_RETRY_BUDGET_MS = 250;

/**
 * A minimal Stytch B2B sessions client over node:https (not `fetch`: see ./http.ts): the Stytch API, for the few requests local verification
 * cannot answer (`POST /v1/b2b/sessions/authenticate`) and for the RBAC policies of per-route permissions.
 * Every call goes through one attempt: the deadline, the size cap, the mapping of Stytch's answers to our
 * failure tree, and the metrics observer. authenticate adds the single retry and the coalescing of identical
 * calls.
 *
 * - One deadline covers every attempt: at most `timeoutMs`, and never past the caller's deadline.
 * - At most one retry, with jitter, and only after a fast failure (connection error or 5xx). Never
 *   after a 4xx: those are answers, not faults. Never after 429: retrying makes rate limiting worse.
 * - Identical credentials in flight at the same moment share one call.
 */
export class StytchClient {
  /** Number of HTTP requests sent, for tests and the benchmark. */
  requestsSent = 0;
  private readonly inflight = new Map<string, Promise<StytchAuthenticateResponse>>();

  constructor(private readonly options: StytchClientOptions) {}

  /**
   * Authenticates a session credential with Stytch.
   * @throws a CredentialRejectedError when Stytch refuses the session, an UpstreamFaultError otherwise
   */
  authenticate(credential: SessionCredential, options: AuthenticateOptions): Promise<StytchAuthenticateResponse> {
    const body = JSON.stringify(
      options.sessionDurationMinutes === undefined
        ? credential
        : { ...credential, session_duration_minutes: options.sessionDurationMinutes },
    );
    // The body names the credential, its kind and the extension: identical bodies are identical calls.
    const shared = this.inflight.get(body);
    if (shared) return shared;
    const call = this.call("/v1/b2b/sessions/authenticate", body, options.deadline, 2, sessionAnswer).finally(() =>
      this.inflight.delete(body),
    );
    this.inflight.set(body, call);
    return call;
  }

  // The RBAC reads: one attempt each (the RBAC policy cache keeps a stale copy and retries later), through the same
  // attempt as authenticate (Basic auth, deadline, size cap, fault mapping, the onAttempt observer). An
  // organization policy Stytch will not give (400/403/404: the feature is not enabled for the project)
  // counts as no custom roles, as in Stytch's SDK. A 200 must carry the policy: one that is not JSON, or has
  // no `policy` / `org_policy` object, is a fault, never "no custom roles" (which would drop roles that exist).

  /** The project RBAC policy's roles ({@link projectPolicy}). @throws UpstreamFaultError */
  async projectRoles(deadline: number): Promise<readonly RbacRole[]> {
    const json = await this.call("/v1/b2b/rbac/policy", undefined, deadline, 1, rbacAnswer);
    return readRbacRoles((json as { policy?: { roles?: unknown } }).policy?.roles);
  }

  /**
   * `POST /v1/public/{project_id}/oauth2/introspect` (RFC 7662): asks Stytch whether an opaque token is an active
   * access token, as the Connected-App client `clientId` (form-encoded `token`, `client_id` and
   * `token_type_hint=access_token`; no project credentials, as in Stytch's SDK). One attempt and its retry, like
   * authenticate.
   * @throws InactiveTokenError (401) when Stytch says the token is not active, or is not an access token; an
   *   UpstreamFaultError otherwise (a refused introspection client is a configuration fault)
   */
  introspect(
    token: string,
    clientId: string,
    options: { readonly deadline: number },
  ): Promise<StytchIntrospectionResponse> {
    const body = new URLSearchParams({ token, client_id: clientId, token_type_hint: "access_token" }).toString();
    return this.call(
      `/v1/public/${encodeURIComponent(this.options.projectId)}/oauth2/introspect`,
      body,
      options.deadline,
      2,
      introspectionAnswer,
      { contentType: "application/x-www-form-urlencoded", projectCredentials: false },
    );
  }

  /**
   * `GET /v1/b2b/rbac/policy`: the whole project policy (roles, resources, scopes), for a project snapshot.
   * @throws UpstreamFaultError, also for a policy that is not well-formed
   */
  async projectPolicy(deadline: number): Promise<RbacPolicyDocument> {
    const json = await this.call("/v1/b2b/rbac/policy", undefined, deadline, 1, rbacAnswer);
    try {
      return checkRbacPolicy((json as { policy?: unknown }).policy);
    } catch (error) {
      throw new UpstreamUnavailableError(`Stytch answered with an unreadable RBAC policy: ${(error as Error).message}`);
    }
  }

  /** `GET /v1/b2b/rbac/organizations/{organization_id}`: the custom roles, none when the feature is off. @throws UpstreamFaultError */
  async organizationRoles(organizationId: string, deadline: number): Promise<readonly RbacRole[]> {
    const json = await this.call(
      `/v1/b2b/rbac/organizations/${encodeURIComponent(organizationId)}`,
      undefined,
      deadline,
      1,
      organizationRbacAnswer,
    );
    if (json === undefined) return []; // not enabled (a 200 that is not JSON is `{}`: see rbacAnswer)
    const orgPolicy = (json as { org_policy?: unknown } | null)?.org_policy;
    if (typeof orgPolicy !== "object" || orgPolicy === null || Array.isArray(orgPolicy)) {
      throw new UpstreamUnavailableError("Stytch answered 200 without an organization policy");
    }
    return readRbacRoles((orgPolicy as { roles?: unknown }).roles ?? []);
  }

  /**
   * One call: at most `attempts` attempts within one deadline (the client's timeout, never past the
   * caller's), a retry only after a retryable fault and only if the budget still allows a real attempt.
   * @param body the JSON body of a POST; `undefined` for a GET
   * @param settle maps an answer that is not a fault of ours or of Stytch's (see {@link StytchClient.attempt})
   */
  protected async call<T>(
    path: string,
    body: string | undefined,
    deadline: number,
    attempts: number,
    settle: (answer: StytchAnswer) => T,
    request: RequestOptions = PROJECT_JSON,
  ): Promise<T> {
    const { projectId, secret, timeoutMs } = this.options;
    deadline = Math.min(deadline, Date.now() + timeoutMs);
    const authorization = request.projectCredentials
      ? `Basic ${Buffer.from(`${projectId}:${await secret()}`).toString("base64")}`
      : undefined;
    let lastFault: AuthorizerError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        return settle(await this.observedAttempt(path, body, authorization, remaining, request.contentType));
      } catch (error) {
        if (!(error instanceof AuthorizerError && error.retryable)) throw error;
        lastFault = error;
        // Retry once, after a short jittered pause, if the budget still allows a real attempt.
        const pause = 50 + Math.floor(Math.random() * 100);
        if (attempt === attempts || deadline - Date.now() - pause < MIN_RETRY_BUDGET_MS) break;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
    throw lastFault ?? new UpstreamTimeoutError("no time left for a Stytch call");
  }

  private async observedAttempt(
    path: string,
    body: string | undefined,
    authorization: string | undefined,
    timeoutMs: number,
    contentType: string,
  ): Promise<StytchAnswer> {
    const started = performance.now();
    let failure: unknown;
    try {
      return await this.attempt(path, body, authorization, timeoutMs, contentType);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      this.options.onAttempt?.(performance.now() - started, failure);
    }
  }

  /**
   * One HTTP request. Throws the faults every Stytch call shares: unreachable, timeout, an oversized or cut-off
   * body, 5xx (retryable), 429, and our project credentials refused (the secret provider hears of it). Any other
   * answer (200, other 4xx) is returned for the caller to settle.
   */
  private async attempt(
    path: string,
    body: string | undefined,
    authorization: string | undefined,
    timeoutMs: number,
    contentType: string,
  ): Promise<StytchAnswer> {
    this.requestsSent += 1;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: IncomingMessage;
    try {
      response = await openRequest(`${this.options.apiUrl}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: {
          accept: "application/json",
          ...(authorization === undefined ? {} : { authorization }),
          ...(body === undefined ? {} : { "content-type": contentType }),
        },
        body,
        signal,
      });
    } catch (error) {
      if (signal.aborted || isTimeout(error))
        throw new UpstreamTimeoutError("Stytch did not answer in time", { cause: error });
      throw new UpstreamUnavailableError("Stytch could not be reached", { cause: error, retryable: true });
    }
    let text: string;
    try {
      text = await readTextCapped(
        response,
        Number(response.headers["content-length"]),
        this.options.maxResponseBytes ?? 1_048_576,
      );
    } catch (error) {
      // An abort while the body streams surfaces as a reset of the response ("aborted"): the signal tells.
      if (signal.aborted || isTimeout(error))
        throw new UpstreamTimeoutError("Stytch did not finish answering in time", { cause: error });
      if (error instanceof ResponseTooLargeError)
        throw new UpstreamUnavailableError("Stytch answered with an oversized body");
      throw new UpstreamUnavailableError("Stytch's answer was cut off", { cause: error, retryable: true });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const status = response.statusCode ?? 0;
    // Stytch's API errors name `error_type`; its public OAuth endpoints answer RFC 6749's `error`.
    const named = (json as { error_type?: unknown; error?: unknown } | undefined) ?? {};
    const errorType =
      typeof named.error_type === "string"
        ? named.error_type
        : typeof named.error === "string"
          ? named.error
          : "unknown";
    if (status >= 500)
      throw new UpstreamUnavailableError(`Stytch answered ${status} (${errorType})`, { retryable: true });
    if (status === 429) throw new UpstreamRateLimitedError(`Stytch answered 429 (${errorType})`);
    // A 401 is about OUR credentials: the session itself travels in the body, and a dead session is a 404.
    if (authorization === undefined) {
      // A public endpoint (introspection): a 401 or 403 refuses our introspection client, not the caller's token.
      if (status === 401 || status === 403)
        throw new UpstreamCredentialsRejectedError(`Stytch refused the introspection client (${status} ${errorType})`);
    } else if (status === 401 || PROJECT_CREDENTIAL_ERRORS.has(errorType)) {
      // The secret may have been replaced (put-secret-value) since this container read it.
      this.options.secret.credentialsRejected?.();
      throw new UpstreamCredentialsRejectedError(`Stytch refused the project credentials (${status} ${errorType})`);
    }
    return { status, json, errorType };
  }
}

/** How one exchange is sent: its body's content type, and whether it carries the project credentials. */
interface RequestOptions {
  readonly contentType: string;
  readonly projectCredentials: boolean;
}

const PROJECT_JSON: RequestOptions = { contentType: "application/json", projectCredentials: true };

/** An answer of Stytch that is neither a transport fault nor one of the faults every call shares. */
export interface StytchAnswer {
  readonly status: number;
  /** The parsed body; `undefined` when it is not JSON. */
  readonly json: unknown;
  /** Stytch's `error_type`, or `unknown`. */
  readonly errorType: string;
}

/** `POST /v1/b2b/sessions/authenticate`: the member session, or why Stytch refused the credential. */
function sessionAnswer({ status, json, errorType }: StytchAnswer): StytchAuthenticateResponse {
  if (status === 200) {
    if (!isAuthenticateResponse(json))
      throw new UpstreamUnavailableError("Stytch answered 200 without a member session");
    return json;
  }
  if (status === 404) throw new RevokedSessionError(`Stytch has no such live session (${errorType})`);
  if (status >= 400) throw new RejectedByStytchError(`Stytch refused the session (${status} ${errorType})`);
  throw new UpstreamUnavailableError(`Stytch answered an unexpected ${status}`);
}

/**
 * `POST /v1/public/{project_id}/oauth2/introspect`: an active access token, or why not. Inactive tokens, and active
 * tokens of another type (a refresh token is never a bearer credential), are the caller's 401; any other answer
 * (another 4xx, a 200 that is not an introspection answer) is a fault, never a 401 and never an Allow.
 */
function introspectionAnswer({ status, json, errorType }: StytchAnswer): StytchIntrospectionResponse {
  if (status !== 200)
    throw new UpstreamUnavailableError(`Stytch answered ${status} to an introspection (${errorType})`);
  const answer = json as Record<string, unknown> | undefined;
  if (typeof answer !== "object" || answer === null || typeof answer.active !== "boolean")
    throw new UpstreamUnavailableError("Stytch answered 200 without an introspection result");
  if (!answer.active) throw new InactiveTokenError("Stytch says the access token is not active");
  if (answer.token_type !== "access_token")
    throw new InactiveTokenError("the token is active, but not an access token");
  if (typeof answer.exp !== "number" || !(answer.exp * 1000 > Date.now()))
    throw new InactiveTokenError("the access token has no expiry in the future");
  return answer as StytchIntrospectionResponse;
}

/** An RBAC read: a policy, and nothing else, is an answer. Never a refusal of the caller: the caller sent nothing. */
function rbacAnswer({ status, json, errorType }: StytchAnswer): unknown {
  if (status === 200) return json ?? {};
  throw new UpstreamUnavailableError(`Stytch answered ${status} (${errorType})`);
}

// UNVERIFIED: the status Stytch gives when organization policies are not enabled for a project.
function organizationRbacAnswer(answer: StytchAnswer): unknown {
  return answer.status === 400 || answer.status === 403 || answer.status === 404 ? undefined : rbacAnswer(answer);
}

/** Validates the wire format of RBAC roles; anything else is an unreadable answer (a fault, never an Allow). */
function readRbacRoles(value: unknown): readonly RbacRole[] {
  const valid =
    Array.isArray(value) &&
    value.every(
      (role) =>
        typeof role?.role_id === "string" &&
        Array.isArray(role.permissions) &&
        role.permissions.every(
          (permission: { resource_id?: unknown; actions?: unknown }) =>
            typeof permission?.resource_id === "string" &&
            Array.isArray(permission.actions) &&
            permission.actions.every((action) => typeof action === "string"),
        ),
    );
  if (!valid) throw new UpstreamUnavailableError("Stytch answered with an unreadable RBAC policy");
  return Object.freeze(
    value.map((role: RbacRole) =>
      Object.freeze({
        role_id: role.role_id,
        permissions: role.permissions.map((p) => ({ resource_id: p.resource_id, actions: [...p.actions] })),
      }),
    ),
  );
}

/** Whether a parsed answer carries a member session with the fields every caller reads. */
export function isAuthenticateResponse(value: unknown): value is StytchAuthenticateResponse {
  const session = (value as { member_session?: Record<string, unknown> } | null)?.member_session;
  return (
    typeof session === "object" &&
    session !== null &&
    typeof session.member_session_id === "string" &&
    typeof session.member_id === "string" &&
    typeof session.organization_id === "string" &&
    typeof session.expires_at === "string"
  );
}
