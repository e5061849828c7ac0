// A job's completion report, as the S3 User Guide documents it ("Examples: S3 Batch Operations completion
// reports", https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-examples-reports.html, and
// "Tracking job status and completion reports", batch-ops-job-status.html): under the report prefix,
// job-<id>/manifest.json (Format Report_CSV_20180820, ReportSchema, Results[] each with Bucket, Key of a
// results/<hash>.csv and its TaskExecutionStatus), and CSV rows without a header of Bucket, Key (URL-encoded
// as in the manifest), VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage. The guide's own
// example rows give the HTTP status before the code ("failed,200,PermanentFailure,..."), against its
// ReportSchema's order; the numeric one of the two is taken as the HTTP status, so either order reads the same.
// Pure: the caller reads the files (the stand-in job runner writes them: scripts/lib/batch-job.ts).
import { parse } from 'csv-parse/sync';
import { decodeS3Key } from '../../handler/event';
import { CliError } from '../errors';
import { bucketOf, type S3Location } from '../s3-files';

export const REPORT_FORMAT = 'Report_CSV_20180820';
/** Examples kept per failure code. */
export const EXAMPLES_PER_CODE = 3;

export interface ReportRow {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  readonly taskStatus: string;
  readonly errorCode: string;
  readonly httpStatus: string;
  readonly result: string;
}

export interface CompletionCounts {
  readonly tasks: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Failed tasks by error code (resultCode of the function's answer: PermanentFailure, TemporaryFailure, ...). */
  readonly failedByCode: Record<string, number>;
  readonly examples: readonly ReportRow[];
}

/** RFC 4180 CSV (csv-parse): fields quoted or not, newlines inside quotes kept, LF or CRLF, blank lines skipped. */
export const parseCsv = (text: string): string[][] =>
  parse(text, { relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] });

function parseManifest(manifestJson: string): { Format?: unknown; Results?: unknown } {
  try {
    const manifest = JSON.parse(manifestJson);
    if (manifest?.Format === REPORT_FORMAT && Array.isArray(manifest.Results)) return manifest;
  } catch (error) {
    throw new CliError(`the completion report's manifest.json is not JSON: ${(error as Error).message}`, 2, {
      cause: error,
    });
  }
  throw new CliError(`the completion report's manifest.json is not a ${REPORT_FORMAT} report (Format and Results[])`);
}

/** The result files the report's manifest.json lists (Bucket a name or an ARN). */
export function reportFiles(manifestJson: string): S3Location[] {
  return (parseManifest(manifestJson).Results as { Bucket?: string; Key?: string }[]).map((r) => ({
    bucket: bucketOf(r.Bucket ?? ''),
    key: r.Key ?? '',
  }));
}

const decoded = (key: string) => {
  try {
    return decodeS3Key(key);
  } catch {
    return key;
  }
};

function rowOf(cells: string[]): ReportRow {
  const [bucket = '', key = '', versionId = '', taskStatus = '', fifth = '', sixth = '', ...rest] = cells;
  const [httpStatus, errorCode] = /^\d+$/.test(fifth) && !/^\d+$/.test(sixth) ? [fifth, sixth] : [sixth, fifth];
  return { bucket, key: decoded(key), versionId, taskStatus, errorCode, httpStatus, result: rest.join(',') };
}

/** The tasks of a completion report (its manifest.json and the text of each result file), counted. */
export function parseCompletionReport(manifestJson: string, csvTexts: readonly string[]): CompletionCounts {
  parseManifest(manifestJson);
  const rows = csvTexts.flatMap((text) => parseCsv(text).map(rowOf));
  const failed = rows.filter((r) => r.taskStatus.toLowerCase() === 'failed');
  const failedByCode: Record<string, number> = {};
  const examples: ReportRow[] = [];
  for (const row of failed) {
    const code = row.errorCode || `HTTP ${row.httpStatus || '?'}`;
    failedByCode[code] = (failedByCode[code] ?? 0) + 1;
    if (failedByCode[code] <= EXAMPLES_PER_CODE) examples.push(row);
  }
  return {
    tasks: rows.length,
    succeeded: rows.filter((r) => r.taskStatus.toLowerCase() === 'succeeded').length,
    failed: failed.length,
    failedByCode,
    examples,
  };
}
