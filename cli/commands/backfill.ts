// tap backfill: an S3 Batch Operations job that invokes the function once per object version (mode backfill:
// fill only what has no item; reprocess: re-read items into the current contract, never over a newer
// event: handler/batch.ts), over S3's own listing of the bucket, an S3 Inventory report or a CSV manifest.
// --dry-run shows the request, the count, the ETA and the cost and creates nothing; otherwise it asks
// first. `tap backfill status <job-id>` follows a job and reads its completion report. The request and
// the figures come from cli/backfill/ (pure); the S3 Control calls are here.
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import {
  CreateJobCommand,
  CreateJobCommandInput,
  DescribeJobCommand,
  JobDescriptor,
  S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { arn } from '../../config';
import { DeployedStack, DeployedStackOptions } from '../context';
import { CliError, explainAwsError, explainingAwsErrors } from '../errors';
import { BATCH_MODES, BatchMode } from '../../handler/batch';
import { printJson } from '../output';
import { ratesOf } from '../reconcile/pacing';
import {
  checkManifestPlace,
  createJobRequest,
  JobTarget,
  ManifestSource,
  partitionOf,
  REPORTS_PREFIX,
} from '../backfill/job';
import {
  Estimate,
  estimate,
  Eta,
  formatDuration,
  OBJECTS_PER_INSTANCE_SECOND,
  UTILIZATION,
} from '../backfill/estimate';
import { countInventoryRows, countRows, headManifest } from '../backfill/manifest';
import { bucketOf, parseS3Url, readText, s3Url } from '../s3-files';
import { CompletionCounts, parseCompletionReport, reportFiles } from '../backfill/report';
import { BACKFILL_PRICES } from '../backfill/prices';

export interface BackfillFlags {
  readonly mode: BatchMode;
  readonly prefix?: string;
  readonly inventory?: string;
  readonly manifest?: string;
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
}

/** How a stack gets its Batch Operations role and operations bucket. */
const TURN_ON =
  'set TAP_ENABLE_BATCH_OPERATIONS=true (or "enableBatchOperations": true in cdktf.json context "tap"), then npx cdktf deploy';
export const NOT_ENABLED = `this stack has no S3 Batch Operations role (enableBatchOperations is false): ${TURN_ON}`;

/** The stack's role, function and buckets for a job; a CliError saying how to turn it on when it has none. */
export async function jobTarget(stack: DeployedStack): Promise<JobTarget> {
  if (!stack.config.enableBatchOperations) throw new CliError(NOT_ENABLED);
  const [account, uploadsBucket] = [await stack.account(), await stack.bucket()];
  const partition = partitionOf(stack.region);
  const operationsBucket = stack.names.operationsBucketName(account, stack.region);
  try {
    await stack.s3.send(new HeadBucketCommand({ Bucket: operationsBucket }));
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) {
      throw explainAwsError(error, { kind: 'S3 bucket', name: operationsBucket });
    }
    throw new CliError(
      `operations bucket "${operationsBucket}" does not exist: the deployed stack has no Batch Operations role yet; ${TURN_ON}`,
      2,
      { cause: error },
    );
  }
  return {
    account,
    partition,
    functionArn: arn(partition, 'lambda', stack.region, account, `function:${stack.names.functionName}`),
    roleArn: arn(partition, 'iam', '', account, `role/${stack.names.batchOperationsRoleName}`),
    uploadsBucket,
    operationsBucket,
  };
}

/** The manifest the flags name, and the objects it lists (undefined for S3's generator: it counts as it lists). */
export async function manifestSource(
  stack: DeployedStack,
  target: JobTarget,
  flags: BackfillFlags,
  now: Date,
): Promise<{ source: ManifestSource; objects: number | undefined }> {
  if (flags.inventory && flags.manifest) throw new CliError('--inventory and --manifest: give one of them, not both');
  const given = flags.inventory ?? flags.manifest;
  if (!given) {
    const { notificationPrefix, notificationSuffix } = stack.config;
    const prefix = flags.prefix ?? notificationPrefix;
    return {
      source: { kind: 'generator', prefix, suffix: notificationSuffix, createdBefore: now },
      objects: undefined,
    };
  }
  const flag = flags.inventory ? '--inventory' : '--manifest';
  if (flags.prefix !== undefined) {
    throw new CliError(`--prefix filters S3's own listing only; with ${flag} the manifest decides the objects`);
  }
  const location = parseS3Url(given, flag);
  checkManifestPlace(location, target.operationsBucket, flag);
  const object = await headManifest(stack.s3, location);
  const objects = flags.inventory ? await countInventoryRows(stack.s3, location) : await countRows(stack.s3, location);
  return { source: { kind: flags.inventory ? 'inventory' : 'csv', ...object }, objects };
}

/** The table's capacity now (on demand: what reconcile assumes) and the stack's limits, for the ETA. */
async function estimateFor(
  stack: DeployedStack,
  flags: BackfillFlags,
  objects: number | undefined,
  generator: boolean,
) {
  const described = await explainingAwsErrors({ kind: 'DynamoDB table', name: stack.table }, () =>
    stack.dynamodb.send(new DescribeTableCommand({ TableName: stack.table })),
  );
  const capacity = ratesOf(described.Table, { read: 1, write: 1 });
  const { config } = stack;
  return estimate({
    objects,
    mode: flags.mode,
    generator,
    writeCapacity: capacity.writePerSecond,
    readCapacity: capacity.readPerSecond,
    maxWriteCapacity: config.tableMaxWriteCapacity,
    reservedConcurrency: config.lambdaReservedConcurrency,
    memoryMb: config.lambdaMemoryMb,
  });
}

const count = (n: number) => n.toLocaleString('en-US');
const dollars = (n: number) => `$${n.toFixed(2)}`;

const etaLine = (e: Eta, what: string) =>
  `${formatDuration(e.fastestSeconds)} to ${formatDuration(e.slowestSeconds)} at ${count(e.writeCapacity)} WCU (${what})` +
  (e.boundBy === 'reads'
    ? `, bounded by the read capacity: reprocess reads each item (~${count(e.objectsPerSecond)} objects/s)`
    : e.boundBy === 'function'
      ? `, bounded by lambdaReservedConcurrency (~${count(e.objectsPerSecond)} objects/s): ` +
        `${Math.ceil(e.writeCapacity / OBJECTS_PER_INSTANCE_SECOND)} would keep up`
      : '');

function manifestLine(request: CreateJobCommandInput): string {
  const generator = request.ManifestGenerator?.S3JobManifestGenerator;
  if (generator) {
    const filter = generator.Filter;
    const prefix = filter?.KeyNameConstraint?.MatchAnyPrefix?.[0];
    const suffix = filter?.KeyNameConstraint?.MatchAnySuffix?.[0];
    return (
      `S3's manifest generator over ${generator.SourceBucket}: objects created before ${filter?.CreatedBefore?.toISOString()}` +
      `${prefix ? `, prefix "${prefix}"` : ''}${suffix ? `, suffix "${suffix}"` : ''}; the list kept under manifests/`
    );
  }
  const { Spec, Location } = request.Manifest ?? {};
  return `${Spec?.Format} ${Location?.ObjectArn} (ETag ${Location?.ETag}${Location?.ObjectVersionId ? `, version ${Location.ObjectVersionId}` : ''})`;
}

/** The request and the figures, for a person. */
export function planLines(request: CreateJobCommandInput, figures: Estimate): string[] {
  const invoke = request.Operation?.LambdaInvoke;
  const { eta, cost } = figures;
  const objects =
    figures.objects === null
      ? 'unknown, S3 counts as it lists the bucket (the figures below are per million objects)'
      : count(figures.objects);
  const percent = (n: number) => `${Math.round(n * 100)}%`;
  return [
    `  manifest   ${manifestLine(request)}`,
    `  invokes    ${invoke?.FunctionArn} (schema ${invoke?.InvocationSchemaVersion}, mode ${invoke?.UserArguments?.mode})`,
    `  runs as    ${request.RoleArn}`,
    `  report     ${request.Report?.ReportScope === 'FailedTasksOnly' ? 'failed tasks' : 'all tasks'} to ` +
      s3Url({ bucket: bucketOf(request.Report?.Bucket ?? ''), key: `${REPORTS_PREFIX}/job-<id>/` }),
    `  objects    ${objects}`,
    `  ETA        ${etaLine(eta.atWriteCapacity, "the table's write capacity")}`,
    ...(eta.atMaxWriteCapacity.writeCapacity > eta.atWriteCapacity.writeCapacity
      ? [`             ${etaLine(eta.atMaxWriteCapacity, 'tableMaxWriteCapacity')}`]
      : []),
    `             (1 WCU an object, at ${percent(UTILIZATION.low)} to ${percent(UTILIZATION.high)} of the capacity)`,
    `  cost       ${dollars(cost.total)}: Batch Operations ${dollars(cost.batchOperations)}, Lambda ${dollars(cost.lambda)}, ` +
      `S3 requests ${dollars(cost.s3Requests)}, DynamoDB ${dollars(cost.dynamodb)} (provisioned: the capacity-hours ` +
      `the writes occupy, paid anyway within the base capacity); ${BACKFILL_PRICES.region} prices of ${BACKFILL_PRICES.asOf}`,
  ];
}

/** y/N on a terminal (asked on stderr, so --json output stays one document); without one, a refusal. */
async function confirmed(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new CliError(
      'not creating a Batch Operations job unasked: no terminal to ask on; pass --yes (see it first with --dry-run)',
    );
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

export async function runBackfill(stack: DeployedStack, flags: BackfillFlags, now = new Date()): Promise<void> {
  const target = await jobTarget(stack);
  const { source, objects } = await manifestSource(stack, target, flags, now);
  const request = createJobRequest(target, source, flags.mode);
  const figures = await estimateFor(stack, flags, objects, source.kind === 'generator');
  if (flags.dryRun && flags.json) return printJson({ dryRun: true, request, estimate: figures });
  if (!flags.json) {
    const job = `${flags.mode} of ${target.uploadsBucket}`;
    console.log(
      flags.dryRun
        ? `Dry run, nothing created: tap backfill would submit this job (${job})`
        : `tap backfill: this job (${job})`,
    );
    for (const line of planLines(request, figures)) console.log(line);
  }
  if (flags.dryRun) return;
  if (!flags.yes && !(await confirmed('Create this S3 Batch Operations job?'))) {
    throw new CliError('not confirmed: nothing created', 1);
  }
  const created = await explainingAwsErrors({ kind: 'S3 Batch Operations job', name: request.Description ?? '' }, () =>
    stack.client(S3ControlClient).send(new CreateJobCommand(request)),
  );
  if (flags.json) return printJson({ jobId: created.JobId, request, estimate: figures });
  console.log(`created job ${created.JobId}; follow it with: npx tap backfill status ${created.JobId}`);
}

/** What `tap backfill status` prints with --json. */
export interface StatusJson {
  readonly jobId: string;
  readonly status: string;
  readonly statusUpdateReason?: string;
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly elapsedSeconds: number;
  readonly failureReasons: readonly { code: string; reason: string }[];
  /** From the completion report once the job has ended; null before, or when S3 wrote none. */
  readonly report: CompletionCounts | null;
}

const ENDED = new Set(['Complete', 'Failed', 'Cancelled']);

/** Failures remain: failed tasks, or a job that failed as a whole (its manifest unreadable, say). */
export const statusExitCode = (json: Pick<StatusJson, 'status' | 'failed'>): number =>
  json.failed > 0 || json.status === 'Failed' ? 1 : 0;

/** The completion report of an ended job, read from where the job wrote it; null when there is none. */
async function completionReport(stack: DeployedStack, job: JobDescriptor): Promise<CompletionCounts | null> {
  if (!ENDED.has(job.Status ?? '') || !job.Report?.Enabled || !job.Report.Bucket) return null;
  const bucket = bucketOf(job.Report.Bucket);
  const key = `${job.Report.Prefix ? `${job.Report.Prefix}/` : ''}job-${job.JobId}/manifest.json`;
  // S3 writes a report once a task ran; a job that failed before any did has none.
  const manifest = await readText(stack.s3, { bucket, key }, true);
  if (manifest === undefined) return null;
  const texts: string[] = [];
  for (const file of reportFiles(manifest)) texts.push((await readText(stack.s3, file))!);
  return parseCompletionReport(manifest, texts);
}

export async function jobStatus(stack: DeployedStack, jobId: string): Promise<StatusJson> {
  const account = await stack.account();
  const { Job: job } = await explainingAwsErrors({ kind: 'S3 Batch Operations job', name: jobId }, () =>
    stack.client(S3ControlClient).send(new DescribeJobCommand({ AccountId: account, JobId: jobId })),
  );
  if (!job) throw new CliError(`S3 Batch Operations job "${jobId}": DescribeJob returned no job`);
  const progress = job.ProgressSummary ?? {};
  return {
    jobId,
    status: job.Status ?? 'unknown',
    ...(job.StatusUpdateReason && { statusUpdateReason: job.StatusUpdateReason }),
    total: progress.TotalNumberOfTasks ?? 0,
    succeeded: progress.NumberOfTasksSucceeded ?? 0,
    failed: progress.NumberOfTasksFailed ?? 0,
    elapsedSeconds: progress.Timers?.ElapsedTimeInActiveSeconds ?? 0,
    failureReasons: (job.FailureReasons ?? []).map((f) => ({
      code: f.FailureCode ?? '',
      reason: f.FailureReason ?? '',
    })),
    report: await completionReport(stack, job),
  };
}

export function statusLines(json: StatusJson): string[] {
  const lines = [
    `job ${json.jobId}: ${json.status}${json.statusUpdateReason ? ` (${json.statusUpdateReason})` : ''}`,
    `tasks      ${count(json.total)}: succeeded ${count(json.succeeded)}, failed ${count(json.failed)}, ` +
      `${count(Math.max(0, json.total - json.succeeded - json.failed))} to go; ${formatDuration(json.elapsedSeconds)} active`,
    ...json.failureReasons.map((f) => `job failure ${f.code}: ${f.reason}`),
  ];
  const report = json.report;
  if (report) {
    const codes = Object.entries(report.failedByCode).map(([code, n]) => `${code} ${count(n)}`);
    lines.push(`report     ${count(report.failed)} failed task(s)${codes.length > 0 ? `: ${codes.join(', ')}` : ''}`);
    for (const e of report.examples) {
      lines.push(`  ${e.errorCode || e.httpStatus} ${e.key}@${e.versionId || 'null'}: ${e.result}`);
    }
  }
  if (json.failed > 0) {
    lines.push(
      `${count(json.failed)} task(s) failed: fix the cause, then run the job again (a backfill writes only what is still missing)`,
    );
  } else if (json.status === 'Failed')
    lines.push('the job failed: fix what its failure reasons say, then submit it again');
  else lines.push('no failed tasks');
  return lines;
}

export function registerBackfill(program: Command, stackOf: (options: DeployedStackOptions) => DeployedStack): void {
  const backfill = program
    .command('backfill')
    .description("an S3 Batch Operations job that runs every object version through the function (AWS's engine)")
    .addOption(
      new Option('--mode <mode>', 'backfill: fill what has no item; reprocess: rewrite items')
        .choices(BATCH_MODES)
        .default('backfill'),
    )
    .option('--prefix <prefix>', "S3's listing: only keys with this prefix (default: the stack's notificationPrefix)")
    .option('--inventory <s3-url>', 'an S3 Inventory report (CSV) as the manifest: s3://.../manifest.json')
    .option(
      '--manifest <s3-url>',
      'a CSV manifest of bucket,key,versionId rows (keys URL-encoded), such as reconcile writes',
    )
    .option('--dry-run', 'print the request, the object count, the ETA and the cost; create nothing')
    .option('--yes', 'create the job without asking')
    .option('--json', 'print the request and the estimate (and the job id) as one JSON object')
    .action(async (flags: BackfillFlags, command: Command) => {
      const stack = stackOf(command.optsWithGlobals<DeployedStackOptions>());
      try {
        await runBackfill(stack, flags);
      } finally {
        stack.close();
      }
    });
  backfill
    .command('status')
    .description(
      "a job's progress and, once it ended, its completion report's failures by code; exit 1 while failures remain",
    )
    .argument('<job-id>', 'the id tap backfill printed')
    // --json is backfill's own option, which commander also takes after `status`.
    .action(async (jobId: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<DeployedStackOptions & { json?: boolean }>();
      const stack = stackOf(options);
      try {
        const json = await jobStatus(stack, jobId);
        if (options.json) printJson(json);
        else for (const line of statusLines(json)) console.log(line);
        process.exitCode = statusExitCode(json);
      } finally {
        stack.close();
      }
    });
}
