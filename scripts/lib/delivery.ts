// Lambda-like asynchronous delivery of events to a handler function, for soaks: each event is invoked,
// an invocation that throws is retried up to maxRetryAttempts times (Lambda: 2, one then two minutes
// apart; here at once), and an event whose last attempt failed is sent to the on-failure
// SQS queue as the invocation record Lambda writes (AWS Lambda Developer Guide, "Capturing records of
// Lambda asynchronous invocations"), with the error payload the Node.js runtime reports. At most
// `concurrency` invocations run at once (the function's reserved concurrency); a retry gives up its
// slot and queues behind the events already waiting, as in Lambda's queue.
// Helpers duplicate a share of the events and reorder them within a window, both seeded: S3 delivers
// at least once and in no guaranteed order.
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describeError } from '../../handler/errors';
import type { InvocationRecord } from '../../cli/redrive/invocation-record';
import { seededRandom } from './faults';

/** The error payload of `error`, as the Node.js runtime builds it (its toRapidResponse): name, message, stack lines. */
export function errorPayload(error: unknown) {
  if (error instanceof Error) {
    return { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

/**
 * The on-failure record Lambda sends once an event's retries are exhausted, field for field as it
 * sends it to a destination; `invokeCount` counts the invocations made, the first one included.
 */
export const invocationRecord = (input: {
  readonly event: unknown;
  readonly error: unknown;
  readonly requestId: string;
  readonly functionArn: string;
  readonly invokeCount: number;
  readonly timestamp: Date;
}): InvocationRecord & { readonly timestamp: string } => ({
  version: '1.0',
  timestamp: input.timestamp.toISOString(),
  requestContext: {
    requestId: input.requestId,
    functionArn: input.functionArn,
    condition: 'RetriesExhausted',
    approximateInvokeCount: input.invokeCount,
  },
  requestPayload: input.event,
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: errorPayload(input.error),
});

/** A stand-in function ARN, unqualified name plus $LATEST as in Lambda's records. */
export const standInFunctionArn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}:$LATEST`;

export interface DeliveryOptions<E> {
  readonly handler: (event: E) => Promise<unknown>;
  /** Retries after a failed invocation (Lambda: 0 to 2, default 2). */
  readonly maxRetryAttempts?: number;
  /** Invocations at once at most, like reserved concurrency. Default 10. */
  readonly concurrency?: number;
  /** The on-failure destination; without it, failed events are only counted (Lambda discards them). */
  readonly failureQueue?: { readonly sqs: SQSClient; readonly queueUrl: string };
}

export interface DeliveryCounts {
  readonly events: number;
  /** Invocations made, retries included. */
  readonly invocations: number;
  readonly retries: number;
  /** Events whose invocation (first or a retry) returned. */
  readonly succeeded: number;
  /** Events whose retries were exhausted. */
  readonly failed: number;
  /** Records sent to the failure queue. */
  readonly sentToFailureQueue: number;
  /** Records the failure queue refused (Lambda's DestinationDeliveryFailures), with the first reasons. */
  readonly destinationDeliveryFailures: number;
  readonly destinationErrors: readonly string[];
}

/** Runs tasks with at most `max` at once; a task waiting for a slot queues behind earlier ones. */
export function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** Delivers every event as Lambda delivers asynchronous invocations; resolves once all are settled. */
export async function deliverAsync<E>(events: readonly E[], options: DeliveryOptions<E>): Promise<DeliveryCounts> {
  const maxRetryAttempts = options.maxRetryAttempts ?? 2;
  const functionArn = standInFunctionArn('tap-soak-function');
  const slot = limiter(options.concurrency ?? 10);
  const counts = { invocations: 0, retries: 0, succeeded: 0, failed: 0, sentToFailureQueue: 0, refused: 0 };
  const destinationErrors: string[] = [];

  const invoke = (event: E) =>
    slot(async () => {
      counts.invocations++;
      try {
        await options.handler(event);
        return undefined;
      } catch (error) {
        return { error };
      }
    });

  const sendRecord = async (record: InvocationRecord) => {
    if (!options.failureQueue) return;
    try {
      const { sqs, queueUrl } = options.failureQueue;
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(record) }));
      counts.sentToFailureQueue++;
    } catch (error) {
      counts.refused++;
      if (destinationErrors.length < 10) destinationErrors.push(describeError(error));
    }
  };

  const deliver = async (event: E) => {
    const requestId = randomUUID();
    for (let attempt = 1; ; attempt++) {
      const failure = await invoke(event);
      if (!failure) {
        counts.succeeded++;
        return;
      }
      if (attempt > maxRetryAttempts) {
        counts.failed++;
        const timestamp = new Date();
        await sendRecord(
          invocationRecord({ event, error: failure.error, requestId, functionArn, invokeCount: attempt, timestamp }),
        );
        return;
      }
      counts.retries++;
    }
  };

  await Promise.all(events.map(deliver));
  const { refused, ...rest } = counts;
  return { events: events.length, ...rest, destinationDeliveryFailures: refused, destinationErrors };
}

/** The events with a deep copy right after a seeded `share` (0 to 1) of them: deliveries twice. */
export function duplicateShare<E>(events: readonly E[], share: number, seed: number): E[] {
  const random = seededRandom(seed);
  return events.flatMap((event) => (random() < share ? [event, structuredClone(event)] : [event]));
}

/**
 * The events reordered within a window, seeded: each one moves fewer than `window` places (sorted by
 * its position plus a random offset below `window`), so that events close in time swap, far ones never.
 */
export function reorderWithin<E>(events: readonly E[], window: number, seed: number): E[] {
  const random = seededRandom(seed);
  return events
    .map((event, i) => ({ event, at: i + random() * window }))
    .sort((a, b) => a.at - b.at)
    .map(({ event }) => event);
}
