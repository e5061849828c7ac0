// The manifests a job can be given, read for what the dry run says: a CSV manifest (one task a row), or an
// S3 Inventory report, whose manifest.json lists its data files (gzipped CSV) in the inventory's destination
// bucket (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html). Rows are
// counted as the objects stream in, never held: an inventory of 100 million objects is gigabytes.
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CliError, explainAwsError } from '../errors';
import { parseInventoryManifest } from '../reconcile/inventory';
import { openObject, readJson, type S3Location, s3Url } from '../s3-files';
import type { ManifestObject } from './job';

const NEWLINE = 0x0a;

/** Counts the rows of CSV text given in chunks: its lines, the last one whether or not a newline ends it. */
export function rowCounter() {
  let newlines = 0;
  let last: number | undefined;
  return {
    add(chunk: Uint8Array): void {
      for (const byte of chunk) if (byte === NEWLINE) newlines++;
      if (chunk.length > 0) last = chunk[chunk.length - 1];
    },
    rows: (): number => newlines + (last !== undefined && last !== NEWLINE ? 1 : 0),
  };
}

/** The manifest's ETag (without quotes, as CreateJob takes it) and version, for the job to pin. */
export async function headManifest(s3: S3Client, at: S3Location): Promise<ManifestObject> {
  let head;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: at.bucket, Key: at.key }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) throw new CliError(`${s3Url(at)} does not exist`, 2, { cause: error });
    throw explainAwsError(error, { kind: 'S3 object', name: s3Url(at) });
  }
  if (!head.ETag) throw new CliError(`${s3Url(at)}: HeadObject returned no ETag`);
  return { ...at, etag: head.ETag.replace(/"/g, ''), ...(head.VersionId && { versionId: head.VersionId }) };
}

/** The rows of one CSV object, gunzipped on the way when its key ends in .gz (inventory data files). */
export async function countRows(s3: S3Client, at: S3Location): Promise<number> {
  const counter = rowCounter();
  const count = async (source: AsyncIterable<Uint8Array>) => {
    for await (const chunk of source) counter.add(chunk);
  };
  const stream = await openObject(s3, at);
  try {
    await (at.key.endsWith('.gz') ? pipeline(stream, createGunzip(), count) : pipeline(stream, count));
  } catch (error) {
    throw new CliError(`${s3Url(at)}: cannot read it to the end: ${(error as Error).message}`, 2, { cause: error });
  }
  return counter.rows();
}

/** The objects an inventory lists: the rows of all its data files. */
export async function countInventoryRows(s3: S3Client, manifest: S3Location): Promise<number> {
  const { format, files } = parseInventoryManifest(await readJson(s3, manifest), manifest, ['bucket', 'key']);
  if (format !== 'CSV') {
    throw new CliError(`${s3Url(manifest)}: fileFormat ${format}; Batch Operations takes CSV inventories only`);
  }
  let rows = 0;
  for (const file of files) rows += await countRows(s3, file);
  return rows;
}
