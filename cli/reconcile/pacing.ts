// tap reconcile's share of the table's capacity: a token bucket per direction, filled at the share of
// the provisioned rate (DescribeTable) and drained by the capacity each request really consumed
// (ReturnConsumedCapacity), so live ingestion keeps the rest and is never throttled by a reconcile.
// Pacing is SDK middleware on reconcile's own DynamoDB client: every read and write it makes, through
// the handler's store functions too, waits for its tokens.
import type { DynamoDBClient, TableDescription } from '@aws-sdk/client-dynamodb';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Tokens are capacity units, added at `ratePerSecond` up to `burst` (a clock going back adds none).
 * admits() says whether the bucket holds an estimate, or is full (for a request larger than the burst);
 * take() waits until it does and takes it; charge() takes more, or gives back with a negative figure,
 * once the real consumption is known, which may leave the bucket in debt.
 */
export class TokenBucket {
  private balance: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    private readonly clock: Clock,
    readonly burst = Math.max(1, ratePerSecond / 5),
    initialTokens = 0,
  ) {
    this.balance = initialTokens;
    this.last = clock.now();
  }

  /** Units available now; negative while a charge larger than the estimate is paid back. */
  get tokens(): number {
    const now = this.clock.now();
    if (now > this.last) {
      this.balance = Math.min(this.burst, this.balance + ((now - this.last) / 1000) * this.ratePerSecond);
      this.last = now;
    }
    return this.balance;
  }

  admits(estimate: number): boolean {
    return this.tokens >= Math.min(estimate, this.burst);
  }

  async take(estimate: number): Promise<void> {
    while (!this.admits(estimate)) {
      const missing = Math.min(estimate, this.burst) - this.balance;
      await this.clock.sleep(Math.max(1, Math.ceil((missing / this.ratePerSecond) * 1000)));
    }
    this.charge(estimate);
  }

  charge(units: number): void {
    this.balance = this.tokens - units;
  }
}

/** Capacity units a second reconcile may use. */
export interface Rates {
  readonly readPerSecond: number;
  readonly writePerSecond: number;
  /** The table bills per request: the rates are shares of ON_DEMAND_ASSUMED (or its maximum throughput). */
  readonly onDemand: boolean;
}

/** What an on-demand table is taken to sustain: the stack's provisioned default, 100 RCU and 100 WCU. */
export const ON_DEMAND_ASSUMED = { read: 100, write: 100 } as const;

export function ratesOf(table: TableDescription | undefined, shares: { read: number; write: number }): Rates {
  const provisioned = table?.ProvisionedThroughput;
  const onDemand = table?.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST' || !provisioned?.WriteCapacityUnits;
  const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined);
  const read = onDemand
    ? (positive(table?.OnDemandThroughput?.MaxReadRequestUnits) ?? ON_DEMAND_ASSUMED.read)
    : (provisioned?.ReadCapacityUnits ?? ON_DEMAND_ASSUMED.read);
  const write = onDemand
    ? (positive(table?.OnDemandThroughput?.MaxWriteRequestUnits) ?? ON_DEMAND_ASSUMED.write)
    : (provisioned?.WriteCapacityUnits ?? ON_DEMAND_ASSUMED.write);
  return { readPerSecond: read * shares.read, writePerSecond: write * shares.write, onDemand };
}

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);
const READS = new Set(['QueryCommand', 'ScanCommand', 'GetItemCommand']);
const THROTTLES = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

/** What the paced client consumed and how often DynamoDB throttled it. */
export class CapacityUse {
  readUnits = 0;
  writeUnits = 0;
  writes = 0;
  throttled = 0;
  /** When the first and the last write were sent (clock ms), for the rate a run sustained. */
  firstWriteAt?: number;
  lastWriteAt?: number;

  /**
   * Write units a second between the first and the last write; null when they are less than a second
   * apart, where the bucket's burst would make any figure meaningless.
   */
  writeRate(): number | null {
    const seconds = ((this.lastWriteAt ?? 0) - (this.firstWriteAt ?? 0)) / 1000;
    return seconds >= 1 ? this.writeUnits / seconds : null;
  }
}

type Output = { output?: { ConsumedCapacity?: { CapacityUnits?: number } } };

/**
 * Paces every read and write of `client` with the two buckets and records the consumption in `use`.
 * A request's estimate is the last consumption of its command (1 unit to start with); a failed
 * condition still consumes write capacity, a throttled request none.
 */
export function paceClient(
  client: DynamoDBClient,
  buckets: { read: TokenBucket; write: TokenBucket },
  use: CapacityUse,
  clock: Clock,
): void {
  const estimates = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const kind = WRITES.has(command) ? 'write' : READS.has(command) ? 'read' : undefined;
      if (!kind) return next(args);
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity ??= 'TOTAL';
      const estimate = estimates.get(command) ?? 1;
      await buckets[kind].take(estimate);
      if (kind === 'write') {
        use.firstWriteAt ??= clock.now();
        use.lastWriteAt = clock.now();
      }
      let consumed = estimate;
      // What DynamoDB charges at the least: a write 1 unit, a read 0.5 (1 if consistent), even when
      // nothing is found; some emulators report less.
      const least = kind === 'write' || (args.input as { ConsistentRead?: boolean }).ConsistentRead ? 1 : 0.5;
      try {
        const result = await next(args);
        consumed = Math.max(least, (result as Output).output?.ConsumedCapacity?.CapacityUnits ?? estimate);
        estimates.set(command, consumed);
        return result;
      } catch (error) {
        if (THROTTLES.has((error as Error).name)) consumed = 0;
        throw error;
      } finally {
        buckets[kind].charge(consumed - estimate);
        if (kind === 'write') {
          use.writeUnits += consumed;
          use.writes += 1;
        } else use.readUnits += consumed;
      }
    },
    { step: 'initialize', name: 'tapReconcilePacing', override: true },
  );
  // Each attempt passes the deserialize step, so throttled attempts the SDK retried are counted too.
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (THROTTLES.has((error as Error).name)) use.throttled += 1;
        throw error;
      }
    },
    // High priority: outside the deserializer, so the error it parses (with its name) passes through here.
    { step: 'deserialize', priority: 'high', name: 'tapReconcileThrottles', override: true },
  );
}
