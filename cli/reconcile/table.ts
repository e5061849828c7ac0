// The table side of tap reconcile (and tap show): one key's items, and the Scan's pages.
import {
  AttributeValue,
  DynamoDBClient,
  QueryCommand,
  QueryCommandOutput,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TABLE_KEY_SCHEMA } from '../../config';
import type { MetadataItem } from '../../handler/item';

/** Every item stored for `key` (one per version or delete marker), in sort-key order. */
export async function queryKeyItems(
  dynamodb: DynamoDBClient,
  table: string,
  key: string,
  consistent: boolean,
): Promise<MetadataItem[]> {
  const items: MetadataItem[] = [];
  let start: QueryCommandOutput['LastEvaluatedKey'];
  do {
    const page: QueryCommandOutput = await dynamodb.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#pk = :key',
        ExpressionAttributeNames: { '#pk': TABLE_KEY_SCHEMA.partitionKey },
        ExpressionAttributeValues: { ':key': { S: key } },
        ConsistentRead: consistent,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []).map((item) => unmarshall(item) as MetadataItem));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** What the Scan needs of an item: whose key it is and whether it says the version exists. */
export type ScannedItem = Pick<MetadataItem, 'objectKey' | 'versionId' | 'status'>;

/**
 * One page of the table (eventually consistent, the key and status only), and where the next starts.
 * Items of one key come together: a Scan reads each partition key's items in one run.
 */
export async function scanPage(
  dynamodb: DynamoDBClient,
  table: string,
  options: { readonly prefix: string; readonly limit: number; readonly start?: Record<string, AttributeValue> },
): Promise<{ items: ScannedItem[]; next?: Record<string, AttributeValue> }> {
  const page = await dynamodb.send(
    new ScanCommand({
      TableName: table,
      ProjectionExpression: '#pk, #sk, #status',
      ExpressionAttributeNames: {
        '#pk': TABLE_KEY_SCHEMA.partitionKey,
        '#sk': TABLE_KEY_SCHEMA.sortKey,
        '#status': 'status',
      },
      ...(options.prefix
        ? {
            FilterExpression: 'begins_with(#pk, :prefix)',
            ExpressionAttributeValues: { ':prefix': { S: options.prefix } },
          }
        : {}),
      Limit: options.limit,
      ExclusiveStartKey: options.start,
    }),
  );
  return { items: (page.Items ?? []).map((item) => unmarshall(item) as ScannedItem), next: page.LastEvaluatedKey };
}
