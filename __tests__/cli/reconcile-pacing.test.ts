// tap reconcile's pacing against a fake clock: the token bucket alone, then the SDK middleware on a
// real DynamoDB client talking to dynalite (which reports consumed capacity), with a proxy that
// throttles some requests the way DynamoDB does.
import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { CapacityUse, Clock, paceClient, TokenBucket } from '../../cli/reconcile/pacing';
import {
  dynamodbThrottle,
  StandIn,
  startDynalite,
  startFaultProxy,
  STANDIN_CREDENTIALS,
} from '../../fixtures/standins';
import { createTable } from '../support/standins';

/** Time stands still until someone sleeps; sleeping moves it on at once. */
class FakeClock implements Clock {
  t = 1_000_000;
  now = () => this.t;
  sleep = async (ms: number) => {
    this.t += ms;
  };
}

describe('TokenBucket', () => {
  it('grants its rate and no more: 30 units at 10 a second take 3 seconds', async () => {
    // Prepare
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, clock);
    const start = clock.now();
    const grants: number[] = [];
    // Act
    for (let i = 0; i < 30; i++) {
      await bucket.take(1);
      grants.push(clock.now() - start);
    }
    // Assess
    expect(grants.at(-1)).toBeGreaterThanOrEqual(2900);
    expect(grants.at(-1)).toBeLessThanOrEqual(3100);
    // Never ahead of the rate by more than the burst (a fifth of a second's worth).
    grants.forEach((at, i) => expect(i + 1).toBeLessThanOrEqual((at / 1000) * 10 + 2 + 1e-9));
  });

  it('charges what was really consumed: a 3-unit request that was estimated at 1 delays the next', async () => {
    // Prepare
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, clock);
    await bucket.take(1);
    const before = clock.now();
    // Act
    bucket.charge(3 - 1);
    await bucket.take(1);
    // Assess: 2 units of debt and 1 to take, at 10 a second
    expect(clock.now() - before).toBeGreaterThanOrEqual(300);
  });
});

describe('paced DynamoDB client', () => {
  const TABLE = 'tap-reconcile-pacing';
  let dynalite: StandIn;
  let proxy: StandIn;
  let throttleNext = 0;

  beforeAll(async () => {
    dynalite = await startDynalite();
    proxy = await startFaultProxy(dynalite.endpoint, (request) => {
      if (throttleNext > 0 && String(request.headers['x-amz-target']).endsWith('PutItem')) {
        throttleNext -= 1;
        return dynamodbThrottle();
      }
      return undefined;
    });
    const setup = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: dynalite.endpoint,
      credentials: STANDIN_CREDENTIALS,
    });
    await createTable(setup, TABLE);
    setup.destroy();
  });

  afterAll(async () => {
    await Promise.all([proxy?.close(), dynalite?.close()]);
  });

  const pacedClient = (clock: Clock, rates: { read: number; write: number }) => {
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: proxy.endpoint,
      credentials: STANDIN_CREDENTIALS,
      maxAttempts: 5,
    });
    const use = new CapacityUse();
    const buckets = { read: new TokenBucket(rates.read, clock), write: new TokenBucket(rates.write, clock) };
    paceClient(client, buckets, use, clock);
    return { client, use, buckets };
  };

  const put = (client: DynamoDBClient, i: number, bytes = 10) =>
    client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { objectKey: { S: `k${i}` }, versionId: { S: 'v' }, pad: { S: 'x'.repeat(bytes) } },
      }),
    );

  it('keeps writes at the write rate in consumed units, whatever their size, with 20 in flight', async () => {
    // Prepare: 20 writes of 1 WCU, then 20 of 2 WCU (1.5 KB) estimated at 1, at 20 WCU a second
    const clock = new FakeClock();
    const { client, use, buckets } = pacedClient(clock, { read: 100, write: 20 });
    const start = clock.now();
    // Act
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(client, i)));
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(client, 100 + i, 1500)));
    const granted = (clock.now() - start) / 1000;
    // The next request waits until what the 2-unit writes consumed beyond their estimate is paid back.
    await buckets.write.take(0);
    // Assess
    const seconds = (clock.now() - start) / 1000;
    expect(use).toMatchObject({ writes: 40, writeUnits: 60, throttled: 0 });
    expect(granted).toBeGreaterThanOrEqual((40 - 4) / 20);
    expect(seconds).toBeGreaterThanOrEqual((60 - 4) / 20);
    expect(use.writeUnits / seconds).toBeLessThanOrEqual(20 * 1.1);
    client.destroy();
  });

  it('asks for consumed capacity on reads, paces them by the read rate, and counts throttled attempts', async () => {
    // Prepare
    const clock = new FakeClock();
    const { client, use } = pacedClient(clock, { read: 5, write: 100 });
    throttleNext = 2;
    // Act
    await put(client, 999);
    const start = clock.now();
    for (let i = 0; i < 10; i++) {
      await client.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'objectKey = :k',
          ExpressionAttributeValues: { ':k': { S: 'k999' } },
        }),
      );
    }
    // Assess: dynalite charges an eventually consistent Query 0.5 RCU
    expect(use.throttled).toBe(2);
    expect(use.readUnits).toBe(5);
    expect(clock.now() - start).toBeGreaterThanOrEqual(800);
    client.destroy();
  });
});
