// How tap reconcile --repair writes, each write conditional so it never replaces what an event wrote:
// - missing: the version read as a create event would read it (readVersionItem; a delete marker's
//   item from the listing), cause tap:Reconcile with LOWEST_SEQUENCER, written only where no item
//   exists (putItemIfAbsent): the version's own event, whenever it comes, replaces it.
// - extra: the stored item, status deleted, eventName tap:Reconcile and eventTime now, its sequencer
//   kept (so the version's real delete or expiry event, newer, still replaces it; a redelivered create
//   is a duplicate); the metadata stays, as for any removal.
// - stale storage class: the stored item with the listed class (storageClassAsOf now), as a lost
//   transition event would have set it; a present item stays present.
// - other stale: the version read again (or the marker's item rebuilt), as for missing.
// Extras and stale items are replaced only while the stored item is the one read before: same
// sequencer and same processedAt (every write of the handler sets processedAt, transitions and tagging
// included, which the sequencer alone would not show). Otherwise the repair is skipped and counted.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { NULL_VERSION } from '../../handler/event';
import { Cause, deleteMarkerItem, MetadataItem, removedAttributes, VersionRef } from '../../handler/item';
import { readVersionItem } from '../../handler/read-version';
import { LOWEST_SEQUENCER } from '../../handler/sequencer';
import { GuardedWriteResult, putItemIfAbsent, putItemIfSame } from '../../handler/store';
import type { Drift } from './classify';
import type { BucketEntry } from './listing';

/** The eventName of every item reconcile writes. */
export const RECONCILE_EVENT = 'tap:Reconcile';

export interface RepairContext {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly bucket: string;
  readonly table: string;
  readonly recordObjectTags: boolean;
  readonly now: () => Date;
}

/** repaired: written; skipped: changed since read; vanished: the read found the version gone (no write). */
export type RepairResult = 'repaired' | 'skipped' | 'vanished';

const versionRef = (bucket: string, key: string, versionId: string): VersionRef => ({
  bucket,
  key,
  versionId: versionId === NULL_VERSION ? null : versionId,
});

/** What stands in for the event: the listing's size and ETag, kept if the version cannot be read. */
export const reconcileCause = (now: Date, entry?: BucketEntry, sequencer = LOWEST_SEQUENCER): Cause => ({
  eventName: RECONCILE_EVENT,
  eventTime: now.toISOString(),
  sequencer,
  size: entry?.size,
  eTag: entry?.eTag,
});

/** The item a listed version or delete marker should have: read like a create, or built from the listing. */
export function listedItem(entry: BucketEntry, context: RepairContext): Promise<MetadataItem> {
  const now = context.now();
  const version = versionRef(context.bucket, entry.key, entry.versionId);
  const cause = reconcileCause(now, entry);
  return entry.deleteMarker
    ? Promise.resolve(deleteMarkerItem(version, cause, now, entry.lastModified))
    : readVersionItem(context.s3, version, cause, { recordObjectTags: context.recordObjectTags, now });
}

/** The stored item of a version the bucket no longer holds, marked deleted by reconcile. */
export function extraRemoved(item: MetadataItem, bucket: string, now: Date): MetadataItem {
  const version = versionRef(item.bucket ?? bucket, item.objectKey, item.versionId);
  const cause = reconcileCause(now, undefined, item.sequencer);
  return {
    ...item,
    requester: undefined,
    sourceIp: undefined,
    requestId: undefined,
    ...removedAttributes(version, cause, 'deleted', now),
  };
}

/** The stored item with the listed storage class, known as of now; an archive tier only stays in INTELLIGENT_TIERING. */
export const storageClassChanged = (item: MetadataItem, storageClass: string, now: Date): MetadataItem => ({
  ...item,
  storageClass,
  archiveTier: storageClass === 'INTELLIGENT_TIERING' ? item.archiveTier : undefined,
  storageClassAsOf: now.toISOString(),
  processedAt: now.toISOString(),
});

const result = (written: GuardedWriteResult): RepairResult => (written === 'stored' ? 'repaired' : 'skipped');

/** Repairs one drift; throws what the read or the write threw (the caller counts it as failed). */
export async function repairDrift(drift: Drift, context: RepairContext): Promise<RepairResult> {
  const { dynamodb, table } = context;
  const { entry, item } = drift;
  if (drift.kind === 'missing' && entry) {
    return result(await putItemIfAbsent(dynamodb, table, await listedItem(entry, context)));
  }
  if (!item) throw new Error(`${drift.kind} drift of ${drift.key}@${drift.versionId} without its item`);
  if (drift.kind === 'extra') {
    return result(await putItemIfSame(dynamodb, table, extraRemoved(item, context.bucket, context.now()), item));
  }
  if (!entry) throw new Error(`stale drift of ${drift.key}@${drift.versionId} without its listing entry`);
  if (drift.reason === 'storageClass') {
    const changed = storageClassChanged(item, entry.storageClass ?? 'STANDARD', context.now());
    return result(await putItemIfSame(dynamodb, table, changed, item));
  }
  const listed = await listedItem(entry, context);
  if (listed.status === 'gone') return 'vanished';
  return result(await putItemIfSame(dynamodb, table, listed, item));
}
