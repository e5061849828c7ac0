// npx tsx scripts/soak.ts [uploads]: the soak of scripts/lib/soak.ts on its own (npm run bench runs it
// with 2,000 uploads and writes its figures to BENCHMARKS.md; npm test runs a 200-upload one).
// npx tsx scripts/soak.ts job [objects]: the job soak of scripts/lib/soak-job.ts (2,000 objects by
// default; npm test runs 200).
import path from 'node:path';
import { root, runMain, step } from './lib/cli';
import { runSoak, soakVerdict } from './lib/soak';
import { jobSoakVerdict, runJobSoak } from './lib/soak-job';
import { jobSoakLines, soakLines } from './lib/soak-report';

async function jobSoak(objects: number) {
  step(`job soak: ${objects} objects, Batch Operations jobs on the stand-in with faults and live events`);
  const report = await runJobSoak({ objects, log: (line) => console.log(`    ${line}`) });
  console.log(jobSoakLines(report).join('\n'));
  const problems = jobSoakVerdict(report);
  if (problems.length > 0) throw new Error(`the jobs did not keep the promise:\n${problems.join('\n')}`);
  console.log('\njob soak: every version has its item, none written over a newer event, reports match');
}

async function main() {
  if (process.argv[2] === 'job') return jobSoak(Number(process.argv[3] ?? 2000));
  const uploads = Number(process.argv[2] ?? process.env.SOAK_UPLOADS ?? 2000);
  step(`soak: ${uploads} uploads through moto, faults, Lambda-like delivery, tap redrive and tap reconcile`);
  const report = await runSoak({
    uploads,
    workDir: path.join(root, '.work', 'soak'),
    log: (line) => console.log(`    ${line}`),
  });
  console.log(soakLines(report).join('\n'));
  const problems = soakVerdict(report);
  if (problems.length > 0) throw new Error(`the table does not mirror the bucket:\n${problems.join('\n')}`);
  console.log('\nsoak: the table mirrors the bucket');
}

if (require.main === module) runMain('soak', main);
