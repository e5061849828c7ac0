// The item contract: one DynamoDB item per object version, and the pure functions that build it. The
// handler and the operator CLI (tap reconcile) build items only through these, so items have one shape.
//
// For the CLI:
// - readVersionItem (read-version.ts) reads a version into its item the way a create event does.
// - deleteMarkerItem(version, cause, processedAt, lastModified?) is the item of a delete marker, from an
//   event or from a ListObjectVersions entry.
// - A Cause stands in for the event: { eventName: 'tap:Reconcile', eventTime, sequencer: LOWEST_SEQUENCER }
//   makes an item any real event for the same version replaces.
// - itemKey(version) is the table key of a version (versionId null: "null").
import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { LIMITS, Limits } from './env';
import { NULL_VERSION } from './event';
import type { ObjectRead, UnreadableReason } from './s3-object';
import { normalizeSequencer } from './sequencer';

/**
 * - present: the version exists and was read (a delete marker's item too, while the marker exists).
 * - unreadable: it exists but cannot be read (unreadableReason says why); what HEAD gave is kept.
 * - deleted: a request removed it (ObjectRemoved:Delete of that version).
 * - expired: a lifecycle rule removed it (LifecycleExpiration:Delete).
 * - gone: it was removed before it could be read (HEAD found nothing); what the event said is kept.
 */
export type ObjectStatus = 'present' | 'unreadable' | 'deleted' | 'expired' | 'gone';

/** One DynamoDB item per object version; attribute names are the contract in docs/item-contract.md. */
export interface MetadataItem {
  objectKey: string;
  versionId: string;
  bucket: string;
  key: string;
  status: ObjectStatus;
  /** The last event that created or removed the version (or what stood in for it), and who sent it. */
  eventName: string;
  eventTime: string;
  sequencer: string;
  requester?: string;
  sourceIp?: string;
  requestId?: string;
  processedAt: string;
  unreadableReason?: UnreadableReason;
  /** The version is a delete marker: it has no content, only a place in the key's history. */
  deleteMarker?: boolean;
  size?: number;
  eTag?: string;
  /** Uploaded in parts: the ETag ends in "-<partCount>". */
  multipart?: boolean;
  partCount?: number;
  contentType?: string;
  detectedContentType?: string;
  /** True when the bytes say one type and the Content-Type header another (a .jpg that is an executable). */
  contentTypeMismatch?: boolean;
  lastModified?: string;
  storageClass?: string;
  /** INTELLIGENT_TIERING objects in an archive tier: ARCHIVE_ACCESS or DEEP_ARCHIVE_ACCESS. */
  archiveTier?: string;
  /** Until when a restored copy of an archived version can be read. */
  restoredUntil?: string;
  /** When storageClass (and archiveTier) were last known: orders transitions and restores per version. */
  storageClassAsOf?: string;
  serverSideEncryption?: string;
  kmsKeyArn?: string;
  bucketKeyEnabled?: boolean;
  userMetadata?: Record<string, string>;
  userMetadataTruncated?: boolean;
  /** With RECORD_OBJECT_TAGS only. */
  tags?: Record<string, string>;
  tagsTruncated?: boolean;
  /** When tags were last known: orders tagging events per version. */
  tagsAsOf?: string;
  checksum?: { algorithm: string; value: string; type?: string };
  extension?: string;
}

/** The table's key: partition key objectKey, sort key versionId. */
export type ItemKey = Pick<MetadataItem, 'objectKey' | 'versionId'>;

/** The version an item describes. versionId null: an unversioned object (sort key "null", no VersionId in requests). */
export interface VersionRef {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | null;
}

/** What caused a write: an S3 event, or the values that stand in for one (the operator's reconcile). */
export interface Cause {
  /** S3's event name without "s3:" (ObjectCreated:Put), or the stand-in's (tap:Reconcile). */
  readonly eventName: string;
  /** ISO-8601. */
  readonly eventTime: string;
  /** Hex; normalized here. LOWEST_SEQUENCER makes an item any event for the same version replaces. */
  readonly sequencer: string;
  readonly requester?: string;
  readonly sourceIp?: string;
  readonly requestId?: string;
  /** What the event says about the version: kept when it cannot be read. */
  readonly size?: number;
  readonly eTag?: string;
}

/** The attributes a removal writes: what happened and who did it, nothing about the content. */
export type EventAttributes = Pick<
  MetadataItem,
  | 'status'
  | 'bucket'
  | 'key'
  | 'eventName'
  | 'eventTime'
  | 'sequencer'
  | 'requester'
  | 'sourceIp'
  | 'requestId'
  | 'processedAt'
>;

/** The bounds an item is built with: fixed LIMITS, or others for a test. */
export type ItemBounds = Pick<Limits, 'maxUserMetadataBytes' | 'maxTagBytes' | 'maxTextBytes'>;

const CHECKSUMS = ['CRC64NVME', 'CRC32', 'CRC32C', 'SHA256', 'SHA1'] as const;

export const itemKey = (version: Pick<VersionRef, 'key' | 'versionId'>): ItemKey => ({
  objectKey: version.key,
  versionId: version.versionId ?? NULL_VERSION,
});

/** The first `maxBytes` bytes of a free-text value, never splitting a character. */
export function boundText(value: string | undefined, maxBytes: number): string | undefined {
  if (value === undefined || Buffer.byteLength(value) <= maxBytes) return value;
  let cut = '';
  for (const char of value) {
    if (Buffer.byteLength(cut + char) > maxBytes) break;
    cut += char;
  }
  return cut;
}

export function eventAttributes(
  version: VersionRef,
  cause: Cause,
  status: ObjectStatus,
  processedAt: Date,
  bounds: ItemBounds = LIMITS,
): EventAttributes {
  return {
    status,
    bucket: version.bucket,
    key: version.key,
    eventName: cause.eventName,
    eventTime: cause.eventTime,
    sequencer: normalizeSequencer(cause.sequencer),
    requester: boundText(cause.requester, bounds.maxTextBytes),
    sourceIp: boundText(cause.sourceIp, bounds.maxTextBytes),
    requestId: boundText(cause.requestId, bounds.maxTextBytes),
    processedAt: processedAt.toISOString(),
  };
}

/** S3 sends ETags quoted in HEAD responses and unquoted in events; items keep them bare. */
export const unquoteETag = (eTag: string | undefined): string | undefined => eTag?.replace(/^"|"$/g, '');

/** A multipart upload's ETag ends in "-<number of parts>"; any other is a single part's. */
export function multipartOf(eTag: string | undefined): Pick<MetadataItem, 'multipart' | 'partCount'> {
  if (eTag === undefined) return {};
  const parts = /-(\d+)$/.exec(eTag);
  return parts ? { multipart: true, partCount: Number(parts[1]) } : { multipart: false };
}

/** Lower-case extension of the key's last path segment, without the dot. */
export function extensionOf(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1
    ? name
        .slice(dot + 1)
        .toLowerCase()
        .slice(0, 16)
    : undefined;
}

/**
 * Keeps entries in key order until their JSON would pass `maxBytes`; the rest is cut and flagged, so
 * one object with 2 KB of metadata or tags cannot make every write cost 3 WCU.
 */
export function boundMap(
  map: Record<string, string> | undefined,
  maxBytes: number,
): { kept?: Record<string, string>; truncated?: boolean } {
  if (!map || Object.keys(map).length === 0) return {};
  const kept: Record<string, string> = {};
  let used = 2;
  let truncated = false;
  for (const name of Object.keys(map).sort()) {
    const cost = Buffer.byteLength(JSON.stringify(name)) + Buffer.byteLength(JSON.stringify(map[name])) + 2;
    if (used + cost > maxBytes) {
      truncated = true;
      continue;
    }
    kept[name] = map[name];
    used += cost;
  }
  return { kept: Object.keys(kept).length > 0 ? kept : undefined, truncated: truncated || undefined };
}

export function boundUserMetadata(
  metadata: Record<string, string> | undefined,
  maxBytes: number,
): Pick<MetadataItem, 'userMetadata' | 'userMetadataTruncated'> {
  const { kept, truncated } = boundMap(metadata, maxBytes);
  return { userMetadata: kept, userMetadataTruncated: truncated };
}

/** The tag attributes of an item: the tags as of `asOf`, bounded. An empty tag set is recorded as none. */
export function tagAttributes(
  tags: Record<string, string>,
  asOf: string,
  bounds: ItemBounds = LIMITS,
): Pick<MetadataItem, 'tags' | 'tagsTruncated' | 'tagsAsOf'> {
  const { kept, truncated } = boundMap(tags, bounds.maxTagBytes);
  return { tags: kept, tagsTruncated: truncated, tagsAsOf: asOf };
}

/** The object's additional checksum, which HEAD returns with checksum mode on, if it has one. */
function checksumOf(head: HeadObjectCommandOutput): MetadataItem['checksum'] {
  for (const algorithm of CHECKSUMS) {
    const value = head[`Checksum${algorithm}`];
    if (value) return { algorithm, value, type: head.ChecksumType };
  }
  return undefined;
}

/** expiry-date of HEAD's x-amz-restore ('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'). */
function restoredUntilOf(restore: string | undefined): string | undefined {
  const expiry = restore && /expiry-date="([^"]+)"/.exec(restore)?.[1];
  return expiry && !Number.isNaN(Date.parse(expiry)) ? new Date(expiry).toISOString() : undefined;
}

/** What the event says about a version's content, for an item written without HEAD. */
function causeContent(cause: Cause): Pick<MetadataItem, 'size' | 'eTag' | 'multipart' | 'partCount'> {
  const eTag = unquoteETag(cause.eTag);
  return { size: cause.size, eTag, ...multipartOf(eTag) };
}

/** What HEAD says about a version, for its item. */
function headAttributes(head: HeadObjectCommandOutput, cause: Cause, asOf: string, bounds: ItemBounds) {
  const eTag = unquoteETag(head.ETag ?? cause.eTag);
  return {
    size: head.ContentLength ?? cause.size,
    eTag,
    ...multipartOf(eTag),
    contentType: boundText(head.ContentType, bounds.maxTextBytes),
    lastModified: head.LastModified?.toISOString(),
    // HEAD omits the storage class for STANDARD objects.
    storageClass: head.StorageClass ?? 'STANDARD',
    archiveTier: head.ArchiveStatus,
    restoredUntil: restoredUntilOf(head.Restore),
    storageClassAsOf: asOf,
    serverSideEncryption: head.ServerSideEncryption,
    kmsKeyArn: head.SSEKMSKeyId,
    bucketKeyEnabled: head.BucketKeyEnabled,
    checksum: checksumOf(head),
    ...boundUserMetadata(head.Metadata, bounds.maxUserMetadataBytes),
  };
}

/**
 * The item of a version that exists: present with its detected type, or unreadable with its reason and
 * whatever HEAD gave (without HEAD, what the event says).
 */
export function readItem(
  version: VersionRef,
  cause: Cause,
  read: Extract<ObjectRead, { state: 'present' | 'unreadable' }>,
  processedAt: Date,
  bounds: ItemBounds = LIMITS,
): MetadataItem {
  const asOf = processedAt.toISOString();
  const tags = read.tags ? tagAttributes(read.tags, asOf, bounds) : {};
  if (read.state === 'unreadable') {
    return {
      ...baseItem(version, cause, 'unreadable', processedAt, bounds),
      unreadableReason: read.reason,
      ...(read.head ? headAttributes(read.head, cause, asOf, bounds) : causeContent(cause)),
      ...tags,
    };
  }
  const { head, detectedContentType } = read;
  const contentType = head.ContentType;
  return {
    ...baseItem(version, cause, 'present', processedAt, bounds),
    ...headAttributes(head, cause, asOf, bounds),
    detectedContentType,
    contentTypeMismatch:
      detectedContentType && contentType
        ? detectedContentType !== contentType.split(';')[0].trim().toLowerCase()
        : undefined,
    ...tags,
  };
}

const baseItem = (
  version: VersionRef,
  cause: Cause,
  status: ObjectStatus,
  processedAt: Date,
  bounds: ItemBounds,
): MetadataItem => ({
  ...itemKey(version),
  ...eventAttributes(version, cause, status, processedAt, bounds),
  extension: extensionOf(version.key),
});

/** The item of a version that was removed before it could be read: what the event says, status gone. */
export function goneItem(
  version: VersionRef,
  cause: Cause,
  processedAt: Date,
  bounds: ItemBounds = LIMITS,
): MetadataItem {
  return { ...baseItem(version, cause, 'gone', processedAt, bounds), ...causeContent(cause) };
}

/**
 * The item of a delete marker (its own version id): present while the marker exists, and saying it is
 * one. lastModified: the marker's creation time, which a listing gives and an event does not.
 */
export const deleteMarkerItem = (
  version: VersionRef,
  cause: Cause,
  processedAt: Date,
  lastModified?: Date,
  bounds: ItemBounds = LIMITS,
): MetadataItem => ({
  ...baseItem(version, cause, 'present', processedAt, bounds),
  deleteMarker: true,
  lastModified: lastModified?.toISOString(),
});

/**
 * What a removal writes: the event attributes only, so the metadata stored when the version was
 * created stays and history is never erased.
 */
export const removedAttributes = (
  version: VersionRef,
  cause: Cause,
  status: 'deleted' | 'expired',
  processedAt: Date,
  bounds: ItemBounds = LIMITS,
): EventAttributes => eventAttributes(version, cause, status, processedAt, bounds);
