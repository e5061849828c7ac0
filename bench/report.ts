// BENCHMARKS.md from the bench's results: measurements, the memory model and the cost model. Only
// formatting here; every number comes from scripts/bench.ts (measured) or bench/model.ts (derived,
// called from here so that the report and its test derive it one way).
import type { ReconcileJson } from '../cli/commands/reconcile';
import type { SoakReport } from '../scripts/lib/soak';
import { soakLines } from '../scripts/lib/soak-report';
import type { WorkerResult } from './invoke-worker';
import type { MemoryRun } from './reconcile-memory';
import type { FilesRun } from './reconcile-files';
import type { CostItem, Measured, Prices, StackSettings } from './model';
import { chooseMemory, costPerMillionFiles, fixedMonthlyCost, largestItems, memoryModel, totalUsd } from './model';

/** Wall time and peak memory of a command, medians over the runs. */
export interface Timed {
  readonly ms: number;
  readonly maxRssMb: number;
}

export interface BenchResults {
  readonly date: string;
  readonly machine: { readonly cores: number; readonly memoryGiB: number; readonly node: string };
  readonly runs: number;
  readonly synth: { readonly ours: Timed; readonly base: Timed; readonly oursApp: Timed; readonly baseApp: Timed };
  readonly tests: Timed;
  readonly bundle: {
    readonly bytes: number;
    readonly baseBytes: number;
    readonly loadMs: number;
    readonly baseLoadMs: number;
  };
  readonly concurrency: number;
  readonly throughput: WorkerResult;
  /** One cold invocation: peak memory and load CPU. */
  readonly single: WorkerResult;
  readonly perObject: {
    readonly head: number;
    readonly get: number;
    readonly write: number;
    readonly wcu: number;
    readonly itemBytes: number;
    /** The same object's item as AWS fills it (SSE-KMS, checksum, assumed role): scripts/bench.ts. */
    readonly awsItemBytes?: number;
  };
  readonly planMs: number;
  /** Measured by npm run bench; absent in reports built without them (tests). */
  readonly reconcile?: {
    /** Peak RSS of one run at 10,000 (small) and 100,000 (large) versions. */
    readonly memory: { readonly small: MemoryRun; readonly large: MemoryRun };
    /** A backfill with --repair against the capacity proxy, live writes alongside. */
    readonly capacity: {
      readonly objects: number;
      /** Live writes a second alongside the backfill. */
      readonly liveWritesPerSecond: number;
      readonly json: ReconcileJson;
      readonly ms: number;
      readonly liveWrites: number;
      readonly liveThrottled: number;
      readonly proxyThrottledWrites: number;
      readonly peakWriteUnitsPerSecond: number;
    };
    /** From an S3 Inventory report and a DynamoDB export (bench/reconcile-files.ts), smallest first. */
    readonly files: readonly FilesRun[];
  };
  /** The backfill jobs' section (bench/backfill-job.ts). */
  readonly backfillJobs: readonly string[];
  readonly soak?: SoakReport;
  readonly ioFloorMs: number;
  readonly settings: StackSettings;
  readonly prices: Prices;
}

/** The results and the per-object figures bench/model.ts derives the memory and cost models from. */
type Derived = BenchResults & { readonly measured: Measured };

/** The memory rule's budget for the estimated cold init. */
const COLD_INIT_BUDGET_MS = 500;

/** What npm run bench measures of tap reconcile. */
export type ReconcileResults = NonNullable<BenchResults['reconcile']>;

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const table = (header: string[], rows: string[][]) => [
  `| ${header.join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];

/** A row that compares TapStack with its baseline, both written by `show`, and one that has no baseline. */
const compared = (measure: string, ours: number, base: number, show: (n: number) => string, goal = '') => [
  measure,
  show(ours),
  show(base),
  fmt(ours / base),
  goal,
];
const alone = (measure: string, value: string, goal = '') => [measure, value, '', '', goal];
const seconds = (ms: number) => `${fmt(ms / 1000)} s`;
const mb = (n: number) => `${fmt(n, 0)} MB`;

function measurementRows(r: Derived): string[][] {
  const { synth, bundle, throughput, perObject } = r;
  return [
    compared('synth: `cdktf synth` wall time', synth.ours.ms, synth.base.ms, seconds, '<= 0.2'),
    compared('synth: app only (what `cdktf synth` runs)', synth.oursApp.ms, synth.baseApp.ms, seconds),
    compared('synth: app peak memory', synth.oursApp.maxRssMb, synth.baseApp.maxRssMb, mb),
    alone('`npm test` (jest) wall time', seconds(r.tests.ms), '< 60 s'),
    alone('`npm test` peak memory (largest process)', mb(r.tests.maxRssMb)),
    compared('handler bundle size', bundle.bytes / 1024, bundle.baseBytes / 1024, (kb) => `${fmt(kb, 0)} KB`, '<= 1.3'),
    compared('handler cold module load', bundle.loadMs, bundle.baseLoadMs, (ms) => `${fmt(ms, 1)} ms`, '<= 1.3'),
    alone('peak RSS of one cold invocation', mb(r.single.maxRssKb / 1024)),
    alone(
      `throughput, ${throughput.invocations} uploads, ${r.concurrency} at once (stand-ins)`,
      `${fmt(throughput.invocations / (throughput.wallMs / 1000), 0)} objects/s`,
    ),
    alone('invocation latency p50 / p99 (stand-ins)', `${fmt(throughput.p50Ms, 1)} / ${fmt(throughput.p99Ms, 1)} ms`),
    alone('handler CPU per object', `${fmt(r.measured.cpuPerObjectMs, 2)} ms`),
    alone('S3 HEAD / ranged GET per object', `${fmt(perObject.head)} / ${fmt(perObject.get)}`, '1 / 1'),
    alone(
      'DynamoDB writes / WCU per object',
      `${fmt(perObject.write)} / ${fmt(perObject.wcu)} (item ${perObject.itemBytes} B${perObject.awsItemBytes ? `; ${perObject.awsItemBytes} B as AWS fills it` : ''})`,
      '1 / 1',
    ),
    alone('`terraform plan` (offline provider)', seconds(r.planMs)),
    ...(r.reconcile ? reconcileRows(r.reconcile) : []),
  ];
}

function reconcileRows({ memory: { small, large }, capacity }: ReconcileResults): string[][] {
  const { writeUnitsPerSecond: limit, throttled } = capacity.json.capacity;
  const rate = capacity.json.capacity.sustainedWriteUnitsPerSecond ?? 0;
  const rss = (run: MemoryRun) => run.maxRssKb / 1024;
  return [
    compared('`tap reconcile` peak RSS, 100,000 versions (vs 10,000)', rss(large), rss(small), mb, '<= 1.2'),
    [
      '`tap reconcile --repair` write rate (vs its share of 100 WCU)',
      `${fmt(rate, 1)} WCU/s`,
      `${fmt(limit, 0)} WCU/s`,
      fmt(rate / limit),
      '>= 0.9',
    ],
    alone(
      'throttled writes: reconcile / live writes alongside / proxy',
      `${throttled} / ${capacity.liveThrottled} / ${capacity.proxyThrottledWrites}`,
      '0',
    ),
  ];
}

function memorySection(r: Derived): string[] {
  const model = memoryModel(r.measured, r.ioFloorMs, r.prices);
  const chosen = chooseMemory(model, COLD_INIT_BUDGET_MS);
  const configured = r.settings.memoryMb;
  const rows = model.map((m) => [
    `${m.mb} MB${m.mb === configured ? ' (configured)' : ''}`,
    `${fmt(m.warmMs, 0)} ms`,
    `${fmt(m.coldInitMs, 0)} ms`,
    `$${fmt(m.costPerMillion)}`,
  ]);
  const verdict =
    chosen?.mb === configured
      ? ', the configured default.'
      : ` (configured: ${configured} MB; change lambdaMemoryMb to follow the measurement).`;
  return [
    '## Memory setting',
    '',
    `Model: CPU time measured per object here (${fmt(r.measured.cpuPerObjectMs, 2)} ms) and at cold start (${fmt(r.measured.loadCpuMs, 0)} ms of CPU to load the bundle), stretched by 1769/M below 1,769 MB (Lambda's CPU share is proportional to memory), plus ${r.ioFloorMs} ms of S3/DynamoDB latency per object (assumed for in-region AWS: HEAD and ranged GET in parallel, then one write).`,
    '',
    ...table(['memory', 'est. warm duration', 'est. cold init', 'duration cost per million'], rows),
    '',
    `Rule: the cheapest memory whose estimated cold init stays within ${COLD_INIT_BUDGET_MS} ms: **${chosen?.mb ?? 'none'} MB**${verdict} Below it, cold starts pass the budget; above it, each step costs more per object for little time saved, since S3 and DynamoDB latency dominates.`,
  ];
}

function costTable(title: string, items: CostItem[]): string[] {
  const rows = items.map((i) => [i.detail ? `${i.item} (${i.detail})` : i.item, `$${fmt(i.usd)}`]);
  return [...table([title, 'USD'], rows), `| **total** | **$${fmt(totalUsd(items))}** |`];
}

function costSection(r: Derived): string[] {
  const { settings: s, prices } = r;
  const fixed = fixedMonthlyCost(s, prices);
  const perMillion = costPerMillionFiles(r.measured, s, r.ioFloorMs, prices);
  return [
    '## Cost model',
    '',
    `From the synthesized stack (${s.writeCapacity} WCU / ${s.readCapacity} RCU, ${s.memoryMb} MB, ${s.logRetentionDays}-day log retention, ${s.alarmCount} alarms, 1 KMS key) and the prices in \`bench/prices.json\` (${prices.region}, as of ${prices.asOf}).`,
    '',
    ...costTable('fixed, per month (idle)', fixed),
    '',
    ...costTable('per million uploaded files', perMillion),
    '',
    `Largest terms: idle, ${largestItems(fixed).join(' and ')}; per million files, ${largestItems(perMillion).join(' and ')}.`,
  ];
}

function reconcileSection(r: BenchResults): string[] {
  if (!r.reconcile) return [];
  const { small, large } = r.reconcile.memory;
  const c = r.reconcile.capacity;
  const perSecond = (run: MemoryRun) => `${fmt(run.versions / (run.ms / 1000), 0)} versions/s`;
  return [
    '## tap reconcile',
    '',
    `Memory: one report-only run over ${small.versions.toLocaleString('en-US')} and ${large.versions.toLocaleString('en-US')} versions (4 per key, a delete marker on every fourth key, ${small.missing} / ${large.missing} missing items and ${small.extra} / ${large.extra} items of absent keys), each in a process of its own (\`bench/reconcile-memory.ts\`), peak RSS from the kernel: ${fmt(small.maxRssKb / 1024, 0)} MB and ${fmt(large.maxRssKb / 1024, 0)} MB (${perSecond(small)}, ${perSecond(large)}). The listing and table pages come from \`bench/fake-aws.ts\`: real SDK clients whose \`send()\` makes each ListObjectVersions, Query and Scan page up as it is asked for, in that process, so that no bucket or table is held anywhere; reconcile's engine (\`cli/reconcile/run.ts\`) runs unchanged on them. Measured through HTTP instead (a fake server on loopback, the CLI as a child process), peak RSS grows with the run's length even though the live heap after each garbage collection stays flat: that is V8 sizing its heap for the SDK's per-request garbage, not anything reconcile keeps (docs/operating.md, \`tap reconcile\`).`,
    '',
    `Capacity: \`tap reconcile --repair\` backfilling ${c.objects.toLocaleString('en-US')} objects that predate the stack (moto's S3) into an empty table behind the capacity proxy (dynalite, the stack's 100 WCU / 100 RCU enforced with 1 s of burst), while live writes took ${c.liveWritesPerSecond} WCU/s: ${c.json.repaired} items written in ${fmt(c.ms / 1000, 1)} s at ${fmt(c.json.capacity.sustainedWriteUnitsPerSecond ?? 0, 1)} WCU/s against its limit of ${c.json.capacity.writeUnitsPerSecond} (--write-share 0.5), ${c.json.capacity.throttled} of its writes throttled, ${c.liveThrottled} of ${c.liveWrites} live writes throttled, the table's busiest second ${c.peakWriteUnitsPerSecond} WCU of 100.`,
    '',
    ...filesLines(r.reconcile.files),
  ];
}

/** Reconcile from files against its goals: the largest run in 15 minutes, its peak RSS within 1.5 x the smallest's. */
function filesLines(runs: readonly FilesRun[]): string[] {
  const [small, large] = [runs[0], runs[runs.length - 1]];
  const mb = (run: FilesRun) => `${fmt(run.maxRssKb / 1024, 0)} MB`;
  return [
    `From files (\`tap reconcile --inventory --export\`, \`bench/reconcile-files.ts\`): a CSV inventory of all versions and an export in AWS's layout (1,000,000 rows a file), written in the documented formats from \`bench/fake-aws.ts\`'s data, each run in a process of its own; 0 LIST requests, 0 RCU.`,
    '',
    ...table(
      ['versions', 'time', 'peak RSS', 'missing / extra found', 'files written in'],
      runs.map((run) => [
        run.versions.toLocaleString('en-US'),
        `${fmt(run.ms / 1000, 1)} s`,
        mb(run),
        `${run.missing.toLocaleString('en-US')} / ${run.extra.toLocaleString('en-US')}`,
        `${fmt(run.generateMs / 1000, 0)} s`,
      ]),
    ),
    '',
    `Goals: ${large.versions.toLocaleString('en-US')} versions in ${fmt(large.ms / 60_000, 1)} min (at most 15); peak RSS ${mb(large)} against ${mb(small)}, ${fmt(large.maxRssKb / small.maxRssKb, 2)} x (at most 1.5).`,
    '',
  ];
}

function soakSection(r: BenchResults): string[] {
  if (!r.soak) return [];
  return [
    '## Soak',
    '',
    `\`scripts/lib/soak.ts\` with ${r.soak.uploads.toLocaleString('en-US')} uploads in ${r.soak.rounds} rounds (npm test runs 200): moto's S3, DynamoDB and SQS; the handler in process behind Lambda-like delivery (2 async retries, then the on-failure record to SQS); 5% of S3 and DynamoDB requests answered with throttles and 5xx; SSE-C and KMS-denied objects answered as S3 does; the outage/ keys denied to the function until the "operator" fixes it; the table's capacity enforced. Then \`tap redrive --local\`, \`tap reconcile --repair\` twice, and a comparison of the whole listing with the whole table that does not use reconcile's code.`,
    '',
    ...soakLines(r.soak),
  ];
}

/** The whole of BENCHMARKS.md. */
export function renderReport(results: BenchResults): string {
  const { throughput, single, perObject } = results;
  const measured = {
    cpuPerObjectMs: throughput.cpuMs / throughput.invocations,
    loadCpuMs: single.loadCpuMs,
    logBytesPerObject: throughput.logBytes / throughput.invocations,
    s3GetsPerObject: perObject.head + perObject.get,
  };
  const r: Derived = { ...results, measured };
  return [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${r.date}: ${r.machine.cores} cores, ${fmt(r.machine.memoryGiB, 0)} GiB, Node ${r.machine.node}, median of ${r.runs} runs.`,
    'Baselines: synth is the same app with `@cdktf/provider-aws` imported from the package root and run by ts-node with type-checking (how `cdktf init` writes it); the bundle baseline is the S3 and DynamoDB clients alone, built with the same esbuild settings.',
    '',
    ...table(['measure', 'TapStack', 'baseline', 'ratio', 'goal'], measurementRows(r)),
    '',
    ...memorySection(r),
    '',
    ...costSection(r),
    '',
    ...reconcileSection(r),
    ...soakSection(r),
    '',
    ...r.backfillJobs,
  ]
    .join('\n')
    .replace(/\n*$/, '\n');
}
