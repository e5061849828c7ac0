// What Lambda puts in the on-failure destination: an invocation record (AWS Lambda Developer Guide,
// "Capturing records of Lambda asynchronous invocations"), sent to SQS as the message body:
//   { version: "1.0", timestamp, requestContext: { requestId, functionArn, condition, approximateInvokeCount },
//     requestPayload: <the original event>, responseContext: { statusCode, executedVersion, functionError },
//     responsePayload: { errorType, errorMessage, trace } }
// condition is RetriesExhausted or EventAgeExceeded; an event that expired without ever running (throttled
// all along) has no responseContext or responsePayload. Pure functions: no client, no output.
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
