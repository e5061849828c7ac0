import { InvalidEventError, InvalidRecordError, RecordFailure } from './errors';
import { isSequencer, normalizeSequencer } from './sequencer';

/** Sort-key value for objects in a bucket that never had versioning (S3's own name for that version). */
export const NULL_VERSION = 'null';

export interface ObjectEvent {
  readonly index: number;
  readonly kind: 'created' | 'removed';
  readonly bucket: string;
  /** The decoded object key. */
  readonly key: string;
  /** Whether the event named a version id (if not, S3 calls are made without one). */
  readonly hasVersionId: boolean;
  readonly versionId: string;
  readonly eventName: string;
  readonly eventTime: string;
  /** Normalized (upper-case, right-padded) for ordered comparison. */
  readonly sequencer: string;
  readonly size?: number;
  readonly eTag?: string;
}

export interface ParsedEvent {
  readonly records: ObjectEvent[];
  readonly invalid: RecordFailure[];
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MAX_KEY_BYTES = 1024;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * S3 URL-encodes keys in events, with "+" for spaces: "+" must become a space before percent-decoding,
 * so that a literal "+" (sent as %2B) survives.
 */
export function decodeS3Key(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new InvalidRecordError(`s3.object.key "${raw.slice(0, 100)}" is not valid URL encoding`);
  }
}

/** Validates one record; throws InvalidRecordError naming the first field that is wrong. */
export function parseRecord(record: unknown, index: number): ObjectEvent {
  if (!isObject(record)) throw new InvalidRecordError('record is not an object');
  if (record.eventSource !== 'aws:s3') {
    throw new InvalidRecordError(`eventSource is ${JSON.stringify(record.eventSource)}, expected "aws:s3"`);
  }
  const eventName = record.eventName;
  if (typeof eventName !== 'string' || !/^Object(Created|Removed):\w+$/.test(eventName)) {
    throw new InvalidRecordError(
      `eventName ${JSON.stringify(eventName)} is not an ObjectCreated or ObjectRemoved event`,
    );
  }
  const eventTime = record.eventTime;
  if (typeof eventTime !== 'string' || Number.isNaN(Date.parse(eventTime))) {
    throw new InvalidRecordError(`eventTime ${JSON.stringify(eventTime)} is not an ISO-8601 time`);
  }
  const s3 = record.s3;
  if (!isObject(s3) || !isObject(s3.bucket) || !isObject(s3.object)) {
    throw new InvalidRecordError('s3.bucket or s3.object is missing');
  }
  const bucket = s3.bucket.name;
  if (typeof bucket !== 'string' || !BUCKET.test(bucket)) {
    throw new InvalidRecordError(`s3.bucket.name ${JSON.stringify(bucket)} is not a bucket name`);
  }
  const object = s3.object;
  if (typeof object.key !== 'string' || object.key === '') {
    throw new InvalidRecordError('s3.object.key is missing or empty');
  }
  const key = decodeS3Key(object.key);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new InvalidRecordError(
      `s3.object.key is ${Buffer.byteLength(key)} bytes, S3 keys are at most ${MAX_KEY_BYTES}`,
    );
  }
  if (!isSequencer(object.sequencer)) {
    throw new InvalidRecordError(
      `s3.object.sequencer ${JSON.stringify(object.sequencer)} is not a hex string of 1 to 32 digits`,
    );
  }
  const versionId = object.versionId;
  if (
    versionId !== undefined &&
    versionId !== null &&
    (typeof versionId !== 'string' || versionId === '' || versionId.length > 1024)
  ) {
    throw new InvalidRecordError(`s3.object.versionId ${JSON.stringify(versionId)} is not a version id`);
  }
  const size = object.size;
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
    throw new InvalidRecordError(`s3.object.size ${JSON.stringify(size)} is not a byte count`);
  }
  const eTag = typeof object.eTag === 'string' ? object.eTag : undefined;
  return {
    index,
    kind: eventName.startsWith('ObjectCreated') ? 'created' : 'removed',
    bucket,
    key,
    hasVersionId: typeof versionId === 'string',
    versionId: typeof versionId === 'string' ? versionId : NULL_VERSION,
    eventName,
    eventTime: new Date(eventTime).toISOString(),
    sequencer: normalizeSequencer(object.sequencer),
    size,
    eTag,
  };
}

/**
 * Splits an S3 notification into valid records and named failures. Anything that is not an S3
 * notification at all is rejected as a whole with InvalidEventError.
 */
export function parseS3Event(event: unknown): ParsedEvent {
  if (!isObject(event)) {
    throw new InvalidEventError(
      `expected an S3 notification object, got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`,
    );
  }
  if (event.Event === 's3:TestEvent') {
    throw new InvalidEventError(
      's3:TestEvent received: S3 sends it to check a new notification configuration; it has no object to process',
    );
  }
  if (!('Records' in event)) {
    const keys = Object.keys(event).slice(0, 10).join(', ') || 'none';
    throw new InvalidEventError(`not an S3 notification: no Records array (top-level keys: ${keys})`);
  }
  if (!Array.isArray(event.Records) || event.Records.length === 0) {
    throw new InvalidEventError('not an S3 notification: Records must be a non-empty array');
  }
  const records: ObjectEvent[] = [];
  const invalid: RecordFailure[] = [];
  event.Records.forEach((record: unknown, index: number) => {
    try {
      records.push(parseRecord(record, index));
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      invalid.push({ index, record: describeRawRecord(record, index), reason: `${error.name}: ${error.message}` });
    }
  });
  return { records, invalid };
}

/** "bucket/key" of a record as far as it can be read, for failure messages. */
function describeRawRecord(record: unknown, index: number): string {
  const s3 = isObject(record) && isObject(record.s3) ? record.s3 : undefined;
  const bucket = s3 && isObject(s3.bucket) && typeof s3.bucket.name === 'string' ? s3.bucket.name : undefined;
  const key = s3 && isObject(s3.object) && typeof s3.object.key === 'string' ? s3.object.key : undefined;
  return bucket && key ? `${bucket}/${key.slice(0, 200)}` : `record ${index}`;
}

/** "bucket/key@version", the name a record goes by in logs and errors. */
export const describeObject = (r: Pick<ObjectEvent, 'bucket' | 'key' | 'versionId'>): string =>
  `${r.bucket}/${r.key}@${r.versionId}`;
