// Calls read off the wire (wire.ts): requests as a proxy sees them, turned back into SDK operations and
// mapped by the one mapping table; and a recording TLS proxy in front of s3rver and dynalite, with the
// SDK's own requests going through it.
import https from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createRecorder } from '../../scripts/lib/iam/recorder';
import { credentialScope, recordingRule, s3Operation, wireCalls, wireOperation } from '../../scripts/lib/iam/wire';
import {
  createPipelineStorage,
  StandIn,
  STANDIN_CREDENTIALS,
  startDynalite,
  startFaultProxy,
  startS3rver,
} from '../../fixtures/standins';

const AUTH = (service: string) => ({
  authorization: `AWS4-HMAC-SHA256 Credential=AKID/20261129/eu-west-1/${service}/aws4_request, SignedHeaders=host, Signature=abc`,
});
const s3Request = (method: string, url: string, headers: Record<string, string> = {}, body = '') => ({
  method,
  url,
  headers: { ...AUTH('s3'), ...headers },
  body,
});

describe('credentialScope', () => {
  it('reads service and region from the Authorization header or a presigned URL', () => {
    // Prepare
    const presigned = { url: '/b/k?X-Amz-Credential=AKID%2F20261129%2Fus-west-2%2Fs3%2Faws4_request', headers: {} };
    // Act
    const [signed, query, unsigned] = [
      credentialScope({ url: '/', headers: AUTH('dynamodb') }),
      credentialScope(presigned),
      credentialScope({ url: '/', headers: {} }),
    ];
    // Assess
    expect([signed, query, unsigned]).toEqual([
      { region: 'eu-west-1', service: 'dynamodb' },
      { region: 'us-west-2', service: 's3' },
      undefined,
    ]);
  });
});

describe('s3Operation', () => {
  it.each([
    ['HEAD', '/b/a%20b.png?versionId=v1', { 'x-amz-checksum-mode': 'ENABLED' }, 'HeadObject'],
    ['GET', '/b/k?x-id=GetObject', { range: 'bytes=0-9' }, 'GetObject'],
    ['GET', '/b/k?tagging&versionId=v1', {}, 'GetObjectTagging'],
    ['PUT', '/b/k?x-id=PutObject', {}, 'PutObject'],
    ['POST', '/b/k?uploads', {}, 'CreateMultipartUpload'],
    ['PUT', '/b/k?partNumber=1&uploadId=u', {}, 'UploadPart'],
    ['POST', '/b/k?uploadId=u', {}, 'CompleteMultipartUpload'],
    ['DELETE', '/b/k?uploadId=u', {}, 'AbortMultipartUpload'],
    ['PUT', '/b/k', { 'x-amz-copy-source': '/src/k' }, 'CopyObject'],
    ['DELETE', '/b/k', {}, 'DeleteObject'],
    ['HEAD', '/b', {}, 'HeadBucket'],
    ['GET', '/b?versions', {}, 'ListObjectVersions'],
    ['GET', '/b?list-type=2&prefix=a', {}, 'ListObjectsV2'],
    ['PUT', '/b?lifecycle', {}, 'PUT ?lifecycle'],
  ])('names %s %s as %s', (method, url, headers, expected) => {
    // Prepare
    const request = s3Request(method, url, headers);
    // Act
    const { operation } = s3Operation(request);
    // Assess
    expect(operation).toBe(expected);
  });

  it('decodes the key and keeps the version id and checksum mode the mapping reads', () => {
    // Prepare
    const request = s3Request('HEAD', '/b/dir/a%20b%2Bc.png?versionId=v1', { 'x-amz-checksum-mode': 'ENABLED' });
    // Act
    const { input } = s3Operation(request);
    // Assess
    expect(input).toEqual({ Bucket: 'b', Key: 'dir/a b+c.png', VersionId: 'v1', ChecksumMode: 'ENABLED' });
  });

  it('keeps the prefix of a listing, which the mapping records as s3:prefix', () => {
    // Prepare
    const request = s3Request('GET', '/b?versions&prefix=docs%2Fa%20b.txt&key-marker=docs%2F&max-keys=1000');
    // Act
    const { operation, input } = s3Operation(request);
    // Assess
    expect(operation).toBe('ListObjectVersions');
    expect(input).toEqual({ Bucket: 'b', Prefix: 'docs/a b.txt' });
  });
});

describe('wireOperation and wireCalls', () => {
  it('reads JSON (X-Amz-Target) and query (Action=) requests', () => {
    // Prepare
    const json = {
      method: 'POST',
      url: '/',
      headers: { ...AUTH('dynamodb'), 'x-amz-target': 'DynamoDB_20120810.PutItem' },
      body: '{"TableName":"t"}',
    };
    const query = {
      method: 'POST',
      url: '/',
      headers: AUTH('sns'),
      body: 'Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%3A1%3At',
    };
    // Act
    const [put, publish] = [wireOperation(json), wireOperation(query)];
    // Assess
    expect(put).toMatchObject({ service: 'dynamodb', operation: 'PutItem', input: { TableName: 't' } });
    expect(publish).toMatchObject({
      service: 'sns',
      operation: 'Publish',
      input: { TopicArn: 'arn:aws:sns:eu-west-1:1:t' },
    });
  });

  it('records the negotiated TLS version as s3:TlsVersion, and nothing for an unsigned request', () => {
    // Prepare
    const head = s3Request('HEAD', '/b/k');
    // Act
    const [call] = wireCalls(head, { secure: true, protocol: 'TLSv1.3' }, { account: '111122223333' });
    const none = wireCalls({ method: 'GET', url: '/', headers: {}, body: '' }, { secure: true }, { account: '1' });
    // Assess
    expect(call).toMatchObject({ action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' });
    expect(call.context).toMatchObject({
      'aws:SecureTransport': 'true',
      's3:TlsVersion': '1.3',
      'aws:RequestedRegion': 'eu-west-1',
    });
    expect(none).toEqual([]);
  });
});

describe('a recording TLS proxy in front of the stand-ins', () => {
  let s3rver: StandIn;
  let dynalite: StandIn;
  beforeAll(async () => {
    [s3rver, dynalite] = await Promise.all([startS3rver(), startDynalite()]);
  });
  afterAll(async () => {
    await Promise.all([s3rver?.close(), dynalite?.close()]);
  });

  it('records the SDK’s calls with the real transport, and forwards them unchanged', async () => {
    // Prepare
    const recorder = createRecorder();
    const rule = recordingRule(recorder, { account: '111122223333' });
    const [s3Proxy, dynamoProxy] = await Promise.all([
      startFaultProxy(s3rver.endpoint, rule, { tls: true }),
      startFaultProxy(dynalite.endpoint, rule, { tls: true }),
    ]);
    // The proxies' certificate is self-signed for 127.0.0.1: not verified, for these loopback clients only.
    const requestHandler = new NodeHttpHandler({ httpsAgent: new https.Agent({ rejectUnauthorized: false }) });
    const common = { region: 'us-east-1', credentials: STANDIN_CREDENTIALS, maxAttempts: 1, requestHandler };
    const s3 = new S3Client({ ...common, endpoint: s3Proxy.endpoint, forcePathStyle: true });
    const dynamodb = new DynamoDBClient({ ...common, endpoint: dynamoProxy.endpoint });
    try {
      await createPipelineStorage({ s3, dynamodb }, { bucket: 'wire-bucket', table: 'wire-table' });
      recorder.clear();
      // Act
      await s3.send(new PutObjectCommand({ Bucket: 'wire-bucket', Key: 'a b.txt', Body: 'hi' }));
      await s3.send(new HeadObjectCommand({ Bucket: 'wire-bucket', Key: 'a b.txt' }));
      const body = await (
        await s3.send(new GetObjectCommand({ Bucket: 'wire-bucket', Key: 'a b.txt' }))
      ).Body?.transformToString();
      await dynamodb.send(
        new PutItemCommand({ TableName: 'wire-table', Item: { objectKey: { S: 'k' }, versionId: { S: 'v' } } }),
      );
      const item = await dynamodb.send(
        new GetItemCommand({ TableName: 'wire-table', Key: { objectKey: { S: 'k' }, versionId: { S: 'v' } } }),
      );
      // Assess
      expect(body).toBe('hi');
      expect(item.Item?.objectKey).toEqual({ S: 'k' });
      expect(recorder.calls.map((c) => `${c.operation} ${c.action} ${c.resource}`)).toEqual([
        'PutObject s3:PutObject arn:aws:s3:::wire-bucket/a b.txt',
        'HeadObject s3:GetObject arn:aws:s3:::wire-bucket/a b.txt',
        'GetObject s3:GetObject arn:aws:s3:::wire-bucket/a b.txt',
        'PutItem dynamodb:PutItem arn:aws:dynamodb:us-east-1:111122223333:table/wire-table',
        'GetItem dynamodb:GetItem arn:aws:dynamodb:us-east-1:111122223333:table/wire-table',
      ]);
      expect(recorder.calls.every((c) => c.context['aws:SecureTransport'] === 'true')).toBe(true);
      expect(recorder.calls[0].context['s3:TlsVersion']).toMatch(/^1\.[23]$/);
    } finally {
      s3.destroy();
      dynamodb.destroy();
      await Promise.all([s3Proxy.close(), dynamoProxy.close()]);
    }
  });
});
