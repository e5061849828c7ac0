// The job soak of scripts/lib/soak-job.ts, small (200 objects): S3 Batch Operations jobs on the stand-in
// (scripts/lib/batch-job.ts) through the bundled handler, with injected faults, timed-out invocations
// and the table's capacity enforced, while users' events for the same keys are delivered. npm run bench
// runs the same with 2,000 objects. Needs the handler bundle (npm test builds it) and moto's venv.
// Then the runner's retries and report on a mocked S3 (one client instance mocked, not the class), and
// the projection bench/backfill-job.ts prints.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateJobCommand, DescribeJobCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DeployedStack } from '../../cli/context';
import { buildProgram } from '../../cli/tap';
import { STANDIN_ACCOUNT_ID } from '../../fixtures/standins';
import { runTap } from '../support/cli';
import { backfillProjection } from '../../bench/model';
import prices from '../../bench/prices.json';
import type { BatchEvent, BatchResponse } from '../../handler/batch';
import { MAX_RETRIES, runJob } from '../../scripts/lib/batch-job';
import {
  CONCURRENCY,
  generatedJob,
  jobSoakVerdict,
  OPERATIONS_BUCKET,
  standInJob,
  JobSoakReport,
  runJobSoak,
  startJobStandIns,
} from '../../scripts/lib/soak-job';

const VENV_AND_SOAK_MS = 300_000;

describe('the job soak', () => {
  let report: JobSoakReport;

  it(
    'backfills every version and reprocesses the current ones without writing over a newer event',
    async () => {
      // Act
      report = await runJobSoak({ objects: 200 });
      // Assess
      expect(jobSoakVerdict(report)).toEqual([]);
      expect(report.mirror).toMatchObject({ unmirrored: [], unlisted: [] });
      expect(report.overwritten).toEqual([]);
      expect(report.backfill).toMatchObject({ tasks: report.manifested, failed: 0 });
      expect(report.backfill.reportRows).toEqual({ succeeded: report.backfill.tasks, failed: 0 });
      expect(report.reprocess).toMatchObject({ failed: 0, reportRows: { succeeded: 0, failed: 0 } });
      expect(report.again.outcomes.stored).toBeUndefined();
    },
    VENV_AND_SOAK_MS,
  );

  it('went through what it was meant to: versions and markers, live events during the job, faults and retries', () => {
    // Assess
    const { backfill, reprocess, live, faults } = report;
    expect(report.manifested).toBeGreaterThan(report.objects);
    expect(backfill.outcomes.stored).toBeGreaterThan(0);
    expect(reprocess.tasks).toBeGreaterThan(0);
    expect(live.duringJob).toBeGreaterThan(0);
    for (const kind of ['lateCreates', 'overwrites', 'deleteMarkers', 'deletes'] as const)
      expect(live[kind]).toBeGreaterThan(0);
    expect(faults.s3.SlowDown + faults.s3.InternalError).toBeGreaterThan(0);
    expect(Object.values(faults.dynamodb).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(faults.functionTimeouts).toBeGreaterThan(0);
    expect(backfill.retries + reprocess.retries + report.again.retries).toBeGreaterThan(0);
  });
});

describe('reconcile -> backfill -> the job -> reconcile, on the stand-ins', () => {
  it("backfills what reconcile's manifest lists through tap backfill --manifest, and reconcile then finds no drift", async () => {
    // Prepare: objects that predate the stack (no events, no items), some with two versions; tap pointed
    // at the stand-ins by the environment startJobStandIns sets, STS and S3 Control mocked (moto has no
    // CreateJob), checkpoints in a folder of the test's own
    // jest's module registry, not require.cache, holds the bundle the soak loaded: a registry of its own
    // loads it afresh, its clients pointed at these stand-ins.
    let aws!: Awaited<ReturnType<typeof startJobStandIns>>;
    await jest.isolateModulesAsync(async () => {
      aws = await startJobStandIns({ faultRate: 0, timeoutRate: 0, quiet: true });
    });
    const sts = mockClient(STSClient).on(GetCallerIdentityCommand).resolves({ Account: STANDIN_ACCOUNT_ID });
    const s3control = mockClient(S3ControlClient).on(CreateJobCommand).resolves({ JobId: 'chain-1' });
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-chain-'));
    const savedCwd = process.cwd();
    process.chdir(workDir);
    const program = () =>
      buildProgram((options) => new DeployedStack(options, { ...process.env, TAP_ENABLE_BATCH_OPERATIONS: 'true' }));
    try {
      const keys = [
        'legacy/report one.txt',
        'legacy/a+b.txt',
        'legacy/100% done.txt',
        'legacy/café naïve.txt',
        'legacy/日本語.txt',
      ];
      const put = (Key: string, i: number) =>
        aws.direct.s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key, Body: `v${i}`, ContentType: 'text/plain' }));
      for (const [i, key] of keys.entries()) {
        await put(key, 1);
        if (i % 2 === 0) await put(key, 2);
      }
      const versions = keys.length + Math.ceil(keys.length / 2);
      const manifestFile = path.join(workDir, 'missing.csv');
      // Act: reconcile writes the manifest, which goes to the operations bucket for tap backfill
      const before = await runTap(['reconcile', '--manifest-out', manifestFile, '--json'], program());
      const manifest = fs.readFileSync(manifestFile, 'utf8');
      await aws.direct.s3.send(
        new PutObjectCommand({ Bucket: OPERATIONS_BUCKET, Key: 'manifests/missing.csv', Body: manifest }),
      );
      const url = `s3://${OPERATIONS_BUCKET}/manifests/missing.csv`;
      const backfill = await runTap(['backfill', '--manifest', url, '--yes'], program());
      const [request] = s3control.commandCalls(CreateJobCommand).map((c) => c.args[0].input);
      const job = await runJob(request, {
        s3: aws.direct.s3,
        invoke: aws.invoke,
        concurrency: CONCURRENCY,
        jobId: 'chain-1',
      });
      s3control.on(DescribeJobCommand).resolves({
        Job: {
          JobId: 'chain-1',
          Status: 'Complete',
          Report: request.Report,
          ProgressSummary: {
            TotalNumberOfTasks: job.tasks,
            NumberOfTasksSucceeded: job.succeeded,
            NumberOfTasksFailed: job.failed,
          },
        },
      });
      const status = await runTap(['backfill', 'status', 'chain-1', '--json'], program());
      const after = await runTap(['reconcile', '--json'], program());
      // Assess
      expect(before.code).toBe(1);
      expect(JSON.parse(before.stdout)).toMatchObject({
        missing: versions,
        remaining: versions,
        manifestOut: { rows: versions },
      });
      const rows = manifest.trim().split('\n');
      expect(rows).toHaveLength(versions);
      // Keys as manifests hold them: URL-encoded, "+" as %2B.
      const encoded = rows.map((r) => r.split(',')[1]);
      expect(encoded).toEqual(
        expect.arrayContaining(['legacy/a%2Bb.txt', 'legacy/100%25%20done.txt', 'legacy/caf%C3%A9%20na%C3%AFve.txt']),
      );
      expect(backfill.code).toBe(0);
      expect(backfill.stdout).toContain('created job chain-1');
      expect(request.Manifest!.Location!.ObjectArn).toBe(`arn:aws:s3:::${OPERATIONS_BUCKET}/manifests/missing.csv`);
      expect(job).toMatchObject({ tasks: versions, succeeded: versions, failed: 0 });
      expect(job.outcomes).toEqual({ stored: versions });
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ status: 'Complete', failed: 0, report: { failed: 0 } });
      expect(after.code).toBe(0);
      expect(JSON.parse(after.stdout)).toMatchObject({ versionsInBucket: versions, missing: 0, remaining: 0 });
    } finally {
      process.chdir(savedCwd);
      fs.rmSync(workDir, { recursive: true, force: true });
      sts.restore();
      s3control.restore();
      await aws.close();
    }
  }, 60_000);
});

describe('the stand-in job runner, on a mocked S3', () => {
  const s3 = new S3Client({ region: 'us-east-1' });
  const s3Mock = mockClient(s3);
  // Keys as S3 URL-encodes them: "+" a space, %2B a "+" (the first key is "a+b cé.txt").
  const csv =
    '"tap-uploads","a%2Bb+c%C3%A9.txt","v1"\ntap-uploads,plain.txt,v2\ntap-uploads,weird.txt,v3\ntap-uploads,bad.txt,v4\n';
  const request = standInJob(
    'tap-uploads',
    { kind: 'csv', bucket: 'ops', key: 'manifests/m.csv', etag: 'etag-1' },
    'reprocess',
    'AllTasks',
  );
  const body = (text: string) => ({ transformToByteArray: async () => new Uint8Array(Buffer.from(text)) });
  const puts = () =>
    Object.fromEntries(
      s3Mock.commandCalls(PutObjectCommand).map((c) => [c.args[0].input.Key!, String(c.args[0].input.Body)]),
    );

  it('invokes one task per invocation, retries what may pass, and reports every task in AWS layout', async () => {
    // Prepare: the function stores a+b, leaves weird.txt out of its answer twice, throws for plain.txt once
    // and always calls bad.txt a PermanentFailure
    s3Mock.on(GetObjectCommand).resolves({ ETag: '"etag-1"', Body: body(csv) } as never);
    s3Mock.on(PutObjectCommand).resolves({});
    const events: BatchEvent[] = [];
    const invoke = async (event: BatchEvent): Promise<BatchResponse> => {
      events.push(event);
      const [task] = event.tasks;
      const seen = events.filter((e) => e.tasks[0].s3Key === task.s3Key).length;
      if (task.s3Key === 'plain.txt' && seen === 1) throw new Error('Task timed out after 30.00 seconds');
      const answer = (resultCode: 'Succeeded' | 'PermanentFailure', resultString: string) => ({
        invocationSchemaVersion: '2.0',
        invocationId: event.invocationId,
        treatMissingKeysAs: 'TemporaryFailure' as const,
        results: [{ taskId: task.taskId, resultCode, resultString }],
      });
      if (task.s3Key === 'weird.txt')
        return seen <= 2 ? { ...answer('Succeeded', ''), results: [] } : answer('Succeeded', 'stored');
      return task.s3Key === 'bad.txt'
        ? answer('PermanentFailure', 'InvalidRecordError: no')
        : answer('Succeeded', 'stored');
    };
    // Act
    const counts = await runJob(request, { s3, invoke, concurrency: 2, jobId: 'j1', sleep: async () => undefined });
    // Assess
    expect(counts).toMatchObject({ tasks: 4, succeeded: 3, failed: 1, invocations: 7, retries: 3 });
    expect(counts.failedByCode).toEqual({ PermanentFailure: 1 });
    expect(events[0]).toMatchObject({
      invocationSchemaVersion: '2.0',
      job: { id: 'j1', userArguments: { mode: 'reprocess' } },
      tasks: [{ s3Bucket: 'tap-uploads', s3Key: 'a%2Bb+c%C3%A9.txt', s3VersionId: 'v1' }],
    });
    expect(new Set(events.map((e) => e.invocationId)).size).toBe(7);
    const files = puts();
    const manifest = JSON.parse(files['reports/job-j1/manifest.json']);
    expect(manifest).toMatchObject({
      Format: 'Report_CSV_20180820',
      ReportSchema: 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage',
    });
    expect(manifest.Results.map((r: { TaskExecutionStatus: string }) => r.TaskExecutionStatus)).toEqual([
      'succeeded',
      'failed',
    ]);
    const rows = manifest.Results.map((r: { Key: string }) => files[r.Key]).join('');
    expect(rows).toContain('tap-uploads,a%2Bb%20c%C3%A9.txt,v1,succeeded,200,,stored\n');
    expect(rows).toContain('tap-uploads,bad.txt,v4,failed,200,PermanentFailure,InvalidRecordError: no\n');
  });

  it('fails a thrown invocation for good once its retries are exhausted, as AWS reports a function error', async () => {
    // Prepare
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).resolves({ ETag: '"etag-1"', Body: body('tap-uploads,k.txt,v1\n') } as never);
    s3Mock.on(PutObjectCommand).resolves({});
    const invoke = async (): Promise<BatchResponse> => {
      throw new Error('Task timed out after 30.00 seconds');
    };
    // Act
    const counts = await runJob(
      { ...request, Report: { ...request.Report!, ReportScope: 'FailedTasksOnly' } },
      { s3, invoke, concurrency: 1, jobId: 'j2', sleep: async () => undefined },
    );
    // Assess
    expect(counts).toMatchObject({ tasks: 1, failed: 1, invocations: MAX_RETRIES + 1, retries: MAX_RETRIES });
    const files = puts();
    expect(Object.keys(files).filter((k) => k.startsWith('reports/job-j2/results/'))).toHaveLength(1);
    expect(Object.values(files).join('')).toMatch(
      /^tap-uploads,k\.txt,v1,failed,200,PermanentFailure,"Lambda returned function error: \{""errorType"":""Error"",""errorMessage"":""Task timed out after 30\.00 seconds""/m,
    );
  });

  it('refuses a manifest whose ETag is not the job’s, and a generator filter it does not apply', async () => {
    // Prepare
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).resolves({ ETag: '"other"', Body: body(csv) } as never);
    const generated = generatedJob('tap-uploads', 'legacy/', 'backfill');
    generated.ManifestGenerator!.S3JobManifestGenerator!.Filter!.ObjectSizeGreaterThanBytes = 5;
    // Act
    const deps = { s3, invoke: async () => ({}) as BatchResponse, concurrency: 1 };
    // Assess
    await expect(runJob(request, deps)).rejects.toThrow('the job names etag-1');
    await expect(runJob(generated, deps)).rejects.toThrow(
      "the stand-in's manifest generator does not do ObjectSizeGreaterThanBytes",
    );
  });
});

describe('the backfill projection (bench/model.ts)', () => {
  it('takes objects x WCU each / WCU a second, and prices the job, the pipeline and the extra capacity', () => {
    // Prepare
    const settings = { memoryMb: 512, readCapacity: 100, writeCapacity: 100, logRetentionDays: 365, alarmCount: 8 };
    const measured = { cpuPerObjectMs: 5, loadCpuMs: 0, logBytesPerObject: 600, s3GetsPerObject: 2 };
    const job = (writeUnitsPerSecond: number) =>
      backfillProjection({ objects: 10e6, writeUnitsPerSecond, wcuPerObject: 1 }, measured, settings, 40, prices);
    // Act
    const [slow, fast] = [job(100), job(1000)];
    // Assess
    expect(slow.hours).toBeCloseTo(27.78, 2);
    expect(fast.hours).toBeCloseTo(2.78, 2);
    expect(slow.items[0]).toMatchObject({ item: 'Batch Operations', usd: 10.25 });
    expect(slow.items.at(-1)!.usd).toBe(0);
    expect(fast.items.at(-1)!.usd).toBeCloseTo(900 * fast.hours * prices.dynamodbWcuHour, 6);
    expect(slow.items.find((i) => i.item === 'S3 HEAD + ranged GET')!.usd).toBeCloseTo(8, 6);
    expect(slow.s3Metadata).toBeCloseTo(3, 6);
  });
});
