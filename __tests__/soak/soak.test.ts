// The soak of scripts/lib/soak.ts, small (200 uploads): moto, injected faults, Lambda-like delivery with
// lost, duplicated and reordered events, the failure queue, tap redrive --local and tap reconcile
// --repair, then an independent comparison of the bucket's listing with the table. npm run bench runs
// the same with 2,000 uploads. The first run creates moto's venv (see moto.test.ts). The function's calls
// are recorded on its clients and saved as evidence "soak" when npm run security runs this suite; the
// tap commands' calls are recorded in-process by __tests__/iam/operator.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asDeployed, checkCalls } from '../../scripts/lib/iam/proof';
import { runSoak, SoakReport, soakStack, soakVerdict } from '../../scripts/lib/soak';

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

  it('recorded the function’s calls on its clients, every one mapped and allowed to its role', () => {
    // Prepare
    const handlerReads = ['HeadObject s3:GetObjectVersion', 'GetObject s3:GetObjectVersion'];
    const handlerMay = [
      ...handlerReads,
      'PutItem dynamodb:PutItem',
      'UpdateItem dynamodb:UpdateItem',
      'GetItem dynamodb:GetItem',
    ];
    const operations = new Set(report.functionCalls.filter((c) => !c.implied).map((c) => `${c.operation} ${c.action}`));
    // Act
    const checks = checkCalls(soakStack(), report.functionCalls.map(asDeployed));
    // Assess
    expectWithin(
      operations,
      [...handlerReads, 'PutItem dynamodb:PutItem', 'UpdateItem dynamodb:UpdateItem'],
      handlerMay,
    );
    expect(report.functionCalls.filter((c) => !c.mapped)).toEqual([]);
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
  });
});
