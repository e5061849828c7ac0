// npx tsx scripts/soak.ts [uploads]: the soak of scripts/lib/soak.ts on its own (npm run bench runs it
// with 2,000 uploads and writes its figures to BENCHMARKS.md; npm test runs a 200-upload one).
import path from 'node:path';
import { root, runMain, step } from './lib/cli';
import { runSoak, soakVerdict } from './lib/soak';
import { soakLines } from './lib/soak-report';

async function main() {
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
