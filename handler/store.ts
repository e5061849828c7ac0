// Every write to the table, each conditional, so that at-least-once, out-of-order delivery and the
// operator's repairs can never move an item back in time.
//
// Events (the handler):
// - putItemIfNewer: a whole item (a read version, a gone version, a delete marker), if its sequencer
//   is newer than the stored one.
// - markRemovedIfNewer: status deleted/expired and the event attributes, keeping the stored metadata.
// - changeIfNewer: storage class or tags of an existing item, ordered by that attribute group's own
//   clock (S3 gives those events no sequencer); 'missing' when there is no item yet.
//
// Guarded writes, 'stored' | 'skipped', never over what an event wrote since the item was read;
// anything but a failed condition is rethrown:
// - putItemIfAbsent(dynamodb, table, item): only where no item exists (tap reconcile's missing items).
// - putItemIfUnchanged(dynamodb, table, item, seenSequencer): only if the stored sequencer is still the
//   one read before (optimistic; the handler's restores).
// - putItemIfSame(dynamodb, table, item, seen): only if sequencer and processedAt are still the ones
//   read before (tap reconcile's repairs: transitions and tagging set processedAt, not the sequencer).
// - getItem(dynamodb, table, key): the stored item, read consistently.
// Items the CLI writes for versions it finds itself carry LOWEST_SEQUENCER (sequencer.ts), so any real
// event for the same version replaces them.
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

/** For the operator's writes: stored, or skipped because the condition failed (an event got there first). */
export type GuardedWriteResult = 'stored' | 'skipped';

// S3 delivers at least once and out of order: a write lands only if no item exists yet or the stored
// event is older. Sequencers are stored right-padded to one width, so DynamoDB's "<" on strings
// orders them as S3 documents.
const NEWER_THAN_STORED = 'attribute_not_exists(objectKey) OR sequencer < :sequencer';

/** An attribute group that changes without a sequencer, and the attribute holding its clock. */
export type ChangeClock = 'storageClassAsOf' | 'tagsAsOf';

/** A change of one attribute group of an existing item, at `time` (the event's, ISO-8601). */
export interface AttributeChange {
  readonly clock: ChangeClock;
  readonly time: string;
  /** Attributes to set; an undefined value removes the attribute. */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/**
 * An UpdateExpression setting every defined value and removing every undefined one. Every name goes
 * through a placeholder: "status", "bucket" and "key" are DynamoDB reserved words.
 */
function updateOf(attributes: Readonly<Record<string, unknown>>) {
  const entries = Object.entries(attributes);
  const set = entries.filter(([, value]) => value !== undefined);
  const remove = entries.filter(([, value]) => value === undefined);
  return {
    UpdateExpression: [
      `SET ${set.map(([n]) => `#${n} = :${n}`).join(', ')}`,
      ...(remove.length > 0 ? [`REMOVE ${remove.map(([n]) => `#${n}`).join(', ')}`] : []),
    ].join(' '),
    ExpressionAttributeNames: Object.fromEntries(entries.map(([n]) => [`#${n}`, n])),
    ExpressionAttributeValues: marshall(Object.fromEntries(set.map(([n, value]) => [`:${n}`, value]))),
  };
}

/** Runs a conditional write: undefined when it happened, the failure when its condition did not hold. */
async function unlessConditionFails(write: Promise<unknown>): Promise<ConditionalCheckFailedException | undefined> {
  try {
    await write;
    return undefined;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return error;
  }
}

/**
 * The stored item a failed condition was checked against (undefined: none). DynamoDB returns it with
 * the failure; stores that do not (some emulators) cost one consistent read, on this rare path only.
 */
async function storedAt(
  failure: ConditionalCheckFailedException,
  dynamodb: DynamoDBClient,
  tableName: string,
  key: ItemKey,
): Promise<Record<string, unknown> | undefined> {
  const item = failure.Item ?? (await getRawItem(dynamodb, tableName, key));
  return item ? unmarshall(item) : undefined;
}

const getRawItem = async (dynamodb: DynamoDBClient, tableName: string, key: ItemKey) =>
  (await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: marshall(key), ConsistentRead: true }))).Item;

/** The stored item of a version, read consistently; undefined when there is none. */
export async function getItem(
  dynamodb: DynamoDBClient,
  tableName: string,
  key: ItemKey,
): Promise<MetadataItem | undefined> {
  const item = await getRawItem(dynamodb, tableName, key);
  return item ? (unmarshall(item) as MetadataItem) : undefined;
}

/** After a failed sequencer condition: duplicate when the stored sequencer is this event's, else stale (a newer one). */
async function sequencerResult(
  failure: ConditionalCheckFailedException,
  dynamodb: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  sequencer: string,
): Promise<WriteResult> {
  const stored = await storedAt(failure, dynamodb, tableName, key);
  return typeof stored?.sequencer === 'string' && compareSequencers(stored.sequencer, sequencer) === 0
    ? 'duplicate'
    : 'stale';
}

const putItem = (
  dynamodb: DynamoDBClient,
  tableName: string,
  item: MetadataItem,
  condition: string,
  values?: Record<string, unknown>,
) =>
  dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: marshall(item, { removeUndefinedValues: true }),
      ConditionExpression: condition,
      ...(values ? { ExpressionAttributeValues: marshall(values) } : {}),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }),
  );

/** Writes the whole item of a version (read, gone or a delete marker), if its event is newer than the stored one. */
export async function putItemIfNewer(
  dynamodb: DynamoDBClient,
  tableName: string,
  item: MetadataItem,
): Promise<WriteResult> {
  const failure = await unlessConditionFails(
    putItem(dynamodb, tableName, item, NEWER_THAN_STORED, { ':sequencer': item.sequencer }),
  );
  return failure ? sequencerResult(failure, dynamodb, tableName, keyOf(item), item.sequencer) : 'stored';
}

/**
 * Marks a version deleted or expired, if its event is newer than the stored one. An update, not a put:
 * the metadata stored when the version was created stays, so history is never erased.
 */
export async function markRemovedIfNewer(
  dynamodb: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  changes: EventAttributes,
): Promise<WriteResult> {
  const failure = await unlessConditionFails(
    dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(key),
        ...updateOf(changes),
        ConditionExpression: NEWER_THAN_STORED,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );
  return failure ? sequencerResult(failure, dynamodb, tableName, key, changes.sequencer) : 'stored';
}

/**
 * Changes one attribute group (storage class, tags) of an existing item, if the stored group is older
 * than `change.time`: S3 gives transition, Intelligent-Tiering, tagging and restore events no sequencer,
 * so each group keeps the time it was last known. missing: no item yet (the caller reads the version).
 */
export async function changeIfNewer(
  dynamodb: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  change: AttributeChange,
): Promise<WriteResult | 'missing'> {
  const { clock, time } = change;
  const failure = await unlessConditionFails(
    dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(key),
        ...updateOf({ ...change.attributes, [clock]: time }),
        ConditionExpression: `attribute_exists(objectKey) AND (attribute_not_exists(#${clock}) OR #${clock} < :${clock})`,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );
  if (!failure) return 'stored';
  const stored = await storedAt(failure, dynamodb, tableName, key);
  if (!stored) return 'missing';
  return stored[clock] === time ? 'duplicate' : 'stale';
}

/** Writes the item only where the version has none: never over what an event (or another run) wrote. */
export const putItemIfAbsent = async (
  dynamodb: DynamoDBClient,
  tableName: string,
  item: MetadataItem,
): Promise<GuardedWriteResult> =>
  (await unlessConditionFails(putItem(dynamodb, tableName, item, 'attribute_not_exists(objectKey)')))
    ? 'skipped'
    : 'stored';

/**
 * Replaces the item only if its stored sequencer is still `seenSequencer`, the one read before the
 * version was: an event stored since then wins. The item's own sequencer is written as given.
 */
export const putItemIfUnchanged = async (
  dynamodb: DynamoDBClient,
  tableName: string,
  item: MetadataItem,
  seenSequencer: string,
): Promise<GuardedWriteResult> =>
  (await unlessConditionFails(putItem(dynamodb, tableName, item, 'sequencer = :seen', { ':seen': seenSequencer })))
    ? 'skipped'
    : 'stored';

/**
 * Replaces the item only while the stored one still has the sequencer and processedAt of `seen` (an
 * attribute `seen` lacks must be absent too).
 */
export async function putItemIfSame(
  dynamodb: DynamoDBClient,
  tableName: string,
  item: MetadataItem,
  seen: Pick<MetadataItem, 'sequencer' | 'processedAt'>,
): Promise<GuardedWriteResult> {
  const guarded = (['sequencer', 'processedAt'] as const).map((name) => ({ name, value: seen[name] }));
  const values = Object.fromEntries(guarded.filter((g) => g.value !== undefined).map((g) => [`:${g.name}`, g.value]));
  const failure = await unlessConditionFails(
    dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall(item, { removeUndefinedValues: true }),
        ConditionExpression: guarded
          .map((g) => (g.value === undefined ? `attribute_not_exists(#${g.name})` : `#${g.name} = :${g.name}`))
          .join(' AND '),
        ExpressionAttributeNames: Object.fromEntries(guarded.map((g) => [`#${g.name}`, g.name])),
        ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: marshall(values) } : {}),
      }),
    ),
  );
  return failure ? 'skipped' : 'stored';
}

const keyOf = (item: MetadataItem): ItemKey => ({ objectKey: item.objectKey, versionId: item.versionId });
