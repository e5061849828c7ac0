// What Lambda puts in the on-failure destination: an invocation record (AWS Lambda Developer Guide,
// "Capturing records of Lambda asynchronous invocations"), sent to SQS as the message body:
//   { version: "1.0", timestamp, requestContext: { requestId, functionArn, condition, approximateInvokeCount },
//     requestPayload: <the original event>, responseContext: { statusCode, executedVersion, functionError },
//     responsePayload: { errorType, errorMessage, trace } }
// condition is RetriesExhausted or EventAgeExceeded; an event that expired without ever running (throttled
// all along) has no responseContext or responsePayload.
// With eventDelivery=eventbridge the queue is also the rule target's dead-letter queue, whose messages are
// the event itself (EventBridge User Guide, "Using dead-letter queues to process undelivered events"), with
// why delivery failed in message attributes: RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE,
// EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS. Pure functions: no client, no output.
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { describeObject, describeType, isObject, parseS3Event } from '../../handler/event';
import { describeError } from '../../handler/errors';

export interface InvocationRecord {
  readonly version?: string;
  readonly timestamp?: string;
  readonly requestContext: {
    readonly requestId?: string;
    readonly functionArn?: string;
    readonly condition: string;
    readonly approximateInvokeCount?: number;
  };
  /** The event the function was invoked with: what a redrive hands back. */
  readonly requestPayload: unknown;
  readonly responseContext?: {
    readonly statusCode?: number;
    readonly executedVersion?: string;
    readonly functionError?: string;
  };
  readonly responsePayload?: unknown;
}

export type ParsedBody = { readonly record: InvocationRecord } | { readonly notARecord: string };

/** The invocation record in an SQS message body, or why the body is not one. */
export function parseInvocationRecord(body: string | undefined): ParsedBody {
  if (!body) return { notARecord: 'the message body is empty' };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { notARecord: `the message body is not JSON (starts with ${JSON.stringify(body.slice(0, 40))})` };
  }
  if (!isObject(value)) return { notARecord: `the message body is JSON ${describeType(value)}, not an object` };
  if ('Records' in value && !('requestPayload' in value)) {
    return { notARecord: 'the message body is an event itself, not an invocation record (no requestPayload)' };
  }
  const keys = Object.keys(value).slice(0, 8).join(', ') || 'none';
  if (!isObject(value.requestContext) || typeof value.requestContext.condition !== 'string') {
    return { notARecord: `no requestContext.condition (top-level keys: ${keys})` };
  }
  if (value.requestPayload === undefined || value.requestPayload === null) {
    return { notARecord: `no requestPayload (top-level keys: ${keys})` };
  }
  return { record: value as unknown as InvocationRecord };
}

/** One failed event, from either shape: what to hand back, and why it failed. */
export interface FailedEvent {
  readonly from: 'lambda' | 'eventbridge';
  /** The event the function was (or was to be) invoked with: what a redrive hands back. */
  readonly event: unknown;
  /** Why it stopped: Lambda's RetriesExhausted or EventAgeExceeded, EventBridge's EXHAUSTED_RETRY_CONDITION. */
  readonly condition: string;
  readonly attempts?: number;
  readonly originalError: string;
}

export type ParsedMessage = { readonly failed: FailedEvent } | { readonly notARecord: string };

/** Pure: whether a value is an S3 event as EventBridge delivers it. */
export const isEventBridgeS3Event = (value: unknown): value is Record<string, unknown> & { detail: unknown } =>
  isObject(value) && value.source === 'aws.s3' && typeof value['detail-type'] === 'string' && isObject(value.detail);

/** A failed-events queue message: a Lambda invocation record, or an EventBridge dead letter with its attributes. */
export function parseFailedMessage(
  body: string | undefined,
  attributes: Readonly<Record<string, MessageAttributeValue>> = {},
): ParsedMessage {
  let value: unknown;
  try {
    value = body ? JSON.parse(body) : undefined;
  } catch {
    value = undefined;
  }
  if (isEventBridgeS3Event(value)) {
    const attribute = (name: string) => attributes[name]?.StringValue;
    const attempts = Number(attribute('RETRY_ATTEMPTS'));
    const code = attribute('ERROR_CODE');
    const message = attribute('ERROR_MESSAGE');
    return {
      failed: {
        from: 'eventbridge',
        event: value,
        condition: attribute('EXHAUSTED_RETRY_CONDITION') ?? 'EventBridge delivery failed',
        attempts: Number.isInteger(attempts) ? attempts : undefined,
        originalError:
          [code, message].filter(Boolean).join(': ') || 'no delivery error recorded (no ERROR_CODE attribute)',
      },
    };
  }
  const parsed = parseInvocationRecord(body);
  if ('notARecord' in parsed) return parsed;
  const { record } = parsed;
  return {
    failed: {
      from: 'lambda',
      event: record.requestPayload,
      condition: record.requestContext.condition,
      attempts: record.requestContext.approximateInvokeCount,
      originalError: originalError(record),
    },
  };
}

/** "errorType: errorMessage" of a function's error payload (a record's responsePayload, or an Invoke response). */
export function describeFunctionError(payload: unknown): string {
  if (isObject(payload) && typeof payload.errorMessage === 'string') {
    return typeof payload.errorType === 'string'
      ? `${payload.errorType}: ${payload.errorMessage}`
      : payload.errorMessage;
  }
  if (typeof payload === 'string' && payload !== '') return payload;
  return payload === undefined || payload === null ? 'no error payload' : JSON.stringify(payload);
}

/** Why the event ended up in the queue, as the record tells it. */
export function originalError(record: InvocationRecord): string {
  if (record.responsePayload === undefined || record.responsePayload === null) {
    return 'no response recorded (the function may never have run the event)';
  }
  return describeFunctionError(record.responsePayload);
}

/** "bucket/key@version" of each object the event names, as the handler names them. */
export function eventObjects(event: unknown): string[] {
  if (isEventBridgeS3Event(event)) {
    const { bucket, object } = event.detail as { bucket?: { name?: unknown }; object?: Record<string, unknown> };
    return [`${String(bucket?.name)}/${String(object?.key)}@${String(object?.['version-id'] ?? 'null')}`];
  }
  try {
    const parsed = parseS3Event(event);
    return [...parsed.records.map(describeObject), ...parsed.invalid.map((f) => `${f.record} (malformed)`)];
  } catch (error) {
    return [`(not an S3 notification: ${describeError(error)})`];
  }
}

/** The outcome counts of an invocation summary ({records, stored, duplicate, ...}) that are not zero. */
export function describeSummary(summary: unknown): string {
  if (!isObject(summary)) return summary === undefined || summary === null ? 'done' : JSON.stringify(summary);
  const counts = Object.entries(summary).filter(([name, n]) => name !== 'records' && typeof n === 'number' && n > 0);
  return counts.length > 0 ? counts.map(([name, n]) => `${name} ${n}`).join(', ') : 'no record to process';
}
