// tap reconcile --inventory/--export: the same drifted state (the bucket a versioned fake behind
// aws-sdk-client-mock, the table on dynalite, items written by the handler's own code, then drift) read
// once through ListObjectVersions, Query and Scan and once from an S3 Inventory report and a DynamoDB
// export written from that state in AWS's formats (fixtures/inventory.ts, fixtures/table-export.ts),
// served from a folder as S3 would serve them. Every DynamoDB call is recorded by a spy that passes
// through to dynalite, and answers DescribeExport and ExportTableToPointInTime, which dynalite lacks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  AttributeValue,
  DescribeExportCommand,
  DynamoDBClient,
  ExportTableToPointInTimeCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { ReconcileJson } from '../../cli/commands/reconcile';
import { decodeS3Key } from '../../handler/event';
import { StandIn, startDynalite, STANDIN_CREDENTIALS } from '../../fixtures/standins';
import { s3Event } from '../../fixtures/s3-events';
import { InventoryRow, listObjects, serveObject, writeInventory } from '../../fixtures/inventory';
import { writeExport } from '../../fixtures/table-export';
import { drift, FakeBucket, FakeVersion } from '../support/reconcile-bucket';
import { runTap } from '../support/cli';
import { handlerWith, PNG_BYTES, TEST_CONFIG } from '../support/handler';
import { createTable } from '../support/standins';

const s3Mock = mockClient(S3Client);
const REGION = 'us-east-1';
const FILES_BUCKET = 'tap-reconcile-files';
const ACCOUNT = '000000000000';
let dynalite: StandIn;
let dynamodb: DynamoDBClient;
let tables = 0;
const savedEnv = { ...process.env };
const savedCwd = process.cwd();
let workDir: string;
let folder: string;

/** DynamoDB calls by command name; DescribeExport and ExportTableToPointInTime answered by `exports`. */
const ddbCalls: string[] = [];
let exports: { describe?: (arn: string) => unknown; start?: (input: Record<string, unknown>) => Promise<unknown> } = {};
const realSend = DynamoDBClient.prototype.send;

beforeAll(async () => {
  dynalite = await startDynalite();
  dynamodb = new DynamoDBClient({ region: REGION, endpoint: dynalite.endpoint, credentials: STANDIN_CREDENTIALS });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
    AWS_REGION: REGION,
  });
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-reconcile-files-'));
  process.chdir(workDir);
  jest.spyOn(DynamoDBClient.prototype, 'send').mockImplementation(function (
    this: DynamoDBClient,
    command: { input: Record<string, unknown> },
  ) {
    ddbCalls.push(command.constructor.name);
    if (command instanceof DescribeExportCommand && exports.describe) {
      return Promise.resolve({ ExportDescription: exports.describe(command.input.ExportArn as string) });
    }
    if (command instanceof ExportTableToPointInTimeCommand && exports.start) return exports.start(command.input);
    return (realSend as (c: unknown) => Promise<unknown>).call(this, command);
  } as never);
});

afterAll(async () => {
  jest.restoreAllMocks();
  process.chdir(savedCwd);
  fs.rmSync(workDir, { recursive: true, force: true });
  process.env = savedEnv;
  dynamodb.destroy();
  await dynalite?.close();
});

beforeEach(() => {
  s3Mock.reset();
  ddbCalls.length = 0;
  exports = {};
  folder = fs.mkdtempSync(path.join(workDir, 'files-'));
});

async function setUp() {
  const table = `tap-reconcile-files-${++tables}`;
  const bucket = new FakeBucket('tap-reconcile-uploads');
  bucket.install(s3Mock);
  s3Mock.on(GetObjectCommand, { Bucket: FILES_BUCKET }).callsFake((input) => serveObject(folder, input));
  s3Mock.on(ListObjectsV2Command).callsFake((input) => listObjects(folder, input));
  await createTable(dynamodb, table, { tableReadCapacity: 1000, tableWriteCapacity: 1000 });
  return { table, bucket, tableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}` };
}

/** The bucket's versions as an inventory of all versions lists them. */
function inventoryRows(bucket: FakeBucket): InventoryRow[] {
  const newest = new Map<string, FakeVersion>();
  for (const v of bucket.versions) {
    if ((newest.get(v.key)?.lastModified ?? new Date(0)) < v.lastModified) newest.set(v.key, v);
  }
  return bucket.versions.map((v) => ({
    key: v.key,
    versionId: v.versionId,
    isLatest: newest.get(v.key) === v,
    deleteMarker: v.deleteMarker,
    lastModified: v.lastModified,
    ...(v.deleteMarker ? {} : { size: v.body.length, eTag: bucket.eTag(v), storageClass: v.storageClass }),
  }));
}

/** Every item of the table, in DynamoDB JSON, as an export holds them. */
async function tableItems(table: string): Promise<Record<string, AttributeValue>[]> {
  const { Items = [] } = await dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return Items;
}

/** Writes the inventory of `bucket` and the export of `table` (two files each, to merge across files). */
async function filesOf(
  bucket: FakeBucket,
  table: string,
  format: 'CSV' | 'Parquet' = 'CSV',
  layout: 'aws' | 'moto' = 'aws',
) {
  const rows = inventoryRows(bucket);
  const inventory = await writeInventory(folder, {
    sourceBucket: bucket.name,
    destinationBucket: FILES_BUCKET,
    format,
    rows,
    rowsPerFile: Math.ceil(rows.length / 2),
  });
  const items = await tableItems(table);
  const exported = await writeExport(folder, {
    bucket: FILES_BUCKET,
    prefix: 'exports',
    layout,
    tableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}`,
    items,
    itemsPerFile: Math.max(1, Math.ceil(items.length / 2)),
  });
  return { inventory, exported };
}

const pipeline = (table: string) =>
  handlerWith({ s3: new S3Client({ region: REGION }), dynamodb }, {}, { ...TEST_CONFIG, tableName: table }).handler;

async function reconcile(...args: string[]) {
  const run = await runTap(['reconcile', ...args]);
  const json =
    args.includes('--json') && run.code !== 2 && run.stdout ? (JSON.parse(run.stdout) as ReconcileJson) : undefined;
  return { ...run, json: json! };
}

const on = (bucket: FakeBucket, table: string) => ['--bucket', bucket.name, '--table', table];
/** The flags of a run from files: `filesOf`'s inventory and export for `bucket` and `table`. */
const filesArgs = (bucket: FakeBucket, table: string, files: { inventory: string; exported: { url: string } }) => [
  ...on(bucket, table),
  '--inventory',
  files.inventory,
  '--export',
  files.exported.url,
];

/** A report without what differs by nature between two runs: time, reads, sample order. */
const comparable = (json: ReconcileJson) => ({
  ...json,
  durationMs: 0,
  capacity: { ...json.capacity, readUnits: 0 },
  samples: Object.fromEntries(
    Object.entries(json.samples).map(([kind, list]) => [kind, [...list].sort((a, b) => (a.key < b.key ? -1 : 1))]),
  ),
});

/** Every kind of drift, keys with spaces, '+', '%' and non-ASCII among them. */
async function driftedState() {
  const { table, bucket, tableArn } = await setUp();
  const lostItem = bucket.put('lost item+1%.txt', 'its item was deleted by hand');
  const expiredUnseen = bucket.put('photos/pixel.png', PNG_BYTES, { contentType: 'image/png' });
  bucket.put('photos/pixel.png', PNG_BYTES, { contentType: 'image/png' });
  const wronglyDeleted = bucket.put('rapport été.pdf', '%PDF-1.4');
  const transitioned = bucket.put('cold/data.csv', 'a,b');
  bucket.put('removed.txt', 'x');
  const marker = bucket.deleteMarker('removed.txt');
  const resized = bucket.put('sized.txt', 'twelve bytes');
  bucket.put('fine 100%+ok ✓.txt', 'in step');
  bucket.put('legacy.txt', 'from before versioning', { versionId: 'null' });
  await pipeline(table)(s3Event(...bucket.versions.map((v) => bucket.eventOf(v))));
  const neverProcessed = bucket.put('later upload.txt', 'its event was lost');
  const versions = { lostItem, expiredUnseen, wronglyDeleted, transitioned, marker, resized };
  await drift(dynamodb, table, bucket, versions, 'never in bucket.txt');
  return { table, bucket, tableArn, missing: [lostItem, neverProcessed] };
}

describe('tap reconcile from an S3 Inventory report and a DynamoDB export', () => {
  it('gives the listing-based report and exit code on the same drift, with 0 LIST, Query and Scan calls', async () => {
    // Prepare
    const { table, bucket } = await driftedState();
    const listed = await reconcile(...on(bucket, table), '--json');
    const listedText = await reconcile(...on(bucket, table));
    const csv = await filesOf(bucket, table, 'CSV', 'aws');
    const parquet = await filesOf(bucket, table, 'Parquet', 'moto');
    s3Mock.resetHistory();
    ddbCalls.length = 0;
    // Act
    const fromCsv = await reconcile(...filesArgs(bucket, table, csv), '--json');
    const fromParquet = await reconcile(...filesArgs(bucket, table, parquet), '--json');
    const fromCsvText = await reconcile(...filesArgs(bucket, table, csv));
    // Assess
    expect(listed.json).toMatchObject({ missing: 2, extra: 2, stale: 4, remaining: 8, itemsInTable: 10 });
    expect(listed.json.staleByReason).toEqual({ status: 1, deleteMarker: 1, storageClass: 1, content: 1 });
    expect(listed.code).toBe(1);
    expect(fromCsv).toMatchObject({ code: 1, stderr: '' });
    expect(fromParquet).toMatchObject({ code: 1, stderr: '' });
    expect(comparable(fromCsv.json)).toEqual(comparable(listed.json));
    expect(comparable(fromParquet.json)).toEqual(comparable(listed.json));
    expect(fromCsv.json.capacity.readUnits).toBe(0);
    expect(listed.json.capacity.readUnits).toBeGreaterThan(0);
    const lines = (text: string) => text.split('\n').slice(1).sort();
    expect(lines(fromCsvText.stdout)).toEqual(lines(listedText.stdout));
    expect(fromCsvText.stdout.split('\n')[0]).toContain(`(inventory ${csv.inventory})`);
    expect(s3Mock.commandCalls(ListObjectVersionsCommand)).toHaveLength(0);
    // moto's layout has no manifest: its folder is listed (the export's, never the uploads bucket).
    expect(s3Mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Bucket)).toEqual([FILES_BUCKET]);
    expect(ddbCalls.filter((name) => /Query|Scan|GetItem/.test(name))).toEqual([]);
    expect(ddbCalls).toEqual(['DescribeTableCommand', 'DescribeTableCommand', 'DescribeTableCommand']);
  });

  it('writes the missing versions as a Batch Operations CSV manifest, keys URL-encoded, the same from the listing', async () => {
    // Prepare
    const { table, bucket, missing } = await driftedState();
    const { inventory, exported } = await filesOf(bucket, table);
    // Act
    const fromFiles = await reconcile(
      ...filesArgs(bucket, table, { inventory, exported }),
      '--manifest-out',
      'from-files.csv',
    );
    const fromListing = await reconcile(...on(bucket, table), '--manifest-out', 'from-listing.csv', '--json');
    // Assess
    const rows = fs.readFileSync('from-files.csv', 'utf8');
    expect(rows).toBe(
      `${bucket.name},later%20upload.txt,${missing[1].versionId}\n` +
        `${bucket.name},lost%20item%2B1%25.txt,${missing[0].versionId}\n`,
    );
    expect(fs.readFileSync('from-listing.csv', 'utf8')).toBe(rows);
    // Read back as S3 reads URL-encoded keys, '+' for a space or not, the keys are the bucket's.
    for (const [row, version] of rows
      .trim()
      .split('\n')
      .map((r, i) => [r.split(','), missing[1 - i]] as const)) {
      expect(decodeS3Key(row[1])).toBe(version.key);
      expect(decodeURIComponent(row[1])).toBe(version.key);
    }
    expect(fromFiles.stdout).toMatch(/^manifest {12}2 missing versions in .*from-files\.csv \(bucket,key,versionId\)/m);
    expect(fromListing.json.manifestOut).toEqual({ file: path.resolve('from-listing.csv'), rows: 2 });
  });

  it('encodes spaces, plus, percent, slashes and non-ASCII keys so that they decode to the key', async () => {
    // Prepare: every version missing (an empty table)
    const { table, bucket } = await setUp();
    const keys = ['a b.txt', 'c+d.txt', '100%.txt', 'dir/café ✓/naïve.txt', 'comma,quote".txt'];
    const versions = keys.map((key) => bucket.put(key, key));
    const { inventory, exported } = await filesOf(bucket, table);
    // Act
    const result = await reconcile(
      ...filesArgs(bucket, table, { inventory, exported }),
      '--json',
      '--manifest-out',
      'all.csv',
    );
    const narrowed = await reconcile(
      ...filesArgs(bucket, table, { inventory, exported }),
      '--json',
      '--prefix',
      'dir/',
    );
    // Assess
    expect(narrowed.json).toMatchObject({ prefix: 'dir/', missing: 1, versionsInBucket: 1, keysInBucket: 1 });
    expect(result.json).toMatchObject({ missing: 5, versionsInBucket: 5, itemsInTable: 0 });
    const rows = fs
      .readFileSync('all.csv', 'utf8')
      .trim()
      .split('\n')
      .map((r) => r.split(','));
    expect(rows.map((r) => r[1]).sort()).toEqual(
      [
        'a%20b.txt',
        'c%2Bd.txt',
        '100%25.txt',
        'dir/caf%C3%A9%20%E2%9C%93/na%C3%AFve.txt',
        'comma%2Cquote%22.txt',
      ].sort(),
    );
    expect(rows.map((r) => [decodeS3Key(r[1]), r[2]]).sort()).toEqual(versions.map((v) => [v.key, v.versionId]).sort());
  });

  it('finds the export by its ARN, or exports the table now and waits for it', async () => {
    // Prepare
    const { table, bucket, tableArn } = await driftedState();
    const { inventory, exported } = await filesOf(bucket, table);
    const listed = await reconcile(...on(bucket, table), '--json');
    let polls = 0;
    exports.describe = (arn) =>
      arn === exported.arn
        ? { ExportArn: arn, ExportStatus: 'COMPLETED', TableArn: tableArn, S3Bucket: FILES_BUCKET, S3Prefix: 'exports' }
        : {
            ExportArn: arn,
            ExportStatus: ++polls < 2 ? 'IN_PROGRESS' : 'COMPLETED',
            TableArn: tableArn,
            S3Bucket: FILES_BUCKET,
            S3Prefix: `tap-reconcile/${table}`,
          };
    const started: Record<string, unknown>[] = [];
    exports.start = async (input) => {
      started.push(input);
      // As moto writes it: a data file in a folder of its own, no manifest.
      await writeExport(folder, {
        bucket: FILES_BUCKET,
        prefix: input.S3Prefix as string,
        layout: 'moto',
        tableArn,
        items: await tableItems(table),
      });
      return { ExportDescription: { ExportArn: `${tableArn}/export/now`, ExportStatus: 'IN_PROGRESS' } };
    };
    // Act
    const byArn = await reconcile(...on(bucket, table), '--inventory', inventory, '--export', exported.arn, '--json');
    const now = await reconcile(
      ...on(bucket, table),
      '--inventory',
      inventory,
      '--export',
      'new',
      '--export-bucket',
      FILES_BUCKET,
      '--json',
    );
    // Assess
    expect(comparable(byArn.json)).toEqual(comparable(listed.json));
    expect(comparable(now.json)).toEqual(comparable(listed.json));
    expect(started).toEqual([
      { TableArn: tableArn, S3Bucket: FILES_BUCKET, S3Prefix: `tap-reconcile/${table}`, ExportFormat: 'DYNAMODB_JSON' },
    ]);
    // Polled until COMPLETED (IN_PROGRESS, COMPLETED), then described once more to find its files.
    expect(polls).toBe(3);
  });

  it('names the reason of a failed export', async () => {
    // Prepare
    const { table, bucket, tableArn } = await setUp();
    const { inventory } = await filesOf(bucket, table);
    exports.start = async () => ({
      ExportDescription: { ExportArn: `${tableArn}/export/x`, ExportStatus: 'IN_PROGRESS' },
    });
    exports.describe = (arn) => ({
      ExportArn: arn,
      ExportStatus: 'FAILED',
      FailureCode: 'S3NoSuchBucket',
      FailureMessage: 'The specified bucket does not exist',
    });
    // Act
    const result = await reconcile(
      ...on(bucket, table),
      '--inventory',
      inventory,
      '--export',
      'new',
      '--export-bucket',
      'nope',
    );
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `tap: export ${tableArn}/export/x failed: S3NoSuchBucket: The specified bucket does not exist`,
    );
  });
});

describe('tap reconcile from files refuses what it cannot read, in one line', () => {
  /** A manifest.json with `change` applied, written beside the fixture's data files; its URL. */
  async function manifestWith(change: (manifest: Record<string, unknown>) => void) {
    const { table, bucket } = await setUp();
    bucket.put('a.txt', 'a');
    const { inventory, exported } = await filesOf(bucket, table);
    const file = path.join(folder, FILES_BUCKET, inventory.slice(`s3://${FILES_BUCKET}/`.length));
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    change(manifest);
    fs.writeFileSync(file, JSON.stringify(manifest));
    return filesArgs(bucket, table, { inventory, exported });
  }

  it.each([
    [
      'an ORC inventory',
      (m: Record<string, unknown>) => (m.fileFormat = 'ORC'),
      /fileFormat "ORC" is not supported: configure the inventory as CSV or Parquet$/,
    ],
    [
      'no fileSchema',
      (m: Record<string, unknown>) => delete m.fileSchema,
      /: "fileSchema" is missing or not a string$/,
    ],
    [
      'an inventory of current versions only',
      (m: Record<string, unknown>) => (m.fileSchema = 'Bucket, Key, Size, ETag, StorageClass'),
      /"fileSchema" lacks version_id, is_latest, is_delete_marker: reconcile needs an inventory of all versions/,
    ],
    [
      'a file without its key',
      (m: Record<string, unknown>) => (m.files = [{ size: 1 }]),
      /: "files\[0\]\.key" is missing$/,
    ],
    [
      'another bucket',
      (m: Record<string, unknown>) => (m.sourceBucket = 'other'),
      /is of bucket "other", not "tap-reconcile-uploads"/,
    ],
  ])('%s', async (_, change, message) => {
    // Prepare
    const args = await manifestWith(change);
    // Act
    const result = await reconcile(...args);
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tap: /);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('\n');
  });

  it('refuses --repair with files, pointing to --manifest-out and tap backfill, and --inventory alone', async () => {
    // Act
    const repair = await reconcile(
      '--bucket',
      'b',
      '--table',
      't',
      '--inventory',
      's3://x/m.json',
      '--export',
      's3://x/e/',
      '--repair',
    );
    const alone = await reconcile('--bucket', 'b', '--table', 't', '--inventory', 's3://x/m.json');
    // Assess
    expect(repair.code).toBe(2);
    expect(repair.stderr).toMatch(
      /--repair needs the live listing and table .* --manifest-out FILE, upload it, and run tap backfill --manifest/,
    );
    expect(alone).toMatchObject({
      code: 2,
      stderr: 'tap: --inventory and --export go together: the bucket side from the one, the table side from the other',
    });
  });
});
