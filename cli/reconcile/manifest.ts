// --manifest-out: the missing versions (in the bucket, no item in the table) as an S3 Batch Operations CSV
// manifest for `tap backfill --manifest`: one `bucket,key,versionId` row per version, no header (format
// S3BatchOperations_CSV_20180820, fields Bucket, Key, VersionId). "The contents of the manifest must be URL
// encoded" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-create-job.html, "Specifying a
// manifest"): keys are written with encodeURIComponent, '/' kept, so a space is %20 and '+' is %2B, and a
// reader that decodes '+' as a space (as S3 Inventory's CSV is read) and one that does not get the same key.
// Rows are written as they are found (synchronously, so a checkpoint never runs ahead of the file).
import fs from 'node:fs';
import type { Drift } from './classify';

/** A key as a Batch Operations CSV manifest holds it. */
export const manifestKey = (key: string): string => encodeURIComponent(key).replace(/%2F/g, '/');

/**
 * One manifest row. A version written while versioning was off keeps the id "null", which S3's
 * version-aware calls accept for it (Batch Operations wants a version id on every row once the field is there).
 */
export const manifestRow = (bucket: string, key: string, versionId: string): string =>
  `${bucket},${manifestKey(key)},${versionId}\n`;

export class MissingManifest {
  private fd?: number;
  rows = 0;

  constructor(
    readonly file: string,
    private readonly bucket: string,
  ) {}

  /** Starts the file, or appends to it when a run goes on from its checkpoint. */
  open(append: boolean): void {
    this.fd = fs.openSync(this.file, append ? 'a' : 'w');
  }

  add(drift: Drift): void {
    if (drift.kind !== 'missing' || this.fd === undefined) return;
    fs.writeSync(this.fd, manifestRow(this.bucket, drift.key, drift.versionId));
    this.rows += 1;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
