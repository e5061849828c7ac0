// One tap reconcile run (without --repair) over a made-up bucket of `versions` versions and its table
// (bench/fake-aws.ts), in a process of its own so that its peak RSS is reconcile's: the bench runs it
// at 10,000 and at 100,000 versions and compares. Prints one JSON line: the counts and the peak RSS.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { realClock } from '../cli/reconcile/pacing';
import { reconcile } from '../cli/reconcile/run';
import { ENTRIES_PER_KEY, fakeClients } from './fake-aws';

export interface MemoryRun {
  readonly versions: number;
  readonly missing: number;
  readonly extra: number;
  readonly ms: number;
  /** Peak resident set size of this process, KB. */
  readonly maxRssKb: number;
}

async function main() {
  const versions = Number(process.argv[2]);
  const { s3, dynamodb } = fakeClients(versions / ENTRIES_PER_KEY);
  const checkpointDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-reconcile-memory-'));
  const started = Date.now();
  try {
    const report = await reconcile(
      { s3, dynamodb, clock: realClock },
      {
        bucket: 'tap-bench-uploads',
        table: 'tap-bench-metadata',
        prefix: '',
        repair: false,
        restart: true,
        recordObjectTags: false,
        inScope: () => true,
        checkpointDirectory,
      },
    );
    const { missing, extra } = report.counters;
    const run: MemoryRun = {
      versions,
      missing,
      extra,
      ms: Date.now() - started,
      maxRssKb: process.resourceUsage().maxRSS,
    };
    process.stdout.write(`${JSON.stringify(run)}\n`);
  } finally {
    fs.rmSync(checkpointDirectory, { recursive: true, force: true });
  }
}

if (require.main === module) void main();
