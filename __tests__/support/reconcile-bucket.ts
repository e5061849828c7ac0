// A versioned bucket for the tap reconcile tests, behind aws-sdk-client-mock: ListObjectVersions (S3's
// order, markers, pages of at most `pageSize` entries whatever MaxKeys says, as S3 may), HEAD and
// ranged GET of versions with S3's answers (404 for a version that is not there, 405 for a delete
// marker, 403 InvalidObjectState for GETs of archived versions), and the events S3 would send.
import { createHash } from 'node:crypto';
import type { AwsStub } from 'aws-sdk-client-mock';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectVersionsCommandInput,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-s3';
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { S3EventRecord } from 'aws-lambda';
import { compareKeys } from '../../cli/reconcile/listing';
import { s3Record } from '../../fixtures/s3-events';
import { archived, body, s3Error } from './handler';

export type S3Stub = AwsStub<ServiceInputTypes, ServiceOutputTypes, unknown>;

export interface FakeVersion {
  readonly key: string;
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly body: Buffer;
  readonly contentType: string;
  storageClass: string;
  readonly lastModified: Date;
  /** The sequencer of the event that created it. */
  readonly sequencer: string;
}

export class FakeBucket {
  readonly versions: FakeVersion[] = [];
  /** ListObjectVersions calls, with their input. */
  readonly listCalls: ListObjectVersionsCommandInput[] = [];
  private tick = 0;

  constructor(
    readonly name: string,
    readonly pageSize = 4,
  ) {}

  private nextVersion(key: string, deleteMarker: boolean, options: Partial<FakeVersion> = {}): FakeVersion {
    this.tick += 1;
    const version: FakeVersion = {
      key,
      versionId: `v${String(this.tick).padStart(4, '0')}`,
      deleteMarker,
      body: Buffer.alloc(0),
      contentType: 'application/octet-stream',
      storageClass: 'STANDARD',
      lastModified: new Date(Date.UTC(2026, 10, 1, 0, 0, this.tick)),
      sequencer: (0x1000 + this.tick).toString(16).toUpperCase().padStart(16, '0'),
      ...options,
    };
    this.versions.push(version);
    return version;
  }

  put(key: string, content: string | Buffer, options: Partial<FakeVersion> = {}): FakeVersion {
    return this.nextVersion(key, false, { body: Buffer.from(content), contentType: 'text/plain', ...options });
  }

  deleteMarker(key: string): FakeVersion {
    return this.nextVersion(key, true);
  }

  /** Removes a version for good (a DELETE of that version id, or a lifecycle expiration). */
  remove(key: string, versionId: string): void {
    this.versions.splice(
      this.versions.findIndex((v) => v.key === key && v.versionId === versionId),
      1,
    );
  }

  find(key: string, versionId?: string): FakeVersion | undefined {
    return this.versions.find((v) => v.key === key && (versionId === undefined || v.versionId === versionId));
  }

  /** S3's order: key (UTF-8 bytes), then newest first. */
  private sorted(): FakeVersion[] {
    return [...this.versions].sort(
      (a, b) => compareKeys(a.key, b.key) || b.lastModified.getTime() - a.lastModified.getTime(),
    );
  }

  listPage(input: ListObjectVersionsCommandInput) {
    this.listCalls.push(input);
    const all = this.sorted().filter((v) => v.key.startsWith(input.Prefix ?? ''));
    let start = 0;
    if (input.KeyMarker !== undefined && input.VersionIdMarker) {
      start = all.findIndex((v) => v.key === input.KeyMarker && v.versionId === input.VersionIdMarker) + 1;
    } else if (input.KeyMarker !== undefined) {
      const after = all.findIndex((v) => compareKeys(v.key, input.KeyMarker!) > 0);
      start = after < 0 ? all.length : after;
    }
    const page = all.slice(start, start + Math.min(this.pageSize, input.MaxKeys ?? 1000));
    const truncated = start + page.length < all.length;
    const latest = new Set(this.sorted().map((v, i, sorted) => (i === 0 || sorted[i - 1].key !== v.key ? v : null)));
    const last = page.at(-1);
    return {
      Versions: page
        .filter((v) => !v.deleteMarker)
        .map((v) => ({
          Key: v.key,
          VersionId: v.versionId,
          IsLatest: latest.has(v),
          LastModified: v.lastModified,
          Size: v.body.length,
          ETag: `"${this.eTag(v)}"`,
          StorageClass: v.storageClass as 'STANDARD',
        })),
      DeleteMarkers: page
        .filter((v) => v.deleteMarker)
        .map((v) => ({ Key: v.key, VersionId: v.versionId, IsLatest: latest.has(v), LastModified: v.lastModified })),
      IsTruncated: truncated,
      NextKeyMarker: truncated ? last?.key : undefined,
      NextVersionIdMarker: truncated ? last?.versionId : undefined,
    };
  }

  eTag(version: FakeVersion): string {
    return createHash('md5').update(version.body).digest('hex');
  }

  private versionOf(input: { Key?: string; VersionId?: string }): FakeVersion {
    const version = this.find(input.Key ?? '', input.VersionId);
    if (!version) throw s3Error('NotFound', 404, 'UnknownError');
    if (version.deleteMarker) throw s3Error('MethodNotAllowed', 405, 'UnknownError');
    return version;
  }

  head(input: { Key?: string; VersionId?: string }) {
    const v = this.versionOf(input);
    return {
      ContentLength: v.body.length,
      ETag: `"${this.eTag(v)}"`,
      ContentType: v.contentType,
      LastModified: v.lastModified,
      VersionId: v.versionId,
      StorageClass: v.storageClass === 'STANDARD' ? undefined : (v.storageClass as 'GLACIER'),
    };
  }

  get(input: { Key?: string; VersionId?: string; Range?: string }) {
    const v = this.versionOf(input);
    if (v.storageClass === 'GLACIER' || v.storageClass === 'DEEP_ARCHIVE') throw archived(v.storageClass);
    if (v.body.length === 0) throw s3Error('InvalidRange', 416);
    const end = Number(/bytes=0-(\d+)/.exec(input.Range ?? '')?.[1] ?? v.body.length - 1);
    return { Body: body(v.body.subarray(0, end + 1)), ContentType: v.contentType };
  }

  /** Answers the S3 client's calls from this bucket. */
  install(s3Mock: S3Stub): void {
    // Async, as the SDK's send is: errors become rejections, not synchronous throws.
    s3Mock.on(ListObjectVersionsCommand).callsFake(async (input) => this.listPage(input));
    s3Mock.on(HeadObjectCommand).callsFake(async (input) => this.head(input));
    s3Mock.on(GetObjectCommand).callsFake(async (input) => this.get(input));
  }

  /** The record S3 sends for a version's creation (or, for a delete marker, its DeleteMarkerCreated). */
  eventOf(version: FakeVersion): S3EventRecord {
    return s3Record({
      bucket: this.name,
      key: version.key,
      versionId: version.versionId,
      eventName: version.deleteMarker ? 'ObjectRemoved:DeleteMarkerCreated' : 'ObjectCreated:Put',
      size: version.deleteMarker ? undefined : version.body.length,
      eTag: version.deleteMarker ? undefined : this.eTag(version),
      sequencer: version.sequencer,
      eventTime: version.lastModified.toISOString(),
    });
  }
}

/** A version's item key in the metadata table. */
export const itemKeyOf = (v: Pick<FakeVersion, 'key' | 'versionId'>) => ({
  objectKey: { S: v.key },
  versionId: { S: v.versionId },
});

/** The versions `drift` works on: each gets one kind of drift. */
export interface Drifted {
  readonly lostItem: FakeVersion;
  readonly expiredUnseen: FakeVersion;
  readonly wronglyDeleted: FakeVersion;
  readonly transitioned: FakeVersion;
  readonly marker: FakeVersion;
  readonly resized: FakeVersion;
}

/**
 * Every drift reconcile knows, after the events were processed: a lost item, a version removed without an
 * event, a wrong status, a lost transition, a marker's item without its flag, a wrong size, and an item of
 * `absentKey`, a key the bucket never had.
 */
export async function drift(
  dynamodb: DynamoDBClient,
  table: string,
  bucket: FakeBucket,
  v: Drifted,
  absentKey: string,
) {
  await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: itemKeyOf(v.lostItem) }));
  bucket.remove(v.expiredUnseen.key, v.expiredUnseen.versionId);
  const update = (of: FakeVersion, expression: string, values?: Record<string, unknown>) =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: itemKeyOf(of),
        UpdateExpression: expression,
        ExpressionAttributeNames: Object.fromEntries([...expression.matchAll(/#(\w+)/g)].map((m) => [m[0], m[1]])),
        ...(values ? { ExpressionAttributeValues: marshall(values) } : {}),
      }),
    );
  await update(v.wronglyDeleted, 'SET #status = :s', { ':s': 'deleted' });
  v.transitioned.storageClass = 'GLACIER';
  await update(v.marker, 'REMOVE #deleteMarker');
  await update(v.resized, 'SET #size = :n', { ':n': 99 });
  const absent = { status: 'present', sequencer: '0A'.padEnd(32, '0'), processedAt: '2026-11-01T00:00:00.000Z' };
  await dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: { ...itemKeyOf({ key: absentKey, versionId: 'v9999' }), ...marshall(absent) },
    }),
  );
}
