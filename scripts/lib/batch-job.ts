// A stand-in for S3 Batch Operations running one LambdaInvoke job (moto has no S3 Control CreateJob):
// the job is the CreateJobCommandInput `tap backfill` submits, the function whatever `invoke` calls, the
// completion report written to the stand-in S3 in AWS's layout. What AWS documents, and what is assumed:
// - Manifests (https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-create-job.html): CSV
//   (S3BatchOperations_CSV_20180820, Spec.Fields Bucket,Key[,VersionId], keys URL-encoded) or an S3
//   Inventory report (S3InventoryReport_CSV_20161130: manifest.json, whose fileSchema names the columns
//   of its gzip CSV files; every row a task, delete markers too); Location.ETag must be the object's.
//   The generator (.../API/API_control_JobManifestGeneratorFilter.html): the source bucket listed with
//   KeyNameConstraint, CreatedAfter, CreatedBefore (on LastModified). Assumed, the pages not saying:
//   it yields each key's current version with its id, no delete marker, no noncurrent version. Other
//   filters are refused by name; EnableManifestOutput (S3's copy of the list, which tap backfill asks
//   for so an operator can see what a job covered) is not written: nothing here reads it back.
// - Tasks (.../userguide/batch-ops-invoke-lambda.html): one per invocation, in the request's
//   InvocationSchemaVersion, userArguments from Operation.LambdaInvoke.UserArguments; a task the answer
//   leaves out gets its treatMissingKeysAs (TemporaryFailure when absent); PermanentFailure is final.
//   Assumed (AWS documents neither count nor timing): TemporaryFailure and function errors (a throw)
//   are retried MAX_RETRIES times, BACKOFF_MS x 2^n apart, off their invocation slot; a function error
//   left at the end is failed with PermanentFailure, "Lambda returned function error: {...}", as in
//   AWS's example report.
// - Report (.../userguide/batch-ops-examples-reports.html): <Prefix>/job-<id>/manifest.json (Format
//   Report_CSV_20180820, Results[] of TaskExecutionStatus, Bucket, MD5Checksum, Key; ReportSchema) and
//   a CSV per status under <Prefix>/job-<id>/results/ (FailedTasksOnly: the failed one). Rows as AWS's
//   example rows: Bucket, Key (percent-encoded), VersionId, TaskStatus, HTTP status 200, error code
//   (empty when succeeded), ResultMessage; the ReportSchema string, which names ErrorCode before
//   HTTPStatusCode, is written verbatim. Manifests and reports are read and written whole.
import { createHash, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CreateJobCommandInput } from '@aws-sdk/client-s3-control';
import type { BatchEvent, BatchResponse } from '../../handler/batch';
import { parseCompletionReport, parseCsv, reportFiles } from '../../cli/backfill/report';
import { manifestKey } from '../../cli/reconcile/manifest';
import { decodeS3Key } from '../../handler/event';
import { batchEvent, TaskInput } from '../../fixtures/batch-events';
import { errorPayload, limiter } from './delivery';
import { everyVersion } from './soak-mirror';

/** Retries of a task after its first invocation (assumed: AWS documents no count). */
export const MAX_RETRIES = 3;
/** The first retry's delay; each next one doubles (assumed). */
export const BACKOFF_MS = 100;
const REPORT_SCHEMA = 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage';

export interface JobDependencies {
  /** Reads the manifest (or lists the source bucket) and writes the report. */
  readonly s3: S3Client;
  /** The function: one invocation with `event`; a throw is a function error. */
  readonly invoke: (event: BatchEvent) => Promise<BatchResponse>;
  /** Invocations in flight at once (the function's reserved concurrency). */
  readonly concurrency: number;
  readonly jobId?: string;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** One task's end, as the completion report records it. */
type TaskResult = TaskInput & { status: 'succeeded' | 'failed'; errorCode: string; message: string };

/** "arn:aws:s3:::bucket[/key]" as its bucket and key. */
function fromArn(arn: string | undefined, what: string): { bucket: string; key: string } {
  const match = /^arn:[\w-]+:s3:[^:]*:[^:]*:([^/]+)(?:\/(.*))?$/.exec(arn ?? '');
  if (!match) throw new Error(`${what} is not an S3 ARN: ${JSON.stringify(arn)}`);
  return { bucket: match[1], key: match[2] ?? '' };
}

const csvField = (value: string) => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

async function getObject(s3: S3Client, bucket: string, key: string, etag?: string): Promise<Buffer> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (etag && answer.ETag?.replace(/"/g, '') !== etag.replace(/"/g, ''))
    throw new Error(`the manifest s3://${bucket}/${key} has ETag ${answer.ETag}, the job names ${etag}`);
  return Buffer.from(await answer.Body!.transformToByteArray());
}

/** Rows of `columns` as tasks (keys URL-encoded, as manifests and inventories hold them). */
function tasksOf(csv: string, columns: readonly string[]): TaskInput[] {
  const at = (name: string) => columns.indexOf(name);
  const [b, k, v] = [at('Bucket'), at('Key'), at('VersionId')];
  if (b < 0 || k < 0) throw new Error(`the manifest's columns ${columns.join(',')} lack Bucket or Key`);
  return parseCsv(csv).map((f) => ({
    bucket: f[b],
    key: decodeS3Key(f[k], 'manifest Key'),
    versionId: v >= 0 && f[v] ? f[v] : null,
  }));
}

/** The tasks a job's manifest names, or its manifest generator yields. */
export async function jobTasks(s3: S3Client, request: CreateJobCommandInput): Promise<TaskInput[]> {
  const generator = request.ManifestGenerator?.S3JobManifestGenerator;
  if (generator) return generatedTasks(s3, generator);
  const { Spec, Location } = request.Manifest ?? {};
  const where = fromArn(Location?.ObjectArn, 'Manifest.Location.ObjectArn');
  const body = await getObject(s3, where.bucket, where.key, Location?.ETag);
  if (Spec?.Format === 'S3BatchOperations_CSV_20180820') {
    return tasksOf(body.toString('utf8'), Spec.Fields ?? ['Bucket', 'Key']);
  }
  if (Spec?.Format === 'S3InventoryReport_CSV_20161130') {
    const inventory = JSON.parse(body.toString('utf8')) as {
      destinationBucket: string;
      fileFormat: string;
      fileSchema: string;
      files: { key: string }[];
    };
    if (inventory.fileFormat !== 'CSV') throw new Error(`inventory fileFormat ${inventory.fileFormat} is not CSV`);
    const columns = inventory.fileSchema.split(',').map((c) => c.trim());
    const destination = fromArn(inventory.destinationBucket, 'the inventory destinationBucket').bucket;
    const files = await Promise.all(inventory.files.map((f) => getObject(s3, destination, f.key)));
    const gunzip = promisify(zlib.gunzip);
    const texts = await Promise.all(files.map(async (f) => (await gunzip(f)).toString('utf8')));
    return texts.flatMap((text) => tasksOf(text, columns));
  }
  throw new Error(`Manifest.Spec.Format ${JSON.stringify(Spec?.Format)} is not a manifest format the stand-in reads`);
}

type Generator = NonNullable<NonNullable<CreateJobCommandInput['ManifestGenerator']>['S3JobManifestGenerator']>;

/** The source bucket's current versions that pass the generator's filter. */
async function generatedTasks(s3: S3Client, generator: Generator): Promise<TaskInput[]> {
  const { KeyNameConstraint: names, CreatedAfter, CreatedBefore, ...other } = generator.Filter ?? {};
  const unsupported = Object.keys(other).filter((k) => other[k as keyof typeof other] !== undefined);
  if (unsupported.length > 0)
    throw new Error(`the stand-in's manifest generator does not do ${unsupported.join(', ')}`);
  const bucket = fromArn(generator.SourceBucket, 'ManifestGenerator SourceBucket').bucket;
  const passes = (key: string, at: Date) =>
    (!names?.MatchAnyPrefix?.length || names.MatchAnyPrefix.some((p) => key.startsWith(p))) &&
    (!names?.MatchAnySuffix?.length || names.MatchAnySuffix.some((s) => key.endsWith(s))) &&
    (!names?.MatchAnySubstring?.length || names.MatchAnySubstring.some((s) => key.includes(s))) &&
    (!CreatedAfter || at > CreatedAfter) &&
    (!CreatedBefore || at < CreatedBefore);
  return [...(await everyVersion(s3, bucket)).values()]
    .filter((v) => v.latest && !v.marker && passes(v.key, v.lastModified))
    .map((v) => ({ bucket, key: v.key, versionId: v.versionId }));
}

/** Runs the job to its end: every task invoked (and retried) at `concurrency`, then the report; its counts. */
export async function runJob(request: CreateJobCommandInput, deps: JobDependencies) {
  const started = Date.now();
  const jobId = deps.jobId ?? randomUUID();
  const lambda = request.Operation?.LambdaInvoke;
  if (!lambda) throw new Error('the stand-in runs LambdaInvoke jobs only (Operation.LambdaInvoke is missing)');
  const version = lambda.InvocationSchemaVersion === '2.0' ? '2.0' : '1.0';
  const userArguments = version === '2.0' ? lambda.UserArguments : undefined;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const tasks = await jobTasks(deps.s3, request);
  const slot = limiter(deps.concurrency);
  const counts = { invocations: 0, retries: 0 };

  const attempt = (task: TaskInput, taskId: string) =>
    slot(async (): Promise<{ code: string; message: string; functionError: boolean }> => {
      counts.invocations++;
      const event = batchEvent([{ ...task, taskId }], { version, userArguments, jobId, invocationId: randomUUID() });
      try {
        const response = await deps.invoke(event);
        const result = response.results.find((r) => r.taskId === taskId);
        return result
          ? { code: result.resultCode, message: result.resultString ?? '', functionError: false }
          : {
              code: response.treatMissingKeysAs ?? 'TemporaryFailure',
              message: 'no result for the task',
              functionError: false,
            };
      } catch (error) {
        const message = `Lambda returned function error: ${JSON.stringify(errorPayload(error))}`;
        return { code: 'TemporaryFailure', message, functionError: true };
      }
    });

  const results = await Promise.all(
    tasks.map(async (task, index): Promise<TaskResult> => {
      const taskId = `${jobId}-${index}`;
      for (let n = 0; ; n++) {
        const { code, message, functionError } = await attempt(task, taskId);
        if (code === 'Succeeded') return { ...task, status: 'succeeded', errorCode: '', message };
        if (code !== 'TemporaryFailure' || n >= MAX_RETRIES) {
          const errorCode = functionError ? 'PermanentFailure' : code;
          return { ...task, status: 'failed', errorCode, message };
        }
        counts.retries++;
        await sleep(BACKOFF_MS * 2 ** n);
      }
    }),
  );

  const failed = results.filter((r) => r.status === 'failed');
  const tally = (values: string[]) => {
    const counts: Record<string, number> = {};
    for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
    return counts;
  };
  // invocations and retries (after a TemporaryFailure or a function error) in counts; succeeded tasks
  // by the function's resultString (the handler's outcome), failed ones by their last error code; the
  // report's manifest.json as an s3:// URL, when a report was asked for.
  return {
    jobId,
    tasks: tasks.length,
    succeeded: results.length - failed.length,
    failed: failed.length,
    outcomes: tally(results.filter((r) => r.status === 'succeeded').map((r) => r.message)),
    failedByCode: tally(failed.map((r) => r.errorCode)),
    ...counts,
    report: request.Report?.Enabled ? await writeReport(deps.s3, request.Report, jobId, results) : undefined,
    ms: Date.now() - started,
  };
}

/** The completion report of `results` in AWS's layout; resolves to the s3:// URL of its manifest.json. */
async function writeReport(
  s3: S3Client,
  report: NonNullable<CreateJobCommandInput['Report']>,
  jobId: string,
  results: readonly TaskResult[],
): Promise<string> {
  if (report.Format !== 'Report_CSV_20180820')
    throw new Error(`Report.Format ${report.Format} is not Report_CSV_20180820`);
  const { bucket } = fromArn(report.Bucket, 'Report.Bucket');
  const base = `${report.Prefix ? `${report.Prefix.replace(/\/$/, '')}/` : ''}job-${jobId}`;
  const statuses =
    report.ReportScope === 'FailedTasksOnly' ? (['failed'] as const) : (['succeeded', 'failed'] as const);
  const files = [];
  for (const status of statuses) {
    const rows = results.filter((r) => r.status === status);
    if (rows.length === 0) continue;
    const body = rows
      .map((r) =>
        [r.bucket, manifestKey(r.key), r.versionId ?? '', r.status, '200', r.errorCode, r.message]
          .map(csvField)
          .join(','),
      )
      .join('\n')
      .concat('\n');
    const key = `${base}/results/${createHash('sha1').update(`${jobId} ${status}`).digest('hex')}.csv`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv' }));
    const md5 = createHash('md5').update(body).digest('hex');
    files.push({ TaskExecutionStatus: status, Bucket: bucket, MD5Checksum: md5, Key: key });
  }
  const manifest = {
    Format: 'Report_CSV_20180820',
    ReportCreationDate: new Date().toISOString(),
    Results: files,
    ReportSchema: REPORT_SCHEMA,
  };
  const key = `${base}/manifest.json`;
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(manifest), ContentType: 'application/json' }),
  );
  return `s3://${bucket}/${key}`;
}

/**
 * A completion report read back as `tap backfill status` reads it (cli/backfill/report.ts), so the
 * stand-in's layout and the command's reading are checked against each other; and its MD5 checksums.
 */
export async function readReport(s3: S3Client, url: string) {
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(url) ?? [];
  const manifestJson = (await getObject(s3, bucket, key)).toString('utf8');
  const { Results } = JSON.parse(manifestJson) as { Results: { MD5Checksum: string }[] };
  const files = await Promise.all(reportFiles(manifestJson).map((file) => getObject(s3, file.bucket, file.key)));
  const md5Matches = files.every((f, i) => createHash('md5').update(f).digest('hex') === Results[i].MD5Checksum);
  return { counts: parseCompletionReport(manifestJson, files.map(String)), md5Matches };
}
