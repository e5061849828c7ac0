// The backfill job's benchmark (npm run bench, which also runs the 2,000-object job soak first, or
// `npx tsx bench/backfill-job.ts [objects]` alone, the capacity run only): a
// Batch Operations backfill job on the stand-in (scripts/lib/batch-job.ts) invoking the bundled handler
// in this process, against moto's S3 and dynalite behind the capacity proxy at the stack's write
// capacity. Goal: the job sustains at least 90% of that capacity with nothing lost to throttling (every
// task succeeds, every object has its item). Measured: consumed WCU per second over the job, the
// handler's CPU, S3 requests and log bytes per task; bench/model.ts projects wall time and cost for
// 10 and 100 million objects at 100 and 1,000 WCU beside S3 Metadata's backfill price.
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { CreateJobCommandInput } from '@aws-sdk/client-s3-control';
import { functionEnvironment, projectConfig, resourceNames, TapConfig } from '../config';
import { mapBounded } from '../handler/concurrency';
import { JobCounts, runJob } from '../scripts/lib/batch-job';
import { startCapacityProxy } from '../scripts/lib/capacity';
import { runMain } from '../scripts/lib/cli';
import { startMoto } from '../scripts/lib/moto';
import { bundledFunction, jobRequest, jobSoakVerdict, OPERATIONS_BUCKET, runJobSoak } from '../scripts/lib/soak-job';
import { jobSoakLines } from '../scripts/lib/soak-report';
import {
  createPipelineStorage,
  scanItems,
  standInClients,
  standInEnvironment,
  startDynalite,
  startFaultProxy,
  STANDIN_ACCOUNT_ID,
  STANDIN_REGION,
} from '../fixtures/standins';
import { backfillProjection, Measured, Prices, StackSettings, totalUsd } from './model';
import prices from './prices.json';

/** Objects the job backfills: at 100 WCU, about 30 s of writes. */
const OBJECTS = Number(process.env.BENCH_JOB_OBJECTS ?? 3000);
/** Objects of the job soak npm run bench runs. */
const JOB_SOAK_OBJECTS = Number(process.env.BENCH_JOB_SOAK_OBJECTS ?? 2000);
/** Invocations at once: the stack's reserved concurrency. */
const CONCURRENCY = 10;
/** The share of the write capacity the job must sustain. */
export const SUSTAINED_GOAL = 0.9;

export interface BackfillJobRun {
  readonly objects: number;
  readonly writeCapacity: number;
  readonly concurrency: number;
  readonly job: JobCounts;
  readonly itemsStored: number;
  readonly consumedWriteUnits: number;
  /** Consumed WCU over the whole job's wall time. */
  readonly writeUnitsPerSecond: number;
  /** The median of the per-second samples, the first and last second left out. */
  readonly medianWriteUnitsPerSecond: number;
  readonly throttledWrites: number;
  /** Per task: the handler's CPU in this process (dynalite and the proxies included: an upper bound), S3 requests, log bytes, WCU. */
  readonly measured: Pick<Measured, 'cpuPerObjectMs' | 's3GetsPerObject' | 'logBytesPerObject'> & {
    wcuPerObject: number;
  };
}

/** Uploads OBJECTS objects that predate the stack, then backfills them with one job from the manifest generator. */
export async function measureBackfillJob(config: TapConfig, objects = OBJECTS): Promise<BackfillJobRun> {
  const names = resourceNames(config);
  const bucket = names.bucketName(STANDIN_ACCOUNT_ID, STANDIN_REGION);
  const table = names.tableName;
  const [moto, dynalite] = await Promise.all([startMoto({ services: ['s3'] }), startDynalite()]);
  const s3Proxy = await startFaultProxy(moto.endpoint, () => undefined);
  const ddbProxy = await startCapacityProxy(dynalite.endpoint);
  const direct = standInClients(moto.endpoint, dynalite.endpoint);
  const viaProxy = standInClients(moto.endpoint, ddbProxy.endpoint);
  const endpoints = { s3: s3Proxy.endpoint, dynamodb: ddbProxy.endpoint };
  const fn = bundledFunction(
    standInEnvironment(functionEnvironment(config, names, bucket), { endpoints, emitMetrics: true }),
  );
  // The function's log lines (EMF metrics included) are counted, not printed.
  const write = process.stdout.write.bind(process.stdout);
  let logBytes = 0;
  try {
    await createPipelineStorage({ s3: direct.s3, dynamodb: viaProxy.dynamodb }, { bucket, table }, config);
    await direct.s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await direct.s3.send(new CreateBucketCommand({ Bucket: OPERATIONS_BUCKET }));
    const body = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
    await mapBounded(
      Array.from({ length: objects }, (_, i) => i),
      16,
      (i) =>
        direct.s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: `before/${i} photo.png`, Body: body, ContentType: 'image/png' }),
        ),
    );
    const request: CreateJobCommandInput = jobRequest(
      {
        ManifestGenerator: {
          S3JobManifestGenerator: {
            SourceBucket: `arn:aws:s3:::${bucket}`,
            EnableManifestOutput: false,
            Filter: { CreatedBefore: new Date() },
          },
        },
      },
      'backfill',
      'FailedTasksOnly',
    );
    const requestsBefore = s3Proxy.requests.length;
    const cpu = process.cpuUsage();
    process.stdout.write = ((chunk: string | Uint8Array) => (
      (logBytes += Buffer.byteLength(chunk)),
      true
    )) as typeof process.stdout.write;
    const job = await runJob(request, { s3: direct.s3, invoke: fn.handler, concurrency: CONCURRENCY }).finally(
      () => (process.stdout.write = write),
    );
    const used = process.cpuUsage(cpu);
    const usage = ddbProxy.ledger.usage(table);
    const samples = usage.perSecond
      .slice(1, -1)
      .map((s) => s.writeUnits)
      .sort((a, b) => a - b);
    const items = await scanItems(direct.dynamodb, table);
    return {
      objects,
      writeCapacity: config.tableWriteCapacity,
      concurrency: CONCURRENCY,
      job,
      itemsStored: items.length,
      consumedWriteUnits: usage.consumedWriteUnits,
      writeUnitsPerSecond: usage.consumedWriteUnits / (job.ms / 1000),
      medianWriteUnitsPerSecond: samples[Math.floor(samples.length / 2)] ?? 0,
      throttledWrites: usage.throttledWriteRequests,
      measured: {
        cpuPerObjectMs: (used.user + used.system) / 1000 / job.tasks,
        // The job's own LIST requests go around the proxy: these are the function's.
        s3GetsPerObject: (s3Proxy.requests.length - requestsBefore) / job.tasks,
        logBytesPerObject: logBytes / job.tasks,
        wcuPerObject: usage.consumedWriteUnits / job.tasks,
      },
    };
  } finally {
    process.stdout.write = write;
    fn.restore();
    [direct, viaProxy].forEach((c) => (c.s3.destroy(), c.dynamodb.destroy()));
    await Promise.all([s3Proxy.close(), ddbProxy.close()]);
    await Promise.all([dynalite.close(), moto.stop()]);
  }
}

/** Problems with the run against the goal (none: it met it). */
export function backfillJobVerdict(run: BackfillJobRun): string[] {
  const problems: string[] = [];
  if (run.job.failed > 0) problems.push(`${run.job.failed} tasks failed: ${JSON.stringify(run.job.failedByCode)}`);
  if (run.itemsStored !== run.objects) problems.push(`${run.itemsStored} items for ${run.objects} objects`);
  if (run.writeUnitsPerSecond < SUSTAINED_GOAL * run.writeCapacity)
    problems.push(
      `sustained ${run.writeUnitsPerSecond.toFixed(1)} WCU/s, under ${SUSTAINED_GOAL * 100}% of ${run.writeCapacity}`,
    );
  return problems;
}

const usd = (x: number) => `$${x < 10 ? x.toFixed(2) : x.toFixed(0)}`;
const n = (x: number) => x.toLocaleString('en-US');

/** The run and the projection, as Markdown for BENCHMARKS.md. */
export function backfillJobLines(
  run: BackfillJobRun,
  settings: StackSettings,
  ioFloorMs: number,
  p: Prices = prices,
): string[] {
  const m = run.measured;
  const share = run.writeUnitsPerSecond / run.writeCapacity;
  const lines = [
    `A backfill job on the Batch Operations stand-in (\`scripts/lib/batch-job.ts\`: manifest generator, one task per invocation, ${run.concurrency} at once) invoking the bundled handler in process, moto's S3 and dynalite behind the capacity proxy at ${run.writeCapacity} WCU:`,
    '',
    '| measure | value | goal |',
    '|---|---|---|',
    `| objects backfilled; tasks succeeded / failed; items | ${n(run.objects)}; ${n(run.job.succeeded)} / ${n(run.job.failed)}; ${n(run.itemsStored)} | nothing lost |`,
    `| job wall time; invocations (retries) | ${(run.job.ms / 1000).toFixed(1)} s; ${n(run.job.invocations)} (${n(run.job.retries)}) | |`,
    `| consumed WCU/s over the job (median second) | ${run.writeUnitsPerSecond.toFixed(1)} (${run.medianWriteUnitsPerSecond}) = ${(share * 100).toFixed(0)}% of ${run.writeCapacity} | >= ${SUSTAINED_GOAL * 100}% ${share >= SUSTAINED_GOAL ? 'met' : 'MISSED'} |`,
    `| write requests throttled by the capacity proxy (retried by the SDK) | ${n(run.throttledWrites)} | |`,
    `| per task: WCU; S3 requests; log bytes; CPU in this process (upper bound) | ${m.wcuPerObject.toFixed(2)}; ${m.s3GetsPerObject.toFixed(2)}; ${m.logBytesPerObject.toFixed(0)}; ${m.cpuPerObjectMs.toFixed(2)} ms | |`,
    '',
    `Projection (bench/model.ts, bench/prices.json as of ${p.asOf}): the table's write capacity is the limit (${settings.writeCapacity} WCU with the default reserved concurrency ${run.concurrency}; 1,000 WCU needs tableMaxWriteCapacity 1000 and about 100 reserved), ${m.wcuPerObject.toFixed(2)} WCU a task, Lambda at ${settings.memoryMb} MB for ${ioFloorMs} ms of AWS latency plus the CPU above:`,
    '',
    "| objects | WCU | wall time | Batch Operations | the pipeline per object (Lambda, S3 HEAD + GET, logs, X-Ray) | WCU above the table's for the job | total | S3 Metadata backfill |",
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const objects of [10e6, 100e6])
    for (const wcu of [settings.writeCapacity, 1000]) {
      const { hours, items, s3Metadata } = backfillProjection(
        { objects, writeUnitsPerSecond: wcu, wcuPerObject: m.wcuPerObject },
        { ...m, loadCpuMs: 0 },
        settings,
        ioFloorMs,
        p,
      );
      const [jobs, extra] = [items[0], items.at(-1)!];
      const pipeline = totalUsd(items) - jobs.usd - extra.usd;
      lines.push(
        `| ${n(objects / 1e6)} M | ${n(wcu)} | ${hours.toFixed(1)} h | ${usd(jobs.usd)} | ${usd(pipeline)} | ${usd(extra.usd)} | ${usd(totalUsd(items))} | ${usd(s3Metadata)} |`,
      );
    }
  return lines;
}

/**
 * npm run bench's part: the job soak at JOB_SOAK_OBJECTS and the capacity run, as Markdown for
 * BENCHMARKS.md; throws when either misses its goal.
 */
export async function backfillJobSection(
  config: TapConfig,
  settings: StackSettings,
  ioFloorMs: number,
): Promise<string[]> {
  const soak = await runJobSoak({ objects: JOB_SOAK_OBJECTS, log: (line) => console.log(`[bench]   ${line}`) });
  const soakProblems = jobSoakVerdict(soak);
  if (soakProblems.length > 0) throw new Error(`job soak: ${soakProblems.join('; ')}`);
  const run = await measureBackfillJob(config);
  const problems = backfillJobVerdict(run);
  if (problems.length > 0) throw new Error(`backfill job: ${problems.join('; ')}`);
  return [
    '## Backfill jobs',
    '',
    `The job soak (\`scripts/lib/soak-job.ts\`, ${n(JOB_SOAK_OBJECTS)} objects; npm test runs 200): Batch Operations jobs on the stand-in through the bundled handler, 5% S3 and DynamoDB faults, 1% timed-out invocations, the table's capacity enforced, users' events for the same keys delivered while the backfill runs.`,
    '',
    ...jobSoakLines(soak),
    '',
    ...backfillJobLines(run, settings, ioFloorMs),
  ];
}

async function main() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = projectConfig();
  const run = await measureBackfillJob(config, Number(process.argv[2] ?? OBJECTS));
  const settings = {
    memoryMb: config.lambdaMemoryMb,
    readCapacity: config.tableReadCapacity,
    writeCapacity: config.tableWriteCapacity,
    logRetentionDays: config.logRetentionDays,
    alarmCount: 0,
  };
  console.log(backfillJobLines(run, settings, Number(process.env.BENCH_AWS_IO_MS ?? 40)).join('\n'));
  const problems = backfillJobVerdict(run);
  if (problems.length > 0) throw new Error(`backfill job: ${problems.join('; ')}`);
}

if (require.main === module) runMain('bench:backfill-job', main);
