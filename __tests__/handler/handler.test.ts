import 'aws-sdk-client-mock-jest'; // typings of the SDK mock matchers
import { GetObjectCommand, HeadObjectCommand, NotFound } from '@aws-sdk/client-s3';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  body,
  BUCKET,
  conditionFailed,
  ELF_BYTES,
  handlerWith,
  headOf,
  KMS_KEY_ARN,
  mockAws,
  s3Error,
} from '../support/handler';
import { unmarshalledItemBytes } from '../../fixtures/item-size';
import { s3Event, s3Record } from '../../fixtures/s3-events';
import { InvalidEventError, RecordsFailedError } from '../../handler/errors';
import { normalizeSequencer } from '../../handler/sequencer';

const { s3Mock, dynamoMock, clients, putItems } = mockAws();

describe('created objects', () => {
  it('stores one item per version with every metadata attribute', async () => {
    // Prepare
    const { handler, values } = handlerWith(clients);
    const record = s3Record({
      bucket: BUCKET,
      key: 'photos/cat.png',
      versionId: 'v1',
      size: 1234,
      eTag: '0123abcd',
      sequencer: '0055AED6DCD90281E5',
      eventTime: '2026-11-28T10:00:01.000Z',
    });
    // Act
    const summary = await handler(s3Event(record));
    // Assess
    expect(summary).toEqual({
      records: 1,
      stored: 1,
      unreadable: 0,
      marker: 0,
      deleted: 0,
      expired: 0,
      gone: 0,
      transitioned: 0,
      tagged: 0,
      ignored: 0,
      duplicate: 0,
      stale: 0,
    });
    expect(putItems()).toEqual([
      {
        objectKey: 'photos/cat.png',
        versionId: 'v1',
        bucket: BUCKET,
        key: 'photos/cat.png',
        size: 1234,
        eTag: '0123abcd',
        multipart: false,
        contentType: 'image/png',
        detectedContentType: 'image/png',
        contentTypeMismatch: false,
        lastModified: '2026-11-28T10:00:00.000Z',
        storageClass: 'STANDARD',
        storageClassAsOf: '2026-11-29T12:00:00.000Z',
        serverSideEncryption: 'aws:kms',
        kmsKeyArn: KMS_KEY_ARN,
        bucketKeyEnabled: true,
        userMetadata: { uploader: 'alice' },
        checksum: { algorithm: 'CRC64NVME', value: 'AAAAAAAAAAA=', type: 'FULL_OBJECT' },
        extension: 'png',
        eventName: 'ObjectCreated:Put',
        eventTime: '2026-11-28T10:00:01.000Z',
        sequencer: normalizeSequencer('0055AED6DCD90281E5'),
        requester: 'AWS:EXAMPLE',
        sourceIp: '127.0.0.1',
        requestId: 'EXAMPLE',
        status: 'present',
        processedAt: '2026-11-29T12:00:00.000Z',
      },
    ]);
    expect(values.ObjectsStored).toEqual([1]);
  });

  it('reads the exact version with one HEAD and one ranged GET, never the whole object', async () => {
    // Prepare
    const { handler } = handlerWith(clients);
    // Act
    await handler(s3Event(s3Record({ bucket: BUCKET, key: 'a.png', versionId: 'v7', size: 10_000_000 })));
    // Assess
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 1);
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: BUCKET,
      Key: 'a.png',
      VersionId: 'v7',
      ChecksumMode: 'ENABLED',
    });
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(s3Mock).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: BUCKET,
      Key: 'a.png',
      VersionId: 'v7',
      Range: 'bytes=0-4099',
    });
  });

  it('writes conditionally on the sequencer, so retries and reordering cannot go back in time', async () => {
    // Prepare
    const { handler } = handlerWith(clients);
    // Act
    await handler(s3Event(s3Record({ bucket: BUCKET, key: 'a.png', sequencer: 'ABC' })));
    // Assess
    expect(dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'tap-test-file-metadata',
      ConditionExpression: 'attribute_not_exists(objectKey) OR sequencer < :sequencer',
      ExpressionAttributeValues: marshall({ ':sequencer': normalizeSequencer('ABC') }),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('uses the "null" version for unversioned objects and calls S3 without a version id', async () => {
    // Prepare
    const { handler } = handlerWith(clients);
    // Act
    await handler(s3Event(s3Record({ bucket: BUCKET, key: 'plain.txt' })));
    // Assess
    expect(putItems()[0].versionId).toBe('null');
    expect(s3Mock.commandCalls(HeadObjectCommand)[0].args[0].input.VersionId).toBeUndefined();
  });

  it('flags a .jpg whose bytes are an executable', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves(headOf({ ContentType: 'image/jpeg' }));
    s3Mock.on(GetObjectCommand).resolves({ Body: body(ELF_BYTES) });
    const { handler } = handlerWith(clients);
    // Act
    await handler(s3Event(s3Record({ bucket: BUCKET, key: 'holiday.JPG', size: 64 })));
    // Assess
    expect(putItems()[0]).toMatchObject({
      extension: 'jpg',
      contentType: 'image/jpeg',
      detectedContentType: 'application/x-elf',
      contentTypeMismatch: true,
    });
  });

  it('skips the ranged GET for a zero-byte object', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves(headOf({ ContentLength: 0, ContentType: 'application/octet-stream' }));
    const { handler } = handlerWith(clients);
    // Act
    await handler(s3Event(s3Record({ bucket: BUCKET, key: 'empty', size: 0 })));
    // Assess
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
    expect(putItems()[0]).toMatchObject({ size: 0, status: 'present' });
    expect(putItems()[0].detectedContentType).toBeUndefined();
    expect(putItems()[0].extension).toBeUndefined();
  });

  it('treats InvalidRange (an object emptied since the event) as no bytes to sniff', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(s3Error('InvalidRange', 416));
    const { handler } = handlerWith(clients);
    // Act
    await handler(s3Event(s3Record({ bucket: BUCKET, key: 'x.bin', size: 5 })));
    // Assess
    expect(putItems()[0].status).toBe('present');
  });

  it('cuts user metadata past 400 bytes, and says so', async () => {
    // Prepare
    const metadata = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`field${String(i).padStart(2, '0')}`, 'x'.repeat(60)]),
    );
    s3Mock.on(HeadObjectCommand).resolves(headOf({ Metadata: metadata }));
    const { handler } = handlerWith(clients);
    // Act
    await handler(s3Event(s3Record({ bucket: BUCKET, key: 'big-meta.png', size: 10 })));
    // Assess
    const item = putItems()[0];
    expect(item.userMetadataTruncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(item.userMetadata))).toBeLessThanOrEqual(400);
    expect(Object.keys(item.userMetadata)).toEqual(['field00', 'field01', 'field02', 'field03', 'field04']);
    expect(unmarshalledItemBytes(item)).toBeLessThan(2048);
  });

  it('decodes keys: "+" is a space, %2B a plus, and unicode and percent signs survive', async () => {
    // Prepare
    const { handler } = handlerWith(clients);
    const keys = ['my photo+1.png', '100% done.txt', 'ünïcødé/日本語 ファイル.pdf', 'a+b=c&d.txt'];
    // Act
    await handler(s3Event(...keys.map((key) => s3Record({ bucket: BUCKET, key, size: 1 }))));
    // Assess
    expect(
      putItems()
        .map((i) => i.objectKey)
        .sort(),
    ).toEqual([...keys].sort());
  });

  it('processes every record of an event, not just the first, at most maxConcurrency at once', async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    s3Mock.on(HeadObjectCommand).callsFake(async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return headOf();
    });
    const { handler } = handlerWith(clients, { maxConcurrency: 3 });
    // Act
    const summary = await handler(
      s3Event(...Array.from({ length: 10 }, (_, i) => s3Record({ bucket: BUCKET, key: `k${i}.png`, size: 1 }))),
    );
    // Assess
    expect(summary.stored).toBe(10);
    expect(peak).toBe(3);
  });
});

describe('removed objects', () => {
  it('marks the version deleted with an update that keeps its metadata, and reads nothing from S3', async () => {
    // Prepare
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(
      s3Event(
        s3Record({
          bucket: BUCKET,
          key: 'a b.png',
          versionId: 'v1',
          eventName: 'ObjectRemoved:Delete',
          sequencer: '0A',
        }),
      ),
    );
    // Assess
    expect(summary.deleted).toBe(1);
    expect(s3Mock.calls()).toHaveLength(0);
    const update = dynamoMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(unmarshall(update.Key!)).toEqual({ objectKey: 'a b.png', versionId: 'v1' });
    expect(update.UpdateExpression).toBe(
      'SET #status = :status, #bucket = :bucket, #key = :key, #eventName = :eventName, #eventTime = :eventTime, #sequencer = :sequencer, #requester = :requester, #sourceIp = :sourceIp, #requestId = :requestId, #processedAt = :processedAt',
    );
    expect(update.ConditionExpression).toBe('attribute_not_exists(objectKey) OR sequencer < :sequencer');
    expect(unmarshall(update.ExpressionAttributeValues!)[':status']).toBe('deleted');
    expect(values.DeletionsRecorded).toEqual([1]);
  });

  it('records a delete marker as an item of its own version id that says it is one', async () => {
    // Prepare
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(
      s3Event(
        s3Record({
          bucket: BUCKET,
          key: 'a.png',
          versionId: 'marker-1',
          eventName: 'ObjectRemoved:DeleteMarkerCreated',
          sequencer: '0B',
          eventTime: '2026-11-28T10:00:01.000Z',
        }),
      ),
    );
    // Assess
    expect(summary.marker).toBe(1);
    expect(s3Mock.calls()).toHaveLength(0);
    expect(dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 0);
    expect(putItems()).toEqual([
      {
        objectKey: 'a.png',
        versionId: 'marker-1',
        bucket: BUCKET,
        key: 'a.png',
        status: 'present',
        deleteMarker: true,
        eventName: 'ObjectRemoved:DeleteMarkerCreated',
        eventTime: '2026-11-28T10:00:01.000Z',
        sequencer: normalizeSequencer('0B'),
        requester: 'AWS:EXAMPLE',
        sourceIp: '127.0.0.1',
        requestId: 'EXAMPLE',
        processedAt: '2026-11-29T12:00:00.000Z',
        extension: 'png',
      },
    ]);
    expect(values.DeleteMarkersRecorded).toEqual([1]);
  });
});

describe('at-least-once and out-of-order delivery', () => {
  it('counts a redelivered event as a duplicate, not an error', async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(conditionFailed({ sequencer: normalizeSequencer('0055') }));
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(s3Record({ bucket: BUCKET, key: 'a.png', sequencer: '0055' })));
    // Assess
    expect(summary).toMatchObject({ stored: 0, duplicate: 1, stale: 0 });
    expect(values.DuplicateEvents).toEqual([1]);
  });

  it('reads the stored sequencer back when the store does not return it with the failed condition', async () => {
    // Prepare
    dynamoMock
      .on(PutItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    dynamoMock.on(GetItemCommand).resolves({ Item: marshall({ sequencer: normalizeSequencer('0055') }) });
    const { handler } = handlerWith(clients);
    // Act
    const summary = await handler(
      s3Event(s3Record({ bucket: BUCKET, key: 'a.png', versionId: 'v3', sequencer: '0055' })),
    );
    // Assess
    expect(summary).toMatchObject({ duplicate: 1 });
    expect(dynamoMock).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: 'tap-test-file-metadata',
      Key: marshall({ objectKey: 'a.png', versionId: 'v3' }),
      ConsistentRead: true,
    });
  });

  it('counts an event older than the stored one as stale, not an error', async () => {
    // Prepare
    dynamoMock.on(UpdateItemCommand).rejects(conditionFailed({ sequencer: normalizeSequencer('0056') }));
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(
      s3Event(s3Record({ bucket: BUCKET, key: 'a.png', sequencer: '0055', eventName: 'ObjectRemoved:Delete' })),
    );
    // Assess
    expect(summary).toMatchObject({ deleted: 0, stale: 1 });
    expect(values.StaleEvents).toEqual([1]);
  });
});

describe('objects gone before processing', () => {
  it('stores what the event says with status gone when HEAD finds nothing', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
    s3Mock.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404));
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(s3Record({ bucket: BUCKET, key: 'gone.txt', size: 42, eTag: 'abc' })));
    // Assess
    expect(summary.gone).toBe(1);
    expect(putItems()[0]).toMatchObject({ status: 'gone', size: 42, eTag: 'abc', objectKey: 'gone.txt' });
    expect(values.ObjectsGone).toEqual([1]);
  });
});

describe('failures', () => {
  it.each([
    ['AccessDenied', () => s3Error('AccessDenied', 403), 'AccessDenied'],
    ['a KMS key that is disabled', () => s3Error('KMS.DisabledException', 400), 'KMS.DisabledException'],
    ['S3 still failing with 503', () => s3Error('SlowDown', 503), 'SlowDown'],
  ])('stores the other records, then fails naming the record, on %s', async (_case, error, name) => {
    // Prepare
    s3Mock.on(HeadObjectCommand, { Key: 'bad.png' }).rejects(error());
    const { handler, logs, values } = handlerWith(clients);
    const event = s3Event(
      s3Record({ bucket: BUCKET, key: 'good-1.png', size: 1 }),
      s3Record({ bucket: BUCKET, key: 'bad.png', versionId: 'v9', size: 1 }),
      s3Record({ bucket: BUCKET, key: 'good-2.png', size: 1 }),
    );
    // Act
    const failure = handler(event);
    // Assess
    await expect(failure).rejects.toThrow(RecordsFailedError);
    await expect(failure).rejects.toThrow(`1 of 3 record(s) failed: [1] ${BUCKET}/bad.png@v9: ${name}`);
    expect(
      putItems()
        .map((i) => i.key)
        .sort(),
    ).toEqual(['good-1.png', 'good-2.png']);
    expect(logs.find((l) => l.level === 'error')?.attributes).toMatchObject({
      bucket: BUCKET,
      key: 'bad.png',
      versionId: 'v9',
    });
    expect(values.RecordFailures).toEqual([1]);
  });

  it('fails naming the record and the error when DynamoDB rejects its write (throttling here)', async () => {
    // Prepare
    dynamoMock
      .on(PutItemCommand)
      .rejects(
        new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }),
      );
    const { handler } = handlerWith(clients);
    // Act & Assess
    await expect(handler(s3Event(s3Record({ bucket: BUCKET, key: 'a.png', size: 1 })))).rejects.toThrow(
      `1 of 1 record(s) failed: [0] ${BUCKET}/a.png@null: ProvisionedThroughputExceededException: Rate exceeded`,
    );
  });

  it('stores the good records beside a malformed one, then fails naming it', async () => {
    // Prepare
    const { handler } = handlerWith(clients);
    const broken = { ...s3Record({ bucket: BUCKET, key: 'x' }), eventSource: 'aws:sqs' };
    // Act
    const result = handler(s3Event(s3Record({ bucket: BUCKET, key: 'ok.png', size: 1 }), broken));
    // Assess
    await expect(result).rejects.toThrow(
      '1 of 2 record(s) failed: [1] tap-test-uploads/x: InvalidRecordError: eventSource is "aws:sqs", expected "aws:s3"',
    );
    expect(putItems().map((i) => i.key)).toEqual(['ok.png']);
  });

  it('rejects events that are not S3 notifications with a log line, and always publishes metrics', async () => {
    // Prepare
    const { handler, logs, values, published } = handlerWith(clients);
    // Act & Assess
    await expect(handler({ Service: 'Amazon S3', Event: 's3:TestEvent' })).rejects.toThrow(InvalidEventError);
    await expect(handler({})).rejects.toThrow(
      'not an S3 event: no Records array (a notification) or detail-type (an EventBridge event); top-level keys: none',
    );
    expect(logs.filter((l) => l.message === 'Rejected an event that is not an S3 object notification')).toHaveLength(2);
    expect(values.RejectedEvents).toEqual([1, 1]);
    expect(published()).toBe(2);
  });
});
