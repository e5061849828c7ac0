// Runs the tap CLI in-process for the CLI tests: its exit code and what it printed, console and
// stream writes alike (printJson writes to stdout, a progress bar would write to stderr).
import type { Command } from 'commander';
import { main } from '../../cli/tap';

export interface TapRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runTap(args: readonly string[], program?: Command): Promise<TapRun> {
  const printed = { stdout: [] as string[], stderr: [] as string[] };
  const keep = (where: 'stdout' | 'stderr') => (chunk: unknown) => printed[where].push(String(chunk)) > 0;
  const spies = [
    jest.spyOn(console, 'log').mockImplementation(keep('stdout')),
    jest.spyOn(console, 'error').mockImplementation(keep('stderr')),
    jest.spyOn(process.stdout, 'write').mockImplementation(keep('stdout')),
    jest.spyOn(process.stderr, 'write').mockImplementation(keep('stderr')),
  ];
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'tap', ...args], program);
    return { code, stdout: printed.stdout.join('\n'), stderr: printed.stderr.join('\n') };
  } finally {
    process.exitCode = undefined;
    for (const spy of spies) spy.mockRestore();
  }
}
