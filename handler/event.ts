import { InvalidEventError, InvalidRecordError, RecordFailure } from './errors';
import { isSequencer, LOWEST_SEQUENCER, normalizeSequencer } from './sequencer';

/** Sort-key value for objects in a bucket that never had versioning (S3's own name for that version). */
export const NULL_VERSION = 'null';

/** What an event does to the version it names; each kind is recorded one way (see records.ts). */
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
  | 'tags'
  /** tap:Reprocess, a Batch Operations task (batch.ts): re-read the version into its stored item. */
  | 'reprocess';

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
  /** EventBridge events of a detail type the stack does not subscribe to: logged and counted, never retried. */
  readonly skipped: RecordFailure[];
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
 * so that a literal "+" (sent as %2B) survives. "The object key name value is URL encoded":
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html. For
 * EventBridge, S3's page (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) shows
 * detail.object.key without naming an encoding; S3 encodes it the same way, and AWS's own Powertools for
 * Python decodes it with unquote_plus, as this does (S3EventBridgeNotificationObject.key). A key sent
 * as it is (moto's) decodes to itself unless it holds "+" or "%".
 */
export function decodeS3Key(raw: string, field = 's3.object.key'): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch (error) {
    throw new InvalidRecordError(`${field} "${raw.slice(0, 100)}" is not valid URL encoding`, { cause: error });
  }
}

/**
 * The object part of an event (a notification's s3.object, an EventBridge event's detail.object),
 * checked the same way for both; `at` names it in errors.
 */
function objectFields(
  object: Record<string, unknown>,
  kind: EventKind,
  at: string,
  versionIdName: string,
): Pick<ObjectEvent, 'key' | 'hasVersionId' | 'versionId' | 'sequencer' | 'size'> {
  const key = checkKey(object.key, `${at}.key`);
  const sequenced = SEQUENCED_KINDS.has(kind);
  if (sequenced && !isSequencer(object.sequencer)) {
    throw new InvalidRecordError(
      `${at}.sequencer ${JSON.stringify(object.sequencer)} is not a hex string of 1 to 32 digits`,
    );
  }
  const size = object.size;
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
    throw new InvalidRecordError(`${at}.size ${JSON.stringify(size)} is not a byte count`);
  }
  return {
    key,
    ...checkVersionId(object[versionIdName], `${at}.${versionIdName}`),
    sequencer: sequenced ? normalizeSequencer(object.sequencer as string) : LOWEST_SEQUENCER,
    size,
  };
}

/** The decoded key of an event or task (`field` names it in errors): URL-encoded as S3 sends it, at most 1,024 bytes. */
export function checkKey(raw: unknown, field: string): string {
  if (typeof raw !== 'string' || raw === '') throw new InvalidRecordError(`${field} is missing or empty`);
  const key = decodeS3Key(raw, field);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new InvalidRecordError(`${field} is ${Buffer.byteLength(key)} bytes, S3 keys are at most ${MAX_KEY_BYTES}`);
  }
  return key;
}

/** The version an event or task names: a version id, or none (absent or null: the null version). */
export function checkVersionId(value: unknown, field: string): Pick<ObjectEvent, 'hasVersionId' | 'versionId'> {
  if (value === undefined || value === null) return { hasVersionId: false, versionId: NULL_VERSION };
  if (typeof value !== 'string' || value === '' || value.length > 1024) {
    throw new InvalidRecordError(`${field} ${JSON.stringify(value)} is not a version id`);
  }
  return { hasVersionId: true, versionId: value };
}

/**
 * Validates one record; throws InvalidRecordError naming the first field that is wrong, or the bucket
 * when it is not `bucketName`.
 */
export function parseRecord(record: unknown, index: number, bucketName?: string): ObjectEvent {
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
  const bucket = checkBucket(s3.bucket.name, 's3.bucket.name', bucketName);
  return {
    index,
    kind,
    bucket,
    ...objectFields(s3.object, kind, 's3.object', 'versionId'),
    eventName,
    eventTime: new Date(eventTime).toISOString(),
    eTag: stringAt(s3.object, 'eTag'),
    requester: stringAt(record.userIdentity, 'principalId'),
    sourceIp: stringAt(record.requestParameters, 'sourceIPAddress'),
    requestId: stringAt(record.responseElements, 'x-amz-request-id'),
    ...(kind === 'storageClass' ? notifiedStorageClass(record, eventName) : {}),
    ...(kind === 'restored'
      ? restoredUntil(stringAt(glacier(record)?.restoreEventData, 'lifecycleRestorationExpiryTime'))
      : {}),
  };
}

/** The bucket an event or task names, if it is a bucket name and, given `expected`, that bucket. */
export function checkBucket(name: unknown, field: string, expected: string | undefined): string {
  if (typeof name !== 'string' || !BUCKET.test(name)) {
    throw new InvalidRecordError(`${field} ${JSON.stringify(name)} is not a bucket name`);
  }
  if (expected !== undefined && name !== expected) {
    throw new InvalidRecordError(`${field} "${name}" is not this function's bucket "${expected}" (BUCKET_NAME)`);
  }
  return name;
}

/** The string at object[name], if object is an object and the value a non-empty string. */
const stringAt = (object: unknown, name: string): string | undefined =>
  isObject(object) && typeof object[name] === 'string' && object[name] !== '' ? object[name] : undefined;

const glacier = (record: Record<string, unknown>) =>
  isObject(record.glacierEventData) ? record.glacierEventData : undefined;

/** Where a notified LifecycleTransition or IntelligentTiering moved the version. */
function notifiedStorageClass(record: Record<string, unknown>, eventName: string) {
  const lifecycle = isObject(record.lifecycleEventData) ? record.lifecycleEventData : undefined;
  return storageClassChange(
    eventName,
    [
      'intelligentTieringEventData.destinationAccessTier',
      stringAt(record.intelligentTieringEventData, 'destinationAccessTier'),
    ],
    [
      'lifecycleEventData.transitionEventData.destinationStorageClass',
      stringAt(lifecycle?.transitionEventData, 'destinationStorageClass'),
    ],
  );
}

/** Where a LifecycleTransition or IntelligentTiering event moved the version; both name it, or the event is malformed. */
function storageClassChange(
  eventName: string,
  [tierField, tier]: [string, string | undefined],
  [classField, storageClass]: [string, string | undefined],
): Pick<ObjectEvent, 'storageClass' | 'archiveTier'> {
  if (eventName === 'IntelligentTiering') {
    if (!tier) throw new InvalidRecordError(`${tierField} is missing`);
    return { storageClass: 'INTELLIGENT_TIERING', archiveTier: tier };
  }
  if (!storageClass) throw new InvalidRecordError(`${classField} is missing`);
  return { storageClass };
}

/** Until when a restored copy can be read, if the restore event says so. */
const restoredUntil = (expiry: string | undefined): Pick<ObjectEvent, 'restoredUntil'> =>
  expiry && !Number.isNaN(Date.parse(expiry)) ? { restoredUntil: new Date(expiry).toISOString() } : {};

/** The suffix of S3's event name for each Object Created reason (the API that created the object). */
const CREATED_REASONS: Readonly<Record<string, string>> = {
  PutObject: 'Put',
  'POST Object': 'Post',
  CopyObject: 'Copy',
  CompleteMultipartUpload: 'CompleteMultipartUpload',
};

/** The S3 event name of the EventBridge detail types that need nothing from the detail to name one. */
const BRIDGE_EVENT_NAMES: Readonly<Record<string, string>> = {
  'Object Restore Completed': 'ObjectRestore:Completed',
  'Object Storage Class Changed': 'LifecycleTransition',
  'Object Access Tier Changed': 'IntelligentTiering',
  'Object Tags Added': 'ObjectTagging:Put',
  'Object Tags Deleted': 'ObjectTagging:Delete',
};

/**
 * The S3 event name an EventBridge event stands for, from S3's own mapping
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-mapping-troubleshooting.html) and the
 * detail's reason and deletion-type (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html),
 * so that an object recorded from either delivery gets the same kind and item. Undefined for the detail
 * types the stack does not subscribe to (Object Restore Initiated, Object Restore Expired, Object ACL Updated).
 */
function bridgeEventName(detailType: string, detail: Record<string, unknown>): string | undefined {
  if (detailType === 'Object Created') {
    // A reason S3 has not documented yet is kept as it is (moto sends "ObjectCreated").
    const reason = stringAt(detail, 'reason');
    return `ObjectCreated:${reason === undefined ? '' : (CREATED_REASONS[reason] ?? reason)}`;
  }
  if (detailType !== 'Object Deleted') {
    return Object.hasOwn(BRIDGE_EVENT_NAMES, detailType) ? BRIDGE_EVENT_NAMES[detailType] : undefined;
  }
  const prefix = detail.reason === 'Lifecycle Expiration' ? 'LifecycleExpiration' : 'ObjectRemoved';
  const deletion = detail['deletion-type'];
  if (deletion === 'Permanently Deleted') return `${prefix}:Delete`;
  if (deletion === 'Delete Marker Created') return `${prefix}:DeleteMarkerCreated`;
  throw new InvalidRecordError(
    `detail.deletion-type ${JSON.stringify(deletion)} is not "Permanently Deleted" or "Delete Marker Created"`,
  );
}

/**
 * One EventBridge event from S3 (a Lambda target gets one per invocation) as the same ObjectEvent a
 * notification gives, or, for a detail type the stack does not subscribe to, why it is skipped.
 */
function parseBridgeEvent(event: Record<string, unknown>, bucketName: string | undefined): ObjectEvent | string {
  if (event.source !== 'aws.s3') {
    throw new InvalidRecordError(`source is ${JSON.stringify(event.source)}, expected "aws.s3"`);
  }
  const detail = event.detail;
  if (!isObject(detail) || !isObject(detail.bucket) || !isObject(detail.object)) {
    throw new InvalidRecordError('detail.bucket or detail.object is missing');
  }
  const bucket = checkBucket(detail.bucket.name, 'detail.bucket.name', bucketName);
  const detailType = event['detail-type'];
  const eventName = typeof detailType === 'string' ? bridgeEventName(detailType, detail) : undefined;
  if (eventName === undefined) return `detail-type ${JSON.stringify(detailType)} is not one the stack subscribes to`;
  const kind = eventKindOf(eventName);
  if (!kind) {
    throw new InvalidRecordError(`detail.reason ${JSON.stringify(detail.reason)} is not an API that creates objects`);
  }
  const time = event.time;
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) {
    throw new InvalidRecordError(`time ${JSON.stringify(time)} is not an ISO-8601 time`);
  }
  return {
    index: 0,
    kind,
    bucket,
    ...objectFields(detail.object, kind, 'detail.object', 'version-id'),
    eventName,
    eventTime: new Date(time).toISOString(),
    eTag: stringAt(detail.object, 'etag'),
    requester: stringAt(detail, 'requester'),
    sourceIp: stringAt(detail, 'source-ip-address'),
    requestId: stringAt(detail, 'request-id'),
    ...(kind === 'storageClass'
      ? storageClassChange(
          eventName,
          ['detail.destination-access-tier', stringAt(detail, 'destination-access-tier')],
          ['detail.destination-storage-class', stringAt(detail, 'destination-storage-class')],
        )
      : {}),
    ...(kind === 'restored' ? restoredUntil(stringAt(detail, 'restore-expiry-time')) : {}),
  };
}

/**
 * Splits an S3 notification into valid records and named failures, or reads an EventBridge event from
 * S3 as one record. Given `bucketName`, a record for another bucket is a failure too. Anything that is
 * neither at all is rejected as a whole with InvalidEventError.
 */
export function parseS3Event(event: unknown, bucketName?: string): ParsedEvent {
  if (!isObject(event)) {
    throw new InvalidEventError(`expected an S3 notification object, got ${describeType(event)}`);
  }
  if (event.Event === 's3:TestEvent') {
    throw new InvalidEventError(
      's3:TestEvent received: S3 sends it to check a new notification configuration; it has no object to process',
    );
  }
  const bridge = 'detail-type' in event;
  if (!bridge && !('Records' in event)) {
    const keys = Object.keys(event).slice(0, 10).join(', ') || 'none';
    throw new InvalidEventError(
      `not an S3 event: no Records array (a notification) or detail-type (an EventBridge event); top-level keys: ${keys}`,
    );
  }
  if (!bridge && (!Array.isArray(event.Records) || event.Records.length === 0)) {
    throw new InvalidEventError('not an S3 notification: Records must be a non-empty array');
  }
  const parsed: ParsedEvent = { records: [], invalid: [], skipped: [] };
  (bridge ? [event] : (event.Records as unknown[])).forEach((record: unknown, index: number) => {
    try {
      const result = bridge ? parseBridgeEvent(event, bucketName) : parseRecord(record, index, bucketName);
      if (typeof result !== 'string') parsed.records.push(result);
      else parsed.skipped.push({ index, record: describeRawRecord(record, index), reason: result });
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      parsed.invalid.push({
        index,
        record: describeRawRecord(record, index),
        reason: `${error.name}: ${error.message}`,
      });
    }
  });
  return parsed;
}

/** "bucket/key" of a record (its s3, or an EventBridge event's detail) as far as it can be read, for failure messages. */
function describeRawRecord(record: unknown, index: number): string {
  const part = isObject(record) ? [record.s3, record.detail].find(isObject) : undefined;
  const bucket = part && isObject(part.bucket) && typeof part.bucket.name === 'string' ? part.bucket.name : undefined;
  const key = part && isObject(part.object) && typeof part.object.key === 'string' ? part.object.key : undefined;
  if (bucket && key) return `${bucket}/${key.slice(0, 200)}`;
  return isObject(record) && typeof record.id === 'string' ? `event ${record.id.slice(0, 64)}` : `record ${index}`;
}

/** "bucket/key@version", the name a record goes by in logs and errors. */
export const describeObject = (r: Pick<ObjectEvent, 'bucket' | 'key' | 'versionId'>): string =>
  `${r.bucket}/${r.key}@${r.versionId}`;
