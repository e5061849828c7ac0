// tap eventbridge enable: turns on S3's EventBridge delivery for a bucket (existingBucketName), the one
// switch the stack does not set on a bucket it does not own. A bucket has one notification configuration
// and writing it replaces all of it, so this reads the current one, adds EventBridgeConfiguration and
// writes everything else back as it was, then reads it again to prove it.
import type { Command } from 'commander';
import {
  GetBucketNotificationConfigurationCommand,
  NotificationConfiguration,
  PutBucketNotificationConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DeployedStack, DeployedStackOptions } from '../context';
import { CliError, explainingAwsErrors } from '../errors';
import { printJson } from '../output';

/** The parts of a notification configuration the command keeps as they are. */
const KEPT = ['TopicConfigurations', 'QueueConfigurations', 'LambdaFunctionConfigurations'] as const;

/** Pure: the configuration as S3 returned it (without response metadata), or with EventBridge added. */
export function notificationConfiguration(
  read: NotificationConfiguration,
  { eventBridge }: { eventBridge: boolean },
): NotificationConfiguration {
  const kept = Object.fromEntries(KEPT.filter((part) => read[part] !== undefined).map((part) => [part, read[part]]));
  return eventBridge ? { ...kept, EventBridgeConfiguration: {} } : kept;
}

/**
 * Pure: `after` against `before`, line by line of their JSON: `+` added, `-` removed, the rest as it is (a line
 * that only gained or lost its trailing comma, as the last part's `]` does when a part follows it, is the same).
 */
export function configurationDiff(before: NotificationConfiguration, after: NotificationConfiguration): string {
  const lines = (value: unknown) => JSON.stringify(value, null, 2).split('\n');
  const bare = (line: string) => line.replace(/,$/, '');
  const unmatched = lines(before);
  const shown = lines(after).map((line) => {
    const at = unmatched.findIndex((old) => bare(old) === bare(line));
    if (at < 0) return `+ ${line}`;
    unmatched.splice(at, 1);
    return `  ${line}`;
  });
  return [...shown, ...unmatched.map((line) => `- ${line}`)].join('\n');
}

/** Pure: whether two configurations hold the same kept parts (S3 may leave an empty list out). */
const sameKeptParts = (a: NotificationConfiguration, b: NotificationConfiguration) =>
  KEPT.every((part) => JSON.stringify(a[part] ?? []) === JSON.stringify(b[part] ?? []));

export interface EnableResult {
  readonly bucket: string;
  /** False when EventBridge was on already. */
  readonly changed: boolean;
  readonly dryRun: boolean;
  readonly before: NotificationConfiguration;
  readonly after: NotificationConfiguration;
}

export async function enableEventBridge(s3: S3Client, bucket: string, dryRun: boolean): Promise<EnableResult> {
  const resource = { kind: 'S3 bucket', name: bucket };
  const read = () =>
    explainingAwsErrors(resource, () => s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket })));
  const current = await read();
  const before = notificationConfiguration(current, { eventBridge: current.EventBridgeConfiguration !== undefined });
  if (current.EventBridgeConfiguration) return { bucket, changed: false, dryRun, before, after: before };
  const after = notificationConfiguration(current, { eventBridge: true });
  if (dryRun) return { bucket, changed: true, dryRun, before, after };
  await explainingAwsErrors(resource, () =>
    s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: after })),
  );
  const written = await read();
  if (!written.EventBridgeConfiguration || !sameKeptParts(written, before)) {
    throw new CliError(
      `bucket "${bucket}": the notification configuration read back is not the one written (another writer at the same time?):\n` +
        configurationDiff(
          after,
          notificationConfiguration(written, { eventBridge: !!written.EventBridgeConfiguration }),
        ),
      1,
    );
  }
  return { bucket, changed: true, dryRun, before, after };
}

/** What the command prints for a person. */
export function describeResult(result: EnableResult): string {
  const others = KEPT.reduce((n, part) => n + (result.before[part]?.length ?? 0), 0);
  const kept = `its ${others} other notification configuration${others === 1 ? '' : 's'}`;
  if (!result.changed) return `EventBridge is on already for bucket "${result.bucket}": nothing to do`;
  if (result.dryRun) {
    return `bucket "${result.bucket}": the notification configuration would become (dry run, nothing written):\n${configurationDiff(result.before, result.after)}`;
  }
  return `EventBridge turned on for bucket "${result.bucket}"; ${kept} read back unchanged`;
}

export function registerEventBridge(program: Command, stackOf: (options: DeployedStackOptions) => DeployedStack): void {
  program
    .command('eventbridge')
    .description("S3's EventBridge delivery for the stack's bucket (an existing bucket's switch is not Terraform's)")
    .command('enable')
    .description('add EventBridge to the bucket notification configuration, keeping the rest of it as it is')
    .option('--dry-run', 'print the configuration as it would become, with the difference marked; write nothing')
    .option('--json', 'print {bucket, changed, dryRun, before, after} as one JSON object')
    .action(async (options: { dryRun?: boolean; json?: boolean }, command: Command) => {
      const stack = stackOf(command.optsWithGlobals<DeployedStackOptions>());
      try {
        const result = await enableEventBridge(stack.s3, await stack.bucket(), options.dryRun ?? false);
        if (options.json) printJson(result);
        else console.log(describeResult(result));
      } finally {
        stack.close();
      }
    });
}
