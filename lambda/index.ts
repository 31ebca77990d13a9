/**
 * The package's runtime entry (`import … from "stytch-b2b-apigw-authorizer"`): what downstream
 * Lambdas need to read the member the authorizer let through. It loads no AWS SDK and no CDK.
 *
 * The constructs are in `stytch-b2b-apigw-authorizer/cdk`.
 *
 * @module
 */
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
