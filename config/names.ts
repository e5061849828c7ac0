// The names the stack, the handler, the scripts and the tests share: every resource name (and the
// limits AWS sets on them), the table's key schema and ARNs. No cdktf import.
import type { TapConfig } from './settings';

/** arn:partition:service:region:account:resource; IAM leaves region empty, S3 buckets region and account. */
export const arn = (partition: string, service: string, region: string, account: string, resource: string): string =>
  `arn:${partition}:${service}:${region}:${account}:${resource}`;

export const TABLE_KEY_SCHEMA = { partitionKey: 'objectKey', sortKey: 'versionId' } as const;

/** The name-length limits AWS sets on the names this stack builds. */
export const NAME_LIMITS = { s3Bucket: 63, iamRole: 64, lambdaFunction: 64 } as const;

/**
 * Every resource name, from project, environment and region; the stack, scripts and CLI all use these.
 * Regional resources need no region in their names. IAM roles, IAM policies and CloudWatch dashboards
 * are global per account, and S3 bucket names global everywhere: those carry the region, so the same
 * project and environment can be deployed to a second region. State is per region too.
 */
export function resourceNames(config: Pick<TapConfig, 'project' | 'environment' | 'region'>) {
  const prefix = `${config.project}-${config.environment}`;
  const functionName = `${prefix}-metadata-extractor`;
  return {
    prefix,
    functionName,
    roleName: `${functionName}-${config.region}`,
    uploadersPolicyName: `${prefix}-uploaders-${config.region}`,
    logGroupName: `/aws/lambda/${functionName}`,
    tableName: `${prefix}-file-metadata`,
    queueName: `${prefix}-metadata-failed-events`,
    topicName: `${prefix}-pipeline-alarms`,
    keyAlias: `alias/${prefix}-pipeline`,
    dashboardName: `${prefix}-file-metadata-pipeline-${config.region}`,
    /** The EventBridge rule that hands the bucket's events to the function (eventDelivery=eventbridge). */
    ruleName: `${prefix}-object-events`,
    /** Unique per account and region, as S3 bucket names must be. */
    bucketName: (accountId: string, region: string) => `${prefix}-uploads-${accountId}-${region}`,
    /** enableBatchOperations: the role S3 Batch Operations jobs run as, and the bucket of their manifests and reports. */
    batchOperationsRoleName: `${prefix}-batch-operations-${config.region}`,
    operationsBucketName: (accountId: string, region: string) => `${prefix}-operations-${accountId}-${region}`,
    /** Local state, in the project folder: one file per environment and region. */
    localStateFile: `terraform.${prefix}-${config.region}.tfstate`,
    /** Remote state key when stateKey is not set. */
    defaultStateKey: `${config.project}/${config.environment}/${config.region}/terraform.tfstate`,
    /** Where state lived before names carried the region; never silently ignored (see legacyStateProblem). */
    legacyLocalStateFile: `terraform.${prefix}.tfstate`,
    legacyStateKey: `${config.project}/${config.environment}/terraform.tfstate`,
  };
}
export type ResourceNames = ReturnType<typeof resourceNames>;
