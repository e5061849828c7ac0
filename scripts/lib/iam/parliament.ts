// parliament (Duo Labs, BSD-3-Clause, pinned in tools/requirements-parliament.txt) over every concrete
// policy of the stack. Findings must be 0, or each suppressed in .parliament.yaml with its reason; a
// suppression without a reason, or one that matches no finding any more, is an error.
// Its quirks: --file reads stdin when stdin is not a TTY, so --files with stdin from /dev/null; it
// appends to parliament.log in its working folder and HOME, so both are a throwaway folder.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PolicyDocument } from './policy';

/** A finding on a policy, named by its Terraform address. */
export type ParliamentFinding = { issue: string; policy: string; severity: string; detail: string; line?: number };
/** Suppresses the findings of `issue` on `policy` whose detail contains `detail` (any, when absent), for `reason`. */
export type Suppression = { issue: string; policy: string; detail?: string; reason: string };
/** The entries of .parliament.yaml's list: issue, policy, optional detail and a reason, one "key: value" per line. */
export function readSuppressions(text: string): Suppression[] {
  const entries: Record<string, string>[] = [];
  const unquote = (v: string) => v.trim().replace(/^(['"])(.*)\1$/, '$2');
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trimEnd();
    const item = /^\s*-\s+([a-z]+):\s*(.*)$/.exec(line);
    const field = /^\s+([a-z]+):\s*(.*)$/.exec(line);
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

/** Runs parliament (from the venv's bin folder) over the named documents: its findings. */
export function runParliament(bin: string, documents: Readonly<Record<string, PolicyDocument>>): ParliamentFinding[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-parliament-'));
  try {
    const files = Object.entries(documents).map(([name, document]) => {
      fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(document, null, 2)}\n`);
      return path.join(dir, `${name}.json`);
    });
    // parliament exits 1 when it finds something; its findings are still on stdout.
    const run = spawnSync(path.join(bin, 'parliament'), ['--files', files.join(','), '--json'], {
      ...{ cwd: dir, env: { ...process.env, HOME: dir }, encoding: 'utf8', maxBuffer: 64 << 20 },
      stdio: [fs.openSync('/dev/null', 'r'), 'pipe', 'pipe'],
    });
    const output = run.stdout ?? '';
    if (run.status !== 0 && !output.trim()) throw new Error(`parliament failed to run:\n${run.stderr}`);
    type Raw = { issue: string; severity: string; detail: unknown; location?: { filepath?: string; line?: number } };
    return output
      .split('\n')
      .filter((line) => line.trim().startsWith('{'))
      .map((line): ParliamentFinding => {
        const { issue, severity, detail, location } = JSON.parse(line) as Raw;
        return {
          ...{ issue, severity, policy: path.basename(location?.filepath ?? '').replace(/\.json$/, '') },
          detail: typeof detail === 'string' ? detail : JSON.stringify(detail),
          ...(location?.line ? { line: location.line } : {}),
        };
      });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits findings into suppressed and open, and finds the suppressions that match nothing (stale: an error). */
export function applySuppressions(findings: readonly ParliamentFinding[], suppressions: readonly Suppression[]) {
  const matches = (s: Suppression, f: ParliamentFinding) =>
    s.issue === f.issue && s.policy === f.policy && (s.detail === undefined || f.detail.includes(s.detail));
  return {
    open: findings.filter((f) => !suppressions.some((s) => matches(s, f))),
    suppressed: suppressions.map((s) => ({ suppression: s, count: findings.filter((f) => matches(s, f)).length })),
    stale: suppressions.filter((s) => !findings.some((f) => matches(s, f))),
  };
}
