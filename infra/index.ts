/**
 * The package's CDK entry (`import … from "stytch-b2b-apigw-authorizer/cdk"`): the constructs.
 * `aws-cdk-lib` and `constructs` are peer dependencies; the Lambda code ships prebuilt.
 *
 * @module
 */

export { RETRY_AFTER_SECONDS } from "./gateway-responses";
export {
  bearerChallenge,
  PROTECTED_RESOURCE_METADATA_PATH,
  protectedResourceDocument,
  type StytchProtectedResourceOptions,
} from "./protected-resource-document";
export type { CallerType, RoutePermission } from "./route-permission-table";
export {
  type FactorRequirement,
  type ImpersonationRule,
  type RbacPolicyResources,
  type RouteOptions,
  RoutePermissionTable,
  type RoutePermissionTableOptions,
  type StepUpOptions,
} from "./route-permission-table";
export {
  MAX_AUTHORIZER_TIMEOUT,
  MAX_SAFE_CACHE_TTL,
  StytchAuthorizer,
  type StytchAuthorizerAliasOptions,
  type StytchAuthorizerMonitoringOptions,
  type StytchAuthorizerOptions,
  type StytchAuthorizerProps,
  type StytchIdentityMode,
} from "./stytch-authorizer";
export {
  type CountAlarmOptions,
  type DurationAlarmOptions,
  type FaultRateAlarmOptions,
  type KeySetStaleAlarmOptions,
  type StytchAlarmOptions,
  StytchMonitoring,
  type StytchMonitoringAlarms,
  type StytchMonitoringProps,
} from "./stytch-monitoring";
export { StytchRefreshFunction, type StytchRefreshFunctionProps } from "./stytch-refresh-function";
export type { StytchConnectionProps, StytchFunctionOptions } from "./stytch-settings";
export { SNAPSHOT_LAYER_FILE, StytchSnapshot } from "./stytch-snapshot";
