// parliament (Duo Labs, BSD-3-Clause, pinned in tools/requirements-parliament.txt) over every concrete
// policy of the stack: the role's, the trust policy, the bucket, queue, topic and function policies, the
// key policy and the uploaders policy. Findings must be 0, or each suppressed in .parliament.yaml with
// its reason; a suppression without a reason, or one that matches no finding any more, is an error.
//
// parliament quirks handled here: --file reads stdin when stdin is not a TTY, so --files is used with
// stdin from /dev/null; it appends to parliament.log in its working folder and HOME, so both are a
// throwaway folder.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../cli';
import type { PolicyDocument } from './policy';

export interface ParliamentFinding {
  readonly issue: string;
  /** The policy's name (its Terraform address). */
  readonly policy: string;
  readonly severity: string;
  readonly detail: string;
  readonly line?: number;
}

export interface Suppression {
  readonly issue: string;
  readonly policy: string;
  /** A substring of the finding's detail; absent matches any detail. */
  readonly detail?: string;
  readonly reason: string;
}

export const SUPPRESSIONS_FILE = path.join(root, '.parliament.yaml');

/**
 * The suppressions of .parliament.yaml: a list of entries with issue, policy, optional detail and a
 * reason, one "key: value" per line (values may be quoted). An entry without a reason is an error.
 */
export function readSuppressions(text: string): Suppression[] {
  const entries: Record<string, string>[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trimEnd();
    const item = /^\s*-\s+([a-z]+):\s*(.*)$/.exec(line);
    const field = /^\s+([a-z]+):\s*(.*)$/.exec(line);
    const unquote = (v: string) => v.trim().replace(/^(['"])(.*)\1$/, '$2');
    if (item) entries.push({ [item[1]]: unquote(item[2]) });
    else if (field && entries.length > 0) entries[entries.length - 1][field[1]] = unquote(field[2]);
  }
  return entries.map((e, i) => {
    const where = `.parliament.yaml entry ${i + 1} (${e.issue ?? '?'} on ${e.policy ?? '?'})`;
    if (!e.issue || !e.policy) throw new Error(`${where}: needs issue and policy`);
    if (!e.reason?.trim()) throw new Error(`${where}: a suppression needs its reason`);
    return { issue: e.issue, policy: e.policy, ...(e.detail ? { detail: e.detail } : {}), reason: e.reason.trim() };
  });
}

export const suppresses = (s: Suppression, f: ParliamentFinding) =>
  s.issue === f.issue && s.policy === f.policy && (s.detail === undefined || f.detail.includes(s.detail));

/** parliament's JSON lines, one finding per distinct (issue, policy, line, detail). */
export function parseFindings(output: string, policyOfFile: (file: string) => string): ParliamentFinding[] {
  const seen = new Map<string, ParliamentFinding>();
  for (const line of output.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    const f = JSON.parse(line) as {
      issue: string;
      severity: string;
      detail: unknown;
      location?: { filepath?: string; line?: number };
    };
    const finding: ParliamentFinding = {
      issue: f.issue,
      policy: policyOfFile(f.location?.filepath ?? ''),
      severity: f.severity,
      detail: typeof f.detail === 'string' ? f.detail : JSON.stringify(f.detail),
      ...(f.location?.line ? { line: f.location.line } : {}),
    };
    seen.set(JSON.stringify([finding.issue, finding.policy, finding.line, finding.detail]), finding);
  }
  return [...seen.values()];
}

/** Runs parliament (from the venv's bin folder) over the named documents; its findings, deduplicated. */
export function runParliament(bin: string, documents: Readonly<Record<string, PolicyDocument>>): ParliamentFinding[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-parliament-'));
  try {
    const files = Object.entries(documents).map(([name, document]) => {
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
      return file;
    });
    let output: string;
    try {
      output = execFileSync(path.join(bin, 'parliament'), ['--files', files.join(','), '--json'], {
        cwd: dir,
        env: { ...process.env, HOME: dir },
        stdio: [fs.openSync('/dev/null', 'r'), 'pipe', 'pipe'],
        maxBuffer: 64 << 20,
      }).toString();
    } catch (error) {
      // parliament exits 1 when it finds something; its findings are still on stdout.
      const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
      output = stdout?.toString() ?? '';
      if (!output.trim()) throw new Error(`parliament failed to run:\n${stderr?.toString()}`, { cause: error });
    }
    return parseFindings(output, (file) => path.basename(file).replace(/\.json$/, ''));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface LintResult {
  readonly open: ParliamentFinding[];
  readonly suppressed: { readonly finding: ParliamentFinding; readonly by: Suppression }[];
  /** Suppressions that match no finding: stale, an error. */
  readonly stale: Suppression[];
}

/** Splits findings into suppressed and open, and finds the suppressions that match nothing. */
export function applySuppressions(findings: readonly ParliamentFinding[], suppressions: readonly Suppression[]) {
  const suppressed: LintResult['suppressed'][number][] = [];
  const open: ParliamentFinding[] = [];
  for (const finding of findings) {
    const by = suppressions.find((s) => suppresses(s, finding));
    if (by) suppressed.push({ finding, by });
    else open.push(finding);
  }
  const stale = suppressions.filter((s) => !findings.some((f) => suppresses(s, f)));
  return { open, suppressed, stale } satisfies LintResult;
}
