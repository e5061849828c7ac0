// npm run bench: measures, side by side in one run on this machine, what TapStack costs to work
// with and to run, and writes BENCHMARKS.md. Every figure is a median of BENCH_RUNS runs (3).
// This file measures; bench/model.ts derives the memory and cost models from the measurements, and
// bench/report.ts writes them up.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { functionEnvironment, HANDLER_BUNDLE_DIR, projectConfig, resourceNames, TapConfig } from '../config';
import { backfillJobSection } from '../bench/backfill-job';
import { prepareBaselineApp } from '../bench/baseline-app';
import type { WorkerContext, WorkerResult } from '../bench/invoke-worker';
import { stackSettings, SynthesizedStackJson } from '../bench/model';
import prices from '../bench/prices.json';
import { measureReconcileFiles } from '../bench/reconcile-files';
import type { MemoryRun } from '../bench/reconcile-memory';
import { BenchResults, ReconcileResults, renderReport, Timed } from '../bench/report';
import type { ReconcileJson } from '../cli/commands/reconcile';
import { mapBounded } from '../handler/concurrency';
import { readItem } from '../handler/item';
import { buildHandler, HANDLER_BUNDLE } from './build-handler';
import { startCapacityProxy, writeUnits } from './lib/capacity';
import { root, run, runMain } from './lib/cli';
import { startMoto } from './lib/moto';
import { runSoak, runTap, soakVerdict, tapEnvironment } from './lib/soak';
import { unmarshalledItemBytes } from '../fixtures/item-size';
import { putRecord, s3Event, s3Record } from '../fixtures/s3-events';
import {
  createPipelineStorage,
  ProxiedRequest,
  scanItems,
  standInClients,
  standInEnvironment,
  startDynalite,
  startFaultProxy,
  startS3rver,
  STANDIN_ACCOUNT_ID,
  STANDIN_CREDENTIALS,
  STANDIN_REGION,
} from '../fixtures/standins';
import { validate } from './validate';

const WORK = path.join(root, '.work', 'bench');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 1000);
/** The soak's uploads (npm test runs 200). */
const SOAK_UPLOADS = Number(process.env.BENCH_SOAK_UPLOADS ?? 2000);
/** Objects the capacity run backfills: at 50 WCU/s, about 20 s of writes. */
const BACKFILL_OBJECTS = Number(process.env.BENCH_BACKFILL_OBJECTS ?? 1000);
/** Live writes a second alongside the backfill: with reconcile's half, 90% of the table's 100 WCU. */
const LIVE_WRITES_PER_SECOND = 40;
/** The default reserved concurrency: invocations in flight at once. */
const CONCURRENCY = 10;
/** S3 + DynamoDB latency per object in-region, assumed: the stand-ins on loopback answer far faster. */
const IO_FLOOR_MS = Number(process.env.BENCH_AWS_IO_MS ?? 40);

/** The middle item by `value` (of an even count, the lower of the two middle ones). */
const medianBy = <T>(items: readonly T[], value: (item: T) => number): T =>
  [...items].sort((a, b) => value(a) - value(b))[Math.floor((items.length - 1) / 2)];
const median = (xs: number[]) => medianBy(xs, (x) => x);
const log = (message: string) => console.log(`[bench] ${message}`);

/** Wall time and peak RSS (the largest process in the tree, from GNU time) of a command. */
function measure(command: string, args: string[], env = process.env, cwd = root): Timed {
  const started = process.hrtime.bigint();
  const time = ['-f', 'BENCH_MAXRSS=%M', command, ...args];
  const result = spawnSync('/usr/bin/time', time, { cwd, env, encoding: 'utf8', maxBuffer: 256 << 20 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed:\n${(result.stderr ?? '').slice(-3000)}`);
  const rss = /BENCH_MAXRSS=(\d+)/.exec(result.stderr ?? '');
  return { ms, maxRssMb: rss ? Number(rss[1]) / 1024 : NaN };
}

/** RUNS runs of `fn`, one after the other, each logged as `describe` puts it. */
async function runsOf<T>(label: string, fn: () => T | Promise<T>, describe: (run: T) => string): Promise<T[]> {
  const runs: T[] = [];
  for (let i = 1; i <= RUNS; i++) {
    runs.push(await fn());
    log(`  ${label} run ${i}/${RUNS}: ${describe(runs[i - 1])}`);
  }
  return runs;
}

/** The median wall time and the median peak RSS of RUNS measurements. */
async function repeat(label: string, fn: () => Timed): Promise<Timed> {
  const runs = await runsOf(label, fn, (r) => `${(r.ms / 1000).toFixed(2)} s, ${r.maxRssMb.toFixed(0)} MB`);
  return { ms: median(runs.map((r) => r.ms)), maxRssMb: median(runs.map((r) => r.maxRssMb)) };
}

/** `cdktf synth` and the app alone, TapStack's and the baseline's (bench/baseline-app.ts). */
async function measureSynth(): Promise<BenchResults['synth']> {
  log('synth: cdktf synth of TapStack vs the cdktf-init way (root import, ts-node type-checking)');
  await buildHandler();
  const baselineDir = prepareBaselineApp(root, path.join(WORK, 'baseline-app'), HANDLER_BUNDLE_DIR);
  const cdktf = path.join(root, 'node_modules', '.bin', 'cdktf');
  const synthEnv = { ...process.env, CHECKPOINT_DISABLE: '1' };
  const synthIn = (cwd: string) => () => measure(cdktf, ['synth', '--hide-diff'], synthEnv, cwd);
  const ours = await repeat('TapStack cdktf synth', synthIn(root));
  const base = await repeat('baseline cdktf synth', synthIn(baselineDir));
  const appEnv = {
    ...synthEnv,
    CDKTF_OUTDIR: path.join(WORK, 'app-out'),
    CDKTF_CONTEXT_JSON: JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'cdktf.json'), 'utf8')).context),
  };
  const oursApp = await repeat('TapStack app only', () =>
    measure(process.execPath, ['--require', 'tsx/cjs', 'main.ts'], appEnv),
  );
  const baseApp = await repeat('baseline app only', () =>
    measure(path.join(root, 'node_modules', '.bin', 'ts-node'), ['main.ts'], appEnv, baselineDir),
  );
  return { ours, base, oursApp, baseApp };
}

function measureTests(): Promise<Timed> {
  log('npm test: wall time and peak memory of the jest suite');
  return repeat('jest', () => measure(path.join(root, 'node_modules', '.bin', 'jest'), ['--silent']));
}

/** Milliseconds to require `bundle` in a fresh node process. */
function coldLoad(bundle: string, env: NodeJS.ProcessEnv): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(bundle)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  return Number(spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).stdout);
}

/** Bundle size and cold module load against a bundle of the S3 and DynamoDB clients alone. */
async function measureBundle(config: TapConfig): Promise<BenchResults['bundle']> {
  log('handler bundle: size and cold module-load time vs an S3 + DynamoDB client-only bundle');
  const baselineBundle = path.join(WORK, 'baseline-handler', 'index.js');
  await buildHandler({ entry: path.join(root, 'bench', 'baseline-handler.ts'), outfile: baselineBundle });
  const loadEnv = {
    PATH: process.env.PATH,
    ...functionEnvironment(
      config,
      resourceNames(config),
      resourceNames(config).bucketName(STANDIN_ACCOUNT_ID, STANDIN_REGION),
    ),
    AWS_REGION: config.region,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NODE_NO_WARNINGS: '1',
  };
  const loads = { ours: [] as number[], base: [] as number[] };
  for (let i = 0; i < Math.max(9, RUNS * 3); i++) {
    loads.base.push(coldLoad(baselineBundle, loadEnv));
    loads.ours.push(coldLoad(HANDLER_BUNDLE, loadEnv));
  }
  return {
    bytes: fs.statSync(HANDLER_BUNDLE).size,
    baseBytes: fs.statSync(baselineBundle).size,
    loadMs: median(loads.ours),
    baseLoadMs: median(loads.base),
  };
}

/** bench/invoke-worker.ts bundled, so bare node runs it with no loader in front of the handler's bundle. */
async function buildWorker(): Promise<string> {
  const outfile = path.join(WORK, 'invoke-worker.js');
  await buildHandler({ entry: path.join(root, 'bench', 'invoke-worker.ts'), outfile });
  return outfile;
}

/** Runs the worker on an events file; resolves to its measurements (its fd 3: stdout is the handler's logs). */
async function runWorker(worker: string, args: string[], env: NodeJS.ProcessEnv): Promise<WorkerResult> {
  const child = spawn(process.execPath, [worker, HANDLER_BUNDLE, ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const closed = once(child, 'close');
  const [report, stderr] = await Promise.all([text(child.stdio[3] as Readable), text(child.stderr as Readable)]);
  const [code] = (await closed) as [number | null];
  if (code !== 0 || !report) throw new Error(`worker failed (${code}): ${stderr.slice(-3000)}`);
  return JSON.parse(report) as WorkerResult;
}

/**
 * The bench object's item as the handler builds it on AWS, where the stand-ins leave fields empty:
 * SSE-KMS with the stack's kind of key ARN and a bucket key, a CRC64NVME checksum, an assumed role.
 */
export function awsLikeItemBytes(config: TapConfig): number {
  const account = '123456789012';
  const head = {
    $metadata: {},
    ContentLength: 70,
    ETag: '"8feea4e2ac428d1b5bda8b7ec9955825"',
    ContentType: 'image/png',
    LastModified: new Date('2026-11-29T10:00:00Z'),
    Metadata: { uploader: 'bench' },
    ServerSideEncryption: 'aws:kms' as const,
    SSEKMSKeyId: `arn:aws:kms:${config.region}:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    BucketKeyEnabled: true,
    ChecksumCRC64NVME: 'Qm9v2Xx8AAA=',
    ChecksumType: 'FULL_OBJECT' as const,
  };
  const item = readItem(
    {
      bucket: resourceNames(config).bucketName(account, config.region),
      key: 'bench/00000 photo.png',
      versionId: 'Wm9.c2ZqPKnvV3Tn2KhB7gWgk7jvK5Hx',
    },
    {
      eventName: 'ObjectCreated:Put',
      eventTime: '2026-11-29T10:00:01.123Z',
      sequencer: '0062A9B1C2D3E4F5A6',
      requester: 'AWS:AROA3XFRBF535PLBIFPI4:uploader',
      sourceIp: '203.0.113.17',
      requestId: 'C3D13FE58DE4C810',
    },
    { state: 'present', head, detectedContentType: 'image/png' },
    new Date('2026-11-29T10:00:02Z'),
  );
  return unmarshalledItemBytes(item);
}

/** Uploads UPLOADS copies of a PNG; writes the events S3 would send, and one late event for cold runs. */
async function uploadEvents(clients: ReturnType<typeof standInClients>, bucket: string) {
  const sample = fs.readFileSync(path.join(root, 'samples', 'pixel.png'));
  const events = [];
  for (let i = 0; i < UPLOADS; i++) {
    const request = {
      Bucket: bucket,
      Key: `bench/${String(i).padStart(5, '0')} photo.png`,
      Body: sample,
      ContentType: 'image/png',
      Metadata: { uploader: 'bench' },
    };
    events.push(s3Event(putRecord(request, await clients.s3.send(new PutObjectCommand(request)))));
    if ((i + 1) % 250 === 0) log(`  uploaded ${i + 1}/${UPLOADS}`);
  }
  const all = path.join(WORK, 'events.json');
  fs.writeFileSync(all, JSON.stringify(events));
  // The event of the cold runs (peak memory of one invocation), newer than the uploads' events.
  const one = path.join(WORK, 'one-event.json');
  const late = s3Record({ bucket, key: 'bench/00000 photo.png', size: sample.length, sequencer: 'F'.repeat(20) });
  fs.writeFileSync(one, JSON.stringify([s3Event(late)]));
  return { all, one };
}

/** Throughput, requests and WCU per object, peak RSS of one cold invocation, log volume. */
async function measureThroughput(
  config: TapConfig,
  worker: string,
): Promise<Pick<BenchResults, 'throughput' | 'single' | 'perObject'>> {
  log(`throughput: ${UPLOADS} uploads to s3rver, one event each, ${CONCURRENCY} invocations at once`);
  const names = resourceNames(config);
  const bucket = names.bucketName(STANDIN_ACCOUNT_ID, STANDIN_REGION);
  const [s3rver, dynalite] = await Promise.all([startS3rver(), startDynalite()]);
  const s3Proxy = await startFaultProxy(s3rver.endpoint, () => undefined);
  const ddbProxy = await startFaultProxy(dynalite.endpoint, () => undefined);
  const clients = standInClients(s3rver.endpoint, dynalite.endpoint);
  try {
    await createPipelineStorage(clients, { bucket, table: names.tableName }, config);
    const events = await uploadEvents(clients, bucket);
    // The function as configured, pointed at the stand-ins; EMF metric lines are kept (the log volume is
    // measured, as CloudWatch would ingest it).
    const context: WorkerContext = {
      functionName: names.functionName,
      memoryLimitInMB: String(config.lambdaMemoryMb),
      invokedFunctionArn: `arn:aws:lambda:${STANDIN_REGION}:${STANDIN_ACCOUNT_ID}:function:${names.functionName}`,
    };
    const endpoints = { s3: s3Proxy.endpoint, dynamodb: ddbProxy.endpoint };
    const env = {
      PATH: process.env.PATH,
      ...standInEnvironment(functionEnvironment(config, names, bucket), { endpoints, emitMetrics: true }),
    };
    const invoke = (events: string, concurrency: number) =>
      runWorker(worker, [events, String(concurrency), JSON.stringify(context)], env);
    const throughput = await invoke(events.all, CONCURRENCY);
    if (throughput.failures > 0) throw new Error(`${throughput.failures} invocations failed`);
    const perUpload = (requests: ProxiedRequest[], test: (r: ProxiedRequest) => boolean) =>
      requests.filter(test).length / UPLOADS;
    const sizes = (await scanItems(clients.dynamodb, names.tableName)).map(unmarshalledItemBytes);
    const perObject = {
      head: perUpload(s3Proxy.requests, (r) => r.method === 'HEAD'),
      get: perUpload(s3Proxy.requests, (r) => r.method === 'GET'),
      write: perUpload(ddbProxy.requests, (r) => /PutItem|UpdateItem/.test(String(r.headers['x-amz-target']))),
      wcu: sizes.reduce((n, s) => n + writeUnits(s), 0) / sizes.length,
      itemBytes: median(sizes),
      awsItemBytes: awsLikeItemBytes(config),
    };
    const singles = await runsOf(
      'one cold invocation',
      () => invoke(events.one, 1),
      (r) => `${r.maxRssKb} KB`,
    );
    const single = medianBy(singles, (r) => r.maxRssKb);
    return { throughput, single, perObject };
  } finally {
    clients.s3.destroy();
    clients.dynamodb.destroy();
    await Promise.all([s3Proxy.close(), ddbProxy.close(), s3rver.close(), dynalite.close()]);
  }
}

async function measurePlan(): Promise<number> {
  log('terraform plan: offline, real hashicorp/aws 5.100.0 (validate runs init + validate + plan)');
  const plan = async () => (await validate({ quiet: true, configurations: { TapStack: {} } })).results[0].times.plan;
  return median(await runsOf('plan', plan, (ms) => `${(ms / 1000).toFixed(2)} s`));
}

/** Reconcile's peak RSS at 10,000 and at 100,000 versions (medians of RUNS). */
export async function measureReconcileMemory(): Promise<ReconcileResults['memory']> {
  log('tap reconcile: peak memory at 10,000 and 100,000 versions (listing and table pages made up in process)');
  const script = path.join(root, 'bench', 'reconcile-memory.ts');
  const medianRun = async (versions: number) => {
    // Each run in a process of its own, so that its peak RSS is that run's.
    const args = ['--require', 'tsx/cjs', script, String(versions)];
    const oneRun = async () => JSON.parse((await run(process.execPath, args, { quiet: true })).stdout) as MemoryRun;
    const describe = (r: MemoryRun) => `${(r.maxRssKb / 1024).toFixed(0)} MB, ${(r.ms / 1000).toFixed(1)} s`;
    const runs = await runsOf(`${versions} versions`, oneRun, describe);
    return medianBy(runs, (r) => r.maxRssKb);
  };
  return { small: await medianRun(10_000), large: await medianRun(100_000) };
}

/**
 * tap reconcile --repair backfilling BACKFILL_OBJECTS objects (moto's S3) into an empty table behind
 * the capacity proxy (dynalite, the stack's 100 WCU enforced), while live writes take 40 WCU/s.
 */
export async function measureReconcileCapacity(config: TapConfig): Promise<ReconcileResults['capacity']> {
  log(
    `tap reconcile --repair: ${BACKFILL_OBJECTS} objects backfilled against the capacity proxy, ${LIVE_WRITES_PER_SECOND} live writes/s alongside`,
  );
  const names = { bucket: 'tap-bench-backfill', table: 'tap-bench-backfill' };
  const [moto, dynalite] = await Promise.all([startMoto({ services: ['s3'] }), startDynalite()]);
  const proxy = await startCapacityProxy(dynalite.endpoint);
  // One attempt: a live write the proxy throttles is counted, not retried.
  const { s3, dynamodb } = standInClients(moto.endpoint, proxy.endpoint, 1);
  try {
    await createPipelineStorage({ s3, dynamodb }, names, config);
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: names.bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const sample = fs.readFileSync(path.join(root, 'samples', 'pixel.png'));
    await mapBounded(
      Array.from({ length: BACKFILL_OBJECTS }, (_, i) => i),
      16,
      (i) =>
        s3.send(
          new PutObjectCommand({
            Bucket: names.bucket,
            Key: `before-the-stack/${i}.png`,
            Body: sample,
            ContentType: 'image/png',
          }),
        ),
    );
    const live = { writes: 0, throttled: 0, done: false };
    const writer = (async () => {
      for (let i = 0; !live.done; i++) {
        const item = { objectKey: { S: `live/${i}` }, versionId: { S: 'v' }, pad: { S: 'x'.repeat(700) } };
        await dynamodb.send(new PutItemCommand({ TableName: names.table, Item: item })).then(
          () => live.writes++,
          () => live.throttled++,
        );
        await new Promise((resolve) => setTimeout(resolve, 1000 / LIVE_WRITES_PER_SECOND));
      }
    })();
    const run = await runTap<ReconcileJson>(
      ['reconcile', '--repair', '--json', '--bucket', names.bucket, '--table', names.table],
      tapEnvironment({ s3: moto.endpoint, dynamodb: proxy.endpoint }, STANDIN_CREDENTIALS),
      path.join(WORK, 'reconcile'),
    ).finally(() => (live.done = true));
    await writer;
    if (run.code !== 0) throw new Error(`tap reconcile --repair exited ${run.code}: ${run.stderr.slice(-2000)}`);
    const usage = proxy.ledger.usage(names.table);
    log(
      `  ${run.json.repaired} repaired at ${(run.json.capacity.sustainedWriteUnitsPerSecond ?? 0).toFixed(1)} WCU/s of ${run.json.capacity.writeUnitsPerSecond}`,
    );
    return {
      objects: BACKFILL_OBJECTS,
      liveWritesPerSecond: LIVE_WRITES_PER_SECOND,
      json: run.json,
      ms: run.ms,
      liveWrites: live.writes,
      liveThrottled: live.throttled,
      proxyThrottledWrites: usage.throttledWriteRequests,
      peakWriteUnitsPerSecond: Math.max(...usage.perSecond.map((s) => s.writeUnits)),
    };
  } finally {
    s3.destroy();
    dynamodb.destroy();
    await proxy.close();
    await Promise.all([dynalite.close(), moto.stop()]);
  }
}

/** The soak (scripts/lib/soak.ts) with SOAK_UPLOADS uploads; fails the bench if the table does not mirror the bucket. */
export async function measureSoak(): Promise<NonNullable<BenchResults['soak']>> {
  log(`soak: ${SOAK_UPLOADS} uploads through moto, faults, Lambda-like delivery, tap redrive and tap reconcile`);
  const report = await runSoak({
    uploads: SOAK_UPLOADS,
    workDir: path.join(WORK, 'soak'),
    log: (line) => log(`  ${line}`),
  });
  const problems = soakVerdict(report);
  if (problems.length > 0) throw new Error(`soak: the table does not mirror the bucket:\n${problems.join('\n')}`);
  return report;
}

async function main() {
  // The stand-in clients here run on this machine's Node 20; the SDK's notice about Node 22 is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  fs.mkdirSync(WORK, { recursive: true });
  const machine = { cores: os.cpus().length, memoryGiB: os.totalmem() / 2 ** 30, node: process.version };
  log(`machine: ${machine.cores} cores, ${machine.memoryGiB.toFixed(0)} GiB, Node ${machine.node}; ${RUNS} runs each`);
  const config = projectConfig();

  const synth = await measureSynth();
  const tests = await measureTests();
  const bundle = await measureBundle(config);
  const throughput = await measureThroughput(config, await buildWorker());
  const planMs = await measurePlan();
  const reconcile = {
    memory: await measureReconcileMemory(),
    capacity: await measureReconcileCapacity(config),
    files: await measureReconcileFiles(log),
  };
  const soak = await measureSoak();

  // measurePlan's last validate left the synthesized stack: the models read its settings.
  const stackFile = path.join(root, 'cdktf.out', 'stacks', 'TapStack', 'cdk.tf.json');
  const settings = stackSettings(JSON.parse(fs.readFileSync(stackFile, 'utf8')) as SynthesizedStackJson);
  const backfillJobs = await backfillJobSection(settings, IO_FLOOR_MS);
  const report = renderReport({
    date: new Date().toISOString().slice(0, 10),
    machine,
    runs: RUNS,
    synth,
    tests,
    bundle,
    concurrency: CONCURRENCY,
    ...throughput,
    planMs,
    reconcile,
    soak,
    ioFloorMs: IO_FLOOR_MS,
    settings,
    prices,
    backfillJobs,
  });
  fs.writeFileSync(path.join(root, 'BENCHMARKS.md'), report);
  console.log(`\n${report}`);
  log('wrote BENCHMARKS.md');
}

if (require.main === module) runMain('bench', main);
