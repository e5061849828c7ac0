// How S3's events reach the function with eventDelivery=eventbridge: the detail types the rule matches and
// its event pattern. No cdktf import: the handler's tests and the CLI read the same list.
import type { TapConfig } from './settings';

/**
 * The EventBridge detail types that mirror bucketNotificationEvents: created; deleted (requests and lifecycle
 * expirations alike, told apart by `deletion-type` and `reason`); restore completed; storage class changed
 * (lifecycle transitions); access tier changed (Intelligent-Tiering); and tagging when tags are recorded.
 */
export function eventBridgeDetailTypes(config: Pick<TapConfig, 'recordObjectTags'>): string[] {
  return [
    'Object Created',
    'Object Deleted',
    'Object Restore Completed',
    'Object Storage Class Changed',
    'Object Access Tier Changed',
    ...(config.recordObjectTags ? ['Object Tags Added', 'Object Tags Deleted'] : []),
  ];
}

/** A literal for EventBridge's `wildcard` operator: `*` and `\` stand for themselves when escaped. */
const wildcardLiteral = (text: string) => text.replace(/[\\*]/g, (c) => `\\${c}`);

/**
 * The rule's event pattern: S3's events from `bucketName` of the subscribed detail types, filtered on
 * detail.object.key as notificationPrefix and notificationSuffix filter a bucket notification. Both together
 * need `wildcard` (one array of `prefix` and `suffix` matchers would match either, not both).
 */
export function eventBridgePattern(
  config: Pick<TapConfig, 'recordObjectTags' | 'notificationPrefix' | 'notificationSuffix'>,
  bucketName: string,
): Record<string, unknown> {
  const { notificationPrefix: prefix, notificationSuffix: suffix } = config;
  const key =
    prefix && suffix
      ? [{ wildcard: `${wildcardLiteral(prefix)}*${wildcardLiteral(suffix)}` }]
      : prefix
        ? [{ prefix }]
        : suffix
          ? [{ suffix }]
          : undefined;
  return {
    source: ['aws.s3'],
    'detail-type': eventBridgeDetailTypes(config),
    detail: { bucket: { name: [bucketName] }, ...(key ? { object: { key } } : {}) },
  };
}
