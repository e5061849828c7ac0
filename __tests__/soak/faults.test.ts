// Fault injection for the stand-ins' proxies: the seeded PRNG and random rules on hand-made requests,
// then each answer through startFaultProxy in front of s3rver and dynalite, as the SDK reads it (one
// attempt, so that nothing is retried away): S3 SlowDown / InternalError, SSE-C and KMS-denied
// objects, DynamoDB ProvisionedThroughputExceededException / ThrottlingException / InternalServerError.
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  DescribeTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import {
  dynamodbOperation,
  faultInjector,
  kmsAccessDeniedRule,
  KMS_DENIED_MESSAGE,
  randomDynamodbFaults,
  randomS3Faults,
  s3ObjectOf,
  seededRandom,
  SSE_C_MESSAGE,
  sseCustomerKeyRule,
} from '../../scripts/lib/faults';
import {
  createPipelineStorage,
  ProxiedRequest,
  StandIn,
  standInClients,
  startDynalite,
  startFaultProxy,
  startS3rver,
} from '../../fixtures/standins';

const s3Request = (method: string, url: string, headers: Record<string, string> = {}): ProxiedRequest => ({
  method,
  url,
  headers,
  body: '',
});

/** The error a promise rejects with (it must reject). */
async function rejection<E>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error('expected a rejection');
}

describe('seededRandom', () => {
  it('gives the same sequence for the same seed, another for another seed, always in [0, 1)', () => {
    // Prepare
    const [a, b, c] = [seededRandom(42), seededRandom(42), seededRandom(43)];
    // Act
    const [first, second, other] = [a, b, c].map((random) => Array.from({ length: 1000 }, random));
    // Assess
    expect(first).toEqual(second);
    expect(other).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('randomFaults', () => {
  const requests = Array.from({ length: 4000 }, (_, i) => s3Request(i % 2 ? 'GET' : 'PUT', `/b/k${i}`));

  it('faults a seeded share of the eligible requests, the same ones for the same seed', () => {
    // Prepare
    const options = { seed: 7, rate: 0.05, eligible: (r: ProxiedRequest) => r.method === 'GET' };
    const [once, again] = [randomS3Faults(options), randomS3Faults(options)];
    // Act
    const faulted = requests.map((r) => once(r)?.kind);
    const replayed = requests.map((r) => again(r)?.kind);
    // Assess
    const count = faulted.filter(Boolean).length;
    expect(replayed).toEqual(faulted);
    expect(count).toBeGreaterThan(2000 * 0.035);
    expect(count).toBeLessThan(2000 * 0.065);
    expect(faulted.filter((_, i) => i % 2 === 0 && faulted[i])).toEqual([]);
    expect(new Set(faulted.filter(Boolean))).toEqual(new Set(['SlowDown', 'InternalError']));
  });

  it('chooses among every kind of the service', () => {
    // Prepare
    const rule = randomDynamodbFaults({ seed: 1, rate: 1 });
    // Act
    const kinds = new Set(requests.slice(0, 50).map((r) => rule(r)?.kind));
    // Assess
    expect(kinds).toEqual(
      new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'InternalServerError']),
    );
  });
});

describe('per-key rules and the injector', () => {
  it('reads bucket and key of a path-style request, percent-decoded, without the query', () => {
    // Act & Assess
    expect(s3ObjectOf(s3Request('GET', '/bkt/ssec/a%20b%2Bc.txt?versionId=v1&x-id=GetObject'))).toEqual({
      bucket: 'bkt',
      key: 'ssec/a b+c.txt',
    });
    expect(s3ObjectOf(s3Request('GET', '/bkt?list-type=2'))).toBeUndefined();
  });

  it('answers reads of SSE-C objects without the customer key, and leaves reads with it and writes', () => {
    // Prepare
    const rule = sseCustomerKeyRule();
    // Act
    const head = rule(s3Request('HEAD', '/b/ssec/a'));
    const get = rule(s3Request('GET', '/b/ssec/a'));
    const keyed = rule(s3Request('GET', '/b/ssec/a', { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }));
    const put = rule(s3Request('PUT', '/b/ssec/a'));
    // Assess
    expect(head).toMatchObject({ kind: 'SseCustomerKeyRequired', response: { status: 400, body: '' } });
    expect(get?.response.body).toContain(`<Code>InvalidRequest</Code><Message>${SSE_C_MESSAGE}</Message>`);
    expect([keyed, put]).toEqual([undefined, undefined]);
  });

  it('takes the first rule that answers and counts each kind', () => {
    // Prepare
    const injector = faultInjector(sseCustomerKeyRule(), kmsAccessDeniedRule(), randomS3Faults({ seed: 3, rate: 1 }));
    // Act
    for (const url of ['/b/ssec/1', '/b/ssec/2', '/b/kms-denied/1', '/b/plain']) injector.fault(s3Request('GET', url));
    // Assess
    expect(injector.counts.SseCustomerKeyRequired).toBe(2);
    expect(injector.counts.KmsAccessDenied).toBe(1);
    expect(injector.total()).toBe(4);
  });
});

describe('S3 faults through the proxy, as the SDK reads them', () => {
  const BUCKET = 'tap-faults';
  let s3rver: StandIn;
  let dynalite: StandIn;
  let proxy: StandIn;
  let s3: S3Client;
  const injector = faultInjector(
    sseCustomerKeyRule(),
    kmsAccessDeniedRule(),
    randomS3Faults({ seed: 5, rate: 1, eligible: (r) => s3ObjectOf(r)?.key.startsWith('flaky/') ?? false }),
  );

  beforeAll(async () => {
    [s3rver, dynalite] = await Promise.all([startS3rver(), startDynalite()]);
    const clients = standInClients(s3rver.endpoint, dynalite.endpoint);
    await createPipelineStorage(clients, { bucket: BUCKET, table: 'tap-faults-metadata' });
    for (const Key of ['ssec/a.txt', 'kms-denied/a.txt', 'flaky/a.txt'])
      await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'hello' }));
    clients.s3.destroy();
    clients.dynamodb.destroy();
    proxy = await startFaultProxy(s3rver.endpoint, injector.fault);
    s3 = standInClients(proxy.endpoint, dynalite.endpoint, 1).s3;
  });

  afterAll(async () => {
    s3?.destroy();
    await Promise.all([proxy?.close(), s3rver?.close(), dynalite?.close()]);
  });

  it('answers HEAD of an SSE-C object 400 with no body, GET 400 InvalidRequest with S3 message', async () => {
    // Act
    const head = await rejection<S3ServiceException>(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'ssec/a.txt' })),
    );
    const get = await rejection<S3ServiceException>(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'ssec/a.txt' })),
    );
    // Assess
    expect(head.$metadata.httpStatusCode).toBe(400);
    // No body, no code: the SDK names it Unknown, as it does for real S3's answer.
    expect(head.name).toBe('Unknown');
    expect(get.$metadata.httpStatusCode).toBe(400);
    expect([get.name, get.message]).toEqual(['InvalidRequest', SSE_C_MESSAGE]);
    expect(get.$metadata.requestId).toMatch(/^[0-9A-F]{16}$/);
  });

  it('lets HEAD of an object under kms-denied/ through and answers its GET 403 AccessDenied', async () => {
    // Act
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'kms-denied/a.txt' }));
    const get = await rejection<S3ServiceException>(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kms-denied/a.txt' })),
    );
    // Assess
    expect(head.ContentLength).toBe(5);
    expect(get.$metadata.httpStatusCode).toBe(403);
    expect([get.name, get.message]).toEqual(['AccessDenied', KMS_DENIED_MESSAGE]);
  });

  it('answers SlowDown 503 and InternalError 500 as S3 does', async () => {
    // Act
    const errors = await Promise.all(
      Array.from({ length: 12 }, () =>
        rejection<S3ServiceException>(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'flaky/a.txt' }))),
      ),
    );
    // Assess
    const seen = new Set(errors.map((e) => `${e.name} ${e.$metadata.httpStatusCode}`));
    expect(seen).toEqual(new Set(['SlowDown 503', 'InternalError 500']));
    expect(injector.counts.SlowDown + injector.counts.InternalError).toBe(12);
  });
});

describe('DynamoDB faults through the proxy, as the SDK reads them', () => {
  let dynalite: StandIn;
  let proxy: Awaited<ReturnType<typeof startFaultProxy>>;

  beforeAll(async () => {
    dynalite = await startDynalite();
  });

  afterEach(async () => {
    await proxy?.close();
  });

  afterAll(async () => {
    await dynalite?.close();
  });

  it('answers each kind with its status and __type, the request id in DynamoDB form', async () => {
    // Prepare
    const injector = faultInjector(randomDynamodbFaults({ seed: 11, rate: 1 }));
    proxy = await startFaultProxy(dynalite.endpoint, injector.fault);
    const dynamodb = standInClients(proxy.endpoint, proxy.endpoint, 1).dynamodb;
    // Act
    const errors = await Promise.all(
      Array.from({ length: 15 }, () => rejection<DynamoDBServiceException>(dynamodb.send(new ListTablesCommand({})))),
    );
    dynamodb.destroy();
    // Assess
    const seen = new Set(errors.map((e) => `${e.name} ${e.$metadata.httpStatusCode}`));
    expect(seen).toEqual(
      new Set(['ProvisionedThroughputExceededException 400', 'ThrottlingException 400', 'InternalServerError 500']),
    );
    expect(errors.every((e) => /^[A-Z0-9]{52}$/.test(e.$metadata.requestId ?? ''))).toBe(true);
  });

  it('lets the SDK retry a 5% share away, only on the operations it is asked to fault', async () => {
    // Prepare
    const injector = faultInjector(
      randomDynamodbFaults({ seed: 2, rate: 0.05, eligible: (r) => dynamodbOperation(r) === 'ListTables' }),
    );
    proxy = await startFaultProxy(dynalite.endpoint, injector.fault);
    const dynamodb = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      endpoint: proxy.endpoint,
      maxAttempts: 5,
    });
    // Act: 60 ListTables, each followed by a DescribeTable the store itself refuses (no such table)
    const refusals: string[] = [];
    for (let i = 0; i < 60; i++) {
      await dynamodb.send(new ListTablesCommand({}));
      await dynamodb
        .send(new DescribeTableCommand({ TableName: 'none' }))
        .catch((error: Error) => refusals.push(error.name));
    }
    dynamodb.destroy();
    // Assess
    const sent = (operation: string) => proxy.requests.map(dynamodbOperation).filter((o) => o === operation);
    expect(injector.total()).toBeGreaterThan(0);
    expect(proxy.requests).toHaveLength(120 + injector.total());
    expect(sent('ListTables')).toHaveLength(60 + injector.total());
    expect(sent('DescribeTable')).toHaveLength(60);
    expect(new Set(refusals)).toEqual(new Set(['ResourceNotFoundException']));
  });
});
