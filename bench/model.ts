// The bench's models, as pure functions of what it measured, the synthesized stack's settings and
// bench/prices.json: which memory setting to run at, and what the stack costs idle and per upload.
// No I/O here, so every figure in BENCHMARKS.md can be recomputed by hand (see bench-model.test.ts).
import type PRICES from './prices.json';

/** bench/prices.json: USD, for one region, as of one date. */
export type Prices = typeof PRICES;

/** The settings of the synthesized stack that cost money. */
export interface StackSettings {
  readonly memoryMb: number;
  readonly readCapacity: number;
  readonly writeCapacity: number;
  readonly logRetentionDays: number;
  readonly alarmCount: number;
}

/** The parts of cdk.tf.json that stackSettings reads. */
export interface SynthesizedStackJson {
  readonly resource: {
    readonly aws_lambda_function: Record<string, { memory_size: number }>;
    readonly aws_dynamodb_table: Record<string, { read_capacity: number; write_capacity: number }>;
    readonly aws_cloudwatch_log_group: Record<string, { retention_in_days: number }>;
    readonly aws_cloudwatch_metric_alarm: Record<string, unknown>;
  };
}

/** Reads the settings from the synthesized stack (its one function, table and log group). */
export function stackSettings(stack: SynthesizedStackJson): StackSettings {
  const only = <T>(resources: Record<string, T>, type: string): T => {
    const all = Object.values(resources);
    if (all.length !== 1) throw new Error(`expected one ${type} in the stack, found ${all.length}`);
    return all[0];
  };
  const table = only(stack.resource.aws_dynamodb_table, 'aws_dynamodb_table');
  return {
    memoryMb: only(stack.resource.aws_lambda_function, 'aws_lambda_function').memory_size,
    readCapacity: table.read_capacity,
    writeCapacity: table.write_capacity,
    logRetentionDays: only(stack.resource.aws_cloudwatch_log_group, 'aws_cloudwatch_log_group').retention_in_days,
    alarmCount: Object.keys(stack.resource.aws_cloudwatch_metric_alarm).length,
  };
}

/** What the bench measured, per object and at cold start. */
export interface Measured {
  /** Handler CPU time per object (user + system), at full speed. */
  readonly cpuPerObjectMs: number;
  /** CPU time to load the bundle in a fresh process. */
  readonly loadCpuMs: number;
  /** Log volume per object, EMF metric lines included. */
  readonly logBytesPerObject: number;
  /** S3 HEAD and GET requests per object. */
  readonly s3GetsPerObject: number;
}

/** Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB. */
export const FULL_VCPU_MB = 1769;
export const MEMORY_OPTIONS = [128, 256, 512, 1024, FULL_VCPU_MB] as const;

/** How much longer CPU-bound work takes at `mb` than with a full vCPU. */
export const cpuStretch = (mb: number): number => Math.max(1, FULL_VCPU_MB / mb);

export interface MemoryOption {
  readonly mb: number;
  /** Estimated warm duration per object: the AWS latency floor plus the stretched CPU time. */
  readonly warmMs: number;
  /** Estimated time to load the bundle at cold start. */
  readonly coldInitMs: number;
  /** Duration cost of a million warm invocations. */
  readonly costPerMillion: number;
}

/** The estimate for each memory setting; `ioFloorMs` is the S3 + DynamoDB latency per object, assumed. */
export function memoryModel(
  measured: Pick<Measured, 'cpuPerObjectMs' | 'loadCpuMs'>,
  ioFloorMs: number,
  prices: Pick<Prices, 'lambdaArmGbSecond'>,
  options: readonly number[] = MEMORY_OPTIONS,
): MemoryOption[] {
  return options.map((mb) => {
    const warmMs = ioFloorMs + measured.cpuPerObjectMs * cpuStretch(mb);
    const coldInitMs = measured.loadCpuMs * cpuStretch(mb);
    // Duration cost of a million warm invocations, in arm64 GB-seconds.
    const costPerMillion = 1e6 * (mb / 1024) * (warmMs / 1000) * prices.lambdaArmGbSecond;
    return { mb, warmMs, coldInitMs, costPerMillion };
  });
}

/** The rule the default follows: the cheapest setting whose estimated cold init stays within the budget. */
export function chooseMemory(model: readonly MemoryOption[], coldInitBudgetMs: number): MemoryOption | undefined {
  return model
    .filter((m) => m.coldInitMs <= coldInitBudgetMs)
    .reduce<MemoryOption | undefined>(
      (best, m) => (!best || m.costPerMillion < best.costPerMillion ? m : best),
      undefined,
    );
}

/** One line of the cost model: what it is, the figures it rests on, its price. */
export interface CostItem {
  readonly item: string;
  readonly detail?: string;
  readonly usd: number;
}

/** What the stack costs a month while idle. */
export function fixedMonthlyCost(settings: StackSettings, prices: Prices): CostItem[] {
  const capacityHour = settings.writeCapacity * prices.dynamodbWcuHour + settings.readCapacity * prices.dynamodbRcuHour;
  return [
    { item: 'DynamoDB provisioned capacity', usd: capacityHour * prices.hoursPerMonth },
    { item: 'KMS customer key', usd: prices.kmsKeyMonth },
    {
      item: 'CloudWatch alarms',
      detail: String(settings.alarmCount),
      usd: settings.alarmCount * prices.cloudwatchAlarmMonth,
    },
    {
      item: 'CloudWatch dashboard',
      detail: "free for an account's first 3",
      usd: prices.cloudwatchDashboardMonth,
    },
  ];
}

/** What a million uploaded files cost on top, at the configured memory. */
export function costPerMillionFiles(
  measured: Measured,
  settings: StackSettings,
  ioFloorMs: number,
  prices: Prices,
): CostItem[] {
  const [{ warmMs, costPerMillion }] = memoryModel(measured, ioFloorMs, prices, [settings.memoryMb]);
  const logGb = (measured.logBytesPerObject * 1e6) / 1e9;
  return [
    { item: 'Lambda requests', usd: prices.lambdaRequestPerMillion },
    {
      item: 'Lambda duration',
      detail: `${settings.memoryMb} MB x ${warmMs.toFixed(0)} ms est.`,
      usd: costPerMillion,
    },
    {
      item: 'S3 HEAD + ranged GET',
      detail: `${measured.s3GetsPerObject.toFixed(1)} GET-class requests`,
      usd: measured.s3GetsPerObject * 1000 * prices.s3GetPer1000,
    },
    {
      item: 'CloudWatch Logs ingestion',
      detail: `${measured.logBytesPerObject.toFixed(0)} B/object incl. EMF metrics`,
      usd: logGb * prices.logsIngestionGb,
    },
    {
      item: 'CloudWatch Logs storage',
      detail: `${settings.logRetentionDays} days`,
      usd: logGb * prices.logsStorageGbMonth * (settings.logRetentionDays / 30),
    },
    {
      item: 'X-Ray traces',
      detail: 'default sampling: ~5% at volume',
      usd: 0.05 * prices.xrayTracesRecordedPerMillion,
    },
    { item: 'DynamoDB writes', detail: 'inside provisioned capacity', usd: 0 },
  ];
}

export const totalUsd = (items: readonly CostItem[]): number => items.reduce((sum, i) => sum + i.usd, 0);

/** The names of the `count` most expensive items, most expensive first. */
export const largestItems = (items: readonly CostItem[], count = 2): string[] =>
  [...items]
    .sort((a, b) => b.usd - a.usd)
    .slice(0, count)
    .map((i) => i.item);

/**
 * A backfill job of `objects` through the function: the table's write capacity is the limit (the
 * function at the default reserved concurrency outpaces 100 WCU; 1,000 WCU needs about 100 reserved),
 * so it takes objects x WCU each / WCU per second. It costs the Batch Operations job, what the pipeline
 * pays per object (costPerMillionFiles), and the write capacity above the table's own for as long as
 * the job runs; beside it, S3 Metadata's published backfill price for the same objects.
 */
export function backfillProjection(
  job: { readonly objects: number; readonly writeUnitsPerSecond: number; readonly wcuPerObject: number },
  measured: Measured,
  settings: StackSettings,
  ioFloorMs: number,
  prices: Prices,
): { hours: number; items: CostItem[]; s3Metadata: number } {
  const hours = (job.objects * job.wcuPerObject) / job.writeUnitsPerSecond / 3600;
  const millions = job.objects / 1e6;
  const perObject = costPerMillionFiles(measured, settings, ioFloorMs, prices).map((i) => ({
    ...i,
    usd: i.usd * millions,
  }));
  const extraUnits = Math.max(0, job.writeUnitsPerSecond - settings.writeCapacity);
  return {
    hours,
    items: [
      {
        item: 'Batch Operations',
        detail: `$${prices.batchOperationsJob} a job + $${prices.batchOperationsPerMillionObjects} per million objects`,
        usd: prices.batchOperationsJob + millions * prices.batchOperationsPerMillionObjects,
      },
      ...perObject,
      {
        item: "DynamoDB write capacity above the table's",
        detail: `${extraUnits} WCU for ${hours.toFixed(1)} h`,
        usd: extraUnits * hours * prices.dynamodbWcuHour,
      },
    ],
    s3Metadata: millions * prices.s3MetadataBackfillPerMillionObjects,
  };
}
