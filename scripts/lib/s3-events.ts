// Builds the S3 notifications S3 itself would send for an upload or a delete.
import type { S3Event, S3EventRecord } from 'aws-lambda';

/** S3 encodes keys in events like an HTML form: percent-encoding, "+" for spaces, "/" kept. */
export const encodeEventKey = (key: string): string =>
  encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

let counter = 0;
/** Monotonic hex sequencers, the way S3 hands them out for one key. */
export const nextSequencer = (): string =>
  (BigInt(Date.now()) * 4096n + BigInt(counter++ % 4096)).toString(16).toUpperCase();

export interface ObjectEventInput {
  bucket: string;
  key: string;
  eventName?: string;
  versionId?: string;
  size?: number;
  eTag?: string;
  sequencer?: string;
  eventTime?: string;
}

export function s3Record(input: ObjectEventInput): S3EventRecord {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: input.eventTime ?? new Date().toISOString(),
    eventName: input.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:EXAMPLE' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'EXAMPLE', 'x-amz-id-2': 'EXAMPLE' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'extract-metadata',
      bucket: { name: input.bucket, ownerIdentity: { principalId: 'EXAMPLE' }, arn: `arn:aws:s3:::${input.bucket}` },
      object: {
        key: encodeEventKey(input.key),
        size: input.size as number,
        eTag: input.eTag as string,
        versionId: input.versionId,
        sequencer: input.sequencer ?? nextSequencer(),
      },
    },
  };
}

export const s3Event = (...records: S3EventRecord[]): S3Event => ({ Records: records });

/**
 * The record S3 sends for a PutObject: built from the request (bucket, key, size of the body) and
 * S3's answer to it (ETag, version id).
 */
export function putRecord(
  request: { readonly Bucket: string; readonly Key: string; readonly Body: Buffer | string },
  response: { readonly ETag?: string; readonly VersionId?: string },
): S3EventRecord {
  return s3Record({
    bucket: request.Bucket,
    key: request.Key,
    size: Buffer.byteLength(request.Body),
    // S3 quotes the ETag in its HTTP answer, not in event records.
    eTag: response.ETag?.replace(/"/g, ''),
    versionId: response.VersionId,
  });
}
