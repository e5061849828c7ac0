// What every script shares: the project root, its two output line styles, child processes, and the
// entry point that turns a thrown error into one "<script>: FAILED" line and exit code 1.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describeError } from '../../handler/errors';

export const root = path.resolve(__dirname, '../..');

export const step = (message: string) => console.log(`\n==> ${message}`);
export const info = (message: string) => console.log(`    ${message}`);

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Collect the output (returned, and quoted on failure) instead of streaming it. */
  readonly quiet?: boolean;
  /** Resolve with the exit code whatever it is, instead of rejecting when it is not 0. */
  readonly anyExitCode?: boolean;
}

export interface RunResult {
  readonly ms: number;
  readonly code: number;
  /** What a quiet run printed: both streams as they came, and each apart. */
  readonly output: string;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command (streaming its output unless quiet); resolves to its duration, exit code and output;
 * rejects on failure (unless anyExitCode).
 */
export function run(
  command: string,
  args: string[],
  { cwd = root, env = process.env, quiet = false, anyExitCode = false }: RunOptions = {},
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      output += d;
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 || anyExitCode) resolve({ ms: Date.now() - started, code: code ?? 1, output, stdout, stderr });
      else
        reject(new Error(`${command} ${args.join(' ')} exited with ${code}${quiet ? `\n${output.slice(-4000)}` : ''}`));
    });
  });
}

/** Runs a script's main; a thrown error becomes "<name>: FAILED" with its description, and exit code 1. */
export function runMain(name: string, main: () => Promise<unknown>): void {
  main().catch((error: unknown) => {
    console.error(`\n${name}: FAILED\n${describeError(error)}`);
    process.exit(1);
  });
}
