// tap show KEY: every version's item for one object key, newest event first.
import type { Command } from 'commander';
import { DeployedStack, DeployedStackOptions } from '../context';
import { CliError, explainingAwsErrors } from '../errors';
import { formatTable, printJson } from '../output';
import { queryKeyItems } from '../reconcile/table';

export type StoredItem = Record<string, unknown>;

/** Every item stored for `key` (one per version or delete marker), ordered by sequencer, newest first. */
export async function itemsForKey(stack: DeployedStack, key: string): Promise<StoredItem[]> {
  const items = await explainingAwsErrors({ kind: 'DynamoDB table', name: stack.table }, () =>
    queryKeyItems(stack.dynamodb, stack.table, key, true),
  );
  return items
    .map((item): StoredItem => ({ ...item }))
    .sort((a, b) => String(b.sequencer ?? '').localeCompare(String(a.sequencer ?? '')));
}

const cell = (value: unknown) => (value === undefined || value === null ? '-' : String(value));

export function showRows(items: readonly StoredItem[]): Record<string, string>[] {
  return items.map((item) => ({
    versionId: cell(item.versionId),
    status: cell(item.status),
    size: cell(item.size),
    contentType: cell(item.contentType),
    detected: cell(item.detectedContentType),
    storageClass: cell(item.storageClass),
    deleteMarker: item.deleteMarker ? 'yes' : '-',
    unreadableReason: cell(item.unreadableReason),
    eventName: cell(item.eventName),
    eventTime: cell(item.eventTime),
  }));
}

export function registerShow(program: Command, stackOf: (options: DeployedStackOptions) => DeployedStack): void {
  program
    .command('show')
    .description("every version's item for one object key, newest first")
    .argument('<key>', 'the object key, as stored (not URL-encoded)')
    .option('--json', 'print the items as one JSON array')
    .action(async (key: string, options: { json?: boolean }, command: Command) => {
      const stack = stackOf(command.optsWithGlobals<DeployedStackOptions>());
      try {
        const items = await itemsForKey(stack, key);
        if (options.json) return printJson(items);
        if (items.length === 0) throw new CliError(`no item for key "${key}" in table ${stack.table}`, 1);
        console.log(formatTable(showRows(items)));
      } finally {
        stack.close();
      }
    });
}
