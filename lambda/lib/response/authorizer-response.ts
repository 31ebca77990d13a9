// The authorizer response: the answer to API Gateway (see AuthorizerResponse).

import type {
  APIGatewayAuthorizerResult,
  APIGatewaySimpleAuthorizerWithContextResult,
  PolicyDocument,
} from "aws-lambda";
import type { Caller } from "../callers/caller";
import { IamPolicyTooLargeError, UnsupportedEventError } from "../errors";
import { buildIamPolicy, invokeIamPolicy } from "../permissions/member-iam-policy";
import { iamPolicyKey, iamPolicySubject, type RouteAccess, requestedRoute } from "../permissions/route-access";
import type { PermissionedRoute, RoutePermissions } from "../permissions/route-table";
import { checkStepUp } from "../permissions/step-up";
import type { AuthorizerContext } from "./member-context";

/** The fields of an authorizer event that say where the request is going. */
export interface RouteCarrier {
  readonly version?: string;
  readonly methodArn?: string;
  readonly routeArn?: string;
}

/**
 * The authorizer response, the answer to API Gateway: an IAM policy (REST, HTTP API 1.0, or 2.0 in "iam" mode)
 * or a simple response (HTTP API 2.0), carrying the member's flat context. It is what the handler resolves with
 * when it does not throw. An Allow; with a route table also a refusal that API Gateway answers with 403 (an IAM
 * policy denying the request, or for HTTP API `simple` the `{isAuthorized: false}`).
 */
export type AuthorizerResponse =
  | APIGatewayAuthorizerResult
  | APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;

const stageIamPolicies = new Map<string, PolicyDocument>();
const STAGE_IAM_POLICY_LIMIT = 512;

/**
 * The authorizer response without a route table: an Allow of the whole stage (an IAM policy), or
 * `{isAuthorized: true}` for HTTP API `simple` answers.
 *
 * The Allow always covers the whole stage (`…/{apiId}/{stage}/*\/*`), never just the method ARN of the
 * current request: API Gateway caches the authorizer response under the credential, and a single-method Allow
 * would turn into a 403 on every other route for the rest of the TTL (the famous caching bug).
 * @param principalId the member ID
 * @param httpApiResponse the response format configured for HTTP API payload 2.0
 * @throws UnsupportedEventError when the event has no parsable method or route ARN
 */
export function stageAuthorizerResponse(
  event: RouteCarrier,
  principalId: string,
  context: AuthorizerContext,
  httpApiResponse: "simple" | "iam",
): AuthorizerResponse {
  if (event.version === "2.0" && httpApiResponse === "simple") return { isAuthorized: true, context };
  return { principalId, policyDocument: stageIamPolicy(event.methodArn ?? event.routeArn), context };
}

/**
 * The authorizer response without a route table for a valid caller that no route accepts: every route is
 * members-only then, so an M2M client or a Connected App gets 403 (never 401) on every route: a Deny of the whole
 * stage (right for every later request too, if cached), or `{isAuthorized: false}`.
 * @throws UnsupportedEventError when the event has no parsable method or route ARN
 */
export function stageRefusalResponse(
  event: RouteCarrier,
  principalId: string,
  httpApiResponse: "simple" | "iam",
): AuthorizerResponse {
  if (event.version === "2.0" && httpApiResponse === "simple") return { isAuthorized: false } as AuthorizerResponse;
  return {
    principalId,
    policyDocument: invokeIamPolicy(["Deny", stageResourceArn(event.methodArn ?? event.routeArn)]),
  };
}

/** How the answer of a route table is shaped. */
export interface RouteAnswerSettings {
  readonly httpApiResponse: "simple" | "iam";
  /** Whether API Gateway may reuse the answer for other requests (see AuthorizerConfig.resultsCacheTtlSeconds). */
  readonly cached: boolean;
  /**
   * How long after it is made API Gateway may still reuse a cached answer (ms): its result-cache TTL plus a
   * margin for the answer's way back. A route with a freshness limit is in a cached answer only if the limit
   * still holds then (lambda/lib/config.ts refuses a TTL that no freshness limit of the table outlasts, or an
   * unknown one).
   */
  readonly cacheHorizonMs: number;
  /** How far in the future a factor's `last_authenticated_at` may be (the configured clock tolerance). */
  readonly clockToleranceMs: number;
}

/**
 * Whether the route table's answer to this event covers this one request only ({@link routeTableAuthorizerResponse}):
 * HTTP API `simple` answers, and uncached answers to events that name their route with an exact ARN. Otherwise
 * the answer is the member's IAM policy for every route, which needs every role the member holds.
 */
export function answersThisRequestOnly(
  event: RouteCarrier & Parameters<typeof requestedRoute>[0],
  settings: RouteAnswerSettings,
): boolean {
  if (event.version === "2.0" && settings.httpApiResponse === "simple") return true;
  return !settings.cached && requestedRoute(event) !== undefined && exactArn(event) !== undefined;
}

/** The event's method or route ARN, when its path names one request (no IAM wildcard); else undefined. */
function exactArn(event: RouteCarrier): string | undefined {
  const arn = event.methodArn ?? event.routeArn;
  return !/[*?]/.test(arn!.slice(stagePrefix(arn).length)) ? arn : undefined;
}

/**
 * The authorizer response when a route table is configured (per-route permissions): it answers instead of
 * {@link stageAuthorizerResponse}.
 *
 * - HTTP API 2.0 `simple`: `{isAuthorized}` for this request's route (false → 403), with the context only when true.
 * - Not cached, and the event names its route (REST REQUEST, HTTP API `iam`): an Allow (with the context) or a
 *   Deny of exactly this request's ARN, decided by {@link RouteAccess.outcome}: a route the table does not list
 *   is refused, and no IAM wildcard is written at all. Were the answer cached after all, it would still cover
 *   this one request only. A Deny carries one context key, `reason` (`permission_denied`, `tenancy_mismatch`,
 *   `caller_not_accepted`, `step_up_required`, `impersonation_refused`), which the REST API's ACCESS_DENIED gateway
 *   response shows (infra/gateway-responses.ts), so that a frontend can tell "step up" from "not permitted".
 * - Otherwise: the caller's IAM policy for every route of the stage (lambda/lib/permissions/member-iam-policy.ts):
 *   a member's, a Connected App's (in the member's organization) or an M2M client's (no tenancy route), each with
 *   only the routes that accept its type. It depends only on the token, the stage and the time, never on the
 *   request that triggered it, so API Gateway's result cache stays correct when one API serves members and
 *   machines: a route with step-up requirements is in it only while they hold for the whole cache horizon.
 * @throws UnsupportedEventError when the event has no parsable method or route ARN
 * @throws IamPolicyTooLargeError when the member's IAM policy cannot be made small enough
 */
export function routeTableAuthorizerResponse(
  event: RouteCarrier,
  principalId: string,
  context: AuthorizerContext,
  settings: RouteAnswerSettings,
  table: RoutePermissions,
  caller: Caller,
  access: RouteAccess,
): AuthorizerResponse {
  if (event.version === "2.0" && settings.httpApiResponse === "simple") {
    return access.outcome === "allowed"
      ? { isAuthorized: true, context }
      : ({ isAuthorized: false } as AuthorizerResponse);
  }
  const prefix = stagePrefix(event.methodArn ?? event.routeArn);
  // An ARN with an IAM wildcard in its path would be a pattern, not one request: it is never written alone.
  const exact = access.outcome !== undefined ? exactArn(event) : undefined;
  if (!settings.cached && exact) {
    return access.outcome === "allowed"
      ? { principalId, policyDocument: invokeIamPolicy(["Allow", exact]), context }
      : { principalId, policyDocument: invokeIamPolicy(["Deny", exact]), context: { reason: access.outcome } };
  }
  // Every route at once needs every role: the project's alone could refuse what a custom role grants.
  if (access.policy.type === "member" && access.policy.rbacRoles.projectOnly)
    throw new Error("an IAM policy for every route needs the organization's custom roles");
  const iamPolicy = cachedIamPolicy(prefix, table, caller, access, settings);
  // Cached, a refused request the event names (a route the table does not list, or another organization's)
  // still gets its 403: an explicit Deny of exactly its ARN, right for every later request too.
  if (exact && access.outcome !== "allowed") {
    return {
      principalId,
      policyDocument: {
        ...iamPolicy,
        Statement: [...iamPolicy.Statement, ...invokeIamPolicy(["Deny", exact]).Statement],
      },
      context,
    };
  }
  return { principalId, policyDocument: iamPolicy, context };
}

/** The caller's IAM policy for every route, remembered on the caller object and per caller facts. */
function cachedIamPolicy(
  prefix: string,
  table: RoutePermissions,
  caller: Caller,
  access: RouteAccess,
  settings: RouteAnswerSettings,
): PolicyDocument {
  const stepUp = stepUpState(table, caller, access, settings);
  // The verdict cache hands back the same caller object for a repeated token: remember its IAM policy on it.
  const known = iamPolicyOfCaller.get(caller);
  if (
    known &&
    known.table === table &&
    known.prefix === prefix &&
    known.version === access.policy.version &&
    known.stepUp === stepUp
  )
    return known.iamPolicy;
  const iamPolicy = sharedIamPolicy(prefix, table, caller, access, stepUp);
  iamPolicyOfCaller.set(caller, { table, prefix, version: access.policy.version, stepUp, iamPolicy });
  return iamPolicy;
}

const iamPolicyOfCaller = new WeakMap<
  Caller,
  { table: RoutePermissions; prefix: string; version: string; stepUp: string; iamPolicy: PolicyDocument }
>();

/**
 * Which of the table's step-up routes the caller may have in an answer made now and reused until the cache
 * horizon: one character per route of {@link RoutePermissions.stepUpRoutes}, `1` where the requirements hold
 * throughout. `""` for tables without step-up routes. Part of the IAM policy's cache keys, so a remembered
 * document is never reused once a freshness limit has moved a route out of it. Only member sessions carry
 * factors (and only they may call step-up routes).
 */
function stepUpState(
  table: RoutePermissions,
  caller: Caller,
  access: RouteAccess,
  settings: RouteAnswerSettings,
): string {
  let state = "";
  for (const route of table.stepUpRoutes) {
    const outcome =
      caller.type !== "member"
        ? "step_up_required"
        : checkStepUp(
            route.stepUp!,
            caller.member.authenticationFactors,
            // A cached answer serves every method of an ANY route: only a route of one safe method is read-only.
            route.method === "ANY" ? undefined : route.method,
            access.nowMs,
            settings.cacheHorizonMs,
            settings.clockToleranceMs,
          );
    state += outcome === "allowed" ? "1" : "0";
  }
  return state;
}

// Per table (one per container; tests build several), then per caller key.
const sharedIamPolicies = new WeakMap<RoutePermissions, Map<string, PolicyDocument | IamPolicyTooLargeError>>();
const SHARED_IAM_POLICY_LIMIT = 1_024;

/**
 * One IAM policy per (stage, caller facts that decide it: type, organization, roles or scopes, RBAC policy
 * version, step-up state): callers alike share it, and the hot path is a lookup. An IAM policy too large for API
 * Gateway is remembered the same way: building it again would cost as much and end the same.
 */
function sharedIamPolicy(
  prefix: string,
  table: RoutePermissions,
  caller: Caller,
  access: RouteAccess,
  stepUp: string,
): PolicyDocument {
  const key = JSON.stringify([prefix, iamPolicyKey(caller, access.policy), stepUp]);
  let iamPolicies = sharedIamPolicies.get(table);
  if (!iamPolicies) sharedIamPolicies.set(table, (iamPolicies = new Map()));
  let iamPolicy = iamPolicies.get(key);
  if (!iamPolicy) {
    try {
      const subject = iamPolicySubject(caller, access.policy);
      const meetsStepUp = (route: PermissionedRoute) =>
        route.stepUp === undefined || stepUp[table.stepUpRoutes.indexOf(route)] === "1";
      iamPolicy = Object.freeze(
        buildIamPolicy(table, { ...subject, mayCall: (route) => subject.mayCall(route) && meetsStepUp(route) }, prefix),
      ) as PolicyDocument;
    } catch (error) {
      if (!(error instanceof IamPolicyTooLargeError)) throw error;
      iamPolicy = error;
    }
    if (iamPolicies.size >= SHARED_IAM_POLICY_LIMIT) iamPolicies.clear();
    iamPolicies.set(key, iamPolicy);
  }
  if (iamPolicy instanceof IamPolicyTooLargeError) throw iamPolicy;
  return iamPolicy;
}

/**
 * `arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}` of a method or route ARN.
 * @throws UnsupportedEventError for anything that is not an execute-api method or route ARN
 */
export function stagePrefix(methodArn: string | undefined): string {
  if (methodArn !== undefined && methodArn === lastPrefix?.methodArn) return lastPrefix.prefix;
  const prefix = stageResourceArn(methodArn).slice(0, -4);
  lastPrefix = { methodArn: methodArn as string, prefix };
  return prefix;
}

let lastPrefix: { readonly methodArn: string; readonly prefix: string } | undefined;

/**
 * The execute-api ARN covering every method and resource of the request's API stage, e.g.
 * `arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/*\/*`. The partition is kept (aws, aws-cn, aws-us-gov).
 * @throws UnsupportedEventError for anything that is not an execute-api method or route ARN
 */
export function stageResourceArn(methodArn: string | undefined): string {
  // arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{verb}/{path…}
  const match =
    typeof methodArn === "string"
      ? /^(arn:aws[a-z-]*:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/\s]+)\/[^\s]*$/.exec(methodArn)
      : null;
  if (!match) throw new UnsupportedEventError("event has no execute-api method or route ARN");
  return `${match[1]}/*/*`;
}

let lastStageIamPolicy: { readonly methodArn: string; readonly iamPolicy: PolicyDocument } | undefined;

function stageIamPolicy(methodArn: string | undefined): PolicyDocument {
  // A warm container mostly sees the same few ARNs: compare with the last one before hashing.
  if (lastStageIamPolicy !== undefined && lastStageIamPolicy.methodArn === methodArn)
    return lastStageIamPolicy.iamPolicy;
  // Keyed by the exact ARN, so each distinct ARN is validated once; the map stays small (routes × stages).
  let iamPolicy = stageIamPolicies.get(methodArn as string);
  if (!iamPolicy) {
    iamPolicy = Object.freeze(invokeIamPolicy(["Allow", stageResourceArn(methodArn)]));
    Object.freeze(iamPolicy.Statement[0]);
    if (stageIamPolicies.size >= STAGE_IAM_POLICY_LIMIT) stageIamPolicies.clear();
    stageIamPolicies.set(methodArn as string, iamPolicy);
  }
  lastStageIamPolicy = { methodArn: methodArn as string, iamPolicy };
  return iamPolicy;
}
