// Every path of the real handler (createHandler, the code the bundle is built from), driven in-process
// with real SDK clients whose only fake part is the wire: each answer is what S3 or DynamoDB sends for
// that path (a 404 HEAD, a 403 InvalidObjectState GET, a failed condition without the old item...).
// The recorder sits in the clients, so each path yields the exact calls, ARNs and request context the
// deployed function sends for it, over https to AWS's endpoints, with the stack's own names.
import { Readable } from 'node:stream';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { S3EventRecord } from 'aws-lambda';
import { readConfig } from '../../../handler/env';
import { createHandler, InvocationSummary, Outcome } from '../../../handler/records';
import { functionEnvironment } from '../../../config';
import { s3Record } from '../../../fixtures/s3-events';
import { SSE_C_MESSAGE, KMS_DENIED_MESSAGE } from '../faults';
import { recordCalls, RecordedCall } from './recorder';
import { recordOptionsFor, StackUnderProof } from './proof';

export interface WireAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** One path: the events that take it and what S3 and DynamoDB answer along it. */
export interface HandlerPath {
  readonly name: string;
  /** What the handler must report for it. */
  readonly outcome: Outcome;
  /** Needs a stack with recordObjectTags on. */
  readonly tags?: boolean;
  readonly records: (bucket: string) => S3EventRecord[];
  readonly s3: (operation: string) => WireAnswer;
  readonly dynamodb: (operation: string) => WireAnswer;
}

export interface DrivenPath {
  readonly path: HandlerPath;
  readonly summary: InvocationSummary;
  readonly calls: RecordedCall[];
}

const KEY = 'uploads/photo 1.png';
const VERSION = '3HL4kqtJvjVBH40Nrjfkd';
const SEQUENCER = '0066F1A2B3C4D5E6F7';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

const record = (
  bucket: string,
  eventName: string,
  extra: Record<string, unknown> = {},
  versionId: string | null = VERSION,
) =>
  ({
    ...s3Record({
      bucket,
      key: KEY,
      eventName,
      versionId: versionId ?? undefined,
      size: PNG.length,
      eTag: '0123abcd',
      sequencer: SEQUENCER,
      eventTime: '2026-11-28T10:00:00.000Z',
    }),
    ...extra,
  }) as S3EventRecord;

const xml = (status: number, code: string, message: string): WireAnswer => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>R</RequestId></Error>`,
});
/** A HEAD answer: headers only; a refusal has no body at all. */
const bare = (status: number): WireAnswer => ({ status });
const head = (storageClass?: string): WireAnswer => ({
  status: 200,
  headers: {
    'content-length': String(PNG.length),
    etag: '"0123abcd"',
    'content-type': 'image/png',
    'last-modified': 'Sat, 28 Nov 2026 10:00:00 GMT',
    'x-amz-version-id': VERSION,
    'x-amz-server-side-encryption': 'aws:kms',
    'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:111122223333:key/k',
    'x-amz-server-side-encryption-bucket-key-enabled': 'true',
    ...(storageClass ? { 'x-amz-storage-class': storageClass } : {}),
  },
});
const firstBytes: WireAnswer = {
  status: 206,
  headers: {
    'content-length': String(PNG.length),
    'content-range': `bytes 0-${PNG.length - 1}/${PNG.length}`,
    'content-type': 'image/png',
  },
  body: PNG,
};
const tagging: WireAnswer = {
  status: 200,
  headers: { 'content-type': 'application/xml' },
  body: '<?xml version="1.0" encoding="UTF-8"?><Tagging><TagSet><Tag><Key>team</Key><Value>blue</Value></Tag></TagSet></Tagging>',
};
const readable = (operation: string): WireAnswer =>
  operation === 'HeadObject' ? head() : operation === 'GetObjectTagging' ? tagging : firstBytes;

const json = (value: unknown, status = 200): WireAnswer => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify(value),
});
const ok = () => json({});
/** A failed condition without the old item (as some stores answer), so the handler reads it with GetItem. */
const conditionFailed = json(
  {
    __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
    message: 'The conditional request failed',
  },
  400,
);
const storedItem = (attributes: Record<string, unknown>) =>
  json({
    Item: marshall({
      objectKey: KEY,
      versionId: VERSION,
      sequencer: SEQUENCER,
      eventName: 'ObjectCreated:Put',
      eventTime: '2026-11-28T10:00:00.000Z',
      status: 'present',
      ...attributes,
    }),
  });
const never = (operation: string): WireAnswer => {
  throw new Error(`this path must not send ${operation}`);
};

/** Every path the handler can take, each with the answers that lead there. */
export const HANDLER_PATHS: readonly HandlerPath[] = [
  {
    name: 'created (HEAD + ranged GET + conditional PutItem)',
    outcome: 'stored',
    records: (b) => [record(b, 'ObjectCreated:Put')],
    s3: readable,
    dynamodb: ok,
  },
  {
    name: 'created, tags on (+ GetObjectTagging)',
    outcome: 'stored',
    tags: true,
    records: (b) => [record(b, 'ObjectCreated:CompleteMultipartUpload')],
    s3: readable,
    dynamodb: ok,
  },
  {
    // The stack's bucket is versioned from the start; an event without a version id comes from a bucket
    // whose versioning was suspended (or an object written before it was on): unversioned requests.
    name: 'created, no version id (versioning suspended: s3:GetObject, s3:GetObjectTagging)',
    outcome: 'stored',
    records: (b) => [record(b, 'ObjectCreated:Put', {}, null)],
    s3: readable,
    dynamodb: ok,
  },
  {
    name: 'gone (HEAD 404, GET NoSuchVersion)',
    outcome: 'gone',
    records: (b) => [record(b, 'ObjectCreated:Put')],
    s3: (op) => (op === 'HeadObject' ? bare(404) : xml(404, 'NoSuchVersion', 'The specified version does not exist.')),
    dynamodb: ok,
  },
  {
    name: 'deleted (conditional UpdateItem)',
    outcome: 'deleted',
    records: (b) => [record(b, 'ObjectRemoved:Delete')],
    s3: never,
    dynamodb: ok,
  },
  {
    name: 'expired (conditional UpdateItem)',
    outcome: 'expired',
    records: (b) => [record(b, 'LifecycleExpiration:Delete')],
    s3: never,
    dynamodb: ok,
  },
  {
    name: 'delete marker (conditional PutItem)',
    outcome: 'marker',
    records: (b) => [record(b, 'ObjectRemoved:DeleteMarkerCreated')],
    s3: never,
    dynamodb: ok,
  },
  {
    name: 'unreadable: archived (GET 403 InvalidObjectState)',
    outcome: 'unreadable',
    records: (b) => [record(b, 'ObjectCreated:Put')],
    s3: (op) =>
      op === 'HeadObject'
        ? head('GLACIER')
        : xml(403, 'InvalidObjectState', 'The operation is not valid for the object’s storage class'),
    dynamodb: ok,
  },
  {
    name: 'unreadable: SSE-C (HEAD 400, GET 400 InvalidRequest)',
    outcome: 'unreadable',
    records: (b) => [record(b, 'ObjectCreated:Put')],
    s3: (op) => (op === 'HeadObject' ? bare(400) : xml(400, 'InvalidRequest', SSE_C_MESSAGE)),
    dynamodb: ok,
  },
  {
    name: 'unreadable: KMS key denied (HEAD 403, GET 403 AccessDenied)',
    outcome: 'unreadable',
    records: (b) => [record(b, 'ObjectCreated:Put')],
    s3: (op) => (op === 'HeadObject' ? bare(403) : xml(403, 'AccessDenied', KMS_DENIED_MESSAGE)),
    dynamodb: ok,
  },
  {
    name: 'tags changed, tags on (GetObjectTagging + UpdateItem)',
    outcome: 'tagged',
    tags: true,
    records: (b) => [record(b, 'ObjectTagging:Put')],
    s3: readable,
    dynamodb: ok,
  },
  {
    name: 'duplicate (failed condition without the item: GetItem fallback)',
    outcome: 'duplicate',
    records: (b) => [record(b, 'ObjectCreated:Put')],
    s3: readable,
    dynamodb: (op) => (op === 'PutItem' ? conditionFailed : storedItem({})),
  },
  {
    name: 'stale (failed condition, GetItem finds a newer sequencer)',
    outcome: 'stale',
    records: (b) => [record(b, 'ObjectCreated:Put')],
    s3: readable,
    dynamodb: (op) => (op === 'PutItem' ? conditionFailed : storedItem({ sequencer: 'FF66F1A2B3C4D5E6F7' })),
  },
  {
    name: 'transition (UpdateItem of the storage class)',
    outcome: 'transitioned',
    records: (b) => [
      record(b, 'LifecycleTransition', {
        lifecycleEventData: { transitionEventData: { destinationStorageClass: 'GLACIER' } },
      }),
    ],
    s3: never,
    dynamodb: ok,
  },
  {
    name: 'restore (GetItem, HEAD + GET, PutItem if unchanged)',
    outcome: 'stored',
    records: (b) => [
      record(b, 'ObjectRestore:Completed', {
        glacierEventData: { restoreEventData: { lifecycleRestorationExpiryTime: '2026-12-05T00:00:00.000Z' } },
      }),
    ],
    s3: (op) => (op === 'HeadObject' ? head('GLACIER') : readable(op)),
    dynamodb: (op) => (op === 'GetItem' ? storedItem({ status: 'unreadable', storageClass: 'GLACIER' }) : ok()),
  },
];

/** A request handler answering every request from `answer`, with nothing sent anywhere. */
function wire(answer: (request: HttpRequest) => WireAnswer) {
  return {
    handle: async (request: HttpRequest): Promise<{ response: HttpResponse }> => {
      const a = answer(request);
      const body = a.body === undefined ? Buffer.alloc(0) : Buffer.from(a.body);
      return {
        response: {
          statusCode: a.status,
          reason: undefined,
          headers: { 'content-length': String(body.length), ...a.headers },
          body: Readable.from(request.method === 'HEAD' ? [] : [body]),
        } as unknown as HttpResponse,
      };
    },
  };
}

/** The handler sends HEAD (HeadObject), GET ?tagging (GetObjectTagging) and ranged GET (GetObject). */
const s3OperationOf = (request: HttpRequest) =>
  request.method === 'HEAD' ? 'HeadObject' : 'tagging' in (request.query ?? {}) ? 'GetObjectTagging' : 'GetObject';

const quiet = {
  logger: { info: () => undefined, warn: () => undefined, error: () => undefined, addContext: () => undefined },
  metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
};

/**
 * Runs one path through the real handler, configured by the stack's own function environment, and
 * returns what it reported and the calls it made (own and implied), as the deployed function makes them.
 */
export async function drivePath(path: HandlerPath, stack: StackUnderProof): Promise<DrivenPath> {
  const { deployment: d } = stack;
  const calls: RecordedCall[] = [];
  const options = recordOptionsFor(stack);
  const common = {
    region: d.region,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' },
    maxAttempts: 1,
  };
  const s3 = recordCalls(
    new S3Client({
      ...common,
      endpoint: `https://s3.${d.region}.amazonaws.com`,
      forcePathStyle: true,
      requestHandler: wire((r) => path.s3(s3OperationOf(r))),
    }),
    calls,
    options,
  );
  const dynamodb = recordCalls(
    new DynamoDBClient({
      ...common,
      endpoint: `https://dynamodb.${d.region}.amazonaws.com`,
      requestHandler: wire((r) => path.dynamodb(String(r.headers['x-amz-target']).split('.')[1])),
    }),
    calls,
    options,
  );
  const config = readConfig(functionEnvironment(stack.config, stack.names));
  const handler = createHandler({
    s3,
    dynamodb,
    config,
    logger: quiet.logger as unknown as Logger,
    metrics: quiet.metrics as unknown as Metrics,
    clock: () => new Date('2026-11-29T12:00:00.000Z'),
  });
  try {
    const summary = await handler({ Records: path.records(stack.bucket) });
    return { path, summary, calls };
  } finally {
    s3.destroy();
    dynamodb.destroy();
  }
}

/** Every path the stack's configuration allows (tag paths only when it records tags). */
export async function driveAllPaths(stack: StackUnderProof): Promise<DrivenPath[]> {
  const driven: DrivenPath[] = [];
  for (const path of HANDLER_PATHS.filter((p) => !p.tags || stack.config.recordObjectTags)) {
    driven.push(await drivePath(path, stack));
  }
  return driven;
}
