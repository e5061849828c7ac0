// Evidence on disk: the suites that record calls (RECORDING_SUITES of scripts/security.ts) save one
// JSON file each into the folder TAP_RECORD_CALLS names, which `npm run security` creates fresh for the
// run and reads back; without the variable nothing is written. And the tap CLI with recording clients.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DeployedStack } from '../../../cli/context';
import { buildProgram } from '../../../cli/tap';
import type { Evidence } from './proof';
import { recordCalls, RecordedCall, RecordOptions } from './recorder';

export const RECORD_CALLS_VARIABLE = 'TAP_RECORD_CALLS';
/** Writes `evidence` to <TAP_RECORD_CALLS>/<name>.json when the variable is set. */
export function saveEvidence(evidence: Evidence, env: NodeJS.ProcessEnv = process.env): void {
  const dir = env[RECORD_CALLS_VARIABLE];
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${evidence.name}.json`), JSON.stringify(evidence));
}

export function readEvidence(dir: string): Evidence[] {
  const files = fs.readdirSync(dir).filter((file) => file.endsWith('.json'));
  return files.sort().map((file) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Evidence);
}

/** The tap program whose every SDK client records its calls onto `calls`. */
export function recordingTap(calls: RecordedCall[], options: RecordOptions): Command {
  class RecordingStack extends DeployedStack {
    override client<T extends { destroy(): void }>(Client: new (config: { region: string }) => T): T {
      const client = super.client(Client);
      recordCalls(client as unknown as Parameters<typeof recordCalls>[0], calls, options);
      return client;
    }
  }
  return buildProgram((flags) => new RecordingStack(flags));
}
