// moto from the project venv (created on the first run: about 45 s, hence the long first timeout):
// started on a port it binds itself, plain and TLS, and stopped; and Lambda-like delivery sending
// its on-failure invocation records to moto's SQS, read back with tap redrive's parser; the capacity
// proxy in front of moto's DynamoDB, which reports a constant 1 unit per request. Every test that
// needs moto is in this file, so that only one jest worker ever creates the venv.
import type { S3Event } from 'aws-lambda';
import {
  CreateQueueCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { originalError, parseInvocationRecord } from '../../cli/redrive/invocation-record';
import { startCapacityProxy } from '../../scripts/lib/capacity';
import { deliverAsync } from '../../scripts/lib/delivery';
import { Moto, motoRequest, startMoto } from '../../scripts/lib/moto';
import { s3Event, s3Record } from '../../fixtures/s3-events';

const VENV_AND_START_MS = 240_000;
let moto: Moto;
let sqs: SQSClient;

beforeAll(async () => {
  moto = await startMoto({ services: ['sqs', 'dynamodb'] });
  sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}, VENV_AND_START_MS);

afterAll(async () => {
  sqs?.destroy();
  await moto?.stop();
});

/** Every message in the queue (moto hands out at most 10 at a time). */
async function drain(QueueUrl: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (Messages.length === 0) return messages;
    messages.push(...Messages);
  }
}

describe('startMoto', () => {
  it('serves on a loopback port', async () => {
    // Prepare
    await sqs.send(new CreateQueueCommand({ QueueName: 'listed' }));
    // Act
    const listed = await sqs.send(new ListQueuesCommand({}));
    // Assess
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listed.QueueUrls).toEqual([expect.stringMatching(/\/listed$/)]);
  });

  it('serves TLS when asked, and is gone once stopped', async () => {
    // Prepare
    const tls = await startMoto({ ssl: true });
    try {
      // Act
      const answered = await motoRequest(tls.endpoint, 'GET', '/moto-api/');
      await tls.stop();
      await tls.stop();
      // Assess
      expect(tls.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(answered).toBe(200);
      await expect(motoRequest(tls.endpoint, 'GET', '/moto-api/')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await tls.stop();
    }
  });

  it('fails with the launcher’s own words when a backend does not exist', async () => {
    // Act & Assess
    await expect(startMoto({ services: ['no-such-service'] })).rejects.toThrow(/exited .* before listening/);
  });
});

describe('deliverAsync to moto’s SQS', () => {
  const eventFor = (key: string): S3Event => s3Event(s3Record({ bucket: 'tap-soak', key, size: 5, versionId: 'v1' }));

  it('sends one invocation record per exhausted event, which tap redrive’s parser reads back', async () => {
    // Prepare
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'tap-failed-events' }));
    const events = ['a', 'doomed-1', 'b', 'doomed-2'].map(eventFor);
    const handler = async (event: S3Event) => {
      const key = event.Records[0].s3.object.key;
      if (key.startsWith('doomed')) throw new Error(`cannot process ${key}`);
    };
    // Act
    const counts = await deliverAsync(events, { handler, failureQueue: { sqs, queueUrl: QueueUrl } });
    const messages = await drain(QueueUrl);
    // Assess
    expect(counts).toMatchObject({ invocations: 8, retries: 4, succeeded: 2, failed: 2, sentToFailureQueue: 2 });
    const records = messages.map((m) => parseInvocationRecord(m.Body));
    const read = records.flatMap((r) => ('record' in r ? [r.record] : []));
    expect(read).toHaveLength(2);
    expect(read.map((r) => r.requestPayload)).toEqual(expect.arrayContaining([events[1], events[3]]));
    expect(read.map((r) => r.requestContext.approximateInvokeCount)).toEqual([3, 3]);
    expect(read.map(originalError).sort()).toEqual([
      'Error: cannot process doomed-1',
      'Error: cannot process doomed-2',
    ]);
  });

  it('counts records the queue refuses, as Lambda counts DestinationDeliveryFailures', async () => {
    // Prepare
    const queueUrl = `${moto.endpoint}/123456789012/no-such-queue`;
    const handler = async () => {
      throw new Error('always');
    };
    // Act
    const counts = await deliverAsync([eventFor('x')], { handler, failureQueue: { sqs, queueUrl } });
    // Assess
    expect(counts).toMatchObject({ failed: 1, sentToFailureQueue: 0, destinationDeliveryFailures: 1 });
    expect(counts.destinationErrors[0]).toMatch(/QueueDoesNotExist|NonExistentQueue/);
  });
});

describe('startCapacityProxy in front of moto’s DynamoDB', () => {
  it('charges a write by the item’s size, not the constant 1 moto reports', async () => {
    // Prepare
    const proxy = await startCapacityProxy(moto.endpoint);
    const dynamodb = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: proxy.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
    try {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: 'capacity',
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 10 },
        }),
      );
      const item = { id: { S: 'k' }, body: { S: 'x'.repeat(2500) } };
      // Act
      const result = await dynamodb.send(
        new PutItemCommand({ TableName: 'capacity', Item: item, ReturnConsumedCapacity: 'TOTAL' }),
      );
      // Assess
      expect(result.ConsumedCapacity?.CapacityUnits).toBe(1);
      expect(proxy.ledger.usage('capacity')).toMatchObject({ consumedWriteUnits: 3 });
    } finally {
      dynamodb.destroy();
      await proxy.close();
    }
  });
});
