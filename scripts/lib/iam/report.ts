// The least-privilege report of `npm run security`: which recorded sources were found, the role's grant
// table (granted and used / granted, not exercised and why / used but not granted), the tap users'
// calls with a named check per tap command, the named checks. Pure: lines in, lines out; security.ts
// prints them and fails on problems.
import path from 'node:path';
import { root } from '../cli';
import type { CallCheck } from './audit';
import type { CallsFile, CallsHeader } from './calls-file';
import {
  asDeployedTransport,
  checkCallsAs,
  checkPlatformCalls,
  grantTable,
  GrantRow,
  NamedResult,
  runNamedChecks,
} from './proof';
import type { RecordedCall } from './recorder';
import type { StackUnderProof } from './stack';

export interface ProofInput {
  /** Calls files found on disk, plus any made in-process (the handler paths driven by security itself). */
  readonly files: readonly CallsFile[];
  /** The stack for a header's synthEnv and deployment. */
  readonly stackOf: (header: CallsHeader) => StackUnderProof;
  /** Sources that must be present (CI: jest, local, e2e). */
  readonly required?: readonly string[];
}

export interface ProofReport {
  readonly lines: string[];
  readonly problems: string[];
  readonly counts: {
    readonly calls: number;
    readonly used: number;
    readonly notExercised: number;
    readonly usedNotGranted: number;
    readonly unused: number;
    readonly named: number;
    readonly namedFailed: number;
    /** Named checks of the tap commands (one per command recorded) and how many failed. */
    readonly tapCommands: number;
    readonly tapCommandsFailed: number;
  };
}

/** The named check of one tap command over every file that recorded it. */
export interface TapCommandResult {
  readonly command: string;
  readonly caller: NonNullable<CallsHeader['caller']>;
  readonly sources: readonly string[];
  /** Calls made (one per permission they need), and the KMS calls AWS makes because of them. */
  readonly calls: number;
  readonly implied: number;
  /** The lines of the calls denied (unmapped ones included), each once. */
  readonly denied: readonly string[];
  readonly ok: boolean;
  readonly line: string;
}

const sourceOf = (f: CallsFile) => f.header.source;

/** Calls of a file as they are evaluated: a stand-in's plain http replaced by the deployed transport. */
const evaluated = (f: CallsFile): RecordedCall[] =>
  f.header.transport === 'stand-in-http' ? f.calls.map((c) => asDeployedTransport(c)) : f.calls;

/** The whole proof over every file: the lines to print and the problems that fail the gate. */
export function proofReport(input: ProofInput): ProofReport {
  const lines: string[] = [];
  const problems: string[] = [];
  const sources = [...new Set(input.files.map(sourceOf))].sort();
  lines.push(`recorded sources found: ${sources.length > 0 ? sources.join(', ') : 'none'}`);
  const width = Math.max(7, ...sources.map((s) => s.length));
  for (const f of input.files) {
    const mapped = f.calls.filter((c) => !c.implied).length;
    const note =
      f.header.transport === 'stand-in-http' ? ' (plain http to a stand-in: evaluated over TLS 1.2, as deployed)' : '';
    lines.push(
      `  ${f.header.source.padEnd(width)} ${path.isAbsolute(f.file) ? path.relative(root, f.file) : f.file}: ${mapped} call(s) + ${f.calls.length - mapped} implied, by ${f.header.caller ?? 'function'}${note}`,
    );
  }
  for (const required of input.required ?? []) {
    if (!sources.includes(required)) problems.push(`required source "${required}" has no calls file`);
  }

  // The function's calls, per stack configuration and source.
  const groups = new Map<string, { stack: StackUnderProof; source: string; checks: CallCheck[] }>();
  const userChecks: { file: CallsFile; checks: CallCheck[] }[] = [];
  for (const f of input.files) {
    const stack = input.stackOf(f.header);
    const checks = checkCallsAs(stack, evaluated(f), f.header.caller ?? 'function');
    if ((f.header.caller ?? 'function') !== 'function') {
      userChecks.push({ file: f, checks });
      continue;
    }
    const id = `${stack.roleArn} ${JSON.stringify(stack.synthEnv)} ${f.header.source}`;
    const group = groups.get(id) ?? { stack, source: f.header.source, checks: [] };
    group.checks.push(...checks);
    groups.set(id, group);
  }

  // One grant table for every deployment and configuration: a statement's (Sid, action) is the same
  // grant whatever the names; it is used when any source's call used it.
  const merged = new Map<string, GrantRow & { bySource: Record<string, number> }>();
  let calls = 0;
  let usedNotGranted = 0;
  const deniedLines: string[] = [];
  for (const { stack, source, checks } of groups.values()) {
    calls += checks.length;
    const denied = checks.filter((c) => !c.decision.allowed);
    usedNotGranted += denied.length;
    deniedLines.push(...denied.map((c) => `${source}: ${c.line}`));
    for (const row of grantTable(stack, checks)) {
      const key = `${row.sid ?? ''}|${row.action}`;
      const previous = merged.get(key);
      const count = row.status === 'used' ? Number(row.detail.split(' ')[0]) : 0;
      const bySource = { ...previous?.bySource };
      if (count > 0) bySource[source] = (bySource[source] ?? 0) + count;
      const status = previous?.status === 'used' || row.status === 'used' ? 'used' : row.status;
      merged.set(key, { ...row, status, bySource });
    }
  }
  const rows = [...merged.values()].map((r): GrantRow =>
    r.status === 'used'
      ? {
          ...r,
          detail: Object.entries(r.bySource)
            .map(([source, n]) => `${source} ${n}`)
            .join(', '),
        }
      : r,
  );
  lines.push('');
  lines.push(
    `the function role's grants (${[...new Set([...groups.values()].map((g) => g.stack.roleArn))].length} deployment(s), calls by source):`,
  );
  lines.push(...grantLines(rows));
  const used = rows.filter((r) => r.status === 'used').length;
  const notExercised = rows.filter((r) => r.status === 'not-exercised').length;
  const unused = rows.filter((r) => r.status === 'unused').length;
  lines.push(`  used but not granted (must be 0): ${usedNotGranted}`);
  for (const d of dedupe(deniedLines)) lines.push(`    ${d}`);
  for (const r of rows.filter((row) => row.status === 'unused'))
    problems.push(`granted but used by no recorded call: ${r.action} (${r.sid ?? 'no Sid'})`);
  for (const d of dedupe(deniedLines)) problems.push(d);

  for (const { file, checks } of userChecks) {
    const denied = checks.filter((c) => !c.decision.allowed);
    lines.push('');
    lines.push(
      `${file.header.caller} calls of ${file.header.source} (${path.relative(root, file.file)}): ${checks.length} evaluated, ${denied.length} denied`,
    );
    for (const d of dedupe(denied.map((c) => c.line))) {
      lines.push(`    ${d}`);
      problems.push(`${file.header.caller}: ${d}`);
    }
  }

  const commands = tapCommandResults(userChecks);
  if (commands.length > 0) {
    lines.push('');
    lines.push(`the tap commands' calls: ${commands.filter((c) => c.ok).length}/${commands.length} as expected`);
    lines.push(...commands.map((c) => c.line));
    for (const c of commands.filter((r) => !r.ok)) problems.push(`tap command check failed: ${c.line.trim()}`);
  }

  // Named checks on every configuration seen; printed in full for the first, failures only for the others.
  // One per configuration and account: the key id alone (a stand-in's, the fake one) changes nothing here.
  const stacks = [
    ...new Map(
      input.files.map((f) => {
        const stack = input.stackOf(f.header);
        return [`${stack.roleArn} ${JSON.stringify(stack.synthEnv)}`, stack] as const;
      }),
    ).values(),
  ];
  const named: NamedResult[] = [];
  stacks.forEach((stack, i) => {
    const results = runNamedChecks(stack);
    named.push(...results);
    const platform = checkPlatformCalls(stack);
    const platformDenied = platform.filter((c) => !c.decision.allowed);
    lines.push('');
    lines.push(
      `the platform's calls for ${stack.roleArn} (Lambda, S3, CloudWatch, CloudWatch Logs on the deployment's behalf): ${platform.length - platformDenied.length}/${platform.length} allowed`,
    );
    for (const d of platformDenied) problems.push(`platform: ${d.line}`);
    lines.push('');
    lines.push(
      `named checks on ${stack.roleArn} (TAP_* ${JSON.stringify(stack.synthEnv)}): ${results.filter((r) => r.ok).length}/${results.length} as expected`,
    );
    lines.push(...namedLines(i === 0 ? results : results.filter((r) => !r.ok)));
    for (const n of results.filter((r) => !r.ok)) problems.push(`named check failed: ${n.check.name}: ${n.line}`);
  });

  return {
    lines,
    problems,
    counts: {
      calls,
      used,
      notExercised,
      usedNotGranted,
      unused,
      named: named.length,
      namedFailed: named.filter((r) => !r.ok).length,
      tapCommands: commands.length,
      tapCommandsFailed: commands.filter((c) => !c.ok).length,
    },
  };
}

const dedupe = (values: readonly string[]) => [...new Set(values)];

const count = (n: number) => n.toLocaleString('en-US');

/** What a tap user must be granted, in the words of the named check. */
const EXPECTED: Record<NonNullable<CallsHeader['caller']>, string> = {
  operator: 'none denied by the bucket, queue, topic or key policy (admin-like identity policy)',
  uploader: 'all allowed with only the uploaders policy',
  function: 'all allowed to the function role',
};

/**
 * One named check per tap command (files whose header names one), over every file that recorded it:
 * every call allowed, and at least one call recorded (none means the recording broke). By command.
 */
export function tapCommandResults(
  userChecks: readonly { readonly file: CallsFile; readonly checks: readonly CallCheck[] }[],
): TapCommandResult[] {
  const byCommand = new Map<string, { file: CallsFile; checks: readonly CallCheck[] }[]>();
  for (const u of userChecks) {
    if (!u.file.header.command) continue;
    const id = `${u.file.header.caller} ${u.file.header.command}`;
    byCommand.set(id, [...(byCommand.get(id) ?? []), u]);
  }
  const results = [...byCommand.values()].map((group): TapCommandResult => {
    const { command = '', caller = 'operator' } = group[0].file.header;
    const checks = group.flatMap((g) => g.checks);
    const implied = checks.filter((c) => c.call.implied).length;
    const calls = checks.length - implied;
    const denied = dedupe(checks.filter((c) => !c.decision.allowed).map((c) => c.line));
    const sources = dedupe(group.map((g) => g.file.header.source)).sort();
    const ok = calls > 0 && denied.length === 0;
    const verdict =
      calls === 0 ? 'no call recorded' : denied.length === 0 ? EXPECTED[caller] : `${count(denied.length)} DENIED`;
    const line = `  ${ok ? 'ok  ' : 'FAIL'} ${command} (${caller}): ${count(calls)} call(s) + ${count(implied)} implied, ${verdict} [${sources.join(', ')}]`;
    return { command, caller, sources, calls, implied, denied, ok, line };
  });
  return results.sort((a, b) => a.command.localeCompare(b.command));
}

/** The grant table: one line per (action, resource) with its status. */
export function grantLines(rows: readonly GrantRow[]): string[] {
  const label = { used: 'granted and used', 'not-exercised': 'granted, not exercised', unused: 'GRANTED, UNUSED' };
  const out: string[] = [];
  for (const status of ['used', 'not-exercised', 'unused'] as const) {
    const of = rows.filter((r) => r.status === status);
    out.push(`  ${label[status]}: ${of.length}`);
    for (const r of of)
      out.push(`    ${r.action.padEnd(28)} ${r.sid ?? ''} ${status === 'used' ? r.detail : `(${r.detail})`}`);
  }
  return out;
}

/** One line per named check: ok/FAIL, expected decision, the check, the deciding statements. */
export function namedLines(results: readonly NamedResult[]): string[] {
  return results.map((r) => {
    const by = r.decision.statements.map((s) => s.sid ?? `#${s.index}`).join(' + ');
    return `  ${r.ok ? 'ok  ' : 'FAIL'} ${r.check.expect.padEnd(5)} ${r.check.name}${by ? ` [${by}]` : ''}`;
  });
}
