// tap redrive in its default mode (the deployed function invoked with each event), recorded through the
// real SDK: cli-redrive.test.ts mocks its clients (aws-sdk-client-mock replaces send, so no middleware
// runs). Here the failed-events queue is moto's SQS (the soak's moto, hence moto's default account) and
// the function a tiny Lambda stub on a free loopback port (moto's Invoke would need Docker), so the calls
// are the SDK's own: GetQueueUrl, Invoke DryRun, ReceiveMessage, one RequestResponse Invoke per event,
// DeleteMessage for each redriven one, ChangeMessageVisibilityBatch for the one left. They are evaluated
// as the operator's and written to .work/iam-calls/jest.iam-redrive.jsonl for npm run security, and the
// README's permissions for tap redrive must name exactly the actions recorded.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { runTap } from '../support/cli';
import { invocationRecord } from '../../scripts/lib/delivery';
import { Moto, startMoto } from '../../scripts/lib/moto';
import { s3Event, s3Record } from '../../fixtures/s3-events';
import { callsFileOf, recordCallsTo, recordSdkCalls } from '../../scripts/lib/iam/calls-file';
import { MOTO_DEPLOYMENT } from '../../scripts/lib/iam/policy';
import { asDeployedTransport, checkCallsAs } from '../../scripts/lib/iam/proof';
import { createRecorder, RecordedCall } from '../../scripts/lib/iam/recorder';
import { stackUnderProof } from '../../scripts/lib/iam/stack';

const VENV_AND_START_MS = 240_000;
const stack = stackUnderProof({}, MOTO_DEPLOYMENT);
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const saved = { ...process.env };
let moto: Moto;
let lambda: http.Server;
/** What the stub was asked: invocation type and function name, in order. */
const invocations: string[] = [];

/**
 * Lambda's Invoke (POST /2015-03-31/functions/NAME/invocations): DryRun answers 204; RequestResponse runs
 * "the function", which fails the events of keys starting with fails/ (X-Amz-Function-Error: Unhandled).
 */
function lambdaStub(request: http.IncomingMessage, response: http.ServerResponse) {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    const name = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(request.url ?? '')?.[1];
    const type = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    invocations.push(`${type} ${decodeURIComponent(name ?? '?')}`);
    if (!name) return void response.writeHead(404).end();
    if (type === 'DryRun') return void response.writeHead(204).end();
    const fails = body.includes('"key":"fails/');
    const payload = fails
      ? { errorType: 'RecordsFailedError', errorMessage: '1 of 1 record(s) failed: [0] still broken' }
      : { records: 1, stored: 1 };
    response
      .writeHead(200, {
        'content-type': 'application/json',
        'x-amz-executed-version': '$LATEST',
        ...(fails ? { 'x-amz-function-error': 'Unhandled' } : {}),
      })
      .end(JSON.stringify(payload));
  });
}

/** An on-failure invocation record of one upload, as Lambda writes it to the queue. */
const recordOf = (key: string) =>
  JSON.stringify(
    invocationRecord({
      event: s3Event(s3Record({ bucket: stack.bucket, key, versionId: `v-${key.length}`, size: 5 })),
      error: new Error('ProvisionedThroughputExceededException'),
      requestId: `request-${key}`,
      functionArn: `${stack.functionArn}:$LATEST`,
      invokeCount: 3,
      timestamp: new Date('2026-11-29T12:00:00Z'),
    }),
  );

beforeAll(async () => {
  lambda = http.createServer(lambdaStub);
  await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
  moto = await startMoto({ services: ['sqs'] });
  const sqs = new SQSClient({ region: MOTO_DEPLOYMENT.region, endpoint: moto.endpoint, credentials: CREDENTIALS });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: stack.names.queueName }));
  for (const key of ['docs/a.txt', 'images/b.png', 'fails/c.txt'])
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: recordOf(key) }));
  sqs.destroy();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: moto.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`,
    AWS_REGION: MOTO_DEPLOYMENT.region,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_MAX_ATTEMPTS: '1',
  });
}, VENV_AND_START_MS);

afterAll(async () => {
  process.env = saved;
  await new Promise((resolve) => lambda?.close(resolve));
  await moto?.stop();
});

describe('tap redrive (default mode) recorded through the real SDK', () => {
  let code: number;
  let calls: RecordedCall[];
  const queue = `arn:aws:sqs:${MOTO_DEPLOYMENT.region}:${MOTO_DEPLOYMENT.account}:${stack.names.queueName}`;

  beforeAll(async () => {
    const recorder = createRecorder();
    const stop = recordSdkCalls(recorder, { account: MOTO_DEPLOYMENT.account, encryption: stack.encryption });
    try {
      ({ code } = await runTap(['redrive', '--json']));
    } finally {
      stop();
    }
    calls = recorder.calls;
    recordCallsTo(callsFileOf('jest.iam-redrive'), {
      kind: 'tap-iam-calls',
      source: 'jest',
      deployment: MOTO_DEPLOYMENT,
      synthEnv: stack.synthEnv,
      transport: 'stand-in-http',
      caller: 'operator',
      command: 'tap redrive',
    }).record(...calls);
  });

  it('redrives two events through the function and leaves the one that fails again', () => {
    // Assess
    expect(code).toBe(1);
    expect(invocations).toEqual([
      `DryRun ${stack.names.functionName}`,
      ...Array.from({ length: 3 }, () => `RequestResponse ${stack.names.functionName}`),
    ]);
  });

  it('makes the calls a redrive makes, each on the exact queue, function and key', () => {
    // Prepare
    const brief = (c: RecordedCall) => `${c.operation} ${c.action} ${c.resource}${c.implied ? ' (implied)' : ''}`;
    const key = stack.encryption.queues?.[queue];
    // Act
    const seen = [...new Set(calls.map(brief))];
    // Assess
    expect(key).toMatch(/^arn:aws:kms:us-east-1:123456789012:key\//);
    expect(seen).toEqual([
      `GetQueueUrl sqs:GetQueueUrl ${queue}`,
      `Invoke lambda:InvokeFunction ${stack.functionArn}`,
      `ReceiveMessage sqs:ReceiveMessage ${queue}`,
      `Decrypt kms:Decrypt ${key} (implied)`,
      `DeleteMessage sqs:DeleteMessage ${queue}`,
      `ChangeMessageVisibilityBatch sqs:ChangeMessageVisibility ${queue}`,
    ]);
    expect(calls.find((c) => c.implied)?.context).toMatchObject({
      'kms:ViaService': 'sqs.us-east-1.amazonaws.com',
      'kms:EncryptionContext:aws:sqs:arn': queue,
    });
  });

  it('is denied nothing by the queue, function or key policy as an operator with an admin-like identity', () => {
    // Prepare
    const deployed = calls.map((c) => asDeployedTransport(c));
    // Act
    const checks = checkCallsAs(stack, deployed, 'operator');
    // Assess
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
  });

  it('is what the README lists as tap redrive’s permissions (default mode)', () => {
    // Prepare
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'operating.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### `tap redrive`'), readme.indexOf('### `tap reconcile`'));
    const paragraph = /^Permissions[\s\S]*?(?=With `--local`)/m.exec(section)?.[0] ?? '';
    // Act
    const listed = new Set(paragraph.match(/`[a-z0-9]+:[A-Za-z]+`/g)?.map((a) => a.slice(1, -1)));
    // Assess
    expect(listed).toEqual(new Set(calls.map((c) => c.action)));
  });
});
