// What the table should say about one key, given what the bucket holds: pure functions, so every rule
// of tap reconcile can be read and tested without S3 or DynamoDB.
import type { MetadataItem } from '../../handler/item';
import type { BucketEntry } from './listing';

/**
 * - missing: a version or delete marker with no item.
 * - extra: an item saying present/unreadable for a version the bucket no longer holds.
 * - stale: an item for a version the bucket holds, that says something else (see StaleReason).
 */
export type DriftKind = 'missing' | 'extra' | 'stale';

/**
 * - status: the item says deleted/expired/gone (or a marker's item says removed), but the bucket holds it.
 * - deleteMarker: the item says delete marker where the bucket has a version, or the other way round.
 * - storageClass: the version moved to another storage class (a lost transition event).
 * - content: size or ETag differ from the listing (a version's content never changes: the item is wrong).
 */
export type StaleReason = 'status' | 'deleteMarker' | 'storageClass' | 'content';

export interface Drift {
  readonly kind: DriftKind;
  readonly key: string;
  readonly versionId: string;
  readonly reason?: StaleReason;
  /** What the bucket lists for the version (missing, stale). */
  readonly entry?: BucketEntry;
  /** The stored item (extra, stale). */
  readonly item?: MetadataItem;
}

/** The states of a version that still exists. */
export const EXISTS: ReadonlySet<string> = new Set(['present', 'unreadable']);

/** Why an item does not describe the listed entry, or undefined when it does. */
export function staleReason(entry: BucketEntry, item: MetadataItem): StaleReason | undefined {
  if (Boolean(item.deleteMarker) !== entry.deleteMarker) return 'deleteMarker';
  if (entry.deleteMarker) return item.status === 'present' ? undefined : 'status';
  if (!EXISTS.has(item.status)) return 'status';
  // An item written without HEAD (an SSE-C version) knows no storage class: nothing to compare.
  if (item.storageClass !== undefined && item.storageClass !== (entry.storageClass ?? 'STANDARD'))
    return 'storageClass';
  const differs = <T>(stored: T | undefined, listed: T | undefined) =>
    stored !== undefined && listed !== undefined && stored !== listed;
  return differs(item.size, entry.size) || differs(item.eTag, entry.eTag) ? 'content' : undefined;
}

/**
 * Every drift of one key: each entry against its item, then each item that no entry explains. Items
 * saying deleted/expired/gone for versions the bucket no longer holds are history, not drift.
 */
export function classifyKey(key: string, entries: readonly BucketEntry[], items: readonly MetadataItem[]): Drift[] {
  const byVersion = new Map(items.map((item) => [item.versionId, item]));
  const drifts: Drift[] = [];
  for (const entry of entries) {
    const item = byVersion.get(entry.versionId);
    byVersion.delete(entry.versionId);
    if (!item) {
      drifts.push({ kind: 'missing', key, versionId: entry.versionId, entry });
      continue;
    }
    const reason = staleReason(entry, item);
    if (reason) drifts.push({ kind: 'stale', key, versionId: entry.versionId, reason, entry, item });
  }
  for (const item of byVersion.values()) {
    if (EXISTS.has(item.status)) drifts.push({ kind: 'extra', key, versionId: item.versionId, item });
  }
  return drifts;
}

/** Drift that the bucket or the table may have caused by changing after the listing: looked at again first. */
export const needsSecondLook = (drifts: readonly Drift[]): boolean => drifts.some((d) => d.kind !== 'missing');
