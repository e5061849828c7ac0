import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { ObjectEvent } from './event';
import { ObjectDescription } from './s3-object';

export type ObjectStatus = 'present' | 'deleted' | 'gone';

/** One DynamoDB item per object version; attribute names are the contract in the README. */
export interface MetadataItem {
  objectKey: string;
  versionId: string;
  bucket: string;
  key: string;
  status: ObjectStatus;
  eventName: string;
  eventTime: string;
  sequencer: string;
  processedAt: string;
  size?: number;
  eTag?: string;
  contentType?: string;
  detectedContentType?: string;
  /** True when the bytes say one type and the Content-Type header another (a .jpg that is an executable). */
  contentTypeMismatch?: boolean;
  lastModified?: string;
  storageClass?: string;
  serverSideEncryption?: string;
  userMetadata?: Record<string, string>;
  userMetadataTruncated?: boolean;
  checksum?: { algorithm: string; value: string; type?: string };
  extension?: string;
}

/** The table's key: partition key objectKey, sort key versionId. */
export type ItemKey = Pick<MetadataItem, 'objectKey' | 'versionId'>;

/** The attributes every write sets, whatever happened to the object: its status and what the event says. */
export type EventAttributes = Pick<
  MetadataItem,
  'status' | 'bucket' | 'key' | 'eventName' | 'eventTime' | 'sequencer' | 'processedAt'
>;

const CHECKSUMS = ['CRC64NVME', 'CRC32', 'CRC32C', 'SHA256', 'SHA1'] as const;

export const itemKey = (event: ObjectEvent): ItemKey => ({ objectKey: event.key, versionId: event.versionId });

export const eventAttributes = (event: ObjectEvent, status: ObjectStatus, processedAt: Date): EventAttributes => ({
  status,
  bucket: event.bucket,
  key: event.key,
  eventName: event.eventName,
  eventTime: event.eventTime,
  sequencer: event.sequencer,
  processedAt: processedAt.toISOString(),
});

/**
 * What a delete writes: the event attributes only, so the metadata stored when the version was
 * created stays and history is never erased.
 */
export const deletedAttributes = (event: ObjectEvent, processedAt: Date): EventAttributes =>
  eventAttributes(event, 'deleted', processedAt);

/** S3 sends ETags quoted in HEAD responses and unquoted in events; items keep them bare. */
export const unquoteETag = (eTag: string | undefined): string | undefined => eTag?.replace(/^"|"$/g, '');

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
 * Keeps user metadata entries in key order until their JSON would pass `maxBytes`; the rest is cut
 * and flagged, so one object with 2 KB of metadata cannot make every write cost 3 WCU.
 */
export function boundUserMetadata(
  metadata: Record<string, string> | undefined,
  maxBytes: number,
): { userMetadata?: Record<string, string>; userMetadataTruncated?: boolean } {
  if (!metadata || Object.keys(metadata).length === 0) return {};
  const kept: Record<string, string> = {};
  let used = 2;
  let truncated = false;
  for (const name of Object.keys(metadata).sort()) {
    const cost = Buffer.byteLength(JSON.stringify(name)) + Buffer.byteLength(JSON.stringify(metadata[name])) + 2;
    if (used + cost > maxBytes) {
      truncated = true;
      continue;
    }
    kept[name] = metadata[name];
    used += cost;
  }
  return {
    userMetadata: Object.keys(kept).length > 0 ? kept : undefined,
    userMetadataTruncated: truncated || undefined,
  };
}

/** The object's additional checksum, which HEAD returns with checksum mode on, if it has one. */
function checksumOf(head: HeadObjectCommandOutput): MetadataItem['checksum'] {
  for (const algorithm of CHECKSUMS) {
    const value = head[`Checksum${algorithm}`];
    if (value) return { algorithm, value, type: head.ChecksumType };
  }
  return undefined;
}

const baseItem = (event: ObjectEvent, status: ObjectStatus, processedAt: Date): MetadataItem => ({
  ...itemKey(event),
  ...eventAttributes(event, status, processedAt),
  extension: extensionOf(event.key),
});

/** The item for an object that exists: metadata from HEAD, detected type from its first bytes. */
export function presentItem(
  event: ObjectEvent,
  description: ObjectDescription,
  processedAt: Date,
  maxUserMetadataBytes: number,
): MetadataItem {
  const { head, detectedContentType } = description;
  const contentType = head.ContentType;
  return {
    ...baseItem(event, 'present', processedAt),
    size: head.ContentLength ?? event.size,
    eTag: unquoteETag(head.ETag ?? event.eTag),
    contentType,
    detectedContentType,
    contentTypeMismatch:
      detectedContentType && contentType
        ? detectedContentType !== contentType.split(';')[0].trim().toLowerCase()
        : undefined,
    lastModified: head.LastModified?.toISOString(),
    // HEAD omits the storage class for STANDARD objects.
    storageClass: head.StorageClass ?? 'STANDARD',
    serverSideEncryption: head.ServerSideEncryption,
    checksum: checksumOf(head),
    ...boundUserMetadata(head.Metadata, maxUserMetadataBytes),
  };
}

/** The item for an object that was deleted before it could be read: what the event says, status gone. */
export const goneItem = (event: ObjectEvent, processedAt: Date): MetadataItem => ({
  ...baseItem(event, 'gone', processedAt),
  size: event.size,
  eTag: unquoteETag(event.eTag),
});
