// The member, both ways: the authorizer encodes a MemberSession into API Gateway's flat context,
// and downstream Lambdas decode it back with getMemberContext(). One module owns both directions,
// so the keys cannot drift apart.

/** How the member authenticated to this request. */
export type AuthMethod = "jwt" | "session_token";

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

/** API Gateway's flat context: only strings, numbers and booleans survive (objects or arrays give a 500). */
export type AuthorizerContext = Record<string, string | number | boolean>;

/**
 * Encodes a member session into API Gateway's flat authorizer context.
 * Arrays and objects become JSON strings, because API Gateway rejects nested values.
 * The member's identity (ids, slug, roles, auth method, session expiry) always stays; what could push
 * the response past API Gateway's limits is left out instead of failing the request: an email longer
 * than {@link MAX_EMAIL_LENGTH}, and custom claims over {@link MAX_CUSTOM_CLAIMS_JSON_LENGTH} or over
 * the {@link MAX_CONTEXT_BYTES} budget (then `custom_claims_truncated` is `true`).
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
  } satisfies Record<Exclude<ContextKey, "email" | "custom_claims_truncated" | MachineContextKey>, string>;
  if (session.email && session.email.length <= MAX_EMAIL_LENGTH) context.email = session.email;
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
