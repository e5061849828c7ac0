// The soak of scripts/lib/soak.ts, small (200 uploads): moto, injected faults, Lambda-like delivery with
// lost, duplicated and reordered events, the failure queue, tap redrive --local and tap reconcile
// --repair, then an independent comparison of the bucket's listing with the table. npm run bench runs
// the same with 2,000 uploads. The first run creates moto's venv (see soak-moto.test.ts). Its calls are
// recorded into .work/iam-calls/soak.jsonl (the function) and soak-operator.*.jsonl (the tap runs),
// where npm run security reads them (CI requires both sources).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCallsFile } from '../../scripts/lib/iam/calls-file';
import { asDeployedTransport, checkCallsAs } from '../../scripts/lib/iam/proof';
import { runSoak, SoakReport, soakVerdict } from '../../scripts/lib/soak';
import { soakStack } from '../../scripts/lib/iam/soak-calls';

const VENV_AND_SOAK_MS = 300_000;

/** `seen` holds every one of `always` and nothing outside `may` (which calls a run makes depends on its events). */
function expectWithin(seen: ReadonlySet<string>, always: readonly string[], may: readonly string[]) {
  expect([...seen].filter((o) => !may.includes(o))).toEqual([]);
  expect(always.filter((o) => !seen.has(o))).toEqual([]);
}
let workDir: string;

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-soak-'));
});

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

describe('the soak', () => {
  let report: SoakReport;

  it(
    'ends with the table mirroring the bucket, and a second reconcile finds nothing to repair',
    async () => {
      // Act: a tenth of the events lost, so that reconcile has missing and extra items to repair; it may
      // read at the whole read capacity here, where nothing else runs
      report = await runSoak({ uploads: 200, lostShare: 0.1, workDir, reconcileFlags: ['--read-share', '1'] });
      // Assess
      expect(soakVerdict(report)).toEqual([]);
      expect(report.mirror).toMatchObject({ unmirrored: [], unlisted: [] });
      expect(report.reconcile).toMatchObject({ code: 0, json: { remaining: 0, skipped: 0, failed: 0 } });
      expect(report.reconcile.json.missing).toBeGreaterThan(report.operations.predating);
      expect(report.reconcile.json.extra).toBeGreaterThan(0);
      expect(report.reconcileAgain).toMatchObject({ code: 0, json: { missing: 0, extra: 0, stale: 0, repaired: 0 } });
    },
    VENV_AND_SOAK_MS,
  );

  it('went through what it was meant to: faults, retries, the failure queue and its redrive', () => {
    // Assess
    const { operations, delivery, faults, redrive, mirror, events } = report;
    expect(operations).toMatchObject({ predating: 10, 'ObjectCreated:Put': 200 });
    for (const kind of [
      'ObjectRemoved:DeleteMarkerCreated',
      'ObjectRemoved:Delete',
      'LifecycleExpiration:Delete',
      'LifecycleExpiration:DeleteMarkerCreated',
    ] as const)
      expect(operations[kind]).toBeGreaterThan(0);
    expect(events.lost).toBeGreaterThan(0);
    expect(events.duplicated).toBeGreaterThan(0);
    expect(delivery.retries).toBeGreaterThan(0);
    expect(delivery.sentToFailureQueue).toBeGreaterThan(0);
    expect(redrive).toMatchObject({ code: 0, json: { received: delivery.sentToFailureQueue, failed: 0 } });
    expect(faults.s3.SlowDown + faults.s3.InternalError).toBeGreaterThan(0);
    expect(Object.values(faults.dynamodb).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(mirror.byReason['archived-storage-class']).toBeGreaterThan(0);
    expect(mirror.byReason['sse-c']).toBeGreaterThan(0);
    expect(mirror.byReason['kms-access-denied']).toBeGreaterThan(0);
  });

  it('recorded the function’s calls and each tap run’s as the operator’s, every one mapped and allowed', () => {
    // Prepare
    const files = report.recorded.map((r) => parseCallsFile(r.file));
    const operations = (command?: string) =>
      new Set(
        files
          .filter((f) => f.header.command === command)
          .flatMap((f) => f.calls.filter((c) => !c.implied).map((c) => `${c.operation} ${c.action}`)),
      );
    const handlerReads = ['HeadObject s3:GetObjectVersion', 'GetObject s3:GetObjectVersion'];
    const handlerMay = [
      ...handlerReads,
      'PutItem dynamodb:PutItem',
      'UpdateItem dynamodb:UpdateItem',
      'GetItem dynamodb:GetItem',
    ];
    const reconcileReads = [
      'DescribeTable dynamodb:DescribeTable',
      'ListObjectVersions s3:ListBucketVersions',
      'Query dynamodb:Query',
      'Scan dynamodb:Scan',
    ];
    // Act
    const checks = files.flatMap((f) =>
      checkCallsAs(
        soakStack(),
        f.calls.map((c) => asDeployedTransport(c)),
        f.header.caller,
      ),
    );
    // Assess
    expect(files.map((f) => [f.header.source, f.header.caller, f.header.command])).toEqual([
      ['soak', 'function', undefined],
      ['soak-operator', 'operator', 'tap redrive --local'],
      ['soak-operator', 'operator', 'tap reconcile --repair'],
      ['soak-operator', 'operator', 'tap reconcile --repair'],
    ]);
    expectWithin(
      operations(),
      [...handlerReads, 'PutItem dynamodb:PutItem', 'UpdateItem dynamodb:UpdateItem'],
      handlerMay,
    );
    expectWithin(
      operations('tap redrive --local'),
      [
        'GetQueueUrl sqs:GetQueueUrl',
        'DescribeTable dynamodb:DescribeTable',
        'ReceiveMessage sqs:ReceiveMessage',
        ...handlerReads,
        'DeleteMessage sqs:DeleteMessage',
      ],
      [
        'GetQueueUrl sqs:GetQueueUrl',
        'DescribeTable dynamodb:DescribeTable',
        'ReceiveMessage sqs:ReceiveMessage',
        ...handlerMay,
        'DeleteMessage sqs:DeleteMessage',
        'ChangeMessageVisibilityBatch sqs:ChangeMessageVisibility',
      ],
    );
    expectWithin(
      operations('tap reconcile --repair'),
      [...reconcileReads, ...handlerReads, 'PutItem dynamodb:PutItem'],
      [...reconcileReads, ...handlerReads, 'PutItem dynamodb:PutItem'],
    );
    expect(report.recorded.every((r) => r.calls > 0 && r.unmapped === 0)).toBe(true);
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
  });

  it('used no permission the README does not list for tap redrive and tap reconcile', () => {
    // Prepare
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'operating.md'), 'utf8');
    const listed = (heading: string) => {
      const section = readme.slice(readme.indexOf(`### \`${heading}\``));
      const paragraph = /^Permissions[\s\S]*?\n\n/m.exec(section)?.[0] ?? '';
      return new Set(paragraph.match(/`[a-z0-9]+:[A-Za-z]+`/g)?.map((a) => a.slice(1, -1)));
    };
    const used = (command: string) =>
      new Set(
        report.recorded
          .filter((r) => r.command === command)
          .flatMap((r) => parseCallsFile(r.file).calls.map((c) => c.action ?? '')),
      );
    // Act
    const unlisted = [
      ...[...used('tap redrive --local')].filter((a) => !listed('tap redrive').has(a)),
      ...[...used('tap reconcile --repair')].filter((a) => !listed('tap reconcile').has(a)),
    ];
    // Assess
    expect(used('tap reconcile --repair').size).toBeGreaterThan(5);
    expect(unlisted).toEqual([]);
  });
});
