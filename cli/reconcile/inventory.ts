// The bucket side of reconcile from an S3 Inventory report instead of ListObjectVersions, as AWS documents
// it: "Amazon S3 Inventory" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html:
// the list's columns; CSV, ORC or Parquet; "all versions" adds VersionId, IsLatest, IsDeleteMarker) and
// "Locating your inventory list" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html:
// manifest.json with sourceBucket, fileFormat, fileSchema and files[] of key, size, MD5checksum, the data
// files in the destination bucket).
// - CSV: gzip-compressed, no header, every field quoted, the columns those of fileSchema ("Bucket, Key,
//   VersionId, ..."), the key URL-encoded. The page says the key must be decoded and not how; S3 encodes it
//   as a form (a space is '+', a literal '+' is %2B), so it is decoded as the handler decodes event keys
//   (decodeS3Key): '+' to a space, then %XX as UTF-8. A key encoded without '+' decodes the same way.
// - Parquet: the same columns in snake case (key, version_id, is_latest, is_delete_marker, size,
//   last_modified_date, e_tag, storage_class), keys as they are; fileSchema is Parquet's message schema.
// - ORC: refused (no reader here), naming the format.
// What reconcile compares needs every version (VersionId, IsDeleteMarker) and Size, ETag, StorageClass.
import { CliError } from '../errors';
import { bucketOf, S3Location, s3Url } from '../s3-files';

export type InventoryFormat = 'CSV' | 'Parquet';

export interface InventoryManifest {
  readonly sourceBucket: string;
  readonly format: InventoryFormat;
  /** The data files' columns, in snake case (CSV: in their order in the file). */
  readonly columns: readonly string[];
  readonly files: readonly S3Location[];
}

/** The columns reconcile reads, as Parquet names them (CSV: VersionId -> version_id, ETag -> e_tag). */
const NEEDED = ['key', 'version_id', 'is_latest', 'is_delete_marker', 'size', 'e_tag', 'storage_class'] as const;

export const snakeCase = (name: string): string =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();

/** fileSchema's column names: CSV's comma-separated list, or the fields of Parquet's message schema. */
function columnsOf(format: InventoryFormat, schema: string): string[] {
  if (format === 'CSV') return schema.split(',').map((name) => snakeCase(name.trim()));
  return [...schema.matchAll(/\b(?:required|optional|repeated)\s+\w+\s+(\w+)/g)].map((m) => m[1].toLowerCase());
}

/** manifest.json, checked: a CliError naming the field that is missing or wrong. */
export function parseInventoryManifest(
  json: unknown,
  at: S3Location,
  needed: readonly string[] = NEEDED,
): InventoryManifest {
  const where = s3Url(at);
  const fail = (what: string): never => {
    throw new CliError(`inventory manifest ${where}: ${what}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('not a JSON object');
  const m = json as Record<string, unknown>;
  const text = (field: string) =>
    typeof m[field] === 'string' && m[field] !== ''
      ? (m[field] as string)
      : fail(`"${field}" is missing or not a string`);
  const sourceBucket = text('sourceBucket');
  const fileFormat = text('fileFormat');
  if (fileFormat === 'ORC') fail('fileFormat "ORC" is not supported: configure the inventory as CSV or Parquet');
  if (fileFormat !== 'CSV' && fileFormat !== 'Parquet') fail(`fileFormat "${fileFormat}" is not CSV or Parquet`);
  const format = fileFormat as InventoryFormat;
  const columns = columnsOf(format, text('fileSchema'));
  const lacking = needed.filter((c) => !columns.includes(c));
  if (lacking.length > 0) {
    fail(
      `"fileSchema" lacks ${lacking.join(', ')}: reconcile needs an inventory of all versions ` +
        '(IncludedObjectVersions All) with Size, ETag and StorageClass',
    );
  }
  const bad = columns.find((c) => !/^[a-z_][a-z0-9_]*$/.test(c));
  if (bad !== undefined) fail(`"fileSchema" has a column name reconcile cannot read: "${bad}"`);
  // The data files are in the destination bucket (an ARN), where the manifest is too.
  const bucket = typeof m.destinationBucket === 'string' ? bucketOf(m.destinationBucket) : at.bucket;
  if (!Array.isArray(m.files) || m.files.length === 0) fail('"files" is missing or empty');
  const files = (m.files as unknown[]).map((file, i) => {
    const key = (file as { key?: unknown } | null)?.key;
    return typeof key === 'string' && key !== '' ? { bucket, key } : fail(`"files[${i}].key" is missing`);
  });
  return { sourceBucket, format, columns, files };
}

/** A string as an SQL literal; a list of files as DuckDB's list of them. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
export const fileList = (paths: readonly string[]): string => `[${paths.map(sqlString).join(', ')}]`;

/**
 * SQL for the bucket side from the downloaded data files: key, version_id, delete_marker, is_latest,
 * size, e_tag, storage_class, last_modified (epoch ms); every column read as text first, so both formats
 * go through the same conversions.
 */
export function inventorySql(manifest: InventoryManifest, paths: readonly string[]): string {
  const source =
    manifest.format === 'CSV'
      ? `read_csv(${fileList(paths)}, header = false, compression = 'gzip', auto_detect = false, quote = '"', ` +
        `escape = '"', columns = {${manifest.columns.map((c) => `'${c}': 'VARCHAR'`).join(', ')}})`
      : `read_parquet(${fileList(paths)})`;
  const text = (column: string) => `NULLIF(CAST("${column}" AS VARCHAR), '')`;
  const key = manifest.format === 'CSV' ? `url_decode(replace("key", '+', '%20'))` : `CAST("key" AS VARCHAR)`;
  const marker = `lower(${text('is_delete_marker')}) = 'true'`;
  const versionOnly = (expression: string) => `CASE WHEN ${marker} THEN NULL ELSE ${expression} END`;
  const lastModified = manifest.columns.includes('last_modified_date')
    ? `CAST(epoch_ms(TRY_CAST(${text('last_modified_date')} AS TIMESTAMP)) AS DOUBLE)`
    : 'NULL';
  return (
    `SELECT ${key} AS key, COALESCE(${text('version_id')}, 'null') AS version_id, ${marker} AS delete_marker, ` +
    `lower(${text('is_latest')}) = 'true' AS is_latest, ${versionOnly(`TRY_CAST(${text('size')} AS DOUBLE)`)} AS size, ` +
    `${versionOnly(`trim(${text('e_tag')}, '"')`)} AS e_tag, ${versionOnly(text('storage_class'))} AS storage_class, ` +
    `${lastModified} AS last_modified FROM ${source}`
  );
}
