// The soak's calls, recorded for npm run security (the least-privilege proof), in its jest form and in
// npm run bench alike:
// - source `soak`, caller function: the handler as the Lambda-like delivery invokes it, in this process
//   (SDK middleware, only inside the handler's scope: the driver's uploads, the on-failure sends Lambda
//   makes and the mirror check stay out);
// - source `soak-operator`, caller operator: `tap redrive --local` (the handler's code, but with the
//   operator's credentials) and both `tap reconcile --repair` runs, each a child process recording every
//   SDK call of its own (record-process.ts), one file per run, named by its tap command.
// The files go to TAP_RECORD_CALLS or .work/iam-calls/ (soak.jsonl, soak-operator.<run>.jsonl), where
// npm run security reads them; calls made over plain http to the stand-ins are evaluated as deployed.
import path from 'node:path';
import {
  callsFileOf,
  callsHeader,
  CallsHeader,
  inFunction,
  parseCallsFile,
  RECORD_CALLS_VARIABLE,
  recordAsEnv,
  recordCallsTo,
  recordOptionsFor,
  recordSdkCalls,
} from './calls-file';
import { MOTO_DEPLOYMENT } from './policy';
import { CallRecorder, createRecorder, RecordedCall } from './recorder';
import { stackUnderProof, StackUnderProof } from './stack';
import { tapVariables } from '../local-pipeline';

export const SOAK_SOURCE = 'soak';
export const SOAK_OPERATOR_SOURCE = 'soak-operator';

/**
 * The stack the soak's names come from (TAP_* of `env` as projectConfig reads them, without the recording's
 * own TAP_RECORD_CALLS*), deployed to moto's default account (its queue URLs name it) in the stand-ins' region.
 */
export const soakStack = (env: NodeJS.ProcessEnv = process.env): StackUnderProof =>
  stackUnderProof(
    Object.fromEntries(Object.entries(tapVariables(env)).filter(([name]) => !name.startsWith(RECORD_CALLS_VARIABLE))),
    MOTO_DEPLOYMENT,
  );

/** The header of a soak calls file. */
export const soakHeader = (stack: StackUnderProof, caller: 'function' | 'operator', command?: string): CallsHeader =>
  callsHeader(stack, caller === 'function' ? SOAK_SOURCE : SOAK_OPERATOR_SOURCE, {
    transport: 'stand-in-http',
    caller,
    command,
  });

/** What one calls file of the soak holds, for the soak's report and its test. */
export interface RecordedFile {
  readonly source: string;
  readonly command?: string;
  readonly file: string;
  /** The calls made (each permission they need), and the KMS calls AWS makes because of them. */
  readonly calls: number;
  readonly implied: number;
  /** Calls the mapping table does not know (npm run security fails on any). */
  readonly unmapped: number;
}

export const summarizeCalls = (file: string, header: CallsHeader, calls: readonly RecordedCall[]): RecordedFile => ({
  source: header.source,
  ...(header.command ? { command: header.command } : {}),
  file,
  calls: calls.filter((c) => !c.implied).length,
  implied: calls.filter((c) => c.implied).length,
  unmapped: calls.filter((c) => !c.mapped).length,
});

/** A calls file read back and summarized (a child process wrote it). */
export function summarizeFile(file: string): RecordedFile {
  const { header, calls } = parseCallsFile(file);
  return summarizeCalls(file, header, calls);
}

/** The file of one soak calls file: <dir>/<name>.jsonl, dir as callsFileOf says unless given. */
export const soakCallsFile = (name: string, dir?: string): string =>
  dir ? path.join(dir, `${name}.jsonl`) : callsFileOf(name);

/**
 * Records the function's calls from now on: every SDK call made inside a handler wrapped in
 * inFunctionScope, with the request context Lambda adds (lambda:SourceFunctionArn). save() stops
 * recording and writes them (replacing the file); stop() only stops (a soak that failed writes nothing).
 */
export function recordFunctionCalls(
  stack: StackUnderProof,
  dir?: string,
): { readonly recorder: CallRecorder; save(): RecordedFile; stop(): void } {
  const recorder = createRecorder();
  const undo = recordSdkCalls(recorder, recordOptionsFor(stack), inFunction);
  let recording = true;
  const stop = () => {
    if (recording) undo();
    recording = false;
  };
  return {
    recorder,
    stop,
    save: () => {
      stop();
      const header = soakHeader(stack, 'function');
      const file = soakCallsFile(SOAK_SOURCE, dir);
      recordCallsTo(file, header).record(...recorder.calls);
      return summarizeCalls(file, header, recorder.calls);
    },
  };
}

/**
 * The environment that makes one `tap` child process (started with recordingExecArgv) record its calls
 * as the operator's, into soak-operator.<run>.jsonl, under its tap command.
 */
export function operatorRecording(
  stack: StackUnderProof,
  run: string,
  command: string,
  dir?: string,
): { readonly env: Record<string, string>; readonly file: string } {
  const file = soakCallsFile(`${SOAK_OPERATOR_SOURCE}.${run}`, dir);
  const header = soakHeader(stack, 'operator', command);
  return {
    env: recordAsEnv({ file, header, options: recordOptionsFor(stack, 'operator') }),
    file,
  };
}
