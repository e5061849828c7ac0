// The EventBridge events S3 sends, as a Lambda target receives them (one per invocation): read into
// the same records, and written as the same items, as the S3 notifications for the same changes.
import 'aws-sdk-client-mock-jest'; // typings of the SDK mock matchers
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { BUCKET, handlerWith, mockAws, s3RecordWith, TEST_CONFIG } from '../support/handler';
import { encodeEventKey, s3Event } from '../../fixtures/s3-events';
import { parseS3Event } from '../../handler/event';
import { RecordsFailedError } from '../../handler/errors';
import { LOWEST_SEQUENCER, normalizeSequencer } from '../../handler/sequencer';

const { s3Mock, dynamoMock, clients } = mockAws();
/** The handler as deployed: BUCKET_NAME set, so an event for another bucket fails. */
const deployed = (config = {}) => handlerWith(clients, {}, { ...TEST_CONFIG, bucketName: BUCKET, ...config });

// The examples of https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html, as they are.
const DOC_BUCKET = 'amzn-s3-demo-bucket1';
const envelope = { version: '0', source: 'aws.s3', account: '111122223333', time: '2021-11-12T00:00:00Z' };
const documented = {
  created: {
    ...envelope,
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': 'Object Created',
    region: 'ca-central-1',
    resources: [`arn:aws:s3:::${DOC_BUCKET}`],
    detail: {
      version: '0',
      bucket: { name: DOC_BUCKET },
      object: {
        key: 'example-key',
        size: 5,
        etag: 'b1946ac92492d2347c6235b4d2611184',
        'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
        sequencer: '617f08299329d189',
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      'source-ip-address': '1.2.3.4',
      reason: 'PutObject',
    },
  },
  deleted: {
    ...envelope,
    id: '2ee9cc15-d022-99ea-1fb8-1b1bac4850f9',
    'detail-type': 'Object Deleted',
    region: 'ca-central-1',
    resources: [`arn:aws:s3:::${DOC_BUCKET}`],
    detail: {
      version: '0',
      bucket: { name: DOC_BUCKET },
      object: {
        key: 'example-key',
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        'version-id': '1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF',
        sequencer: '617f0837b476e463',
      },
      'request-id': '0BH729840619AG5K',
      requester: '123456789012',
      'source-ip-address': '1.2.3.4',
      reason: 'DeleteObject',
      'deletion-type': 'Delete Marker Created',
    },
  },
  expired: {
    ...envelope,
    id: 'ad1de317-e409-eba2-9552-30113f8d88e3',
    'detail-type': 'Object Deleted',
    region: 'ca-central-1',
    resources: [`arn:aws:s3:::${DOC_BUCKET}`],
    detail: {
      version: '0',
      bucket: { name: DOC_BUCKET },
      object: {
        key: 'example-key',
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        'version-id': 'mtB0cV.jejK63XkRNceanNMC.qXPWLeK',
        sequencer: '617b398000000000',
      },
      'request-id': '20EB74C14654DC47',
      requester: 's3.amazonaws.com',
      reason: 'Lifecycle Expiration',
      'deletion-type': 'Delete Marker Created',
    },
  },
  restored: {
    ...envelope,
    id: '6924de0d-13e2-6bbf-c0c1-b903b753565e',
    'detail-type': 'Object Restore Completed',
    region: 'ca-central-1',
    resources: [`arn:aws:s3:::${DOC_BUCKET}`],
    detail: {
      version: '0',
      bucket: { name: DOC_BUCKET },
      object: {
        key: 'example-key',
        size: 5,
        etag: 'b1946ac92492d2347c6235b4d2611184',
        'version-id': 'KKsjUC1.6gIjqtvhfg5AdMI0eCePIiT3',
      },
      'request-id': '189F19CB7FB1B6A4',
      requester: 's3.amazonaws.com',
      'restore-expiry-time': '2021-11-13T00:00:00Z',
      'source-storage-class': 'GLACIER',
    },
  },
};

describe('the EventBridge events S3 documents', () => {
  it.each([
    [
      'Object Created',
      documented.created,
      {
        kind: 'created',
        eventName: 'ObjectCreated:Put',
        versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
        sequencer: normalizeSequencer('617f08299329d189'),
        size: 5,
        eTag: 'b1946ac92492d2347c6235b4d2611184',
        requester: '123456789012',
        sourceIp: '1.2.3.4',
        requestId: 'N4N7GDK58NMKJ12R',
      },
    ],
    [
      'Object Deleted (DeleteObject)',
      documented.deleted,
      {
        kind: 'marker',
        eventName: 'ObjectRemoved:DeleteMarkerCreated',
        versionId: '1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF',
        sequencer: normalizeSequencer('617f0837b476e463'),
        requester: '123456789012',
        sourceIp: '1.2.3.4',
      },
    ],
    [
      'Object Deleted (lifecycle expiration)',
      documented.expired,
      {
        kind: 'marker',
        eventName: 'LifecycleExpiration:DeleteMarkerCreated',
        versionId: 'mtB0cV.jejK63XkRNceanNMC.qXPWLeK',
        sequencer: normalizeSequencer('617b398000000000'),
        requester: 's3.amazonaws.com',
        sourceIp: undefined,
      },
    ],
    [
      'Object Restore Completed',
      documented.restored,
      {
        kind: 'restored',
        eventName: 'ObjectRestore:Completed',
        versionId: 'KKsjUC1.6gIjqtvhfg5AdMI0eCePIiT3',
        sequencer: LOWEST_SEQUENCER,
        restoredUntil: '2021-11-13T00:00:00.000Z',
      },
    ],
  ])('reads the %s example as the record its notification gives', (_, event, expected) => {
    // Act
    const parsed = parseS3Event(event, DOC_BUCKET);
    // Assess
    expect(parsed.invalid).toEqual([]);
    expect(parsed.records).toEqual([
      expect.objectContaining({
        index: 0,
        bucket: DOC_BUCKET,
        key: 'example-key',
        hasVersionId: true,
        eventTime: '2021-11-12T00:00:00.000Z',
        ...expected,
      }),
    ]);
  });

  it.each([
    ['Object Created', { reason: 'PutObject' }, 'ObjectCreated:Put', 'created'],
    ['Object Created', { reason: 'POST Object' }, 'ObjectCreated:Post', 'created'],
    ['Object Created', { reason: 'CopyObject' }, 'ObjectCreated:Copy', 'created'],
    ['Object Created', { reason: 'CompleteMultipartUpload' }, 'ObjectCreated:CompleteMultipartUpload', 'created'],
    ['Object Created', { reason: 'ObjectCreated' }, 'ObjectCreated:ObjectCreated', 'created'],
    [
      'Object Deleted',
      { reason: 'DeleteObject', 'deletion-type': 'Permanently Deleted' },
      'ObjectRemoved:Delete',
      'deleted',
    ],
    [
      'Object Deleted',
      { reason: 'DeleteObject', 'deletion-type': 'Delete Marker Created' },
      'ObjectRemoved:DeleteMarkerCreated',
      'marker',
    ],
    [
      'Object Deleted',
      { reason: 'Lifecycle Expiration', 'deletion-type': 'Permanently Deleted' },
      'LifecycleExpiration:Delete',
      'expired',
    ],
    [
      'Object Deleted',
      { reason: 'Lifecycle Expiration', 'deletion-type': 'Delete Marker Created' },
      'LifecycleExpiration:DeleteMarkerCreated',
      'marker',
    ],
    ['Object Restore Completed', {}, 'ObjectRestore:Completed', 'restored'],
    ['Object Storage Class Changed', { 'destination-storage-class': 'GLACIER' }, 'LifecycleTransition', 'storageClass'],
    [
      'Object Access Tier Changed',
      { 'destination-access-tier': 'ARCHIVE_ACCESS' },
      'IntelligentTiering',
      'storageClass',
    ],
    ['Object Tags Added', {}, 'ObjectTagging:Put', 'tags'],
    ['Object Tags Deleted', {}, 'ObjectTagging:Delete', 'tags'],
  ])('maps %s %j to S3 event %s (%s)', (detailType, detail, eventName, kind) => {
    // Act
    const [record] = parseS3Event(bridged(detailType, detail)).records;
    // Assess
    expect(record).toMatchObject({ eventName, kind });
  });
});

// One object version, its change reported both ways.
const KEY = 'dir/ünï côde+1 (copy).png';
const NOTIFIED_AT = '2026-11-29T11:00:00.000Z';
const WHO = { requester: 'AWS:AIDAEXAMPLE', sourceIp: '203.0.113.7', requestId: 'REQ123EXAMPLE' };

/** An EventBridge event from S3 for BUCKET/KEY version v1: the detail's object and fields, with `detail` over them. */
function bridged(detailType: string, detail: Record<string, unknown> = {}, key = encodeEventKey(KEY)) {
  const sequenced = detailType === 'Object Created' || detailType === 'Object Deleted';
  return {
    version: '0',
    id: '0d5e1d6c-6e2e-4b65-9d5b-3f1b3c2a1a00',
    'detail-type': detailType,
    source: 'aws.s3',
    account: '123456789012',
    // EventBridge's time has whole seconds.
    time: '2026-11-29T11:00:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${BUCKET}`],
    detail: {
      version: '0',
      bucket: { name: BUCKET },
      object: {
        key,
        size: 1234,
        etag: '0123abcd',
        'version-id': 'v1',
        ...(sequenced ? { sequencer: '0065A1B2C3D4E5F6A7' } : {}),
      },
      'request-id': WHO.requestId,
      requester: WHO.requester,
      'source-ip-address': WHO.sourceIp,
      ...detail,
    },
  };
}

/** The S3 notification of the same change: the same fields where the notification keeps them. */
const notified = (eventName: string, extra: Record<string, unknown> = {}) =>
  s3Event(
    s3RecordWith(
      {
        bucket: BUCKET,
        key: KEY,
        eventName,
        versionId: 'v1',
        size: 1234,
        eTag: '0123abcd',
        eventTime: NOTIFIED_AT,
        sequencer: /^Object(Created|Removed)|^LifecycleExpiration/.test(eventName) ? '0065A1B2C3D4E5F6A7' : null,
      },
      {
        userIdentity: { principalId: WHO.requester },
        requestParameters: { sourceIPAddress: WHO.sourceIp },
        responseElements: { 'x-amz-request-id': WHO.requestId, 'x-amz-id-2': 'EXAMPLE' },
        ...extra,
      },
    ),
  );

/** Every S3 and DynamoDB request the handler sent (their inputs, in order); the history is cleared after. */
function requestsSent() {
  const requests = [...s3Mock.calls(), ...dynamoMock.calls()].map((call) => [
    call.args[0].constructor.name,
    call.args[0].input,
  ]);
  s3Mock.resetHistory();
  dynamoMock.resetHistory();
  return requests;
}

describe('one item contract for both deliveries', () => {
  beforeEach(() => {
    s3Mock.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'team', Value: 'data' }] });
    dynamoMock.on(GetItemCommand).resolves({});
  });

  it.each([
    ['an upload', notified('ObjectCreated:Put'), bridged('Object Created', { reason: 'PutObject' })],
    [
      'a multipart upload',
      notified('ObjectCreated:CompleteMultipartUpload'),
      bridged('Object Created', { reason: 'CompleteMultipartUpload' }),
    ],
    [
      'a delete marker',
      notified('ObjectRemoved:DeleteMarkerCreated'),
      bridged('Object Deleted', { reason: 'DeleteObject', 'deletion-type': 'Delete Marker Created' }),
    ],
    [
      'a permanent delete',
      notified('ObjectRemoved:Delete'),
      bridged('Object Deleted', { reason: 'DeleteObject', 'deletion-type': 'Permanently Deleted' }),
    ],
    [
      'a lifecycle expiration',
      notified('LifecycleExpiration:Delete'),
      bridged('Object Deleted', { reason: 'Lifecycle Expiration', 'deletion-type': 'Permanently Deleted' }),
    ],
    [
      'a lifecycle transition',
      notified('LifecycleTransition', {
        lifecycleEventData: { transitionEventData: { destinationStorageClass: 'GLACIER_IR' } },
      }),
      bridged('Object Storage Class Changed', { 'destination-storage-class': 'GLACIER_IR' }),
    ],
    [
      'an Intelligent-Tiering archive',
      notified('IntelligentTiering', { intelligentTieringEventData: { destinationAccessTier: 'ARCHIVE_ACCESS' } }),
      bridged('Object Access Tier Changed', { 'destination-access-tier': 'ARCHIVE_ACCESS' }),
    ],
    [
      'a completed restore',
      notified('ObjectRestore:Completed', {
        glacierEventData: { restoreEventData: { lifecycleRestorationExpiryTime: '2026-12-01T00:00:00.000Z' } },
      }),
      bridged('Object Restore Completed', { 'restore-expiry-time': '2026-12-01T00:00:00Z' }),
    ],
    ['a tagging', notified('ObjectTagging:Put'), bridged('Object Tags Added')],
    ['a tag removal', notified('ObjectTagging:Delete'), bridged('Object Tags Deleted')],
  ])('sends the same requests, and so writes the same item, for %s', async (_, notification, event) => {
    // Prepare
    const { handler } = deployed({ recordObjectTags: true });
    await handler(notification);
    const fromNotification = requestsSent();
    // Act
    const summary = await handler(event);
    // Assess
    expect(requestsSent()).toEqual(fromNotification);
    expect(fromNotification.length).toBeGreaterThan(0);
    expect(summary.records).toBe(1);
  });

  it('keeps a key with spaces and non-ASCII characters whether S3 encodes it or sends it as it is (moto)', async () => {
    // Prepare
    const key = 'dir/ünï côde 1 (copy).png';
    const { handler } = deployed();
    await handler(bridged('Object Created', { reason: 'PutObject' }, encodeEventKey(key)));
    const encoded = requestsSent();
    // Act
    await handler(bridged('Object Created', { reason: 'PutObject' }, key));
    // Assess
    expect(requestsSent()).toEqual(encoded);
    expect(encoded).toContainEqual(['HeadObjectCommand', expect.objectContaining({ Key: key, VersionId: 'v1' })]);
  });
});

describe('events the function does not record', () => {
  it.each([
    [
      'an EventBridge event for another bucket',
      { ...bridged('Object Created', { reason: 'PutObject', bucket: { name: 'someone-elses-bucket' } }) },
      `[0] someone-elses-bucket/${encodeEventKey(KEY)}: InvalidRecordError: detail.bucket.name "someone-elses-bucket" is not this function's bucket "${BUCKET}" (BUCKET_NAME)`,
    ],
    [
      'a notification for another bucket',
      s3Event(s3RecordWith({ bucket: 'someone-elses-bucket', key: 'a.png', sequencer: '0A' })),
      `[0] someone-elses-bucket/a.png: InvalidRecordError: s3.bucket.name "someone-elses-bucket" is not this function's bucket "${BUCKET}" (BUCKET_NAME)`,
    ],
    [
      'an event from another source',
      { ...bridged('EC2 Instance State-change Notification'), source: 'aws.ec2', id: 'ec2-event-1', detail: {} },
      '[0] event ec2-event-1: InvalidRecordError: source is "aws.ec2", expected "aws.s3"',
    ],
    [
      'a deletion that does not say what it deleted',
      bridged('Object Deleted', { reason: 'ObjectRemoved' }),
      'InvalidRecordError: detail.deletion-type undefined is not "Permanently Deleted" or "Delete Marker Created"',
    ],
    [
      'a storage class change without its class',
      bridged('Object Storage Class Changed'),
      'InvalidRecordError: detail.destination-storage-class is missing',
    ],
  ])('fails %s, naming it, so that it ends in the failure queue', async (_, event, reason) => {
    // Prepare
    const { handler, values } = deployed();
    // Act
    const result = handler(event);
    // Assess
    await expect(result).rejects.toThrow(RecordsFailedError);
    await expect(result).rejects.toThrow('1 of 1 record(s) failed: [0] ');
    await expect(result).rejects.toThrow(reason);
    expect(values.RecordFailures).toEqual([1]);
    expect(s3Mock.calls()).toHaveLength(0);
    expect(dynamoMock.calls()).toHaveLength(0);
  });

  it.each(['Object ACL Updated', 'Object Restore Initiated', 'Object Restore Expired'])(
    'logs and skips %s, which the stack does not subscribe to, without failing the invocation',
    async (detailType) => {
      // Prepare
      const { handler, logs, values } = deployed();
      // Act
      const summary = await handler(bridged(detailType));
      // Assess
      expect(summary).toMatchObject({ records: 1, ignored: 1, stored: 0 });
      expect(values.IgnoredEvents).toEqual([1]);
      expect(logs).toContainEqual({
        level: 'warn',
        message: 'Skipped an event the stack does not subscribe to',
        attributes: {
          index: 0,
          record: `${BUCKET}/${encodeEventKey(KEY)}`,
          reason: `detail-type "${detailType}" is not one the stack subscribes to`,
        },
      });
      expect(s3Mock.calls()).toHaveLength(0);
      expect(dynamoMock.calls()).toHaveLength(0);
    },
  );

  it('counts a tagging event as ignored without RECORD_OBJECT_TAGS, as it does a notified one', async () => {
    // Prepare
    const { handler } = deployed();
    // Act
    const summary = await handler(bridged('Object Tags Added'));
    // Assess
    expect(summary).toMatchObject({ records: 1, ignored: 1 });
    expect(s3Mock.calls()).toHaveLength(0);
  });
});
