// A DynamoDB proxy (in front of dynalite or moto) that enforces provisioned capacity as DynamoDB does:
// one token bucket (tap reconcile's TokenBucket) per table for reads and one for writes, refilled at RCU / WCU per second, holding
// at most `burstSeconds` of unused capacity (DynamoDB keeps up to 300 s; the default here is 1 s, so
// that a bench measures the sustained rate). A request is admitted while its table's bucket holds
// what it is estimated to cost (a full bucket admits any request), and is charged what it really
// consumed once answered: the bucket may go into debt, which later refills pay back. A request that
// is not admitted is answered ProvisionedThroughputExceededException, as DynamoDB answers it.
// BatchWriteItem and BatchGetItem are admitted item by item: what does not fit is handed back in
// UnprocessedItems / UnprocessedKeys (the whole request is throttled only when nothing fits).
//
// Units, as DynamoDB counts them: a write costs ceil(item KB) per item written (1 KB units; the larger
// of the old and new item), a read ceil(item size / 4 KB), half for an eventually consistent read,
// Query and Scan by the size of all items returned together; transactions cost twice. The charge is
// the larger of what the stand-in reports (the proxy asks for ReturnConsumedCapacity and hides it from
// clients that did not) and what the proxy computes from the request and the answer: dynalite reports
// real figures (old item sizes, filtered items), moto a constant 1 per request even for a batch.
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
type Units = Map<string, number>;

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** Whether a DynamoDB operation reads or writes items (undefined for the control plane). */
export const sideOf = (operation: string): Side | undefined =>
  READS.has(operation) ? 'read' : WRITES.has(operation) ? 'write' : undefined;

const add = (units: Units, table: string, n: number) => units.set(table, (units.get(table) ?? 0) + n);
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const record = (v: unknown): Body => (typeof v === 'object' && v !== null ? (v as Body) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** One item of a batch request: its table and what it is estimated to cost. */
interface BatchEntry {
  readonly table: string;
  readonly units: number;
  readonly entry: unknown;
}

/** The entries of a BatchWriteItem or BatchGetItem request, in order. */
export function batchEntries(operation: string, body: Body): BatchEntry[] {
  return Object.entries(record(body.RequestItems)).flatMap(([table, value]) =>
    operation === 'BatchWriteItem'
      ? list(value).map((entry) => {
          const put = record(record(entry).PutRequest).Item as WireItem | undefined;
          return { table, units: put ? writeUnits(itemBytes(put)) : 1, entry };
        })
      : list(record(value).Keys).map((entry) => ({
          table,
          units: readUnits(0, record(value).ConsistentRead === true),
          entry,
        })),
  );
}

/** A batch request's RequestItems less the entries held back (a table left with none is dropped). */
export function keptEntries(operation: string, body: Body, heldBack: ReadonlyMap<string, unknown[]>): Body {
  const kept: Body = {};
  for (const [table, value] of Object.entries(record(body.RequestItems))) {
    const held = heldBack.get(table) ?? [];
    const keep = (entries: unknown[]) => entries.filter((e) => !held.includes(e));
    if (operation === 'BatchWriteItem') {
      const left = keep(list(value));
      if (left.length > 0) kept[table] = left;
    } else {
      const keys = keep(list(record(value).Keys));
      if (keys.length > 0) kept[table] = { ...record(value), Keys: keys };
    }
  }
  return kept;
}

/** What a request is estimated to cost per table, before it runs (a lower bound). */
export function estimate(operation: string, body: Body): Units {
  const units: Units = new Map();
  const table = str(body.TableName);
  const consistent = body.ConsistentRead === true;
  switch (operation) {
    case 'PutItem':
      return add(units, table, writeUnits(itemBytes(body.Item as WireItem)));
    case 'UpdateItem':
      return add(
        units,
        table,
        writeUnits(itemBytes(body.Key as WireItem) + itemBytes(body.ExpressionAttributeValues as WireItem)),
      );
    case 'DeleteItem':
      return add(units, table, 1);
    case 'GetItem':
    case 'Query':
    case 'Scan':
      return add(units, table, readUnits(0, consistent));
    case 'BatchWriteItem':
    case 'BatchGetItem':
      for (const e of batchEntries(operation, body)) add(units, e.table, e.units);
      return units;
    case 'TransactWriteItems':
      for (const item of list(body.TransactItems)) {
        const [kind, action] = Object.entries(record(item))[0] ?? ['', {}];
        const bytes = kind === 'Put' ? itemBytes(record(action).Item as WireItem) : 0;
        add(units, str(record(action).TableName), 2 * writeUnits(bytes));
      }
      return units;
    case 'TransactGetItems':
      for (const item of list(body.TransactItems)) add(units, str(record(record(item).Get).TableName), 2);
      return units;
    default:
      return units;
  }
}

/** What a request consumed per table, computed from the request and its answer. */
export function computed(operation: string, request: Body, response: Body): Units {
  const units: Units = new Map();
  const table = str(request.TableName);
  const consistent = request.ConsistentRead === true;
  const attributes = itemBytes(response.Attributes as WireItem);
  switch (operation) {
    case 'PutItem':
      return add(units, table, writeUnits(Math.max(itemBytes(request.Item as WireItem), attributes)));
    case 'UpdateItem':
      return add(units, table, Math.max(estimate(operation, request).get(table) ?? 1, writeUnits(attributes)));
    case 'DeleteItem':
      return add(units, table, writeUnits(attributes));
    case 'GetItem':
      return add(units, table, readUnits(itemBytes(response.Item as WireItem), consistent));
    case 'Query':
    case 'Scan': {
      const bytes = list(response.Items).reduce<number>((sum, item) => sum + itemBytes(item as WireItem), 0);
      return add(units, table, readUnits(bytes, consistent));
    }
    case 'BatchWriteItem':
      for (const e of batchEntries(operation, request)) add(units, e.table, e.units);
      return units;
    case 'BatchGetItem':
      for (const [name, value] of Object.entries(record(request.RequestItems))) {
        const strong = record(value).ConsistentRead === true;
        const found = list(record(response.Responses)[name]);
        const missing = Math.max(0, list(record(value).Keys).length - found.length);
        const sizes = found.reduce<number>((sum, item) => sum + readUnits(itemBytes(item as WireItem), strong), 0);
        add(units, name, sizes + missing * readUnits(0, strong));
      }
      return units;
    case 'TransactGetItems':
      list(request.TransactItems).forEach((item, i) => {
        const found = record(list(response.Responses)[i]).Item as WireItem | undefined;
        add(units, str(record(record(item).Get).TableName), 2 * readUnits(itemBytes(found), true));
      });
      return units;
    default:
      return estimate(operation, request);
  }
}

/** The units a stand-in reported in ConsumedCapacity (one object, or one per table), per table. */
export function reported(response: Body): Units {
  const units: Units = new Map();
  const consumed = response.ConsumedCapacity;
  for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
    const { TableName, CapacityUnits } = record(c);
    if (typeof CapacityUnits === 'number') add(units, str(TableName), CapacityUnits);
  }
  return units;
}

/** Per table, the larger of two figures. */
export const larger = (a: Units, b: Units): Units =>
  new Map([...new Set([...a.keys(), ...b.keys()])].map((t) => [t, Math.max(a.get(t) ?? 0, b.get(t) ?? 0)]));

// ---------------------------------------------------------------- the ledger: admission and charging

export interface ProvisionedCapacity {
  readonly readCapacityUnits: number;
  readonly writeCapacityUnits: number;
}

export interface CapacityOptions {
  /** Seconds of unused capacity a bucket keeps (DynamoDB: up to 300). Default 1. */
  readonly burstSeconds?: number;
  /** Capacity per table; tables created or updated through the proxy are learned from their request. */
  readonly tables?: Readonly<Record<string, ProvisionedCapacity>>;
  /** The clock, in ms (default Date.now). */
  readonly now?: () => number;
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
  readonly capacity?: ProvisionedCapacity;
  readonly consumedReadUnits: number;
  readonly consumedWriteUnits: number;
  /** Requests answered ProvisionedThroughputExceededException. */
  readonly throttledReadRequests: number;
  readonly throttledWriteRequests: number;
  /** Batch items handed back in UnprocessedItems / UnprocessedKeys. */
  readonly unprocessedItems: number;
  /** Consumed units and throttles per second, in order. */
  readonly perSecond: readonly UsageSample[];
}

interface TableState {
  capacity?: ProvisionedCapacity;
  read?: TokenBucket;
  write?: TokenBucket;
  consumedReadUnits: number;
  consumedWriteUnits: number;
  throttledReadRequests: number;
  throttledWriteRequests: number;
  unprocessedItems: number;
  perSecond: Map<number, UsageSample>;
}

/** What the ledger remembers of one admitted request until its answer comes back. */
interface Pending {
  readonly operation: string;
  readonly side: Side;
  /** The request as received. */
  readonly body: Body;
  /** The request as forwarded: a batch without its held-back entries. */
  readonly forwarded: Body;
  readonly reserved: Units;
  readonly askedForCapacity: boolean;
  /** Batch entries not admitted, per table, to hand back as unprocessed. */
  readonly heldBack: Map<string, unknown[]>;
}

export interface CapacityLedger {
  /** For startFaultProxy's fault: the throttling answer when the request is not admitted. */
  readonly admit: (request: ProxiedRequest) => FaultResponse | undefined;
  /** Asks the stand-in for ConsumedCapacity and drops batch entries not admitted. */
  readonly forwardBody: (request: ProxiedRequest) => string | undefined;
  /** Charges what the answer shows was consumed; hides what the client did not ask for. */
  readonly answered: (request: ProxiedRequest, response: UpstreamResponse) => FaultResponse | undefined;
  /** Sets (or, undefined, lifts) the capacity enforced on a table. */
  readonly provision: (table: string, capacity: ProvisionedCapacity | undefined) => void;
  readonly usage: (table: string) => TableUsage;
  readonly tables: () => string[];
}

const parse = (text: string): Body | undefined => {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Body) : undefined;
  } catch {
    return undefined;
  }
};

/** The provisioned capacity a CreateTable or UpdateTable request sets, or undefined for on demand. */
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

/** Admission and charging per table, for the three hooks of startFaultProxy. */
export function capacityLedger(options: CapacityOptions = {}): CapacityLedger {
  const now = options.now ?? Date.now;
  const clock: Clock = { now, sleep: realClock.sleep };
  const burstSeconds = options.burstSeconds ?? 1;
  const started = now();
  const state = new Map<string, TableState>();
  const pending = new WeakMap<ProxiedRequest, Pending>();

  const tableState = (table: string): TableState => {
    let s = state.get(table);
    if (!s) {
      s = {
        consumedReadUnits: 0,
        consumedWriteUnits: 0,
        throttledReadRequests: 0,
        throttledWriteRequests: 0,
        unprocessedItems: 0,
        perSecond: new Map(),
      };
      state.set(table, s);
    }
    return s;
  };
  const provision = (table: string, capacity: ProvisionedCapacity | undefined) => {
    const s = tableState(table);
    s.capacity = capacity;
    s.read = capacity && provisionedBucket(capacity.readCapacityUnits, burstSeconds, clock);
    s.write = capacity && provisionedBucket(capacity.writeCapacityUnits, burstSeconds, clock);
  };
  for (const [table, capacity] of Object.entries(options.tables ?? {})) provision(table, capacity);

  const sample = (s: TableState): UsageSample => {
    const second = Math.floor((now() - started) / 1000);
    let current = s.perSecond.get(second);
    if (!current) {
      current = { second, readUnits: 0, writeUnits: 0, throttledRequests: 0 };
      s.perSecond.set(second, current);
    }
    return current;
  };
  /** Takes `units` from the table's bucket for `side` (a negative figure gives back). */
  const charge = (table: string, side: Side, units: number) => tableState(table)[side]?.charge(units);
  const consume = (table: string, side: Side, units: number) => {
    const s = tableState(table);
    if (side === 'read') s.consumedReadUnits += units;
    else s.consumedWriteUnits += units;
    sample(s)[side === 'read' ? 'readUnits' : 'writeUnits'] += units;
  };
  const throttled = (table: string, side: Side) => {
    const s = tableState(table);
    if (side === 'read') s.throttledReadRequests++;
    else s.throttledWriteRequests++;
    sample(s).throttledRequests++;
  };
  /** Whether the table admits `units` now (always, when it is not enforced). */
  const fits = (table: string, side: Side, units: number) => tableState(table)[side]?.admits(units) ?? true;

  const admitBatch = (operation: string, side: Side, body: Body): Pending | undefined => {
    const reserved: Units = new Map();
    const heldBack = new Map<string, unknown[]>();
    for (const e of batchEntries(operation, body)) {
      if (fits(e.table, side, e.units)) {
        charge(e.table, side, e.units);
        add(reserved, e.table, e.units);
      } else heldBack.set(e.table, [...(heldBack.get(e.table) ?? []), e.entry]);
    }
    if (reserved.size === 0) {
      for (const table of heldBack.keys()) throttled(table, side);
      return undefined;
    }
    for (const [table, entries] of heldBack) tableState(table).unprocessedItems += entries.length;
    const forwarded = heldBack.size > 0 ? { ...body, RequestItems: keptEntries(operation, body, heldBack) } : body;
    return { operation, side, body, forwarded, reserved, heldBack, askedForCapacity: asked(body) };
  };
  const asked = (body: Body) => body.ReturnConsumedCapacity === 'TOTAL' || body.ReturnConsumedCapacity === 'INDEXES';

  const admit = (request: ProxiedRequest): FaultResponse | undefined => {
    const operation = dynamodbOperation(request) ?? '';
    const side = sideOf(operation);
    const body = side && parse(request.body);
    if (!side || !body) return undefined;
    if (operation === 'BatchWriteItem' || operation === 'BatchGetItem') {
      const admitted = admitBatch(operation, side, body);
      if (!admitted) return dynamodbThrottle();
      pending.set(request, admitted);
      return undefined;
    }
    const reserved = estimate(operation, body);
    const short = [...reserved].find(([table, units]) => !fits(table, side, units));
    if (short) {
      throttled(short[0], side);
      return dynamodbThrottle();
    }
    for (const [table, units] of reserved) charge(table, side, units);
    const forwarded = body;
    pending.set(request, {
      operation,
      side,
      body,
      forwarded,
      reserved,
      heldBack: new Map(),
      askedForCapacity: asked(body),
    });
    return undefined;
  };

  const forwardBody = (request: ProxiedRequest): string | undefined => {
    const p = pending.get(request);
    if (!p || (p.askedForCapacity && p.heldBack.size === 0)) return undefined;
    const capacity = p.askedForCapacity ? p.body.ReturnConsumedCapacity : 'TOTAL';
    return JSON.stringify({ ...p.forwarded, ReturnConsumedCapacity: capacity });
  };

  /** Hands the held-back batch entries back as unprocessed, next to what the stand-in left. */
  const withHeldBack = (p: Pending, body: Body): Body => {
    const field = p.operation === 'BatchWriteItem' ? 'UnprocessedItems' : 'UnprocessedKeys';
    const unprocessed: Body = { ...record(body[field]) };
    for (const [table, entries] of p.heldBack) {
      if (p.operation === 'BatchWriteItem') unprocessed[table] = [...list(unprocessed[table]), ...entries];
      else {
        const { Keys: _keys, ...params } = record(record(p.body.RequestItems)[table]);
        unprocessed[table] = { ...params, Keys: [...list(record(unprocessed[table]).Keys), ...entries] };
      }
    }
    return { ...body, [field]: unprocessed };
  };

  const learn = (request: ProxiedRequest, response: UpstreamResponse) => {
    const operation = dynamodbOperation(request);
    const body = parse(request.body);
    if (response.status !== 200 || !body || (operation !== 'CreateTable' && operation !== 'UpdateTable')) return;
    const table = str(body.TableName);
    if (options.tables?.[table]) return;
    const capacity = requestedCapacity(body);
    if (operation === 'CreateTable' || capacity || body.BillingMode === 'PAY_PER_REQUEST') provision(table, capacity);
  };

  const answered = (request: ProxiedRequest, response: UpstreamResponse): FaultResponse | undefined => {
    const p = pending.get(request);
    if (!p) {
      learn(request, response);
      return undefined;
    }
    pending.delete(request);
    const body = response.headers['content-encoding'] ? undefined : parse(response.body.toString());
    if (response.status !== 200 || !body) {
      // A failed condition still consumes its write, and an answer the proxy cannot read is charged
      // its estimate; any other error consumes nothing.
      const conditionFailed = str(body?.__type).endsWith('#ConditionalCheckFailedException');
      for (const [table, units] of p.reserved) {
        if (conditionFailed || response.status === 200) consume(table, p.side, units);
        else charge(table, p.side, -units);
      }
      return undefined;
    }
    const used = larger(reported(body), computed(p.operation, p.forwarded, body));
    for (const [table, units] of used) {
      charge(table, p.side, units - (p.reserved.get(table) ?? 0));
      consume(table, p.side, units);
    }
    if (p.askedForCapacity && p.heldBack.size === 0) return undefined;
    const { ConsumedCapacity: _hidden, ...rest } = body;
    const visible = p.askedForCapacity ? body : rest;
    return rewritten(response, p.heldBack.size > 0 ? withHeldBack(p, visible) : visible);
  };

  const usage = (table: string): TableUsage => {
    const s = tableState(table);
    return {
      table,
      capacity: s.capacity,
      consumedReadUnits: s.consumedReadUnits,
      consumedWriteUnits: s.consumedWriteUnits,
      throttledReadRequests: s.throttledReadRequests,
      throttledWriteRequests: s.throttledWriteRequests,
      unprocessedItems: s.unprocessedItems,
      perSecond: [...s.perSecond.values()].sort((a, b) => a.second - b.second).map((x) => ({ ...x })),
    };
  };

  return { admit, forwardBody, answered, provision, usage, tables: () => [...state.keys()] };
}

export interface CapacityProxy extends StandIn {
  readonly ledger: CapacityLedger;
  readonly requests: ProxiedRequest[];
}

/**
 * A proxy in front of a DynamoDB stand-in that enforces provisioned capacity. `inject` (e.g. a
 * faultInjector's fault) answers first, so random faults and capacity share one proxy.
 */
export async function startCapacityProxy(
  target: string,
  options: CapacityOptions & { readonly inject?: (request: ProxiedRequest) => FaultResponse | undefined } = {},
): Promise<CapacityProxy> {
  const ledger = capacityLedger(options);
  const proxy = await startFaultProxy(target, (request) => options.inject?.(request) ?? ledger.admit(request), ledger);
  return { ...proxy, ledger };
}
