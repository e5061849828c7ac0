// The table's write rules on the DynamoDB wire protocol (dynalite validates every expression), for
// the handler's events and for the operator CLI's writes that must never overwrite an event's.
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  archived,
  body,
  BUCKET,
  handlerWith,
  headOf,
  mockS3,
  PNG_BYTES,
  s3RecordWith,
  TEST_CONFIG,
} from '../support/handler';
import { standInClients, startDynalite, StandIn } from '../../fixtures/standins';
import { createTable } from '../support/standins';
import { s3Event } from '../../fixtures/s3-events';
import { deleteMarkerItem, itemKey, MetadataItem } from '../../handler/item';
import { readVersionItem } from '../../handler/read-version';
import { LOWEST_SEQUENCER, normalizeSequencer } from '../../handler/sequencer';
import { changeIfNewer, getItem, putItemIfAbsent, putItemIfUnchanged } from '../../handler/store';

const TABLE = TEST_CONFIG.tableName;
const s3Mock = mockS3();
const s3 = new S3Client({ region: 'us-east-1' });
let dynalite: StandIn;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  dynalite = await startDynalite();
  ({ dynamodb } = standInClients('http://127.0.0.1:1', dynalite.endpoint));
  // The bucket lives in the mocked S3: only the table is created.
  await createTable(dynamodb, TABLE);
});

afterAll(async () => {
  dynamodb.destroy();
  await dynalite?.close();
});

const RECONCILE = { eventName: 'tap:Reconcile', eventTime: '2026-12-01T00:00:00.000Z', sequencer: LOWEST_SEQUENCER };
const read = (key: string, versionId: string | null = 'v1') =>
  readVersionItem(s3, { bucket: BUCKET, key, versionId }, RECONCILE, {
    recordObjectTags: false,
    now: new Date('2026-12-01T00:00:01.000Z'),
  });

describe("the operator's writes never overwrite an event's", () => {
  it('reads a version without an event into the item a create event gives, with the lowest sequencer', async () => {
    // Act
    const item = await read('reconciled.png', null);
    // Assess
    expect(s3Mock.commandCalls(HeadObjectCommand)[0].args[0].input.VersionId).toBeUndefined();
    expect(item).toMatchObject({
      objectKey: 'reconciled.png',
      versionId: 'null',
      status: 'present',
      detectedContentType: 'image/png',
      eventName: 'tap:Reconcile',
      sequencer: '0'.repeat(32),
    });
  });

  it('puts an item only where there is none', async () => {
    // Prepare
    const first = await read('absent.png');
    // Act
    const stored = await putItemIfAbsent(dynamodb, TABLE, first);
    const skipped = await putItemIfAbsent(dynamodb, TABLE, { ...first, size: 1 });
    // Assess
    expect([stored, skipped]).toEqual(['stored', 'skipped']);
    expect((await getItem(dynamodb, TABLE, itemKey({ key: 'absent.png', versionId: 'v1' })))?.size).toBe(1234);
  });

  it('replaces an item only while its sequencer is still the one read before', async () => {
    // Prepare
    const item = await read('repaired.png');
    await putItemIfAbsent(dynamodb, TABLE, item);
    const seen = item.sequencer;
    // Act
    const stored = await putItemIfUnchanged(dynamodb, TABLE, { ...item, contentType: 'image/x-repaired' }, seen);
    const skipped = await putItemIfUnchanged(
      dynamodb,
      TABLE,
      { ...item, contentType: 'lost' },
      normalizeSequencer('0B'),
    );
    // Assess
    expect([stored, skipped]).toEqual(['stored', 'skipped']);
    expect((await getItem(dynamodb, TABLE, itemKey(item)))?.contentType).toBe('image/x-repaired');
  });

  it("lets the version's own create event replace a reconciled item", async () => {
    // Prepare
    await putItemIfAbsent(dynamodb, TABLE, await read('raced.png'));
    const { handler } = handlerWith({ s3, dynamodb });
    // Act
    const summary = await handler(
      s3Event(s3RecordWith({ bucket: BUCKET, key: 'raced.png', versionId: 'v1', size: 10, sequencer: '0A' })),
    );
    // Assess
    expect(summary).toMatchObject({ stored: 1 });
    expect(await getItem(dynamodb, TABLE, itemKey({ key: 'raced.png', versionId: 'v1' }))).toMatchObject({
      eventName: 'ObjectCreated:Put',
      sequencer: normalizeSequencer('0A'),
    });
  });

  it('builds the item of a delete marker found in a listing', async () => {
    // Act
    const item = deleteMarkerItem(
      { bucket: BUCKET, key: 'gone.png', versionId: 'marker-1' },
      RECONCILE,
      new Date('2026-12-01T00:00:01.000Z'),
      new Date('2026-11-30T00:00:00.000Z'),
    );
    const stored = await putItemIfAbsent(dynamodb, TABLE, item);
    // Assess
    expect(stored).toBe('stored');
    expect(await getItem(dynamodb, TABLE, itemKey(item))).toMatchObject({
      status: 'present',
      deleteMarker: true,
      lastModified: '2026-11-30T00:00:00.000Z',
      sequencer: LOWEST_SEQUENCER,
    });
  });
});

describe('changes without a sequencer, ordered by their own clock', () => {
  const key = itemKey({ key: 'tiered.png', versionId: 'v1' });
  const change = (time: string, attributes: Record<string, unknown>) =>
    changeIfNewer(dynamodb, TABLE, key, { clock: 'storageClassAsOf', time, attributes });

  it('is missing before the item exists, then stored, duplicate and stale as the clock says', async () => {
    // Act
    const missing = await change('2026-12-02T00:00:00.000Z', { storageClass: 'STANDARD_IA' });
    await putItemIfAbsent(dynamodb, TABLE, {
      ...(await read('tiered.png')),
      storageClassAsOf: '2026-12-01T00:00:01.000Z',
    });
    const tiered = await change('2026-12-05T00:00:00.000Z', {
      storageClass: 'INTELLIGENT_TIERING',
      archiveTier: 'ARCHIVE_ACCESS',
    });
    const duplicate = await change('2026-12-05T00:00:00.000Z', { storageClass: 'INTELLIGENT_TIERING' });
    const stale = await change('2026-12-03T00:00:00.000Z', { storageClass: 'STANDARD_IA' });
    const transitioned = await change('2027-01-05T00:00:00.000Z', { storageClass: 'GLACIER', archiveTier: undefined });
    // Assess
    expect([missing, tiered, duplicate, stale, transitioned]).toEqual([
      'missing',
      'stored',
      'duplicate',
      'stale',
      'stored',
    ]);
    const item = (await getItem(dynamodb, TABLE, key)) as MetadataItem;
    expect(item).toMatchObject({ storageClass: 'GLACIER', storageClassAsOf: '2027-01-05T00:00:00.000Z', size: 1234 });
    expect(item.archiveTier).toBeUndefined();
  });
});

describe('one version through its life, on the wire', () => {
  it('is unreadable while archived, present once restored, then deleted with its metadata kept', async () => {
    // Prepare
    const version = { bucket: BUCKET, key: 'life.png', versionId: 'v1' };
    s3Mock.on(HeadObjectCommand).resolves(headOf({ StorageClass: 'GLACIER' }));
    s3Mock.on(GetObjectCommand).rejects(archived('GLACIER'));
    const { handler } = handlerWith({ s3, dynamodb });
    const created = s3RecordWith({ ...version, size: 1234, sequencer: '0A', eventTime: '2026-12-01T00:00:00.000Z' });
    const restored = s3RecordWith(
      { ...version, eventName: 'ObjectRestore:Completed', sequencer: null, eventTime: '2027-01-05T00:00:00.000Z' },
      { glacierEventData: { restoreEventData: { lifecycleRestorationExpiryTime: '2027-01-12T00:00:00.000Z' } } },
    );
    const deleted = s3RecordWith({ ...version, eventName: 'ObjectRemoved:Delete', sequencer: '0B' });
    const key = itemKey(version);
    // Act
    const first = await handler(s3Event(created));
    const whileArchived = await getItem(dynamodb, TABLE, key);
    s3Mock.on(GetObjectCommand).resolves({ Body: body(PNG_BYTES) });
    const second = await handler(s3Event(restored));
    const redelivered = await handler(s3Event(restored));
    const afterRestore = await getItem(dynamodb, TABLE, key);
    const third = await handler(s3Event(deleted));
    const late = await handler(s3Event(created));
    const afterDelete = await getItem(dynamodb, TABLE, key);
    // Assess
    expect(first).toMatchObject({ unreadable: 1 });
    expect(whileArchived).toMatchObject({ status: 'unreadable', unreadableReason: 'archived-storage-class' });
    expect(second).toMatchObject({ stored: 1 });
    expect(redelivered).toMatchObject({ duplicate: 1 });
    expect(afterRestore).toMatchObject({
      status: 'present',
      detectedContentType: 'image/png',
      restoredUntil: '2027-01-12T00:00:00.000Z',
      sequencer: normalizeSequencer('0A'),
    });
    expect(afterRestore?.unreadableReason).toBeUndefined();
    expect(third).toMatchObject({ deleted: 1 });
    expect(late).toMatchObject({ stale: 1 });
    expect(afterDelete).toMatchObject({ status: 'deleted', detectedContentType: 'image/png', size: 1234 });
  });
});
