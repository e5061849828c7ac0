// npm run bench: measures, side by side in one run on this machine, what TapStack costs to work
// with and to run, and writes BENCHMARKS.md. Every figure is a median of BENCH_RUNS runs (3).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { AttributeValue, ScanCommand, ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { projectConfig, resourceNames } from '../config';
import {
  createPipelineStorage,
  standInClients,
  startDynalite,
  startFaultProxy,
  startS3rver,
  STANDIN_CREDENTIALS,
} from './lib/standins';
import { s3Event, s3Record } from './lib/s3-events';
// @ts-expect-error plain ES module shared with the other scripts
import { buildHandler } from './build-handler.mjs';
// @ts-expect-error plain ES module shared with the other scripts
import { validate } from './validate.mjs';

const ROOT = path.resolve(__dirname, '..');
const WORK = path.join(ROOT, '.work', 'bench');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 1000);
const CONCURRENCY = 10;
const prices = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', 'prices.json'), 'utf8'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fmt = (n: number, digits = 2) => n.toFixed(digits);
const log = (message: string) => console.log(`[bench] ${message}`);

/** Wall time and peak RSS (the largest process in the tree, from GNU time) of a command. */
function measure(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', 'BENCH_MAXRSS=%M', command, ...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed:\n${(result.stderr ?? '').slice(-3000)}`);
  const rss = /BENCH_MAXRSS=(\d+)/.exec(result.stderr ?? '');
  return { ms, maxRssMb: rss ? Number(rss[1]) / 1024 : NaN };
}

function repeat(label: string, fn: () => { ms: number; maxRssMb: number }) {
  const runs = Array.from({ length: RUNS }, (_, i) => {
    const r = fn();
    log(`  ${label} run ${i + 1}/${RUNS}: ${fmt(r.ms / 1000)} s, ${fmt(r.maxRssMb, 0)} MB`);
    return r;
  });
  return { ms: median(runs.map((r) => r.ms)), maxRssMb: median(runs.map((r) => r.maxRssMb)) };
}

/** The same app written the way `cdktf init` users write it: provider from the package root, ts-node with type-checking. */
function prepareBaselineApp(): string {
  const dir = path.join(WORK, 'baseline-app');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const aliases: string[] = [];
  const source = fs
    .readFileSync(path.join(ROOT, 'main.ts'), 'utf8')
    .split('\n')
    .filter((line) => {
      const m = /^import \{([^}]*)\} from '@cdktf\/provider-aws\/lib\/([a-z0-9-]+)';$/.exec(line);
      if (!m) return true;
      const namespace = m[2].replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      for (const name of m[1]
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean))
        aliases.push(`import ${name} = aws.${namespace}.${name};`);
      return false;
    })
    .join('\n')
    .replace(
      "import { Construct } from 'constructs';",
      `import { Construct } from 'constructs';\nimport * as aws from '@cdktf/provider-aws';\n${aliases.join('\n')}`,
    );
  fs.writeFileSync(path.join(dir, 'main.ts'), source);
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'commonjs',
        moduleResolution: 'node',
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
        types: ['node'],
      },
      include: ['main.ts'],
    }),
  );
  const cdktf = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdktf.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ ...cdktf, app: 'npx ts-node main.ts' }, null, 2));
  for (const link of ['node_modules', 'dist']) fs.symlinkSync(path.join(ROOT, link), path.join(dir, link));
  return dir;
}

/** DynamoDB's item size: attribute names plus values (strings in UTF-8, numbers ~1 byte per 2 digits). */
function itemBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(value).replace(/[-.]/g, '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (typeof value === 'object')
    return 3 + Object.entries(value as object).reduce((n, [k, v]) => n + Buffer.byteLength(k) + itemBytes(v) + 1, 0);
  return 0;
}

interface WorkerResult {
  loadMs: number;
  loadCpuMs: number;
  wallMs: number;
  cpuMs: number;
  invocations: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxRssKb: number;
  logBytes: number;
}

function runWorker(eventsFile: string, concurrency: number, env: NodeJS.ProcessEnv): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bench', 'invoke-worker.cjs'), eventsFile, String(concurrency)],
      { env, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
    );
    let report = '';
    let stderr = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => (report += d));
    child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-3000)));
    child.on('close', (code) =>
      code === 0 && report ? resolve(JSON.parse(report)) : reject(new Error(`worker failed (${code}): ${stderr}`)),
    );
  });
}

function coldLoad(bundle: string, env: NodeJS.ProcessEnv): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(bundle)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  return Number(spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).stdout);
}

async function main() {
  fs.mkdirSync(WORK, { recursive: true });
  const results: Record<string, string | number> = {};
  log(
    `machine: ${os.cpus().length} cores, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}; ${RUNS} runs each`,
  );

  // 1. Synth.
  log('synth: cdktf synth of TapStack vs the cdktf-init way (root import, ts-node type-checking)');
  await buildHandler();
  const baselineDir = prepareBaselineApp();
  const cdktfBin = path.join(ROOT, 'node_modules', '.bin', 'cdktf');
  const synthEnv = { ...process.env, CHECKPOINT_DISABLE: '1' };
  const oursSynth = repeat('TapStack cdktf synth', () =>
    measure(cdktfBin, ['synth', '--hide-diff'], { env: synthEnv }),
  );
  const baseSynth = repeat('baseline cdktf synth', () =>
    measure(cdktfBin, ['synth', '--hide-diff'], { cwd: baselineDir, env: synthEnv }),
  );
  const appEnv = {
    ...synthEnv,
    CDKTF_OUTDIR: path.join(WORK, 'app-out'),
    CDKTF_CONTEXT_JSON: JSON.stringify(JSON.parse(fs.readFileSync(path.join(ROOT, 'cdktf.json'), 'utf8')).context),
  };
  const oursApp = repeat('TapStack app only', () =>
    measure(process.execPath, ['--require', 'tsx/cjs', 'main.ts'], { env: appEnv }),
  );
  const baseApp = repeat('baseline app only', () =>
    measure(path.join(ROOT, 'node_modules', '.bin', 'ts-node'), ['main.ts'], { cwd: baselineDir, env: appEnv }),
  );

  // 2. Tests.
  log('npm test: wall time and peak memory of the jest suite');
  const tests = repeat('jest', () =>
    measure(path.join(ROOT, 'node_modules', '.bin', 'jest'), ['--silent'], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    }),
  );

  // 3. Bundle size and cold module load.
  log('handler bundle: size and cold module-load time vs an S3 + DynamoDB client-only bundle');
  const baselineBundle = path.join(WORK, 'baseline-handler', 'index.js');
  await buildHandler({ entry: path.join(ROOT, 'bench', 'baseline-handler.ts'), outfile: baselineBundle });
  const ourBundle = path.join(ROOT, 'dist', 'handler', 'index.js');
  const loadEnv = {
    PATH: process.env.PATH,
    TABLE_NAME: 'bench',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NODE_NO_WARNINGS: '1',
  };
  const loads = { ours: [] as number[], base: [] as number[] };
  for (let i = 0; i < Math.max(9, RUNS * 3); i++) {
    loads.base.push(coldLoad(baselineBundle, loadEnv));
    loads.ours.push(coldLoad(ourBundle, loadEnv));
  }
  const size = { ours: fs.statSync(ourBundle).size, base: fs.statSync(baselineBundle).size };

  // 4. Throughput, requests and WCU per object, peak RSS of one invocation, log volume.
  log(
    `throughput: ${UPLOADS} uploads to s3rver, one event each, ${CONCURRENCY} invocations at once (the reserved concurrency)`,
  );
  const [s3rver, dynalite] = await Promise.all([startS3rver(), startDynalite()]);
  const s3Proxy = await startFaultProxy(s3rver.endpoint, () => undefined);
  const ddbProxy = await startFaultProxy(dynalite.endpoint, () => undefined);
  const config = projectConfig();
  const names = resourceNames(config);
  const bucket = names.bucketName('000000000000', 'us-east-1');
  const clients = standInClients(s3rver.endpoint, dynalite.endpoint);
  let throughput: WorkerResult;
  let single: WorkerResult;
  let perObject: { head: number; get: number; write: number; wcu: number; itemBytes: number };
  try {
    await createPipelineStorage(clients, { bucket, table: names.tableName }, config);
    const sample = fs.readFileSync(path.join(ROOT, 'samples', 'pixel.png'));
    const events = [];
    for (let i = 0; i < UPLOADS; i++) {
      const key = `bench/${String(i).padStart(5, '0')} photo.png`;
      const put = await clients.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: sample,
          ContentType: 'image/png',
          Metadata: { uploader: 'bench' },
        }),
      );
      events.push(s3Event(s3Record({ bucket, key, size: sample.length, eTag: put.ETag?.replace(/"/g, '') })));
      if ((i + 1) % 250 === 0) log(`  uploaded ${i + 1}/${UPLOADS}`);
    }
    const eventsFile = path.join(WORK, 'events.json');
    fs.writeFileSync(eventsFile, JSON.stringify(events));
    fs.writeFileSync(
      path.join(WORK, 'one-event.json'),
      JSON.stringify([
        s3Event(s3Record({ bucket, key: 'bench/00000 photo.png', size: sample.length, sequencer: 'F'.repeat(20) })),
      ]),
    );
    const workerEnv = {
      PATH: process.env.PATH,
      BENCH_BUNDLE: ourBundle,
      TABLE_NAME: names.tableName,
      POWERTOOLS_SERVICE_NAME: names.functionName,
      POWERTOOLS_METRICS_NAMESPACE: config.project,
      POWERTOOLS_LOG_LEVEL: config.logLevel,
      AWS_MAX_ATTEMPTS: String(config.sdkMaxAttempts),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3Proxy.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: ddbProxy.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    throughput = await runWorker(eventsFile, CONCURRENCY, workerEnv);
    if (throughput.failures > 0) throw new Error(`${throughput.failures} invocations failed`);
    const count = (
      requests: { method: string; headers: Record<string, unknown> }[],
      test: (r: { method: string; headers: Record<string, unknown> }) => boolean,
    ) => requests.filter(test).length / UPLOADS;
    const items: Record<string, unknown>[] = [];
    let lastKey: Record<string, AttributeValue> | undefined;
    do {
      const page: ScanCommandOutput = await clients.dynamodb.send(
        new ScanCommand({ TableName: names.tableName, ExclusiveStartKey: lastKey }),
      );
      items.push(...(page.Items ?? []).map((i) => unmarshall(i)));
      lastKey = page.LastEvaluatedKey;
    } while (lastKey);
    const sizes = items.map(itemBytes);
    perObject = {
      head: count(s3Proxy.requests, (r) => r.method === 'HEAD'),
      get: count(s3Proxy.requests, (r) => r.method === 'GET'),
      write: count(ddbProxy.requests, (r) => /PutItem|UpdateItem/.test(String(r.headers['x-amz-target']))),
      wcu: sizes.reduce((n, s) => n + Math.ceil(s / 1024), 0) / items.length,
      itemBytes: median(sizes),
    };
    const singles = [];
    for (let i = 0; i < RUNS; i++) singles.push(await runWorker(path.join(WORK, 'one-event.json'), 1, workerEnv));
    single = singles.sort((a, b) => a.maxRssKb - b.maxRssKb)[Math.floor((singles.length - 1) / 2)];
  } finally {
    clients.s3.destroy();
    clients.dynamodb.destroy();
    await Promise.all([s3Proxy.close(), ddbProxy.close(), s3rver.close(), dynalite.close()]);
  }

  // 5. terraform plan.
  log('terraform plan: offline, real hashicorp/aws 5.100.0 (validate runs init + validate + plan)');
  const plans: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { results: validated } = await validate({ quiet: true });
    plans.push(validated[0].times.plan);
    log(`  plan run ${i + 1}/${RUNS}: ${fmt(validated[0].times.plan / 1000)} s`);
  }

  // 6. Memory setting, from the measured CPU time: Lambda gives a function CPU in proportion to
  // its memory (one full vCPU at 1,769 MB), so CPU-bound time stretches by 1769/M below that.
  const stack = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdktf.out', 'stacks', 'TapStack', 'cdk.tf.json'), 'utf8'));
  const fn = Object.values(stack.resource.aws_lambda_function)[0] as { memory_size: number; timeout: number };
  const table = Object.values(stack.resource.aws_dynamodb_table)[0] as {
    read_capacity: number;
    write_capacity: number;
  };
  const logGroup = Object.values(stack.resource.aws_cloudwatch_log_group)[0] as { retention_in_days: number };
  const alarmCount = Object.keys(stack.resource.aws_cloudwatch_metric_alarm).length;
  const cpuPerObjectMs = throughput.cpuMs / throughput.invocations;
  const ioFloorMs = Number(process.env.BENCH_AWS_IO_MS ?? 40);
  const memoryOptions = [128, 256, 512, 1024, 1769];
  const model = memoryOptions.map((mb) => {
    const stretch = Math.max(1, 1769 / mb);
    const warmMs = ioFloorMs + cpuPerObjectMs * stretch;
    const coldInitMs = single.loadCpuMs * stretch;
    const costPerMillion = 1e6 * (mb / 1024) * (warmMs / 1000) * prices.lambdaArmGbSecond;
    return { mb, warmMs, coldInitMs, costPerMillion };
  });

  // The rule the default follows: the cheapest setting whose estimated cold start stays within half a second.
  const COLD_INIT_BUDGET_MS = 500;
  const chosen = model
    .filter((m) => m.coldInitMs <= COLD_INIT_BUDGET_MS)
    .sort((a, b) => a.costPerMillion - b.costPerMillion)[0];

  // 7. Cost.
  const hours = prices.hoursPerMonth;
  const fixed = {
    'DynamoDB provisioned capacity':
      (table.write_capacity * prices.dynamodbWcuHour + table.read_capacity * prices.dynamodbRcuHour) * hours,
    'KMS customer key': prices.kmsKeyMonth,
    [`CloudWatch alarms (${alarmCount})`]: alarmCount * prices.cloudwatchAlarmMonth,
    "CloudWatch dashboard (free for an account's first 3)": prices.cloudwatchDashboardMonth,
  };
  const logBytesPerObject = throughput.logBytes / throughput.invocations;
  const memoryMb = fn.memory_size;
  const current = model.find((m) => m.mb === memoryMb) ?? {
    warmMs: ioFloorMs + cpuPerObjectMs * Math.max(1, 1769 / memoryMb),
  };
  const logGb = (logBytesPerObject * 1e6) / 1e9;
  const perMillion = {
    'Lambda requests': prices.lambdaRequestPerMillion,
    [`Lambda duration (${memoryMb} MB x ${fmt(current.warmMs, 0)} ms est.)`]:
      1e6 * (memoryMb / 1024) * (current.warmMs / 1000) * prices.lambdaArmGbSecond,
    [`S3 HEAD + ranged GET (${fmt(perObject.head + perObject.get, 1)} GET-class requests)`]:
      (perObject.head + perObject.get) * 1000 * prices.s3GetPer1000,
    [`CloudWatch Logs ingestion (${fmt(logBytesPerObject, 0)} B/object incl. EMF metrics)`]:
      logGb * prices.logsIngestionGb,
    [`CloudWatch Logs storage for ${logGroup.retention_in_days} days`]:
      logGb * prices.logsStorageGbMonth * (logGroup.retention_in_days / 30),
    'X-Ray traces (default sampling: ~5% at volume)': 0.05 * prices.xrayTracesRecordedPerMillion,
    'DynamoDB writes (inside provisioned capacity)': 0,
  };
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  const largest = (o: Record<string, number>) =>
    Object.entries(o)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 2)
      .map(([k]) => k.replace(/ \(.*$/, ''))
      .join(' and ');

  // Report.
  const rows: [string, string, string, string, string][] = [
    [
      'synth: `cdktf synth` wall time',
      `${fmt(oursSynth.ms / 1000)} s`,
      `${fmt(baseSynth.ms / 1000)} s`,
      fmt(oursSynth.ms / baseSynth.ms),
      '<= 0.2',
    ],
    [
      'synth: app only (what `cdktf synth` runs)',
      `${fmt(oursApp.ms / 1000)} s`,
      `${fmt(baseApp.ms / 1000)} s`,
      fmt(oursApp.ms / baseApp.ms),
      '',
    ],
    [
      'synth: app peak memory',
      `${fmt(oursApp.maxRssMb, 0)} MB`,
      `${fmt(baseApp.maxRssMb, 0)} MB`,
      fmt(oursApp.maxRssMb / baseApp.maxRssMb),
      '',
    ],
    ['`npm test` (jest) wall time', `${fmt(tests.ms / 1000)} s`, '', '', '< 60 s'],
    ['`npm test` peak memory (largest process)', `${fmt(tests.maxRssMb, 0)} MB`, '', '', ''],
    [
      'handler bundle size',
      `${fmt(size.ours / 1024, 0)} KB`,
      `${fmt(size.base / 1024, 0)} KB`,
      fmt(size.ours / size.base),
      '<= 1.3',
    ],
    [
      'handler cold module load',
      `${fmt(median(loads.ours), 1)} ms`,
      `${fmt(median(loads.base), 1)} ms`,
      fmt(median(loads.ours) / median(loads.base)),
      '<= 1.3',
    ],
    ['peak RSS of one cold invocation', `${fmt(single.maxRssKb / 1024, 0)} MB`, '', '', ''],
    [
      `throughput, ${UPLOADS} uploads, ${CONCURRENCY} at once (stand-ins)`,
      `${fmt(throughput.invocations / (throughput.wallMs / 1000), 0)} objects/s`,
      '',
      '',
      '',
    ],
    [
      'invocation latency p50 / p99 (stand-ins)',
      `${fmt(throughput.p50Ms, 1)} / ${fmt(throughput.p99Ms, 1)} ms`,
      '',
      '',
      '',
    ],
    ['handler CPU per object', `${fmt(cpuPerObjectMs, 2)} ms`, '', '', ''],
    ['S3 HEAD / ranged GET per object', `${fmt(perObject.head)} / ${fmt(perObject.get)}`, '', '', '1 / 1'],
    [
      'DynamoDB writes / WCU per object',
      `${fmt(perObject.write)} / ${fmt(perObject.wcu)} (item ${perObject.itemBytes} B)`,
      '',
      '',
      '1 / 1',
    ],
    ['`terraform plan` (offline provider)', `${fmt(median(plans) / 1000)} s`, '', '', ''],
  ];
  const table1 = [
    '| measure | TapStack | baseline | ratio | goal |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  const table2 = [
    '| memory | est. warm duration | est. cold init | duration cost per million |',
    '|---|---|---|---|',
    ...model.map(
      (m) =>
        `| ${m.mb} MB${m.mb === memoryMb ? ' (configured)' : ''} | ${fmt(m.warmMs, 0)} ms | ${fmt(m.coldInitMs, 0)} ms | $${fmt(m.costPerMillion)} |`,
    ),
  ];
  const money = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `| ${k} | $${fmt(v)} |`);
  const table3 = [
    '| fixed, per month (idle) | USD |',
    '|---|---|',
    ...money(fixed),
    `| **total** | **$${fmt(sum(fixed))}** |`,
  ];
  const table4 = [
    '| per million uploaded files | USD |',
    '|---|---|',
    ...money(perMillion),
    `| **total** | **$${fmt(sum(perMillion))}** |`,
  ];
  const report = [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, median of ${RUNS} runs.`,
    'Baselines: synth is the same app with `@cdktf/provider-aws` imported from the package root and run by ts-node with type-checking (how `cdktf init` writes it); the bundle baseline is the S3 and DynamoDB clients alone, built with the same esbuild settings.',
    '',
    ...table1,
    '',
    '## Memory setting',
    '',
    `Model: CPU time measured per object here (${fmt(cpuPerObjectMs, 2)} ms) and at cold start (${fmt(single.loadCpuMs, 0)} ms of CPU to load the bundle), stretched by 1769/M below 1,769 MB (Lambda's CPU share is proportional to memory), plus ${ioFloorMs} ms of S3/DynamoDB latency per object (assumed for in-region AWS: HEAD and ranged GET in parallel, then one write).`,
    '',
    ...table2,
    '',
    `Rule: the cheapest memory whose estimated cold init stays within ${COLD_INIT_BUDGET_MS} ms: **${chosen?.mb ?? 'none'} MB**${chosen?.mb === memoryMb ? ', the configured default.' : ` (configured: ${memoryMb} MB; change lambdaMemoryMb to follow the measurement).`} Below it, cold starts pass the budget; above it, each step costs more per object for little time saved, since S3 and DynamoDB latency dominates.`,
    '',
    '## Cost model',
    '',
    `From the synthesized stack (${table.write_capacity} WCU / ${table.read_capacity} RCU, ${memoryMb} MB, ${logGroup.retention_in_days}-day log retention, ${alarmCount} alarms, 1 KMS key) and the prices in \`bench/prices.json\` (${prices.region}, as of ${prices.asOf}).`,
    '',
    ...table3,
    '',
    ...table4,
    '',
    `Largest terms: idle, ${largest(fixed)}; per million files, ${largest(perMillion)}.`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), report);
  results.report = report;
  console.log(`\n${report}`);
  log('wrote BENCHMARKS.md');
}

main().catch((error) => {
  console.error(`bench: FAILED\n${(error as Error).stack}`);
  process.exit(1);
});
