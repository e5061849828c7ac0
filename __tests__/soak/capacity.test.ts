// The capacity-enforcing DynamoDB proxy: token-bucket and capacity-unit math with a fake clock, the
// ledger's admission and charging on hand-made requests, then the proxy in front of dynalite through
// the SDK (one attempt, so every throttle shows): throttling above the provisioned rate, none below it.
import zlib from 'node:zlib';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Clock } from '../../cli/reconcile/pacing';
import {
  capacityLedger,
  CapacityProxy,
  provisionedBucket,
  readUnits,
  startCapacityProxy,
  writeUnits,
} from '../../scripts/lib/capacity';
import { itemBytes, valueBytes } from '../../fixtures/item-size';
import { ProxiedRequest, StandIn, STANDIN_CREDENTIALS, STANDIN_REGION, startDynalite } from '../../fixtures/standins';

const request = (operation: string, body: object): ProxiedRequest => ({
  method: 'POST',
  url: '/',
  headers: { 'x-amz-target': `DynamoDB_20120810.${operation}` },
  body: JSON.stringify(body),
});
const answer = (body: object, status = 200) => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-crc32': '0' },
  body: Buffer.from(JSON.stringify(body)),
});
const item = (id: string, bytes = 10) => ({ id: { S: id }, pad: { S: 'x'.repeat(bytes) } });

describe('token bucket', () => {
  let now = 0;
  const clock: Clock = { now: () => now, sleep: async () => undefined };

  beforeEach(() => {
    now = 0;
  });

  it('starts full with burstSeconds of capacity and refills at its rate, never above the maximum', () => {
    // Prepare
    const bucket = provisionedBucket(10, 2, clock);
    const full = bucket.tokens;
    bucket.charge(20);
    // Act
    now = 500;
    const afterHalfSecond = bucket.tokens;
    now = 10_000;
    const afterTenSeconds = bucket.tokens;
    // Assess
    expect({ burst: bucket.burst, tokens: full }).toEqual({ burst: 20, tokens: 20 });
    expect(afterHalfSecond).toBeCloseTo(5);
    expect(afterTenSeconds).toBe(20);
  });

  it('admits what it holds, anything when full, and pays back a debt before admitting again', () => {
    // Prepare
    const bucket = provisionedBucket(5, 1, clock);
    // Act
    const whenFull = [bucket.admits(3), bucket.admits(50)];
    bucket.charge(8);
    const inDebt = bucket.tokens;
    now = 600;
    const paidBack = bucket.admits(1);
    now = 1000;
    const later = [bucket.admits(2), bucket.admits(3)];
    // Assess
    expect(whenFull).toEqual([true, true]);
    expect(inDebt).toBe(-3);
    expect(paidBack).toBe(false);
    expect(later).toEqual([true, false]);
  });

  it('does not move backwards when the clock does', () => {
    // Prepare
    now = 1000;
    const bucket = provisionedBucket(1, 1, clock);
    bucket.charge(1);
    // Act
    now = 500;
    const same = bucket.tokens;
    now = 1000;
    const backAgain = bucket.tokens;
    // Assess: still 0 once the clock is back where it was, so nothing was counted from 500
    expect(same).toBe(0);
    expect(backAgain).toBe(0);
  });
});

describe('capacity units', () => {
  it('sizes attributes as DynamoDB does: names plus values, numbers by significant digits', () => {
    // Act & Assess
    expect(valueBytes({ S: 'héllo' })).toBe(6);
    expect(valueBytes({ N: '123.4500' })).toBe(4);
    expect(valueBytes({ B: Buffer.from('abc').toString('base64') })).toBe(3);
    expect(valueBytes({ BOOL: true })).toBe(1);
    expect(valueBytes({ L: [{ S: 'ab' }, { NULL: true }] })).toBe(3 + 3 + 2);
    expect(valueBytes({ M: { k: { S: 'v' } } })).toBe(3 + 1 + 1 + 1);
    expect(itemBytes({ id: { S: 'abc' }, n: { N: '7' } })).toBe(2 + 3 + 1 + 2);
  });

  it('charges writes per KB started and reads per 4 KB started, half when eventually consistent', () => {
    // Act & Assess
    expect([writeUnits(0), writeUnits(1024), writeUnits(1025)]).toEqual([1, 1, 2]);
    expect([readUnits(0, true), readUnits(4097, true), readUnits(4097, false)]).toEqual([1, 2, 1]);
  });
});

describe('capacityLedger', () => {
  let clock = 0;
  const ledger = (wcu: number, rcu = 100) => {
    const l = capacityLedger(() => clock);
    l.provision('t', { readCapacityUnits: rcu, writeCapacityUnits: wcu });
    return l;
  };

  beforeEach(() => {
    clock = 0;
  });

  it('throttles a write once the table bucket is empty, exactly as DynamoDB answers it', () => {
    // Prepare
    const l = ledger(2);
    const put = () => request('PutItem', { TableName: 't', Item: item('a') });
    // Act
    const answers = [put(), put(), put()].map((r) => l.admit(r));
    clock = 500;
    const afterRefill = l.admit(put());
    // Assess
    expect(answers.slice(0, 2)).toEqual([undefined, undefined]);
    expect(answers[2]).toMatchObject({ status: 400, headers: { 'content-type': 'application/x-amz-json-1.0' } });
    expect(JSON.parse(answers[2]?.body ?? '{}').__type).toBe(
      'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    );
    expect(answers[2]?.headers?.['x-amzn-requestid']).toMatch(/^[A-Z0-9]{52}$/);
    expect(afterRefill).toBeUndefined();
    expect(l.usage('t')).toMatchObject({ throttledWriteRequests: 1, throttledReadRequests: 0 });
  });

  it('asks the stand-in for ConsumedCapacity, charges the larger figure and hides it from a client that did not ask', () => {
    // Prepare
    const l = ledger(100);
    const put = request('PutItem', { TableName: 't', Item: item('a', 3000) });
    l.admit(put);
    // Act
    const forwarded = JSON.parse(l.forwardBody(put) ?? '{}');
    const replaced = l.answered(put, answer({ ConsumedCapacity: { TableName: 't', CapacityUnits: 1 } }));
    // Assess
    expect(forwarded.ReturnConsumedCapacity).toBe('TOTAL');
    expect(JSON.parse(replaced?.body ?? '')).toEqual({});
    expect(replaced?.headers?.['x-amz-crc32']).toBe(String(zlib.crc32('{}')));
    expect(l.usage('t').consumedWriteUnits).toBe(3);
  });

  it('passes ConsumedCapacity through to a client that asked, and charges what the stand-in reported', () => {
    // Prepare
    const l = ledger(100);
    const get = request('GetItem', { TableName: 't', Key: { id: { S: 'a' } }, ReturnConsumedCapacity: 'TOTAL' });
    l.admit(get);
    // Act
    const forwarded = l.forwardBody(get);
    const replaced = l.answered(
      get,
      answer({ Item: item('a'), ConsumedCapacity: { TableName: 't', CapacityUnits: 2 } }),
    );
    // Assess
    expect(forwarded).toBeUndefined();
    expect(replaced).toBeUndefined();
    expect(l.usage('t').consumedReadUnits).toBe(2);
  });

  it('lets a batch through uncharged: nothing the project runs sends one', () => {
    // Prepare
    const l = ledger(1);
    const batch = request('BatchWriteItem', { RequestItems: { t: [{ PutRequest: { Item: item('b') } }] } });
    // Act
    const throttle = l.admit(batch);
    // Assess
    expect(throttle).toBeUndefined();
    expect(l.forwardBody(batch)).toBeUndefined();
    expect(l.usage('t')).toMatchObject({ consumedWriteUnits: 0, throttledWriteRequests: 0 });
  });

  it('charges a failed condition, gives back the estimate of any other error', () => {
    // Prepare
    const l = ledger(2);
    const conditional = request('PutItem', { TableName: 't', Item: item('a'), ConditionExpression: 'x' });
    const invalid = request('PutItem', { TableName: 't', Item: item('b') });
    l.admit(conditional);
    l.admit(invalid);
    // Act
    l.answered(
      conditional,
      answer({ __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException' }, 400),
    );
    l.answered(invalid, answer({ __type: 'com.amazon.coral.validate#ValidationException' }, 400));
    const next = l.admit(request('PutItem', { TableName: 't', Item: item('c') }));
    // Assess
    expect(l.usage('t').consumedWriteUnits).toBe(1);
    expect(next).toBeUndefined();
  });

  it('charges its estimate for an answer it cannot read, and passes that answer through untouched', () => {
    // Prepare
    const l = ledger(100);
    const put = request('PutItem', { TableName: 't', Item: item('a', 2000) });
    l.admit(put);
    const compressed = { ...answer({}), headers: { 'content-encoding': 'gzip' } };
    // Act
    const replaced = l.answered(put, compressed);
    // Assess
    expect(replaced).toBeUndefined();
    expect(l.usage('t').consumedWriteUnits).toBe(2);
  });

  it('learns a table capacity from CreateTable, leaves an on-demand table unenforced, and samples per second', () => {
    // Prepare
    const l = capacityLedger(() => clock);
    const create = (TableName: string, extra: object) => request('CreateTable', { TableName, ...extra });
    l.answered(create('p', { ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } }), answer({}));
    l.answered(create('o', { BillingMode: 'PAY_PER_REQUEST' }), answer({}));
    const put = (table: string) => request('PutItem', { TableName: table, Item: item('a') });
    // Act
    const provisioned = [l.admit(put('p')), l.admit(put('p'))];
    clock = 1500;
    const onDemand = [l.admit(put('o')), l.admit(put('o'))];
    // Assess
    expect(l.usage('p').capacity).toEqual({ readCapacityUnits: 1, writeCapacityUnits: 1 });
    expect(provisioned[1]?.status).toBe(400);
    expect(onDemand).toEqual([undefined, undefined]);
    expect(l.usage('o').capacity).toBeUndefined();
    expect(l.usage('p').perSecond).toEqual([{ second: 0, readUnits: 0, writeUnits: 0, throttledRequests: 1 }]);
  });
});

describe('startCapacityProxy in front of dynalite', () => {
  const TABLE = 'capacity';
  const WCU = 40;
  let dynalite: StandIn;
  let proxy: CapacityProxy;
  let client: DynamoDBClient;
  let now = 0;

  beforeAll(async () => {
    dynalite = await startDynalite();
    // The proxy's clock is the test's, so the rates below are exact however slowly the machine runs.
    proxy = await startCapacityProxy(dynalite.endpoint, undefined, () => now);
    client = new DynamoDBClient({
      region: STANDIN_REGION,
      credentials: STANDIN_CREDENTIALS,
      endpoint: proxy.endpoint,
      maxAttempts: 1,
    });
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: WCU },
      }),
    );
  });

  afterAll(async () => {
    client.destroy();
    await Promise.all([proxy?.close(), dynalite?.close()]);
  });

  /** `count` 1-WCU puts, one every 1/`perSecond` s of the proxy's clock, each one attempt; the names of the errors. */
  async function putAtRate(prefix: string, perSecond: number, count: number): Promise<string[]> {
    const errors: string[] = [];
    for (let i = 0; i < count; i++) {
      now += 1000 / perSecond;
      await client
        .send(new PutItemCommand({ TableName: TABLE, Item: { id: { S: `${prefix}-${i}` } } }))
        .catch((error: Error) => errors.push(error.name));
    }
    return errors;
  }

  it('never throttles writes below the provisioned rate, well past the initial burst', async () => {
    // Prepare
    proxy.ledger.provision(TABLE, { readCapacityUnits: 100, writeCapacityUnits: WCU });
    // Act
    const errors = await putAtRate('below', WCU * 0.8, 60);
    // Assess
    expect(errors).toEqual([]);
    expect(proxy.ledger.usage(TABLE)).toMatchObject({ consumedWriteUnits: 60, throttledWriteRequests: 0 });
  });

  it('throttles writes above the rate, admitting no more than the burst plus the rate', async () => {
    // Prepare
    proxy.ledger.provision(TABLE, { readCapacityUnits: 100, writeCapacityUnits: WCU });
    const before = proxy.ledger.usage(TABLE);
    const started = now;
    // Act
    const errors = await putAtRate('above', WCU * 3, 80);
    const seconds = (now - started) / 1000;
    // Assess
    const after = proxy.ledger.usage(TABLE);
    const admitted = after.consumedWriteUnits - before.consumedWriteUnits;
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['ProvisionedThroughputExceededException']));
    expect(after.throttledWriteRequests - before.throttledWriteRequests).toBe(errors.length);
    expect(admitted + errors.length).toBe(80);
    expect(admitted).toBeLessThanOrEqual(WCU + WCU * seconds + 1);
  });
});
