// BENCHMARKS.md from the bench's results: measurements, the memory model and the cost model. Only
// formatting here; every number comes from scripts/bench.ts (measured) or bench/model.ts (derived).
import type { WorkerResult } from './invoke-worker';
import { CostItem, largestItems, MemoryOption, Prices, StackSettings, totalUsd, type Measured } from './model';

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
  readonly uploads: number;
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
  };
  readonly planMs: number;
  readonly measured: Measured;
  readonly ioFloorMs: number;
  readonly settings: StackSettings;
  readonly memory: { readonly model: MemoryOption[]; readonly chosen?: MemoryOption; readonly budgetMs: number };
  readonly cost: { readonly fixed: CostItem[]; readonly perMillion: CostItem[] };
  readonly prices: Prices;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const seconds = (t: Timed) => `${fmt(t.ms / 1000)} s`;
const table = (header: string[], rows: string[][]) => [
  `| ${header.join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];

/** A row that compares TapStack with its baseline, and one that has no baseline. */
const compared = (measure: string, ours: string, base: string, ratio: number, goal = '') => [
  measure,
  ours,
  base,
  fmt(ratio),
  goal,
];
const alone = (measure: string, value: string, goal = '') => [measure, value, '', '', goal];

function measurementRows(r: BenchResults): string[][] {
  const { synth, bundle, throughput, perObject } = r;
  const mb = (n: number) => `${fmt(n, 0)} MB`;
  return [
    compared(
      'synth: `cdktf synth` wall time',
      seconds(synth.ours),
      seconds(synth.base),
      synth.ours.ms / synth.base.ms,
      '<= 0.2',
    ),
    compared(
      'synth: app only (what `cdktf synth` runs)',
      seconds(synth.oursApp),
      seconds(synth.baseApp),
      synth.oursApp.ms / synth.baseApp.ms,
    ),
    compared(
      'synth: app peak memory',
      mb(synth.oursApp.maxRssMb),
      mb(synth.baseApp.maxRssMb),
      synth.oursApp.maxRssMb / synth.baseApp.maxRssMb,
    ),
    alone('`npm test` (jest) wall time', seconds(r.tests), '< 60 s'),
    alone('`npm test` peak memory (largest process)', mb(r.tests.maxRssMb)),
    compared(
      'handler bundle size',
      `${fmt(bundle.bytes / 1024, 0)} KB`,
      `${fmt(bundle.baseBytes / 1024, 0)} KB`,
      bundle.bytes / bundle.baseBytes,
      '<= 1.3',
    ),
    compared(
      'handler cold module load',
      `${fmt(bundle.loadMs, 1)} ms`,
      `${fmt(bundle.baseLoadMs, 1)} ms`,
      bundle.loadMs / bundle.baseLoadMs,
      '<= 1.3',
    ),
    alone('peak RSS of one cold invocation', mb(r.single.maxRssKb / 1024)),
    alone(
      `throughput, ${r.uploads} uploads, ${r.concurrency} at once (stand-ins)`,
      `${fmt(throughput.invocations / (throughput.wallMs / 1000), 0)} objects/s`,
    ),
    alone('invocation latency p50 / p99 (stand-ins)', `${fmt(throughput.p50Ms, 1)} / ${fmt(throughput.p99Ms, 1)} ms`),
    alone('handler CPU per object', `${fmt(r.measured.cpuPerObjectMs, 2)} ms`),
    alone('S3 HEAD / ranged GET per object', `${fmt(perObject.head)} / ${fmt(perObject.get)}`, '1 / 1'),
    alone(
      'DynamoDB writes / WCU per object',
      `${fmt(perObject.write)} / ${fmt(perObject.wcu)} (item ${perObject.itemBytes} B)`,
      '1 / 1',
    ),
    alone('`terraform plan` (offline provider)', `${fmt(r.planMs / 1000)} s`),
  ];
}

function memorySection(r: BenchResults): string[] {
  const { model, chosen, budgetMs } = r.memory;
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
    `Rule: the cheapest memory whose estimated cold init stays within ${budgetMs} ms: **${chosen?.mb ?? 'none'} MB**${verdict} Below it, cold starts pass the budget; above it, each step costs more per object for little time saved, since S3 and DynamoDB latency dominates.`,
  ];
}

function costTable(title: string, items: CostItem[]): string[] {
  const rows = items.map((i) => [i.detail ? `${i.item} (${i.detail})` : i.item, `$${fmt(i.usd)}`]);
  return [...table([title, 'USD'], rows), `| **total** | **$${fmt(totalUsd(items))}** |`];
}

function costSection(r: BenchResults): string[] {
  const { settings: s, prices, cost } = r;
  return [
    '## Cost model',
    '',
    `From the synthesized stack (${s.writeCapacity} WCU / ${s.readCapacity} RCU, ${s.memoryMb} MB, ${s.logRetentionDays}-day log retention, ${s.alarmCount} alarms, 1 KMS key) and the prices in \`bench/prices.json\` (${prices.region}, as of ${prices.asOf}).`,
    '',
    ...costTable('fixed, per month (idle)', cost.fixed),
    '',
    ...costTable('per million uploaded files', cost.perMillion),
    '',
    `Largest terms: idle, ${largestItems(cost.fixed).join(' and ')}; per million files, ${largestItems(cost.perMillion).join(' and ')}.`,
  ];
}

/** The whole of BENCHMARKS.md. */
export function renderReport(r: BenchResults): string {
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
  ].join('\n');
}
