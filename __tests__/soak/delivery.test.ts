// Lambda-like asynchronous delivery: the on-failure invocation record (read back by tap redrive's own
// parser), retries, the concurrency bound, and the seeded helpers that duplicate and reorder events.
// The failure queue itself is moto's SQS, in soak-moto.test.ts.
import type { S3Event } from 'aws-lambda';
import { eventObjects, originalError, parseInvocationRecord } from '../../cli/redrive/invocation-record';
import {
  deliverAsync,
  duplicateShare,
  errorPayload,
  invocationRecord,
  limiter,
  reorderWithin,
  standInFunctionArn,
} from '../../scripts/lib/delivery';
import { s3Event, s3Record } from '../../fixtures/s3-events';
import { RecordsFailedError } from '../../handler/errors';

const eventFor = (key: string): S3Event => s3Event(s3Record({ bucket: 'tap-soak', key, size: 5, versionId: 'v1' }));

describe('invocation record', () => {
  it('reports a thrown error as the Node.js runtime does: name, message, stack lines', () => {
    // Prepare
    const error = new RecordsFailedError([{ index: 0, record: 'tap-soak/a@v1', reason: 'boom' }], 1);
    // Act
    const payload = errorPayload(error);
    const thrownString = errorPayload('plain');
    // Assess
    expect(payload.errorType).toBe('RecordsFailedError');
    expect(payload.errorMessage).toBe('1 of 1 record(s) failed: [0] tap-soak/a@v1: boom');
    expect(payload.trace[0]).toBe(`RecordsFailedError: ${payload.errorMessage}`);
    expect(payload.trace[1]).toMatch(/^ {4}at /);
    expect(thrownString).toEqual({ errorType: 'string', errorMessage: 'plain', trace: [] });
  });

  it('has the fields Lambda writes and parses with tap redrive’s reader, as JSON through a queue', () => {
    // Prepare
    const event = eventFor('dir/a b.txt');
    const record = invocationRecord({
      event,
      error: new Error('boom'),
      requestId: 'e4b46cbf-b738-4b8a-8880-a18cdf61200e',
      functionArn: standInFunctionArn('tap-fn'),
      invokeCount: 3,
      timestamp: new Date('2026-11-29T12:03:41.077Z'),
    });
    // Act
    const parsed = parseInvocationRecord(JSON.stringify(record));
    // Assess
    expect(Object.keys(record)).toEqual([
      'version',
      'timestamp',
      'requestContext',
      'requestPayload',
      'responseContext',
      'responsePayload',
    ]);
    expect(record.requestContext).toEqual({
      requestId: 'e4b46cbf-b738-4b8a-8880-a18cdf61200e',
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tap-fn:$LATEST',
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    });
    expect(record.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
    expect('record' in parsed && parsed.record.requestPayload).toEqual(event);
    expect('record' in parsed && originalError(parsed.record)).toBe('Error: boom');
    expect('record' in parsed && eventObjects(parsed.record.requestPayload)).toEqual(['tap-soak/dir/a b.txt@v1']);
    expect(record.timestamp).toBe('2026-11-29T12:03:41.077Z');
  });
});

describe('deliverAsync', () => {
  it('retries a failing invocation twice, then gives up on it; a flaky one succeeds on a retry', async () => {
    // Prepare
    const attempts = new Map<string, number>();
    const handler = async (event: S3Event) => {
      const key = event.Records[0].s3.object.key;
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (key === 'broken' || (key === 'flaky' && n < 3)) throw new Error(`${key} ${n}`);
      return { records: 1 };
    };
    // Act
    const counts = await deliverAsync([eventFor('ok'), eventFor('flaky'), eventFor('broken')], { handler });
    // Assess
    expect(Object.fromEntries(attempts)).toEqual({ ok: 1, flaky: 3, broken: 3 });
    expect(counts).toEqual({
      events: 3,
      invocations: 7,
      retries: 4,
      succeeded: 2,
      failed: 1,
      sentToFailureQueue: 0,
      destinationDeliveryFailures: 0,
      destinationErrors: [],
    });
  });

  it('honours fewer retries', async () => {
    // Prepare
    const handler = jest.fn().mockRejectedValue(new Error('no'));
    // Act
    const counts = await deliverAsync([eventFor('a')], { handler, maxRetryAttempts: 1 });
    // Assess
    expect(handler).toHaveBeenCalledTimes(2);
    expect(counts).toMatchObject({ invocations: 2, retries: 1, failed: 1 });
  });

  it('queues a retry behind the events already waiting for a slot', async () => {
    // Prepare
    const order: string[] = [];
    const handler = async (event: S3Event) => {
      const key = event.Records[0].s3.object.key;
      order.push(key);
      if (key === 'a' && order.length === 1) throw new Error('first try');
    };
    // Act
    await deliverAsync([eventFor('a'), eventFor('b'), eventFor('c')], { handler, concurrency: 1 });
    // Assess
    expect(order).toEqual(['a', 'b', 'c', 'a']);
  });

  it('never runs more invocations at once than its concurrency', async () => {
    // Prepare
    let running = 0;
    let most = 0;
    const handler = async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    };
    const events = Array.from({ length: 30 }, (_, i) => eventFor(`k${i}`));
    // Act
    const counts = await deliverAsync(events, { handler, concurrency: 4 });
    // Assess
    expect(most).toBe(4);
    expect(counts).toMatchObject({ succeeded: 30, invocations: 30 });
  });
});

describe('limiter', () => {
  it('starts waiting tasks in the order they asked', async () => {
    // Prepare
    const slot = limiter(1);
    const order: number[] = [];
    // Act
    await Promise.all([1, 2, 3].map((n) => slot(async () => void order.push(n))));
    // Assess
    expect(order).toEqual([1, 2, 3]);
  });
});

describe('duplicateShare and reorderWithin', () => {
  const events = Array.from({ length: 1000 }, (_, i) => ({ n: i }));

  it('duplicates a seeded share of the events as deep copies right after them', () => {
    // Act
    const doubled = duplicateShare(events, 0.1, 9);
    // Assess
    const copies = doubled.length - events.length;
    expect(duplicateShare(events, 0.1, 9)).toEqual(doubled);
    expect(copies).toBeGreaterThan(70);
    expect(copies).toBeLessThan(130);
    const i = doubled.findIndex((e, j) => j > 0 && e.n === doubled[j - 1].n);
    expect(doubled[i]).not.toBe(doubled[i - 1]);
  });

  it('moves every event fewer than `window` places, keeps them all, and is seeded', () => {
    // Act
    const reordered = reorderWithin(events, 5, 4);
    // Assess
    expect(reorderWithin(events, 5, 4)).toEqual(reordered);
    expect(reorderWithin(events, 5, 5)).not.toEqual(reordered);
    expect([...reordered].sort((a, b) => a.n - b.n)).toEqual(events);
    expect(reordered.every((e, at) => Math.abs(e.n - at) < 5)).toBe(true);
    expect(reordered.some((e, at) => e.n !== at)).toBe(true);
  });
});
