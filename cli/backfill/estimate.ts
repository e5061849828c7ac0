// What a job will take and cost, before it is submitted (pure). The model, and what it assumes:
// - writes: one per object, 1 WCU (an item is under 1 KB: docs/item-contract.md); a failed condition
//   (backfill over an existing item) consumes the same. reprocess also reads the stored item first
//   (a consistent GetItem, 1 RCU up to 4 KB), so its rate is bounded by the read capacity too.
// - rate: 70% to 100% of the capacity (70% is the utilization write autoscaling tracks; 100% is the
//   most a table gives without throttling), and never more than the function's reserved concurrency
//   runs (~10 objects a second an instance: config/settings.ts, docs/performance.md).
// - Lambda: one invocation per task, ASSUMED_TASK_MS billed at the function's memory (the bench
//   estimates 52 ms warm at 512 MB: BENCHMARKS.md; rounded up for cold starts and reprocess's read).
// - S3: HEAD + ranged GET per object (GET class); S3's manifest generator lists 1,000 objects a request
//   (LIST, PUT class). Reading a given manifest and writing the report are left out (a few requests).
// - DynamoDB is provisioned: the writes occupy objects/3,600 WCU-hours (reads, for reprocess, as many
//   RCU-hours), at whatever capacity; within the table's base capacity they are paid whether used or not.
import { BACKFILL_PRICES as PRICE } from './prices';
import type { BatchMode } from '../../handler/batch';

export const OBJECTS_PER_INSTANCE_SECOND = 10;
export const ASSUMED_TASK_MS = 100;
export const UTILIZATION = { low: 0.7, high: 1 } as const;
/** What the figures are for when the count is not known before S3 lists the bucket. */
export const PER_MILLION = 1_000_000;

export interface EstimateInput {
  /** undefined: S3's manifest generator counts when it lists the bucket. */
  readonly objects: number | undefined;
  readonly mode: BatchMode;
  readonly generator: boolean;
  readonly writeCapacity: number;
  readonly readCapacity: number;
  readonly maxWriteCapacity: number;
  /** 0: none reserved, so no bound from the function. */
  readonly reservedConcurrency: number;
  readonly memoryMb: number;
}

export interface Eta {
  readonly writeCapacity: number;
  readonly objectsPerSecond: number;
  readonly boundBy: 'writes' | 'reads' | 'function';
  readonly fastestSeconds: number;
  readonly slowestSeconds: number;
}

export interface Estimate {
  readonly objects: number | null;
  /** The objects the ETA and cost are for: the count, or a million when it is unknown. */
  readonly figuresFor: number;
  readonly eta: { readonly atWriteCapacity: Eta; readonly atMaxWriteCapacity: Eta };
  /** USD, at BACKFILL_PRICES. */
  readonly cost: {
    readonly batchOperations: number;
    readonly lambda: number;
    readonly s3Requests: number;
    readonly dynamodb: number;
    readonly total: number;
  };
}

const usd = (n: number) => Math.round(n * 10_000) / 10_000;

function eta(input: EstimateInput, writeCapacity: number, objects: number): Eta {
  const bounds: [Eta['boundBy'], number][] = [
    ['writes', writeCapacity],
    ['reads', input.mode === 'reprocess' ? input.readCapacity : Infinity],
    ['function', input.reservedConcurrency > 0 ? input.reservedConcurrency * OBJECTS_PER_INSTANCE_SECOND : Infinity],
  ];
  const [boundBy, objectsPerSecond] = bounds.reduce((a, b) => (b[1] < a[1] ? b : a));
  return {
    writeCapacity,
    objectsPerSecond,
    boundBy,
    fastestSeconds: objects / (objectsPerSecond * UTILIZATION.high),
    slowestSeconds: objects / (objectsPerSecond * UTILIZATION.low),
  };
}

export function estimate(input: EstimateInput): Estimate {
  const n = input.objects ?? PER_MILLION;
  const batchOperations = PRICE.batchOperationsJob + (n / 1e6) * PRICE.batchOperationsPerMillionObjects;
  const lambda =
    (n / 1e6) * PRICE.lambdaRequestPerMillion +
    n * (ASSUMED_TASK_MS / 1000) * (input.memoryMb / 1024) * PRICE.lambdaArmGbSecond;
  const s3Requests =
    (n * 2 * PRICE.s3GetPer1000) / 1000 + (input.generator ? (Math.ceil(n / 1000) * PRICE.s3PutPer1000) / 1000 : 0);
  const dynamodb =
    (n / 3600) * PRICE.dynamodbWcuHour + (input.mode === 'reprocess' ? (n / 3600) * PRICE.dynamodbRcuHour : 0);
  return {
    objects: input.objects ?? null,
    figuresFor: n,
    eta: {
      atWriteCapacity: eta(input, input.writeCapacity, n),
      atMaxWriteCapacity: eta(input, Math.max(input.maxWriteCapacity, input.writeCapacity), n),
    },
    cost: {
      batchOperations: usd(batchOperations),
      lambda: usd(lambda),
      s3Requests: usd(s3Requests),
      dynamodb: usd(dynamodb),
      total: usd(batchOperations + lambda + s3Requests + dynamodb),
    },
  };
}

/** 25 -> "25 s", 5400 -> "1.5 h", 200000 -> "2.3 days". */
export function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}
