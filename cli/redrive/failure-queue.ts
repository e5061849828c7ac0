// The failed-events queue as tap redrive uses it: find it, receive, delete, make visible again. Every
// call names the queue when it fails for a reason the operator must fix (missing, denied, the key).
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { CliError, explainingAwsErrors, ResourceRef } from '../errors';

export interface FailureQueue {
  readonly sqs: SQSClient;
  readonly url: string;
  /** How messages name the queue: its name, or the URL given with --queue-url. */
  readonly ref: ResourceRef;
  /** The KMS key alias the stack encrypts the queue with, for the message when decrypting is denied. */
  readonly keyAlias: string;
}

/** SQS receive and delete at most 10 messages per call. */
export const SQS_BATCH = 10;

/** The queue's URL from its name (sqs:GetQueueUrl). */
export async function queueUrlOf(sqs: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await explainingAwsErrors({ kind: 'SQS queue', name }, () =>
    sqs.send(new GetQueueUrlCommand({ QueueName: name })),
  );
  if (!QueueUrl) throw new CliError(`SQS GetQueueUrl returned no URL for queue "${name}"`);
  return QueueUrl;
}

/**
 * Up to `max` visible messages, hidden for `visibilityTimeout` seconds. Long polling (1 s) asks every
 * SQS server, so an empty answer means no message is visible, not that a sample of servers had none.
 */
export async function receive(queue: FailureQueue, max: number, visibilityTimeout: number): Promise<Message[]> {
  const { Messages } = await explainingAwsErrors(queue.ref, async () => {
    try {
      return await queue.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: Math.min(max, SQS_BATCH),
          VisibilityTimeout: visibilityTimeout,
          WaitTimeSeconds: 1,
          // EventBridge's dead letters say why delivery failed in message attributes.
          MessageAttributeNames: ['All'],
        }),
      );
    } catch (error) {
      throw keyError(error, queue) ?? error;
    }
  });
  return Messages ?? [];
}

/** SQS's Kms* errors (KmsAccessDenied, KmsDisabled, ...): the queue exists, its key is the problem. */
function keyError(error: unknown, queue: FailureQueue): CliError | undefined {
  const name = (error as { name?: string })?.name ?? '';
  if (!name.startsWith('Kms')) return undefined;
  return new CliError(
    `cannot read ${queue.ref.kind} "${queue.ref.name}" (${name}): its messages are encrypted with ` +
      `${queue.keyAlias}; the caller needs kms:Decrypt on that key`,
    2,
    { cause: error },
  );
}

export async function deleteMessage(queue: FailureQueue, receiptHandle: string): Promise<void> {
  await explainingAwsErrors(queue.ref, () =>
    queue.sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: receiptHandle })),
  );
}

/** Makes messages visible again at once; returns how many SQS could not release (they reappear on their own). */
export async function release(queue: FailureQueue, receiptHandles: readonly string[]): Promise<number> {
  let failed = 0;
  for (let start = 0; start < receiptHandles.length; start += SQS_BATCH) {
    const entries = receiptHandles
      .slice(start, start + SQS_BATCH)
      .map((handle, i) => ({ Id: String(i), ReceiptHandle: handle, VisibilityTimeout: 0 }));
    const result = await explainingAwsErrors(queue.ref, () =>
      queue.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queue.url, Entries: entries })),
    );
    failed += result?.Failed?.length ?? 0;
  }
  return failed;
}
