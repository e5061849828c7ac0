import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { fileTypeFromBuffer } from 'file-type/core';
import { settle } from './concurrency';
import type { VersionRef } from './item';

/**
 * Why a version that exists cannot be read. Each lasts until someone acts (restores the object, grants
 * the key), so it is recorded once and never retried:
 * - archived-storage-class: GLACIER, DEEP_ARCHIVE, or INTELLIGENT_TIERING in an archive tier; GET
 *   answers 403 InvalidObjectState until the object is restored.
 * - sse-c: written with a customer-provided key; HEAD answers a bare 400 and GET 400 InvalidRequest
 *   ("stored using a form of Server Side Encryption") without that key.
 * - kms-access-denied: encrypted with a KMS key the function may not use, or that no longer exists.
 */
export type UnreadableReason = 'archived-storage-class' | 'sse-c' | 'kms-access-denied';

/** One object version as S3 requests address it (no VersionId: the null version of an unversioned object). */
export interface ObjectTarget {
  readonly Bucket: string;
  readonly Key: string;
  readonly VersionId?: string;
}

/** How S3 requests address a version: no VersionId for the null version of an unversioned object. */
export const objectTarget = (version: VersionRef): ObjectTarget => ({
  Bucket: version.bucket,
  Key: version.key,
  VersionId: version.versionId ?? undefined,
});

/** What one read of a version found: readable, there but unreadable (with whatever HEAD gave), or gone. */
export type ObjectRead =
  | {
      readonly state: 'present';
      readonly head: HeadObjectCommandOutput;
      readonly detectedContentType?: string;
      readonly tags?: Record<string, string>;
    }
  | {
      readonly state: 'unreadable';
      readonly reason: UnreadableReason;
      /** Absent when HEAD failed too (SSE-C, and KMS denials where HEAD needs the key). */
      readonly head?: HeadObjectCommandOutput;
      readonly tags?: Record<string, string>;
    }
  | { readonly state: 'gone' }
  /** The version id names a delete marker, which HEAD answers with 405: only a Batch Operations task names one. */
  | { readonly state: 'marker' };

export interface ReadOptions {
  /** Bytes read from the start of the object to detect its type. */
  readonly sniffBytes: number;
  /** Read the version's tags too (one GetObjectTagging, in parallel). */
  readonly readTags: boolean;
  /** The size the event gives: a zero-byte object has nothing to sniff, so no GET is sent. */
  readonly size?: number;
}

const GONE: ObjectRead = { state: 'gone' };
const MARKER: ObjectRead = { state: 'marker' };

export const isNotFound = (error: unknown): boolean =>
  error instanceof S3ServiceException &&
  (error.name === 'NotFound' ||
    error.name === 'NoSuchKey' ||
    error.name === 'NoSuchVersion' ||
    error.$metadata?.httpStatusCode === 404);

/**
 * A refusal that HEAD, which has no body, cannot explain: S3 answers a bare 400 (SSE-C) or 403 (denied),
 * which SDK v3 names "Unknown". The ranged GET's error says why.
 */
const isBareRefusal = (error: unknown): boolean =>
  error instanceof S3ServiceException &&
  (error.$metadata?.httpStatusCode === 400 || error.$metadata?.httpStatusCode === 403);

// What S3 says when the KMS key is the reason: "... is not authorized to perform: kms:Decrypt ...", or
// "The ciphertext refers to a customer master key that does not exist, does not exist in this region,
// or you are not allowed to access."
const KMS_DENIAL = /kms:Decrypt|ciphertext|customer master key|KMS key/i;

/**
 * The permanent reason the ranged GET of a version failed, or undefined when the failure may pass
 * (throttling, 5xx, network, a plain AccessDenied, a disabled KMS key or one pending deletion: both can
 * be undone, so the record fails and is retried). `head` is the version's HEAD when it succeeded.
 */
export function unreadableReason(error: unknown, head?: HeadObjectCommandOutput): UnreadableReason | undefined {
  if (!(error instanceof S3ServiceException)) return undefined;
  switch (error.name) {
    case 'InvalidObjectState':
      return 'archived-storage-class';
    case 'InvalidRequest':
      return /server.side encryption|customer.provided/i.test(error.message) ? 'sse-c' : undefined;
    case 'KMS.AccessDeniedException':
    case 'KMS.NotFoundException':
      return 'kms-access-denied';
    case 'AccessDenied':
      // HEAD and GET need the same S3 permissions; when HEAD of an SSE-KMS version succeeds and GET is
      // denied, only the key (kms:Decrypt) can be missing, whatever the message says.
      return KMS_DENIAL.test(error.message) || head?.ServerSideEncryption?.startsWith('aws:kms')
        ? 'kms-access-denied'
        : undefined;
    default:
      return undefined;
  }
}

/**
 * HEAD of the exact version plus a ranged GET of its first bytes (and its tags when asked), all at once:
 * one request each, never the whole object. A version that cannot be read for a permanent reason is
 * "unreadable" with that reason; a transient failure is thrown, so the record is retried.
 */
export async function readObject(s3: S3Client, target: ObjectTarget, options: ReadOptions): Promise<ObjectRead> {
  const sniffing = options.size === 0 ? undefined : settle(readFirstBytes(s3, target, options.sniffBytes));
  const tagging = options.readTags ? settle(readTags(s3, target)) : undefined;
  const head = await settle(s3.send(new HeadObjectCommand({ ...target, ChecksumMode: 'ENABLED' })));
  if (!head.ok && isNotFound(head.error)) return GONE;
  // "If the specified version in the request is a delete marker, the response returns a 405 Method Not
  // Allowed error" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
  if (!head.ok && head.error instanceof S3ServiceException && head.error.$metadata?.httpStatusCode === 405) {
    return MARKER;
  }
  // A zero-byte object sends no GET; when its HEAD is refused, one GET learns why.
  const sniff =
    (await sniffing) ??
    (!head.ok && isBareRefusal(head.error) ? await settle(readFirstBytes(s3, target, 1)) : undefined);
  if (sniff && !sniff.ok) {
    if (isNotFound(sniff.error)) return GONE;
    const reason = unreadableReason(sniff.error, head.ok ? head.value : undefined);
    if (!reason || (!head.ok && !isBareRefusal(head.error))) throw head.ok ? sniff.error : head.error;
    const tags = tagging ? await tagging : undefined;
    if (tags && !tags.ok && isNotFound(tags.error)) return GONE;
    // Tags are a bonus here: a failure to read them must not keep the unreadable version unrecorded.
    return {
      state: 'unreadable',
      reason,
      head: head.ok ? head.value : undefined,
      tags: tags?.ok ? tags.value : undefined,
    };
  }
  if (!head.ok) throw head.error;
  const tags = tagging ? await tagging : undefined;
  if (tags && !tags.ok) {
    if (isNotFound(tags.error)) return GONE;
    throw tags.error;
  }
  const bytes = sniff?.ok ? sniff.value : undefined;
  const detected = bytes && bytes.length > 0 ? await fileTypeFromBuffer(bytes) : undefined;
  return { state: 'present', head: head.value, detectedContentType: detected?.mime, tags: tags?.value };
}

/** The version's tags, as a map (GetObjectTagging). */
export async function readTags(s3: S3Client, target: ObjectTarget): Promise<Record<string, string>> {
  const { TagSet = [] } = await s3.send(new GetObjectTaggingCommand(target));
  return Object.fromEntries(TagSet.flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? '']])));
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
