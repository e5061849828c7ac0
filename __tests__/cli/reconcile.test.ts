// tap reconcile in-process: the table on dynalite, the bucket a versioned fake behind aws-sdk-client-mock
// (cli-reconcile-bucket.ts: s3rver keeps no versions), items written by the handler's own code from the
// events S3 would send, then drift made by hand the way lost events, lost deletes or a wrong write make it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import {
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectVersionsCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { S3EventRecord } from 'aws-lambda';
import type { ReconcileJson } from '../../cli/commands/reconcile';
import { LOWEST_SEQUENCER } from '../../handler/sequencer';
import { StandIn, startDynalite, STANDIN_CREDENTIALS } from '../../fixtures/standins';
import { s3Event, s3Record } from '../../fixtures/s3-events';
import { drift, FakeBucket, FakeVersion, itemKeyOf } from '../support/reconcile-bucket';
import { runTap } from '../support/cli';
import { handlerWith, PNG_BYTES, s3Error, TEST_CONFIG } from '../support/handler';
import { createTable } from '../support/standins';

const s3Mock = mockClient(S3Client);
const REGION = 'us-east-1';
let dynalite: StandIn;
let dynamodb: DynamoDBClient;
let tables = 0;
const savedEnv = { ...process.env };
const savedCwd = process.cwd();
let workDir: string;

beforeAll(async () => {
  dynalite = await startDynalite();
  dynamodb = new DynamoDBClient({ region: REGION, endpoint: dynalite.endpoint, credentials: STANDIN_CREDENTIALS });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
    AWS_REGION: REGION,
  });
  // Checkpoints go to .tap in the working folder: a folder of this test's own.
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-reconcile-'));
  process.chdir(workDir);
});

afterAll(async () => {
  process.chdir(savedCwd);
  fs.rmSync(workDir, { recursive: true, force: true });
  process.env = savedEnv;
  dynamodb.destroy();
  await dynalite?.close();
});

beforeEach(() => s3Mock.reset());

/** A new table (capacity high enough not to slow the test) and a bucket answering the S3 client. */
async function setUp(capacity = 1000) {
  const table = `tap-reconcile-${++tables}`;
  const bucket = new FakeBucket('tap-reconcile-uploads');
  bucket.install(s3Mock);
  await createTable(dynamodb, table, { tableReadCapacity: capacity, tableWriteCapacity: capacity });
  return { table, bucket };
}

/** The handler's own code on the fake bucket and dynalite, processing at `at` (handlerWith's time by default). */
const pipeline = (table: string, at?: string) =>
  handlerWith({ s3: new S3Client({ region: REGION }), dynamodb }, {}, { ...TEST_CONFIG, tableName: table }, at).handler;

/** Every item of the table, by "key@versionId". */
async function itemsOf(table: string): Promise<Record<string, Record<string, unknown>>> {
  const { Items = [] } = await dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return Object.fromEntries(
    Items.map((i) => unmarshall(i)).map((item) => [`${item.objectKey}@${item.versionId}`, item]),
  );
}

/** `tap reconcile args...` in-process: exit code, stdout, stderr, and the JSON printed (with --json). */
async function reconcile(...args: string[]) {
  const run = await runTap(['reconcile', ...args]);
  const json =
    args.includes('--json') && run.code !== 2 && run.stdout ? (JSON.parse(run.stdout) as ReconcileJson) : undefined;
  return { ...run, json: json! };
}

const on = (bucket: FakeBucket, table: string) => ['--bucket', bucket.name, '--table', table];

describe('tap reconcile as the backfill of a bucket that held objects before the stack', () => {
  it('finds every version and delete marker missing, writes them as create events would, and then finds none', async () => {
    // Prepare: objects uploaded before the stack existed (no event ever sent), the table empty
    const { table, bucket } = await setUp();
    bucket.put('a.txt', 'first');
    bucket.put('a.txt', 'second');
    bucket.put('photos/pixel.png', PNG_BYTES, { contentType: 'image/png' });
    bucket.put('archive/old.bin', 'cold', { storageClass: 'GLACIER' });
    bucket.put('empty.txt', '');
    bucket.put('gone.txt', 'x');
    const marker = bucket.deleteMarker('gone.txt');
    bucket.put('legacy.txt', 'from before versioning', { versionId: 'null' });
    // Act
    const check = await reconcile(...on(bucket, table), '--json');
    const repair = await reconcile(...on(bucket, table), '--repair', '--json');
    const again = await reconcile(...on(bucket, table), '--repair', '--json');
    // Assess
    expect(check).toMatchObject({ code: 1, stderr: '' });
    expect(Object.keys(check.json)).toEqual([
      'bucket',
      'table',
      'prefix',
      'repair',
      'versionsInBucket',
      'deleteMarkers',
      'keysInBucket',
      'itemsInTable',
      'missing',
      'extra',
      'stale',
      'staleByReason',
      'repaired',
      'skipped',
      'vanished',
      'failed',
      'remaining',
      'samples',
      'capacity',
      'resumed',
      'interrupted',
      'durationMs',
    ]);
    expect(Object.keys(check.json.samples)).toEqual(['missing', 'extra', 'stale', 'failed']);
    expect(check.json.capacity).toMatchObject({ writeShare: 0.5, readShare: 0.5, writeUnitsPerSecond: 500, writes: 0 });
    expect(check.json.samples.missing[0]).toEqual({ key: 'a.txt', versionId: 'v0002', deleteMarker: false });
    expect(check.json).toMatchObject({ versionsInBucket: 8, deleteMarkers: 1, keysInBucket: 6, itemsInTable: 0 });
    expect(check.json).toMatchObject({ missing: 8, extra: 0, stale: 0, repaired: 0, remaining: 8 });
    expect(repair).toMatchObject({ code: 0, stderr: '' });
    expect(repair.json).toMatchObject({
      missing: 8,
      repaired: 8,
      skipped: 0,
      failed: 0,
      remaining: 0,
      itemsInTable: 8,
    });
    expect(again.json).toMatchObject({ missing: 0, extra: 0, stale: 0, repaired: 0, remaining: 0, itemsInTable: 8 });
    expect(again.code).toBe(0);
    const items = await itemsOf(table);
    for (const item of Object.values(items)) {
      expect(item).toMatchObject({ eventName: 'tap:Reconcile', sequencer: LOWEST_SEQUENCER, bucket: bucket.name });
    }
    const png = bucket.find('photos/pixel.png')!;
    expect(items[`photos/pixel.png@${png.versionId}`]).toMatchObject({
      status: 'present',
      detectedContentType: 'image/png',
      storageClass: 'STANDARD',
      size: PNG_BYTES.length,
    });
    expect(items[`archive/old.bin@${bucket.find('archive/old.bin')!.versionId}`]).toMatchObject({
      status: 'unreadable',
      unreadableReason: 'archived-storage-class',
      storageClass: 'GLACIER',
    });
    expect(items[`gone.txt@${marker.versionId}`]).toMatchObject({ status: 'present', deleteMarker: true });
    expect(items['legacy.txt@null']).toMatchObject({ status: 'present', versionId: 'null', size: 22 });
    expect(items[`empty.txt@${bucket.find('empty.txt')!.versionId}`]).toMatchObject({ status: 'present', size: 0 });
  });

  it('prints a summary for people, and nothing on stderr when stderr is not a terminal', async () => {
    // Prepare
    const { table, bucket } = await setUp();
    bucket.put('one.txt', '1');
    bucket.put('two.txt', '2');
    // Act
    const check = await reconcile(...on(bucket, table));
    const repair = await reconcile(...on(bucket, table), '--repair');
    // Assess
    expect(check.code).toBe(1);
    expect(check.stderr).toBe('');
    const lines = check.stdout.split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^Reconciling bucket ${bucket.name} with table ${table}: writes up to 500 WCU/s, reads up to 500 RCU/s$`,
      ),
    );
    expect(lines).toContain('versions in bucket  2 (0 delete markers, 2 keys)');
    expect(lines).toContain('samples (at most 10 of each):');
    expect(lines).toContain('missing             2');
    expect(lines).toContain(`  missing  one.txt@${bucket.find('one.txt')!.versionId}`);
    expect(lines.at(-1)).toBe('drift remains on 2 versions: run with --repair to fix it');
    expect(repair.code).toBe(0);
    expect(repair.stdout).toMatch(
      /^repaired {12}2; skipped 0 \(changed by an event since read\), vanished 0, failed 0$/m,
    );
    expect(repair.stdout.split('\n').at(-1)).toBe('no drift remains');
  });
});

describe('tap reconcile --repair on drift', () => {
  it('finds each kind of drift, repairs it by its rule, and a second run repairs nothing', async () => {
    // Prepare: a bucket and the items the pipeline wrote from its events
    const { table, bucket } = await setUp();
    const lostItem = bucket.put('lost-item.txt', 'its item was deleted by hand');
    const expiredUnseen = bucket.put('photos/pixel.png', PNG_BYTES, { contentType: 'image/png' });
    const current = bucket.put('photos/pixel.png', PNG_BYTES, { contentType: 'image/png' });
    const wronglyDeleted = bucket.put('report.pdf', '%PDF-1.4');
    const transitioned = bucket.put('cold/data.csv', 'a,b');
    const markerKey = bucket.put('removed.txt', 'x');
    const marker = bucket.deleteMarker('removed.txt');
    const resized = bucket.put('sized.txt', 'twelve bytes');
    const deletedByEvent = bucket.put('history.txt', 'old');
    bucket.put('history.txt', 'new');
    await pipeline(table)(s3Event(...bucket.versions.map((v) => bucket.eventOf(v))));
    bucket.remove('history.txt', deletedByEvent.versionId);
    await pipeline(table)(
      s3Event(
        s3Record({
          bucket: bucket.name,
          key: 'history.txt',
          versionId: deletedByEvent.versionId,
          eventName: 'ObjectRemoved:Delete',
          sequencer: 'FFFF',
        }),
      ),
    );
    // ...then drift
    const versions = { lostItem, expiredUnseen, wronglyDeleted, transitioned, marker, resized };
    await drift(dynamodb, table, bucket, versions, 'never-in-bucket.txt');
    const before = await itemsOf(table);
    // Act
    const repair = await reconcile(...on(bucket, table), '--repair', '--json');
    const again = await reconcile(...on(bucket, table), '--repair', '--json');
    // Assess
    expect(repair.json).toMatchObject({ missing: 1, extra: 2, stale: 4, repaired: 7, skipped: 0, remaining: 0 });
    expect(repair.json.staleByReason).toEqual({ status: 1, deleteMarker: 1, storageClass: 1, content: 1 });
    expect(repair.code).toBe(0);
    expect(again.json).toMatchObject({ missing: 0, extra: 0, stale: 0, repaired: 0, remaining: 0 });
    expect(again.code).toBe(0);
    const after = await itemsOf(table);
    const at = (v: Pick<FakeVersion, 'key' | 'versionId'>) => after[`${v.key}@${v.versionId}`];
    expect(at(lostItem)).toMatchObject({ status: 'present', eventName: 'tap:Reconcile', sequencer: LOWEST_SEQUENCER });
    // An extra keeps its metadata and sequencer (so the real delete or expiry event still wins).
    const extra = before[`photos/pixel.png@${expiredUnseen.versionId}`];
    expect(at(expiredUnseen)).toMatchObject({
      status: 'deleted',
      eventName: 'tap:Reconcile',
      sequencer: extra.sequencer,
      detectedContentType: 'image/png',
    });
    expect(at(expiredUnseen).requester).toBeUndefined();
    expect(after['never-in-bucket.txt@v9999']).toMatchObject({ status: 'deleted', eventName: 'tap:Reconcile' });
    expect(at(current)).toEqual(before[`photos/pixel.png@${current.versionId}`]);
    expect(at(wronglyDeleted)).toMatchObject({ status: 'present', eventName: 'tap:Reconcile' });
    // A lost transition changes the class only: the item stays present, with the type read before.
    expect(at(transitioned)).toMatchObject({
      status: 'present',
      storageClass: 'GLACIER',
      eventName: 'ObjectCreated:Put',
      sequencer: before[`cold/data.csv@${transitioned.versionId}`].sequencer,
    });
    expect(at(marker)).toMatchObject({ status: 'present', deleteMarker: true });
    expect(at(markerKey)).toEqual(before[`removed.txt@${markerKey.versionId}`]);
    expect(at(resized)).toMatchObject({ status: 'present', size: 12 });
    // History is not drift: the version deleted by its event keeps its item, deleted.
    expect(at(deletedByEvent)).toMatchObject({ status: 'deleted', eventName: 'ObjectRemoved:Delete' });
    expect(repair.json.samples.extra.map((s) => s.key).sort()).toEqual(['never-in-bucket.txt', 'photos/pixel.png']);
    expect(repair.json.samples.stale.map((s) => s.reason).sort()).toEqual([
      'content',
      'deleteMarker',
      'status',
      'storageClass',
    ]);
  });

  it('never overwrites an item an event wrote between reconcile reading it and repairing it', async () => {
    // Prepare: three drifts, and for each an event processed by the handler at the worst moment
    const { table, bucket } = await setUp();
    const stale = bucket.put('stale.txt', 'exists');
    const extra = bucket.put('extra.txt', 'removed without an event');
    const missing = bucket.put('missing.txt', 'event not processed yet');
    await pipeline(table)(s3Event(bucket.eventOf(stale), bucket.eventOf(extra)));
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: itemKeyOf(stale),
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: marshall({ ':s': 'gone' }),
      }),
    );
    bucket.remove('extra.txt', extra.versionId);
    const later = pipeline(table, '2026-11-30T08:00:00.000Z');
    const events: Record<string, S3EventRecord> = {
      // A transition carries no sequencer: only processedAt tells its write apart.
      [stale.key]: {
        ...s3Record({
          bucket: bucket.name,
          key: stale.key,
          versionId: stale.versionId,
          eventName: 'LifecycleTransition',
          eventTime: '2026-11-30T07:59:00.000Z',
        }),
        lifecycleEventData: { transitionEventData: { destinationStorageClass: 'STANDARD_IA' } },
      } as S3EventRecord,
      [extra.key]: s3Record({
        bucket: bucket.name,
        key: extra.key,
        versionId: extra.versionId,
        eventName: 'ObjectRemoved:Delete',
        sequencer: 'FFFFFF',
      }),
      [missing.key]: bucket.eventOf(missing),
    };
    const delivered = new Set<string>();
    const deliverOnce = async (key: string) => {
      if (delivered.has(key) || !events[key]) return;
      delivered.add(key);
      await later(s3Event(events[key]));
    };
    // The repair of stale and missing reads the version: the event lands during that read. The
    // extra is looked at again (items, then the key's listing): the event lands during that listing.
    s3Mock.on(ListObjectVersionsCommand).callsFake(async (input: ListObjectVersionsCommandInput) => {
      if (input.Prefix === extra.key) await deliverOnce(extra.key);
      return bucket.listPage(input);
    });
    s3Mock.on(HeadObjectCommand).callsFake(async (input: { Key: string; VersionId?: string }) => {
      await deliverOnce(input.Key);
      return bucket.head(input);
    });
    // Act
    const result = await reconcile(...on(bucket, table), '--repair', '--json');
    // Assess
    expect(result.json).toMatchObject({ missing: 1, extra: 1, stale: 1, repaired: 0, skipped: 3, remaining: 3 });
    expect(result.code).toBe(1);
    const items = await itemsOf(table);
    expect(items[`stale.txt@${stale.versionId}`]).toMatchObject({
      status: 'gone',
      storageClass: 'STANDARD_IA',
      processedAt: '2026-11-30T08:00:00.000Z',
      storageClassAsOf: '2026-11-30T07:59:00.000Z',
    });
    expect(items[`extra.txt@${extra.versionId}`]).toMatchObject({
      status: 'deleted',
      eventName: 'ObjectRemoved:Delete',
      requester: 'AWS:EXAMPLE',
    });
    expect(items[`missing.txt@${missing.versionId}`]).toMatchObject({
      status: 'present',
      eventName: 'ObjectCreated:Put',
      sequencer: missing.sequencer.padEnd(32, '0'),
    });
  });
});

describe('tap reconcile after an interruption', () => {
  /** 13 keys (14 versions) in pages of 4 entries; ListObjectVersions fails on its `n`th call from now, once. */
  async function interruptedBucket(n: number) {
    const setup = await setUp();
    for (let i = 0; i < 13; i++) setup.bucket.put(`k/${String(i).padStart(2, '0')}.txt`, `content ${i}`);
    setup.bucket.put('k/05.txt', 'a second version, so a key spans two pages');
    const failOnCall = (failOn: number) => {
      let calls = 0;
      s3Mock.on(ListObjectVersionsCommand).callsFake(async (input: ListObjectVersionsCommandInput) => {
        if (++calls === failOn) throw s3Error('InternalError', 500, 'We encountered an internal error');
        return setup.bucket.listPage(input);
      });
    };
    failOnCall(n);
    return { ...setup, failOnCall };
  }

  const checkpoints = () => (fs.existsSync('.tap') ? fs.readdirSync('.tap') : []);

  it('keeps a checkpoint, resumes from it after the last key done, and removes it once complete', async () => {
    // Prepare
    const { table, bucket } = await interruptedBucket(3);
    // Act
    const first = await reconcile(...on(bucket, table), '--repair', '--json');
    const saved = checkpoints();
    const checkpoint = JSON.parse(
      fs.readFileSync(
        path.join(
          '.tap',
          saved.find((f) => f.endsWith('.json'))!,
        ),
        'utf8',
      ),
    );
    const listedBefore = bucket.listCalls.length;
    const second = await reconcile(...on(bucket, table), '--repair', '--json');
    // Assess
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(
      /^tap: reconcile stopped: InternalError: We encountered an internal error \(HTTP 500\); run the same command again to go on/,
    );
    expect(saved.sort()).toEqual([
      expect.stringMatching(/^reconcile-tap-reconcile-uploads\.tap-reconcile-\d+-[0-9a-f]{10}\.json$/),
      expect.stringMatching(/^reconcile-tap-reconcile-uploads\.tap-reconcile-\d+-[0-9a-f]{10}\.keys$/),
    ]);
    expect(checkpoint).toMatchObject({ phase: 'listing', lastKey: 'k/05.txt', keysRecorded: 6 });
    expect(checkpoint.counters).toMatchObject({ versionsInBucket: 7, missing: 7, repaired: 7 });
    expect(bucket.listCalls[listedBefore]).toMatchObject({ KeyMarker: 'k/05.txt', VersionIdMarker: undefined });
    expect(second.code).toBe(0);
    expect(second.json).toMatchObject({ resumed: true, versionsInBucket: 14, keysInBucket: 13, missing: 14 });
    expect(second.json).toMatchObject({ repaired: 14, remaining: 0, itemsInTable: 14 });
    expect(Object.keys(await itemsOf(table))).toHaveLength(14);
    expect(checkpoints()).toEqual([]);
  });

  it('starts over when the checkpoint is of a run without --repair, and with --restart', async () => {
    // Prepare
    const { table, bucket, failOnCall } = await interruptedBucket(2);
    await reconcile(...on(bucket, table), '--json');
    // Act
    const otherMode = await reconcile(...on(bucket, table), '--repair', '--json');
    failOnCall(2);
    await reconcile(...on(bucket, table), '--repair', '--json');
    const kept = checkpoints();
    const restarted = await reconcile(...on(bucket, table), '--repair', '--json', '--restart');
    // Assess
    expect(otherMode.stderr).toMatch(/^tap: started over: .*\.json is of a run without --repair$/);
    expect(otherMode.json).toMatchObject({ resumed: false, versionsInBucket: 14, repaired: 14 });
    expect(kept).toHaveLength(2);
    expect(restarted.json).toMatchObject({ resumed: false, versionsInBucket: 14, missing: 0, remaining: 0 });
    expect(checkpoints()).toEqual([]);
  });
});

describe('tap reconcile exit codes for wrong resources', () => {
  it('names a missing table in one line, exit code 2', async () => {
    // Prepare
    const bucket = new FakeBucket('tap-reconcile-uploads');
    bucket.install(s3Mock);
    // Act
    const result = await reconcile('--bucket', bucket.name, '--table', 'no-such-table');
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tap: DynamoDB table "no-such-table" does not exist \(ResourceNotFoundException\)/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a missing bucket in one line, exit code 2', async () => {
    // Prepare
    const { table } = await setUp();
    s3Mock.on(ListObjectVersionsCommand).rejects(s3Error('NoSuchBucket', 404, 'The specified bucket does not exist'));
    // Act
    const result = await reconcile('--bucket', 'no-such-bucket', '--table', table, '--json');
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tap: S3 bucket "no-such-bucket" does not exist \(NoSuchBucket\)/);
    expect(result.stdout).toBe('');
  });

  it('refuses a write share outside (0, 1]', async () => {
    // Act
    const result = await reconcile('--table', 't', '--bucket', 'b', '--write-share', '1.5');
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/expected a share above 0, at most 1/);
  });
});
