// The bucket side of tap reconcile: every version and delete marker, one key at a time, streamed from
// ListObjectVersions pages (never the whole listing in memory), and a fresh look at a single key.
import { ListObjectVersionsCommand, ListObjectVersionsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { NULL_VERSION } from '../../handler/event';
import { unquoteETag } from '../../handler/item';

/** One version or delete marker as the listing gives it. */
export interface BucketEntry {
  readonly key: string;
  /** "null" for the version of an object written while versioning was off. */
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly isLatest: boolean;
  readonly lastModified?: Date;
  /** Versions only (S3 lists STANDARD explicitly). */
  readonly storageClass?: string;
  readonly size?: number;
  /** Without the quotes S3 lists it with, as items keep it. */
  readonly eTag?: string;
}

/** Every entry of one key, newest first, as S3 lists them. */
export interface KeyVersions {
  readonly key: string;
  readonly entries: readonly BucketEntry[];
}

/** S3 sorts keys by their UTF-8 bytes; JavaScript compares UTF-16 code units, which differ above U+FFFF. */
export const compareKeys = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export const LIST_PAGE_SIZE = 1000;

/** A page's versions and delete markers, merged by key in S3's order (each key's entries newest first). */
export function entriesOf(page: Pick<ListObjectVersionsCommandOutput, 'Versions' | 'DeleteMarkers'>): BucketEntry[] {
  type Listed = { Key?: string; VersionId?: string; IsLatest?: boolean; LastModified?: Date };
  const entry = (listed: Listed, deleteMarker: boolean) => ({
    key: listed.Key ?? '',
    versionId: listed.VersionId ?? NULL_VERSION,
    deleteMarker,
    isLatest: listed.IsLatest ?? false,
    lastModified: listed.LastModified,
  });
  const versions: BucketEntry[] = (page.Versions ?? []).map((v) => ({
    ...entry(v, false),
    storageClass: v.StorageClass ?? 'STANDARD',
    size: v.Size,
    eTag: unquoteETag(v.ETag),
  }));
  const markers: BucketEntry[] = (page.DeleteMarkers ?? []).map((m) => entry(m, true));
  const newestFirst = (a: BucketEntry, b: BucketEntry) =>
    compareKeys(a.key, b.key) || (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0);
  return [...versions, ...markers].sort(newestFirst);
}

export interface ListingOptions {
  readonly prefix?: string;
  /** Resume after this key: its entries and every key before it were reconciled already. */
  readonly afterKey?: string;
  readonly pageSize?: number;
  /** Called with each page, for progress and tests. */
  readonly onPage?: (entries: number) => void;
}

/**
 * Every key's entries in S3's key order, one key at a time: a key is handed out once the listing has
 * moved past it (its entries may span pages), so memory holds one page and one key, whatever the bucket.
 * Keys not after `afterKey` are dropped here too, in case an S3 implementation returns some of them.
 */
export async function* listKeys(
  s3: S3Client,
  bucket: string,
  options: ListingOptions = {},
): AsyncGenerator<KeyVersions> {
  let keyMarker = options.afterKey;
  let versionIdMarker: string | undefined;
  let pending: { key: string; entries: BucketEntry[] } | undefined;
  for (;;) {
    const page: ListObjectVersionsCommandOutput = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: options.prefix || undefined,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
        MaxKeys: options.pageSize ?? LIST_PAGE_SIZE,
      }),
    );
    const entries = entriesOf(page);
    options.onPage?.(entries.length);
    for (const entry of entries) {
      if (options.afterKey !== undefined && compareKeys(entry.key, options.afterKey) <= 0) continue;
      if (pending && pending.key === entry.key) {
        pending.entries.push(entry);
        continue;
      }
      if (pending) yield pending;
      pending = { key: entry.key, entries: [entry] };
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
    if (keyMarker === undefined) throw new Error('ListObjectVersions was truncated but gave no NextKeyMarker');
  }
  if (pending) yield pending;
}

/** A fresh listing of one key's entries (Prefix=key, stopping at the first other key). */
export async function listKey(s3: S3Client, bucket: string, key: string): Promise<BucketEntry[]> {
  const entries: BucketEntry[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: key,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
        MaxKeys: LIST_PAGE_SIZE,
      }),
    );
    const all = entriesOf(page);
    entries.push(...all.filter((e) => e.key === key));
    // Keys that start with `key` sort after it: once another one shows up, this key is complete.
    if (!page.IsTruncated || all.some((e) => e.key !== key)) return entries;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}
