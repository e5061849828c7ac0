// The job soak of scripts/lib/soak-job.ts, small (200 objects): S3 Batch Operations jobs on the stand-in
// (scripts/lib/batch-job.ts) through the bundled handler, with injected faults, timed-out invocations
// and the table's capacity enforced, while users' events for the same keys are delivered. npm run bench
// runs the same with 2,000 objects. Needs the handler bundle (npm test builds it) and moto's venv.
import { jobSoakVerdict, JobSoakReport, runJobSoak } from '../../scripts/lib/soak-job';

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
