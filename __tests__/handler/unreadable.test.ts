// Versions that exist but cannot be read: recorded once with their reason, never retried. Each case
// is mocked with the error S3 sends for it, shaped as SDK v3 builds it.
import 'aws-sdk-client-mock-jest'; // typings of the SDK mock matchers
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  archived,
  BUCKET,
  conditionFailed,
  handlerWith,
  headOf,
  KMS_KEY_ARN,
  mockAws,
  s3Error,
} from '../support/handler';
import { s3Event, s3Record } from '../../fixtures/s3-events';
import { RecordsFailedError } from '../../handler/errors';
import { normalizeSequencer } from '../../handler/sequencer';

const { s3Mock, dynamoMock, clients, putItems } = mockAws();

/** HEAD of a version without the key it was written with: a bare 400, which SDK v3 names "Unknown". */
const bareHeadError = (status: 400 | 403) => s3Error('Unknown', status, 'UnknownError');
const SSE_C_MESSAGE =
  'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.';
const KMS_DENIED_MESSAGE =
  'User: arn:aws:sts::123456789012:assumed-role/tap-dev-metadata-extractor-us-east-1/tap is not authorized to perform: kms:Decrypt on resource: ' +
  KMS_KEY_ARN +
  ' because no identity-based policy allows the kms:Decrypt action';

const record = (key: string, size = 1234) =>
  s3Record({ bucket: BUCKET, key, versionId: 'v1', size, eTag: 'abcd-3', sequencer: '0A' });

describe('versions that exist but cannot be read', () => {
  it.each([
    ['GLACIER', { StorageClass: 'GLACIER' }, archived('GLACIER'), { storageClass: 'GLACIER' }],
    ['DEEP_ARCHIVE', { StorageClass: 'DEEP_ARCHIVE' }, archived('DEEP_ARCHIVE'), { storageClass: 'DEEP_ARCHIVE' }],
    [
      'INTELLIGENT_TIERING in the Archive Access tier',
      { StorageClass: 'INTELLIGENT_TIERING', ArchiveStatus: 'ARCHIVE_ACCESS' },
      archived('INTELLIGENT_TIERING', 'ARCHIVE_ACCESS'),
      { storageClass: 'INTELLIGENT_TIERING', archiveTier: 'ARCHIVE_ACCESS' },
    ],
  ])('records a version in %s as unreadable with all HEAD gives', async (_case, head, getError, expected) => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves(headOf(head));
    s3Mock.on(GetObjectCommand).rejects(getError);
    const { handler, values, logs } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(record('cold/scan.png')));
    // Assess
    expect(summary).toMatchObject({ records: 1, unreadable: 1, stored: 0 });
    expect(putItems()[0]).toMatchObject({
      status: 'unreadable',
      unreadableReason: 'archived-storage-class',
      size: 1234,
      eTag: '0123abcd',
      contentType: 'image/png',
      kmsKeyArn: KMS_KEY_ARN,
      userMetadata: { uploader: 'alice' },
      sequencer: normalizeSequencer('0A'),
      ...expected,
    });
    expect(putItems()[0].detectedContentType).toBeUndefined();
    expect(values.UnreadableObjects).toEqual([1]);
    expect(logs.find((l) => l.level === 'warn')?.attributes).toMatchObject({
      key: 'cold/scan.png',
      unreadableReason: 'archived-storage-class',
    });
  });

  it('asks GET why the HEAD of a zero-byte version was refused, and records SSE-C', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(bareHeadError(400));
    s3Mock.on(GetObjectCommand).rejects(s3Error('InvalidRequest', 400, SSE_C_MESSAGE));
    const { handler } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(record('empty-secret', 0)));
    // Assess
    expect(summary).toMatchObject({ unreadable: 1 });
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(putItems()[0]).toMatchObject({ unreadableReason: 'sse-c', size: 0 });
  });

  // Without HEAD, the item keeps what the event says; with it, all HEAD gives.
  const fromEvent = { eTag: 'abcd-3', multipart: true, partCount: 3, requester: 'AWS:EXAMPLE' };
  const fromHead = { eTag: '0123abcd', kmsKeyArn: KMS_KEY_ARN, serverSideEncryption: 'aws:kms' };
  it.each([
    [
      'a customer-provided key (SSE-C)',
      bareHeadError(400),
      s3Error('InvalidRequest', 400, SSE_C_MESSAGE),
      { unreadableReason: 'sse-c', ...fromEvent },
    ],
    [
      'a KMS key it may not use: a plain AccessDenied on GET after HEAD of an SSE-KMS version worked',
      undefined,
      s3Error('AccessDenied', 403, 'Access Denied'),
      { unreadableReason: 'kms-access-denied', ...fromHead },
    ],
    [
      'a KMS key it may not use: an AccessDenied naming kms:Decrypt, HEAD refused too',
      bareHeadError(403),
      s3Error('AccessDenied', 403, KMS_DENIED_MESSAGE),
      { unreadableReason: 'kms-access-denied', ...fromEvent },
    ],
    [
      'a KMS key it may not use: the ciphertext refers to a key it may not access',
      undefined,
      s3Error(
        'AccessDenied',
        403,
        'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.',
      ),
      { unreadableReason: 'kms-access-denied', ...fromHead },
    ],
    [
      'a KMS key it may not use: KMS.AccessDeniedException',
      undefined,
      s3Error('KMS.AccessDeniedException', 400),
      { unreadableReason: 'kms-access-denied', ...fromHead },
    ],
    [
      'a deleted KMS key (KMS.NotFoundException)',
      undefined,
      s3Error('KMS.NotFoundException', 400, 'Invalid keyId'),
      { unreadableReason: 'kms-access-denied', ...fromHead },
    ],
  ])('records a version written with %s as unreadable', async (_case, headError, getError, expected) => {
    // Prepare
    if (headError) s3Mock.on(HeadObjectCommand).rejects(headError);
    s3Mock.on(GetObjectCommand).rejects(getError);
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(record('locked.png')));
    // Assess
    expect(summary).toMatchObject({ unreadable: 1 });
    expect(putItems()[0]).toMatchObject({
      status: 'unreadable',
      size: 1234,
      sequencer: normalizeSequencer('0A'),
      ...expected,
    });
    expect(putItems()[0].storageClass).toBe(headError ? undefined : 'STANDARD');
    expect(values.UnreadableObjects).toEqual([1]);
  });

  it('records an unreadable version once: its redelivery is a duplicate, not another unreadable object', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(archived('GLACIER'));
    dynamoMock.on(PutItemCommand).rejects(conditionFailed({ sequencer: normalizeSequencer('0A') }));
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(record('cold/scan.png')));
    // Assess
    expect(summary).toMatchObject({ unreadable: 0, duplicate: 1 });
    expect(values.UnreadableObjects).toBeUndefined();
  });
});

describe('failures that may pass: the record fails and is retried', () => {
  it.each([
    ['a disabled KMS key (it can be enabled again)', undefined, s3Error('KMS.DisabledException', 400)],
    ['a KMS key pending deletion (it can be cancelled)', undefined, s3Error('KMS.KMSInvalidStateException', 400)],
    [
      'a plain AccessDenied on GET of a version not encrypted with KMS',
      { ServerSideEncryption: 'AES256', SSEKMSKeyId: undefined },
      s3Error('AccessDenied', 403, 'Access Denied'),
    ],
    ['GET throttled', undefined, s3Error('SlowDown', 503)],
    ['another InvalidRequest', undefined, s3Error('InvalidRequest', 400, 'Invalid version id specified')],
  ])('%s', async (_case, head, getError) => {
    // Prepare
    if (head) s3Mock.on(HeadObjectCommand).resolves(headOf(head));
    s3Mock.on(GetObjectCommand).rejects(getError);
    const { handler, values } = handlerWith(clients);
    // Act
    const result = handler(s3Event(record('flaky.png')));
    // Assess
    await expect(result).rejects.toThrow(RecordsFailedError);
    await expect(result).rejects.toThrow(`[0] ${BUCKET}/flaky.png@v1: ${getError.name}`);
    expect(putItems()).toEqual([]);
    expect(values.UnreadableObjects).toBeUndefined();
  });

  it.each([
    ['HEAD refused without a reason GET could give', bareHeadError(403), s3Error('AccessDenied', 403, 'Access Denied')],
    ['HEAD failing with 503 while GET says archived', s3Error('ServiceUnavailable', 503), archived('GLACIER')],
  ])('fails on %s, naming the HEAD error', async (_case, headError, getError) => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(headError);
    s3Mock.on(GetObjectCommand).rejects(getError);
    const { handler } = handlerWith(clients);
    // Act & Assess
    await expect(handler(s3Event(record('flaky.png')))).rejects.toThrow(
      `1 of 1 record(s) failed: [0] ${BUCKET}/flaky.png@v1: ${headError.name}`,
    );
    expect(putItems()).toEqual([]);
  });
});
