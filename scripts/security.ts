// npm run security: checkov on the synthesized stack (terraform_json), on the offline plan
// (terraform_plan, where references are resolved) and on the CI workflow (github_actions); parliament
// on every concrete policy of the stack; and the least-privilege proof: every call of the function and
// of the tap commands, recorded by the suites that make them (RECORDING_SUITES, run here into a fresh
// folder: the gate never trusts what earlier runs left behind) and by the handler paths driven here (S3
// events and Batch Operations tasks), against the synthesized policies; the role's grants used or
// explained; a named check per tap command; the named checks. Fails on any failed check, parse error, open parliament finding, stale suppression,
// proof problem, or missing evidence (a source, the function's calls or the tap commands' calls).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { info, root, runMain, step } from './lib/cli';
import { ensureVenv } from './lib/venv';
import { validate, ValidatedStack } from './validate';
import { readEvidence, RECORD_CALLS_VARIABLE } from './lib/iam/evidence';
import { driveAllPaths } from './lib/iam/paths';
import { EXAMPLE_DEPLOYMENT, stackPolicies } from './lib/iam/policy';
import { Evidence, proofReport, stackUnderProof, uploadersDocument } from './lib/iam/proof';
import { applySuppressions, readSuppressions, runParliament } from './lib/iam/parliament';

/**
 * The configurations proven here: the default one, one recording tags (its role has one more statement),
 * EventBridge delivery, an existing bucket with its own key, and write autoscaling with Batch Operations.
 */
const CONFIGURATIONS: Record<string, string>[] = [
  {},
  { TAP_RECORD_OBJECT_TAGS: 'true' },
  { TAP_EVENT_DELIVERY: 'eventbridge' },
  {
    TAP_EXISTING_BUCKET_NAME: 'team-archive',
    TAP_EXISTING_BUCKET_KMS_KEY_ARNS: `arn:aws:kms:us-east-1:${EXAMPLE_DEPLOYMENT.account}:key/0000aaaa-11bb-22cc-33dd-444455556666`,
  },
  { TAP_TABLE_MAX_WRITE_CAPACITY: '1000', TAP_ENABLE_BATCH_OPERATIONS: 'true' },
];

export interface CheckovSkip {
  readonly id: string;
  readonly reason: string;
}

/** The skips in .checkov.yaml with their reasons; a skip without a reason is an error. */
export function readSkips(file = path.join(root, '.checkov.yaml')): CheckovSkip[] {
  const skips: CheckovSkip[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*-\s*(CKV2?_[A-Z]+_\d+)\s*(?:#\s*(.*))?$/.exec(line);
    if (!match) continue;
    if (!match[2]?.trim()) throw new Error(`.checkov.yaml skips ${match[1]} without a reason`);
    skips.push({ id: match[1], reason: match[2].trim() });
  }
  return skips;
}

const SUMMARY_KEYS = ['passed', 'failed', 'skipped', 'parsing_errors'] as const;
type ScanSummary = Record<(typeof SUMMARY_KEYS)[number], number>;

interface CheckovCheck {
  check_id: string;
  check_name: string;
  resource: string;
}

/** One framework's report; checkov prints one object, or a list of them when it ran several. */
interface CheckovReport {
  summary?: Partial<ScanSummary>;
  results?: { failed_checks?: CheckovCheck[]; passed_checks?: CheckovCheck[] };
}

function checkov(bin: string, args: string[]) {
  let output: string;
  try {
    output = execFileSync(
      path.join(bin, 'checkov'),
      [...args, '--config-file', path.join(root, '.checkov.yaml'), '-o', 'json'],
      { cwd: root, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] },
    ).toString();
  } catch (error) {
    // checkov exits 1 when a check fails; its JSON report is still on stdout.
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    output = stdout?.toString() ?? '';
    if (!output.trim().startsWith('{') && !output.trim().startsWith('['))
      throw new Error(`checkov failed to run:\n${stderr?.toString()}`, { cause: error });
  }
  const reports = [JSON.parse(output) as CheckovReport | CheckovReport[]].flat();
  const summary: ScanSummary = { passed: 0, failed: 0, skipped: 0, parsing_errors: 0 };
  const failed: string[] = [];
  const passedResources = new Set<string>();
  for (const report of reports) {
    for (const key of SUMMARY_KEYS) summary[key] += report.summary?.[key] ?? 0;
    for (const c of report.results?.failed_checks ?? []) failed.push(`${c.check_id} ${c.resource}: ${c.check_name}`);
    for (const c of report.results?.passed_checks ?? []) passedResources.add(c.resource);
  }
  return { summary, failed, passedResources };
}

/** Scans one validated stack as synthesized and as planned; returns the number of failures. */
function scanStack(bin: string, { stack, stackFile, planFile }: ValidatedStack, skipCount: number): number {
  const scans = [
    { name: `${stack} synthesized (terraform_json)`, args: ['-f', stackFile, '--framework', 'terraform_json'] },
    { name: `${stack} offline plan (terraform_plan)`, args: ['-f', planFile, '--framework', 'terraform_plan'] },
  ];
  let failures = 0;
  for (const scan of scans) {
    const { summary, failed, passedResources } = checkov(bin, scan.args);
    info(
      `${scan.name}: passed ${summary.passed}, failed ${summary.failed}, skipped ${summary.skipped} inline + ${skipCount} by .checkov.yaml, parsing errors ${summary.parsing_errors}`,
    );
    for (const f of failed) info(`  FAILED ${f}`);
    failures += summary.failed + summary.parsing_errors;
    if (summary.passed === 0) {
      info('  no check passed: checkov evaluated nothing, which is a silent drop');
      failures++;
    }
    if (scan.args.includes('terraform_json')) {
      // Every IAM policy document must have been evaluated: a document checkov could not read
      // would show up as UNKNOWN, never as failed.
      const synthesized = JSON.parse(fs.readFileSync(stackFile, 'utf8')) as {
        data?: { aws_iam_policy_document?: Record<string, unknown> };
      };
      for (const name of Object.keys(synthesized.data?.aws_iam_policy_document ?? {})) {
        if (![...passedResources].some((res) => res.endsWith(`.${name}`))) {
          info(`  policy document ${name} was not evaluated by any check`);
          failures++;
        }
      }
    }
  }
  return failures;
}

/** parliament over every policy of the default stack and the one recording tags (whose role differs). */
function lintPolicies(): number {
  step('Security gate: parliament on every concrete policy');
  const suppressions = readSuppressions(fs.readFileSync(path.join(root, '.parliament.yaml'), 'utf8'));
  const bin = ensureVenv('parliament');
  const version = execFileSync(path.join(bin, 'python'), ['-c', 'import parliament; print(parliament.__version__)'])
    .toString()
    .trim();
  const findings = CONFIGURATIONS.flatMap((env) => {
    const stack = stackUnderProof(env, EXAMPLE_DEPLOYMENT);
    // The stack's own policies (an existing bucket's key policy is its owner's, only assumed by the proof).
    const own = stackPolicies(stack.parsed, stack.deployment);
    const documents = Object.fromEntries(Object.values(own).map((p) => [p.name, p.document]));
    return runParliament(bin, { ...documents, 'aws_iam_policy.uploaders': uploadersDocument(stack) });
  });
  // Both configurations share most policies: each finding once.
  const unique = [...new Map(findings.map((f) => [JSON.stringify(f), f])).values()];
  const { open, suppressed, stale } = applySuppressions(unique, suppressions);
  info(
    `parliament ${version}: ${unique.length} finding(s), ${unique.length - open.length} suppressed by .parliament.yaml, ${open.length} open`,
  );
  for (const { suppression: s, count } of suppressed)
    info(`  suppressed ${s.issue} on ${s.policy} (${count}): ${s.reason}`);
  for (const f of open)
    info(`  OPEN ${f.severity} ${f.issue} on ${f.policy}${f.line ? `:${f.line}` : ''}: ${f.detail}`);
  for (const s of stale) info(`  STALE suppression ${s.issue} on ${s.policy}: matches no finding any more`);
  return open.length + stale.length;
}

/** The least-privilege proof over the handler paths driven here and the evidence the recording suites saved. */
async function proveLeastPrivilege(recorded: Evidence[]): Promise<number> {
  step('Security gate: least privilege, proven offline');
  const driven: Evidence[] = [];
  let batchTaskCalls = 0;
  for (const env of CONFIGURATIONS) {
    const stack = stackUnderProof(env, EXAMPLE_DEPLOYMENT);
    const paths = await driveAllPaths(stack);
    const calls = paths.flatMap((p) => p.calls);
    batchTaskCalls += paths.filter((p) => p.path.eventName.startsWith('batch:')).flatMap((p) => p.calls).length;
    driven.push({
      name: 'handler paths driven here',
      synthEnv: env,
      deployment: EXAMPLE_DEPLOYMENT,
      caller: 'function',
      transport: 'recorded',
      calls,
    });
  }
  const report = proofReport([...driven, ...recorded]);
  for (const line of report.lines) info(line);
  const c = report.counts;
  info('');
  info(
    `summary: ${c.calls} function call(s) evaluated (${batchTaskCalls} of them handling S3 Batch Operations tasks), ${c.tapCommands} tap command path(s), ${c.platform} platform call(s), ${c.refusals} refusal(s)`,
  );
  const problems = [...report.problems, ...missingEvidence(recorded)];
  if (batchTaskCalls === 0) problems.push('no call of the function handling a Batch Operations task was recorded');
  for (const p of problems) info(`  PROBLEM ${p}`);
  return problems.length;
}

/** The suites whose SDK clients record the function's and the tap commands' calls, and the evidence each must save. */
const RECORDING_SUITES = ['__tests__/iam/', '__tests__/soak/soak.test.ts'];
const REQUIRED_EVIDENCE = [
  'soak',
  'tap-upload',
  'tap-show',
  'tap-redrive',
  'tap-reconcile-repair',
  'tap-redrive-local',
  'tap-eventbridge-enable',
];

/** The required evidence no recording suite saved: a failure each, naming it. */
export const missingEvidence = (recorded: readonly Pick<Evidence, 'name'>[]): string[] =>
  REQUIRED_EVIDENCE.filter((name) => !recorded.some((e) => e.name === name)).map(
    (name) => `no evidence "${name}": its recording suite did not save it`,
  );

/** Runs the recording suites with TAP_RECORD_CALLS set to a fresh folder, and reads what they saved. */
function recordCalls(): { evidence: Evidence[]; cleanup: () => void } {
  step(`Security gate: recording the calls of ${RECORDING_SUITES.join(', ')}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-iam-calls-'));
  execFileSync(process.execPath, ['--require', 'tsx/cjs', 'scripts/build-handler.ts'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [require.resolve('jest/bin/jest'), '--silent', ...RECORDING_SUITES], {
    cwd: root,
    env: { ...process.env, [RECORD_CALLS_VARIABLE]: dir },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return { evidence: readEvidence(dir), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function main() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  step('Security gate: checkov');
  const skips = readSkips();
  const bin = ensureVenv('checkov');
  const version = execFileSync(path.join(bin, 'checkov'), ['--version']).toString().trim();
  info(`checkov ${version}; ${skips.length} checks skipped in .checkov.yaml:`);
  for (const s of skips) info(`  ${s.id}: ${s.reason}`);

  const { results } = await validate({ quiet: true });
  info(`terraform validate and plan: ${results.map((r) => `${r.stack} ${r.creates} to create`).join(', ')}`);
  let failures = 0;
  for (const r of results) failures += scanStack(bin, r, skips.length);
  const workflows = checkov(bin, ['-d', path.join(root, '.github', 'workflows'), '--framework', 'github_actions']);
  info(`CI workflow (github_actions): passed ${workflows.summary.passed}, failed ${workflows.summary.failed}`);
  for (const f of workflows.failed) info(`  FAILED ${f}`);
  failures += workflows.summary.failed;
  failures += lintPolicies();
  const recorded = recordCalls();
  try {
    failures += await proveLeastPrivilege(recorded.evidence);
  } finally {
    recorded.cleanup();
  }
  if (failures > 0) throw new Error(`${failures} failed check(s) or scan problem(s)`);
  step('security: OK, 0 failed checks, 0 open parliament findings, least privilege proven');
}

if (require.main === module) runMain('security', main);
