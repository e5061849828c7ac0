// The operator's tap commands recorded through the real SDK (the CLI tests mock their clients, and
// aws-sdk-client-mock replaces send, so no middleware runs there): moto serves SQS, S3 (a versioned
// bucket with objects) and DynamoDB, in moto's default account; the function is a tiny Lambda stub on a
// free loopback port (moto's Invoke would need Docker). tap redrive (default mode: GetQueueUrl, Invoke
// DryRun, ReceiveMessage, one RequestResponse Invoke per event, DeleteMessage for each redriven one,
// ChangeMessageVisibilityBatch for the one left), tap redrive --local and tap reconcile --repair run
// in-process with recording clients (recordingTap). Their calls are evaluated as the operator's, saved
// as evidence for npm run security, and the permissions the docs list for them must cover them.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createPipelineStorage } from '../../fixtures/standins';
import { runTap } from '../support/cli';
import { invocationRecord } from '../../scripts/lib/delivery';
import { Moto, startMoto } from '../../scripts/lib/moto';
import { s3Event, s3Record } from '../../fixtures/s3-events';
import { recordingTap, saveEvidence } from '../../scripts/lib/iam/evidence';
import { MOTO_DEPLOYMENT } from '../../scripts/lib/iam/policy';
import { asDeployed, checkCalls, recordOptionsFor, stackUnderProof } from '../../scripts/lib/iam/proof';
import { RecordedCall } from '../../scripts/lib/iam/recorder';

const VENV_AND_START_MS = 240_000;
const stack = stackUnderProof({}, MOTO_DEPLOYMENT);
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const saved = { ...process.env };
let moto: Moto;
let lambda: http.Server;
/** What the stub was asked: invocation type and function name, in order. */
const invocations: string[] = [];
const versions: Record<string, string> = {};
let queueUrl: string;

/** Runs tap as the operator with its calls recorded; under npm run security, saves them as evidence `name`. */
async function asOperator(name: string, command: string, args: string[]) {
  const calls: RecordedCall[] = [];
  const { code } = await runTap(args, recordingTap(calls, recordOptionsFor(stack, 'operator')));
  const { synthEnv, deployment } = stack;
  saveEvidence({ name, synthEnv, deployment, caller: 'operator', command, transport: 'stand-in-http', calls });
  return { code, calls };
}

/** The actions the docs list in the "Permissions" paragraph under `### \`heading\`` (README.md or docs/). */
function listedPermissions(heading: string, until = '\n\n'): Set<string> {
  const root = path.join(__dirname, '..', '..');
  const docs = [
    'README.md',
    ...(fs.existsSync(path.join(root, 'docs')) ? fs.readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`) : []),
  ];
  const text =
    docs.map((f) => fs.readFileSync(path.join(root, f), 'utf8')).find((t) => t.includes(`### \`${heading}\``)) ?? '';
  const section = text.slice(text.indexOf(`### \`${heading}\``));
  const start = section.indexOf('\nPermissions');
  const paragraph = section.slice(start, section.indexOf(until, start + 1));
  return new Set(paragraph.match(/`[a-z0-9]+:[A-Za-z]+`/g)?.map((a) => a.slice(1, -1)));
}

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
const recordOf = (key: string, versionId = `v-${key.length}`) =>
  JSON.stringify(
    invocationRecord({
      event: s3Event(s3Record({ bucket: stack.bucket, key, versionId, size: 5 })),
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
  moto = await startMoto({ services: ['sqs', 's3', 'dynamodb'] });
  const common = { region: MOTO_DEPLOYMENT.region, endpoint: moto.endpoint, credentials: CREDENTIALS };
  const [sqs, s3, dynamodb] = [
    new SQSClient(common),
    new S3Client({ ...common, forcePathStyle: true }),
    new DynamoDBClient(common),
  ];
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: stack.names.queueName }));
  for (const key of ['docs/a.txt', 'images/b.png', 'fails/c.txt'])
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: recordOf(key) }));
  await createPipelineStorage({ s3, dynamodb }, { bucket: stack.bucket, table: stack.names.tableName });
  const versioning = { Status: 'Enabled' as const };
  await s3.send(new PutBucketVersioningCommand({ Bucket: stack.bucket, VersioningConfiguration: versioning }));
  for (const key of ['old/one.txt', 'old/two.txt'])
    versions[key] = (await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: key }))).VersionId!;
  [sqs, s3, dynamodb].forEach((c) => c.destroy());
  queueUrl = QueueUrl!;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: moto.endpoint,
    AWS_ENDPOINT_URL_S3: moto.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
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
    ({ code, calls } = await asOperator('tap-redrive', 'tap redrive', ['redrive', '--json']));
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
    const deployed = calls.map(asDeployed);
    // Act
    const checks = checkCalls(stack, deployed, 'operator');
    // Assess
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
  });

  it('is what the README lists as tap redrive’s permissions (default mode)', () => {
    // Prepare
    const listed = listedPermissions('tap redrive', 'With `--local`');
    // Act
    const used = new Set(calls.map((c) => c.action));
    // Assess
    expect(listed).toEqual(used);
  });
});

describe.each([
  ['tap-reconcile-repair', 'tap reconcile --repair', 'tap reconcile', ['reconcile', '--repair', '--json']],
  ['tap-redrive-local', 'tap redrive --local', 'tap redrive', ['redrive', '--local', '--json']],
])('%s recorded through the real SDK', (name, command, heading, args) => {
  let calls: RecordedCall[];
  beforeAll(async () => {
    if (name === 'tap-redrive-local') {
      const sqs = new SQSClient({ region: MOTO_DEPLOYMENT.region, endpoint: moto.endpoint, credentials: CREDENTIALS });
      await sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: recordOf('old/one.txt', versions['old/one.txt']) }),
      );
      sqs.destroy();
    }
    ({ calls } = await asOperator(name, command, [...args, '--bucket', stack.bucket]));
  });

  it('makes calls every one of which is mapped, and is denied none as an operator', () => {
    // Act
    const checks = checkCalls(stack, calls.map(asDeployed), 'operator');
    // Assess
    expect(calls.filter((c) => !c.mapped)).toEqual([]);
    expect(calls.map((c) => c.action)).toEqual(expect.arrayContaining(['s3:GetObjectVersion', 'dynamodb:PutItem']));
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
  });

  it('uses no permission the docs do not list for it', () => {
    // Prepare
    const listed = listedPermissions(heading);
    // Act
    const unlisted = [...new Set(calls.map((c) => c.action ?? ''))].filter((a) => !listed.has(a));
    // Assess
    expect(unlisted).toEqual([]);
  });
});

describe('tap eventbridge enable recorded through the real SDK', () => {
  it('reads and writes the bucket’s notification configuration only, and is denied nothing as an operator', async () => {
    // Act
    const args = ['eventbridge', 'enable', '--bucket', stack.bucket, '--json'];
    const { code, calls } = await asOperator('tap-eventbridge-enable', 'tap eventbridge enable', args);
    const checks = checkCalls(stack, calls.map(asDeployed), 'operator');
    // Assess
    expect(code).toBe(0);
    expect(calls.map((c) => c.operation)).toEqual([
      'GetBucketNotificationConfiguration',
      'PutBucketNotificationConfiguration',
      'GetBucketNotificationConfiguration',
    ]);
    expect([...new Set(calls.map((c) => `${c.action} ${c.resource}`))]).toEqual([
      `s3:GetBucketNotification arn:aws:s3:::${stack.bucket}`,
      `s3:PutBucketNotification arn:aws:s3:::${stack.bucket}`,
    ]);
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
  });
});
