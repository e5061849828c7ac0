// The job soak: S3 Batch Operations jobs (the stand-in of batch-job.ts) through the bundled handler, in
// this process as the Lambda runs it (dist/handler with the stack's environment, pointed at proxies),
// under 5% injected S3 and DynamoDB faults (throttles, 5xx), 1% invocations that time out after the
// handler ran (how a request that hangs shows: the function's SDK clients set no request timeout, so
// Lambda's timeout ends it), and the table's provisioned capacity enforced (capacity.ts). moto
// serves S3 (versions), dynalite DynamoDB. Objects that predate the stack (keys with spaces, "+" and
// non-ASCII; a fifth overwritten, some behind delete markers; no events) are backfilled by a job whose
// manifest is an S3 Inventory report of every version, while users go on: late create events of
// versions in the manifest, overwrites, delete markers and permanent deletes, each delivered as Lambda
// delivers S3's events. Then a reprocess job from the manifest generator (current versions), and a
// CSV-manifest backfill of every version an event wrote (which must change nothing). Judged: every
// listed version has its item and no item claims an absent one (soak-mirror.ts), every item an event
// wrote keeps that event's name and sequencer, and each completion report counts what its job did.
import { randomUUID } from 'node:crypto';
import zlib from 'node:zlib';
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { CreateJobCommandInput } from '@aws-sdk/client-s3-control';
import type { S3EventRecord } from 'aws-lambda';
import { functionEnvironment, projectConfig, resourceNames } from '../../config';
import type { TapHandler } from '../../handler/records';
import { mapBounded } from '../../handler/concurrency';
import { decodeS3Key } from '../../handler/event';
import { normalizeSequencer } from '../../handler/sequencer';
import { HANDLER_BUNDLE } from '../build-handler';
import { JobCounts, readReport, runJob } from './batch-job';
import { startCapacityProxy } from './capacity';
import { deliverAsync } from './delivery';
import { dynamodbOperation, faultInjector, randomDynamodbFaults, randomS3Faults, seededRandom } from './faults';
import { startMoto } from './moto';
import { checkMirror, everyVersion, MirrorCheck } from './soak-mirror';
import { Driver } from './soak-scenario';
import { s3Event } from '../../fixtures/s3-events';
import {
  createPipelineStorage,
  readMetadataItem,
  standInClients,
  standInEnvironment,
  startDynalite,
  startFaultProxy,
  STANDIN_ACCOUNT_ID,
  STANDIN_REGION,
} from '../../fixtures/standins';

export interface JobSoakOptions {
  /** Objects that predate the stack (their overwrites and delete markers come on top). */
  readonly objects: number;
  readonly log?: (line: string) => void;
}

/** A job's counts, with what its completion report says. */
export interface JobRun extends JobCounts {
  readonly reportRows: { readonly succeeded: number; readonly failed: number };
  readonly reportMd5Matches: boolean;
  readonly scope: 'AllTasks' | 'FailedTasksOnly';
}

export interface JobSoakReport {
  readonly objects: number;
  /** Versions and delete markers in the backfill's inventory. */
  readonly manifested: number;
  readonly live: {
    readonly lateCreates: number;
    readonly overwrites: number;
    readonly deleteMarkers: number;
    readonly deletes: number;
    /** Live events delivered before the backfill job ended. */
    readonly duringJob: number;
    readonly failedDeliveries: number;
  };
  readonly backfill: JobRun;
  readonly reprocess: JobRun;
  /** The CSV-manifest backfill of every version an event wrote. */
  readonly again: JobRun;
  readonly faults: {
    readonly s3: Readonly<Record<string, number>>;
    readonly dynamodb: Readonly<Record<string, number>>;
    readonly functionTimeouts: number;
    readonly capacityThrottles: number;
    readonly consumedWriteUnits: number;
  };
  readonly mirror: MirrorCheck;
  /** What the table holds for the first versions without their item (status and event name, or none). */
  readonly unmirroredItems: readonly string[];
  /** key@version of items an event wrote that no longer carry its name and sequencer. */
  readonly overwritten: readonly string[];
  readonly durationsMs: Record<'setup' | 'backfill' | 'reprocess' | 'again' | 'total', number>;
}

const SEED = 20261207;
const FAULT_RATE = 0.05;
/** Share of invocations that time out after the handler ran (Lambda then reports a function error). */
const TIMEOUT_RATE = 0.01;
/** The function's reserved concurrency. */
const CONCURRENCY = 10;
export const OPERATIONS_BUCKET = 'tap-job-soak-operations';
const ITEM_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'GetItem']);

/** Object names as users choose them: spaces, "+", non-ASCII. */
const NAMES = ['report {i} final', 'a+b {i}', 'café {i} naïve', '日本語/{i}', 'plain-{i}'];

/** The bundled handler loaded afresh with `env` set (as local-pipeline.ts loads it); restore() puts the environment back. */
export function bundledFunction(env: Record<string, string>) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  delete require.cache[HANDLER_BUNDLE];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(HANDLER_BUNDLE) as { handler: TapHandler };
  const restore = () => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  };
  return { handler, restore };
}

/** A LambdaInvoke job as `tap backfill` submits it (what `manifest` says), reporting to the operations bucket. */
export function jobRequest(
  manifest: Pick<CreateJobCommandInput, 'Manifest' | 'ManifestGenerator'>,
  mode: string,
  scope: JobRun['scope'],
): CreateJobCommandInput {
  return {
    AccountId: STANDIN_ACCOUNT_ID,
    ConfirmationRequired: false,
    ClientRequestToken: randomUUID(),
    Priority: 10,
    RoleArn: `arn:aws:iam::${STANDIN_ACCOUNT_ID}:role/tap-batch-operations`,
    Operation: {
      LambdaInvoke: {
        FunctionArn: `arn:aws:lambda:${STANDIN_REGION}:${STANDIN_ACCOUNT_ID}:function:tap-metadata-extractor`,
        InvocationSchemaVersion: '2.0',
        UserArguments: { mode },
      },
    },
    Report: {
      Enabled: true,
      Bucket: `arn:aws:s3:::${OPERATIONS_BUCKET}`,
      Prefix: 'reports',
      Format: 'Report_CSV_20180820',
      ReportScope: scope,
    },
    ...manifest,
  };
}

export async function runJobSoak(options: JobSoakOptions): Promise<JobSoakReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const config = projectConfig();
  const names = resourceNames(config);
  const bucket = names.bucketName(STANDIN_ACCOUNT_ID, STANDIN_REGION);
  const table = names.tableName;
  const [moto, dynalite] = await Promise.all([startMoto({ services: ['s3'] }), startDynalite()]);
  const s3Faults = faultInjector(randomS3Faults({ seed: SEED + 1, rate: FAULT_RATE }));
  const ddbFaults = faultInjector(
    randomDynamodbFaults({
      seed: SEED + 2,
      rate: FAULT_RATE,
      eligible: (r) => ITEM_OPERATIONS.has(dynamodbOperation(r) ?? ''),
    }),
  );
  const s3Proxy = await startFaultProxy(moto.endpoint, s3Faults.fault);
  const ddbProxy = await startCapacityProxy(dynalite.endpoint, ddbFaults.fault);
  // Setup and checks go around the faults; the table is created through the capacity proxy, which
  // learns its provisioned capacity from it.
  const direct = standInClients(moto.endpoint, dynalite.endpoint);
  const viaProxy = standInClients(moto.endpoint, ddbProxy.endpoint);
  const endpoints = { s3: s3Proxy.endpoint, dynamodb: ddbProxy.endpoint };
  const fn = bundledFunction(
    standInEnvironment(functionEnvironment(config, names, bucket), { endpoints, logLevel: 'SILENT' }),
  );
  const timeouts = { random: seededRandom(SEED + 3), count: 0 };
  // A timed-out invocation: the handler ran (its writes landed), then Lambda reported a function error.
  const invoke: TapHandler = (async (event: unknown) => {
    const answer = await fn.handler(event);
    if (timeouts.random() >= TIMEOUT_RATE) return answer;
    timeouts.count++;
    throw new Error('Task timed out after 30.00 seconds');
  }) as TapHandler;
  const durations: Partial<JobSoakReport['durationsMs']> = {};
  const timed = async <T>(name: keyof JobSoakReport['durationsMs'], work: () => Promise<T>) => {
    const t = Date.now();
    log(`job soak: ${name}`);
    try {
      return await work();
    } finally {
      durations[name] = Date.now() - t;
    }
  };
  const job = async (request: CreateJobCommandInput): Promise<JobRun> => {
    const counts = await runJob(request, { s3: direct.s3, invoke, concurrency: CONCURRENCY });
    const { rows, md5Matches } = await readReport(direct.s3, counts.report!);
    const tally = (status: string) => rows.filter((row) => row[3] === status).length;
    const scope = request.Report?.ReportScope as JobRun['scope'];
    return {
      ...counts,
      reportRows: { succeeded: tally('succeeded'), failed: tally('failed') },
      reportMd5Matches: md5Matches,
      scope,
    };
  };

  try {
    const driver = new Driver(direct.s3, bucket, SEED);
    const { first, latest } = await timed('setup', async () => {
      await createPipelineStorage({ s3: direct.s3, dynamodb: viaProxy.dynamodb }, { bucket, table }, config);
      await direct.s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
      await direct.s3.send(new CreateBucketCommand({ Bucket: OPERATIONS_BUCKET }));
      const indexes = Array.from({ length: options.objects }, (_, i) => i);
      const name = (i: number) => `legacy/${NAMES[i % NAMES.length].replace('{i}', String(i).padStart(5, '0'))}`;
      const first = await mapBounded(indexes, CONCURRENCY, (i) => driver.upload(name(i), 'docs'));
      const keyOf = (record: S3EventRecord) => decodeS3Key(record.s3.object.key);
      // A fifth overwritten and one in twenty behind a delete marker, before the stack: no events.
      const latest = await mapBounded(first, CONCURRENCY, async (record, i) =>
        i % 5 === 1
          ? driver.upload(keyOf(record), 'docs')
          : i % 20 === 3
            ? driver.deleteMarker(keyOf(record), false)
            : record,
      );
      return { first, latest };
    });

    // The backfill's manifest: an S3 Inventory report of every version and delete marker.
    const listed = await everyVersion(direct.s3, bucket);
    const rows = [...listed].map(([id, v]) => {
      const at = id.lastIndexOf('@');
      const key = encodeURIComponent(id.slice(0, at)).replace(/%2F/g, '/');
      return [bucket, key, id.slice(at + 1), String(v.latest), String(v.marker)].map((f) => `"${f}"`).join(',');
    });
    const data = 'inventory/data/part-0.csv.gz';
    await direct.s3.send(
      new PutObjectCommand({ Bucket: OPERATIONS_BUCKET, Key: data, Body: zlib.gzipSync(`${rows.join('\n')}\n`) }),
    );
    const inventory = {
      sourceBucket: bucket,
      destinationBucket: `arn:aws:s3:::${OPERATIONS_BUCKET}`,
      version: '2016-11-30',
      creationTimestamp: String(Date.now()),
      fileFormat: 'CSV',
      fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker',
      files: [{ key: data }],
    };
    const manifestKey = 'inventory/manifest.json';
    const put = await direct.s3.send(
      new PutObjectCommand({ Bucket: OPERATIONS_BUCKET, Key: manifestKey, Body: JSON.stringify(inventory) }),
    );

    // Users go on while the job runs, on keys apart from each other: late create events of manifest
    // versions, overwrites, delete markers, permanent deletes of an old version (each with its event).
    const random = seededRandom(SEED + 4);
    const live = { lateCreates: 0, overwrites: 0, deleteMarkers: 0, deletes: 0, duringJob: 0, failedDeliveries: 0 };
    const delivered: S3EventRecord[] = [];
    const actions = first.flatMap((record, i): (() => Promise<S3EventRecord>)[] => {
      const key = decodeS3Key(record.s3.object.key);
      const roll = random();
      if (roll < 0.1) return [async () => (live.lateCreates++, record)];
      if (roll < 0.15) return [async () => (live.overwrites++, driver.upload(key, 'docs'))];
      if (roll < 0.18 && latest[i].eventName === 'ObjectCreated:Put')
        return [async () => (live.deleteMarkers++, driver.deleteMarker(key, false))];
      if (roll < 0.2 && latest[i] !== record)
        return [async () => (live.deletes++, driver.deleteVersion(key, record.s3.object.versionId!, false))];
      return [];
    });
    let jobRunning = true;
    const deliver = async (action: () => Promise<S3EventRecord>) => {
      const record = await action();
      const counts = await deliverAsync([s3Event(record)], { handler: invoke, concurrency: 1 });
      live.failedDeliveries += counts.failed;
      if (jobRunning) live.duringJob++;
      delivered.push(record);
    };
    const backfill = await timed('backfill', async () => {
      const request = jobRequest(
        {
          Manifest: {
            Spec: { Format: 'S3InventoryReport_CSV_20161130' },
            Location: { ObjectArn: `arn:aws:s3:::${OPERATIONS_BUCKET}/${manifestKey}`, ETag: put.ETag },
          },
        },
        'backfill',
        'AllTasks',
      );
      const traffic = mapBounded(actions, 2, deliver);
      const run = await job(request).finally(() => (jobRunning = false));
      await traffic;
      return run;
    });

    const reprocess = await timed('reprocess', () =>
      job(
        jobRequest(
          {
            ManifestGenerator: {
              S3JobManifestGenerator: {
                SourceBucket: `arn:aws:s3:::${bucket}`,
                EnableManifestOutput: false,
                Filter: { KeyNameConstraint: { MatchAnyPrefix: ['legacy/'] }, CreatedBefore: new Date() },
              },
            },
          },
          'reprocess',
          'FailedTasksOnly',
        ),
      ),
    );

    // Every version an event wrote, as a CSV manifest (keys URL-encoded): a backfill of them changes nothing.
    const csv = delivered
      .map((r) => `${bucket},${encodeURIComponent(decodeS3Key(r.s3.object.key))},${r.s3.object.versionId}`)
      .join('\n');
    const csvPut = await direct.s3.send(
      new PutObjectCommand({ Bucket: OPERATIONS_BUCKET, Key: 'manifests/events.csv', Body: csv }),
    );
    const again = await timed('again', () =>
      job(
        jobRequest(
          {
            Manifest: {
              Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key', 'VersionId'] },
              Location: { ObjectArn: `arn:aws:s3:::${OPERATIONS_BUCKET}/manifests/events.csv`, ETag: csvPut.ETag },
            },
          },
          'backfill',
          'AllTasks',
        ),
      ),
    );

    const mirror = await checkMirror(direct.s3, direct.dynamodb, bucket, table);
    const overwritten: string[] = [];
    for (const record of delivered) {
      const { key, versionId, sequencer } = record.s3.object;
      const item = await readMetadataItem(direct.dynamodb, table, decodeS3Key(key), versionId);
      if (item?.eventName !== record.eventName || item?.sequencer !== normalizeSequencer(sequencer))
        overwritten.push(`${decodeS3Key(key)}@${versionId}`);
    }
    const unmirroredItems = await mapBounded(mirror.unmirrored.slice(0, 5), 5, async (id) => {
      const at = id.lastIndexOf('@');
      const item = await readMetadataItem(direct.dynamodb, table, id.slice(0, at), id.slice(at + 1));
      return `${id}: ${item ? `${String(item.status)} by ${String(item.eventName)}` : 'no item'}`;
    });
    const usage = ddbProxy.ledger.usage(table);
    return {
      unmirroredItems,
      objects: options.objects,
      manifested: rows.length,
      live,
      backfill,
      reprocess,
      again,
      faults: {
        s3: s3Faults.counts,
        dynamodb: ddbFaults.counts,
        functionTimeouts: timeouts.count,
        capacityThrottles: usage.throttledReadRequests + usage.throttledWriteRequests,
        consumedWriteUnits: usage.consumedWriteUnits,
      },
      mirror,
      overwritten,
      durationsMs: { ...(durations as JobSoakReport['durationsMs']), total: Date.now() - started },
    };
  } finally {
    fn.restore();
    [direct, viaProxy].forEach((c) => (c.s3.destroy(), c.dynamodb.destroy()));
    await Promise.all([s3Proxy.close(), ddbProxy.close()]);
    await Promise.all([dynalite.close(), moto.stop()]);
  }
}

/** Whether the jobs kept the promise; the reasons they did not, otherwise. */
export function jobSoakVerdict(r: JobSoakReport): string[] {
  const problems: string[] = [];
  for (const [name, run] of [
    ['backfill', r.backfill],
    ['reprocess', r.reprocess],
    ['again', r.again],
  ] as const) {
    if (run.failed > 0) problems.push(`${name}: ${run.failed} tasks failed: ${JSON.stringify(run.failedByCode)}`);
    const succeeded = run.scope === 'AllTasks' ? run.succeeded : 0;
    if (run.reportRows.succeeded !== succeeded || run.reportRows.failed !== run.failed || !run.reportMd5Matches)
      problems.push(
        `${name}: the completion report says ${JSON.stringify(run.reportRows)}, the job ${run.succeeded}/${run.failed}`,
      );
  }
  if (r.backfill.tasks !== r.manifested) problems.push(`backfill ran ${r.backfill.tasks} tasks of ${r.manifested}`);
  if ((r.again.outcomes.stored ?? 0) > 0)
    problems.push(`a backfill wrote over ${r.again.outcomes.stored} events' items`);
  if (r.live.failedDeliveries > 0) problems.push(`${r.live.failedDeliveries} live events failed their retries`);
  if (r.mirror.unmirrored.length > 0) problems.push(`versions without their item: ${r.unmirroredItems.join(', ')}`);
  if (r.mirror.unlisted.length > 0)
    problems.push(`items of absent versions: ${r.mirror.unlisted.slice(0, 5).join(', ')}`);
  if (r.overwritten.length > 0)
    problems.push(`items written over a newer event: ${r.overwritten.slice(0, 5).join(', ')}`);
  return problems;
}
