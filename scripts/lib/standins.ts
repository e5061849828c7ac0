// In-process AWS stand-ins for tests, `npm run local` and the benchmark: s3rver (S3) and dynalite
// (DynamoDB), each on a free loopback port, plus a fault-injecting proxy for throttling tests.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  paginateScan,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import S3rver from 's3rver';
import dynalite from 'dynalite';
import { projectConfig, TABLE_KEY_SCHEMA, TapConfig } from '../../config';
import { HANDLER_BUNDLE } from '../build-handler';

export interface StandIn {
  readonly endpoint: string;
  close(): Promise<void>;
}

export const STANDIN_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const STANDIN_REGION = 'us-east-1';
/** The account the stand-ins' resources are named for (the bucket name carries it). */
export const STANDIN_ACCOUNT_ID = '000000000000';

const listen = (server: http.Server, scheme = 'http'): Promise<string> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });

const closeServer = (server: http.Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });

export async function startS3rver(): Promise<StandIn> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, resetOnClose: true });
  const { port } = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

export async function startDynalite(): Promise<StandIn> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as http.Server;
  const endpoint = await listen(server);
  return { endpoint, close: () => closeServer(server) };
}

/** Clients for the stand-ins, configured as the handler configures its own (path-style S3). */
export function standInClients(s3Endpoint: string, dynamodbEndpoint: string, maxAttempts = 3) {
  const common = { region: STANDIN_REGION, credentials: STANDIN_CREDENTIALS, maxAttempts };
  return {
    s3: new S3Client({ ...common, endpoint: s3Endpoint, forcePathStyle: true }),
    dynamodb: new DynamoDBClient({ ...common, endpoint: dynamodbEndpoint }),
  };
}

/**
 * Creates the metadata table with TapStack's key schema and capacity (from the stack's own
 * configuration, not a second copy of the numbers) and the uploads bucket.
 */
export async function createPipelineStorage(
  clients: { s3: S3Client; dynamodb: DynamoDBClient },
  names: { bucket: string; table: string },
  config: Pick<TapConfig, 'tableReadCapacity' | 'tableWriteCapacity'> = projectConfig(),
) {
  await clients.s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
  await clients.dynamodb.send(
    new CreateTableCommand({
      TableName: names.table,
      BillingMode: 'PROVISIONED',
      ProvisionedThroughput: {
        ReadCapacityUnits: config.tableReadCapacity,
        WriteCapacityUnits: config.tableWriteCapacity,
      },
      KeySchema: [
        { AttributeName: TABLE_KEY_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEY_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: TABLE_KEY_SCHEMA.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE_KEY_SCHEMA.sortKey, AttributeType: 'S' },
      ],
    }),
  );
  await waitUntilTableExists(
    { client: clients.dynamodb, maxWaitTime: 30, minDelay: 1, maxDelay: 2 },
    { TableName: names.table },
  );
}

/** The stored item of one object version (consistent read), or undefined. */
export async function readMetadataItem(
  dynamodb: DynamoDBClient,
  table: string,
  key: string,
  versionId = 'null',
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: table,
      Key: { [TABLE_KEY_SCHEMA.partitionKey]: { S: key }, [TABLE_KEY_SCHEMA.sortKey]: { S: versionId } },
      ConsistentRead: true,
    }),
  );
  return Item ? unmarshall(Item) : undefined;
}

/** Every item of `table`, unmarshalled, page by page; `consistentRead` asks for strongly consistent pages. */
export async function scanItems(
  dynamodb: DynamoDBClient,
  table: string,
  { consistentRead = false } = {},
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const input = { TableName: table, ...(consistentRead ? { ConsistentRead: true } : {}) };
  for await (const page of paginateScan({ client: dynamodb }, input)) {
    items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
  }
  return items;
}

export interface StandInPointers {
  /** One endpoint per service (s3rver and dynalite), or one for every service (moto). */
  readonly endpoints: { readonly s3: string; readonly dynamodb: string } | string;
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Replaces the configured POWERTOOLS_LOG_LEVEL, e.g. WARN to keep a local run readable. */
  readonly logLevel?: string;
  /** Keep the EMF metric lines (the benchmark counts them as log volume); off, they are noise here. */
  readonly emitMetrics?: boolean;
}

/**
 * The function's environment (from functionEnvironment, or as deployed) plus what running it here
 * needs: region, credentials and endpoints of the stand-ins, path-style S3, no EMF metrics unless asked.
 */
export function standInEnvironment(
  functionEnv: Readonly<Record<string, string>>,
  pointers: StandInPointers,
): Record<string, string> {
  const { endpoints, region = STANDIN_REGION, credentials = STANDIN_CREDENTIALS, logLevel } = pointers;
  return {
    ...functionEnv,
    ...(logLevel ? { POWERTOOLS_LOG_LEVEL: logLevel } : {}),
    ...(pointers.emitMetrics ? {} : { POWERTOOLS_METRICS_DISABLED: 'true' }),
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(typeof endpoints === 'string'
      ? { AWS_ENDPOINT_URL: endpoints }
      : { AWS_ENDPOINT_URL_S3: endpoints.s3, AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb }),
    S3_FORCE_PATH_STYLE: 'true',
    // The function runs on nodejs22.x; this machine's Node 20 makes the SDK print a notice that is noise here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * Runs the bundle in a fresh Node process with only `env` (plus PATH), as Lambda would with the
 * function's environment, and returns what the handler returned for `event`.
 */
export async function runBundleInChild(
  event: unknown,
  env: Record<string, string | undefined>,
): Promise<Record<string, number>> {
  const script = `require(${JSON.stringify(HANDLER_BUNDLE)}).handler(JSON.parse(process.argv[1])).then((r) => console.log(JSON.stringify(r)))`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, JSON.stringify(event)], {
    env: { PATH: process.env.PATH, NODE_NO_WARNINGS: '1', ...env },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The request came over TLS (a proxy started with tls: true). */
  readonly secure?: boolean;
  /** The TLS version the client negotiated with the proxy, e.g. "TLSv1.3". */
  readonly tlsProtocol?: string;
}

export interface FaultResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

/** What the stand-in answered to a forwarded request, buffered. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** What a proxy may do besides answering in place of the stand-in (see startFaultProxy). */
export interface ProxyHooks {
  /** The body to forward instead of the one received (the content length follows); undefined keeps it. */
  readonly forwardBody?: (request: ProxiedRequest) => string | undefined;
  /** Sees the stand-in's answer (buffered when this hook is given) and may replace it. */
  readonly answered?: (request: ProxiedRequest, response: UpstreamResponse) => FaultResponse | undefined;
  /**
   * Listen with TLS (a self-signed certificate for 127.0.0.1, made once per process with openssl), so
   * the requests record the transport a client really used; its clients must not verify the certificate.
   */
  readonly tls?: boolean;
}

let loopbackCertificate: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1 (openssl, once per process): loopback proxies only. */
export function selfSignedCertificate(): { key: string; cert: string } {
  if (loopbackCertificate) return loopbackCertificate;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-tls-'));
  try {
    const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    loopbackCertificate = { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
    return loopbackCertificate;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Headers of a response whose body the proxy wrote itself: its own length, no chunking. */
const withLength = (headers: http.IncomingHttpHeaders | Record<string, string>, body: string | Buffer) => {
  const { 'transfer-encoding': _chunked, ...rest } = headers;
  return { ...rest, 'content-length': String(Buffer.byteLength(body)) };
};

/**
 * A proxy in front of a stand-in that answers with `fault(request)` when it returns a response, and
 * forwards the request otherwise: throttling and 5xx on the wire, as the SDK sees them from AWS.
 * `hooks` may rewrite what is forwarded and what comes back (the capacity proxy charges from it).
 * An https target (moto --ssl) is reached without verifying its self-signed certificate.
 */
export async function startFaultProxy(
  target: string,
  fault: (request: ProxiedRequest) => FaultResponse | undefined,
  hooks: ProxyHooks = {},
): Promise<StandIn & { requests: ProxiedRequest[] }> {
  const requests: ProxiedRequest[] = [];
  const send = target.startsWith('https:') ? https.request : http.request;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = Buffer.concat(chunks);
      const socket = req.socket as Partial<TLSSocket>;
      const request = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: received.toString(),
        ...(socket.encrypted ? { secure: true, tlsProtocol: socket.getProtocol?.() ?? undefined } : {}),
      };
      requests.push(request);
      const injected = fault(request);
      if (injected) {
        res.writeHead(injected.status, { 'content-type': 'application/x-amz-json-1.0', ...injected.headers });
        res.end(injected.body);
        return;
      }
      const rewritten = hooks.forwardBody?.(request);
      const body = rewritten === undefined ? received : Buffer.from(rewritten);
      const headers = rewritten === undefined ? req.headers : withLength(req.headers, body);
      const options = { method: req.method, headers, rejectUnauthorized: false };
      const upstream = send(`${target}${req.url}`, options, (up) => {
        if (!hooks.answered) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const answer: Buffer[] = [];
        up.on('data', (c: Buffer) => answer.push(c));
        up.on('end', () => {
          const response = { status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(answer) };
          const replaced = hooks.answered?.(request, response);
          const final = replaced ? { ...replaced, headers: replaced.headers ?? {} } : response;
          res.writeHead(final.status, withLength(final.headers, final.body));
          res.end(final.body);
        });
      });
      upstream.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      upstream.end(body);
    });
  };
  const server = hooks.tls ? https.createServer(selfSignedCertificate(), onRequest) : http.createServer(onRequest);
  const endpoint = await listen(server, hooks.tls ? 'https' : 'http');
  return { endpoint, requests, close: () => closeServer(server) };
}

/** A request id in DynamoDB's form (52 upper-case letters and digits). */
const dynamodbRequestId = () =>
  Array.from(randomBytes(52), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[b % 36]).join('');

/**
 * A DynamoDB error as the service sends it: JSON 1.0 with `__type` (namespace#name) and `message`,
 * the request id and the body's CRC32 in headers, no x-amzn-ErrorType (DynamoDB does not send one).
 */
export function dynamodbError(status: number, type: string, message: string): FaultResponse {
  const body = JSON.stringify({ __type: type, message });
  return {
    status,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': dynamodbRequestId(),
      'x-amz-crc32': String(zlib.crc32(body)),
    },
    body,
  };
}

/** DynamoDB's throttling answer for a provisioned table whose capacity is used up. */
export const dynamodbThrottle = (): FaultResponse =>
  dynamodbError(
    400,
    'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  );

/**
 * An S3 error as the service sends it: REST-XML <Error> with the request ids (in the body and in
 * headers); a HEAD answer has no body at all (the SDK then names the error from the status).
 */
export function s3Error(status: number, code: string, message: string, method = 'GET'): FaultResponse {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const hostId = randomBytes(48).toString('base64');
  return {
    status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'x-amz-id-2': hostId },
    body:
      method === 'HEAD'
        ? ''
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`,
  };
}

/** S3's 503 SlowDown answer. */
export const s3SlowDown = (method?: string): FaultResponse =>
  s3Error(503, 'SlowDown', 'Please reduce your request rate.', method);
