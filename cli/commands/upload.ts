// tap upload FILES...: uploads files (folders walked) to the uploads bucket, then waits, bounded, for
// the pipeline's item of each uploaded version and prints them as tap show does. Exit 0 when every
// upload is recorded, 1 when one failed or is not recorded in time, 2 on usage or access problems.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { lookup as mimeType } from 'mime-types';
import { passesNotificationFilter, type TapConfig } from '../../config';
import { mapBounded, settle } from '../../handler/concurrency';
import { NULL_VERSION } from '../../handler/event';
import { DeployedStack, DeployedStackOptions } from '../context';
import { CliError, explainAwsError } from '../errors';
import { formatTable, printJson } from '../output';
import { byteProgress } from '../progress';
import { itemsForKey, showRows, StoredItem } from './show';

/** Multipart above this size, in parts of this size (S3 takes parts of 5 MiB to 5 GiB). */
export const PART_SIZE = 8 * 1024 * 1024;
/**
 * S3 allows at most 10,000 parts per upload and 5 TiB per object
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
 */
const MAX_PARTS = 10_000;
const MAX_KEY_BYTES = 1024;
/** Parts of one file in flight (lib-storage buffers queueSize x partSize bytes), and files at once. */
const PART_QUEUE = 4;
const FILES_AT_ONCE = 4;

export interface PlannedUpload {
  readonly file: string;
  readonly key: string;
  readonly size: number;
}

/** Pure: 8 MiB parts, larger only where a file would need more than 10,000 of them. */
export function partPlan(size: number): { partSize: number; parts: number; multipart: boolean } {
  const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS));
  return { partSize, parts: Math.max(1, Math.ceil(size / partSize)), multipart: size > partSize };
}

/** Content-Type from the extension, as a browser would send it. */
export const contentTypeOf = (file: string): string => mimeType(file) || 'application/octet-stream';

/** Files under `root`, sorted; symbolic links to files are followed, links to folders are not. */
function filesUnder(root: string): string[] {
  return fs
    .readdirSync(root, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const child = path.join(root, entry.name);
      if (entry.isDirectory()) return filesUnder(child);
      if (entry.isFile()) return [child];
      return entry.isSymbolicLink() && fs.statSync(child, { throwIfNoEntry: false })?.isFile() ? [child] : [];
    });
}

/**
 * Every file to upload and its key: `prefix` + the path inside a folder argument, or + the name of a
 * file argument (as `npm run local` and `aws s3 cp --recursive` name them).
 */
export function planUploads(args: readonly string[], prefix = '', cwd = process.cwd()): PlannedUpload[] {
  const plan = args.flatMap((arg) => {
    const root = path.resolve(cwd, arg);
    const stat = fs.statSync(root, { throwIfNoEntry: false });
    if (!stat) throw new CliError(`${arg}: no such file or folder`);
    const files = stat.isDirectory() ? filesUnder(root) : [root];
    if (files.length === 0) throw new CliError(`${arg}: no files in this folder`);
    const base = stat.isDirectory() ? root : path.dirname(root);
    return files.map((file) => ({
      file,
      key: prefix + path.relative(base, file).split(path.sep).join('/'),
      size: fs.statSync(file).size,
    }));
  });
  const seen = new Map<string, string>();
  for (const { file, key } of plan) {
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new CliError(`${file}: key "${key}" is longer than 1024 bytes`);
    const other = seen.get(key);
    if (other) throw new CliError(`${other} and ${file} would both be uploaded as "${key}": upload them separately`);
    seen.set(key, file);
  }
  return plan;
}

/** Keys the stack's notification filter would never hand to the function. */
export function unrecordedKeys(
  keys: readonly string[],
  config: Pick<TapConfig, 'notificationPrefix' | 'notificationSuffix'>,
): string[] {
  return keys.filter((k) => !passesNotificationFilter(config, k));
}

/** What an upload produced: its version (S3 says "null" for an unversioned bucket). */
export interface Uploaded extends PlannedUpload {
  readonly versionId: string;
  /** Sequencer of the key's "null"-version item before the upload, so a stale item is not taken for the new one. */
  readonly before?: string;
}

/** Pure: whether `item` records this upload. */
export function records(item: StoredItem, upload: Pick<Uploaded, 'versionId' | 'before'>): boolean {
  if (item.versionId !== upload.versionId) return false;
  return upload.versionId !== NULL_VERSION || item.sequencer !== upload.before;
}

async function uploadOne(
  s3: S3Client,
  bucket: string,
  planned: PlannedUpload,
  onProgress: (loaded: number) => void,
): Promise<string> {
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: bucket,
      Key: planned.key,
      Body: fs.createReadStream(planned.file),
      ContentType: contentTypeOf(planned.file),
    },
    partSize: partPlan(planned.size).partSize,
    queueSize: PART_QUEUE,
  });
  upload.on('httpUploadProgress', (p) => onProgress(p.loaded ?? 0));
  const { VersionId } = await upload.done();
  return VersionId ?? NULL_VERSION;
}

/** Why an upload failed, in one line; AccessDenied names the policy writers need. */
function uploadError(error: unknown, planned: PlannedUpload, bucket: string, policyName: string): CliError {
  const { name = '', $metadata } = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (name === 'AccessDenied' || $metadata?.httpStatusCode === 403) {
    return new CliError(
      `access denied uploading ${planned.file} to s3://${bucket}/${planned.key} (${name === 'AccessDenied' ? name : 'HTTP 403'}): ` +
        `writers need the stack's uploaders policy. Attach the policy the stack's uploaders_policy_arn output names ` +
        `(IAM policy ${policyName}) to your user or role, e.g. ` +
        `aws iam attach-user-policy --user-name <you> --policy-arn <uploaders_policy_arn>`,
      2,
      { cause: error },
    );
  }
  const explained = explainAwsError(error, { kind: 'S3 bucket', name: bucket });
  const message = explained instanceof Error ? explained.message : String(explained);
  return new CliError(`upload of ${planned.file} to s3://${bucket}/${planned.key} failed: ${message}`, 1, {
    cause: error,
  });
}

/** mapBounded for calls that may throw: every call runs to its end, then the first error is thrown. */
async function mapOrThrow<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const settled = await mapBounded(items, limit, (item) => settle(fn(item)));
  return settled.map((outcome) => {
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  });
}

/** The item recording each upload, polled until all are found or `seconds` have passed. */
async function waitForItems(stack: DeployedStack, uploads: readonly Uploaded[], seconds: number) {
  const deadline = Date.now() + seconds * 1000;
  const found = new Map<Uploaded, StoredItem>();
  for (let attempt = 0; ; attempt++) {
    const pending = uploads.filter((u) => !found.has(u));
    const items = await mapOrThrow(pending, 8, async (u) =>
      (await itemsForKey(stack, u.key)).find((item) => records(item, u)),
    );
    items.forEach((item, i) => item && found.set(pending[i], item));
    const remaining = deadline - Date.now();
    if (found.size === uploads.length || remaining <= 0) break;
    // A quarter second, then half, then every second: the pipeline records most uploads within one.
    await sleep(Math.min(250 * 2 ** Math.min(attempt, 2), remaining));
  }
  return {
    items: uploads.filter((u) => found.has(u)).map((u) => found.get(u) as StoredItem),
    missing: uploads.filter((u) => !found.has(u)),
  };
}

/**
 * The sequencer of each key's "null"-version item, read before uploading. The uploaders policy grants
 * the upload only: a principal without table access learns that here, before anything is uploaded.
 */
async function itemsBefore(stack: DeployedStack, plan: readonly PlannedUpload[]) {
  try {
    return await mapOrThrow(plan, 8, async (p) => {
      const sequencer = (await itemsForKey(stack, p.key)).find((item) => item.versionId === NULL_VERSION)?.sequencer;
      return sequencer === undefined ? undefined : String(sequencer);
    });
  } catch (error) {
    if (!(error instanceof CliError && error.denied)) throw error;
    throw new CliError(
      `${error.message}. Waiting for the items needs dynamodb:Query on the table, which the uploaders policy ` +
        'does not grant: run with --wait 0 to upload without waiting, nothing was uploaded',
      2,
      { cause: error },
    );
  }
}

/** Refuses keys the stack's notification filter would keep from the function: waiting for them is pointless. */
function refuseUnrecorded(plan: readonly PlannedUpload[], config: TapConfig): void {
  const ignored = unrecordedKeys(
    plan.map((p) => p.key),
    config,
  );
  if (ignored.length === 0) return;
  throw new CliError(
    `the stack hands only keys starting with "${config.notificationPrefix}" and ending with ` +
      `"${config.notificationSuffix}" to its function (notificationPrefix, notificationSuffix), so ` +
      `${ignored.slice(0, 3).join(', ')}${ignored.length > 3 ? ', ...' : ''} would never be recorded: ` +
      'use --prefix, or --wait 0 to upload without waiting',
  );
}

function parseWait(raw: string): number {
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) {
    throw new CliError(`--wait: expected whole seconds from 0 to 3600, got "${raw}"`);
  }
  return seconds;
}

interface UploadOptions {
  prefix?: string;
  wait: string;
  json?: boolean;
}

export function registerUpload(program: Command, stackOf: (options: DeployedStackOptions) => DeployedStack): void {
  program
    .command('upload')
    .description("upload files (folders walked) to the uploads bucket, then wait for and print each version's item")
    .argument('<files...>', 'files or folders')
    .option('--prefix <prefix>', 'put this in front of every key (keys are paths inside folders, or file names)')
    .option('--wait <seconds>', 'how long to wait for the items; 0 does not wait', '60')
    .option('--json', 'print the items as one JSON array')
    .action(async (args: string[], options: UploadOptions, command: Command) => {
      const waitSeconds = parseWait(options.wait);
      const flags = command.optsWithGlobals<DeployedStackOptions>();
      const plan = planUploads(args, options.prefix);
      const stack = stackOf(flags);
      try {
        // With --bucket the filter of the stack's bucket may not apply.
        if (waitSeconds > 0 && !flags.bucket) refuseUnrecorded(plan, stack.config);
        const bucket = await stack.bucket();
        const before = waitSeconds > 0 ? await itemsBefore(stack, plan) : [];
        const uploaded = await uploadAll(stack, bucket, plan, before);
        if (waitSeconds === 0) {
          const rows = uploaded.map((u) => ({ key: u.key, versionId: u.versionId, size: u.size }));
          if (options.json) return printJson(rows);
          return console.log(formatTable(rows.map((row) => ({ ...row, size: String(row.size) }))));
        }
        const { items, missing } = await waitForItems(stack, uploaded, waitSeconds);
        if (options.json) printJson(items);
        else if (items.length > 0) {
          console.log(formatTable(showRows(items).map((row, i) => ({ key: String(items[i].objectKey), ...row }))));
        }
        for (const u of missing) console.error(`not recorded yet after ${waitSeconds} s: ${u.key}@${u.versionId}`);
        if (missing.length > 0 || uploaded.length < plan.length) process.exitCode = 1;
      } finally {
        stack.close();
      }
    });
}

/** Uploads every planned file, a few at once; failures are reported per file, or as one when all fail. */
async function uploadAll(
  stack: DeployedStack,
  bucket: string,
  plan: readonly PlannedUpload[],
  before: (string | undefined)[],
) {
  const progress = byteProgress(
    plan.reduce((sum, p) => sum + p.size, 0),
    plan.length,
  );
  const outcomes = await mapBounded(plan, FILES_AT_ONCE, async (planned, i) => {
    try {
      const versionId = await uploadOne(stack.s3, bucket, planned, (loaded) => progress.update(planned.file, loaded));
      return { ...planned, versionId, before: before[i] } as Uploaded;
    } catch (error) {
      return uploadError(error, planned, bucket, stack.names.uploadersPolicyName);
    }
  });
  progress.stop();
  const failures = outcomes.filter((o): o is CliError => o instanceof CliError);
  if (failures.length === plan.length) throw failures[0];
  for (const failure of failures) console.error(`tap: ${failure.message}`);
  return outcomes.filter((o): o is Uploaded => !(o instanceof CliError));
}
