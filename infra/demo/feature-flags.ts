/**
 * The CDK feature flags this project relies on. `cdk.json` sets exactly these for `cdk synth`;
 * tests pass them to `new App({ context })`, because an in-memory App does not read `cdk.json`.
 * A test keeps the two in sync.
 *
 * @module
 */
/** Feature flag name → value, as in `cdk.json`'s `context`. */
export const FEATURE_FLAGS = {
  /**
   * RestApi creates no account-wide API Gateway CloudWatch role unless asked; the demo stack asks
   * explicitly (`createCloudWatchRole`), so a user's other APIs never get one by surprise.
   */
  "@aws-cdk/aws-apigateway:disableCloudWatchRole": true,
  /** A changed authorizer redeploys the REST API. */
  "@aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId": true,
  /** Unique ids for request validators added through addMethod. */
  "@aws-cdk/aws-apigateway:requestValidatorUniqueId": true,
  /** Access log destination ARN without the trailing `:*`, so drift detection stays clean. */
  "@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard": true,
  /** Merge IAM statements into the smallest policy. */
  "@aws-cdk/aws-iam:minimizePolicies": true,
  /** Fail synthesis when a secret value would be rendered in plain text. */
  "@aws-cdk/core:checkSecretUsage": true,
  /** Built-in CloudFormation validation findings fail synthesis instead of warning. */
  "@aws-cdk/core:validateAgainstDefaultRules": true,
} as const;
