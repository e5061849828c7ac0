// The real handler against real S3 and DynamoDB wire protocols: s3rver and dynalite, in-process,
// each on a free loopback port, with a fault-injecting proxy for throttling.
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { functionEnvironment, HANDLER_BUNDLE_DIR, resolveConfig, resourceNames } from '../../config';
import {
  createPipelineStorage,
  dynamodbThrottle,
  readMetadataItem,
  runBundleInChild,
  s3SlowDown,
  StandIn,
  standInClients,
  standInEnvironment,
  startDynalite,
  startFaultProxy,
  startS3rver,
} from '../../fixtures/standins';
import { nextSequencer, putRecord, s3Event, s3Record } from '../../fixtures/s3-events';
import { objectCreatedEvent } from '../../fixtures/eventbridge-events';
import { ELF_BYTES, handlerWith, PNG_BYTES, TEST_CONFIG } from '../support/handler';
import { RecordsFailedError } from '../../handler/errors';

const BUCKET = 'tap-it-uploads';
const TABLE = TEST_CONFIG.tableName;
let s3rver: StandIn;
let dynalite: StandIn;
let s3: S3Client;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  [s3rver, dynalite] = await Promise.all([startS3rver(), startDynalite()]);
  ({ s3, dynamodb } = standInClients(s3rver.endpoint, dynalite.endpoint));
  await createPipelineStorage({ s3, dynamodb }, { bucket: BUCKET, table: TABLE });
});

afterAll(async () => {
  s3.destroy();
  dynamodb.destroy();
  await Promise.all([s3rver?.close(), dynalite?.close()]);
});

/** Uploads an object and returns the event S3 would send for it, built from the upload's response. */
async function upload(
  key: string,
  body: Buffer | string,
  options: { contentType?: string; metadata?: Record<string, string> } = {},
) {
  const request = {
    Bucket: BUCKET,
    Key: key,
    Body: body,
    ContentType: options.contentType,
    Metadata: options.metadata,
  };
  return putRecord(request, await s3.send(new PutObjectCommand(request)));
}

const readItem = (key: string) => readMetadataItem(dynamodb, TABLE, key);

const longKey = Array.from({ length: 9 }, (_, i) => `segment-${i}-${'x'.repeat(115)}`)
  .join('/')
  .slice(0, 1024);

describe('uploads with nasty keys, stored and read back field by field', () => {
  const files: { key: string; body: Buffer | string; contentType: string; detected?: string }[] = [
    { key: 'plain.txt', body: 'hello metadata', contentType: 'text/plain' },
    { key: 'dir/hello world.txt', body: 'spaces', contentType: 'text/plain' },
    { key: 'a+b=c&d.txt', body: 'literal plus', contentType: 'text/plain' },
    { key: '100% done.txt', body: 'percent', contentType: 'text/plain' },
    { key: 'ünïcødé/日本語 ファイル.png', body: PNG_BYTES, contentType: 'image/png', detected: 'image/png' },
    { key: 'holiday.jpg', body: ELF_BYTES, contentType: 'image/jpeg', detected: 'application/x-elf' },
    { key: 'empty.bin', body: Buffer.alloc(0), contentType: 'application/octet-stream' },
    { key: longKey, body: 'long key', contentType: 'text/plain' },
  ];

  it('stores every record of one event', async () => {
    // Prepare
    expect(Buffer.byteLength(longKey)).toBe(1024);
    const records = [];
    for (const f of files)
      records.push(await upload(f.key, f.body, { contentType: f.contentType, metadata: { source: 'integration' } }));
    const { handler } = handlerWith({ s3, dynamodb });
    // Act
    const summary = await handler(s3Event(...records));
    // Assess
    expect(summary).toMatchObject({ records: files.length, stored: files.length });
    for (const f of files) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: f.key }));
      const item = await readItem(f.key);
      expect(item).toMatchObject({
        objectKey: f.key,
        key: f.key,
        versionId: 'null',
        bucket: BUCKET,
        status: 'present',
        size: Buffer.byteLength(f.body),
        eTag: head.ETag?.replace(/"/g, ''),
        contentType: f.contentType,
        lastModified: head.LastModified?.toISOString(),
        storageClass: 'STANDARD',
        userMetadata: { source: 'integration' },
        eventName: 'ObjectCreated:Put',
      });
      expect(item?.detectedContentType).toBe(f.detected);
    }
    expect(await readItem('holiday.jpg')).toMatchObject({ extension: 'jpg', contentTypeMismatch: true });
  });
});

describe('EventBridge delivery', () => {
  it("stores the same item from an upload's EventBridge event as from its notification, nasty keys kept", async () => {
    // Prepare
    const keys = ['dir/hello world+1.txt', '100% done.txt', 'ünïcødé/日本語 ファイル.png'];
    const records = await Promise.all(keys.map((key) => upload(key, PNG_BYTES, { contentType: 'image/png' })));
    // A second in, so that the notification's time and EventBridge's whole seconds are the same instant.
    for (const record of records) record.eventTime = '2026-11-29T11:00:00.000Z';
    const { handler } = handlerWith({ s3, dynamodb }, {}, { ...TEST_CONFIG, bucketName: BUCKET });
    await handler(s3Event(...records));
    const notified = await Promise.all(keys.map(readItem));
    await Promise.all(
      keys.map((key) =>
        dynamodb.send(
          new DeleteItemCommand({ TableName: TABLE, Key: { objectKey: { S: key }, versionId: { S: 'null' } } }),
        ),
      ),
    );
    // Act
    const summaries = [];
    for (const record of records) summaries.push(await handler(objectCreatedEvent(record)));
    // Assess
    expect(summaries.map((s) => s.stored)).toEqual([1, 1, 1]);
    expect(await Promise.all(keys.map(readItem))).toEqual(notified);
    expect(notified.map((item) => item?.objectKey)).toEqual(keys);
  });

  it('counts an upload delivered both ways once: the second is a duplicate', async () => {
    // Prepare
    const record = await upload('both ways.txt', 'once');
    const { handler } = handlerWith({ s3, dynamodb });
    await handler(s3Event(record));
    // Act
    const summary = await handler(objectCreatedEvent(record));
    // Assess
    expect(summary).toMatchObject({ records: 1, stored: 0, duplicate: 1 });
  });
});

describe('delivery order', () => {
  it('makes a redelivered event a no-op, counted as a duplicate', async () => {
    // Prepare
    const record = await upload('dup.txt', 'once');
    const first = handlerWith({ s3, dynamodb });
    await first.handler(s3Event(record));
    const stored = await readItem('dup.txt');
    const second = handlerWith({ s3, dynamodb });
    // Act
    const summary = await second.handler(s3Event(record));
    // Assess
    expect(summary).toMatchObject({ stored: 0, duplicate: 1 });
    expect(second.values.DuplicateEvents).toEqual([1]);
    expect(await readItem('dup.txt')).toEqual(stored);
  });

  it('never lets an older event overwrite a newer one', async () => {
    // Prepare
    const created = await upload('reordered.txt', 'v1');
    const removed = s3Record({
      bucket: BUCKET,
      key: 'reordered.txt',
      eventName: 'ObjectRemoved:Delete',
      sequencer: nextSequencer(),
    });
    const { handler } = handlerWith({ s3, dynamodb });
    expect(await handler(s3Event(removed))).toMatchObject({ deleted: 1 });
    // Act & Assess
    expect(await handler(s3Event(created))).toMatchObject({ stored: 0, stale: 1 });
    // Assess
    expect(await readItem('reordered.txt')).toMatchObject({ status: 'deleted', eventName: 'ObjectRemoved:Delete' });
  });

  it('keeps the metadata of a version when it is deleted later', async () => {
    // Prepare
    const created = await upload('history.png', PNG_BYTES, { contentType: 'image/png' });
    const { handler } = handlerWith({ s3, dynamodb });
    await handler(s3Event(created));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'history.png' }));
    // Act
    await handler(s3Event(s3Record({ bucket: BUCKET, key: 'history.png', eventName: 'ObjectRemoved:Delete' })));
    // Assess
    expect(await readItem('history.png')).toMatchObject({
      status: 'deleted',
      size: PNG_BYTES.length,
      detectedContentType: 'image/png',
    });
  });

  it('stores an object deleted before processing as gone, from what the event says', async () => {
    // Prepare
    const record = await upload('short-lived.txt', 'bye');
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'short-lived.txt' }));
    const { handler } = handlerWith({ s3, dynamodb });
    // Act & Assess
    expect(await handler(s3Event(record))).toMatchObject({ gone: 1 });
    // Assess
    expect(await readItem('short-lived.txt')).toMatchObject({ status: 'gone', size: 3 });
  });
});

describe('faults on the wire', () => {
  it('recovers from DynamoDB throttling through the SDK retries', async () => {
    // Prepare
    let throttles = 2;
    const proxy = await startFaultProxy(dynalite.endpoint, (r) =>
      r.headers['x-amz-target']?.toString().endsWith('PutItem') && throttles-- > 0 ? dynamodbThrottle() : undefined,
    );
    const { dynamodb: throttled } = standInClients(s3rver.endpoint, proxy.endpoint, 3);
    try {
      const record = await upload('throttled.txt', 'retry me');
      const { handler } = handlerWith({ s3, dynamodb: throttled });
      // Act & Assess
      expect(await handler(s3Event(record))).toMatchObject({ stored: 1 });
      // Assess
      expect(proxy.requests.filter((r) => r.headers['x-amz-target']?.toString().endsWith('PutItem'))).toHaveLength(3);
      expect(await readItem('throttled.txt')).toMatchObject({ status: 'present' });
    } finally {
      throttled.destroy();
      await proxy.close();
    }
  });

  it('recovers from S3 503 SlowDown', async () => {
    // Prepare
    let slowDowns = 1;
    const proxy = await startFaultProxy(s3rver.endpoint, (r) =>
      r.method === 'HEAD' && slowDowns-- > 0 ? s3SlowDown() : undefined,
    );
    const { s3: slow } = standInClients(proxy.endpoint, dynalite.endpoint, 3);
    try {
      const record = await upload('slow.txt', 'slow');
      const { handler } = handlerWith({ s3: slow, dynamodb });
      // Act & Assess
      expect(await handler(s3Event(record))).toMatchObject({ stored: 1 });
      // Assess
      expect(proxy.requests.filter((r) => r.method === 'HEAD')).toHaveLength(2);
    } finally {
      slow.destroy();
      await proxy.close();
    }
  });

  it('names the record whose throttling never ends, after storing the others', async () => {
    // Prepare
    const proxy = await startFaultProxy(dynalite.endpoint, (r) =>
      r.body.includes('doomed.txt') ? dynamodbThrottle() : undefined,
    );
    const { dynamodb: throttled } = standInClients(s3rver.endpoint, proxy.endpoint, 3);
    try {
      const records = [
        await upload('fine-1.txt', 'a'),
        await upload('doomed.txt', 'b'),
        await upload('fine-2.txt', 'c'),
      ];
      const { handler } = handlerWith({ s3, dynamodb: throttled });
      // Act
      const result = handler(s3Event(...records));
      // Assess
      await expect(result).rejects.toThrow(RecordsFailedError);
      await expect(result).rejects.toThrow(
        `1 of 3 record(s) failed: [1] ${BUCKET}/doomed.txt@null: ProvisionedThroughputExceededException`,
      );
      expect(proxy.requests.filter((r) => r.body.includes('doomed.txt'))).toHaveLength(3);
      expect(await readItem('fine-1.txt')).toMatchObject({ status: 'present' });
      expect(await readItem('fine-2.txt')).toMatchObject({ status: 'present' });
      expect(await readItem('doomed.txt')).toBeUndefined();
    } finally {
      throttled.destroy();
      await proxy.close();
    }
  });
});

describe(`the bundled handler (${HANDLER_BUNDLE_DIR}/index.js)`, () => {
  it('is configured by the environment the stack gives it alone, and stores an upload', async () => {
    // Prepare
    const config = resolveConfig();
    const record = await upload('bundle/from the bundle+1.png', PNG_BYTES, { contentType: 'image/png' });
    const env = standInEnvironment(
      functionEnvironment(config, { ...resourceNames(config), tableName: TABLE }, BUCKET),
      {
        endpoints: { s3: s3rver.endpoint, dynamodb: dynalite.endpoint },
        logLevel: 'SILENT',
      },
    );
    // Act
    const summary = await runBundleInChild(s3Event(record), env);
    // Assess
    expect(summary).toMatchObject({ records: 1, stored: 1 });
    expect(await readItem('bundle/from the bundle+1.png')).toMatchObject({
      detectedContentType: 'image/png',
      status: 'present',
    });
  });

  it('knows its bucket from BUCKET_NAME: an EventBridge event for another bucket fails, naming it', async () => {
    // Prepare
    const config = resolveConfig();
    const record = s3Record({ bucket: 'another-bucket', key: 'elsewhere.png', size: 1 });
    const env = standInEnvironment(
      functionEnvironment(config, { ...resourceNames(config), tableName: TABLE }, BUCKET),
      {
        endpoints: { s3: s3rver.endpoint, dynamodb: dynalite.endpoint },
        logLevel: 'SILENT',
      },
    );
    // Act
    const run = runBundleInChild(objectCreatedEvent(record), env);
    // Assess
    await expect(run).rejects.toThrow(
      `detail.bucket.name "another-bucket" is not this function's bucket "${BUCKET}" (BUCKET_NAME)`,
    );
  });
});
