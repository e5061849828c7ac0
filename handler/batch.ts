// S3 Batch Operations tasks, read into the same ObjectEvent a notification gives, and the response
// Batch Operations expects, as AWS documents them:
// - the request (invocationSchemaVersion 1.0: tasks[].s3BucketArn), the response and its result codes:
//   https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-invoke-lambda.html ("keys from S3
//   Batch Operations are URL encoded"; task ids not answered get treatMissingKeysAs, TemporaryFailure
//   when it is left out);
// - 2.0 (tasks[].s3Bucket, job.userArguments, s3VersionId null for an unversioned object):
//   https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_LambdaInvokeOperation.html and the AWS
//   Storage Blog's example it links ("Automate object processing in Amazon S3 directory buckets with S3
//   Batch Operations and AWS Lambda"), which AWS's own Lambda event libraries test against.
import type { S3BatchResult, S3BatchResultResult, S3BatchResultResultCode } from 'aws-lambda';
import { InvalidEventError, InvalidRecordError } from './errors';
import { checkBucket, checkKey, checkVersionId, describeType, isObject, ObjectEvent } from './event';
import { LOWEST_SEQUENCER } from './sequencer';

/** A Batch Operations task event, as AWS sends it (1.0 or 2.0). */
export interface BatchEvent {
  readonly invocationSchemaVersion: string;
  readonly invocationId: string;
  readonly job: { readonly id: string; readonly userArguments?: Readonly<Record<string, string>> };
  readonly tasks: readonly {
    readonly taskId: string;
    readonly s3Key: string;
    readonly s3VersionId: string | null;
    readonly s3BucketArn?: string;
    readonly s3Bucket?: string;
  }[];
}

export type BatchResponse = S3BatchResult;
export type BatchTaskResult = S3BatchResultResult;

/**
 * What a job does with each version, job.userArguments.mode (only 2.0 jobs carry arguments: 1.0 jobs backfill):
 * - backfill (the default): a create read with the lowest sequencer, so it lands only where the version
 *   has no item (putItemIfNewer): it fills what is missing and never touches what anything wrote.
 * - reprocess: the version re-read into its stored item, keeping the event that wrote it (records.ts,
 *   recordReread), so items of any age get the current contract while a newer event always wins.
 */
const MODES = {
  backfill: { kind: 'created', eventName: 'tap:Backfill' },
  reprocess: { kind: 'reprocess', eventName: 'tap:Reprocess' },
} as const;

/** The modes a job may name, as `tap backfill --mode` offers them. */
export type BatchMode = keyof typeof MODES;
export const BATCH_MODES = Object.keys(MODES) as BatchMode[];

/**
 * Task ids the response leaves out: only tasks without a usable taskId, which no retry can make
 * readable. PermanentFailure records them as failed at once; TemporaryFailure (AWS's default) would
 * redrive them until the job gives up.
 */
export const TREAT_MISSING_KEYS_AS: S3BatchResultResultCode = 'PermanentFailure';

/** One task: the version it names as an ObjectEvent, or why it cannot be understood. */
export type BatchTask =
  { readonly taskId: string; readonly record: ObjectEvent } | { readonly taskId: string; readonly reason: string };

export interface ParsedBatch {
  readonly invocationSchemaVersion: string;
  readonly invocationId: string;
  readonly jobId?: string;
  readonly tasks: BatchTask[];
  /** Tasks without a taskId: left out of the response (TREAT_MISSING_KEYS_AS). */
  readonly unnamed: number;
}

/** A Batch Operations event (it has invocationSchemaVersion and tasks), not an S3 notification. */
export const isBatchEvent = (event: unknown): event is Record<string, unknown> =>
  isObject(event) && 'invocationSchemaVersion' in event && 'tasks' in event;

/** The bucket name an s3BucketArn ends in ("arn:aws:s3:::name"; AWS's example also fills region and account). */
const bucketOfArn = (arn: unknown): unknown =>
  typeof arn === 'string' ? /^arn:[\w-]+:s3:[^:]*:[^:]*:([^:/]+)$/.exec(arn)?.[1] : undefined;

/**
 * Reads every task of the event as the version it names, done by the job's mode at `now`; a task for
 * another bucket than `bucketName`, or one that cannot be read, carries its reason instead. Throws
 * InvalidEventError only when the event cannot be answered at all (no invocationId or no tasks array).
 */
export function parseBatchEvent(
  event: Record<string, unknown>,
  bucketName: string | undefined,
  now: Date,
): ParsedBatch {
  const { invocationSchemaVersion: version, invocationId, job, tasks } = event;
  if (typeof version !== 'string' || typeof invocationId !== 'string' || invocationId === '' || !Array.isArray(tasks)) {
    throw new InvalidEventError(
      'not an S3 Batch Operations event: invocationSchemaVersion and invocationId must be strings and tasks an array',
    );
  }
  const jobId = isObject(job) && typeof job.id === 'string' ? job.id : undefined;
  const mode = jobMode(version, isObject(job) ? job.userArguments : undefined);
  const named = tasks.flatMap((task: unknown, index): BatchTask[] => {
    if (!isObject(task) || typeof task.taskId !== 'string' || task.taskId === '') return [];
    const { taskId } = task;
    try {
      if (typeof mode === 'string') throw new InvalidRecordError(mode);
      return [{ taskId, record: taskRecord(task, index, version, mode, bucketName, now) }];
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      return [{ taskId, reason: `${error.name}: ${error.message}` }];
    }
  });
  return { invocationSchemaVersion: version, invocationId, jobId, tasks: named, unnamed: tasks.length - named.length };
}

/** The job's mode, or why it has none this function knows. */
function jobMode(version: string, userArguments: unknown): (typeof MODES)[keyof typeof MODES] | string {
  if (version !== '1.0' && version !== '2.0') return `invocationSchemaVersion "${version}" is not 1.0 or 2.0`;
  if (userArguments !== undefined && !isObject(userArguments)) {
    return `job.userArguments is ${describeType(userArguments)}, expected an object`;
  }
  const mode = userArguments?.mode ?? 'backfill';
  return typeof mode === 'string' && Object.hasOwn(MODES, mode)
    ? MODES[mode as keyof typeof MODES]
    : `job.userArguments.mode ${JSON.stringify(mode)} is not "backfill" or "reprocess"`;
}

function taskRecord(
  task: Record<string, unknown>,
  index: number,
  version: string,
  mode: (typeof MODES)[keyof typeof MODES],
  bucketName: string | undefined,
  now: Date,
): ObjectEvent {
  const at = `tasks[${index}]`;
  const bucket =
    version === '1.0'
      ? checkBucket(bucketOfArn(task.s3BucketArn) ?? task.s3BucketArn, `${at}.s3BucketArn`, bucketName)
      : checkBucket(task.s3Bucket, `${at}.s3Bucket`, bucketName);
  return {
    index,
    kind: mode.kind,
    bucket,
    key: checkKey(task.s3Key, `${at}.s3Key`),
    ...checkVersionId(task.s3VersionId, `${at}.s3VersionId`),
    eventName: mode.eventName,
    eventTime: now.toISOString(),
    // Lower than any real event's: the version's own create or delete event always wins.
    sequencer: LOWEST_SEQUENCER,
  };
}
