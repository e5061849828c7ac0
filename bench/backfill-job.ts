// The backfill job's benchmark, run by npm run bench (with the 2,000-object job soak before it): a
// Batch Operations backfill job on the stand-in (scripts/lib/batch-job.ts, manifest generator, the
// stack's reserved concurrency) invoking the bundled handler in this process, against moto's S3 and
// dynalite behind the capacity proxy at the stack's write capacity, no faults. Goal: the job sustains
// at least 90% of that capacity with nothing lost to throttling (every task succeeds, every object has
// its item). Measured: consumed WCU per second over the job; per task the WCU, the function's S3
// requests, its log bytes and the CPU of this process (dynalite and the proxies included: an upper
// bound). bench/model.ts projects wall time and cost for 10 and 100 million objects at 100 and 1,000
// WCU beside S3 Metadata's backfill price.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mapBounded } from '../handler/concurrency';
import { runJob } from '../scripts/lib/batch-job';
import { CONCURRENCY, generatedJob, jobSoakVerdict, runJobSoak, startJobStandIns } from '../scripts/lib/soak-job';
import { jobSoakLines } from '../scripts/lib/soak-report';
import { backfillProjection, StackSettings, totalUsd } from './model';
import prices from './prices.json';
import { scanItems } from '../fixtures/standins';

/** Objects the job backfills: at 100 WCU, about 30 s of writes. */
const OBJECTS = Number(process.env.BENCH_JOB_OBJECTS ?? 3000);
const JOB_SOAK_OBJECTS = Number(process.env.BENCH_JOB_SOAK_OBJECTS ?? 2000);
const SUSTAINED_GOAL = 0.9;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

export async function measureBackfillJob(objects = OBJECTS) {
  const aws = await startJobStandIns({ faultRate: 0, timeoutRate: 0, quiet: false });
  const { config, bucket, table, direct, invoke } = aws;
  const write = process.stdout.write.bind(process.stdout);
  try {
    await mapBounded(
      Array.from({ length: objects }, (_, i) => i),
      16,
      (i) => direct.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `before/${i} photo.png`, Body: PNG })),
    );
    const [requests, cpu] = [aws.s3Proxy.requests.length, process.cpuUsage()];
    // The function's log lines (EMF metrics included) are counted, not printed.
    let logBytes = 0;
    process.stdout.write = ((chunk: string | Uint8Array) => (
      (logBytes += Buffer.byteLength(chunk)),
      true
    )) as typeof write;
    const request = generatedJob(bucket, 'before/', 'backfill');
    const job = await runJob(request, { s3: direct.s3, invoke, concurrency: CONCURRENCY }).finally(
      () => (process.stdout.write = write),
    );
    const used = process.cpuUsage(cpu);
    const usage = aws.ddbProxy.ledger.usage(table);
    const seconds = usage.perSecond
      .slice(1, -1)
      .map((s) => s.writeUnits)
      .sort((a, b) => a - b);
    return {
      objects,
      writeCapacity: config.tableWriteCapacity,
      job,
      itemsStored: (await scanItems(direct.dynamodb, table)).length,
      writeUnitsPerSecond: usage.consumedWriteUnits / (job.ms / 1000),
      /** The median second's, the first and last left out. */
      medianWriteUnitsPerSecond: seconds[Math.floor(seconds.length / 2)] ?? 0,
      throttledWrites: usage.throttledWriteRequests,
      measured: {
        cpuPerObjectMs: (used.user + used.system) / 1000 / job.tasks,
        loadCpuMs: 0,
        // The job's own LIST requests go around the proxy: these are the function's.
        s3GetsPerObject: (aws.s3Proxy.requests.length - requests) / job.tasks,
        logBytesPerObject: logBytes / job.tasks,
      },
      wcuPerObject: usage.consumedWriteUnits / job.tasks,
    };
  } finally {
    process.stdout.write = write;
    await aws.close();
  }
}

export type BackfillJobRun = Awaited<ReturnType<typeof measureBackfillJob>>;

const usd = (x: number) => `$${x < 10 ? x.toFixed(2) : x.toFixed(0)}`;
const n = (x: number) => x.toLocaleString('en-US');

/** The run and the projection, as Markdown for BENCHMARKS.md. */
export function backfillJobLines(run: BackfillJobRun, settings: StackSettings, ioFloorMs: number): string[] {
  const { measured: m, job } = run;
  const share = run.writeUnitsPerSecond / run.writeCapacity;
  const projections = [10e6, 100e6].flatMap((objects) =>
    [settings.writeCapacity, 1000].map((wcu) => {
      const at = { objects, writeUnitsPerSecond: wcu, wcuPerObject: run.wcuPerObject };
      const { hours, items, s3Metadata } = backfillProjection(at, m, settings, ioFloorMs, prices);
      const [jobs, extra] = [items[0].usd, items.at(-1)!.usd];
      const pipeline = totalUsd(items) - jobs - extra;
      return `| ${n(objects / 1e6)} M | ${n(wcu)} | ${hours.toFixed(1)} h | ${usd(jobs)} | ${usd(pipeline)} | ${usd(extra)} | ${usd(totalUsd(items))} | ${usd(s3Metadata)} |`;
    }),
  );
  return [
    `A backfill job on the Batch Operations stand-in (manifest generator, one task per invocation, ${CONCURRENCY} at once) through the bundled handler in process, moto's S3 and dynalite behind the capacity proxy at ${run.writeCapacity} WCU, no faults:`,
    '',
    '| measure | value | goal |',
    '|---|---|---|',
    `| objects; tasks succeeded / failed; items | ${n(run.objects)}; ${n(job.succeeded)} / ${n(job.failed)}; ${n(run.itemsStored)} | nothing lost |`,
    `| job wall time; invocations (retries) | ${(job.ms / 1000).toFixed(1)} s; ${n(job.invocations)} (${n(job.retries)}) | |`,
    `| consumed WCU/s over the job (median second) | ${run.writeUnitsPerSecond.toFixed(1)} (${run.medianWriteUnitsPerSecond}) = ${(share * 100).toFixed(0)}% of ${run.writeCapacity} | >= ${SUSTAINED_GOAL * 100}%: ${share >= SUSTAINED_GOAL ? 'met' : 'MISSED'} |`,
    `| writes the capacity proxy throttled (the SDK retried them) | ${n(run.throttledWrites)} | |`,
    `| per task: WCU; S3 requests; log bytes; CPU here (upper bound) | ${run.wcuPerObject.toFixed(2)}; ${m.s3GetsPerObject.toFixed(2)}; ${m.logBytesPerObject.toFixed(0)}; ${m.cpuPerObjectMs.toFixed(2)} ms | |`,
    '',
    `Projection (bench/model.ts, prices as of ${prices.asOf}): the table's write capacity is the limit (${settings.writeCapacity} WCU at the default reserved concurrency of ${CONCURRENCY}; 1,000 WCU needs tableMaxWriteCapacity 1000 and about 100 reserved), Lambda at ${settings.memoryMb} MB for ${ioFloorMs} ms of AWS latency plus the CPU above; S3 Metadata's backfill at $${prices.s3MetadataBackfillPerMillionObjects} per million objects:`,
    '',
    "| objects | WCU | wall time | Batch Operations | the pipeline per object (Lambda, S3 HEAD + GET, logs, X-Ray) | WCU above the table's for the job | total | S3 Metadata backfill |",
    '|---|---|---|---|---|---|---|---|',
    ...projections,
  ];
}

/** npm run bench's part: the job soak, then the capacity run, as Markdown; throws when either misses its goal. */
export async function backfillJobSection(settings: StackSettings, ioFloorMs: number): Promise<string[]> {
  const soak = await runJobSoak({ objects: JOB_SOAK_OBJECTS, log: (line) => console.log(`[bench]   ${line}`) });
  const run = await measureBackfillJob();
  const problems = [
    ...jobSoakVerdict(soak),
    ...(run.job.failed > 0 || run.itemsStored !== run.objects
      ? [`backfill: ${run.job.failed} failed, ${run.itemsStored} items`]
      : []),
    ...(run.writeUnitsPerSecond < SUSTAINED_GOAL * run.writeCapacity
      ? [`backfill: ${run.writeUnitsPerSecond} WCU/s`]
      : []),
  ];
  if (problems.length > 0) throw new Error(`backfill jobs: ${problems.join('; ')}`);
  return ['## Backfill jobs', '', ...jobSoakLines(soak), '', ...backfillJobLines(run, settings, ioFloorMs)];
}
