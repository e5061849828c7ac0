import { InvalidEventError, InvalidRecordError, RecordFailure } from './errors';
import { isSequencer, LOWEST_SEQUENCER, normalizeSequencer } from './sequencer';

/** Sort-key value for objects in a bucket that never had versioning (S3's own name for that version). */
export const NULL_VERSION = 'null';

/** What an event does to the version it names; each kind is recorded one way (see process.ts). */
export type EventKind =
  /** ObjectCreated:*: the version exists; read it. */
  | 'created'
  /** ObjectRemoved:Delete: a request removed the version. */
  | 'deleted'
  /** LifecycleExpiration:Delete: a lifecycle rule removed the version. */
  | 'expired'
  /** ObjectRemoved:DeleteMarkerCreated, LifecycleExpiration:DeleteMarkerCreated: the event's version is a new delete marker. */
  | 'marker'
  /** LifecycleTransition, IntelligentTiering: the version moved to another storage class or archive tier. */
  | 'storageClass'
  /** ObjectRestore:Completed: an archived version can be read (until its restored copy expires). */
  | 'restored'
  /** ObjectTagging:Put, ObjectTagging:Delete: the version's tags changed. */
  | 'tags';

/** S3's event names (without the "s3:" prefix) for every kind but created, which is any ObjectCreated:*. */
const EVENT_KINDS: Readonly<Record<string, EventKind>> = {
  'ObjectRemoved:Delete': 'deleted',
  'ObjectRemoved:DeleteMarkerCreated': 'marker',
  'LifecycleExpiration:Delete': 'expired',
  'LifecycleExpiration:DeleteMarkerCreated': 'marker',
  LifecycleTransition: 'storageClass',
  IntelligentTiering: 'storageClass',
  'ObjectRestore:Completed': 'restored',
  'ObjectTagging:Put': 'tags',
  'ObjectTagging:Delete': 'tags',
};

/** The kind of an event name, or undefined for events this function does not record. */
export const eventKindOf = (eventName: string): EventKind | undefined =>
  Object.hasOwn(EVENT_KINDS, eventName)
    ? EVENT_KINDS[eventName]
    : /^ObjectCreated:\w+$/.test(eventName)
      ? 'created'
      : undefined;

/**
 * S3 documents a sequencer for the events that create and delete objects only; the others are
 * ordered per version by their event time (see store.ts).
 */
const SEQUENCED_KINDS: ReadonlySet<EventKind> = new Set(['created', 'deleted', 'expired', 'marker']);

export interface ObjectEvent {
  readonly index: number;
  readonly kind: EventKind;
  readonly bucket: string;
  /** The decoded object key. */
  readonly key: string;
  /** Whether the event named a version id (if not, S3 calls are made without one). */
  readonly hasVersionId: boolean;
  readonly versionId: string;
  readonly eventName: string;
  readonly eventTime: string;
  /**
   * Normalized (upper-case, right-padded) for ordered comparison. LOWEST_SEQUENCER for the kinds S3
   * gives no sequencer (storageClass, restored, tags): an item they write is replaced by any real event.
   */
  readonly sequencer: string;
  readonly size?: number;
  readonly eTag?: string;
  /** userIdentity.principalId: who caused the event ("s3.amazonaws.com" for lifecycle rules). */
  readonly requester?: string;
  /** requestParameters.sourceIPAddress. */
  readonly sourceIp?: string;
  /** responseElements["x-amz-request-id"]: S3's id of the request, for AWS Support. */
  readonly requestId?: string;
  /** storageClass events: lifecycleEventData.transitionEventData.destinationStorageClass, or INTELLIGENT_TIERING. */
  readonly storageClass?: string;
  /** IntelligentTiering: intelligentTieringEventData.destinationAccessTier (ARCHIVE_ACCESS, DEEP_ARCHIVE_ACCESS). */
  readonly archiveTier?: string;
  /** ObjectRestore:Completed: glacierEventData.restoreEventData.lifecycleRestorationExpiryTime. */
  readonly restoredUntil?: string;
}

export interface ParsedEvent {
  readonly records: ObjectEvent[];
  readonly invalid: RecordFailure[];
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MAX_KEY_BYTES = 1024;

/** A JSON object: not null, not an array. */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What a value that is not an object is, for messages: null, an array, or its typeof. */
export const describeType = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;

/**
 * S3 URL-encodes keys in events, with "+" for spaces: "+" must become a space before percent-decoding,
 * so that a literal "+" (sent as %2B) survives.
 */
export function decodeS3Key(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch (error) {
    throw new InvalidRecordError(`s3.object.key "${raw.slice(0, 100)}" is not valid URL encoding`, { cause: error });
  }
}

/** Validates one record; throws InvalidRecordError naming the first field that is wrong. */
export function parseRecord(record: unknown, index: number): ObjectEvent {
  if (!isObject(record)) throw new InvalidRecordError('record is not an object');
  if (record.eventSource !== 'aws:s3') {
    throw new InvalidRecordError(`eventSource is ${JSON.stringify(record.eventSource)}, expected "aws:s3"`);
  }
  const eventName = record.eventName;
  const kind = typeof eventName === 'string' ? eventKindOf(eventName) : undefined;
  if (typeof eventName !== 'string' || !kind) {
    throw new InvalidRecordError(
      `eventName ${JSON.stringify(eventName)} is not an event this function records (ObjectCreated:*, ObjectRemoved:*, ` +
        'LifecycleExpiration:*, LifecycleTransition, IntelligentTiering, ObjectRestore:Completed, ObjectTagging:*)',
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
  const sequenced = SEQUENCED_KINDS.has(kind);
  if (sequenced && !isSequencer(object.sequencer)) {
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
  return {
    index,
    kind,
    bucket,
    key,
    hasVersionId: typeof versionId === 'string',
    versionId: typeof versionId === 'string' ? versionId : NULL_VERSION,
    eventName,
    eventTime: new Date(eventTime).toISOString(),
    sequencer: sequenced ? normalizeSequencer(object.sequencer as string) : LOWEST_SEQUENCER,
    size,
    eTag: stringAt(object, 'eTag'),
    requester: stringAt(record.userIdentity, 'principalId'),
    sourceIp: stringAt(record.requestParameters, 'sourceIPAddress'),
    requestId: stringAt(record.responseElements, 'x-amz-request-id'),
    ...(kind === 'storageClass' ? storageClassChange(record, eventName) : {}),
    ...(kind === 'restored' ? restoreData(record) : {}),
  };
}

/** The string at object[name], if object is an object and the value a non-empty string. */
const stringAt = (object: unknown, name: string): string | undefined =>
  isObject(object) && typeof object[name] === 'string' && object[name] !== '' ? object[name] : undefined;

/** Where a LifecycleTransition or IntelligentTiering event moved the version; both name it, or the record is malformed. */
function storageClassChange(
  record: Record<string, unknown>,
  eventName: string,
): Pick<ObjectEvent, 'storageClass' | 'archiveTier'> {
  if (eventName === 'IntelligentTiering') {
    const tier = stringAt(record.intelligentTieringEventData, 'destinationAccessTier');
    if (!tier) throw new InvalidRecordError('intelligentTieringEventData.destinationAccessTier is missing');
    return { storageClass: 'INTELLIGENT_TIERING', archiveTier: tier };
  }
  const lifecycle = isObject(record.lifecycleEventData) ? record.lifecycleEventData : undefined;
  const storageClass = stringAt(lifecycle?.transitionEventData, 'destinationStorageClass');
  if (!storageClass) {
    throw new InvalidRecordError('lifecycleEventData.transitionEventData.destinationStorageClass is missing');
  }
  return { storageClass };
}

/** Until when a restored copy can be read, if the restore event says so. */
function restoreData(record: Record<string, unknown>): Pick<ObjectEvent, 'restoredUntil'> {
  const glacier = isObject(record.glacierEventData) ? record.glacierEventData : undefined;
  const expiry = stringAt(glacier?.restoreEventData, 'lifecycleRestorationExpiryTime');
  return expiry && !Number.isNaN(Date.parse(expiry)) ? { restoredUntil: new Date(expiry).toISOString() } : {};
}

/**
 * Splits an S3 notification into valid records and named failures. Anything that is not an S3
 * notification at all is rejected as a whole with InvalidEventError.
 */
export function parseS3Event(event: unknown): ParsedEvent {
  if (!isObject(event)) {
    throw new InvalidEventError(`expected an S3 notification object, got ${describeType(event)}`);
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
