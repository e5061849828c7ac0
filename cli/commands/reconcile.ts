// tap reconcile: checks that the table mirrors the bucket (every version and delete marker has its
// item, saying what the bucket says; no item says a version exists that does not) and, with --repair,
// writes what is missing, wrong or left over, within a share of the table's capacity. It is also the
// backfill of a bucket that held objects before the stack. The engine is cli/reconcile/run.ts; with
// --inventory and --export it is cli/reconcile/files.ts (an S3 Inventory report and a DynamoDB export
// instead of the listing and the table's reads), and --manifest-out writes the missing versions for
// `tap backfill --manifest`.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { passesNotificationFilter } from '../../config';
import { describeError } from '../../handler/errors';
import { DeployedStack, DeployedStackOptions } from '../context';
import { CliError, explainAwsError, explainingAwsErrors, ResourceRef } from '../errors';
import { printJson } from '../output';
import type { Sample } from '../reconcile/checkpoint';
import { CapacityUse, Clock, paceClient, Rates, ratesOf, realClock, TokenBucket } from '../reconcile/pacing';
import { statusLine } from '../progress';
import { reconcileFiles } from '../reconcile/files';
import { MissingManifest } from '../reconcile/manifest';
import { Progress, reconcile, ReconcileReport } from '../reconcile/run';
import { exportTableNow } from '../reconcile/table-export';

export interface ReconcileFlags {
  readonly repair?: boolean;
  readonly json?: boolean;
  readonly writeShare: number;
  readonly readShare: number;
  readonly prefix?: string;
  readonly restart?: boolean;
  /** s3:// URL of an S3 Inventory manifest.json. */
  readonly inventory?: string;
  /** Export ARN, s3:// URL of its folder, or `new`. */
  readonly export?: string;
  /** Where `--export new` writes (default: the operations bucket, with enableBatchOperations). */
  readonly exportBucket?: string;
  readonly manifestOut?: string;
}

/** Everything --json prints. */
export interface ReconcileJson {
  readonly bucket: string;
  readonly table: string;
  readonly prefix: string;
  readonly repair: boolean;
  readonly versionsInBucket: number;
  readonly deleteMarkers: number;
  readonly keysInBucket: number;
  readonly itemsInTable: number;
  readonly missing: number;
  readonly extra: number;
  readonly stale: number;
  readonly staleByReason: Record<string, number>;
  readonly repaired: number;
  readonly skipped: number;
  readonly vanished: number;
  readonly failed: number;
  readonly remaining: number;
  readonly samples: Record<'missing' | 'extra' | 'stale' | 'failed', readonly Sample[]>;
  readonly capacity: {
    readonly onDemand: boolean;
    readonly writeShare: number;
    readonly readShare: number;
    readonly writeUnitsPerSecond: number;
    readonly readUnitsPerSecond: number;
    readonly writeUnits: number;
    readonly readUnits: number;
    readonly writes: number;
    /** Write units a second between the first and the last write (null: less than a second of writes). */
    readonly sustainedWriteUnitsPerSecond: number | null;
    readonly throttled: number;
  };
  readonly resumed: boolean;
  readonly interrupted: boolean;
  readonly durationMs: number;
  /** --manifest-out: the file and its rows (missing versions). */
  readonly manifestOut?: { readonly file: string; readonly rows: number };
}

const share = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError('expected a share above 0, at most 1');
  return n;
};

const count = (n: number) => n.toLocaleString('en-US');
const counted = (n: number, what: string) => `${count(n)} ${what}${n === 1 ? '' : 's'}`;

/** The status line while it runs. */
const PHASES: Record<Progress['phase'], (at?: string) => string> = {
  listing: (at) => `listing ${at ?? ''}`,
  scan: () => 'scanning the table',
  files: (at) => `inventory and export ${at ?? ''}`,
};

export const progressText = ({ phase, counters: c, at }: Progress): string =>
  `${PHASES[phase](at)}: ${count(c.versionsInBucket)} versions, ` +
  `${count(c.itemsInTable)} items; missing ${count(c.missing)}, extra ${count(c.extra)}, stale ${count(c.stale)}, ` +
  `repaired ${count(c.repaired)}`;

const sampleLine = (kind: string, s: Sample) =>
  `  ${kind.padEnd(8)} ${s.key}@${s.versionId}${s.deleteMarker ? ' (delete marker)' : ''}` +
  (s.status ? ` item ${s.status}` : '') +
  (s.reason ? `: ${s.reason}` : '');

/** The lines printed without --json. */
export function reportLines(json: ReconcileJson): string[] {
  const stale = Object.entries(json.staleByReason)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${count(n)}`);
  const lines = [
    `versions in bucket  ${count(json.versionsInBucket)} (${counted(json.deleteMarkers, 'delete marker')}, ${counted(json.keysInBucket, 'key')})`,
    `items in table      ${count(json.itemsInTable)}`,
    `missing             ${count(json.missing)}`,
    `extra               ${count(json.extra)}`,
    `stale               ${count(json.stale)}${stale.length > 0 ? ` (${stale.join(', ')})` : ''}`,
  ];
  if (json.repair) {
    const { writeUnits, sustainedWriteUnitsPerSecond: rate, writeUnitsPerSecond, throttled } = json.capacity;
    lines.push(
      `repaired            ${count(json.repaired)}; skipped ${count(json.skipped)} (changed by an event since read), ` +
        `vanished ${count(json.vanished)}, failed ${count(json.failed)}`,
      `writes              ${count(writeUnits)} WCU${rate === null ? '' : ` at ${rate.toFixed(1)}/s`} ` +
        `(limit ${writeUnitsPerSecond}/s), throttled ${throttled}`,
    );
  }
  const samples = (['missing', 'extra', 'stale', 'failed'] as const).flatMap((kind) =>
    json.samples[kind].map((s) => sampleLine(kind, s)),
  );
  if (samples.length > 0) lines.push('samples (at most 10 of each):', ...samples);
  if (json.manifestOut) {
    lines.push(
      `manifest            ${counted(json.manifestOut.rows, 'missing version')} in ${json.manifestOut.file} ` +
        '(bucket,key,versionId): upload it and run tap backfill --manifest s3://...',
    );
  }
  if (json.interrupted) lines.push('interrupted: run the same command again to go on from the checkpoint');
  else if (json.remaining === 0) lines.push('no drift remains');
  else
    lines.push(
      `drift remains on ${counted(json.remaining, 'version')}: ` +
        (json.repair ? 'run it again (skipped and failed repairs are tried again)' : 'run with --repair to fix it'),
    );
  return lines;
}

export const exitCodeOf = (json: Pick<ReconcileJson, 'remaining' | 'interrupted'>): number =>
  json.remaining === 0 && !json.interrupted ? 0 : 1;

export function jsonOf(
  report: ReconcileReport,
  run: {
    bucket: string;
    table: string;
    prefix: string;
    flags: ReconcileFlags;
    rates: Rates;
    use: CapacityUse;
    manifest?: MissingManifest;
  },
  durationMs: number,
): ReconcileJson {
  const { counters: c, samples } = report;
  const { rates, use, flags } = run;
  return {
    bucket: run.bucket,
    table: run.table,
    prefix: run.prefix,
    repair: Boolean(flags.repair),
    ...c,
    remaining: report.remaining,
    samples,
    capacity: {
      onDemand: rates.onDemand,
      writeShare: flags.writeShare,
      readShare: flags.readShare,
      writeUnitsPerSecond: rates.writePerSecond,
      readUnitsPerSecond: rates.readPerSecond,
      writeUnits: use.writeUnits,
      readUnits: use.readUnits,
      writes: use.writes,
      sustainedWriteUnitsPerSecond: use.writeRate(),
      throttled: use.throttled,
    },
    resumed: report.resumed,
    interrupted: report.interrupted,
    durationMs,
    ...(run.manifest ? { manifestOut: { file: run.manifest.file, rows: run.manifest.rows } } : {}),
  };
}

/** The flag combinations that cannot work, refused before anything is read. */
function checkSources(flags: ReconcileFlags): void {
  if ((flags.inventory === undefined) !== (flags.export === undefined)) {
    throw new CliError(
      '--inventory and --export go together: the bucket side from the one, the table side from the other',
    );
  }
  if (flags.inventory !== undefined && flags.repair) {
    throw new CliError(
      '--repair needs the live listing and table (it looks at drift again before writing): with --inventory and ' +
        '--export, write the missing versions with --manifest-out FILE, upload it, and run tap backfill --manifest s3://.../FILE',
    );
  }
  if (flags.manifestOut !== undefined && flags.repair) {
    throw new CliError(
      '--manifest-out lists the missing versions for tap backfill, --repair writes them itself: use one',
    );
  }
  if (flags.exportBucket !== undefined && flags.export !== 'new')
    throw new CliError('--export-bucket goes with --export new');
}

/** --export new: exports the table now into --export-bucket or the operations bucket, and waits; its ARN. */
async function exportNow(stack: DeployedStack, flags: ReconcileFlags, tableArn: string, clock: Clock): Promise<string> {
  const bucket =
    flags.exportBucket ??
    (stack.config.enableBatchOperations
      ? stack.names.operationsBucketName(await stack.account(), stack.region)
      : undefined);
  if (!bucket) {
    throw new CliError(
      '--export new needs a bucket to export to: --export-bucket NAME, or enableBatchOperations for the operations bucket',
    );
  }
  const status = statusLine();
  try {
    return await explainingAwsErrors({ kind: 'DynamoDB table', name: stack.table }, () =>
      exportTableNow(stack.dynamodb, {
        tableArn,
        table: stack.table,
        bucket,
        clock,
        onStatus: (line) => status.update(line),
      }),
    );
  } finally {
    status.done();
  }
}

/** Runs reconcile for `stack`; what it prints and the exit code it sets. `clock` is for tests. */
export async function runReconcile(
  stack: DeployedStack,
  flags: ReconcileFlags,
  clock: Clock = realClock,
): Promise<void> {
  checkSources(flags);
  const started = clock.now();
  const bucket = await stack.bucket();
  const { table, config } = stack;
  const tableRef: ResourceRef = { kind: 'DynamoDB table', name: table };
  const bucketRef: ResourceRef = { kind: 'S3 bucket', name: bucket };
  const described = await explainingAwsErrors(tableRef, () =>
    stack.dynamodb.send(new DescribeTableCommand({ TableName: table })),
  );
  const rates = ratesOf(described.Table, { read: flags.readShare, write: flags.writeShare });
  const use = new CapacityUse();
  paceClient(
    stack.dynamodb,
    { read: new TokenBucket(rates.readPerSecond, clock), write: new TokenBucket(rates.writePerSecond, clock) },
    use,
    clock,
  );
  const prefix = flags.prefix ?? config.notificationPrefix;
  const say = flags.json ? () => undefined : (line: string) => console.log(line);
  const sources =
    flags.inventory !== undefined && flags.export !== undefined
      ? {
          inventory: flags.inventory,
          export:
            flags.export === 'new' ? await exportNow(stack, flags, described.Table!.TableArn!, clock) : flags.export,
        }
      : undefined;
  say(
    `Reconciling bucket ${bucket}${sources ? ` (inventory ${sources.inventory})` : ''} with table ${table}` +
      `${sources ? ` (export ${sources.export})` : ''}${prefix ? ` (prefix ${prefix})` : ''}` +
      `${flags.repair ? ', repairing' : ''}: writes up to ${rates.writePerSecond} WCU/s, reads up to ${rates.readPerSecond} RCU/s` +
      (rates.onDemand ? ' (on-demand table: shares of 100)' : ''),
  );
  const status = statusLine();
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  const manifest = flags.manifestOut ? new MissingManifest(path.resolve(flags.manifestOut), bucket) : undefined;
  const common = {
    bucket,
    table,
    prefix,
    inScope: (key: string) => passesNotificationFilter(config, key),
    manifest,
    signal: interrupt.signal,
    onProgress: (progress: Progress) => status.update(progressText(progress)),
  };
  let report: ReconcileReport;
  try {
    report = sources
      ? await reconcileFiles({ s3: stack.s3, dynamodb: stack.dynamodb }, sources, common)
      : await reconcile(
          { s3: stack.s3, dynamodb: stack.dynamodb, clock },
          {
            ...common,
            repair: Boolean(flags.repair),
            restart: Boolean(flags.restart),
            recordObjectTags: config.recordObjectTags,
            checkpointDirectory: path.resolve('.tap'),
          },
        );
  } catch (error) {
    const explained = explainAwsError(error, error instanceof S3ServiceException ? bucketRef : tableRef);
    if (explained instanceof CliError) throw explained;
    throw new CliError(
      `reconcile stopped: ${describeError(error)}` +
        (sources ? '' : '; run the same command again to go on from its checkpoint'),
      1,
      { cause: error },
    );
  } finally {
    manifest?.close();
    status.done();
    process.removeListener('SIGINT', onSigint);
  }
  if (report.checkpointIgnored) console.error(`tap: started over: ${report.checkpointIgnored}`);
  const json = jsonOf(report, { bucket, table, prefix, flags, rates, use, manifest }, clock.now() - started);
  if (flags.json) printJson(json);
  else for (const line of [...(report.resumed ? ['resumed from the checkpoint'] : []), ...reportLines(json)]) say(line);
  process.exitCode = exitCodeOf(json);
}

export function registerReconcile(program: Command, stackOf: (options: DeployedStackOptions) => DeployedStack): void {
  program
    .command('reconcile')
    .description('check that the table mirrors every version and delete marker of the bucket; --repair fixes it')
    .option('--repair', 'write missing items, mark extra ones deleted, fix stale ones (never over a newer event)')
    .option('--json', 'print one JSON object instead of lines')
    .option('--write-share <share>', "share of the table's write capacity to use, above 0 and at most 1", share, 0.5)
    .option('--read-share <share>', "share of the table's read capacity to use, above 0 and at most 1", share, 0.5)
    .option('--prefix <prefix>', "only keys with this prefix (default: the stack's notificationPrefix)")
    .option('--restart', 'ignore the checkpoint of an interrupted run and start over')
    .option(
      '--inventory <s3-url>',
      "the bucket side from this S3 Inventory report's manifest.json (CSV or Parquet, all versions)",
    )
    .option(
      '--export <arn|s3-url|new>',
      'the table side from this DynamoDB export (DYNAMODB_JSON); new: export it now and wait',
    )
    .option('--export-bucket <bucket>', 'where --export new writes (default: the operations bucket)')
    .option(
      '--manifest-out <file>',
      'write the missing versions as a Batch Operations CSV manifest for tap backfill --manifest',
    )
    .action((flags: ReconcileFlags, command: Command) =>
      closing(stackOf(command.optsWithGlobals<DeployedStackOptions>()), (stack) => runReconcile(stack, flags)),
    );
}

/** Runs `work` on `stack`, then closes its clients whatever happened. */
async function closing(stack: DeployedStack, work: (stack: DeployedStack) => Promise<void>): Promise<void> {
  try {
    await work(stack);
  } finally {
    stack.close();
  }
}
