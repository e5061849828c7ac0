import {
  GetObjectCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { fileTypeFromBuffer } from 'file-type/core';
import { ObjectEvent } from './event';

/** What S3 says about one object version, and the type its first bytes show. */
export interface ObjectDescription {
  readonly head: HeadObjectCommandOutput;
  readonly detectedContentType?: string;
}

interface ObjectTarget {
  readonly Bucket: string;
  readonly Key: string;
  readonly VersionId?: string;
}

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
export async function headAndSniff(
  s3: S3Client,
  event: ObjectEvent,
  sniffBytes: number,
): Promise<ObjectDescription | undefined> {
  const target: ObjectTarget = {
    Bucket: event.bucket,
    Key: event.key,
    VersionId: event.hasVersionId ? event.versionId : undefined,
  };
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

async function readFirstBytes(s3: S3Client, target: ObjectTarget, sniffBytes: number): Promise<Uint8Array | undefined> {
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
