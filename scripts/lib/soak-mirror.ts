// The soak's own judge of "the table mirrors the bucket", written apart from tap reconcile so that the
// soak does not grade reconcile with reconcile's code: the whole listing and the whole table, compared
// in memory (soak buckets are small).
import { ListObjectVersionsCommand, ListObjectVersionsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { scanItems } from '../../fixtures/standins';

export interface MirrorCheck {
  /** Versions and delete markers in the bucket. */
  readonly versions: number;
  readonly items: number;
  /** key@version of bucket entries with no item saying present/unreadable (or the wrong marker flag or class). */
  readonly unmirrored: readonly string[];
  /** key@version of items saying present/unreadable for a version the bucket does not hold. */
  readonly unlisted: readonly string[];
  /** Items per status, and unreadable ones per reason. */
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byReason: Readonly<Record<string, number>>;
}

interface Listed {
  readonly key: string;
  readonly versionId: string;
  readonly lastModified: Date;
  readonly marker: boolean;
  readonly latest: boolean;
  readonly storageClass?: string;
}

/** Every version and delete marker of `bucket`, by key@versionId. */
export async function everyVersion(s3: S3Client, bucket: string): Promise<Map<string, Listed>> {
  const listed = new Map<string, Listed>();
  let page: ListObjectVersionsCommandOutput | undefined;
  do {
    page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        KeyMarker: page?.NextKeyMarker,
        VersionIdMarker: page?.NextVersionIdMarker,
        MaxKeys: 1000,
      }),
    );
    for (const v of page.Versions ?? [])
      listed.set(`${v.Key}@${v.VersionId}`, {
        key: v.Key!,
        versionId: v.VersionId!,
        lastModified: v.LastModified!,
        marker: false,
        latest: Boolean(v.IsLatest),
        storageClass: v.StorageClass,
      });
    for (const m of page.DeleteMarkers ?? [])
      listed.set(`${m.Key}@${m.VersionId}`, {
        key: m.Key!,
        versionId: m.VersionId!,
        lastModified: m.LastModified!,
        marker: true,
        latest: Boolean(m.IsLatest),
      });
  } while (page.IsTruncated);
  return listed;
}

export async function checkMirror(
  s3: S3Client,
  dynamodb: DynamoDBClient,
  bucket: string,
  table: string,
): Promise<MirrorCheck> {
  const listed = await everyVersion(s3, bucket);
  const items = await scanItems(dynamodb, table, { consistentRead: true });
  const tally = (counts: Record<string, number>, name: unknown) => {
    counts[String(name)] = (counts[String(name)] ?? 0) + 1;
  };
  const byStatus: Record<string, number> = {};
  const byReason: Record<string, number> = {};
  const mirrored = new Set<string>();
  const unlisted: string[] = [];
  for (const item of items) {
    tally(byStatus, item.status);
    if (item.status === 'unreadable') tally(byReason, item.unreadableReason);
    if (item.status !== 'present' && item.status !== 'unreadable') continue;
    const id = `${item.objectKey}@${item.versionId}`;
    const entry = listed.get(id);
    if (!entry) unlisted.push(id);
    else if (
      entry.marker === Boolean(item.deleteMarker) &&
      (entry.marker || item.storageClass === undefined || item.storageClass === (entry.storageClass ?? 'STANDARD'))
    )
      mirrored.add(id);
  }
  return {
    versions: listed.size,
    items: items.length,
    unmirrored: [...listed.keys()].filter((id) => !mirrored.has(id)),
    unlisted,
    byStatus,
    byReason,
  };
}
