import {
  GetObjectCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { fileTypeFromBuffer } from 'file-type/core';
import { ObjectEvent } from './event';

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

export interface ObjectDescription {
  readonly head: HeadObjectCommandOutput;
  readonly detectedContentType?: string;
}

const CHECKSUMS = ['CRC64NVME', 'CRC32', 'CRC32C', 'SHA256', 'SHA1'] as const;

export const isNotFound = (error: unknown): boolean =>
  error instanceof S3ServiceException &&
  (error.name === 'NotFound' ||
    error.name === 'NoSuchKey' ||
    error.name === 'NoSuchVersion' ||
    error.$metadata?.httpStatusCode === 404);

/**
 * HEAD of the exact version plus a ranged GET of its first bytes, in parallel: one request each,
 * never the whole object. Returns undefined when the object (version) no longer exists.
 */
export async function describeS3Object(
  s3: S3Client,
  event: ObjectEvent,
  sniffBytes: number,
): Promise<ObjectDescription | undefined> {
  const target = { Bucket: event.bucket, Key: event.key, VersionId: event.hasVersionId ? event.versionId : undefined };
  const sniff = event.size === 0 ? Promise.resolve(undefined) : readFirstBytes(s3, target, sniffBytes);
  // Both requests start at once; a failed sniff must not be left unhandled while HEAD is awaited.
  sniff.catch(() => undefined);
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(new HeadObjectCommand({ ...target, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = await sniff;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const detected = bytes && bytes.length > 0 ? await fileTypeFromBuffer(bytes) : undefined;
  return { head, detectedContentType: detected?.mime };
}

async function readFirstBytes(
  s3: S3Client,
  target: { Bucket: string; Key: string; VersionId?: string },
  sniffBytes: number,
): Promise<Uint8Array | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ ...target, Range: `bytes=0-${sniffBytes - 1}` }));
    return response.Body ? await response.Body.transformToByteArray() : undefined;
  } catch (error) {
    // An empty object has no byte 0: S3 answers 416 InvalidRange.
    if (
      error instanceof S3ServiceException &&
      (error.name === 'InvalidRange' || error.$metadata?.httpStatusCode === 416)
    )
      return undefined;
    throw error;
  }
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

const stripQuotes = (eTag: string | undefined) => eTag?.replace(/^"|"$/g, '');

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

function checksumOf(head: HeadObjectCommandOutput): MetadataItem['checksum'] {
  for (const algorithm of CHECKSUMS) {
    const value = head[`Checksum${algorithm}`];
    if (value) return { algorithm, value, type: head.ChecksumType };
  }
  return undefined;
}

const baseItem = (event: ObjectEvent, status: ObjectStatus, processedAt: Date): MetadataItem => ({
  objectKey: event.key,
  versionId: event.versionId,
  bucket: event.bucket,
  key: event.key,
  status,
  eventName: event.eventName,
  eventTime: event.eventTime,
  sequencer: event.sequencer,
  processedAt: processedAt.toISOString(),
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
    eTag: stripQuotes(head.ETag ?? event.eTag),
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
  eTag: stripQuotes(event.eTag),
});
