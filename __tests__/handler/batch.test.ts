// S3 Batch Operations task events (1.0 and 2.0, as AWS documents them): the documented response, one
// result per task, written through the same ordered writes as S3's events (dynalite checks every
// condition), and never an exception for a well-formed event.
import 'aws-sdk-client-mock-jest'; // typings of the SDK mock matchers
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { BUCKET, handlerWith, headOf, mockS3, s3Error, s3RecordWith, TEST_CONFIG } from '../support/handler';
import { createTable } from '../support/standins';
import { batchEvent, DOCUMENTED_BATCH_EVENT_1_0, DOCUMENTED_BATCH_EVENT_2_0 } from '../../fixtures/batch-events';
import { s3Event } from '../../fixtures/s3-events';
import {
  runBundleInChild,
  standInClients,
  standInEnvironment,
  startDynalite,
  startS3rver,
  StandIn,
} from '../../fixtures/standins';
import { functionEnvironment, HANDLER_BUNDLE_DIR, resolveConfig, resourceNames } from '../../config';
import { InvalidEventError } from '../../handler/errors';
import { itemKey } from '../../handler/item';
import { LOWEST_SEQUENCER, normalizeSequencer } from '../../handler/sequencer';
import { getItem } from '../../handler/store';

const TABLE = TEST_CONFIG.tableName;
/** The bundled handler's own table: what the in-process handler wrote is not there. */
const BUNDLE_TABLE = `${TABLE}-bundle`;
const s3Mock = mockS3();
const s3 = new S3Client({ region: 'us-east-1' });
let dynalite: StandIn;
let s3rver: StandIn;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  [dynalite, s3rver] = await Promise.all([startDynalite(), startS3rver()]);
  ({ dynamodb } = standInClients('http://127.0.0.1:1', dynalite.endpoint));
  await Promise.all([createTable(dynamodb, TABLE), createTable(dynamodb, BUNDLE_TABLE)]);
});

afterAll(async () => {
  dynamodb.destroy();
  await Promise.all([dynalite?.close(), s3rver?.close()]);
});

/** The handler as deployed for `bucketName`, over dynalite, processing at `at`. */
const deployed = (bucketName = BUCKET, at?: string) =>
  handlerWith({ s3, dynamodb }, {}, { ...TEST_CONFIG, bucketName }, at);
const stored = (key: string, versionId: string | null = 'v1') => getItem(dynamodb, TABLE, itemKey({ key, versionId }));
/** The create event of BUCKET/key version v1 with `sequencer`. */
const created = (key: string, sequencer: string) =>
  s3Event(s3RecordWith({ bucket: BUCKET, key, versionId: 'v1', size: 1234, sequencer }));
const reprocess = { userArguments: { mode: 'reprocess' } };

describe('the task events AWS documents', () => {
  it.each([
    ['1.0', DOCUMENTED_BATCH_EVENT_1_0, 'amzn-s3-demo-bucket1', 'customerImage1.jpg', '1'],
    ['2.0', DOCUMENTED_BATCH_EVENT_2_0, 'source-directory-bucket-name', 's3objectkey', null],
  ])(
    'answers the %s example with the documented response and backfills its version',
    async (_, event, bucket, key, versionId) => {
      // Prepare
      const { handler } = deployed(bucket);
      // Act
      const response = await handler(event);
      // Assess
      expect(response).toEqual({
        invocationSchemaVersion: event.invocationSchemaVersion,
        treatMissingKeysAs: 'PermanentFailure',
        invocationId: event.invocationId,
        results: [{ taskId: event.tasks[0].taskId, resultCode: 'Succeeded', resultString: 'stored' }],
      });
      expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
        Bucket: bucket,
        Key: key,
        VersionId: versionId ?? undefined,
      });
      expect(await stored(key, versionId)).toMatchObject({
        bucket,
        status: 'present',
        detectedContentType: 'image/png',
        eventName: 'tap:Backfill',
        eventTime: '2026-11-29T12:00:00.000Z',
        sequencer: LOWEST_SEQUENCER,
      });
    },
  );
});

describe(`the bundled handler (${HANDLER_BUNDLE_DIR}/index.js)`, () => {
  it.each([
    ['1.0', DOCUMENTED_BATCH_EVENT_1_0, 'amzn-s3-demo-bucket1'],
    ['2.0', DOCUMENTED_BATCH_EVENT_2_0, 'source-directory-bucket-name'],
  ])('answers the documented %s example as the function deployed for its bucket', async (_, event, bucket) => {
    // Prepare: an empty S3 stand-in, where the example's object does not exist
    const config = resolveConfig();
    const env = standInEnvironment(
      functionEnvironment(config, { ...resourceNames(config), tableName: BUNDLE_TABLE }, bucket),
      { endpoints: { s3: s3rver.endpoint, dynamodb: dynalite.endpoint }, logLevel: 'SILENT' },
    );
    // Act
    const response = await runBundleInChild(event, env);
    // Assess
    expect(response).toEqual({
      invocationSchemaVersion: event.invocationSchemaVersion,
      treatMissingKeysAs: 'PermanentFailure',
      invocationId: event.invocationId,
      results: [{ taskId: event.tasks[0].taskId, resultCode: 'Succeeded', resultString: 'gone' }],
    });
    const { s3Key, s3VersionId } = event.tasks[0];
    expect(await getItem(dynamodb, BUNDLE_TABLE, itemKey({ key: s3Key, versionId: s3VersionId }))).toMatchObject({
      bucket,
      status: 'gone',
      eventName: 'tap:Backfill',
    });
  });
});

describe('backfill, the default mode, fills only what is missing', () => {
  it("never overwrites an item an event wrote, and answers Succeeded: the version's item is there", async () => {
    // Prepare
    const { handler } = deployed();
    await handler(created('evented.png', '0A'));
    // Act
    const response = await handler(batchEvent([{ bucket: BUCKET, key: 'evented.png', versionId: 'v1' }]));
    // Assess
    expect(response.results).toEqual([{ taskId: 'task-0', resultCode: 'Succeeded', resultString: 'stale' }]);
    expect(await stored('evented.png')).toMatchObject({
      eventName: 'ObjectCreated:Put',
      sequencer: normalizeSequencer('0A'),
    });
  });

  it("is a duplicate the second time, and the version's own event replaces it", async () => {
    // Prepare
    const { handler } = deployed();
    const task = batchEvent([{ bucket: BUCKET, key: 'dir/backfilled one.png', versionId: 'v1' }], { version: '1.0' });
    await handler(task);
    // Act
    const again = await handler(task);
    const summary = await handler(created('dir/backfilled one.png', '0B'));
    // Assess
    expect(again.results).toEqual([{ taskId: 'task-0', resultCode: 'Succeeded', resultString: 'duplicate' }]);
    expect(summary).toMatchObject({ stored: 1 });
    expect(await stored('dir/backfilled one.png')).toMatchObject({ eventName: 'ObjectCreated:Put' });
  });
});

describe('a task naming a delete marker', () => {
  it("records the marker's item, which HEAD of its version id answers with 405", async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(s3Error('MethodNotAllowed', 405));
    s3Mock.on(GetObjectCommand).rejects(s3Error('MethodNotAllowed', 405));
    const { handler } = deployed();
    // Act
    const response = await handler(batchEvent([{ bucket: BUCKET, key: 'removed.png', versionId: 'marker-1' }]));
    // Assess
    expect(response.results).toEqual([{ taskId: 'task-0', resultCode: 'Succeeded', resultString: 'marker' }]);
    expect(await stored('removed.png', 'marker-1')).toMatchObject({
      status: 'present',
      deleteMarker: true,
      eventName: 'tap:Backfill',
      sequencer: LOWEST_SEQUENCER,
    });
  });
});

describe('reprocess rewrites items to the current contract, never over a newer event', () => {
  it.each([
    ['a backfilled item', 'tap:Backfill', LOWEST_SEQUENCER],
    ["a real event's item", 'ObjectCreated:Put', normalizeSequencer('0C')],
  ])('rewrites %s, keeping the event that wrote it', async (_, eventName, sequencer) => {
    // Prepare: the item an older handler wrote, without the attributes read since
    const key = `old-contract-${eventName}.png`;
    await dynamodb.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: marshall({
          ...itemKey({ key, versionId: 'v1' }),
          bucket: BUCKET,
          key,
          status: 'present',
          eventName,
          eventTime: '2026-01-01T00:00:00.000Z',
          sequencer,
          processedAt: '2026-01-01T00:00:01.000Z',
        }),
      }),
    );
    const { handler } = deployed(BUCKET, '2026-12-05T00:00:00.000Z');
    // Act
    const response = await handler(batchEvent([{ bucket: BUCKET, key, versionId: 'v1' }], reprocess));
    // Assess
    expect(response.results).toEqual([{ taskId: 'task-0', resultCode: 'Succeeded', resultString: 'stored' }]);
    expect(await stored(key)).toMatchObject({
      eventName,
      eventTime: '2026-01-01T00:00:00.000Z',
      sequencer,
      processedAt: '2026-12-05T00:00:00.000Z',
      detectedContentType: 'image/png',
      extension: 'png',
      userMetadata: { uploader: 'alice' },
    });
  });

  it('leaves the item to an event stored while it read the version', async () => {
    // Prepare
    const { handler } = deployed();
    await handler(created('raced.png', '0D'));
    let raced = false;
    s3Mock.on(HeadObjectCommand).callsFake(async () => {
      if (!raced) {
        raced = true;
        await handler(created('raced.png', '0E'));
      }
      return headOf();
    });
    const later = deployed(BUCKET, '2026-12-05T00:00:00.000Z').handler;
    // Act
    const response = await later(batchEvent([{ bucket: BUCKET, key: 'raced.png', versionId: 'v1' }], reprocess));
    // Assess
    expect(response.results).toEqual([{ taskId: 'task-0', resultCode: 'Succeeded', resultString: 'stale' }]);
    expect(await stored('raced.png')).toMatchObject({ sequencer: normalizeSequencer('0E') });
  });

  it('fills in a version without an item as a backfill does', async () => {
    // Prepare
    const { handler } = deployed();
    // Act
    const response = await handler(batchEvent([{ bucket: BUCKET, key: 'never-seen.png', versionId: 'v1' }], reprocess));
    // Assess
    expect(response.results).toEqual([{ taskId: 'task-0', resultCode: 'Succeeded', resultString: 'stored' }]);
    expect(await stored('never-seen.png')).toMatchObject({ eventName: 'tap:Reprocess', sequencer: LOWEST_SEQUENCER });
  });
});

describe('failures a retry can fix', () => {
  const throttled = new ProvisionedThroughputExceededException({
    message: 'Rate exceeded',
    $metadata: { httpStatusCode: 400 },
  });
  it.each([
    ['DynamoDB throttling', 'dynamodb', throttled, 'ProvisionedThroughputExceededException: Rate exceeded (HTTP 400)'],
    ['S3 throttling', 's3', s3Error('SlowDown', 503), 'SlowDown: SlowDown (503) (HTTP 503)'],
    ['a 5xx', 's3', s3Error('InternalError', 500), 'InternalError: InternalError (500) (HTTP 500)'],
    [
      'a timeout',
      's3',
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
      'TimeoutError: socket hang up',
    ],
  ])('answer %s with TemporaryFailure, not an exception', async (_, service, error, reason) => {
    // Prepare
    const table = new DynamoDBClient({ region: 'us-east-1' });
    const tableMock = mockClient(table);
    tableMock.on(GetItemCommand).resolves({});
    tableMock.on(PutItemCommand).callsFake(async () => {
      if (service === 'dynamodb') throw error;
      return {};
    });
    if (service === 's3') s3Mock.on(HeadObjectCommand).rejects(error);
    const { handler, values } = handlerWith({ s3, dynamodb: table }, {}, { ...TEST_CONFIG, bucketName: BUCKET });
    // Act
    const response = await handler(batchEvent([{ bucket: BUCKET, key: 'busy.png', versionId: 'v1' }]));
    // Assess
    expect(response.results).toEqual([{ taskId: 'task-0', resultCode: 'TemporaryFailure', resultString: reason }]);
    expect(values.RecordFailures).toEqual([1]);
  });
});

describe('tasks that cannot be understood', () => {
  it('fail permanently with their reason while the good task beside them is stored', async () => {
    // Prepare
    const { handler, logs } = deployed();
    const event = batchEvent([
      { bucket: BUCKET, key: 'good.png', versionId: 'v1' },
      { bucket: 'someone-elses-bucket', key: 'theirs.png', versionId: 'v1' },
      { bucket: BUCKET, key: 'bad.png', versionId: 'v1' },
    ]);
    const tasks = [event.tasks[0], event.tasks[1], { ...event.tasks[2], s3Key: 'bad%E0%A4%A.png' }];
    // Act
    const response = await handler({ ...event, tasks });
    // Assess
    expect(response.results).toEqual([
      { taskId: 'task-0', resultCode: 'Succeeded', resultString: 'stored' },
      {
        taskId: 'task-1',
        resultCode: 'PermanentFailure',
        resultString: `InvalidRecordError: tasks[1].s3Bucket "someone-elses-bucket" is not this function's bucket "${BUCKET}" (BUCKET_NAME)`,
      },
      {
        taskId: 'task-2',
        resultCode: 'PermanentFailure',
        resultString: 'InvalidRecordError: tasks[2].s3Key "bad%E0%A4%A.png" is not valid URL encoding',
      },
    ]);
    expect(await stored('good.png')).toMatchObject({ status: 'present', eventName: 'tap:Backfill' });
    expect(logs.filter((l) => l.message === 'Malformed Batch Operations task')).toHaveLength(2);
  });

  it('names the bucket of a 1.0 task for another bucket by its ARN', async () => {
    // Prepare
    const { handler } = deployed();
    // Act
    const response = await handler(batchEvent([{ bucket: 'other-bucket', key: 'a.png' }], { version: '1.0' }));
    // Assess
    expect(response.results[0]).toEqual({
      taskId: 'task-0',
      resultCode: 'PermanentFailure',
      resultString: `InvalidRecordError: tasks[0].s3BucketArn "other-bucket" is not this function's bucket "${BUCKET}" (BUCKET_NAME)`,
    });
  });

  it.each([
    [
      'an unknown mode',
      batchEvent([{ bucket: BUCKET, key: 'a.png' }], { userArguments: { mode: 'rebuild' } }),
      'InvalidRecordError: job.userArguments.mode "rebuild" is not "backfill" or "reprocess"',
    ],
    [
      'an unknown schema version',
      { ...batchEvent([{ bucket: BUCKET, key: 'a.png' }]), invocationSchemaVersion: '3.0' },
      'InvalidRecordError: invocationSchemaVersion "3.0" is not 1.0 or 2.0',
    ],
  ])('fail every task of a job with %s, reading nothing', async (_, event, reason) => {
    // Prepare
    const { handler } = deployed();
    // Act
    const response = await handler(event);
    // Assess
    expect(response).toMatchObject({
      invocationSchemaVersion: event.invocationSchemaVersion,
      results: [{ taskId: 'task-0', resultCode: 'PermanentFailure', resultString: reason }],
    });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('leaves a task without a taskId to treatMissingKeysAs, and counts it', async () => {
    // Prepare
    const { handler, values } = deployed();
    const event = batchEvent([{ bucket: BUCKET, key: 'a.png' }]);
    // Act
    const response = await handler({ ...event, tasks: [{ ...event.tasks[0], taskId: '' }] });
    // Assess
    expect(response).toMatchObject({ treatMissingKeysAs: 'PermanentFailure', results: [] });
    expect(values.RecordFailures).toEqual([1]);
  });

  it('rejects an event it cannot answer at all, naming what is wrong', async () => {
    // Prepare
    const { handler, values } = deployed();
    // Act
    const result = handler({ invocationSchemaVersion: '2.0', tasks: 'none' });
    // Assess
    await expect(result).rejects.toThrow(InvalidEventError);
    await expect(result).rejects.toThrow('invocationSchemaVersion and invocationId must be strings and tasks an array');
    expect(values.RejectedEvents).toEqual([1]);
  });
});
