// A bucket and a table of any size for measuring tap reconcile's memory, made up page by page as they
// are asked for, so the fake itself holds nothing: SDK clients whose send() answers ListObjectVersions,
// Query and Scan with what S3 and DynamoDB would answer (in this process: no sockets, no HTTP parsing,
// so what is measured is reconcile's own memory, not the SDK's garbage from 25,000 HTTP exchanges).
// Reconcile's engine (cli/reconcile/run.ts) runs unchanged on them.
//
// The data: `keys` keys "data/00000000"..., 4 entries each (every fourth key: a delete marker and 3
// versions; the others 4 versions), so 4 x keys versions; every entry has its item, except entry 1
// of every 200th key (missing); and one item saying present for a key the bucket lacks ("gone/...")
// per 1,000 keys (extra).
import { ListObjectVersionsCommandInput, ListObjectVersionsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const ENTRIES_PER_KEY = 4;
const MISSING_EVERY = 200;
const EXTRA_EVERY = 1000;

const keyName = (i: number) => `data/${String(i).padStart(8, '0')}`;
const goneName = (i: number) => `gone/${String(i).padStart(8, '0')}`;
const isMarker = (i: number, j: number) => i % 4 === 0 && j === 0;
const isMissing = (i: number, j: number) => i % MISSING_EVERY === 0 && j === 1;
const eTag = (i: number, j: number) => `${i.toString(16).padStart(24, '0')}${j.toString(16).padStart(8, '0')}`;
const size = (i: number) => 100 + (i % 900);
const LAST_MODIFIED = '2026-11-01T00:00:00.000Z';

/** Keys of the bucket, per extra ("gone/...") item of the table. */
const extraItems = (keys: number) => Math.ceil(keys / EXTRA_EVERY);

// ---------------------------------------------------------------- S3

/** The range of entry positions (key n / 4, entry n % 4) a listing request asks for. */
function rangeOf(keys: number, input: ListObjectVersionsCommandInput): { from: number; to: number } {
  let [from, to] = [0, keys * ENTRIES_PER_KEY];
  // reconcile lists either the whole bucket or one key (Prefix=key): a data key's entries, or none.
  if (input.Prefix) {
    const i = Number(input.Prefix.slice(5));
    [from, to] = input.Prefix === keyName(i) && i < keys ? [i * ENTRIES_PER_KEY, (i + 1) * ENTRIES_PER_KEY] : [0, 0];
  }
  if (input.KeyMarker?.startsWith('data/')) {
    const i = Number(input.KeyMarker.slice(5));
    const version = input.VersionIdMarker;
    const after = version ? i * ENTRIES_PER_KEY + Number(version.slice(1)) + 1 : (i + 1) * ENTRIES_PER_KEY;
    from = Math.max(from, after);
  }
  return { from, to };
}

/** One ListObjectVersions page, as the SDK gives it. */
function listVersions(keys: number, input: ListObjectVersionsCommandInput): ListObjectVersionsCommandOutput {
  const { from, to } = rangeOf(keys, input);
  const end = Math.min(to, from + Math.min(1000, input.MaxKeys ?? 1000));
  const versions = [];
  const markers = [];
  for (let n = from; n < end; n++) {
    const [i, j] = [Math.floor(n / ENTRIES_PER_KEY), n % ENTRIES_PER_KEY];
    const entry = { Key: keyName(i), VersionId: `e${j}`, IsLatest: j === 0, LastModified: new Date(LAST_MODIFIED) };
    if (isMarker(i, j)) markers.push(entry);
    else versions.push({ ...entry, ETag: `"${eTag(i, j)}"`, Size: size(i), StorageClass: 'STANDARD' as const });
  }
  const truncated = end < to;
  const last = end - 1;
  return {
    $metadata: {},
    Versions: versions,
    DeleteMarkers: markers,
    IsTruncated: truncated,
    NextKeyMarker: truncated ? keyName(Math.floor(last / ENTRIES_PER_KEY)) : undefined,
    NextVersionIdMarker: truncated ? `e${last % ENTRIES_PER_KEY}` : undefined,
  };
}

// ---------------------------------------------------------------- DynamoDB

type Wire = Record<string, Record<string, unknown>>;

function item(key: string, versionId: string, marker: boolean, i: number, j: number): Wire {
  const base: Wire = {
    objectKey: { S: key },
    versionId: { S: versionId },
    bucket: { S: 'tap-bench-uploads' },
    key: { S: key },
    status: { S: 'present' },
    eventName: { S: marker ? 'ObjectRemoved:DeleteMarkerCreated' : 'ObjectCreated:Put' },
    eventTime: { S: LAST_MODIFIED },
    sequencer: { S: `${eTag(i, j).slice(0, 16).toUpperCase()}`.padEnd(32, '0') },
    requester: { S: 'AWS:AROAEXAMPLEROLEID:uploader' },
    sourceIp: { S: '192.0.2.10' },
    requestId: { S: 'C3D13FE58DE4C810' },
    processedAt: { S: LAST_MODIFIED },
    lastModified: { S: LAST_MODIFIED },
    extension: { S: 'bin' },
  };
  if (marker) return { ...base, deleteMarker: { BOOL: true } };
  return {
    ...base,
    size: { N: String(size(i)) },
    eTag: { S: eTag(i, j) },
    multipart: { BOOL: false },
    contentType: { S: 'application/octet-stream' },
    storageClass: { S: 'STANDARD' },
    storageClassAsOf: { S: LAST_MODIFIED },
    serverSideEncryption: { S: 'aws:kms' },
    kmsKeyArn: { S: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
    bucketKeyEnabled: { BOOL: true },
    userMetadata: { M: { uploader: { S: 'bench' } } },
  };
}

/** Items of data key i (all its entries but the missing one), or of gone key g. */
function itemsOfKey(keys: number, key: string): Wire[] {
  if (key.startsWith('gone/')) {
    const g = Number(key.slice(5));
    return g < extraItems(keys) ? [item(key, 'old', false, g, 9)] : [];
  }
  const i = Number(key.slice(5));
  if (!key.startsWith('data/') || !(i < keys)) return [];
  const found: Wire[] = [];
  for (let j = 0; j < ENTRIES_PER_KEY; j++) if (!isMissing(i, j)) found.push(item(key, `e${j}`, isMarker(i, j), i, j));
  return found;
}

/** The Scan walks the data keys' items, then the gone keys': position p is (key index, entry). */
function scan(keys: number, body: { Limit?: number; ExclusiveStartKey?: Wire }) {
  const total = keys + extraItems(keys);
  const start = body.ExclusiveStartKey?.objectKey?.S as string | undefined;
  let k =
    start === undefined
      ? 0
      : start.startsWith('data/')
        ? Number(start.slice(5)) + 1
        : keys + Number(start.slice(5)) + 1;
  const limit = body.Limit ?? 1000;
  const items: Wire[] = [];
  while (k < total && items.length < limit) {
    const name = k < keys ? keyName(k) : goneName(k - keys);
    items.push(
      ...itemsOfKey(keys, name).map((i) => ({ objectKey: i.objectKey, versionId: i.versionId, status: i.status })),
    );
    k++;
  }
  const last = items.at(-1);
  return {
    Items: items,
    ...(k < total && last ? { LastEvaluatedKey: { objectKey: last.objectKey, versionId: last.versionId } } : {}),
  };
}

/** The Query and Scan answers reconcile's engine reads (only Items and LastEvaluatedKey). */
function dynamodbAnswer(keys: number, name: string, input: Record<string, unknown>): object | undefined {
  if (name === 'QueryCommand') {
    const values = input.ExpressionAttributeValues as Wire;
    return { Items: itemsOfKey(keys, String(values[':key'].S)) };
  }
  if (name === 'ScanCommand') return scan(keys, input as { Limit?: number; ExclusiveStartKey?: Wire });
  return undefined;
}

// ---------------------------------------------------------------- clients

/**
 * S3 and DynamoDB clients for a bucket of `keys` x 4 versions and its table: real SDK clients whose
 * send() is answered here (so no middleware runs: nothing asks for ConsumedCapacity). Any other
 * operation fails, naming it.
 */
export function fakeClients(keys: number) {
  const s3 = new S3Client({ region: 'us-east-1' });
  const dynamodb = new DynamoDBClient({ region: 'us-east-1' });
  const unknown = (name: string) => Promise.reject(new Error(`the fake does not answer ${name}`));
  s3.send = ((command: { constructor: { name: string }; input: ListObjectVersionsCommandInput }) =>
    command.constructor.name === 'ListObjectVersionsCommand'
      ? Promise.resolve(listVersions(keys, command.input))
      : unknown(command.constructor.name)) as unknown as S3Client['send'];
  dynamodb.send = ((command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    const answer = dynamodbAnswer(keys, command.constructor.name, command.input);
    return answer ? Promise.resolve({ $metadata: {}, ...answer }) : unknown(command.constructor.name);
  }) as unknown as DynamoDBClient['send'];
  return { s3, dynamodb };
}
