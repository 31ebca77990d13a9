// The member, both ways: the authorizer encodes a MemberSession into API Gateway's flat context,
// and downstream Lambdas decode it back with getMemberContext(). One module owns both directions,
// so the keys cannot drift apart.

/** How the member authenticated to this request. */
export type AuthMethod = "jwt" | "session_token";

/**
 * One of Stytch's authentication factors of the session (`authentication_factors` in the session JWT and in the
 * API's `member_session`), as the authorizer read it (lambda/lib/session/authentication-factors.ts). A field
 * Stytch left out, or sent in a shape that is not Stytch's, reads as `""`: such a factor proves nothing, and a
 * route with step-up requirements refuses the session (docs/step-up.md).
 */
export interface AuthenticationFactor {
  /** Stytch's `type`: `magic_link`, `password`, `oauth`, `sso`, `totp`, `otp`, `recovery_codes`, `impersonated`, … */
  readonly type: string;
  /** Stytch's `delivery_method`: `email`, `sso_saml`, `sso_oidc`, `authenticator_app`, `sms`, `impersonation`, … */
  readonly deliveryMethod: string;
  /** Stytch's `last_authenticated_at`: when the member last proved this factor (RFC 3339, UTC). */
  readonly lastAuthenticatedAt: string;
  /** SSO factors: the SSO connection, the `provider_id` of Stytch's `saml_sso_factor` or `oidc_sso_factor`. */
  readonly connectionId?: string;
  /** Impersonated factors: who impersonates the member, `impersonated_factor.impersonator_id`. */
  readonly impersonatorId?: string;
}

/** The authenticated Stytch B2B member session, as downstream code sees it. */
export interface MemberSession {
  readonly memberId: string;
  readonly memberSessionId: string;
  readonly organizationId: string;
  readonly organizationSlug: string;
  /** RBAC roles of the session (includes `stytch_member`). */
  readonly roles: readonly string[];
  readonly authMethod: AuthMethod;
  /** The SESSION's expiry (RFC 3339), not the 5-minute JWT's. */
  readonly sessionExpiresAt: string;
  readonly email?: string;
  /** The session's custom claims (empty when none, or when they were too large for the context). */
  readonly customClaims: Readonly<Record<string, unknown>>;
  /**
   * How and when the member authenticated: the session's factors, in Stytch's order (downstream: at most
   * {@link MAX_CONTEXT_FACTORS}; empty from an authorizer that predates them).
   */
  readonly authenticationFactors: readonly AuthenticationFactor[];
  /**
   * Set when the session is impersonated (Stytch's `impersonated` factor): the impersonator's ID, for audit logs.
   * Use {@link isImpersonated} to ask whether a session is impersonated at all.
   */
  readonly impersonatorId?: string;
}

/** The exact context keys. Users' code and mapping templates may read them as `$context.authorizer.<key>`. */
// Pure: a bundle that never reads the keys by name (the authorizer writes them as literals) drops the object.
export const CONTEXT_KEYS = /* @__PURE__ */ Object.freeze({
  memberId: "member_id",
  memberSessionId: "member_session_id",
  organizationId: "organization_id",
  organizationSlug: "organization_slug",
  roles: "roles",
  authMethod: "auth_method",
  sessionExpiresAt: "session_expires_at",
  email: "email",
  customClaims: "custom_claims",
  customClaimsTruncated: "custom_claims_truncated",
  authenticationFactors: "authentication_factors",
  authenticationFactorsTruncated: "authentication_factors_truncated",
  impersonatorId: "impersonator_id",
  /** `member`, `m2m` or `connected_app`; absent in contexts of versions before machine callers (members). */
  callerType: "caller_type",
  /** Machine callers: the M2M or Connected-App client id. */
  clientId: "client_id",
  /** Machine callers: the token's scopes, a JSON array. */
  scopes: "scopes",
  /** Machine callers: the access token's expiry (RFC 3339). */
  tokenExpiresAt: "token_expires_at",
} as const);

/** One of the context keys. */
export type ContextKey = (typeof CONTEXT_KEYS)[keyof typeof CONTEXT_KEYS];

/** Custom claims larger than this (as JSON) are left out of the context, and `custom_claims_truncated` is set. */
export const MAX_CUSTOM_CLAIMS_JSON_LENGTH = 2_048;

/**
 * Budget of the whole context in UTF-8 bytes (keys plus values): the one authorizer-result size API
 * Gateway documents (8 KB, for WebSocket APIs; REST and HTTP APIs document none). Custom claims are
 * included only if the context stays within it.
 */
export const MAX_CONTEXT_BYTES = 8_192;

/** Longer email addresses are left out of the context: no deliverable address is longer (RFC 5321 §4.5.3.1). */
export const MAX_EMAIL_LENGTH = 254;

/**
 * At most this many authentication factors travel in the context (Stytch's first ones); beyond,
 * `authentication_factors_truncated` is `true`. A factor takes at most about 450 bytes (its fields are bounded
 * when read), so the factors take at most about 3.6 KB of {@link MAX_CONTEXT_BYTES}, and usually about 130 bytes.
 */
export const MAX_CONTEXT_FACTORS = 8;

/** API Gateway's flat context: only strings, numbers and booleans survive (objects or arrays give a 500). */
export type AuthorizerContext = Record<string, string | number | boolean>;

/**
 * Encodes a member session into API Gateway's flat authorizer context.
 * Arrays and objects become JSON strings, because API Gateway rejects nested values.
 * The member's identity (ids, slug, roles, auth method, session expiry) and the impersonator always stay;
 * what could push the response past API Gateway's limits is left out instead of failing the request: an
 * email longer than {@link MAX_EMAIL_LENGTH}, authentication factors beyond {@link MAX_CONTEXT_FACTORS}
 * (then `authentication_factors_truncated` is `true`), and custom claims over
 * {@link MAX_CUSTOM_CLAIMS_JSON_LENGTH} or over the {@link MAX_CONTEXT_BYTES} budget (then
 * `custom_claims_truncated` is `true`). The factors come before the custom claims in that budget.
 */
export function toAuthorizerContext(session: MemberSession): AuthorizerContext {
  // A literal with fixed keys (checked against CONTEXT_KEYS below) lets V8 build it from one shape;
  // this runs on every first-seen token.
  const context: AuthorizerContext = {
    caller_type: "member",
    member_id: session.memberId,
    member_session_id: session.memberSessionId,
    organization_id: session.organizationId,
    organization_slug: session.organizationSlug,
    roles: JSON.stringify(session.roles),
    auth_method: session.authMethod,
    session_expires_at: session.sessionExpiresAt,
    custom_claims: "{}",
    authentication_factors: factorsJson(session.authenticationFactors, MAX_CONTEXT_FACTORS),
  } satisfies Record<
    Exclude<
      ContextKey,
      "email" | "custom_claims_truncated" | "authentication_factors_truncated" | "impersonator_id" | MachineContextKey
    >,
    string
  >;
  if (session.email && session.email.length <= MAX_EMAIL_LENGTH) context.email = session.email;
  if (session.impersonatorId !== undefined) context.impersonator_id = session.impersonatorId;
  const factors = session.authenticationFactors;
  let kept = Math.min(factors.length, MAX_CONTEXT_FACTORS);
  // Rarely needed (many or long factors next to a large identity): only then count the exact UTF-8 bytes.
  while (kept > 0 && mostBytes(context) > MAX_CONTEXT_BYTES && contextBytes(context) > MAX_CONTEXT_BYTES)
    context.authentication_factors = factorsJson(factors, --kept);
  if (kept < factors.length) context.authentication_factors_truncated = true;
  addCustomClaims(context, session.customClaims);
  return context;
}

/** The context keys of machine callers only. */
type MachineContextKey = "client_id" | "scopes" | "token_expires_at";

/**
 * Writes custom claims into a context whose `custom_claims` is `"{}"`, unless they are over
 * {@link MAX_CUSTOM_CLAIMS_JSON_LENGTH} or would take the context over {@link MAX_CONTEXT_BYTES}: then
 * `custom_claims_truncated` is `true` instead.
 */
export function addCustomClaims(context: AuthorizerContext, customClaims: Readonly<Record<string, unknown>>): void {
  for (const _ in customClaims) {
    // Only pay for JSON.stringify when there is something to encode.
    const json = JSON.stringify(customClaims);
    if (
      json.length <= MAX_CUSTOM_CLAIMS_JSON_LENGTH &&
      contextBytes(context) - 2 + Buffer.byteLength(json) <= MAX_CONTEXT_BYTES
    )
      context.custom_claims = json;
    else context.custom_claims_truncated = true;
    break;
  }
}

/** The first `limit` factors as the context carries them: a JSON array with Stytch's field names. */
function factorsJson(factors: readonly AuthenticationFactor[], limit: number): string {
  let json = "[";
  const count = Math.min(factors.length, limit);
  for (let i = 0; i < count; i += 1) {
    const factor = factors[i]!;
    json += `${i > 0 ? "," : ""}{"type":${JSON.stringify(factor.type)},"delivery_method":${JSON.stringify(factor.deliveryMethod)},"last_authenticated_at":${JSON.stringify(factor.lastAuthenticatedAt)}`;
    if (factor.connectionId !== undefined) json += `,"connection_id":${JSON.stringify(factor.connectionId)}`;
    if (factor.impersonatorId !== undefined) json += `,"impersonator_id":${JSON.stringify(factor.impersonatorId)}`;
    json += "}";
  }
  return `${json}]`;
}

/**
 * True when the session is impersonated: one of its factors is Stytch's `impersonated` factor, wherever it is in
 * the list. An impersonated session is support staff acting as the member; {@link MemberSession.impersonatorId}
 * names them when Stytch did.
 */
export function isImpersonated(member: Pick<MemberSession, "authenticationFactors" | "impersonatorId">): boolean {
  return (
    member.impersonatorId !== undefined || member.authenticationFactors.some((factor) => factor.type === "impersonated")
  );
}

/** An upper bound of {@link contextBytes} without encoding anything: a UTF-16 unit is at most 3 UTF-8 bytes. */
function mostBytes(context: AuthorizerContext): number {
  let units = 0;
  for (const key in context) units += key.length + String(context[key]).length;
  return units * 3;
}

/** UTF-8 bytes of a context's keys and values, as API Gateway would carry them. */
export function contextBytes(context: AuthorizerContext): number {
  let bytes = 0;
  for (const key in context) bytes += key.length + Buffer.byteLength(String(context[key]));
  return bytes;
}

/** Thrown by {@link getMemberContext} when the event carries no authorizer context from this authorizer. */
export class MissingMemberContextError extends Error {
  constructor(
    message = "no Stytch member in the request's authorizer context: is the route behind the Stytch authorizer?",
  ) {
    super(message);
    this.name = "MissingMemberContextError";
  }
}

/** The authorizer's context as a downstream Lambda receives it (REST delivers every value as a string). */
export type ContextBag = Record<string, unknown>;

/**
 * Every API Gateway proxy event a downstream handler is typed with: `APIGatewayProxyEvent` (REST,
 * HTTP API payload 1.0), `APIGatewayProxyEventV2` and `APIGatewayProxyEventV2WithLambdaAuthorizer<…>`
 * (HTTP API payload 2.0), and the events of the matching `…Handler` types.
 *
 * Structural on purpose: it names no `@types/aws-lambda` type, so any version of those types
 * fits, and the package needs none. Events of JWT or IAM authorizers are refused at compile time:
 * they can never carry this authorizer's context.
 */
export interface EventWithMemberContext {
  readonly requestContext: {
    readonly requestId: string;
    readonly authorizer?: { readonly lambda?: unknown; readonly jwt?: never; readonly iam?: never } | null;
  };
}

/**
 * Reads the authenticated member from a downstream Lambda's event.
 *
 * Works for REST API proxy events (`requestContext.authorizer.*`, values arrive as strings) and for
 * HTTP API events (`requestContext.authorizer.lambda.*`).
 * @throws MissingMemberContextError when the event has no context from the Stytch authorizer
 */
export function getMemberContext(event: EventWithMemberContext): MemberSession {
  const bag = contextBagOf(event);
  const callerType = bag[CONTEXT_KEYS.callerType];
  if (callerType !== undefined && callerType !== "member") {
    throw new MissingMemberContextError(
      `the caller is not a member (${CONTEXT_KEYS.callerType} ${String(callerType)}): read it with getCallerContext`,
    );
  }
  return memberOfContext(bag);
}

/**
 * The authorizer's flat context of a downstream event: `requestContext.authorizer.lambda` (HTTP API) or
 * `requestContext.authorizer` (REST).
 * @throws MissingMemberContextError when the event has no context from the Stytch authorizer
 */
export function contextBagOf(event: EventWithMemberContext): ContextBag {
  const authorizer = (event?.requestContext as { authorizer?: ContextBag } | undefined)?.authorizer;
  if (!authorizer || typeof authorizer !== "object") throw new MissingMemberContextError();
  return (
    typeof authorizer.lambda === "object" && authorizer.lambda !== null ? authorizer.lambda : authorizer
  ) as ContextBag;
}

/**
 * The member of a member's context bag.
 * @throws MissingMemberContextError
 */
export function memberOfContext(bag: ContextBag): MemberSession {
  const memberId = requiredString(bag, CONTEXT_KEYS.memberId);
  const authMethod = requiredString(bag, CONTEXT_KEYS.authMethod);
  if (authMethod !== "jwt" && authMethod !== "session_token") {
    throw new MissingMemberContextError(`authorizer context has an unknown ${CONTEXT_KEYS.authMethod}`);
  }
  const email = bag[CONTEXT_KEYS.email];
  const impersonatorId = bag[CONTEXT_KEYS.impersonatorId];
  return {
    memberId,
    memberSessionId: requiredString(bag, CONTEXT_KEYS.memberSessionId),
    organizationId: requiredString(bag, CONTEXT_KEYS.organizationId),
    // Present but possibly empty: Stytch organizations have slugs, yet a token without one is still a member session.
    organizationSlug:
      typeof bag[CONTEXT_KEYS.organizationSlug] === "string"
        ? (bag[CONTEXT_KEYS.organizationSlug] as string)
        : requiredString(bag, CONTEXT_KEYS.organizationSlug),
    roles: parseJson(
      bag,
      CONTEXT_KEYS.roles,
      (v): v is string[] => Array.isArray(v) && v.every((r) => typeof r === "string"),
    ),
    authMethod,
    sessionExpiresAt: requiredString(bag, CONTEXT_KEYS.sessionExpiresAt),
    ...(typeof email === "string" && email !== "" ? { email } : {}),
    customClaims:
      bag[CONTEXT_KEYS.customClaims] === undefined
        ? {}
        : parseJson(
            bag,
            CONTEXT_KEYS.customClaims,
            (v): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v),
          ),
    authenticationFactors:
      bag[CONTEXT_KEYS.authenticationFactors] === undefined
        ? []
        : parseJson(bag, CONTEXT_KEYS.authenticationFactors, isContextFactorList).map(fromContextFactor),
    ...(typeof impersonatorId === "string" && impersonatorId !== "" ? { impersonatorId } : {}),
  };
}

/** A factor as the context carries it (see factorsJson). */
interface ContextFactor {
  type: string;
  delivery_method: string;
  last_authenticated_at: string;
  connection_id?: string;
  impersonator_id?: string;
}

function isContextFactorList(value: unknown): value is ContextFactor[] {
  return (
    Array.isArray(value) &&
    value.every(
      (factor: Partial<Record<keyof ContextFactor, unknown>> | null) =>
        typeof factor === "object" &&
        factor !== null &&
        typeof factor.type === "string" &&
        typeof factor.delivery_method === "string" &&
        typeof factor.last_authenticated_at === "string" &&
        (factor.connection_id === undefined || typeof factor.connection_id === "string") &&
        (factor.impersonator_id === undefined || typeof factor.impersonator_id === "string"),
    )
  );
}

function fromContextFactor(factor: ContextFactor): AuthenticationFactor {
  return {
    type: factor.type,
    deliveryMethod: factor.delivery_method,
    lastAuthenticatedAt: factor.last_authenticated_at,
    ...(factor.connection_id !== undefined ? { connectionId: factor.connection_id } : {}),
    ...(factor.impersonator_id !== undefined ? { impersonatorId: factor.impersonator_id } : {}),
  };
}

/** True when the member's session has the given RBAC role. */
export function hasRole(member: Pick<MemberSession, "roles">, role: string): boolean {
  return member.roles.includes(role);
}

export function requiredString(bag: ContextBag, key: string): string {
  const value = bag[key];
  if (typeof value !== "string" || value === "") {
    throw new MissingMemberContextError(`authorizer context has no ${key}: is the route behind the Stytch authorizer?`);
  }
  return value;
}

export function parseJson<T>(bag: ContextBag, key: string, guard: (value: unknown) => value is T): T {
  const raw = bag[key];
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new MissingMemberContextError(`authorizer context ${key} is not valid JSON`);
    }
  }
  if (!guard(value)) throw new MissingMemberContextError(`authorizer context ${key} has the wrong shape`);
  return value;
}
