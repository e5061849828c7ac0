// The function's contract with the stack and the scripts: where its bundle is, the runtime it runs on,
// the environment it is told, and which S3 events reach it. No cdktf import.
import type { TapConfig } from './settings';
import type { ResourceNames } from './names';

/** Where `npm run build:handler` writes the bundle the function runs (relative to the project). */
export const HANDLER_BUNDLE_DIR = 'dist/handler';

/** The Lambda runtime: the newest hashicorp/aws 5.100.0 accepts; arm64 costs 20% less per GB-second. */
export const FUNCTION_RUNTIME = { runtime: 'nodejs22.x', architecture: 'arm64' } as const;

/**
 * Every change S3 reports about an object, so the table mirrors the bucket: requests, lifecycle
 * expirations (which the stack's own lifecycle rules cause), storage-class transitions, restores of
 * archived objects, and tagging when tags are recorded.
 */
export function bucketNotificationEvents(config: Pick<TapConfig, 'recordObjectTags'>): string[] {
  return [
    's3:ObjectCreated:*',
    's3:ObjectRemoved:*',
    's3:LifecycleExpiration:*',
    's3:LifecycleTransition',
    's3:IntelligentTiering',
    's3:ObjectRestore:Completed',
    ...(config.recordObjectTags ? ['s3:ObjectTagging:*'] : []),
  ];
}

/** Whether the notification's filter (notificationPrefix, notificationSuffix) hands `key` to the function. */
export const passesNotificationFilter = (
  config: Pick<TapConfig, 'notificationPrefix' | 'notificationSuffix'>,
  key: string,
): boolean => key.startsWith(config.notificationPrefix) && key.endsWith(config.notificationSuffix);

/**
 * The function's environment: the only place the stack-handler contract is written. The stack passes
 * the table's and the bucket's Terraform references as tableName and bucketName; scripts pass the literal names.
 */
export function functionEnvironment(
  config: Pick<TapConfig, 'project' | 'logLevel' | 'sdkMaxAttempts' | 'recordObjectTags'>,
  names: Pick<ResourceNames, 'tableName' | 'functionName'>,
  bucketName: string,
): Record<string, string> {
  return {
    TABLE_NAME: names.tableName,
    BUCKET_NAME: bucketName,
    POWERTOOLS_SERVICE_NAME: names.functionName,
    POWERTOOLS_METRICS_NAMESPACE: config.project,
    POWERTOOLS_LOG_LEVEL: config.logLevel,
    // The SDK reads these itself: throttling and 5xx are retried with backoff before a record fails.
    AWS_MAX_ATTEMPTS: String(config.sdkMaxAttempts),
    AWS_RETRY_MODE: 'standard',
    RECORD_OBJECT_TAGS: String(config.recordObjectTags),
  };
}
