import type { S3Client } from '@aws-sdk/client-s3';
import { Limits, LIMITS } from './env';
import { Cause, deleteMarkerItem, goneItem, MetadataItem, readItem, VersionRef } from './item';
import { objectTarget, readObject } from './s3-object';

export interface ReadVersionOptions {
  /** Read the version's tags too (RECORD_OBJECT_TAGS): one GetObjectTagging, in parallel. */
  readonly recordObjectTags: boolean;
  /** LIMITS unless a test needs others. */
  readonly limits?: Limits;
  /** processedAt, and the time storage class and tags are known as of; now unless given. */
  readonly now?: Date;
}

/**
 * Reads one object version into its item, the way a create event does: HEAD + ranged GET (+ tags),
 * giving a present, unreadable or gone item, or a delete marker's when the version id names one. `cause`
 * is the event, or what stands in for it: the operator's reconcile passes { eventName: 'tap:Reconcile',
 * eventTime, sequencer: LOWEST_SEQUENCER }. Throws what may pass (throttling, 5xx, AccessDenied on HEAD,
 * a disabled KMS key): retry later.
 */
export async function readVersionItem(
  s3: S3Client,
  version: VersionRef,
  cause: Cause,
  options: ReadVersionOptions,
): Promise<MetadataItem> {
  const limits = options.limits ?? LIMITS;
  const now = options.now ?? new Date();
  const read = await readObject(s3, objectTarget(version), {
    sniffBytes: limits.sniffBytes,
    readTags: options.recordObjectTags,
    size: cause.size,
  });
  if (read.state === 'gone') return goneItem(version, cause, now, limits);
  if (read.state === 'marker') return deleteMarkerItem(version, cause, now, undefined, limits);
  return readItem(version, cause, read, now, limits);
}
