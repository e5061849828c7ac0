// Every path of the real handler (createHandler, the code the bundle is built from), S3 Batch Operations
// tasks among them, driven in-process with real SDK clients whose only fake part is the wire: each answer
// is what S3 or DynamoDB sends for that path (a 404 HEAD, a 403 InvalidObjectState GET, a failed condition
// without the old item...). The recorder sits in the clients, so each path yields the exact calls, ARNs and
// request context the deployed function sends for it, over https to AWS's endpoints, with the stack's names.
import { Readable } from 'node:stream';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { S3EventRecord } from 'aws-lambda';
import { readConfig } from '../../../handler/env';
import { createHandler, Outcome } from '../../../handler/records';
import { functionEnvironment } from '../../../config';
import { batchEvent } from '../../../fixtures/batch-events';
import { s3Record } from '../../../fixtures/s3-events';
import { SSE_C_MESSAGE, KMS_DENIED_MESSAGE } from '../faults';
import { recordCalls, RecordedCall } from './recorder';
import { recordOptionsFor, StackUnderProof } from './proof';

type Answer = { status: number; headers?: Readonly<Record<string, string>>; body?: string | Buffer };
type Answers = (operation: string) => Answer;
/**
 * One path: the event that takes it (an S3 event's name, or "batch:<mode>" for a task of a Batch Operations
 * job in that mode), what the handler must report for it, and what S3 and DynamoDB answer (by default:
 * readable, ok). tags: needs recordObjectTags on; versionId null: an event without one (versioning suspended).
 */
export type HandlerPath = { name: string; outcome: Outcome; eventName: string; options?: PathOptions };
type PathOptions = { tags?: true; versionId?: null; extra?: object; s3?: Answers; dynamodb?: Answers };

/** outcome: what the handler reported, the outcome its summary counts or the task's resultString. */
export type DrivenPath = { path: HandlerPath; outcome?: string; calls: RecordedCall[] };
const [KEY, VERSION, SEQUENCER] = ['uploads/photo 1.png', '3HL4kqtJvjVBH40Nrjfkd', '0066F1A2B3C4D5E6F7'];
const TIME = '2026-11-28T10:00:00.000Z';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
const XML = '<?xml version="1.0" encoding="UTF-8"?>';
const xmlType = { 'content-type': 'application/xml' };
const error = (status: number, code: string, message: string): Answer => ({
  status,
  headers: xmlType,
  body: `${XML}\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>R</RequestId></Error>`,
});
const OBJECT_HEADERS = {
  ...{ 'content-length': String(PNG.length), etag: '"0123abcd"', 'content-type': 'image/png' },
  ...{ 'last-modified': 'Sat, 28 Nov 2026 10:00:00 GMT', 'x-amz-version-id': VERSION },
  'x-amz-server-side-encryption': 'aws:kms',
  'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:111122223333:key/k',
  'x-amz-server-side-encryption-bucket-key-enabled': 'true',
};
/** A HEAD answer: headers only; a refusal has no body at all. */
const head = (status = 200, storageClass?: string): Answer =>
  status !== 200
    ? { status }
    : { status, headers: { ...OBJECT_HEADERS, ...(storageClass && { 'x-amz-storage-class': storageClass }) } };
const tags = `${XML}<Tagging><TagSet><Tag><Key>team</Key><Value>blue</Value></Tag></TagSet></Tagging>`;
const range = { 'content-range': `bytes 0-${PNG.length - 1}/${PNG.length}`, 'content-type': 'image/png' };
/** S3 answers `headAnswer` for HEAD, `other` (by default: the tags, or the object's first bytes) for the rest. */
const s3 =
  (headAnswer = head(), other?: Answer): Answers =>
  (op) =>
    op === 'HeadObject'
      ? headAnswer
      : (other ??
        (op === 'GetObjectTagging'
          ? { status: 200, headers: xmlType, body: tags }
          : { status: 206, headers: { 'content-length': String(PNG.length), ...range }, body: PNG }));
const jsonType = { 'content-type': 'application/x-amz-json-1.0' };
const json = (value: unknown, status = 200): Answer => ({ status, headers: jsonType, body: JSON.stringify(value) });
const ok: Answers = () => json({});
const stored = (attributes: Record<string, unknown>) => {
  const item = { objectKey: KEY, versionId: VERSION, sequencer: SEQUENCER, eventName: 'ObjectCreated:Put' };
  return json({ Item: marshall({ ...item, eventTime: TIME, status: 'present', ...attributes }) });
};
const never: Answers = (op) => {
  throw new Error(`this path must not send ${op}`);
};
/** DynamoDB answers GetItem with the item, and `put` (by default: ok) for the rest. */
const withItem =
  (item: Record<string, unknown>, put = json({})): Answers =>
  (op) =>
    op === 'GetItem' ? stored(item) : put;
/** A failed condition without the old item (as some stores answer), so the handler reads it with GetItem. */
const failedPut = (item: Record<string, unknown>) =>
  withItem(item, json({ __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException' }, 400));
function path(name: string, outcome: Outcome, eventName: string, options?: PathOptions): HandlerPath {
  return { name, outcome, eventName, options };
}

/** Every path the handler can take, each with the answers that lead there. */
export const HANDLER_PATHS: readonly HandlerPath[] = [
  path('created (HEAD + ranged GET + conditional PutItem)', 'stored', 'ObjectCreated:Put'),
  path('created, tags on (+ GetObjectTagging)', 'stored', 'ObjectCreated:CompleteMultipartUpload', { tags: true }),
  // The stack's bucket is versioned from the start; an event without a version id comes from a bucket
  // whose versioning was suspended (or an object written before it was on): unversioned requests.
  path('created, no version id (unversioned requests)', 'stored', 'ObjectCreated:Put', { versionId: null }),
  path('gone (HEAD 404, GET NoSuchVersion)', 'gone', 'ObjectCreated:Put', {
    s3: s3(head(404), error(404, 'NoSuchVersion', 'The specified version does not exist.')),
  }),
  path('deleted (conditional UpdateItem)', 'deleted', 'ObjectRemoved:Delete', { s3: never }),
  path('expired (conditional UpdateItem)', 'expired', 'LifecycleExpiration:Delete', { s3: never }),
  path('delete marker (conditional PutItem)', 'marker', 'ObjectRemoved:DeleteMarkerCreated', { s3: never }),
  path('unreadable: archived (GET 403 InvalidObjectState)', 'unreadable', 'ObjectCreated:Put', {
    s3: s3(
      head(200, 'GLACIER'),
      error(403, 'InvalidObjectState', 'The operation is not valid for the object’s storage class'),
    ),
  }),
  path('unreadable: SSE-C (HEAD 400, GET 400 InvalidRequest)', 'unreadable', 'ObjectCreated:Put', {
    s3: s3(head(400), error(400, 'InvalidRequest', SSE_C_MESSAGE)),
  }),
  path('unreadable: KMS key denied (HEAD 403, GET 403 AccessDenied)', 'unreadable', 'ObjectCreated:Put', {
    s3: s3(head(403), error(403, 'AccessDenied', KMS_DENIED_MESSAGE)),
  }),
  path('tags changed, tags on (GetObjectTagging + UpdateItem)', 'tagged', 'ObjectTagging:Put', { tags: true }),
  path('duplicate (failed condition, GetItem finds it)', 'duplicate', 'ObjectCreated:Put', { dynamodb: failedPut({}) }),
  path('stale (failed condition, GetItem finds a newer sequencer)', 'stale', 'ObjectCreated:Put', {
    dynamodb: failedPut({ sequencer: 'FF66F1A2B3C4D5E6F7' }),
  }),
  path('transition (UpdateItem of the storage class)', 'transitioned', 'LifecycleTransition', {
    extra: { lifecycleEventData: { transitionEventData: { destinationStorageClass: 'GLACIER' } } },
    s3: never,
  }),
  path('restore (GetItem, HEAD + GET, PutItem if unchanged)', 'stored', 'ObjectRestore:Completed', {
    extra: { glacierEventData: { restoreEventData: { lifecycleRestorationExpiryTime: '2026-12-05T00:00:00.000Z' } } },
    s3: s3(head(200, 'GLACIER')),
    dynamodb: withItem({ status: 'unreadable', storageClass: 'GLACIER' }),
  }),
  path('Batch Operations backfill task (HEAD + ranged GET + conditional PutItem)', 'stored', 'batch:backfill'),
  path('Batch reprocess task (GetItem, HEAD + GET, PutItem)', 'stored', 'batch:reprocess', { dynamodb: withItem({}) }),
];

/** A request handler answering every request from `answer`, with nothing sent anywhere. */
const wire = (answer: (request: HttpRequest) => Answer) => ({
  handle: async (request: HttpRequest): Promise<{ response: HttpResponse }> => {
    const a = answer(request);
    const body = a.body === undefined ? Buffer.alloc(0) : Buffer.from(a.body);
    const headers = { 'content-length': String(body.length), ...a.headers };
    const response = { statusCode: a.status, headers, body: Readable.from(request.method === 'HEAD' ? [] : [body]) };
    return { response: response as unknown as HttpResponse };
  },
});

const silent = () => undefined;
const logger = { info: silent, warn: silent, error: silent, addContext: silent };
const metrics = { addMetric: silent, publishStoredMetrics: silent };
/** Runs one path through the real handler, configured by the stack's own function environment: what it reported and its calls. */
async function drivePath(path: HandlerPath, stack: StackUnderProof): Promise<DrivenPath> {
  const { region } = stack.deployment;
  const calls: RecordedCall[] = [];
  const client = (service: string, answers: Answers, operationOf: (request: HttpRequest) => string) => ({
    ...{ region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' }, maxAttempts: 1 },
    endpoint: `https://${service}.${region}.amazonaws.com`,
    requestHandler: wire((request) => answers(operationOf(request))),
  });
  // The handler sends HEAD (HeadObject), GET ?tagging (GetObjectTagging) and ranged GET (GetObject).
  const s3Operation = ({ method, query }: HttpRequest) =>
    method === 'HEAD' ? 'HeadObject' : 'tagging' in (query ?? {}) ? 'GetObjectTagging' : 'GetObject';
  const s3Client = new S3Client({ ...client('s3', path.options?.s3 ?? s3(), s3Operation), forcePathStyle: true });
  const target = (request: HttpRequest) => String(request.headers['x-amz-target']).split('.')[1];
  const dynamodb = new DynamoDBClient(client('dynamodb', path.options?.dynamodb ?? ok, target));
  [s3Client, dynamodb].forEach((c) => recordCalls(c, calls, recordOptionsFor(stack)));
  const config = readConfig(functionEnvironment(stack.config, stack.names, stack.bucket));
  const clock = () => new Date('2026-11-29T12:00:00.000Z');
  const deps = { s3: s3Client, dynamodb, config, logger, metrics, clock };
  const handler = createHandler(deps as unknown as Parameters<typeof createHandler>[0]);
  const versionId = path.options?.versionId === null ? undefined : VERSION;
  const event = { bucket: stack.bucket, key: KEY, eventName: path.eventName, versionId, size: PNG.length };
  const mode = /^batch:(.+)$/.exec(path.eventName)?.[1];
  try {
    if (mode) {
      const { results } = await handler(batchEvent([event], { userArguments: { mode } }));
      return { path, outcome: results[0]?.resultString, calls };
    }
    const record = {
      ...s3Record({ ...event, eTag: '0123abcd', sequencer: SEQUENCER, eventTime: TIME }),
      ...path.options?.extra,
    };
    const summary = await handler({ Records: [record as S3EventRecord] });
    return { path, outcome: Object.entries(summary).find(([name, n]) => name !== 'records' && n > 0)?.[0], calls };
  } finally {
    s3Client.destroy();
    dynamodb.destroy();
  }
}

/** Every path the stack's configuration allows (tag paths only when it records tags), one after the other. */
export async function driveAllPaths(stack: StackUnderProof): Promise<DrivenPath[]> {
  const driven: DrivenPath[] = [];
  for (const path of HANDLER_PATHS)
    if (!path.options?.tags || stack.config.recordObjectTags) driven.push(await drivePath(path, stack));
  return driven;
}
