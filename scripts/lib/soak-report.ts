// The soaks' figures as Markdown tables, for scripts/soak.ts and BENCHMARKS.md. Formatting only.
import type { SoakReport } from './soak';
import type { JobRun, JobSoakReport } from './soak-job';

const n = (value: number | undefined) => (value ?? 0).toLocaleString('en-US');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const listed = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${n(v)}`)
    .join(', ') || 'none';

export function soakLines(r: SoakReport): string[] {
  const o = r.operations;
  const { reconcile: first, reconcileAgain: second } = r;
  const drift = (j: SoakReport['reconcile']['json']) =>
    `missing ${n(j.missing)}, extra ${n(j.extra)}, stale ${n(j.stale)}; repaired ${n(j.repaired)}, skipped ${n(j.skipped)}, failed ${n(j.failed)}`;
  const rows: [string, string][] = [
    ['uploads (and objects that predate the stack, no events)', `${n(r.uploads)} (+ ${n(o.predating)})`],
    [
      'of which overwrites / archived (GLACIER, DEEP_ARCHIVE) / SSE-C / KMS-denied',
      `${n(o.overwrites)} / ${n(o.archived)} / ${n(o.sseC)} / ${n(o.kmsDenied)}`,
    ],
    [
      'events by kind',
      `ObjectCreated:Put ${n(o['ObjectCreated:Put'])}, ObjectRemoved:DeleteMarkerCreated ${n(o['ObjectRemoved:DeleteMarkerCreated'])}, ` +
        `ObjectRemoved:Delete ${n(o['ObjectRemoved:Delete'])}, LifecycleExpiration:Delete ${n(o['LifecycleExpiration:Delete'])}, ` +
        `LifecycleExpiration:DeleteMarkerCreated ${n(o['LifecycleExpiration:DeleteMarkerCreated'])}`,
    ],
    [
      'events sent / lost / duplicated (reordered within 20)',
      `${n(r.events.sent)} / ${n(r.events.lost)} / ${n(r.events.duplicated)}`,
    ],
    [
      'invocations / async retries / events to the failure queue',
      `${n(r.delivery.invocations)} / ${n(r.delivery.retries)} / ${n(r.delivery.sentToFailureQueue)}`,
    ],
    ['handler outcomes', listed(Object.fromEntries(Object.entries(r.outcomes).filter(([k]) => k !== 'records')))],
    ['S3 answers injected (of requests)', `${listed(r.faults.s3)} (of ${n(r.faults.s3Requests)})`],
    [
      'DynamoDB answers injected (of requests); capacity throttles',
      `${listed(r.faults.dynamodb)} (of ${n(r.faults.dynamodbRequests)}); ${n(r.faults.capacityThrottles)}`,
    ],
    [
      '`tap redrive --local`',
      `received ${n(r.redrive.json.received)}, redriven ${n(r.redrive.json.redriven)}, failed ${n(r.redrive.json.failed)} (${s(r.redrive.ms)})`,
    ],
    [
      '`tap reconcile --repair`',
      `${n(first.json.versionsInBucket)} versions, ${n(first.json.itemsInTable)} items: ${drift(first.json)}; ` +
        `${n(first.json.capacity.writeUnits)} WCU; ${n(first.json.capacity.throttled)} throttle answers (injected) retried (${s(first.ms)}, exit ${first.code})`,
    ],
    ['second `tap reconcile --repair`', `${drift(second.json)} (${s(second.ms)}, exit ${second.code})`],
    [
      'independent check: listing vs table',
      `${n(r.mirror.versions)} versions, ${n(r.mirror.items)} items; without item ${n(r.mirror.unmirrored.length)}, ` +
        `items of absent versions ${n(r.mirror.unlisted.length)}; items ${listed(r.mirror.byStatus)}; unreadable ${listed(r.mirror.byReason)}`,
    ],
    [
      "the function's calls recorded for `npm run security`",
      `${n(r.functionCalls.filter((c) => !c.implied).length)} (+ ${n(r.functionCalls.filter((c) => c.implied).length)} implied KMS calls); unmapped ${n(r.functionCalls.filter((c) => !c.mapped).length)}`,
    ],
    [
      'durations',
      `setup ${s(r.durationsMs.setup)}, predating ${s(r.durationsMs.predating)}, rounds ${s(r.durationsMs.rounds)}, ` +
        `redrive ${s(r.durationsMs.redrive)}, reconcile ${s(r.durationsMs.reconcile)}, again ${s(r.durationsMs.reconcileAgain)}, total ${s(r.durationsMs.total)}`,
    ],
  ];
  return ['| soak | figures |', '|---|---|', ...rows.map(([what, value]) => `| ${what} | ${value} |`)];
}

/** The job soak's figures (scripts/lib/soak-job.ts) as a Markdown table. */
export function jobSoakLines(r: JobSoakReport): string[] {
  const run = (j: JobRun) =>
    `${n(j.tasks)} tasks: succeeded ${n(j.succeeded)} (${listed(j.outcomes)}), failed ${n(j.failed)}; ` +
    `${n(j.invocations)} invocations, ${n(j.retries)} retries; report (${j.scope}) rows succeeded ${n(j.reportRows.succeeded)}, ` +
    `failed ${n(j.reportRows.failed)}, MD5 ${j.reportMd5Matches ? 'matches' : 'DIFFERS'} (${s(j.ms)})`;
  const l = r.live;
  const rows: [string, string][] = [
    [
      'objects that predate the stack; versions and delete markers in the inventory',
      `${n(r.objects)}; ${n(r.manifested)}`,
    ],
    [
      'live events during the backfill: late creates / overwrites / delete markers / deletes',
      `${n(l.lateCreates)} / ${n(l.overwrites)} / ${n(l.deleteMarkers)} / ${n(l.deletes)} (${n(l.duringJob)} delivered while the job ran, ${n(l.failedDeliveries)} failed)`,
    ],
    ['backfill job (S3 Inventory manifest)', run(r.backfill)],
    ['reprocess job (manifest generator, current versions)', run(r.reprocess)],
    ["backfill of the events' versions (CSV manifest)", run(r.again)],
    [
      'faults injected: S3; DynamoDB; timed-out invocations; capacity throttles',
      `${listed(r.faults.s3)}; ${listed(r.faults.dynamodb)}; ${n(r.faults.functionTimeouts)}; ${n(r.faults.capacityThrottles)} (${n(r.faults.consumedWriteUnits)} WCU consumed)`,
    ],
    [
      'listing vs table; items written over a newer event',
      `${n(r.mirror.versions)} versions, ${n(r.mirror.items)} items (${listed(r.mirror.byStatus)}): without item ${n(r.mirror.unmirrored.length)}, ` +
        `of absent versions ${n(r.mirror.unlisted.length)}; ${n(r.overwritten.length)}`,
    ],
    [
      'durations',
      Object.entries(r.durationsMs)
        .map(([phase, ms]) => `${phase} ${s(ms)}`)
        .join(', '),
    ],
  ];
  return ['| job soak | figures |', '|---|---|', ...rows.map(([what, value]) => `| ${what} | ${value} |`)];
}
