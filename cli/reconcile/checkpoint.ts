// Where an interrupted tap reconcile goes on from: .tap/reconcile-<bucket>.<table>[.<prefix>]-<hash>.json
// in the working folder (the listing's position, the counters and samples so far, the Scan's position),
// and beside it a .keys file with the 8-byte hash of every key listed so far (KeySet), appended at each
// checkpoint. Both are removed once a run completes; --restart ignores them.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Drift, StaleReason } from './classify';
import { KeySet } from './key-set';

/** One drift as reported: enough to find it (`tap show KEY`), without the whole item. */
export interface Sample {
  readonly key: string;
  readonly versionId: string;
  readonly deleteMarker?: boolean;
  /** stale: why; failed: the error. */
  readonly reason?: string;
  /** The stored item's status (extra, stale). */
  readonly status?: string;
}

export const SAMPLES_PER_KIND = 10;

export interface Counters {
  /** Versions and delete markers listed. */
  versionsInBucket: number;
  deleteMarkers: number;
  keysInBucket: number;
  /** Items the Scan read (any status: history included). */
  itemsInTable: number;
  missing: number;
  extra: number;
  stale: number;
  staleByReason: Record<StaleReason, number>;
  /** Drift written right. */
  repaired: number;
  /** Not written: the item changed since it was read (an event got there first). */
  skipped: number;
  /** Stale or extra drift that resolved itself before the repair: the version vanished or reappeared. */
  vanished: number;
  /** Repairs that failed (S3 read or DynamoDB write errors left after the SDK's retries). */
  failed: number;
}

export interface Samples {
  missing: Sample[];
  extra: Sample[];
  stale: Sample[];
  failed: Sample[];
}

export const newCounters = (): Counters => ({
  versionsInBucket: 0,
  deleteMarkers: 0,
  keysInBucket: 0,
  itemsInTable: 0,
  missing: 0,
  extra: 0,
  stale: 0,
  staleByReason: { status: 0, deleteMarker: 0, storageClass: 0, content: 0 },
  repaired: 0,
  skipped: 0,
  vanished: 0,
  failed: 0,
});

export const newSamples = (): Samples => ({ missing: [], extra: [], stale: [], failed: [] });

export const sampleOf = (drift: Drift, reason?: string): Sample => ({
  key: drift.key,
  versionId: drift.versionId,
  deleteMarker: drift.entry?.deleteMarker ?? drift.item?.deleteMarker ?? undefined,
  reason: reason ?? drift.reason,
  status: drift.item?.status,
});

/** What a run is about: a checkpoint of another bucket, table, prefix or mode is never resumed. */
export interface RunIdentity {
  readonly bucket: string;
  readonly table: string;
  readonly prefix: string;
  readonly repair: boolean;
}

export interface Checkpoint extends RunIdentity {
  readonly version: 1;
  readonly seed: string;
  readonly startedAt: string;
  phase: 'listing' | 'scan';
  /** Every key up to this one, in S3's order, is reconciled. */
  lastKey?: string;
  /** Key hashes in the .keys file that belong to this checkpoint (the file may hold more). */
  keysRecorded: number;
  /** Where the Scan goes on from (its LastEvaluatedKey). */
  scanStartKey?: Record<string, AttributeValue>;
  /** The last key the Scan gave a second look, so the rest of its items (maybe on the next page) get none. */
  scanLastKey?: string;
  counters: Counters;
  samples: Samples;
}

/** The checkpoint's two files for one bucket, table and prefix, under `directory` (.tap in the cwd). */
export function checkpointFiles(directory: string, identity: Pick<RunIdentity, 'bucket' | 'table' | 'prefix'>) {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
  const digest = createHash('sha256')
    .update(`${identity.bucket}\0${identity.table}\0${identity.prefix}`)
    .digest('hex')
    .slice(0, 10);
  const name = `reconcile-${safe(identity.bucket)}.${safe(identity.table)}${identity.prefix ? `.${safe(identity.prefix)}` : ''}-${digest}`;
  return { json: path.join(directory, `${name}.json`), keys: path.join(directory, `${name}.keys`) };
}

export type Loaded =
  | { readonly checkpoint: Checkpoint; readonly keys: KeySet }
  | { readonly checkpoint?: undefined; readonly ignored?: string };

/** The checkpoint to resume, or why there is none to resume (no file, another mode, unreadable). */
export function loadCheckpoint(files: ReturnType<typeof checkpointFiles>, identity: RunIdentity): Loaded {
  if (!fs.existsSync(files.json)) return {};
  let checkpoint: Checkpoint;
  try {
    checkpoint = JSON.parse(fs.readFileSync(files.json, 'utf8')) as Checkpoint;
  } catch (error) {
    return { ignored: `${files.json} is not readable JSON (${(error as Error).message})` };
  }
  if (checkpoint.version !== 1) return { ignored: `${files.json} is of another version` };
  if (checkpoint.repair !== identity.repair) {
    return { ignored: `${files.json} is of a run ${checkpoint.repair ? 'with' : 'without'} --repair` };
  }
  const bytes = fs.existsSync(files.keys) ? fs.readFileSync(files.keys) : Buffer.alloc(0);
  if (bytes.byteLength < checkpoint.keysRecorded * 8) return { ignored: `${files.keys} is shorter than recorded` };
  return { checkpoint, keys: KeySet.fromBytes(checkpoint.seed, bytes.subarray(0, checkpoint.keysRecorded * 8)) };
}

/**
 * Appends the key hashes added since the last save, then replaces the JSON (written aside, then
 * renamed, so an interruption leaves the old one or the new one whole). On resume the keys file is
 * cut back to `keysRecorded`.
 */
export function saveCheckpoint(files: ReturnType<typeof checkpointFiles>, checkpoint: Checkpoint, keys: KeySet): void {
  fs.mkdirSync(path.dirname(files.json), { recursive: true });
  const recordedBytes = checkpoint.keysRecorded * 8;
  const onDisk = fs.existsSync(files.keys) ? fs.statSync(files.keys).size : 0;
  let from = checkpoint.keysRecorded;
  if (onDisk > recordedBytes) fs.truncateSync(files.keys, recordedBytes);
  else if (onDisk < recordedBytes) {
    fs.writeFileSync(files.keys, Buffer.alloc(0));
    from = 0;
  }
  fs.appendFileSync(files.keys, keys.bytesFrom(from));
  checkpoint.keysRecorded = keys.size;
  const aside = `${files.json}.tmp`;
  fs.writeFileSync(aside, `${JSON.stringify(checkpoint, null, 1)}\n`);
  fs.renameSync(aside, files.json);
}

export function removeCheckpoint(files: ReturnType<typeof checkpointFiles>): void {
  for (const file of [files.json, files.keys, `${files.json}.tmp`]) fs.rmSync(file, { force: true });
}
