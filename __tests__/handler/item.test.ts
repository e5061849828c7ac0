// The item contract: its size (one WCU for a typical item), the bounds on what one object can add,
// and what each event S3 sends contributes.
import { KMS_KEY_ARN, s3RecordWith } from '../support/handler';
import { unmarshalledItemBytes } from '../../fixtures/item-size';
import { LIMITS } from '../../handler/env';
import { eventKindOf, parseRecord } from '../../handler/event';
import { boundText, multipartOf, readItem } from '../../handler/item';
import { LOWEST_SEQUENCER } from '../../handler/sequencer';

const version = {
  bucket: 'tap-prod-uploads-123456789012-us-east-1',
  key: 'photos/2026/11/29/IMG_2041.jpg',
  versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH',
};
const cause = {
  eventName: 'ObjectCreated:CompleteMultipartUpload',
  eventTime: '2026-11-29T10:00:01.123Z',
  sequencer: '0055AED6DCD90281E5',
  requester: 'AWS:AROA3XFRBF535PLBIFPI4:alice@example.com',
  sourceIp: '2001:db8:85a3::8a2e:370:7334',
  requestId: 'C3D13FE58DE4C810',
};
const head = {
  $metadata: {},
  ContentLength: 48_234_117,
  ETag: '"9b2cf535f27731c974343645a3985328-6"',
  ContentType: 'image/jpeg',
  LastModified: new Date('2026-11-29T10:00:00.000Z'),
  StorageClass: 'INTELLIGENT_TIERING' as const,
  ServerSideEncryption: 'aws:kms' as const,
  SSEKMSKeyId: KMS_KEY_ARN,
  BucketKeyEnabled: true,
  Metadata: { uploader: 'alice', source: 'mobile-app' },
  ChecksumCRC32: 'VYb8qQ==-6',
  ChecksumType: 'COMPOSITE' as const,
};

describe('item size', () => {
  it('keeps a realistic item with every attribute, tags included, under 1 KB: one WCU', () => {
    // Prepare
    const read = {
      state: 'present' as const,
      head,
      detectedContentType: 'image/jpeg',
      tags: { project: 'atlas', classification: 'internal' },
    };
    // Act
    const item = readItem(version, cause, read, new Date('2026-11-29T10:00:02.000Z'));
    // Assess
    expect(item).toMatchObject({
      requester: cause.requester,
      sourceIp: cause.sourceIp,
      requestId: cause.requestId,
      kmsKeyArn: KMS_KEY_ARN,
      bucketKeyEnabled: true,
      multipart: true,
      partCount: 6,
      checksum: { algorithm: 'CRC32', value: 'VYb8qQ==-6', type: 'COMPOSITE' },
      tags: { classification: 'internal', project: 'atlas' },
    });
    expect(unmarshalledItemBytes(item)).toBeLessThan(1024);
  });

  it('keeps any item under 2 KB apart from its key, whatever one object carries: never 3 WCU', () => {
    // Prepare
    const huge = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'x'.repeat(250)]));
    const text = 'ü'.repeat(2000);
    const read = {
      state: 'present' as const,
      head: { ...head, ContentType: text, Metadata: huge(8) },
      detectedContentType: 'image/jpeg',
      tags: huge(10),
    };
    // Act
    const item = readItem(version, { ...cause, requester: text, sourceIp: text, requestId: text }, read, new Date());
    // Assess
    const { objectKey, key, ...rest } = item;
    expect(unmarshalledItemBytes(rest)).toBeLessThan(2048);
    expect([objectKey, key]).toEqual([version.key, version.key]);
    expect(item).toMatchObject({ userMetadataTruncated: true, tagsTruncated: true });
    expect(Buffer.byteLength(item.requester!)).toBeLessThanOrEqual(LIMITS.maxTextBytes);
    expect(Buffer.byteLength(item.contentType!)).toBeLessThanOrEqual(LIMITS.maxTextBytes);
  });
});

describe('bounded values', () => {
  it('cuts free text at a byte budget without splitting a character', () => {
    // Act & Assess
    expect(boundText('ab€', 4)).toBe('ab');
    expect(boundText('ab€', 5)).toBe('ab€');
    expect(boundText(undefined, 4)).toBeUndefined();
  });

  it('reads multipart uploads and their part count from the ETag', () => {
    // Act & Assess
    expect(multipartOf('9b2cf535f27731c974343645a3985328-12')).toEqual({ multipart: true, partCount: 12 });
    expect(multipartOf('9b2cf535f27731c974343645a3985328')).toEqual({ multipart: false });
    expect(multipartOf(undefined)).toEqual({});
  });
});

describe('what each event S3 sends contributes', () => {
  it.each([
    ['ObjectCreated:CompleteMultipartUpload', 'created'],
    ['ObjectRemoved:Delete', 'deleted'],
    ['ObjectRemoved:DeleteMarkerCreated', 'marker'],
    ['LifecycleExpiration:Delete', 'expired'],
    ['LifecycleExpiration:DeleteMarkerCreated', 'marker'],
    ['LifecycleTransition', 'storageClass'],
    ['IntelligentTiering', 'storageClass'],
    ['ObjectRestore:Completed', 'restored'],
    ['ObjectTagging:Put', 'tags'],
    ['ObjectTagging:Delete', 'tags'],
    ['ObjectRestore:Post', undefined],
    ['ObjectAcl:Put', undefined],
    ['toString', undefined],
  ])('knows %s as %s', (eventName, kind) => {
    // Act & Assess
    expect(eventKindOf(eventName)).toBe(kind);
  });

  it('takes requester, source IP and request id from every record', () => {
    // Prepare
    const record = s3RecordWith({ bucket: 'b-1', key: 'k', sequencer: '0A' });
    // Act
    const event = parseRecord(record, 0);
    // Assess
    expect(event).toMatchObject({ requester: 'AWS:EXAMPLE', sourceIp: '127.0.0.1', requestId: 'EXAMPLE' });
  });

  it('takes the destination of a lifecycle transition, which has no sequencer', () => {
    // Prepare
    const record = s3RecordWith(
      { bucket: 'b-1', key: 'k', eventName: 'LifecycleTransition', sequencer: null },
      { lifecycleEventData: { transitionEventData: { destinationStorageClass: 'DEEP_ARCHIVE' } } },
    );
    // Act
    const event = parseRecord(record, 0);
    // Assess
    expect(event).toMatchObject({ kind: 'storageClass', storageClass: 'DEEP_ARCHIVE', sequencer: LOWEST_SEQUENCER });
    expect(event.archiveTier).toBeUndefined();
  });

  it("takes an Intelligent-Tiering event's archive tier", () => {
    // Prepare
    const record = s3RecordWith(
      { bucket: 'b-1', key: 'k', eventName: 'IntelligentTiering', sequencer: null },
      { intelligentTieringEventData: { destinationAccessTier: 'ARCHIVE_ACCESS' } },
    );
    // Act
    const event = parseRecord(record, 0);
    // Assess
    expect(event).toMatchObject({ storageClass: 'INTELLIGENT_TIERING', archiveTier: 'ARCHIVE_ACCESS' });
  });

  it('takes how long a restored copy lasts, and ignores a sequencer S3 does not order restores by', () => {
    // Prepare
    const record = s3RecordWith(
      { bucket: 'b-1', key: 'k', eventName: 'ObjectRestore:Completed', sequencer: 'FF' },
      {
        glacierEventData: {
          restoreEventData: {
            lifecycleRestorationExpiryTime: '2027-01-12T00:00:00.000Z',
            lifecycleRestoreStorageClass: 'GLACIER',
          },
        },
      },
    );
    // Act
    const event = parseRecord(record, 0);
    // Assess
    expect(event).toMatchObject({
      kind: 'restored',
      restoredUntil: '2027-01-12T00:00:00.000Z',
      sequencer: LOWEST_SEQUENCER,
    });
  });
});
