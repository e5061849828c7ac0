// tap reconcile from an S3 Inventory report and a DynamoDB export (cli/reconcile/files.ts) at a given
// number of versions: the files written in the documented formats (fixtures/inventory.ts: CSV, gzip,
// 1 million rows a file; fixtures/table-export.ts: AWS's layout, 1 million items a file), then one run in a
// process of its own, so that its peak RSS (DuckDB's native memory included) is the run's. The data is
// bench/fake-aws.ts's: keys "data/00000000"..., 4 entries each (every fourth key: a delete marker and 3
// versions), every entry with its item except entry 1 of every 200th key (missing), and one item saying
// present for a key the bucket lacks per 1,000 keys (extra). Objects are served from the local folder
// by an S3 client whose send() reads it (no sockets); the copy to the run's own folder, as a download
// would, is timed with the run.
//
//   npx tsx bench/reconcile-files.ts 1000000        prints one JSON line (FilesRun)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { reconcileFiles } from '../cli/reconcile/files';
import { InventoryRow, listObjects, serveObject, writeInventory } from '../fixtures/inventory';
import { writeExport } from '../fixtures/table-export';
import { ENTRIES_PER_KEY } from './fake-aws';

export interface FilesRun {
  readonly versions: number;
  readonly missing: number;
  readonly extra: number;
  /** Writing the files (not part of the run). */
  readonly generateMs: number;
  /** The run: files copied to its folder, read, sorted and compared. */
  readonly ms: number;
  /** Peak resident set size of the run's process, KB. */
  readonly maxRssKb: number;
}

const BUCKET = 'tap-bench-uploads';
const TABLE = 'tap-bench-metadata';
const FILES = 'tap-bench-operations';
const PER_FILE = 1_000_000;
const LAST_MODIFIED = new Date('2026-11-01T00:00:00.000Z');
const keyName = (i: number) => `data/${String(i).padStart(8, '0')}`;
const eTag = (i: number, j: number) => `${i.toString(16).padStart(24, '0')}${j.toString(16).padStart(8, '0')}`;
const size = (i: number) => 100 + (i % 900);
const isMarker = (i: number, j: number) => i % 4 === 0 && j === 0;

function* bucketRows(keys: number): Generator<InventoryRow> {
  for (let i = 0; i < keys; i++) {
    for (let j = 0; j < ENTRIES_PER_KEY; j++) {
      const base = { key: keyName(i), versionId: `e${j}`, isLatest: j === 0, lastModified: LAST_MODIFIED };
      yield isMarker(i, j)
        ? { ...base, deleteMarker: true }
        : { ...base, deleteMarker: false, size: size(i), eTag: eTag(i, j), storageClass: 'STANDARD' };
    }
  }
}

/** An item as the handler writes it (its usual attributes), in DynamoDB JSON. */
function item(key: string, versionId: string, i: number, j: number, marker: boolean): Record<string, AttributeValue> {
  const common = {
    objectKey: { S: key },
    versionId: { S: versionId },
    bucket: { S: BUCKET },
    status: { S: 'present' },
    eventName: { S: marker ? 'ObjectRemoved:DeleteMarkerCreated' : 'ObjectCreated:Put' },
    eventTime: { S: LAST_MODIFIED.toISOString() },
    sequencer: { S: `${i.toString(16).padStart(16, '0')}${j}`.padEnd(32, '0') },
    processedAt: { S: LAST_MODIFIED.toISOString() },
  };
  if (marker) return { ...common, deleteMarker: { BOOL: true } };
  return {
    ...common,
    size: { N: String(size(i)) },
    eTag: { S: eTag(i, j) },
    contentType: { S: 'application/octet-stream' },
    detectedContentType: { S: 'application/octet-stream' },
    extension: { S: '' },
    storageClass: { S: 'STANDARD' },
  };
}

function* tableItems(keys: number): Generator<Record<string, AttributeValue>> {
  for (let i = 0; i < keys; i++) {
    for (let j = 0; j < ENTRIES_PER_KEY; j++) {
      if (!(i % 200 === 0 && j === 1)) yield item(keyName(i), `e${j}`, i, j, isMarker(i, j));
    }
    if (i % 1000 === 0) yield item(`gone/${String(i).padStart(8, '0')}`, 'e0', i, 0, false);
  }
}

/** The run itself, in this process: prints its counts and peak RSS. */
async function runOn(folder: string, inventory: string, exported: string): Promise<void> {
  const send = (command: unknown) => {
    if (command instanceof GetObjectCommand) return serveObject(folder, command.input);
    if (command instanceof ListObjectsV2Command) return listObjects(folder, command.input);
    throw new Error(`the bench's S3 has no ${(command as object).constructor.name}`);
  };
  const s3 = { send } as unknown as S3Client;
  const started = Date.now();
  const report = await reconcileFiles(
    { s3, dynamodb: {} as DynamoDBClient },
    { inventory, export: exported },
    { bucket: BUCKET, table: TABLE, prefix: '', inScope: () => true },
  );
  const { versionsInBucket, missing, extra } = report.counters;
  const run = { versions: versionsInBucket, missing, extra, ms: Date.now() - started };
  process.stdout.write(`${JSON.stringify({ ...run, maxRssKb: process.resourceUsage().maxRSS })}\n`);
}

/** Writes the files for `versions` versions, runs reconcile on them in a child process, removes them. */
export async function measureFiles(versions: number): Promise<FilesRun> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-bench-files-'));
  try {
    const generated = Date.now();
    const keys = versions / ENTRIES_PER_KEY;
    const inventory = await writeInventory(folder, {
      sourceBucket: BUCKET,
      destinationBucket: FILES,
      format: 'CSV',
      rows: bucketRows(keys),
      rowsPerFile: PER_FILE,
    });
    const exported = await writeExport(folder, {
      bucket: FILES,
      prefix: 'exports',
      layout: 'aws',
      tableArn: `arn:aws:dynamodb:us-east-1:123456789012:table/${TABLE}`,
      items: tableItems(keys),
      itemsPerFile: PER_FILE,
    });
    const generateMs = Date.now() - generated;
    const child = spawnSync(
      process.execPath,
      ['--require', 'tsx/cjs', __filename, 'run', folder, inventory, exported.url],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    );
    if (child.status !== 0) throw new Error(`reconcile from files failed: ${child.stderr.slice(-3000)}`);
    return { ...(JSON.parse(child.stdout) as Omit<FilesRun, 'generateMs'>), generateMs };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * `npm run bench`'s measurement: BENCH_RECONCILE_FILES_VERSIONS (1,000,000 and 10,000,000) one after the
 * other, each logged, then the goals: the largest in at most 15 minutes, its peak RSS at most 1.5 x the smallest's.
 */
export async function measureReconcileFiles(log: (line: string) => void): Promise<FilesRun[]> {
  const sizes = (process.env.BENCH_RECONCILE_FILES_VERSIONS ?? '1000000,10000000').split(',').map(Number);
  log(`tap reconcile --inventory --export: ${sizes.join(' and ')} versions (CSV inventory, AWS-layout export)`);
  const runs: FilesRun[] = [];
  for (const versions of sizes) {
    const run = await measureFiles(versions);
    runs.push(run);
    log(
      `  ${versions} versions: ${(run.ms / 1000).toFixed(1)} s, peak RSS ${(run.maxRssKb / 1024).toFixed(0)} MB, ` +
        `missing ${run.missing}, extra ${run.extra} (files written in ${(run.generateMs / 1000).toFixed(1)} s)`,
    );
  }
  const [small, large] = [runs[0], runs[runs.length - 1]];
  log(
    `  goals: ${(large.ms / 60_000).toFixed(1)} min (<= 15), peak RSS ratio ${(large.maxRssKb / small.maxRssKb).toFixed(2)} (<= 1.5)`,
  );
  return runs;
}

async function main() {
  if (process.argv[2] === 'run') return runOn(process.argv[3], process.argv[4], process.argv[5]);
  process.stdout.write(`${JSON.stringify(await measureFiles(Number(process.argv[2])))}\n`);
}

if (require.main === module) void main();
