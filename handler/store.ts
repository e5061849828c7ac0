import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { EventAttributes, ItemKey, MetadataItem } from './item';
import { compareSequencers } from './sequencer';

/** stored: the write happened; duplicate: this very event was stored before; stale: a newer event was. */
export type WriteResult = 'stored' | 'duplicate' | 'stale';

// S3 delivers at least once and out of order: a write lands only if no item exists yet or the stored
// event is older. Sequencers are stored right-padded to one width, so DynamoDB's "<" on strings
// orders them as S3 documents.
const NEWER_THAN_STORED = 'attribute_not_exists(objectKey) OR sequencer < :sequencer';

/** Writes the whole item of a created (or gone) object version, if its event is newer than the stored one. */
export async function putItemIfNewer(
  dynamodb: DynamoDBClient,
  tableName: string,
  item: MetadataItem,
): Promise<WriteResult> {
  return writeIfNewer(
    dynamodb,
    tableName,
    { objectKey: item.objectKey, versionId: item.versionId },
    item.sequencer,
    () =>
      dynamodb.send(
        new PutItemCommand({
          TableName: tableName,
          Item: marshall(item, { removeUndefinedValues: true }),
          ConditionExpression: NEWER_THAN_STORED,
          ExpressionAttributeValues: marshall({ ':sequencer': item.sequencer }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
  );
}

/**
 * Marks a version (or a delete marker) deleted, if its event is newer than the stored one. An update,
 * not a put: the metadata stored when the version was created stays, so history is never erased.
 */
export async function markDeletedIfNewer(
  dynamodb: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  changes: EventAttributes,
): Promise<WriteResult> {
  // Every name goes through a placeholder: "status", "bucket" and "key" are DynamoDB reserved words.
  const attributes = Object.entries(changes);
  return writeIfNewer(dynamodb, tableName, key, changes.sequencer, () =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(key),
        UpdateExpression: `SET ${attributes.map(([n]) => `#${n} = :${n}`).join(', ')}`,
        ConditionExpression: NEWER_THAN_STORED,
        ExpressionAttributeNames: Object.fromEntries(attributes.map(([n]) => [`#${n}`, n])),
        ExpressionAttributeValues: marshall(Object.fromEntries(attributes.map(([n, value]) => [`:${n}`, value]))),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );
}

/**
 * Runs a write conditional on NEWER_THAN_STORED and, when the condition fails, tells a duplicate (same
 * sequencer stored) from a stale event (newer one stored). DynamoDB returns the stored item with the
 * failure; stores that do not (some emulators) cost one consistent read, on this rare path only.
 */
async function writeIfNewer(
  dynamodb: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  sequencer: string,
  write: () => Promise<unknown>,
): Promise<WriteResult> {
  try {
    await write();
    return 'stored';
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const stored =
      error.Item ??
      (
        await dynamodb.send(
          new GetItemCommand({
            TableName: tableName,
            Key: marshall(key),
            ConsistentRead: true,
            ProjectionExpression: 'sequencer',
          }),
        )
      ).Item;
    const storedSequencer = stored ? unmarshall(stored).sequencer : undefined;
    return typeof storedSequencer === 'string' && compareSequencers(storedSequencer, sequencer) === 0
      ? 'duplicate'
      : 'stale';
  }
}
