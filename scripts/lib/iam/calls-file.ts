// Recorded calls on disk: one JSONL file per source under .work/iam-calls/ (jest.<test file>.jsonl,
// local.jsonl, e2e.jsonl, soak.jsonl, soak-operator.<tap command>.jsonl, ...). The first line says where the calls were made (the
// deployment the ARNs belong to, the TAP_* variables the stack was synthesized with, the transport),
// every other line is one RecordedCall. `npm run security` evaluates every file it finds.
//
// Two ways to record, one mapping table (recorder.ts's mapCall) either way:
// - in-process SDK clients (this project's node_modules): recordSdkCalls patches the clients' send so
//   every client created in this process records (the tap commands, the handler in jest and the soak);
//   a child process (`tap` as the soak runs it) records the same way through a preload
//   (record-process.ts) told what to write by TAP_RECORD_CALLS_AS;
// - the bundled handler, whose SDK is inside the bundle: at the wire (wire.ts), in front of the stand-in.
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@smithy/core/client';
import { root } from '../cli';
import type { Deployment } from './policy';
import type { StackUnderProof } from './stack';
import { CallRecorder, createRecorder, recordCalls, RecordableClient, RecordedCall, RecordOptions } from './recorder';

export const CALLS_DIR = path.join(root, '.work', 'iam-calls');

/** TAP_RECORD_CALLS=<dir>: scripts that honour it (the soak) write their calls there. */
export const RECORD_CALLS_VARIABLE = 'TAP_RECORD_CALLS';

/**
 * How the calls travelled: "recorded" when aws:SecureTransport and s3:TlsVersion are what the request
 * really used; "stand-in-http" when the stand-in only speaks plain http, so the deployed transport
 * (AWS's https endpoints, TLS 1.2 or later) is evaluated instead, and the report says so.
 */
export type Transport = 'recorded' | 'stand-in-http';

export interface CallsHeader {
  readonly kind: 'tap-iam-calls';
  /** The source: jest, local, e2e, soak... (the file name up to its first dot). */
  readonly source: string;
  readonly deployment: Deployment;
  /** TAP_* variables the stack was synthesized with for these calls (its names and options). */
  readonly synthEnv: Readonly<Record<string, string>>;
  readonly transport: Transport;
  /** Who made the calls: the function's role, unless an operator or uploader ran a tap command. */
  readonly caller?: 'function' | 'operator' | 'uploader';
  /** The tap command whose calls these are ("tap reconcile --repair"): a named check of npm run security each. */
  readonly command?: string;
}

/** The header of a calls file whose calls were made against `stack` (its TAP_* variables and deployment). */
export const callsHeader = (
  stack: Pick<StackUnderProof, 'synthEnv' | 'deployment'>,
  source: string,
  {
    transport = 'recorded',
    caller = 'function',
    command,
  }: { transport?: Transport; caller?: CallsHeader['caller']; command?: string } = {},
): CallsHeader => ({
  kind: 'tap-iam-calls',
  source,
  deployment: stack.deployment,
  synthEnv: stack.synthEnv,
  transport,
  caller,
  ...(command ? { command } : {}),
});

/**
 * How calls made against `stack` are mapped: its deployment's account and partition, its encryption
 * (the implied KMS calls) and, for the function's calls, lambda:SourceFunctionArn.
 */
export const recordOptionsFor = (
  stack: StackUnderProof,
  caller: CallsHeader['caller'] = 'function',
): RecordOptions => ({
  account: stack.deployment.account,
  partition: stack.deployment.partition,
  encryption: stack.encryption,
  ...(caller === 'function' ? { sourceFunctionArn: stack.functionArn } : {}),
});

export interface CallsFile {
  readonly file: string;
  readonly header: CallsHeader;
  readonly calls: RecordedCall[];
}

/** A recorder whose calls are appended, one line each, to `file` (created with its header, replacing any). */
export function recordCallsTo(file: string, header: CallsHeader): CallRecorder & { readonly file: string } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(header)}\n`);
  const recorder = createRecorder();
  return {
    ...recorder,
    file,
    record: (...calls: RecordedCall[]) => {
      recorder.record(...calls);
      if (calls.length > 0) fs.appendFileSync(file, calls.map((c) => `${JSON.stringify(c)}\n`).join(''));
    },
  };
}

/** The file of a source: <dir>/<source>.jsonl; dir is TAP_RECORD_CALLS, else .work/iam-calls. */
export const callsFileOf = (source: string, env: NodeJS.ProcessEnv = process.env) =>
  path.join(env[RECORD_CALLS_VARIABLE] || CALLS_DIR, `${source}.jsonl`);

/** A recorder for `source` when TAP_RECORD_CALLS is set, else undefined (the soak's switch). */
export function recorderFromEnv(
  header: CallsHeader,
  env: NodeJS.ProcessEnv = process.env,
): (CallRecorder & { readonly file: string }) | undefined {
  return env[RECORD_CALLS_VARIABLE] ? recordCallsTo(callsFileOf(header.source, env), header) : undefined;
}

/**
 * Every SDK client of this process (created from this project's node_modules) records into `recorder`
 * from its next send on; `when` filters (e.g. only inside the handler). Returns the undo.
 */
export function recordSdkCalls(
  recorder: CallRecorder,
  options: RecordOptions,
  when: () => boolean = () => true,
): () => void {
  type Send = (this: RecordableClient<object, never>, ...args: unknown[]) => Promise<unknown>;
  const prototype = Client.prototype as unknown as { send: Send };
  const original = prototype.send;
  const filtered: CallRecorder = {
    ...recorder,
    record: (...calls) => (when() ? recorder.record(...calls) : undefined),
  };
  const seen = new WeakSet<object>();
  prototype.send = function (this: RecordableClient<object, never>, ...args: unknown[]) {
    if (!seen.has(this)) {
      seen.add(this);
      recordCalls(this, filtered, options);
    }
    return original.apply(this, args);
  };
  return () => {
    prototype.send = original;
  };
}

/** TAP_RECORD_CALLS_AS=<JSON of RecordAs>: a process that loads record-process.ts records all its SDK calls. */
export const RECORD_AS_VARIABLE = 'TAP_RECORD_CALLS_AS';

/** What a recording child process writes: the file, its header, and what the mapping needs to know. */
export interface RecordAs {
  readonly file: string;
  readonly header: CallsHeader;
  readonly options: RecordOptions;
}

/** The environment entry that makes a child process (started with recordingExecArgv) record as `as` says. */
export const recordAsEnv = (as: RecordAs): Record<string, string> => ({ [RECORD_AS_VARIABLE]: JSON.stringify(as) });

/** The preload of a recording child process. */
export const RECORD_PROCESS_PRELOAD = path.join(__dirname, 'record-process.ts');

/** Node options that load the preload (TypeScript, through tsx) before the child's own code, from any folder. */
export const recordingExecArgv = (): string[] => [
  '--require',
  require.resolve('tsx/cjs'),
  '--require',
  RECORD_PROCESS_PRELOAD,
];

/**
 * Every SDK client of this process records into the file TAP_RECORD_CALLS_AS names, from now on;
 * undefined (nothing recorded) without the variable. Returns the undo.
 */
export function recordThisProcess(env: NodeJS.ProcessEnv = process.env): (() => void) | undefined {
  const raw = env[RECORD_AS_VARIABLE];
  if (!raw) return undefined;
  const as = JSON.parse(raw) as RecordAs;
  return recordSdkCalls(recordCallsTo(as.file, as.header), as.options);
}

/** Every calls file in `dir`, parsed; a file without a valid header is an error naming it. */
export function readCallsFiles(dir = CALLS_DIR): CallsFile[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .map((name) => parseCallsFile(path.join(dir, name)));
}

export function parseCallsFile(file: string): CallsFile {
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  const header = JSON.parse(lines[0] ?? '{}') as CallsHeader;
  if (header.kind !== 'tap-iam-calls' || !header.source || !header.deployment) {
    throw new Error(`${file}: the first line is not a tap-iam-calls header`);
  }
  return { file, header, calls: lines.slice(1).map((line) => JSON.parse(line) as RecordedCall) };
}

// ---------------------------------------------------------------------------------------------
// Only the function's calls: a scope around the handler, so a test's own setup calls stay out.
// ---------------------------------------------------------------------------------------------

/** One scope per process (a global symbol: jest module registries may load this file twice). */
const scope: AsyncLocalStorage<true> = ((globalThis as Record<symbol, unknown>)[Symbol.for('tap.iam.functionScope')] ??=
  new AsyncLocalStorage<true>()) as AsyncLocalStorage<true>;

/** True inside a handler wrapped by inFunctionScope (for recordSdkCalls' `when`). */
export const inFunction = (): boolean => scope.getStore() === true;

/** The handler, each invocation of which runs in the function's scope. */
export function inFunctionScope<A extends unknown[], R>(handler: (...args: A) => Promise<R>) {
  return (...args: A): Promise<R> => scope.run(true, () => handler(...args));
}

/** Calls made against a stand-in bucket, named as the stack's bucket (the names in resources and contexts). */
export function renameBucket(calls: readonly RecordedCall[], from: string, to: string): RecordedCall[] {
  const swap = (value: string) => value.replace(`:s3:::${from}`, `:s3:::${to}`);
  return calls.map((c) => ({
    ...c,
    ...(c.resource ? { resource: swap(c.resource) } : {}),
    context: Object.fromEntries(Object.entries(c.context).map(([k, v]) => [k, swap(v)])),
  }));
}
