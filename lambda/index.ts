/**
 * The package's runtime entry (`import … from "stytch-b2b-apigw-authorizer"`): what downstream
 * Lambdas need to read the member the authorizer let through. It loads no AWS SDK and no CDK.
 *
 * Routes open to machine callers (M2M clients, Connected Apps) read the caller with `getCallerContext`, a
 * discriminated union on `type`; members-only routes keep `getMemberContext`.
 *
 * The constructs are in `stytch-b2b-apigw-authorizer/cdk`.
 *
 * @module
 */

export type {
  ActingMember,
  Caller,
  CallerType,
  ConnectedAppCaller,
  M2MCaller,
  MachineCaller,
  MemberCaller,
} from "./lib/callers/caller";
export { getCallerContext } from "./lib/response/caller-context";
export {
  type AuthenticationFactor,
  type AuthMethod,
  type AuthorizerContext,
  CONTEXT_KEYS,
  type ContextKey,
  type EventWithMemberContext,
  getMemberContext,
  hasRole,
  isImpersonated,
  type MemberSession,
  MissingMemberContextError,
} from "./lib/response/member-context";
