// tap redrive in-process: SQS and Lambda through aws-sdk-client-mock (the queue a small stateful fake that
// hides, deletes and releases messages as SQS does), and --local through the real handler code against
// s3rver and dynalite, with a proxy in front of s3rver that denies one key.
import { randomUUID } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  KmsAccessDenied,
  MessageAttributeValue,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { InvokeCommand, InvokeCommandOutput, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { projectConfig, resourceNames } from '../../config';
import * as standins from '../../fixtures/standins';
import { s3Event, s3Record } from '../../fixtures/s3-events';
import { runTap } from '../support/cli';

const names = resourceNames(projectConfig());
const QUEUE_URL = `https://sqs.us-east-1.amazonaws.com/123456789012/${names.queueName}`;
const BUCKET = 'tap-cli-redrive-uploads';
const TABLE = 'tap-cli-redrive-metadata';
const sqsMock = mockClient(SQSClient);
const lambdaMock = mockClient(LambdaClient);

/** An invocation record as Lambda sends it to the on-failure destination after the last retry. */
function invocationRecord(event: unknown, errorMessage = `1 of 1 record(s) failed: [0] ${BUCKET}/a.txt@null: boom`) {
  return {
    version: '1.0',
    timestamp: '2026-11-29T12:03:41.077Z',
    requestContext: {
      requestId: randomUUID(),
      functionArn: `arn:aws:lambda:us-east-1:123456789012:function:${names.functionName}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: {
      errorType: 'RecordsFailedError',
      errorMessage,
      trace: [`RecordsFailedError: ${errorMessage}`, '    at /var/task/index.js:1:2048'],
    },
  };
}

const eventFor = (key: string, size = 5): S3Event => s3Event(s3Record({ bucket: BUCKET, key, size }));

/** An S3 event EventBridge could not deliver, as its dead-letter queue holds it: the event, and attributes saying why. */
function eventBridgeDeadLetter(key: string) {
  const event = {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time: '2026-11-29T12:03:41Z',
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${BUCKET}`],
    detail: {
      version: '0',
      bucket: { name: BUCKET },
      object: { key, size: 5, etag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '0062E99A88DC407460' },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      reason: 'PutObject',
    },
  };
  const attribute = (StringValue: string) => ({ DataType: 'String', StringValue });
  const attributes = {
    RULE_ARN: attribute(`arn:aws:events:us-east-1:123456789012:rule/${names.ruleName}`),
    TARGET_ARN: attribute(`arn:aws:lambda:us-east-1:123456789012:function:${names.functionName}`),
    ERROR_CODE: attribute('Throttling'),
    ERROR_MESSAGE: attribute('Rate Exceeded.'),
    EXHAUSTED_RETRY_CONDITION: attribute('MaximumRetryAttemptsExhausted'),
    RETRY_ATTEMPTS: attribute('185'),
  };
  return { event, message: { body: JSON.stringify(event), attributes } };
}
const recordBody = (key: string) => JSON.stringify(invocationRecord(eventFor(key)));

/** The failed-events queue: messages are hidden on receipt, deleted or released by their latest receipt handle. */
class FakeQueue {
  readonly messages: {
    id: string;
    body: string;
    attributes?: Record<string, MessageAttributeValue>;
    visible: boolean;
    receipts: number;
  }[];

  /** Each message a body, or a body with message attributes (EventBridge's dead letters carry them). */
  constructor(...bodies: (string | { body: string; attributes: Record<string, MessageAttributeValue> })[]) {
    this.messages = bodies.map((m) => ({
      id: randomUUID(),
      ...(typeof m === 'string' ? { body: m } : m),
      visible: true,
      receipts: 0,
    }));
    sqsMock.on(GetQueueUrlCommand).resolves({ QueueUrl: QUEUE_URL });
    sqsMock.on(ReceiveMessageCommand).callsFake(({ MaxNumberOfMessages = 1 }) => {
      const batch = this.messages.filter((m) => m.visible).slice(0, MaxNumberOfMessages);
      for (const m of batch) Object.assign(m, { visible: false, receipts: m.receipts + 1 });
      return {
        Messages: batch.map((m) => ({
          MessageId: m.id,
          ReceiptHandle: this.handle(m),
          Body: m.body,
          MessageAttributes: m.attributes,
        })),
      };
    });
    sqsMock.on(DeleteMessageCommand).callsFake(({ ReceiptHandle }) => {
      this.messages.splice(this.messages.indexOf(this.byHandle(ReceiptHandle)), 1);
      return {};
    });
    sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake(({ Entries = [] }) => {
      for (const e of Entries) this.byHandle(e.ReceiptHandle).visible = e.VisibilityTimeout === 0;
      return { Successful: Entries.map((e: { Id: string }) => ({ Id: e.Id })), Failed: [] };
    });
  }

  private handle = (m: { id: string; receipts: number }) => `${m.id}#${m.receipts}`;

  private byHandle(receiptHandle: string) {
    const message = this.messages.find((m) => this.handle(m) === receiptHandle);
    if (!message) throw new ReceiptHandleIsInvalid({ message: 'The receipt handle has expired.', $metadata: {} });
    return message;
  }

  /** Every message still in the queue is visible again (none left hidden by the run). */
  allVisible = () => this.messages.every((m) => m.visible);
}

const invokeOutput = (payload: unknown, functionError?: string) => ({
  StatusCode: 200,
  ExecutedVersion: '$LATEST',
  FunctionError: functionError,
  Payload: Buffer.from(JSON.stringify(payload)) as unknown as InvokeCommandOutput['Payload'],
});
const STORED = { records: 1, stored: 1, deleted: 0, gone: 0, duplicate: 0, stale: 0 };
const redrivenInvokes = () =>
  lambdaMock.commandCalls(InvokeCommand).filter((c) => c.args[0].input.InvocationType === 'RequestResponse');

let s3rver: standins.StandIn;
let dynalite: standins.StandIn;
let s3Proxy: standins.StandIn;
let clients: ReturnType<typeof standins.standInClients>;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [s3rver, dynalite] = await Promise.all([standins.startS3rver(), standins.startDynalite()]);
  clients = standins.standInClients(s3rver.endpoint, dynalite.endpoint);
  await standins.createPipelineStorage(clients, { bucket: BUCKET, table: TABLE });
  s3Proxy = await standins.startFaultProxy(s3rver.endpoint, (request) =>
    request.url.includes('/denied/')
      ? standins.s3Error(403, 'AccessDenied', 'Access Denied', request.method)
      : undefined,
  );
  process.env = {
    ...process.env,
    AWS_ENDPOINT_URL_S3: s3Proxy.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: standins.STANDIN_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: standins.STANDIN_CREDENTIALS.secretAccessKey,
  };
});

afterAll(async () => {
  process.env = savedEnv;
  clients.s3.destroy();
  clients.dynamodb.destroy();
  await Promise.all([s3rver?.close(), dynalite?.close(), s3Proxy?.close()]);
});

beforeEach(() => {
  sqsMock.reset();
  lambdaMock.reset();
  lambdaMock.on(InvokeCommand, { InvocationType: 'DryRun' }).resolves({ StatusCode: 204 });
});

/** `tap redrive args...` in-process: its exit code, and what it printed to stdout and stderr, line by line. */
async function redrive(...args: string[]) {
  const { code, stdout, stderr } = await runTap(['redrive', ...args]);
  const lines = (text: string) => (text === '' ? [] : text.split('\n'));
  return { code, out: lines(stdout), err: lines(stderr) };
}

describe('tap redrive through the deployed function', () => {
  it('invokes the function with the original event and deletes the message once it succeeded', async () => {
    // Prepare
    const record = invocationRecord(eventFor('a.txt'));
    const queue = new FakeQueue(JSON.stringify(record));
    lambdaMock.on(InvokeCommand, { InvocationType: 'RequestResponse' }).resolves(invokeOutput(STORED));
    // Act
    const { code, out } = await redrive();
    // Assess
    expect(code).toBe(0);
    expect(queue.messages).toHaveLength(0);
    const invoke = redrivenInvokes()[0].args[0].input;
    expect(invoke.FunctionName).toBe(names.functionName);
    expect(JSON.parse(Buffer.from(invoke.Payload as Uint8Array).toString())).toEqual(record.requestPayload);
    expect(out[0]).toBe(`Redriving ${QUEUE_URL} through function ${names.functionName}`);
    expect(out[1]).toMatch(new RegExp(`^redriven +[0-9a-f-]{36}  ${BUCKET}/a\\.txt@null: stored 1$`));
    expect(out[2]).toBe('received 1: redriven 1');
  });

  it("hands back EventBridge's dead letters (the raw event) beside Lambda's records, saying why delivery failed", async () => {
    // Prepare
    const deadLetter = eventBridgeDeadLetter('eb/a b.txt');
    const record = invocationRecord(eventFor('a.txt'));
    const queue = new FakeQueue(deadLetter.message, JSON.stringify(record), deadLetter.message);
    lambdaMock.on(InvokeCommand, { InvocationType: 'RequestResponse' }).resolves(invokeOutput(STORED));
    // Act
    const dryRun = await redrive('--dry-run');
    const { code, out } = await redrive('--max', '2');
    // Assess
    expect(sqsMock).toHaveReceivedCommandWith(ReceiveMessageCommand, { MessageAttributeNames: ['All'] });
    expect(dryRun.out[1]).toMatch(
      new RegExp(
        `^would redrive  \\S+  ${BUCKET}/eb/a b\\.txt@null: MaximumRetryAttemptsExhausted after 185 attempt\\(s\\): ` +
          'Throttling: Rate Exceeded\\.$',
      ),
    );
    expect(code).toBe(0);
    const payloads = redrivenInvokes().map((c) =>
      JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString()),
    );
    expect(payloads).toEqual([deadLetter.event, record.requestPayload]);
    expect(out[1]).toMatch(new RegExp(`^redriven +\\S+  ${BUCKET}/eb/a b\\.txt@null: stored 1$`));
    expect(queue.messages).toHaveLength(1);
  });

  it('leaves a record that fails again in the queue, visible, with the new error', async () => {
    // Prepare
    const queue = new FakeQueue(recordBody('a.txt'));
    const error = {
      errorType: 'RecordsFailedError',
      errorMessage: `1 of 1 record(s) failed: [0] ${BUCKET}/a.txt@null: x`,
    };
    lambdaMock.on(InvokeCommand, { InvocationType: 'RequestResponse' }).resolves(invokeOutput(error, 'Unhandled'));
    // Act
    const { code, out } = await redrive('--function', 'other-fn');
    // Assess
    expect(code).toBe(1);
    expect(queue.messages).toHaveLength(1);
    expect(queue.allVisible()).toBe(true);
    expect(sqsMock).not.toHaveReceivedCommand(DeleteMessageCommand);
    expect(redrivenInvokes()[0].args[0].input.FunctionName).toBe('other-fn');
    expect(out[1]).toContain(
      `${BUCKET}/a.txt@null: RecordsFailedError: 1 of 1 record(s) failed: [0] ${BUCKET}/a.txt@null: x (left in the queue)`,
    );
    expect(out[2]).toBe('received 1: redriven 0, left in the queue 1 (failed again 1)');
  });

  it('leaves messages that are not invocation records in the queue and says why', async () => {
    // Prepare
    const queue = new FakeQueue('not json', JSON.stringify(eventFor('raw.txt')), '{"requestContext":{}}');
    // Act
    const { code, out } = await redrive();
    // Assess
    expect(code).toBe(1);
    expect(redrivenInvokes()).toHaveLength(0);
    expect(queue.messages).toHaveLength(3);
    expect(queue.allVisible()).toBe(true);
    expect(out.slice(1, 4)).toEqual([
      expect.stringMatching(
        /^skipped .* not an invocation record: the message body is not JSON \(starts with "not json"\)/,
      ),
      expect.stringMatching(/not an invocation record: the message body is an event itself, .*\(no requestPayload\)/),
      expect.stringMatching(
        /not an invocation record: no requestContext\.condition \(top-level keys: requestContext\)/,
      ),
    ]);
    expect(out[4]).toBe('received 3: redriven 0, left in the queue 3 (not an invocation record 3)');
  });

  it('with --dry-run prints keys, the original error and the attempts, and processes and deletes nothing', async () => {
    // Prepare
    const expired = {
      ...invocationRecord(eventFor('late.txt')),
      responseContext: undefined,
      responsePayload: undefined,
    };
    expired.requestContext = { ...expired.requestContext, condition: 'EventAgeExceeded', approximateInvokeCount: 1 };
    const queue = new FakeQueue(recordBody('a.txt'), recordBody('dir/b c.txt'), 'oops', JSON.stringify(expired));
    // Act
    const { code, out } = await redrive('--dry-run');
    // Assess
    expect(code).toBe(1);
    expect(redrivenInvokes()).toHaveLength(0);
    expect(sqsMock).not.toHaveReceivedCommand(DeleteMessageCommand);
    expect(queue.messages).toHaveLength(4);
    expect(queue.allVisible()).toBe(true);
    expect(out[0]).toBe(`Dry run on ${QUEUE_URL}: nothing is processed or deleted`);
    expect(out[2]).toMatch(
      new RegExp(
        `^would redrive  \\S+  ${BUCKET}/dir/b c\\.txt@null: RetriesExhausted after 3 attempt\\(s\\): ` +
          `RecordsFailedError: 1 of 1 record\\(s\\) failed: \\[0\\] ${BUCKET}/a\\.txt@null: boom$`,
      ),
    );
    expect(out[4]).toMatch(
      new RegExp(
        `^would redrive  \\S+  ${BUCKET}/late\\.txt@null: EventAgeExceeded after 1 attempt\\(s\\): ` +
          'no response recorded \\(the function may never have run the event\\)$',
      ),
    );
    expect(out[5]).toBe(
      'dry run, received 4: would redrive 3, not an invocation record 1; nothing was processed or deleted',
    );
  });

  it('handles at most --max messages, receiving no more than it may handle', async () => {
    // Prepare
    const queue = new FakeQueue(...['1', '2', '3', '4', '5'].map((k) => recordBody(`${k}.txt`)));
    lambdaMock.on(InvokeCommand, { InvocationType: 'RequestResponse' }).resolves(invokeOutput(STORED));
    // Act
    const { code, out } = await redrive('--max', '2');
    // Assess
    expect(code).toBe(0);
    expect(redrivenInvokes()).toHaveLength(2);
    expect(queue.messages).toHaveLength(3);
    expect(queue.allVisible()).toBe(true);
    expect(sqsMock).toHaveReceivedCommandWith(ReceiveMessageCommand, { MaxNumberOfMessages: 2 });
    expect(out.at(-1)).toBe('received 2: redriven 2; stopped at --max 2, more may be waiting');
  });

  it('prints one JSON object with --json', async () => {
    // Prepare
    new FakeQueue(recordBody('a.txt'), '[]');
    lambdaMock.on(InvokeCommand, { InvocationType: 'RequestResponse' }).resolves(invokeOutput(STORED));
    // Act
    const { code, out } = await redrive('--json', '--queue-url', QUEUE_URL);
    // Assess
    expect(code).toBe(1);
    expect(sqsMock).not.toHaveReceivedCommand(GetQueueUrlCommand);
    expect(JSON.parse(out.join('\n'))).toMatchObject({
      received: 2,
      redriven: 1,
      failed: 0,
      notInvocationRecords: 1,
      messages: [
        {
          status: 'redriven',
          events: [`${BUCKET}/a.txt@null`],
          condition: 'RetriesExhausted',
          attempts: 3,
          result: 'stored 1',
        },
        { status: 'not-a-record', reason: 'the message body is JSON an array, not an object' },
      ],
    });
  });

  it('names a missing queue in one line, without a stack trace', async () => {
    // Prepare
    sqsMock
      .on(GetQueueUrlCommand)
      .rejects(new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} }));
    // Act
    const { code, err } = await redrive();
    // Assess
    expect(code).toBe(2);
    expect(err).toEqual([
      expect.stringMatching(new RegExp(`^tap: SQS queue "${names.queueName}" does not exist \\(QueueDoesNotExist\\)`)),
    ]);
    expect(err.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('names a missing function in one line before it receives any message', async () => {
    // Prepare
    new FakeQueue(recordBody('a.txt'));
    lambdaMock
      .on(InvokeCommand)
      .rejects(new ResourceNotFoundException({ message: 'Function not found', $metadata: {} }));
    // Act
    const { code, err } = await redrive('--function', 'gone-fn');
    // Assess
    expect(code).toBe(2);
    expect(err).toEqual([expect.stringMatching(/^tap: Lambda function "gone-fn" does not exist/)]);
    expect(sqsMock).not.toHaveReceivedCommand(ReceiveMessageCommand);
  });

  it('names the key when the queue cannot be decrypted', async () => {
    // Prepare
    new FakeQueue();
    sqsMock.on(ReceiveMessageCommand).rejects(new KmsAccessDenied({ message: 'denied', $metadata: {} }));
    // Act
    const { code, err } = await redrive();
    // Assess
    expect(code).toBe(2);
    expect(err).toEqual([
      expect.stringContaining(`(KmsAccessDenied): its messages are encrypted with ${names.keyAlias}`),
    ]);
  });
});

describe('tap redrive --local (the handler code against s3rver and dynalite)', () => {
  it('stores the uploaded object and deletes the message', async () => {
    // Prepare
    await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'local/a b.txt', Body: 'hello' }));
    const queue = new FakeQueue(recordBody('local/a b.txt'));
    // Act
    const { code, out } = await redrive('--local', '--table', TABLE);
    // Assess
    expect(code).toBe(0);
    expect(queue.messages).toHaveLength(0);
    expect(lambdaMock).not.toHaveReceivedCommand(InvokeCommand);
    expect(await standins.readMetadataItem(clients.dynamodb, TABLE, 'local/a b.txt')).toMatchObject({
      status: 'present',
      size: 5,
      bucket: BUCKET,
    });
    expect(out[1]).toMatch(/^redriven .* tap-cli-redrive-uploads\/local\/a b\.txt@null: stored 1$/);
  });

  it('leaves a record whose object cannot be read in the queue, with the error naming the record', async () => {
    // Prepare
    const queue = new FakeQueue(recordBody('denied/secret.txt'));
    // Act
    const { code, out } = await redrive('--local', '--table', TABLE);
    // Assess
    expect(code).toBe(1);
    expect(queue.messages).toHaveLength(1);
    expect(queue.allVisible()).toBe(true);
    expect(out[1]).toMatch(
      new RegExp(
        `^failed .*: RecordsFailedError: 1 of 1 record\\(s\\) failed: \\[0\\] ${BUCKET}/denied/secret\\.txt@null: `,
      ),
    );
    expect(await standins.readMetadataItem(clients.dynamodb, TABLE, 'denied/secret.txt')).toBeUndefined();
  });

  it('names a missing table in one line before it receives any message', async () => {
    // Prepare
    new FakeQueue(recordBody('a.txt'));
    // Act
    const { code, err } = await redrive('--local', '--table', 'no-such-table');
    // Assess
    expect(code).toBe(2);
    expect(err).toEqual([
      expect.stringMatching(/^tap: DynamoDB table "no-such-table" does not exist \(ResourceNotFoundException\)/),
    ]);
    expect(sqsMock).not.toHaveReceivedCommand(ReceiveMessageCommand);
  });
});
