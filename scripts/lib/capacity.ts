// A DynamoDB proxy (in front of dynalite or moto) that enforces provisioned capacity as DynamoDB does:
// one token bucket (tap reconcile's TokenBucket) per table for reads and one for writes, refilled at
// RCU / WCU per second, holding at most 1 s of unused capacity (DynamoDB keeps up to 300 s; 1 s here,
// so that a bench measures the sustained rate). A request is admitted while its table's bucket holds
// what it is estimated to cost (a full bucket admits any request), and is charged what it really
// consumed once answered: the bucket may go into debt, which later refills pay back. A request that
// is not admitted is answered ProvisionedThroughputExceededException, as DynamoDB answers it. Only the
// item operations the project sends are charged (GetItem, Query, Scan, PutItem, UpdateItem); others,
// batches among them (nothing here sends one), pass free.
//
// Units, as DynamoDB counts them: a write costs ceil(item KB) per item written (1 KB units; the larger
// of the old and new item), a read ceil(item size / 4 KB), half for an eventually consistent read,
// Query and Scan by the size of all items returned together. The charge is the larger of what the
// stand-in reports (the proxy asks for ReturnConsumedCapacity and hides it from clients that did not)
// and what the proxy computes from the request and the answer: dynalite reports real figures (old
// item sizes, filtered items), moto a constant 1 per request.
import {
  dynamodbThrottle,
  FaultResponse,
  ProxiedRequest,
  StandIn,
  startFaultProxy,
  UpstreamResponse,
} from '../../fixtures/standins';
import zlib from 'node:zlib';
import { Clock, realClock, TokenBucket } from '../../cli/reconcile/pacing';
import { itemBytes, WireItem } from '../../fixtures/item-size';
import { dynamodbOperation } from './faults';

/** A table's bucket for reads or writes: full, holding `burstSeconds` of its provisioned rate. */
export const provisionedBucket = (ratePerSecond: number, burstSeconds: number, clock: Clock): TokenBucket =>
  new TokenBucket(ratePerSecond, clock, ratePerSecond * burstSeconds, ratePerSecond * burstSeconds);

// ---------------------------------------------------------------- capacity units (pure)

/** Write units for an item of `bytes`: 1 per KB started, at least 1. */
export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));

/** Read units for `bytes` read at once: 1 per 4 KB started, at least 1; half when eventually consistent. */
export const readUnits = (bytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

// ---------------------------------------------------------------- what a request costs (pure)

type Body = Record<string, unknown>;
type Side = 'read' | 'write';

const SIDES: Readonly<Record<string, Side>> = {
  GetItem: 'read',
  Query: 'read',
  Scan: 'read',
  PutItem: 'write',
  UpdateItem: 'write',
};

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const record = (v: unknown): Body => (typeof v === 'object' && v !== null ? (v as Body) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** What a single-table request is estimated to cost, before it runs (a lower bound). */
function estimate(operation: string, body: Body): number {
  switch (operation) {
    case 'PutItem':
      return writeUnits(itemBytes(body.Item as WireItem));
    case 'UpdateItem':
      return writeUnits(itemBytes(body.Key as WireItem) + itemBytes(body.ExpressionAttributeValues as WireItem));
    default:
      return readUnits(0, body.ConsistentRead === true);
  }
}

/** What a single-table request consumed, computed from the request and its answer. */
function computed(operation: string, request: Body, response: Body): number {
  const consistent = request.ConsistentRead === true;
  const attributes = itemBytes(response.Attributes as WireItem);
  switch (operation) {
    case 'PutItem':
      return writeUnits(Math.max(itemBytes(request.Item as WireItem), attributes));
    case 'UpdateItem':
      return Math.max(estimate(operation, request), writeUnits(attributes));
    case 'GetItem':
      return readUnits(itemBytes(response.Item as WireItem), consistent);
    default: {
      const bytes = list(response.Items).reduce<number>((sum, item) => sum + itemBytes(item as WireItem), 0);
      return readUnits(bytes, consistent);
    }
  }
}

/** The units a stand-in reported in ConsumedCapacity, if it did. */
const reported = (response: Body): number => {
  const units = record(response.ConsumedCapacity).CapacityUnits;
  return typeof units === 'number' ? units : 0;
};

// ---------------------------------------------------------------- the ledger: admission and charging

export interface ProvisionedCapacity {
  readonly readCapacityUnits: number;
  readonly writeCapacityUnits: number;
}

export interface UsageSample {
  /** Whole seconds since the ledger started. */
  readonly second: number;
  readUnits: number;
  writeUnits: number;
  throttledRequests: number;
}

export interface TableUsage {
  readonly table: string;
  /** Enforced capacity, or undefined when the table is not enforced (on demand, or unknown). */
  capacity?: ProvisionedCapacity;
  consumedReadUnits: number;
  consumedWriteUnits: number;
  /** Requests answered ProvisionedThroughputExceededException. */
  throttledReadRequests: number;
  throttledWriteRequests: number;
  /** Consumed units and throttles per second, in order. */
  perSecond: UsageSample[];
}

interface TableState extends TableUsage {
  read?: TokenBucket;
  write?: TokenBucket;
}

/** What the ledger remembers of one admitted request until its answer comes back. */
interface Pending {
  readonly operation: string;
  readonly side: Side;
  readonly body: Body;
  readonly table: string;
  readonly reserved: number;
  readonly askedForCapacity: boolean;
}

const parse = (text: string): Body | undefined => {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Body) : undefined;
  } catch {
    return undefined;
  }
};

/** The provisioned capacity a CreateTable request sets, or undefined for on demand. */
function requestedCapacity(body: Body): ProvisionedCapacity | undefined {
  const throughput = record(body.ProvisionedThroughput);
  if (body.BillingMode === 'PAY_PER_REQUEST' || typeof throughput.WriteCapacityUnits !== 'number') return undefined;
  return {
    readCapacityUnits: Number(throughput.ReadCapacityUnits),
    writeCapacityUnits: Number(throughput.WriteCapacityUnits),
  };
}

/** The request's answer re-serialized, with its CRC32 header brought up to date. */
function rewritten(response: UpstreamResponse, body: Body): FaultResponse {
  const text = JSON.stringify(body);
  const headers = Object.fromEntries(
    Object.entries(response.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])),
  );
  if (headers['x-amz-crc32']) headers['x-amz-crc32'] = String(zlib.crc32(text));
  return { status: response.status, headers, body: text };
}

const asked = (body: Body) => body.ReturnConsumedCapacity === 'TOTAL' || body.ReturnConsumedCapacity === 'INDEXES';

/** Admission and charging per table, for the three hooks of startFaultProxy; `now` is the clock in ms. */
export function capacityLedger(now: () => number = Date.now) {
  const clock: Clock = { now, sleep: realClock.sleep };
  const started = now();
  const state = new Map<string, TableState>();
  const pending = new WeakMap<ProxiedRequest, Pending>();

  const tableState = (table: string): TableState => {
    let s = state.get(table);
    if (!s) {
      s = {
        table,
        consumedReadUnits: 0,
        consumedWriteUnits: 0,
        throttledReadRequests: 0,
        throttledWriteRequests: 0,
        perSecond: [],
      };
      state.set(table, s);
    }
    return s;
  };
  /** Sets (or, undefined, lifts) the capacity enforced on a table. */
  const provision = (table: string, capacity: ProvisionedCapacity | undefined) => {
    const s = tableState(table);
    s.capacity = capacity;
    s.read = capacity && provisionedBucket(capacity.readCapacityUnits, 1, clock);
    s.write = capacity && provisionedBucket(capacity.writeCapacityUnits, 1, clock);
  };

  const sample = (s: TableState): UsageSample => {
    const second = Math.floor((now() - started) / 1000);
    const last = s.perSecond.at(-1);
    if (last?.second === second) return last;
    const next = { second, readUnits: 0, writeUnits: 0, throttledRequests: 0 };
    s.perSecond.push(next);
    return next;
  };
  /** Takes `units` from the table's bucket for `side` (a negative figure gives back). */
  const charge = (table: string, side: Side, units: number) => tableState(table)[side]?.charge(units);
  const consume = (table: string, side: Side, units: number) => {
    const s = tableState(table);
    s[side === 'read' ? 'consumedReadUnits' : 'consumedWriteUnits'] += units;
    sample(s)[side === 'read' ? 'readUnits' : 'writeUnits'] += units;
  };
  const throttled = (table: string, side: Side) => {
    const s = tableState(table);
    s[side === 'read' ? 'throttledReadRequests' : 'throttledWriteRequests']++;
    sample(s).throttledRequests++;
  };
  /** Whether the table admits `units` now (always, when it is not enforced). */
  const fits = (table: string, side: Side, units: number) => tableState(table)[side]?.admits(units) ?? true;

  /** For startFaultProxy's fault: the throttling answer when the request is not admitted. */
  const admit = (request: ProxiedRequest): FaultResponse | undefined => {
    const operation = dynamodbOperation(request) ?? '';
    const side = SIDES[operation];
    const body = side && parse(request.body);
    if (!side || !body) return undefined;
    const [table, units] = [str(body.TableName), estimate(operation, body)];
    if (!fits(table, side, units)) {
      throttled(table, side);
      return dynamodbThrottle();
    }
    charge(table, side, units);
    pending.set(request, { operation, side, body, table, reserved: units, askedForCapacity: asked(body) });
    return undefined;
  };

  /** Asks the stand-in for ConsumedCapacity. */
  const forwardBody = (request: ProxiedRequest): string | undefined => {
    const p = pending.get(request);
    return !p || p.askedForCapacity ? undefined : JSON.stringify({ ...p.body, ReturnConsumedCapacity: 'TOTAL' });
  };

  /** A table created through the proxy is enforced at the capacity it was created with. */
  const learn = (request: ProxiedRequest, response: UpstreamResponse) => {
    const body = parse(request.body);
    if (response.status !== 200 || !body || dynamodbOperation(request) !== 'CreateTable') return;
    provision(str(body.TableName), requestedCapacity(body));
  };

  /** Charges what the answer shows was consumed; hides what the client did not ask for. */
  const answered = (request: ProxiedRequest, response: UpstreamResponse): FaultResponse | undefined => {
    const p = pending.get(request);
    if (!p) {
      learn(request, response);
      return undefined;
    }
    const body = response.headers['content-encoding'] ? undefined : parse(response.body.toString());
    if (response.status !== 200 || !body) {
      // A failed condition still consumes its write, and an answer the proxy cannot read is charged
      // its estimate; any other error consumes nothing.
      const conditionFailed = str(body?.__type).endsWith('#ConditionalCheckFailedException');
      if (conditionFailed || response.status === 200) consume(p.table, p.side, p.reserved);
      else charge(p.table, p.side, -p.reserved);
      return undefined;
    }
    const units = Math.max(reported(body), computed(p.operation, p.body, body));
    charge(p.table, p.side, units - p.reserved);
    consume(p.table, p.side, units);
    if (p.askedForCapacity) return undefined;
    const { ConsumedCapacity: _hidden, ...visible } = body;
    return rewritten(response, visible);
  };

  const usage = (table: string): TableUsage => {
    const { read: _read, write: _write, ...figures } = tableState(table);
    return { ...figures, perSecond: figures.perSecond.map((x) => ({ ...x })) };
  };

  return { admit, forwardBody, answered, provision, usage };
}

export type CapacityLedger = ReturnType<typeof capacityLedger>;

export interface CapacityProxy extends StandIn {
  readonly ledger: CapacityLedger;
  readonly requests: ProxiedRequest[];
}

/**
 * A proxy in front of a DynamoDB stand-in that enforces provisioned capacity. `inject` (e.g. a
 * faultInjector's fault) answers first, so random faults and capacity share one proxy; `now` is its clock.
 */
export async function startCapacityProxy(
  target: string,
  inject?: (request: ProxiedRequest) => FaultResponse | undefined,
  now: () => number = Date.now,
): Promise<CapacityProxy> {
  const ledger = capacityLedger(now);
  const proxy = await startFaultProxy(target, (request) => inject?.(request) ?? ledger.admit(request), ledger);
  return { ...proxy, ledger };
}
