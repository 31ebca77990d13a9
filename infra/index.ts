/**
 * The package's CDK entry (`import … from "stytch-b2b-apigw-authorizer/cdk"`): the constructs.
 * `aws-cdk-lib` and `constructs` are peer dependencies; the Lambda code ships prebuilt.
 *
 * @module
 */
export {
  MAX_AUTHORIZER_TIMEOUT,
  MAX_SAFE_CACHE_TTL,
  RETRY_AFTER_SECONDS,
  StytchAuthorizer,
  type StytchAuthorizerAliasOptions,
  type StytchAuthorizerMonitoringOptions,
  type StytchAuthorizerProps,
  type StytchConnectionProps,
  type StytchFunctionOptions,
  type StytchIdentityMode,
  StytchRefreshFunction,
  type StytchRefreshFunctionProps,
} from "./stytch-authorizer";
export { RoutePermissionTable, type RoutePermissionTableOptions, type RbacPolicyResources } from "./route-permission-table";
export type { RoutePermission } from "./route-permission-table";
export {
  StytchMonitoring,
  type CountAlarmOptions,
  type DurationAlarmOptions,
  type FaultRateAlarmOptions,
  type KeySetStaleAlarmOptions,
  type StytchAlarmOptions,
  type StytchMonitoringAlarms,
  type StytchMonitoringProps,
} from "./stytch-monitoring";
