// Every change S3 reports besides uploads: lifecycle expirations, delete markers, storage-class
// transitions, Intelligent-Tiering archive tiers, restores and tagging. Records carry the fields S3
// sends for each (event message structure version 2.3), and no sequencer where S3 documents none.
import 'aws-sdk-client-mock-jest'; // typings of the SDK mock matchers
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  archived,
  BUCKET,
  conditionFailed,
  handlerWith,
  headOf,
  mockAws,
  s3RecordWith,
  TEST_CONFIG,
} from '../support/handler';
import { s3Event } from '../../fixtures/s3-events';
import { LOWEST_SEQUENCER, normalizeSequencer } from '../../handler/sequencer';

const { s3Mock, dynamoMock, clients, putItems } = mockAws();
const updates = () => dynamoMock.commandCalls(UpdateItemCommand).map((c) => c.args[0].input);
const NOW = '2026-11-29T12:00:00.000Z';
const LIFECYCLE = { principalId: 's3.amazonaws.com' };

/** A handler that records tags (RECORD_OBJECT_TAGS=true). */
const handlerWithTags = () => handlerWith(clients, {}, { ...TEST_CONFIG, recordObjectTags: true });

const transition = (destinationStorageClass: string, eventTime = '2026-12-29T00:10:00.000Z') =>
  s3RecordWith(
    {
      bucket: BUCKET,
      key: 'logs/a.json',
      versionId: 'v1',
      eventName: 'LifecycleTransition',
      sequencer: null,
      eventTime,
    },
    { userIdentity: LIFECYCLE, lifecycleEventData: { transitionEventData: { destinationStorageClass } } },
  );

describe('lifecycle expirations and delete markers', () => {
  it('marks a version a lifecycle rule removed as expired, keeping its metadata', async () => {
    // Prepare
    const { handler, values } = handlerWith(clients);
    const expiration = s3RecordWith(
      { bucket: BUCKET, key: 'old.png', versionId: 'v1', eventName: 'LifecycleExpiration:Delete', sequencer: '0C' },
      { userIdentity: LIFECYCLE },
    );
    // Act
    const summary = await handler(s3Event(expiration));
    // Assess
    expect(summary).toMatchObject({ expired: 1, deleted: 0 });
    expect(s3Mock.calls()).toHaveLength(0);
    expect(dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 0);
    const [update] = updates();
    expect(update.ConditionExpression).toBe('attribute_not_exists(objectKey) OR sequencer < :sequencer');
    expect(unmarshall(update.ExpressionAttributeValues!)).toMatchObject({
      ':status': 'expired',
      ':eventName': 'LifecycleExpiration:Delete',
      ':requester': 's3.amazonaws.com',
      ':sequencer': normalizeSequencer('0C'),
    });
    expect(values.ObjectsExpired).toEqual([1]);
  });

  it('records the delete marker a lifecycle rule creates as present, under its own version id', async () => {
    // Prepare
    const { handler } = handlerWith(clients);
    const marker = s3RecordWith(
      {
        bucket: BUCKET,
        key: 'old.png',
        versionId: 'marker-7',
        eventName: 'LifecycleExpiration:DeleteMarkerCreated',
        sequencer: '0D',
      },
      { userIdentity: LIFECYCLE },
    );
    // Act
    const summary = await handler(s3Event(marker));
    // Assess
    expect(summary).toMatchObject({ marker: 1 });
    expect(putItems()[0]).toMatchObject({
      versionId: 'marker-7',
      status: 'present',
      deleteMarker: true,
      eventName: 'LifecycleExpiration:DeleteMarkerCreated',
    });
  });
});

describe('storage-class transitions', () => {
  it('updates the storage class of the stored item without reading the object', async () => {
    // Prepare
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(transition('GLACIER')));
    // Assess
    expect(summary).toMatchObject({ transitioned: 1 });
    expect(s3Mock.calls()).toHaveLength(0);
    const [update] = updates();
    expect(unmarshall(update.Key!)).toEqual({ objectKey: 'logs/a.json', versionId: 'v1' });
    expect(update.UpdateExpression).toBe(
      'SET #storageClass = :storageClass, #processedAt = :processedAt, #storageClassAsOf = :storageClassAsOf REMOVE #archiveTier',
    );
    expect(update.ConditionExpression).toBe(
      'attribute_exists(objectKey) AND (attribute_not_exists(#storageClassAsOf) OR #storageClassAsOf < :storageClassAsOf)',
    );
    expect(unmarshall(update.ExpressionAttributeValues!)).toEqual({
      ':storageClass': 'GLACIER',
      ':processedAt': NOW,
      ':storageClassAsOf': '2026-12-29T00:10:00.000Z',
    });
    expect(values.StorageClassChanges).toEqual([1]);
  });

  it('records the archive tier an Intelligent-Tiering object moved to', async () => {
    // Prepare
    const { handler } = handlerWith(clients);
    const tiering = s3RecordWith(
      { bucket: BUCKET, key: 'logs/a.json', versionId: 'v1', eventName: 'IntelligentTiering', sequencer: null },
      { intelligentTieringEventData: { destinationAccessTier: 'DEEP_ARCHIVE_ACCESS' } },
    );
    // Act
    const summary = await handler(s3Event(tiering));
    // Assess
    expect(summary).toMatchObject({ transitioned: 1 });
    expect(unmarshall(updates()[0].ExpressionAttributeValues!)).toMatchObject({
      ':storageClass': 'INTELLIGENT_TIERING',
      ':archiveTier': 'DEEP_ARCHIVE_ACCESS',
    });
  });

  it.each([
    ['a redelivered transition as a duplicate', '2026-12-29T00:10:00.000Z', 'duplicate'],
    ['a transition older than what is stored as stale', '2027-03-29T00:10:00.000Z', 'stale'],
  ])('counts %s', async (_case, storedAsOf, outcome) => {
    // Prepare
    dynamoMock.on(UpdateItemCommand).rejects(conditionFailed({ storageClassAsOf: storedAsOf, sequencer: 'A' }));
    const { handler } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(transition('GLACIER')));
    // Assess
    expect(summary).toMatchObject({ transitioned: 0, [outcome]: 1 });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('reads the version as a create would when it has no item yet, with the lowest sequencer', async () => {
    // Prepare: no item (the failed condition returns none), and the version is archived now.
    dynamoMock.on(UpdateItemCommand).rejects(conditionFailed());
    dynamoMock.on(GetItemCommand).resolves({});
    s3Mock.on(HeadObjectCommand).resolves(headOf({ StorageClass: 'GLACIER' }));
    s3Mock.on(GetObjectCommand).rejects(archived('GLACIER'));
    const { handler } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(transition('GLACIER')));
    // Assess
    expect(summary).toMatchObject({ unreadable: 1, transitioned: 0 });
    expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 1);
    expect(putItems()[0]).toMatchObject({
      status: 'unreadable',
      unreadableReason: 'archived-storage-class',
      storageClass: 'GLACIER',
      eventName: 'LifecycleTransition',
      sequencer: LOWEST_SEQUENCER,
    });
  });

  it('applies the change to an item written between its two attempts', async () => {
    // Prepare: no item at first; the create event's item lands before this read is stored.
    dynamoMock.on(UpdateItemCommand).rejectsOnce(conditionFailed()).resolves({});
    dynamoMock.on(GetItemCommand).resolves({});
    dynamoMock.on(PutItemCommand).rejects(conditionFailed({ sequencer: normalizeSequencer('0A') }));
    const { handler } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(transition('STANDARD_IA')));
    // Assess
    expect(summary).toMatchObject({ transitioned: 1 });
    expect(dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 2);
  });
});

describe('restores of archived versions', () => {
  const restore = (eventTime = '2027-01-05T08:00:00.000Z') =>
    s3RecordWith(
      {
        bucket: BUCKET,
        key: 'cold/scan.png',
        versionId: 'v1',
        eventName: 'ObjectRestore:Completed',
        sequencer: null,
        eventTime,
      },
      {
        glacierEventData: {
          restoreEventData: {
            lifecycleRestorationExpiryTime: '2027-01-12T00:00:00.000Z',
            lifecycleRestoreStorageClass: 'GLACIER',
          },
        },
      },
    );
  const unreadable = {
    objectKey: 'cold/scan.png',
    versionId: 'v1',
    bucket: BUCKET,
    key: 'cold/scan.png',
    status: 'unreadable',
    unreadableReason: 'archived-storage-class',
    eventName: 'ObjectCreated:Put',
    eventTime: '2026-12-01T09:00:00.000Z',
    sequencer: normalizeSequencer('0A'),
    requester: 'AWS:UPLOADER',
    storageClass: 'GLACIER',
    storageClassAsOf: '2026-12-01T09:00:01.000Z',
    processedAt: '2026-12-01T09:00:01.000Z',
  };

  it('reads a restored version like a create: it becomes present with its detected type', async () => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves({ Item: marshall(unreadable) });
    s3Mock.on(HeadObjectCommand).resolves(
      headOf({
        StorageClass: 'GLACIER',
        Restore: 'ongoing-request="false", expiry-date="Tue, 12 Jan 2027 00:00:00 GMT"',
      }),
    );
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(restore()));
    // Assess
    expect(summary).toMatchObject({ stored: 1, unreadable: 0 });
    expect(values.ObjectsStored).toEqual([1]);
    const [put] = dynamoMock.commandCalls(PutItemCommand).map((c) => c.args[0].input);
    expect(put.ConditionExpression).toBe('sequencer = :seen');
    expect(unmarshall(put.ExpressionAttributeValues!)).toEqual({ ':seen': normalizeSequencer('0A') });
    const item = unmarshall(put.Item!);
    expect(item).toMatchObject({
      status: 'present',
      detectedContentType: 'image/png',
      storageClass: 'GLACIER',
      restoredUntil: '2027-01-12T00:00:00.000Z',
      storageClassAsOf: '2027-01-05T08:00:00.000Z',
      // The version's own event still orders it: a later delete wins.
      eventName: 'ObjectCreated:Put',
      sequencer: normalizeSequencer('0A'),
      requester: 'AWS:UPLOADER',
    });
    expect(item.unreadableReason).toBeUndefined();
  });

  it.each([
    [
      'a redelivered restore as a duplicate, without reading S3',
      { storageClassAsOf: '2027-01-05T08:00:00.000Z' },
      'duplicate',
    ],
    ['a restore of a version deleted since as stale', { status: 'deleted' }, 'stale'],
  ])('counts %s', async (_case, stored, outcome) => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves({ Item: marshall({ ...unreadable, ...stored }) });
    const { handler } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(restore()));
    // Assess
    expect(summary).toMatchObject({ [outcome]: 1, stored: 0 });
    expect(s3Mock.calls()).toHaveLength(0);
    expect(dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 0);
  });

  it('loses to an event stored between its read and its write', async () => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves({ Item: marshall(unreadable) });
    dynamoMock.on(PutItemCommand).rejects(conditionFailed());
    const { handler } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(restore()));
    // Assess
    expect(summary).toMatchObject({ stale: 1, stored: 0 });
  });
});

describe('object tags (RECORD_OBJECT_TAGS)', () => {
  const tagging = (eventName = 'ObjectTagging:Put') =>
    s3RecordWith({ bucket: BUCKET, key: 'a.png', versionId: 'v1', eventName, sequencer: null });

  it('reads the tags of a created version with one GetObjectTagging of that version, beside HEAD and GET', async () => {
    // Prepare
    s3Mock.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'project', Value: 'atlas' }] });
    const { handler } = handlerWithTags();
    // Act
    await handler(s3Event(s3RecordWith({ bucket: BUCKET, key: 'a.png', versionId: 'v1', size: 10 })));
    // Assess
    expect(s3Mock.commandCalls(GetObjectTaggingCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: 'a.png', VersionId: 'v1' },
    ]);
    expect(putItems()[0]).toMatchObject({ status: 'present', tags: { project: 'atlas' }, tagsAsOf: NOW });
  });

  it('keeps tags in key order up to their budget and says when it cut some', async () => {
    // Prepare
    const TagSet = Array.from({ length: 10 }, (_, i) => ({ Key: `tag${i}`, Value: 'v'.repeat(60) })).reverse();
    s3Mock.on(GetObjectTaggingCommand).resolves({ TagSet });
    const { handler } = handlerWithTags();
    // Act
    await handler(s3Event(s3RecordWith({ bucket: BUCKET, key: 'a.png', size: 10 })));
    // Assess
    const item = putItems()[0];
    expect(Object.keys(item.tags)).toEqual(['tag0', 'tag1', 'tag2', 'tag3']);
    expect(item.tagsTruncated).toBe(true);
  });

  it.each(['ObjectTagging:Put', 'ObjectTagging:Delete'])(
    'updates the tags of the stored item on %s, reading only the tags',
    async (eventName) => {
      // Prepare
      s3Mock
        .on(GetObjectTaggingCommand)
        .resolves({ TagSet: eventName.endsWith('Put') ? [{ Key: 'k', Value: 'v' }] : [] });
      const { handler, values } = handlerWithTags();
      // Act
      const summary = await handler(s3Event(tagging(eventName)));
      // Assess
      expect(summary).toMatchObject({ tagged: 1 });
      expect(s3Mock).toHaveReceivedCommandTimes(HeadObjectCommand, 0);
      expect(s3Mock.calls().map((c) => c.args[0].constructor.name)).toEqual(['GetObjectTaggingCommand']);
      const [update] = updates();
      expect(update.ConditionExpression).toBe(
        'attribute_exists(objectKey) AND (attribute_not_exists(#tagsAsOf) OR #tagsAsOf < :tagsAsOf)',
      );
      expect(update.UpdateExpression).toBe(
        eventName.endsWith('Put')
          ? 'SET #tags = :tags, #tagsAsOf = :tagsAsOf, #processedAt = :processedAt REMOVE #tagsTruncated'
          : 'SET #tagsAsOf = :tagsAsOf, #processedAt = :processedAt REMOVE #tags, #tagsTruncated',
      );
      expect(values.TagChanges).toEqual([1]);
    },
  );

  it('counts a tagging event as ignored when tags are not recorded, and reads nothing', async () => {
    // Prepare
    const { handler, values } = handlerWith(clients);
    // Act
    const summary = await handler(s3Event(tagging()));
    // Assess
    expect(summary).toMatchObject({ ignored: 1 });
    expect(s3Mock.calls()).toHaveLength(0);
    expect(dynamoMock.calls()).toHaveLength(0);
    expect(values.IgnoredEvents).toEqual([1]);
  });

  it('never reads tags when they are not recorded: 1 HEAD, 1 ranged GET, 1 write per object', async () => {
    // Prepare
    const { handler } = handlerWith(clients);
    // Act
    await handler(s3Event(s3RecordWith({ bucket: BUCKET, key: 'a.png', size: 10 })));
    // Assess
    expect(s3Mock.calls().map((c) => c.args[0].constructor.name)).toEqual(['GetObjectCommand', 'HeadObjectCommand']);
    expect(dynamoMock.calls()).toHaveLength(1);
  });
});
