// tap backfill against SDK mocks (moto has no S3 Control CreateJob): the exact CreateJob request for each
// manifest source and mode, the dry run's count, ETA and cost creating nothing, the refusals (no terminal
// to ask on, no Batch Operations role, a manifest the role cannot read), and tap backfill status reading a
// completion report in AWS's documented layout.
import { readFileSync } from 'node:fs';
import readline from 'node:readline/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateJobCommand,
  DescribeJobCommand,
  JobReport,
  JobStatus,
  S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DeployedStack } from '../../cli/context';
import { buildProgram } from '../../cli/tap';
import { NOT_ENABLED } from '../../cli/commands/backfill';
import { parseCompletionReport } from '../../cli/backfill/report';
import { BACKFILL_PRICES } from '../../cli/backfill/prices';
import { runTap } from '../support/cli';

const ACCOUNT = '123456789012';
const UPLOADS = `tap-dev-uploads-${ACCOUNT}-us-east-1`;
const OPS = `tap-dev-operations-${ACCOUNT}-us-east-1`;
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:tap-dev-metadata-extractor`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/tap-dev-batch-operations-us-east-1`;
const REPORT: JobReport = {
  Enabled: true,
  Bucket: `arn:aws:s3:::${OPS}`,
  Prefix: 'reports',
  Format: 'Report_CSV_20180820',
  ReportScope: 'FailedTasksOnly',
};
const TOKEN = expect.stringMatching(/^[0-9a-f]{64}$/);

const s3control = mockClient(S3ControlClient);
const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
const dynamodb = mockClient(DynamoDBClient);

/** A body as the SDK gives it: a stream with transformToString. */
const stream = (bytes: Buffer) =>
  Object.assign(Readable.from([bytes]), {
    transformToString: async () => bytes.toString('utf8'),
  }) as unknown as GetObjectCommandOutput['Body'];
/** Serves `text` (gzipped when the key ends in .gz) at s3://bucket/key, a fresh stream each call. */
function object(bucket: string, key: string, text: string) {
  const bytes = key.endsWith('.gz') ? gzipSync(text) : Buffer.from(text);
  s3.on(GetObjectCommand, { Bucket: bucket, Key: key }).callsFake(() => ({ Body: stream(bytes) }));
}
const rows = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `"${UPLOADS}","k${from + i}%20x","v${i}","true","false"\n`).join('');

/** An S3 Inventory report of 2,500 versions in two gzipped data files, under manifests/ of the operations bucket. */
const INVENTORY_KEY = `manifests/inventory/${UPLOADS}/all/2026-12-06T01-00Z/manifest.json`;
function inventory() {
  object(
    OPS,
    INVENTORY_KEY,
    JSON.stringify({
      sourceBucket: UPLOADS,
      destinationBucket: `arn:aws:s3:::${OPS}`,
      version: '2016-11-30',
      fileFormat: 'CSV',
      fileSchema: 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker',
      files: [
        { key: 'manifests/inventory/data/a.csv.gz', size: 1, MD5checksum: 'x' },
        { key: 'manifests/inventory/data/b.csv.gz', size: 1, MD5checksum: 'y' },
      ],
    }),
  );
  object(OPS, 'manifests/inventory/data/a.csv.gz', rows(1500));
  object(OPS, 'manifests/inventory/data/b.csv.gz', rows(1000, 1500));
  s3.on(HeadObjectCommand, { Bucket: OPS, Key: INVENTORY_KEY }).resolves({ ETag: '"inv-etag"', VersionId: 'mv1' });
}

beforeEach(() => {
  for (const mock of [s3control, s3, sts, dynamodb]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/operator` });
  s3.on(HeadBucketCommand, { Bucket: OPS }).resolves({});
  dynamodb.on(DescribeTableCommand).resolves({
    Table: { ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 100 } },
  });
  s3control.on(CreateJobCommand).resolves({ JobId: 'job-1' });
});

const program = (env: Record<string, string> = {}) =>
  buildProgram(
    (options) =>
      new DeployedStack(options, {
        TAP_ENABLE_BATCH_OPERATIONS: 'true',
        TAP_TABLE_MAX_WRITE_CAPACITY: '1000',
        AWS_REGION: 'us-east-1',
        ...env,
      }),
  );
const createJobInputs = () => s3control.commandCalls(CreateJobCommand).map((call) => call.args[0].input);

describe('tap backfill creates the job', () => {
  it("over S3's manifest generator by default: the prefix, objects created before now, its list under manifests/", async () => {
    // Prepare
    const before = Date.now();
    // Act
    const run = await runTap(['backfill', '--prefix', 'reports/', '--yes'], program());
    // Assess
    expect(run.code).toBe(0);
    expect(createJobInputs()).toEqual([
      {
        AccountId: ACCOUNT,
        ConfirmationRequired: false,
        Description: expect.stringMatching(
          new RegExp(`^tap backfill of ${UPLOADS}: objects created before .* under reports/$`),
        ),
        Priority: 10,
        RoleArn: ROLE_ARN,
        Operation: {
          LambdaInvoke: {
            FunctionArn: FUNCTION_ARN,
            InvocationSchemaVersion: '2.0',
            UserArguments: { mode: 'backfill' },
          },
        },
        ManifestGenerator: {
          S3JobManifestGenerator: {
            SourceBucket: `arn:aws:s3:::${UPLOADS}`,
            Filter: { CreatedBefore: expect.any(Date), KeyNameConstraint: { MatchAnyPrefix: ['reports/'] } },
            EnableManifestOutput: true,
            ManifestOutputLocation: {
              Bucket: `arn:aws:s3:::${OPS}`,
              ManifestPrefix: 'manifests',
              ManifestFormat: 'S3InventoryReport_CSV_20211130',
            },
          },
        },
        Report: REPORT,
        ClientRequestToken: TOKEN,
      },
    ]);
    const createdBefore = createJobInputs()[0].ManifestGenerator?.S3JobManifestGenerator?.Filter?.CreatedBefore;
    expect(createdBefore?.getTime()).toBeGreaterThanOrEqual(before);
    expect(createdBefore?.getTime()).toBeLessThanOrEqual(Date.now());
    expect(run.stdout).toContain('created job job-1; follow it with: npx tap backfill status job-1');
  });

  it('from an S3 Inventory report, in reprocess mode: the manifest pinned to the ETag and version HeadObject saw', async () => {
    // Prepare
    inventory();
    const args = ['backfill', '--inventory', `s3://${OPS}/${INVENTORY_KEY}`, '--mode', 'reprocess', '--yes'];
    // Act
    const run = await runTap(args, program());
    const again = await runTap(args, program());
    // Assess
    expect([run.code, again.code]).toEqual([0, 0]);
    const [first, second] = createJobInputs();
    expect(first).toEqual({
      AccountId: ACCOUNT,
      ConfirmationRequired: false,
      Description: `tap reprocess of ${UPLOADS}: the inventory s3://${OPS}/${INVENTORY_KEY}`,
      Priority: 10,
      RoleArn: ROLE_ARN,
      Operation: {
        LambdaInvoke: {
          FunctionArn: FUNCTION_ARN,
          InvocationSchemaVersion: '2.0',
          UserArguments: { mode: 'reprocess' },
        },
      },
      Manifest: {
        Spec: { Format: 'S3InventoryReport_CSV_20161130' },
        Location: { ObjectArn: `arn:aws:s3:::${OPS}/${INVENTORY_KEY}`, ETag: 'inv-etag', ObjectVersionId: 'mv1' },
      },
      Report: REPORT,
      ClientRequestToken: TOKEN,
    });
    // The same manifest version and mode: the same token, so S3 answers with the job of the first request.
    expect(second.ClientRequestToken).toBe(first.ClientRequestToken);
  });

  it("from a CSV manifest such as reconcile's (bucket, key, version id), in backfill mode", async () => {
    // Prepare
    object(OPS, 'manifests/missing.csv', `${UPLOADS},a%20b.txt,v1\n${UPLOADS},c%2Bd.txt,v2\n`);
    s3.on(HeadObjectCommand, { Bucket: OPS, Key: 'manifests/missing.csv' }).resolves({ ETag: '"csv-etag"' });
    // Act
    const run = await runTap(
      ['backfill', '--manifest', `s3://${OPS}/manifests/missing.csv`, '--yes', '--json'],
      program(),
    );
    // Assess
    expect(run.code).toBe(0);
    const [input] = createJobInputs();
    expect(input.Manifest).toEqual({
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key', 'VersionId'] },
      Location: { ObjectArn: `arn:aws:s3:::${OPS}/manifests/missing.csv`, ETag: 'csv-etag' },
    });
    expect(input.Operation?.LambdaInvoke?.UserArguments).toEqual({ mode: 'backfill' });
    expect(JSON.parse(run.stdout)).toMatchObject({ jobId: 'job-1', estimate: { objects: 2 } });
    // Another manifest version is another job.
    const otherMode = await runTap(
      ['backfill', '--manifest', `s3://${OPS}/manifests/missing.csv`, '--mode', 'reprocess', '--yes', '--json'],
      program(),
    );
    expect(otherMode.code).toBe(0);
    expect(createJobInputs()[1].ClientRequestToken).not.toBe(input.ClientRequestToken);
  });
});

describe('tap backfill --dry-run', () => {
  it("creates nothing and gives the inventory's count, the ETA at 100 and 1,000 WCU and the cost", async () => {
    // Prepare
    inventory();
    // Act
    const json = await runTap(
      ['backfill', '--inventory', `s3://${OPS}/${INVENTORY_KEY}`, '--dry-run', '--json'],
      program(),
    );
    const text = await runTap(
      ['backfill', '--inventory', `s3://${OPS}/${INVENTORY_KEY}`, '--dry-run'],
      program({ TAP_LAMBDA_RESERVED_CONCURRENCY: '100' }),
    );
    // Assess
    expect([json.code, text.code]).toEqual([0, 0]);
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(0);
    const { dryRun, request, estimate } = JSON.parse(json.stdout);
    expect(dryRun).toBe(true);
    expect(request.Manifest.Location.ETag).toBe('inv-etag');
    // 2,500 objects at 1 WCU each: 25 s at 100 WCU, 35.7 s at 70% of it; at 1,000 WCU the function's 10
    // reserved instances (~100 objects/s) stay the bound.
    expect(estimate).toEqual({
      objects: 2500,
      figuresFor: 2500,
      eta: {
        atWriteCapacity: {
          writeCapacity: 100,
          objectsPerSecond: 100,
          boundBy: 'writes',
          fastestSeconds: 25,
          slowestSeconds: 2500 / 70,
        },
        atMaxWriteCapacity: {
          writeCapacity: 1000,
          objectsPerSecond: 100,
          boundBy: 'function',
          fastestSeconds: 25,
          slowestSeconds: 2500 / 70,
        },
      },
      // $0.25 + $0.0025; 2,500 x ($0.20/M + 0.1 s x 0.5 GB x $0.0000133334); 5,000 GETs; 2,500 / 3,600 WCU-hours.
      cost: { batchOperations: 0.2525, lambda: 0.0022, s3Requests: 0.002, dynamodb: 0.0005, total: 0.2571 },
    });
    expect(text.stdout).toContain('Dry run, nothing created');
    expect(text.stdout).toContain('  objects    2,500');
    expect(text.stdout).toContain('25 s to 36 s at 100 WCU');
    expect(text.stdout).toContain('3 s to 4 s at 1,000 WCU (tableMaxWriteCapacity)');
    expect(text.stdout).toContain('$0.26: Batch Operations $0.25');
  });

  it('says the count is unknown for the generator, and that reprocess is bounded by the read capacity', async () => {
    // Act
    const run = await runTap(['backfill', '--mode', 'reprocess', '--dry-run', '--json'], program());
    // Assess
    expect(run.code).toBe(0);
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(0);
    const { estimate } = JSON.parse(run.stdout);
    expect(estimate).toMatchObject({
      objects: null,
      figuresFor: 1_000_000,
      eta: { atMaxWriteCapacity: { boundBy: 'reads' } },
    });
    const text = await runTap(
      ['backfill', '--mode', 'reprocess', '--dry-run'],
      program({ TAP_LAMBDA_RESERVED_CONCURRENCY: '0' }),
    );
    expect(text.stdout).toContain('unknown, S3 counts as it lists the bucket');
    expect(text.stdout).toContain('bounded by the read capacity: reprocess reads each item');
  });
});

describe('tap backfill refuses', () => {
  it('to create a job unasked when there is no terminal to ask on and no --yes', async () => {
    // Prepare
    const tty = process.stdin.isTTY;
    process.stdin.isTTY = false;
    // Act
    const run = await runTap(['backfill'], program()).finally(() => (process.stdin.isTTY = tty));
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('tap: not creating a Batch Operations job unasked: no terminal to ask on; pass --yes');
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(0);
  });

  it('to create a job when the person at the terminal does not answer yes, and creates it when they do', async () => {
    // Prepare
    const tty = [process.stdin.isTTY, process.stderr.isTTY];
    process.stdin.isTTY = process.stderr.isTTY = true;
    const answers = ['n', 'y'];
    const asked: string[] = [];
    const prompt = jest.spyOn(readline, 'createInterface').mockImplementation(
      () =>
        ({
          question: async (q: string) => (asked.push(q), answers.shift()),
          close: () => undefined,
        }) as unknown as readline.Interface,
    );
    // Act
    const declined = await runTap(['backfill'], program());
    const accepted = await runTap(['backfill'], program()).finally(() => {
      prompt.mockRestore();
      [process.stdin.isTTY, process.stderr.isTTY] = tty;
    });
    // Assess
    expect(asked).toEqual([
      'Create this S3 Batch Operations job? [y/N] ',
      'Create this S3 Batch Operations job? [y/N] ',
    ]);
    expect(declined).toMatchObject({ code: 1, stderr: 'tap: not confirmed: nothing created' });
    expect(accepted.code).toBe(0);
    expect(s3control.commandCalls(CreateJobCommand)).toHaveLength(1);
  });

  it('on a stack without Batch Operations, saying how to turn them on', async () => {
    // Prepare
    const plain = buildProgram((options) => new DeployedStack(options, { AWS_REGION: 'us-east-1' }));
    s3.on(HeadBucketCommand, { Bucket: OPS }).rejects(
      Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    // Act
    const disabled = await runTap(['backfill', '--dry-run'], plain);
    const undeployed = await runTap(['backfill', '--dry-run'], program());
    // Assess
    expect(disabled).toMatchObject({ code: 2, stderr: `tap: ${NOT_ENABLED}` });
    expect(sts.calls()).toHaveLength(1);
    expect(undeployed.code).toBe(2);
    expect(undeployed.stderr).toBe(
      `tap: operations bucket "${OPS}" does not exist: the deployed stack has no Batch Operations role yet; ` +
        'set TAP_ENABLE_BATCH_OPERATIONS=true (or "enableBatchOperations": true in cdktf.json context "tap"), then npx cdktf deploy',
    );
  });

  it('a manifest outside manifests/ of the operations bucket (the role could not read it), and two manifests', async () => {
    // Act
    const elsewhere = await runTap(['backfill', '--manifest', 's3://other-bucket/list.csv', '--dry-run'], program());
    const both = await runTap(
      ['backfill', '--manifest', 's3://a/b', '--inventory', 's3://c/d', '--dry-run'],
      program(),
    );
    const notUrl = await runTap(['backfill', '--manifest', 'missing.csv', '--dry-run'], program());
    // Assess
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain(`the Batch Operations role reads manifests only under s3://${OPS}/manifests/`);
    expect(both.stderr).toBe('tap: --inventory and --manifest: give one of them, not both');
    expect(notUrl.stderr).toBe('tap: --manifest expects an s3://bucket/key URL, got "missing.csv"');
  });
});

/** A completion report as S3 writes it: reports/job-<id>/manifest.json and its results/*.csv. */
function completionReport(jobId: string, csv: string) {
  const resultKey = `reports/job-${jobId}/results/6217b0fab0de85c408b4be96aeaca9b195a7daa5.csv`;
  object(
    OPS,
    `reports/job-${jobId}/manifest.json`,
    JSON.stringify({
      Format: 'Report_CSV_20180820',
      ReportCreationDate: '2026-12-07T10:00:00.000Z',
      Results: [{ TaskExecutionStatus: 'failed', Bucket: OPS, MD5Checksum: 'x', Key: resultKey }],
      ReportSchema: 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
    }),
  );
  object(OPS, resultKey, csv);
}
const describedJob = (
  jobId: string,
  status: JobStatus,
  failed: number,
  reasons: { FailureCode: string; FailureReason: string }[] = [],
) =>
  s3control.on(DescribeJobCommand, { AccountId: ACCOUNT, JobId: jobId }).resolves({
    Job: {
      JobId: jobId,
      Status: status,
      FailureReasons: reasons,
      ProgressSummary: {
        TotalNumberOfTasks: 100,
        NumberOfTasksSucceeded: 100 - failed,
        NumberOfTasksFailed: failed,
        Timers: { ElapsedTimeInActiveSeconds: 90 },
      },
      Report: REPORT,
    },
  });

describe('tap backfill status', () => {
  it("exits 1 while failures remain, counting the report's failures by code with examples", async () => {
    // Prepare
    describedJob('j-failed', 'Complete', 3);
    completionReport(
      'j-failed',
      `${UPLOADS},a%20b.txt,v1,failed,200,PermanentFailure,"InvalidRecordError: tasks[0].s3Bucket ""x"" is not ${UPLOADS}"\n` +
        `${UPLOADS},c.txt,v2,failed,200,TemporaryFailure,ProvisionedThroughputExceededException\n` +
        `${UPLOADS},d.txt,v3,failed,200,TemporaryFailure,"Lambda returned function error: {""errorMessage"":""Task timed out after 30.00 seconds""}"\n`,
    );
    // Act
    const json = await runTap(['backfill', 'status', 'j-failed', '--json'], program());
    const text = await runTap(['backfill', 'status', 'j-failed'], program());
    // Assess
    expect([json.code, text.code]).toEqual([1, 1]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      jobId: 'j-failed',
      status: 'Complete',
      total: 100,
      succeeded: 97,
      failed: 3,
      elapsedSeconds: 90,
      report: { tasks: 3, failed: 3, failedByCode: { PermanentFailure: 1, TemporaryFailure: 2 } },
    });
    expect(text.stdout).toContain('tasks      100: succeeded 97, failed 3, 0 to go; 90 s active');
    expect(text.stdout).toContain('report     3 failed task(s): PermanentFailure 1, TemporaryFailure 2');
    expect(text.stdout).toContain(
      `  PermanentFailure a b.txt@v1: InvalidRecordError: tasks[0].s3Bucket "x" is not ${UPLOADS}`,
    );
  });

  it('exits 0 when no task failed, and reads no report before the job has ended', async () => {
    // Prepare
    describedJob('j-done', 'Complete', 0);
    completionReport('j-done', '');
    describedJob('j-running', 'Active', 0);
    // Act
    const done = await runTap(['backfill', 'status', 'j-done', '--json'], program());
    const running = await runTap(['backfill', 'status', 'j-running', '--json'], program());
    // Assess
    expect([done.code, running.code]).toEqual([0, 0]);
    expect(JSON.parse(done.stdout).report).toEqual({
      tasks: 0,
      succeeded: 0,
      failed: 0,
      failedByCode: {},
      examples: [],
    });
    expect(JSON.parse(running.stdout).report).toBeNull();
    const reads = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key);
    expect(reads.every((key) => key?.startsWith('reports/job-j-done/'))).toBe(true);
  });
  it('exits 1 for a job that failed as a whole, with its reasons, and no report when S3 wrote none', async () => {
    // Prepare
    describedJob('j-broken', 'Failed', 0, [
      { FailureCode: 'Manifest403', FailureReason: 'Access denied reading the manifest' },
    ]);
    s3.on(GetObjectCommand, { Bucket: OPS, Key: 'reports/job-j-broken/manifest.json' }).rejects(
      Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }),
    );
    // Act
    const run = await runTap(['backfill', 'status', 'j-broken'], program());
    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('job failure Manifest403: Access denied reading the manifest');
    expect(run.stdout).not.toContain('report ');
  });
});

describe('parseCompletionReport', () => {
  it('reads either order of HTTP status and code, quoted messages and URL-encoded keys', () => {
    // Prepare
    const manifest = JSON.stringify({ Format: 'Report_CSV_20180820', Results: [] });
    const csv = [
      'b,k%C3%A9y%20one,v1,failed,PermanentFailure,400,"a, b"\r\n',
      'b,two,,succeeded,200,,stored\n',
      'b,three,v3,failed,200,TemporaryFailure,SlowDown\n',
    ];
    // Act
    const counts = parseCompletionReport(manifest, csv);
    // Assess
    expect(counts).toMatchObject({ tasks: 3, succeeded: 1, failed: 2 });
    expect(counts.failedByCode).toEqual({ PermanentFailure: 1, TemporaryFailure: 1 });
    expect(counts.examples[0]).toEqual({
      bucket: 'b',
      key: 'kéy one',
      versionId: 'v1',
      taskStatus: 'failed',
      errorCode: 'PermanentFailure',
      httpStatus: '400',
      result: 'a, b',
    });
    expect(() => parseCompletionReport('{"Format":"other"}', [])).toThrow('is not a Report_CSV_20180820 report');
  });
});

describe('the prices the CLI estimates with', () => {
  it("equal the bench's where both have one", () => {
    // Prepare
    const bench = JSON.parse(readFileSync(path.join(__dirname, '../../bench/prices.json'), 'utf8'));
    // Act
    const shared = Object.keys(BACKFILL_PRICES).filter((name) => name in bench);
    // Assess
    expect(shared.length).toBeGreaterThanOrEqual(6);
    for (const name of shared)
      expect([name, BACKFILL_PRICES[name as keyof typeof BACKFILL_PRICES]]).toEqual([name, bench[name]]);
  });
});
