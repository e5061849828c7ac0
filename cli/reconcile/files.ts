// tap reconcile from files: the bucket side from an S3 Inventory report (inventory.ts), the table side
// from a DynamoDB export (table-export.ts), instead of ListObjectVersions, Query and Scan: 0 LIST
// requests on the bucket and 0 read units. Both are downloaded to a temporary folder, and DuckDB (an
// embedded engine that sorts out of core: memory_limit, temp_directory) puts their rows in one stream
// ordered by key (UTF-8 bytes, as S3 orders keys), bucket rows before table rows. Each key's rows are
// compared by classifyKey and counted by foldEntries/foldDrifts, as in the listing-based run: the
// same report. Memory: DuckDB's limit and one key's rows.
//
// The two files are snapshots taken at different times: a version created or deleted between the
// inventory and the export shows up as drift, which only the next pair of files clears. There is no
// second look (it would LIST and Query) and so no --repair: the missing versions go to --manifest-out,
// for `tap backfill --manifest`, which fills only what is still missing. No checkpoint either: a run
// is restartable from the same files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { MetadataItem, ObjectStatus } from '../../handler/item';
import { CliError } from '../errors';
import { Counters, newCounters, newSamples, Samples } from './checkpoint';
import { classifyKey } from './classify';
import { InventoryManifest, inventorySql, parseInventoryManifest, sqlString } from './inventory';
import type { BucketEntry } from './listing';
import type { MissingManifest } from './manifest';
import { foldDrifts, foldEntries, Progress, remainingOf, ReconcileReport } from './run';
import { download, parseS3Url, readJson, S3Location } from '../s3-files';
import { exportDataFiles, exportSql } from './table-export';

export interface FileSources {
  /** s3:// URL of the inventory's manifest.json. */
  readonly inventory: string;
  /** Export ARN or s3:// URL of the export's folder. */
  readonly export: string;
}

export interface FilesOptions {
  readonly bucket: string;
  readonly table: string;
  readonly prefix: string;
  readonly inScope: (key: string) => boolean;
  readonly manifest?: MissingManifest;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
  /** DuckDB's memory limit (256MB) and where it spills and the files go (a folder in the OS's temp folder). */
  readonly memoryLimit?: string;
  readonly workDirectory?: string;
}

/** The inventory's manifest, checked against the bucket being reconciled. */
export async function readInventory(s3: S3Client, url: string, bucket: string): Promise<InventoryManifest> {
  const at = parseS3Url(url, '--inventory');
  const manifest = parseInventoryManifest(await readJson(s3, at), at);
  if (manifest.sourceBucket !== bucket) {
    throw new CliError(
      `inventory ${url} is of bucket "${manifest.sourceBucket}", not "${bucket}": pass --bucket ${manifest.sourceBucket} or that bucket's inventory`,
    );
  }
  return manifest;
}

/** The merged stream's columns, in order. */
const COLUMNS = 'key, side, version_id, delete_marker, is_latest, size, e_tag, storage_class, last_modified, status';

type Row = [
  string,
  number,
  string,
  boolean | null,
  boolean | null,
  number | null,
  string | null,
  string | null,
  number | null,
  string | null,
];

const entryOf = (r: Row): BucketEntry => {
  const entry = { key: r[0], versionId: r[2], isLatest: Boolean(r[4]), lastModified: dateOf(r[8]) };
  return r[3]
    ? { ...entry, deleteMarker: true }
    : {
        ...entry,
        deleteMarker: false,
        storageClass: r[7] ?? 'STANDARD',
        size: r[5] ?? undefined,
        eTag: r[6] ?? undefined,
      };
};

const dateOf = (ms: number | null) => (ms === null ? undefined : new Date(ms));

/** What classifyKey reads of an item (the export's other attributes are not needed). */
const itemOf = (r: Row): MetadataItem =>
  ({
    objectKey: r[0],
    versionId: r[2],
    status: r[9] as ObjectStatus,
    deleteMarker: r[3] ?? undefined,
    size: r[5] ?? undefined,
    eTag: r[6] ?? undefined,
    storageClass: r[7] ?? undefined,
  }) as MetadataItem;

/** Reconciles the inventory's versions with the export's items (see the header). */
export async function reconcileFiles(
  clients: { readonly s3: S3Client; readonly dynamodb: DynamoDBClient },
  sources: FileSources,
  options: FilesOptions,
): Promise<ReconcileReport> {
  const work = fs.mkdtempSync(options.workDirectory ?? path.join(os.tmpdir(), 'tap-reconcile-files-'));
  const progress = (at: string, counters: Counters) => options.onProgress?.({ phase: 'files', counters, at });
  const tally: { counters: Counters; samples: Samples } = { counters: newCounters(), samples: newSamples() };
  try {
    const inventory = await readInventory(clients.s3, sources.inventory, options.bucket);
    const exported: S3Location[] = await exportDataFiles(clients, sources.export, options.table);
    progress(`downloading ${inventory.files.length + exported.length} files`, tally.counters);
    const extension = inventory.format === 'CSV' ? '.csv.gz' : '.parquet';
    const [inventoryPaths, exportPaths] = await Promise.all([
      download(clients.s3, inventory.files, path.join(work, 'inventory'), 'inventory', extension),
      download(clients.s3, exported, path.join(work, 'export'), 'export', '.json.gz'),
    ]);
    const threads = Math.max(1, Math.min(os.cpus().length, 4));
    // A database file, not memory: the loaded rows are pages DuckDB can evict, so the sort stays in its limit
    // (a sort streamed straight from the files ran out of memory at 10 million versions).
    const instance = await DuckDBInstance.create(path.join(work, 'reconcile.duckdb'), {
      memory_limit: options.memoryLimit ?? '256MB',
      threads: String(threads),
      temp_directory: path.join(work, 'spill'),
      preserve_insertion_order: 'false',
    });
    const connection = await instance.connect();
    try {
      const inPrefix = options.prefix ? ` WHERE starts_with(key, ${sqlString(options.prefix)})` : '';
      progress(`loading the inventory`, tally.counters);
      await connection.run(
        `CREATE TABLE entries AS SELECT key, 0 AS side, version_id, delete_marker, is_latest, size, e_tag, ` +
          `storage_class, last_modified, CAST(NULL AS VARCHAR) AS status FROM (${inventorySql(inventory, inventoryPaths)})${inPrefix}`,
      );
      // The JSON reader buffers per thread and ran out of memory with two (3 million items at 128 MB): one
      // thread, one data file at a time, then all of them again for the sort.
      await connection.run('SET threads = 1');
      for (const [n, file] of exportPaths.entries()) {
        progress(`loading export file ${n + 1} of ${exportPaths.length}`, tally.counters);
        await connection.run(
          `INSERT INTO entries SELECT key, 1, version_id, delete_marker, NULL, size, e_tag, storage_class, NULL, status ` +
            `FROM (${exportSql([file])})${inPrefix}`,
        );
      }
      await connection.run(`SET threads = ${threads}`);
      progress(`sorting`, tally.counters);
      const result = await connection.stream(
        `SELECT ${COLUMNS} FROM entries ORDER BY key, side, last_modified DESC NULLS LAST, version_id`,
      );
      let key: string | undefined;
      let entries: BucketEntry[] = [];
      let items: MetadataItem[] = [];
      const flush = () => {
        if (key === undefined || !options.inScope(key)) return;
        tally.counters.itemsInTable += items.length;
        if (entries.length > 0) foldEntries(tally.counters, entries);
        foldDrifts(tally, classifyKey(key, entries, items), [], options.manifest);
      };
      options.manifest?.open(false);
      for await (const chunk of result) {
        if (options.signal?.aborted) throw new CliError('reconcile interrupted: nothing is kept, run it again', 1);
        const columns = chunk.getColumns();
        for (let i = 0; i < chunk.rowCount; i++) {
          const row = columns.map((column) => column[i]) as Row;
          if (row[0] !== key) {
            flush();
            [key, entries, items] = [row[0], [], []];
          }
          if (row[1] === 0) entries.push(entryOf(row));
          else items.push(itemOf(row));
        }
        progress(key ?? '', tally.counters);
      }
      flush();
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`reading the inventory and the export failed: ${(error as Error).message}`, 2, {
        cause: error,
      });
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    return {
      ...tally,
      remaining: remainingOf(tally.counters),
      resumed: false,
      interrupted: false,
      checkpointFile: '',
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
