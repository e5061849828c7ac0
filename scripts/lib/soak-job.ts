// The job soak: S3 Batch Operations jobs (the stand-in of batch-job.ts) through the bundled handler, in
// this process as the Lambda runs it (dist/handler with the stack's environment, pointed at proxies),
// under 5% injected S3 and DynamoDB faults (throttles, 5xx), 1% invocations that time out after the
// handler ran (how a hung request shows: the function's SDK clients set no request timeout, Lambda's
// timeout ends it), and the table's capacity enforced (capacity.ts). moto serves S3, dynalite DynamoDB.
// Objects that predate the stack (keys with spaces, "+" and non-ASCII; a fifth overwritten, some behind
// delete markers; no events) are backfilled by a job whose manifest is an S3 Inventory report of every
// version, while users go on: late create events of versions in the manifest, overwrites, delete
// markers and permanent deletes, each delivered as Lambda delivers S3's events. Then a reprocess job
// from the manifest generator (current versions), and a CSV-manifest backfill of every version an event
// wrote, which must change nothing. Judged: every listed version has its item and no item claims an
// absent one (soak-mirror.ts), every item an event wrote keeps that event's name and sequencer, and
// each completion report counts what its job did.
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
import { createJobRequest, ManifestSource } from '../../cli/backfill/job';
import { manifestKey, manifestRow } from '../../cli/reconcile/manifest';
import type { BatchMode } from '../../handler/batch';
import { readReport, runJob } from './batch-job';
import { startCapacityProxy } from './capacity';
import { deliverAsync } from './delivery';
import { dynamodbOperation, faultInjector, randomDynamodbFaults, randomS3Faults, seededRandom } from './faults';
import { startMoto } from './moto';
import { checkMirror, everyVersion } from './soak-mirror';
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

const SEED = 20261207;
/** The function's reserved concurrency: invocations in flight at once. */
export const CONCURRENCY = 10;
/** The operations bucket under the name tap derives for the stand-in account (config/names.ts). */
export const OPERATIONS_BUCKET = resourceNames(projectConfig()).operationsBucketName(
  STANDIN_ACCOUNT_ID,
  STANDIN_REGION,
);
const ITEM_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'GetItem']);
/** Object names as users choose them: spaces, "+", non-ASCII. */
const NAMES = ['report {i} final', 'a+b {i}', 'café {i} naïve', '日本語/{i}', 'plain-{i}'];

/**
 * The bucket (versioned), the table (its capacity enforced) and an operations bucket on moto and
 * dynalite, and the bundled handler loaded afresh in this process with the stack's environment pointed
 * at proxies that inject `faultRate` of throttles and 5xx; `invoke` times out `timeoutRate` of its
 * invocations after the handler ran. Setup and checks use `direct`, around the proxies.
 */
export async function startJobStandIns(options: { faultRate: number; timeoutRate: number; quiet: boolean }) {
  const config = projectConfig();
  const names = resourceNames(config);
  const [bucket, table] = [names.bucketName(STANDIN_ACCOUNT_ID, STANDIN_REGION), names.tableName];
  const [moto, dynalite] = await Promise.all([startMoto({ services: ['s3'] }), startDynalite()]);
  const s3Faults = faultInjector(randomS3Faults({ seed: SEED, rate: options.faultRate }));
  const eligible = (r: Parameters<typeof dynamodbOperation>[0]) => ITEM_OPERATIONS.has(dynamodbOperation(r) ?? '');
  const ddbFaults = faultInjector(randomDynamodbFaults({ seed: SEED + 1, rate: options.faultRate, eligible }));
  const s3Proxy = await startFaultProxy(moto.endpoint, s3Faults.fault);
  const ddbProxy = await startCapacityProxy(dynalite.endpoint, ddbFaults.fault);
  const direct = standInClients(moto.endpoint, dynalite.endpoint);
  // The table is created through the capacity proxy, which learns its provisioned capacity from it.
  const viaProxy = standInClients(moto.endpoint, ddbProxy.endpoint);
  await createPipelineStorage({ s3: direct.s3, dynamodb: viaProxy.dynamodb }, { bucket, table }, config);
  viaProxy.s3.destroy();
  viaProxy.dynamodb.destroy();
  const versioning = { Status: 'Enabled' as const };
  await direct.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: versioning }));
  await direct.s3.send(new CreateBucketCommand({ Bucket: OPERATIONS_BUCKET }));
  const env = standInEnvironment(functionEnvironment(config, names, bucket), {
    endpoints: { s3: s3Proxy.endpoint, dynamodb: ddbProxy.endpoint },
    ...(options.quiet ? { logLevel: 'SILENT' } : { emitMetrics: true }),
  });
  // The bundle reads its environment when loaded and when its clients first send (as local-pipeline.ts).
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  delete require.cache[HANDLER_BUNDLE];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(HANDLER_BUNDLE) as { handler: TapHandler };
  const timeouts = { random: seededRandom(SEED + 2), count: 0 };
  const invoke = (async (event: unknown) => {
    const answer = await handler(event);
    if (timeouts.random() >= options.timeoutRate) return answer;
    timeouts.count++;
    throw new Error('Task timed out after 30.00 seconds');
  }) as TapHandler;
  const close = async () => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    direct.s3.destroy();
    direct.dynamodb.destroy();
    await Promise.all([s3Proxy.close(), ddbProxy.close()]);
    await Promise.all([dynalite.close(), moto.stop()]);
  };
  return { config, bucket, table, direct, s3Proxy, ddbProxy, s3Faults, ddbFaults, invoke, timeouts, close };
}

/**
 * The job `tap backfill` submits (cli/backfill/job.ts, the same function) for the stand-ins' names, over
 * `source`; `scope` AllTasks (tap backfill asks for FailedTasksOnly) to check a report row per task.
 */
export const standInJob = (
  uploadsBucket: string,
  source: ManifestSource,
  mode: BatchMode,
  scope: 'AllTasks' | 'FailedTasksOnly' = 'FailedTasksOnly',
): CreateJobCommandInput => {
  const request = createJobRequest(
    {
      account: STANDIN_ACCOUNT_ID,
      partition: 'aws',
      functionArn: `arn:aws:lambda:${STANDIN_REGION}:${STANDIN_ACCOUNT_ID}:function:tap-metadata-extractor`,
      roleArn: `arn:aws:iam::${STANDIN_ACCOUNT_ID}:role/tap-batch-operations`,
      uploadsBucket,
      operationsBucket: OPERATIONS_BUCKET,
    },
    source,
    mode,
  );
  return { ...request, Report: { ...request.Report!, ReportScope: scope } };
};

/** A job over the current versions under `prefix` of `bucket` the manifest generator yields (created before now). */
export const generatedJob = (bucket: string, prefix: string, mode: BatchMode) =>
  standInJob(bucket, { kind: 'generator', prefix, suffix: '', createdBefore: new Date() }, mode);

export async function runJobSoak(options: { objects: number; log?: (line: string) => void }) {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const aws = await startJobStandIns({ faultRate: 0.05, timeoutRate: 0.01, quiet: true });
  const { bucket, table, direct, invoke } = aws;
  const s3 = direct.s3;
  const durationsMs: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>) => {
    const t = Date.now();
    log(`job soak: ${name}`);
    return work().finally(() => (durationsMs[name] = Date.now() - t));
  };
  /** Runs a job; its counts with what its completion report says. */
  const job = async (request: CreateJobCommandInput) => {
    const counts = await runJob(request, { s3, invoke, concurrency: CONCURRENCY });
    const { counts: report, md5Matches } = await readReport(s3, counts.report!);
    const reportRows = { succeeded: report.succeeded, failed: report.failed };
    return { ...counts, reportRows, reportMd5Matches: md5Matches, scope: request.Report!.ReportScope! };
  };
  /** A manifest in the operations bucket, pinned as tap backfill pins it (headManifest). */
  const putOperations = async (key: string, body: string | Buffer) => {
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: OPERATIONS_BUCKET, Key: key, Body: body }));
    return { bucket: OPERATIONS_BUCKET, key, etag: ETag!.replace(/"/g, '') };
  };

  try {
    const driver = new Driver(s3, bucket, SEED);
    const keyOf = (record: S3EventRecord) => decodeS3Key(record.s3.object.key);
    const first = await timed('setup', async () => {
      const name = (i: number) => `legacy/${NAMES[i % NAMES.length].replace('{i}', String(i).padStart(5, '0'))}`;
      const indexes = Array.from({ length: options.objects }, (_, i) => i);
      const first = await mapBounded(indexes, CONCURRENCY, (i) => driver.upload(name(i), 'docs'));
      // A fifth overwritten and one in twenty behind a delete marker, before the stack: no events.
      await mapBounded(first, CONCURRENCY, async (record, i) =>
        i % 5 === 1
          ? driver.upload(keyOf(record), 'docs')
          : i % 20 === 3
            ? driver.deleteMarker(keyOf(record), false)
            : record,
      );
      return first;
    });

    // The backfill's manifest: an S3 Inventory report of every version and delete marker.
    const rows = [...(await everyVersion(s3, bucket)).values()].map((v) => {
      const fields = [bucket, manifestKey(v.key), v.versionId, String(v.latest), String(v.marker)];
      return fields.map((f) => `"${f}"`).join(',');
    });
    const data = 'manifests/inventory/data/part-0.csv.gz';
    await putOperations(data, zlib.gzipSync(`${rows.join('\n')}\n`));
    const inventory = {
      sourceBucket: bucket,
      destinationBucket: `arn:aws:s3:::${OPERATIONS_BUCKET}`,
      version: '2016-11-30',
      creationTimestamp: String(Date.now()),
      fileFormat: 'CSV',
      fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker',
      files: [{ key: data }],
    };
    const inventoryManifest = await putOperations('manifests/inventory/manifest.json', JSON.stringify(inventory));

    // Users go on while the job runs, each on a key of its own: late create events of manifest versions
    // (10%), overwrites (5%), delete markers (2.5%), permanent deletes of an old version (4%), with events.
    const live = { lateCreates: 0, overwrites: 0, deleteMarkers: 0, deletes: 0, duringJob: 0, failedDeliveries: 0 };
    const actions = first.flatMap((record, i): (() => Promise<S3EventRecord>)[] => {
      if (i % 10 === 0) return [async () => (live.lateCreates++, record)];
      if (i % 20 === 2) return [async () => (live.overwrites++, driver.upload(keyOf(record), 'docs'))];
      if (i % 40 === 4) return [async () => (live.deleteMarkers++, driver.deleteMarker(keyOf(record), false))];
      // An overwritten key (i % 5 === 1) loses its first version.
      if (i % 25 === 6)
        return [async () => (live.deletes++, driver.deleteVersion(keyOf(record), record.s3.object.versionId!, false))];
      return [];
    });
    let jobRunning = true;
    const delivered: S3EventRecord[] = [];
    const backfill = await timed('backfill', async () => {
      const traffic = mapBounded(actions, 2, async (action) => {
        const record = await action();
        live.failedDeliveries += (await deliverAsync([s3Event(record)], { handler: invoke, concurrency: 1 })).failed;
        if (jobRunning) live.duringJob++;
        delivered.push(record);
      });
      const run = await job(standInJob(bucket, { kind: 'inventory', ...inventoryManifest }, 'backfill', 'AllTasks'));
      jobRunning = false;
      await traffic;
      return run;
    });
    const reprocess = await timed('reprocess', () => job(generatedJob(bucket, 'legacy/', 'reprocess')));
    // Every version an event wrote, as a CSV manifest: a backfill of them changes nothing.
    const csv = delivered.map((r) => manifestRow(bucket, keyOf(r), r.s3.object.versionId!)).join('');
    const manifest = await putOperations('manifests/events.csv', csv);
    const again = await timed('again', () =>
      job(standInJob(bucket, { kind: 'csv', ...manifest }, 'backfill', 'AllTasks')),
    );

    const mirror = await checkMirror(s3, direct.dynamodb, bucket, table);
    const itemOf = (key: string, versionId?: string) => readMetadataItem(direct.dynamodb, table, key, versionId);
    const overwritten: string[] = [];
    for (const record of delivered) {
      const item = await itemOf(keyOf(record), record.s3.object.versionId);
      if (item?.eventName !== record.eventName || item?.sequencer !== normalizeSequencer(record.s3.object.sequencer))
        overwritten.push(`${keyOf(record)}@${record.s3.object.versionId}`);
    }
    const usage = aws.ddbProxy.ledger.usage(table);
    return {
      objects: options.objects,
      /** Versions and delete markers in the backfill's inventory. */
      manifested: rows.length,
      live,
      backfill,
      reprocess,
      again,
      faults: {
        s3: aws.s3Faults.counts,
        dynamodb: aws.ddbFaults.counts,
        functionTimeouts: aws.timeouts.count,
        capacityThrottles: usage.throttledReadRequests + usage.throttledWriteRequests,
        consumedWriteUnits: usage.consumedWriteUnits,
      },
      mirror,
      /** key@version of items an event wrote that no longer carry its name and sequencer. */
      overwritten,
      durationsMs: { ...durationsMs, total: Date.now() - started } as Record<string, number>,
    };
  } finally {
    await aws.close();
  }
}

export type JobSoakReport = Awaited<ReturnType<typeof runJobSoak>>;
export type JobRun = JobSoakReport['backfill'];

/** Whether the jobs kept the promise; the reasons they did not, otherwise. */
export function jobSoakVerdict(r: JobSoakReport): string[] {
  const problems: string[] = [];
  for (const [name, run] of Object.entries({ backfill: r.backfill, reprocess: r.reprocess, again: r.again })) {
    if (run.failed > 0) problems.push(`${name}: ${run.failed} tasks failed: ${JSON.stringify(run.failedByCode)}`);
    const succeeded = run.scope === 'AllTasks' ? run.succeeded : 0;
    if (run.reportRows.succeeded !== succeeded || run.reportRows.failed !== run.failed || !run.reportMd5Matches)
      problems.push(
        `${name}: the report says ${JSON.stringify(run.reportRows)}, the job ${run.succeeded}/${run.failed}`,
      );
  }
  if (r.backfill.tasks !== r.manifested) problems.push(`backfill ran ${r.backfill.tasks} tasks of ${r.manifested}`);
  if (r.again.outcomes.stored) problems.push(`a backfill wrote over ${r.again.outcomes.stored} events' items`);
  if (r.live.failedDeliveries > 0) problems.push(`${r.live.failedDeliveries} live events failed their retries`);
  if (r.mirror.unmirrored.length > 0)
    problems.push(`versions without their item: ${r.mirror.unmirrored.slice(0, 5).join(', ')}`);
  if (r.mirror.unlisted.length > 0)
    problems.push(`items of absent versions: ${r.mirror.unlisted.slice(0, 5).join(', ')}`);
  if (r.overwritten.length > 0)
    problems.push(`items written over a newer event: ${r.overwritten.slice(0, 5).join(', ')}`);
  return problems;
}
