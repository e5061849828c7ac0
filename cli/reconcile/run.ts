// tap reconcile's engine: the bucket's listing key by key against the table, then a Scan for the items
// of keys the listing never showed, with a checkpoint to go on from after an interruption.
//
// Memory: one listing page (1,000 entries), the keys in flight (`concurrency`, each with its entries
// and items), one Scan page, and 8 bytes per key listed (KeySet): 100,000 keys take 800 KB.
//
// Races with live ingestion: the listing comes before the key's Query, so a key that changed in
// between can look drifted when it is not (a version deleted after it was listed, whose item now
// says deleted). Every key whose first look shows extra or stale drift is looked at again, items
// first (consistent) and then the bucket: a change between those two can only leave the table
// behind the bucket, which repairs fix safely. Only the second look counts. Missing items need no
// second look: the repair reads the version, and writes only where no item exists.
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { mapBounded, settle, Settled } from '../../handler/concurrency';
import { describeError } from '../../handler/errors';
import {
  Checkpoint,
  checkpointFiles,
  Counters,
  loadCheckpoint,
  newCounters,
  newSamples,
  removeCheckpoint,
  RunIdentity,
  sampleOf,
  Samples,
  SAMPLES_PER_KIND,
  saveCheckpoint,
} from './checkpoint';
import { classifyKey, Drift, EXISTS, needsSecondLook } from './classify';
import { KeySet, newSeed } from './key-set';
import { BucketEntry, listKey, listKeys } from './listing';
import type { MissingManifest } from './manifest';
import type { Clock } from './pacing';
import { repairDrift, RepairResult } from './repair';
import { queryKeyItems, scanPage } from './table';

export interface ReconcileOptions extends RunIdentity {
  readonly recordObjectTags: boolean;
  /** Keys the stack's notification filter covers: others never get items, so they are left out. */
  readonly inScope: (key: string) => boolean;
  /** Where checkpoints are kept (.tap in the working folder). */
  readonly checkpointDirectory: string;
  /** Ignore (and remove) a checkpoint instead of resuming from it. */
  readonly restart: boolean;
  /** Keys reconciled at once (16). */
  readonly concurrency?: number;
  readonly listPageSize?: number;
  readonly scanPageSize?: number;
  /** Save the checkpoint after this many keys or milliseconds, whichever comes first (1,000 keys, 5 s). */
  readonly checkpointEvery?: { readonly keys: number; readonly ms: number };
  /** Stop at the next key, save the checkpoint and return (Ctrl-C). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
  /** --manifest-out: every drift found goes here (it keeps the missing ones); opened to append on resume. */
  readonly manifest?: MissingManifest;
}

export interface ReconcileClients {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly clock: Clock;
}

export interface Progress {
  /** files: reconcile from an inventory and an export (cli/reconcile/files.ts). */
  readonly phase: 'listing' | 'scan' | 'files';
  readonly counters: Readonly<Counters>;
  /** The key the listing has reached. */
  readonly at?: string;
}

export interface ReconcileReport {
  readonly counters: Counters;
  readonly samples: Samples;
  /** Drift found and not repaired (skipped and failed repairs included). */
  readonly remaining: number;
  /** Went on from a checkpoint. */
  readonly resumed: boolean;
  /** Why a checkpoint found was not resumed. */
  readonly checkpointIgnored?: string;
  /** Stopped before the end (signal); the checkpoint is kept. */
  readonly interrupted: boolean;
  readonly checkpointFile: string;
}

/** What one key contributed: its listing, the drift of its last look, and what the repairs did. */
interface KeyOutcome {
  readonly key: string;
  readonly entries: readonly BucketEntry[];
  readonly drifts: readonly Drift[];
  readonly repairs: readonly (RepairResult | { failed: string })[];
}

/** Counts one key's versions and delete markers in. */
export function foldEntries(c: Counters, entries: readonly BucketEntry[]): void {
  c.keysInBucket += 1;
  c.versionsInBucket += entries.length;
  c.deleteMarkers += entries.filter((e) => e.deleteMarker).length;
}

/** Counts one key's drift and its repairs in (the first SAMPLES_PER_KIND of each kind sampled); `manifest` gets each drift. */
export function foldDrifts(
  { counters: c, samples }: { counters: Counters; samples: Samples },
  drifts: readonly Drift[],
  repairs: KeyOutcome['repairs'],
  manifest?: Pick<MissingManifest, 'add'>,
): void {
  const sample = (list: Samples[keyof Samples], drift: Drift, reason?: string) => {
    if (list.length < SAMPLES_PER_KIND) list.push(sampleOf(drift, reason));
  };
  drifts.forEach((drift, i) => {
    c[drift.kind] += 1;
    if (drift.reason) c.staleByReason[drift.reason] += 1;
    sample(samples[drift.kind], drift);
    manifest?.add(drift);
    const repair = repairs[i];
    if (repair === undefined) return;
    if (typeof repair === 'object') {
      c.failed += 1;
      sample(samples.failed, drift, repair.failed);
    } else c[repair] += 1;
  });
}

/** Drift found and not (yet) written right. */
export const remainingOf = (c: Counters): number => c.missing + c.extra + c.stale - c.repaired - c.vanished;

class Reconciliation {
  private readonly files: ReturnType<typeof checkpointFiles>;
  private state!: Checkpoint;
  private keys!: KeySet;
  private savedAt = 0;
  private keysSinceSave = 0;

  constructor(
    private readonly clients: ReconcileClients,
    private readonly options: ReconcileOptions,
  ) {
    this.files = checkpointFiles(options.checkpointDirectory, options);
  }

  async execute(): Promise<ReconcileReport> {
    const { options } = this;
    if (options.restart) removeCheckpoint(this.files);
    const loaded = loadCheckpoint(this.files, options);
    if (!loaded.checkpoint && loaded.ignored) removeCheckpoint(this.files);
    const { bucket, table, prefix, repair } = options;
    this.state = loaded.checkpoint ?? {
      version: 1,
      bucket,
      table,
      prefix,
      repair,
      seed: newSeed(),
      startedAt: new Date(this.clients.clock.now()).toISOString(),
      phase: 'listing',
      keysRecorded: 0,
      counters: newCounters(),
      samples: newSamples(),
    };
    this.keys = loaded.checkpoint ? loaded.keys : new KeySet(this.state.seed);
    this.savedAt = this.clients.clock.now();
    options.manifest?.open(Boolean(loaded.checkpoint));
    let interrupted = false;
    try {
      if (this.state.phase === 'listing') interrupted = await this.listing();
      if (!interrupted) {
        if (this.state.phase === 'listing') {
          this.state.phase = 'scan';
          this.save();
        }
        interrupted = await this.scan();
      }
    } catch (error) {
      this.save();
      throw error;
    }
    if (interrupted) this.save();
    else removeCheckpoint(this.files);
    return {
      counters: this.state.counters,
      samples: this.state.samples,
      remaining: remainingOf(this.state.counters),
      resumed: Boolean(loaded.checkpoint),
      checkpointIgnored: loaded.checkpoint ? undefined : loaded.ignored,
      interrupted,
      checkpointFile: this.files.json,
    };
  }

  private save(): void {
    saveCheckpoint(this.files, this.state, this.keys);
    this.savedAt = this.clients.clock.now();
    this.keysSinceSave = 0;
  }

  private progress(at?: string): void {
    this.options.onProgress?.({ phase: this.state.phase, counters: this.state.counters, at });
  }

  /**
   * Keys in listing order, `concurrency` at once; each key's outcome is folded in in order, so the
   * checkpoint's lastKey always means "this key and every one before it are done". True if interrupted.
   */
  private async listing(): Promise<boolean> {
    const { s3 } = this.clients;
    const { bucket, prefix, listPageSize, signal, inScope } = this.options;
    const concurrency = this.options.concurrency ?? 16;
    const window: Promise<Settled<KeyOutcome>>[] = [];
    let keyFailed = false;
    const foldHead = async () => {
      const settled = await window.shift()!;
      if (settled.ok) return this.foldKey(settled.value);
      keyFailed = true;
      throw settled.error;
    };
    let failure: unknown;
    try {
      for await (const group of listKeys(s3, bucket, {
        prefix,
        afterKey: this.state.lastKey,
        pageSize: listPageSize,
      })) {
        if (signal?.aborted) break;
        if (!inScope(group.key)) continue;
        window.push(settle(this.reconcileKey(group.key, group.entries)));
        while (window.length >= concurrency) await foldHead();
      }
    } catch (error) {
      failure = error;
    }
    // After a failed listing page too, the keys in flight are folded in, up to the first that failed:
    // keys after a failed one never are, so lastKey always means "everything up to here is done".
    try {
      while (!keyFailed && window.length > 0) await foldHead();
    } catch (error) {
      failure ??= error;
    }
    if (failure !== undefined) throw failure;
    return Boolean(signal?.aborted);
  }

  private foldKey(outcome: KeyOutcome): void {
    foldEntries(this.state.counters, outcome.entries);
    this.foldDrift(outcome);
    this.keys.add(outcome.key);
    this.state.lastKey = outcome.key;
    this.keysSinceSave += 1;
    const every = this.options.checkpointEvery ?? { keys: 1000, ms: 5000 };
    if (this.keysSinceSave >= every.keys || this.clients.clock.now() - this.savedAt >= every.ms) this.save();
    this.progress(outcome.key);
  }

  private foldDrift({ drifts, repairs }: Pick<KeyOutcome, 'drifts' | 'repairs'>): void {
    foldDrifts(this.state, drifts, repairs, this.options.manifest);
  }

  /** One key: its items against its entries, a second look if needed, then the repairs (one at a time). */
  private async reconcileKey(key: string, listed: readonly BucketEntry[]): Promise<KeyOutcome> {
    const items = await queryKeyItems(this.clients.dynamodb, this.options.table, key, false);
    let drifts = classifyKey(key, listed, items);
    if (needsSecondLook(drifts)) drifts = await this.secondLook(key);
    return { key, entries: listed, drifts, repairs: await this.repairAll(drifts) };
  }

  /** Items first (consistent), then the bucket: see the header. */
  private async secondLook(key: string): Promise<Drift[]> {
    const items = await queryKeyItems(this.clients.dynamodb, this.options.table, key, true);
    return classifyKey(key, await listKey(this.clients.s3, this.options.bucket, key), items);
  }

  private async repairAll(drifts: readonly Drift[]): Promise<KeyOutcome['repairs']> {
    if (!this.options.repair) return [];
    const context = {
      ...this.clients,
      bucket: this.options.bucket,
      table: this.options.table,
      recordObjectTags: this.options.recordObjectTags,
      now: () => new Date(this.clients.clock.now()),
    };
    const repairs: (RepairResult | { failed: string })[] = [];
    for (const drift of drifts) {
      repairs.push(await repairDrift(drift, context).catch((error: unknown) => ({ failed: describeError(error) })));
    }
    return repairs;
  }

  /**
   * Items whose key the listing never showed: a key that says its version exists gets a second look
   * (the key may have been created since the listing passed it). True if interrupted.
   */
  private async scan(): Promise<boolean> {
    const { dynamodb } = this.clients;
    const { table, prefix, inScope, signal } = this.options;
    let start: Record<string, AttributeValue> | undefined = this.state.scanStartKey;
    do {
      if (signal?.aborted) return true;
      const page = await scanPage(dynamodb, table, { prefix, limit: this.options.scanPageSize ?? 500, start });
      const absent: string[] = [];
      for (const item of page.items) {
        if (!inScope(item.objectKey)) continue;
        this.state.counters.itemsInTable += 1;
        if (!EXISTS.has(item.status) || item.objectKey === this.state.scanLastKey) continue;
        if (this.keys.has(item.objectKey)) continue;
        // A key's items come together in a Scan: one second look covers them all.
        this.state.scanLastKey = item.objectKey;
        absent.push(item.objectKey);
      }
      const outcomes = await mapBounded(absent, this.options.concurrency ?? 16, async (key) => {
        const drifts = await this.secondLook(key);
        return { drifts, repairs: await this.repairAll(drifts) };
      });
      for (const outcome of outcomes) this.foldDrift(outcome);
      start = page.next;
      this.state.scanStartKey = start;
      this.save();
      this.progress();
    } while (start);
    return false;
  }
}

/** Reconciles the table with the bucket (see the header); throws what the listing or the table threw. */
export const reconcile = (clients: ReconcileClients, options: ReconcileOptions): Promise<ReconcileReport> =>
  new Reconciliation(clients, options).execute();
