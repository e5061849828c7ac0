// tap preflight: read-only checks, with the user's credentials and the stack's resolved configuration,
// of everything that would stop the first `cdktf deploy` part-way. Exit 1 on any failed check.
import path from 'node:path';
import type { Command } from 'commander';
import { DeployedStack, DeployedStackOptions } from '../context';
import { CliError } from '../errors';
import { printJson } from '../output';
import { CheckResult, openPreflightClients, runPreflight, summarize } from '../preflight/run';

/** The project folder: where cdktf.json and local state files live. */
const PROJECT_DIR = path.resolve(__dirname, '..', '..');

/** One line a check, `fix:` under it where there is something to do. */
export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.id.length));
  return results
    .flatMap((r) => [
      `${r.status.padEnd(4)}  ${r.id.padEnd(width)}  ${r.message}`,
      ...(r.fix ? [`${' '.repeat(6 + width)}  fix: ${r.fix}`] : []),
    ])
    .join('\n');
}

export function registerPreflight(program: Command, stackOf: (options: DeployedStackOptions) => DeployedStack): void {
  program
    .command('preflight')
    .description('read-only checks of credentials, quotas, names, state and tools before a deploy; exit 1 on a failure')
    .option('--json', 'print {ok, checks: [{id, status, message, fix}]} as one JSON object')
    .action(async (options: { json?: boolean }, command: Command) => {
      const flags = command.optsWithGlobals<DeployedStackOptions>();
      if (flags.bucket || flags.table) {
        throw new CliError('preflight checks the names the stack will create: --bucket and --table do not apply');
      }
      const stack = stackOf(flags);
      const config = { ...stack.config, region: stack.region };
      let clients: ReturnType<typeof openPreflightClients>;
      try {
        clients = openPreflightClients(config, stack.env);
      } catch (error) {
        throw new CliError((error as Error).message, 2, { cause: error });
      }
      try {
        const results = await runPreflight({ config, projectDir: PROJECT_DIR, clients, env: stack.env });
        const ok = !results.some((r) => r.status === 'fail');
        if (options.json) printJson({ ok, checks: results });
        else console.log(`${formatChecks(results)}\n\n${summarize(results)}`);
        if (!ok) process.exitCode = 1;
      } finally {
        clients.close();
        stack.close();
      }
    });
}
