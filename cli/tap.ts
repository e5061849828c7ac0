// tap: the operator CLI. Each command lives in cli/commands/ and is registered here; all of them work
// on the stack's resolved names unless flags say otherwise, and report problems as one line naming the
// resource (exit 2), never as a stack trace.
import { Command, CommanderError } from 'commander';
import { DeployedStack, DeployedStackOptions } from './context';
import { CliError } from './errors';
import { registerShow } from './commands/show';
import { registerRedrive } from './commands/redrive';
import { registerPreflight } from './commands/preflight';
import { registerUpload } from './commands/upload';
import { registerReconcile } from './commands/reconcile';
import { registerEventBridge } from './commands/eventbridge';
import { registerBackfill } from './commands/backfill';

export function buildProgram(
  stackOf: (options: DeployedStackOptions) => DeployedStack = (options) => new DeployedStack(options),
): Command {
  const program = new Command('tap')
    .description("Operate TapStack's file-metadata pipeline: names default to the stack's resolved configuration")
    .option('--region <region>', "AWS region (default: the stack's, TAP_REGION or cdktf.json)")
    .option('--bucket <name>', "uploads bucket (default: the stack's, which needs the account id from STS)")
    .option('--table <name>', "metadata table (default: the stack's)")
    .option('--debug', 'print stack traces of unexpected errors')
    .showHelpAfterError()
    .exitOverride();
  registerShow(program, stackOf);
  registerRedrive(program, stackOf);
  registerPreflight(program, stackOf);
  registerUpload(program, stackOf);
  registerReconcile(program, stackOf);
  registerEventBridge(program, stackOf);
  registerBackfill(program, stackOf);
  return program;
}

/** Runs the CLI; resolves to the exit code it set, so tests can call it in-process. */
export async function main(argv: readonly string[], program = buildProgram()): Promise<number> {
  try {
    await program.parseAsync(argv as string[]);
    return (process.exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return (process.exitCode = error.exitCode);
    }
    if (error instanceof CliError) {
      console.error(`tap: ${error.message}`);
      return (process.exitCode = error.exitCode);
    }
    const e = error as Error;
    console.error(`tap: unexpected ${e?.name ?? 'error'}: ${e?.message ?? String(error)}`);
    if (argv.includes('--debug')) console.error(e?.stack);
    return (process.exitCode = 1);
  }
}

if (require.main === module) void main(process.argv);
