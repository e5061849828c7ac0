// The table side of reconcile from a DynamoDB export to S3 (DYNAMODB_JSON) instead of Query and Scan:
// no read capacity used. AWS's layout ("DynamoDB table export output format",
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):
// <prefix>/AWSDynamoDB/<export-id>/manifest-summary.json (manifestFilesS3Key, outputFormat),
// manifest-files.json (one JSON line per data file: dataFileS3Key), data/<name>.json.gz, each line
// {"Item": {<attribute>: {<type>: value}}}. moto 5.2.5 (moto/dynamodb/models/table_export.py) writes only
// one data file, <S3Prefix>/AWSDynamoDB/<uuid>/data/<uuid>.gz (a uuid of its own, not the export's id),
// with the same lines and no manifest: a folder without manifest-summary.json has its data/*.gz listed.
// `--export new` starts ExportTableToPointInTime (the stack's table has point-in-time recovery on) and
// polls DescribeExport until it is COMPLETED.
import {
  DescribeExportCommand,
  DynamoDBClient,
  ExportDescription,
  ExportTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { TABLE_KEY_SCHEMA } from '../../config';
import { CliError } from '../errors';
import type { Clock } from './pacing';
import { fileList } from './inventory';
import { keysUnder, parseS3Url, parseJson, readText, S3Location, s3Url } from '../s3-files';

const folderOf = (bucket: string, ...parts: (string | undefined)[]): S3Location => ({
  bucket,
  key: parts
    .filter((p): p is string => Boolean(p))
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .join('/')
    .concat('/'),
});

/** The data files of the export in `folder`: from its manifests (AWS), or its data/*.gz (moto). */
async function dataFilesIn(s3: S3Client, folder: S3Location): Promise<S3Location[] | undefined> {
  const summaryAt = { bucket: folder.bucket, key: `${folder.key}manifest-summary.json` };
  const summaryText = await readText(s3, summaryAt, true);
  if (summaryText === undefined) {
    const keys = await keysUnder(s3, folder.bucket, folder.key);
    const data = keys.filter((key) => /\/data\/[^/]+\.gz$/.test(key)).map((key) => ({ bucket: folder.bucket, key }));
    return data.length > 0 ? data : undefined;
  }
  const summary = parseJson(summaryText, summaryAt) as Record<string, unknown>;
  const fail = (what: string): never => {
    throw new CliError(`export manifest ${s3Url(summaryAt)}: ${what}`);
  };
  if (summary.outputFormat !== undefined && summary.outputFormat !== 'DYNAMODB_JSON') {
    fail(`outputFormat "${String(summary.outputFormat)}" is not DYNAMODB_JSON: export the table as DYNAMODB_JSON`);
  }
  const filesKey = summary.manifestFilesS3Key;
  if (typeof filesKey !== 'string' || filesKey === '') return fail('"manifestFilesS3Key" is missing');
  const filesAt = { bucket: folder.bucket, key: filesKey };
  const lines = (await readText(s3, filesAt))!.split('\n').filter((line) => line.trim() !== '');
  return lines.map((line, i) => {
    let key: unknown;
    try {
      key = (JSON.parse(line) as { dataFileS3Key?: unknown }).dataFileS3Key;
    } catch {
      key = undefined;
    }
    if (typeof key !== 'string') throw new CliError(`${s3Url(filesAt)} line ${i + 1}: "dataFileS3Key" is missing`);
    return { bucket: folder.bucket, key };
  });
}

/** DescribeExport's description of the export. */
export async function describeExport(dynamodb: DynamoDBClient, arn: string): Promise<ExportDescription> {
  const { ExportDescription: description } = await dynamodb.send(new DescribeExportCommand({ ExportArn: arn }));
  if (!description) throw new CliError(`DescribeExport of ${arn} returned no description`);
  return description;
}

/** --export: an export ARN (DescribeExport gives its bucket and prefix) or the s3:// URL of its folder. */
export async function exportDataFiles(
  clients: { readonly s3: S3Client; readonly dynamodb: DynamoDBClient },
  spec: string,
  table: string,
): Promise<S3Location[]> {
  let folders: S3Location[];
  if (spec.startsWith('arn:')) {
    const description = await describeExport(clients.dynamodb, spec);
    if (description.ExportStatus !== 'COMPLETED') {
      throw new CliError(`export ${spec} is ${description.ExportStatus ?? 'of no status'}, not COMPLETED`);
    }
    if (description.TableArn && !description.TableArn.endsWith(`:table/${table}`)) {
      throw new CliError(`export ${spec} is of ${description.TableArn}, not of table "${table}"`);
    }
    if (description.ExportFormat && description.ExportFormat !== 'DYNAMODB_JSON') {
      throw new CliError(`export ${spec} is ${description.ExportFormat}: reconcile reads DYNAMODB_JSON exports`);
    }
    const bucket = description.S3Bucket!;
    const id = /\/export\/([^/]+)$/.exec(spec)?.[1];
    // AWS: <prefix>/AWSDynamoDB/<export id>/; moto: a folder of its own under <prefix>/AWSDynamoDB/.
    folders = [
      folderOf(bucket, description.S3Prefix, 'AWSDynamoDB', id),
      folderOf(bucket, description.S3Prefix, 'AWSDynamoDB'),
    ];
  } else {
    const at = parseS3Url(spec, '--export');
    folders = [folderOf(at.bucket, at.key)];
  }
  for (const folder of folders) {
    const files = await dataFilesIn(clients.s3, folder);
    if (files) return files;
  }
  throw new CliError(
    `${s3Url(folders[0])} holds no DynamoDB export: no manifest-summary.json and no data/*.gz under it`,
  );
}

/** Where `--export new` writes: the folder DescribeExport names. */
export const EXPORT_PREFIX = 'tap-reconcile';

/**
 * Starts an export of the table (its state now) to `bucket` and waits for it, polling DescribeExport
 * (1 s, doubling up to 30 s); its ARN. FAILED is a CliError with AWS's reason.
 */
export async function exportTableNow(
  dynamodb: DynamoDBClient,
  options: { tableArn: string; table: string; bucket: string; clock: Clock; onStatus: (line: string) => void },
): Promise<string> {
  const { ExportDescription: started } = await dynamodb.send(
    new ExportTableToPointInTimeCommand({
      TableArn: options.tableArn,
      S3Bucket: options.bucket,
      S3Prefix: `${EXPORT_PREFIX}/${options.table}`,
      ExportFormat: 'DYNAMODB_JSON',
    }),
  );
  const arn = started?.ExportArn;
  if (!arn) throw new CliError(`ExportTableToPointInTime of ${options.table} returned no ExportArn`);
  const since = options.clock.now();
  for (let wait = 1000; ; wait = Math.min(wait * 2, 30_000)) {
    const description = await describeExport(dynamodb, arn);
    const status = description.ExportStatus;
    if (status === 'COMPLETED') return arn;
    if (status === 'FAILED') {
      throw new CliError(
        `export ${arn} failed: ${description.FailureCode ?? 'no code'}: ${description.FailureMessage ?? 'no message'}`,
        1,
      );
    }
    options.onStatus(`export ${arn}: ${status}, ${Math.round((options.clock.now() - since) / 1000)} s`);
    await options.clock.sleep(wait);
  }
}

/**
 * SQL for the table side from the downloaded data files: key, version_id and what classifyKey reads
 * of an item (status, delete_marker, size, e_tag, storage_class), from DynamoDB JSON.
 */
export function exportSql(paths: readonly string[]): string {
  const attribute = (name: string, type: string) => `json_extract_string("Item", '$.${name}.${type}')`;
  return (
    `SELECT ${attribute(TABLE_KEY_SCHEMA.partitionKey, 'S')} AS key, ${attribute(TABLE_KEY_SCHEMA.sortKey, 'S')} AS version_id, ` +
    `${attribute('status', 'S')} AS status, CAST(json_extract("Item", '$.deleteMarker.BOOL') AS BOOLEAN) AS delete_marker, ` +
    `TRY_CAST(${attribute('size', 'N')} AS DOUBLE) AS size, ${attribute('eTag', 'S')} AS e_tag, ` +
    `${attribute('storageClass', 'S')} AS storage_class ` +
    `FROM read_json(${fileList(paths)}, format = 'newline_delimited', compression = 'gzip', columns = {'Item': 'JSON'})`
  );
}
