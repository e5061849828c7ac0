// tap redrive: hands the events in the failed-events queue back to the pipeline. Each message is an
// invocation record from the function's on-failure destination, or (eventDelivery=eventbridge) an event
// EventBridge could not deliver; the original event is processed again, by the deployed function or
// (--local) by the handler code in this process, and the message is deleted only once that succeeded.
// Everything else stays in the queue.
import { Command, InvalidArgumentError, Option } from 'commander';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Message, SQSClient } from '@aws-sdk/client-sqs';
import { describeError } from '../../handler/errors';
import { DeployedStack, DeployedStackOptions } from '../context';
import { CliError } from '../errors';
import { deleteMessage, FailureQueue, queueUrlOf, receive, release, SQS_BATCH } from '../redrive/failure-queue';
import { eventObjects, parseFailedMessage } from '../redrive/invocation-record';
import { inProcess, Reprocess, viaFunction } from '../redrive/reprocess';
import { ellipsize, printJson } from '../output';

export type MessageStatus = 'redriven' | 'failed' | 'not-a-record' | 'would-redrive';

export interface MessageReport {
  readonly messageId: string;
  readonly status: MessageStatus;
  /** Whose failure: Lambda's on-failure record (the function failed) or EventBridge's dead letter (delivery failed). */
  readonly from?: 'lambda' | 'eventbridge';
  /** "bucket/key@version" of each object the original event names. */
  readonly events?: readonly string[];
  /** Why Lambda gave up (RetriesExhausted, EventAgeExceeded) or EventBridge did (EXHAUSTED_RETRY_CONDITION). */
  readonly condition?: string;
  /** How often Lambda ran the event (approximateInvokeCount), or EventBridge tried to deliver it (RETRY_ATTEMPTS). */
  readonly attempts?: number;
  /** The error the event failed with: the record's responsePayload, or ERROR_CODE: ERROR_MESSAGE. */
  readonly originalError?: string;
  /** redriven: what processing it again did, e.g. "stored 1". */
  readonly result?: string;
  /** failed: the error processing it again gave. */
  readonly error?: string;
  /** not-a-record: why the body is not an invocation record. */
  readonly reason?: string;
}

export interface RedriveSummary {
  readonly received: number;
  readonly redriven: number;
  readonly wouldRedrive: number;
  readonly failed: number;
  readonly notInvocationRecords: number;
}

export interface RedriveRun {
  readonly reports: MessageReport[];
  /** --max messages were handled: more may be waiting. */
  readonly maxReached: boolean;
  /** Messages SQS did not make visible again; they reappear after the visibility timeout. */
  readonly unreleased: number;
}

/**
 * How long received messages stay hidden: ten events (one batch) processed one after another, each
 * within the function's timeout plus time for the call itself.
 */
export const visibilityTimeoutFor = (lambdaTimeoutSeconds: number): number =>
  Math.min(43200, SQS_BATCH * (lambdaTimeoutSeconds + 10));

/** One message: parsed, processed again unless this is a dry run (no `reprocess`), deleted once processed. */
export async function redriveMessage(
  message: Message,
  queue: FailureQueue,
  reprocess: Reprocess | undefined,
): Promise<MessageReport> {
  const messageId = message.MessageId ?? '(no message id)';
  const parsed = parseFailedMessage(message.Body, message.MessageAttributes);
  if ('notARecord' in parsed) return { messageId, status: 'not-a-record', reason: parsed.notARecord };
  const { failed } = parsed;
  const report = (status: MessageStatus, outcome: Pick<MessageReport, 'result' | 'error'> = {}): MessageReport => ({
    messageId,
    status,
    from: failed.from,
    events: eventObjects(failed.event),
    condition: failed.condition,
    attempts: failed.attempts,
    originalError: failed.originalError,
    ...outcome,
  });
  if (!reprocess) return report('would-redrive');
  const outcome = await reprocess(failed.event);
  if (!outcome.ok) return report('failed', { error: outcome.error });
  try {
    await deleteMessage(queue, message.ReceiptHandle ?? '');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const why = `processed again (${outcome.result}), but not deleted: ${describeError(error)}`;
    return report('failed', { error: `${why}; a later redrive counts it as a duplicate` });
  }
  return report('redriven', { result: outcome.result });
}

/**
 * Receives until the queue has no visible message or `max` messages were handled. Messages that stay
 * are kept hidden until the run ends and then made visible again, all at once: released earlier, they
 * would come straight back in the next receive of this very run.
 */
export async function redrive(
  queue: FailureQueue,
  reprocess: Reprocess | undefined,
  options: { readonly max: number; readonly visibilityTimeout: number },
  onReport: (report: MessageReport) => void = () => undefined,
): Promise<RedriveRun> {
  const reports: MessageReport[] = [];
  // Messages not deleted, by id, with their latest receipt handle (the only one SQS still accepts).
  const kept = new Map<string, string>();
  let unreleased: number;
  try {
    while (reports.length < options.max) {
      const batch = await receive(queue, options.max - reports.length, options.visibilityTimeout);
      // A message this run already handled is back only because its visibility timeout ran out.
      const fresh = batch.filter((m) => !kept.has(m.MessageId ?? ''));
      for (const m of batch) kept.set(m.MessageId ?? '', m.ReceiptHandle ?? '');
      if (fresh.length === 0) break;
      for (const message of fresh) {
        const report = await redriveMessage(message, queue, reprocess);
        if (report.status === 'redriven') kept.delete(message.MessageId ?? '');
        reports.push(report);
        onReport(report);
      }
    }
  } finally {
    unreleased = await release(queue, [...kept.values()]).catch((error) => {
      console.error(`tap: could not make ${kept.size} message(s) visible again: ${describeError(error)}`);
      return kept.size;
    });
  }
  return { reports, maxReached: reports.length >= options.max, unreleased };
}

export function summarize(reports: readonly MessageReport[]): RedriveSummary {
  const count = (status: MessageStatus) => reports.filter((r) => r.status === status).length;
  return {
    received: reports.length,
    redriven: count('redriven'),
    wouldRedrive: count('would-redrive'),
    failed: count('failed'),
    notInvocationRecords: count('not-a-record'),
  };
}

/** 0 only when every message was an invocation record and (unless a dry run) every one was redriven. */
export const exitCodeOf = (summary: RedriveSummary): number =>
  summary.failed === 0 && summary.notInvocationRecords === 0 ? 0 : 1;

/** Characters of an error a message's line keeps. */
const ERROR_CHARS = 400;

const listEvents = (events: readonly string[] = []): string =>
  events.length > 3 ? `${events.slice(0, 3).join(', ')} (+${events.length - 3} more)` : events.join(', ');

/** The line printed for one message. */
export function messageLine(report: MessageReport): string {
  const id = report.messageId;
  const events = listEvents(report.events);
  switch (report.status) {
    case 'redriven':
      return `redriven       ${id}  ${events}: ${report.result}`;
    case 'failed':
      return `failed         ${id}  ${events}: ${ellipsize(report.error ?? '', ERROR_CHARS)} (left in the queue)`;
    case 'not-a-record':
      return `skipped        ${id}  not an invocation record: ${report.reason} (left in the queue)`;
    case 'would-redrive':
      return (
        `would redrive  ${id}  ${events}: ${report.condition} after ${report.attempts ?? '?'} attempt(s): ` +
        ellipsize(report.originalError ?? '', ERROR_CHARS)
      );
  }
}

/** The last line: what was received and what became of it. */
export function summaryLine(
  summary: RedriveSummary,
  run: { dryRun: boolean; maxReached: boolean; max: number },
): string {
  const { received, redriven, wouldRedrive, failed, notInvocationRecords } = summary;
  if (received === 0) return 'received 0: the queue has no visible message, nothing to redrive';
  const left = [
    failed > 0 ? `failed again ${failed}` : '',
    notInvocationRecords > 0 ? `not an invocation record ${notInvocationRecords}` : '',
  ].filter(Boolean);
  const line = run.dryRun
    ? `dry run, received ${received}: would redrive ${wouldRedrive}` +
      (left.length > 0 ? `, ${left.join(', ')}` : '') +
      '; nothing was processed or deleted'
    : `received ${received}: redriven ${redriven}` +
      (left.length > 0 ? `, left in the queue ${failed + notInvocationRecords} (${left.join(', ')})` : '');
  return run.maxReached ? `${line}; stopped at --max ${run.max}, more may be waiting` : line;
}

interface RedriveOptions {
  readonly dryRun?: boolean;
  readonly max?: number;
  readonly local?: boolean;
  readonly queueUrl?: string;
  readonly function?: string;
  readonly json?: boolean;
}

const positiveInteger = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a whole number of messages, 1 or more');
  }
  return n;
};

export function registerRedrive(program: Command, stackOf: (options: DeployedStackOptions) => DeployedStack): void {
  program
    .command('redrive')
    .description("process the failed-events queue's events again; delete each message once it is processed")
    .option('--dry-run', 'print what would be redriven; process nothing, delete nothing')
    .option('--max <n>', 'handle at most this many messages', positiveInteger)
    .option('--local', 'process in this process with the handler code and your credentials, not the function')
    .option('--queue-url <url>', "the queue to read (default: the stack's failed-events queue)")
    .addOption(new Option('--function <name>', "the function to invoke (default: the stack's)").conflicts('local'))
    .option('--json', 'print one JSON object instead of lines')
    .action(async (options: RedriveOptions, command: Command) => {
      const stack = stackOf(command.optsWithGlobals<DeployedStackOptions>());
      try {
        await runRedrive(stack, options);
      } finally {
        stack.close();
      }
    });
}

async function runRedrive(stack: DeployedStack, options: RedriveOptions): Promise<void> {
  const sqs = stack.client(SQSClient);
  const queue: FailureQueue = {
    sqs,
    url: options.queueUrl ?? (await queueUrlOf(sqs, stack.names.queueName)),
    ref: { kind: 'SQS queue', name: options.queueUrl ?? stack.names.queueName },
    keyAlias: stack.names.keyAlias,
  };
  const functionName = options.function ?? stack.names.functionName;
  const reprocess = options.local
    ? await inProcess(stack)
    : await viaFunction(stack.client(LambdaClient), functionName);
  const say = options.json ? () => undefined : (line: string) => console.log(line);
  say(
    options.dryRun
      ? `Dry run on ${queue.url}: nothing is processed or deleted`
      : `Redriving ${queue.url} ${options.local ? `in this process (handler code, table ${stack.table})` : `through function ${functionName}`}`,
  );
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const run = await redrive(
    queue,
    options.dryRun ? undefined : reprocess,
    { max, visibilityTimeout: visibilityTimeoutFor(stack.config.lambdaTimeoutSeconds) },
    (report) => say(messageLine(report)),
  );
  const summary = summarize(run.reports);
  if (options.json) {
    printJson({ queueUrl: queue.url, dryRun: Boolean(options.dryRun), ...summary, messages: run.reports });
  } else {
    say(summaryLine(summary, { dryRun: Boolean(options.dryRun), maxReached: run.maxReached, max }));
  }
  if (run.unreleased > 0) {
    console.error(`tap: ${run.unreleased} message(s) stay hidden until their visibility timeout ends`);
  }
  process.exitCode = exitCodeOf(summary);
}
