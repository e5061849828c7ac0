// Objects the commands read by s3:// URL: manifests, inventory reports, exports, completion reports.
// Small JSON and CSV files are read whole; data files are streamed (to a local folder for DuckDB, which
// reads them there: no httpfs extension, so the stand-ins serve them like S3 does).
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mapBounded } from '../handler/concurrency';
import { CliError, explainingAwsErrors } from './errors';

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** The bucket an S3 ARN names ("arn:aws:s3:::name"), or the name itself: AWS gives either in manifests and reports. */
export const bucketOf = (arnOrName: string): string => arnOrName.replace(/^arn:[^:]+:s3:::/, '');

export const s3Url = ({ bucket, key }: S3Location): string => `s3://${bucket}/${key}`;

/** s3://bucket/key (key may be empty for a folder); a CliError naming `flag` otherwise. */
export function parseS3Url(url: string, flag: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new CliError(`${flag} expects an s3://bucket/key URL, got "${url}"`);
  return { bucket: match[1], key: match[2] };
}

/** The object, or undefined if it does not exist (NoSuchKey); other errors name its bucket. */
const getObject = (s3: S3Client, at: S3Location) =>
  explainingAwsErrors({ kind: 'S3 bucket', name: at.bucket }, async () => {
    try {
      return await s3.send(new GetObjectCommand({ Bucket: at.bucket, Key: at.key }));
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  });

const absent = (at: S3Location) => new CliError(`${s3Url(at)} does not exist (NoSuchKey)`);

/** The object's body, streamed; a CliError naming it if it does not exist. */
export async function openObject(s3: S3Client, at: S3Location): Promise<Readable> {
  const object = await getObject(s3, at);
  if (!object) throw absent(at);
  return object.Body as Readable;
}

/** A small object's text, or undefined when `optional` and it does not exist. */
export async function readText(s3: S3Client, at: S3Location, optional = false): Promise<string | undefined> {
  const object = await getObject(s3, at);
  if (object) return object.Body!.transformToString();
  if (optional) return undefined;
  throw absent(at);
}

/** The text of the object at `at`, parsed; a CliError naming the URL if it is not JSON. */
export function parseJson(text: string, at: S3Location): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${s3Url(at)} is not JSON: ${(error as Error).message}`, 2, { cause: error });
  }
}

/** A small JSON object, read and parsed. */
export const readJson = async (s3: S3Client, at: S3Location): Promise<unknown> =>
  parseJson((await readText(s3, at))!, at);

/** Streams each object to `directory` (4 at once); the local paths, in order, named `<name>-<n><extension>`. */
export async function download(
  s3: S3Client,
  objects: readonly S3Location[],
  directory: string,
  name: string,
  extension: string,
): Promise<string[]> {
  fs.mkdirSync(directory, { recursive: true });
  return mapBounded([...objects.entries()], 4, async ([n, at]) => {
    const local = path.join(directory, `${name}-${n}${extension}`);
    await pipeline(await openObject(s3, at), fs.createWriteStream(local));
    return local;
  });
}

/** Keys under a prefix (ListObjectsV2; only for an export folder without a manifest, as moto writes it). */
export async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await explainingAwsErrors({ kind: 'S3 bucket', name: bucket }, () =>
      s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })),
    );
    keys.push(...(page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}
