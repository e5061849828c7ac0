import { BUCKET, handlerWith, mockAws } from '../support/handler';
import { s3Event, s3Record } from '../../fixtures/s3-events';
import { InvalidEventError, RecordsFailedError } from '../../handler/errors';

const { clients, putItems } = mockAws();

const good = () => s3Record({ bucket: BUCKET, key: 'ok.txt', size: 1, sequencer: '0A' });
/** The parts of a record the corpus breaks, loosely typed so that a test can put anything there. */
interface LooseRecord {
  eventSource?: unknown;
  eventName?: unknown;
  eventTime?: unknown;
  intelligentTieringEventData?: unknown;
  s3?: { bucket: { name?: unknown }; object?: Record<string, unknown> & { key?: unknown } };
}
/** A valid record with one part replaced; `patch` gets a deep copy. */
const withRecord = (
  patch: (r: LooseRecord & { s3: { bucket: { name?: unknown }; object: Record<string, unknown> } }) => void,
) => {
  const record = JSON.parse(JSON.stringify(good()));
  patch(record);
  return s3Event(record);
};

// Whole events that are not S3 notifications: rejected as a whole.
const notNotifications: [string, unknown, string][] = [
  ['undefined', undefined, 'expected an S3 notification object, got undefined'],
  ['null', null, 'expected an S3 notification object, got null'],
  ['a string', 'hello', 'expected an S3 notification object, got string'],
  ['a number', 42, 'expected an S3 notification object, got number'],
  ['an array', [good()], 'expected an S3 notification object, got an array'],
  ['an empty object', {}, 'or detail-type (an EventBridge event); top-level keys: none'],
  ['the S3 test event', { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }, 's3:TestEvent received'],
  ['an SQS event', { Records: undefined, source: 'aws.sqs' }, 'Records must be a non-empty array'],
  ['Records as an object', { Records: { 0: good() } }, 'Records must be a non-empty array'],
  ['no records', { Records: [] }, 'Records must be a non-empty array'],
  ['an API Gateway event', { httpMethod: 'GET', path: '/' }, 'top-level keys: httpMethod, path'],
];

// Records with one malformed part: that record fails with a reason, never a crash.
const badRecords: [string, unknown, string][] = [
  ['a record that is null', s3Event(null as never), 'record is not an object'],
  ['a record that is a string', s3Event('x' as never), 'record is not an object'],
  [
    'another event source',
    withRecord((r) => (r.eventSource = 'aws:sqs')),
    'eventSource is "aws:sqs", expected "aws:s3"',
  ],
  [
    'an event this function does not subscribe',
    withRecord((r) => (r.eventName = 'ObjectAcl:Put')),
    'eventName "ObjectAcl:Put" is not an event this function records (ObjectCreated:*, ObjectRemoved:*, LifecycleExpiration:*, LifecycleTransition, IntelligentTiering, ObjectRestore:Completed, ObjectTagging:*)',
  ],
  [
    'a restore that only started',
    withRecord((r) => (r.eventName = 'ObjectRestore:Post')),
    'eventName "ObjectRestore:Post" is not an event this function records',
  ],
  ['no event name', withRecord((r) => delete r.eventName), 'eventName undefined is not an event this function records'],
  [
    'a lifecycle transition without its destination',
    withRecord((r) => (r.eventName = 'LifecycleTransition')),
    'lifecycleEventData.transitionEventData.destinationStorageClass is missing',
  ],
  [
    'an Intelligent-Tiering event without its tier',
    withRecord((r) => {
      r.eventName = 'IntelligentTiering';
      r.intelligentTieringEventData = { destinationAccessTier: 7 };
    }),
    'intelligentTieringEventData.destinationAccessTier is missing',
  ],
  [
    'a removal without a sequencer',
    withRecord((r) => {
      r.eventName = 'ObjectRemoved:Delete';
      delete r.s3.object.sequencer;
    }),
    's3.object.sequencer undefined is not a hex string of 1 to 32 digits',
  ],
  ['a bad event time', withRecord((r) => (r.eventTime = 'yesterday')), 'eventTime "yesterday" is not an ISO-8601 time'],
  ['no s3 section', withRecord((r) => Reflect.deleteProperty(r, 's3')), 's3.bucket or s3.object is missing'],
  ['no object', withRecord((r) => Reflect.deleteProperty(r.s3, 'object')), 's3.bucket or s3.object is missing'],
  [
    'a bucket name with capitals',
    withRecord((r) => (r.s3.bucket.name = 'My_Bucket')),
    's3.bucket.name "My_Bucket" is not a bucket name',
  ],
  ['no key', withRecord((r) => delete r.s3.object.key), 's3.object.key is missing or empty'],
  ['an empty key', withRecord((r) => (r.s3.object.key = '')), 's3.object.key is missing or empty'],
  ['a numeric key', withRecord((r) => (r.s3.object.key = 12)), 's3.object.key is missing or empty'],
  [
    'broken percent-encoding',
    withRecord((r) => (r.s3.object.key = 'bad%E0%A4%A.txt')),
    's3.object.key "bad%E0%A4%A.txt" is not valid URL encoding',
  ],
  [
    'a key over 1024 bytes',
    withRecord((r) => (r.s3.object.key = 'k'.repeat(1025))),
    's3.object.key is 1025 bytes, S3 keys are at most 1024',
  ],
  [
    'no sequencer',
    withRecord((r) => delete r.s3.object.sequencer),
    's3.object.sequencer undefined is not a hex string of 1 to 32 digits',
  ],
  [
    'a non-hex sequencer',
    withRecord((r) => (r.s3.object.sequencer = 'XYZ')),
    's3.object.sequencer "XYZ" is not a hex string of 1 to 32 digits',
  ],
  ['a negative size', withRecord((r) => (r.s3.object.size = -1)), 's3.object.size -1 is not a byte count'],
  ['a size as text', withRecord((r) => (r.s3.object.size = '12')), 's3.object.size "12" is not a byte count'],
  [
    'an empty version id',
    withRecord((r) => (r.s3.object.versionId = '')),
    's3.object.versionId "" is not a version id',
  ],
  ['a numeric version id', withRecord((r) => (r.s3.object.versionId = 7)), 's3.object.versionId 7 is not a version id'],
];

describe('malformed events', () => {
  it.each(notNotifications)('rejects %s as a whole with InvalidEventError', async (_name, event, message) => {
    // Prepare
    const { handler, logs } = handlerWith(clients);
    // Act
    const result = handler(event);
    // Assess
    await expect(result).rejects.toThrow(InvalidEventError);
    await expect(result).rejects.toThrow(message);
    expect(logs.map((l) => l.level)).toEqual(['error']);
  });

  it.each(badRecords)(
    'fails the record with %s, naming the reason, and stores the good one beside it',
    async (_name, event, reason) => {
      // Prepare
      const { handler } = handlerWith(clients);
      const records = [...(event as { Records: unknown[] }).Records, good()];
      // Act
      const result = handler({ Records: records });
      // Assess
      await expect(result).rejects.toThrow(RecordsFailedError);
      await expect(result).rejects.toThrow(`1 of 2 record(s) failed: [0] `);
      await expect(result).rejects.toThrow(`InvalidRecordError: ${reason}`);
      const error = await result.catch((e: RecordsFailedError) => e);
      expect((error as RecordsFailedError).failures).toHaveLength(1);
      expect(putItems().map((item) => item.objectKey)).toEqual(['ok.txt']);
    },
  );
});
