import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ObjectEvent } from './event';
import { MetadataItem } from './metadata';
import { compareSequencers } from './sequencer';

/** stored: the write happened; duplicate: this very event was stored before; stale: a newer event was. */
export type WriteResult = 'stored' | 'duplicate' | 'stale';

// S3 delivers at least once and out of order: a write lands only if no item exists yet or the stored
// event is older. Sequencers are stored right-padded to one width, so DynamoDB's "<" on strings
// orders them as S3 documents.
const NEWER_THAN_STORED = 'attribute_not_exists(objectKey) OR sequencer < :sequencer';

/** Writes the whole item for a created (or gone) object version. */
export async function putItem(dynamodb: DynamoDBClient, tableName: string, item: MetadataItem): Promise<WriteResult> {
  return conditional(item.sequencer, () =>
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
 * Marks a version (or a delete marker) deleted. An update, not a put: the metadata stored when the
 * version was created stays, so history is never erased.
 */
export async function markDeleted(dynamodb: DynamoDBClient, tableName: string, event: ObjectEvent, processedAt: Date): Promise<WriteResult> {
  return conditional(event.sequencer, () =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: marshall({ objectKey: event.key, versionId: event.versionId }),
        UpdateExpression:
          'SET #status = :status, bucket = :bucket, #key = :key, eventName = :eventName, eventTime = :eventTime, sequencer = :sequencer, processedAt = :processedAt',
        ConditionExpression: NEWER_THAN_STORED,
        ExpressionAttributeNames: { '#status': 'status', '#key': 'key' },
        ExpressionAttributeValues: marshall({
          ':status': 'deleted',
          ':bucket': event.bucket,
          ':key': event.key,
          ':eventName': event.eventName,
          ':eventTime': event.eventTime,
          ':sequencer': event.sequencer,
          ':processedAt': processedAt.toISOString(),
        }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );
}

async function conditional(sequencer: string, write: () => Promise<unknown>): Promise<WriteResult> {
  try {
    await write();
    return 'stored';
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const stored = error.Item ? unmarshall(error.Item).sequencer : undefined;
    return typeof stored === 'string' && compareSequencers(stored, sequencer) === 0 ? 'duplicate' : 'stale';
  }
}
