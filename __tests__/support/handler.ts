import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import {
  GetObjectCommand,
  HeadObjectCommand,
  InvalidObjectState,
  S3Client,
  S3ServiceException,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { S3EventRecord } from 'aws-lambda';
import { ObjectEventInput, s3Record } from '../../fixtures/s3-events';
import { HandlerConfig, Limits, LIMITS } from '../../handler/env';
import { createHandler } from '../../handler/records';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

/** A logger and metrics recorder with the shape of Powertools', keeping what they were given. */
export function observability() {
  const logs: LogEntry[] = [];
  const metrics: Record<string, number[]> = {};
  let published = 0;
  const log =
    (level: LogEntry['level']) =>
    (message: string, attributes: Record<string, unknown> = {}) =>
      logs.push({ level, message, attributes });
  const logger = {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    addContext: () => undefined,
  } as unknown as Logger;
  const recorder = {
    addMetric: (name: string, _unit: string, value: number) => (metrics[name] ??= []).push(value),
    publishStoredMetrics: () => void published++,
  } as unknown as Metrics;
  return { logger, metrics: recorder, logs, values: metrics, published: () => published };
}

export const TEST_CONFIG: HandlerConfig = {
  tableName: 'tap-test-file-metadata',
  s3ForcePathStyle: true,
  recordObjectTags: false,
};

/**
 * A handler over `clients` with the fixed LIMITS and TEST_CONFIG, processing at 2026-11-29T12:00:00Z, or
 * others for a test that needs them.
 */
export function handlerWith(
  clients: { s3: S3Client; dynamodb: DynamoDBClient },
  limits: Partial<Limits> = {},
  config: HandlerConfig = TEST_CONFIG,
  at = '2026-11-29T12:00:00.000Z',
) {
  const o = observability();
  const handler = createHandler({
    ...clients,
    config,
    limits: { ...LIMITS, ...limits },
    logger: o.logger,
    metrics: o.metrics,
    clock: () => new Date(at),
  });
  return { handler, ...o };
}

export const BUCKET = 'tap-test-uploads';
export const KMS_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** The part of the SDK's stream body the handler uses. */
export const body = (bytes: Buffer) =>
  ({ transformToByteArray: async () => new Uint8Array(bytes) }) as unknown as GetObjectCommandOutput['Body'];

/** A HEAD response of an SSE-KMS PNG with metadata and a checksum, with `overrides`. */
export const headOf = (overrides: Record<string, unknown> = {}) => ({
  ContentLength: 1234,
  ETag: '"0123abcd"',
  ContentType: 'image/png',
  LastModified: new Date('2026-11-28T10:00:00.000Z'),
  ServerSideEncryption: 'aws:kms' as const,
  SSEKMSKeyId: KMS_KEY_ARN,
  BucketKeyEnabled: true,
  Metadata: { uploader: 'alice' },
  ChecksumCRC64NVME: 'AAAAAAAAAAA=',
  ChecksumType: 'FULL_OBJECT' as const,
  ...overrides,
});

/** S3 mocked for one test file: every test starts with a readable PNG (headOf). Call at the top of the file. */
export function mockS3() {
  const s3Mock = mockClient(S3Client);
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(HeadObjectCommand).resolves(headOf());
    s3Mock.on(GetObjectCommand).resolves({ Body: body(PNG_BYTES) });
  });
  return s3Mock;
}

/**
 * S3 and DynamoDB mocked for one test file: every test starts with a readable PNG (headOf) and writes
 * that succeed. Call at the top of the file.
 */
export function mockAws() {
  const s3Mock = mockS3();
  const dynamoMock = mockClient(DynamoDBClient);
  beforeEach(() => {
    dynamoMock.reset();
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
  });
  return {
    s3Mock,
    dynamoMock,
    clients: { s3: new S3Client({ region: 'us-east-1' }), dynamodb: new DynamoDBClient({ region: 'us-east-1' }) },
    /** The items of every PutItem sent, in order. */
    putItems: () => dynamoMock.commandCalls(PutItemCommand).map((c) => unmarshall(c.args[0].input.Item!)),
  };
}

/**
 * An S3 error the way SDK v3 builds one: its name is the error code of the response body, or "Unknown"
 * with message "UnknownError" for a response without one (every HEAD).
 */
export const s3Error = (name: string, status: number, message = `${name} (${status})`) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message,
  });

/** GET of an archived version: 403 InvalidObjectState, with the storage class (and tier) in the body. */
export const archived = (
  StorageClass: 'GLACIER' | 'DEEP_ARCHIVE' | 'INTELLIGENT_TIERING',
  AccessTier?: 'ARCHIVE_ACCESS' | 'DEEP_ARCHIVE_ACCESS',
) =>
  new InvalidObjectState({
    message: "The operation is not valid for the object's storage class",
    $metadata: { httpStatusCode: 403 },
    StorageClass,
    AccessTier,
  });

/** A failed DynamoDB condition, with the stored item's attributes as DynamoDB returns them (ALL_OLD), or none. */
export const conditionFailed = (stored?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: stored ? marshall(stored) : undefined,
  });

/**
 * An S3 record with what s3Record does not build: the fields of other event types (`extra`, at record
 * level), and no sequencer where S3 sends none (sequencer: null).
 */
export function s3RecordWith(
  input: Omit<ObjectEventInput, 'sequencer'> & { sequencer?: string | null },
  extra: Record<string, unknown> = {},
): S3EventRecord {
  const record = { ...s3Record({ ...input, sequencer: input.sequencer ?? undefined }), ...extra };
  if (input.sequencer === null) delete (record.s3.object as { sequencer?: string }).sequencer;
  return record;
}

/** PNG signature + IHDR start: enough for file-type to say image/png. */
export const PNG_BYTES = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
/** An ELF executable header. */
export const ELF_BYTES = Buffer.concat([Buffer.from('7f454c46020101000000000000000000', 'hex'), Buffer.alloc(48)]);
