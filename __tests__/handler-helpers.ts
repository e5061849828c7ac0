import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HandlerConfig, Limits, LIMITS } from '../handler/config';
import { createHandler } from '../handler/process';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

/** A logger and metrics recorder with the shape of Powertools', keeping what they were given. */
export function observability() {
  const logs: LogEntry[] = [];
  const metrics: Record<string, number[]> = {};
  let published = 0;
  const log =
    (level: LogEntry['level']) =>
    (message: string, attributes: Record<string, unknown> = {}) =>
      logs.push({ level, message, attributes });
  const logger = {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    addContext: () => undefined,
  } as unknown as Logger;
  const recorder = {
    addMetric: (name: string, _unit: string, value: number) => (metrics[name] ??= []).push(value),
    publishStoredMetrics: () => void published++,
  } as unknown as Metrics;
  return { logger, metrics: recorder, logs, values: metrics, published: () => published };
}

export const TEST_CONFIG: HandlerConfig = {
  tableName: 'tap-test-file-metadata',
  s3ForcePathStyle: true,
  recordObjectTags: false,
};

/** A handler over `clients` with the fixed LIMITS, or others for a test that needs them. */
export function handlerWith(clients: { s3: S3Client; dynamodb: DynamoDBClient }, limits: Partial<Limits> = {}) {
  const o = observability();
  const handler = createHandler({
    ...clients,
    config: TEST_CONFIG,
    limits: { ...LIMITS, ...limits },
    logger: o.logger,
    metrics: o.metrics,
    clock: () => new Date('2026-11-29T12:00:00.000Z'),
  });
  return { handler, ...o };
}

/** PNG signature + IHDR start: enough for file-type to say image/png. */
export const PNG_BYTES = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
/** An ELF executable header. */
export const ELF_BYTES = Buffer.concat([Buffer.from('7f454c46020101000000000000000000', 'hex'), Buffer.alloc(48)]);

/**
 * An item's size as DynamoDB counts it for capacity: attribute names plus values (strings in UTF-8
 * bytes, numbers about one byte per two significant digits plus one, booleans one byte, maps 3 bytes
 * plus one per entry plus their names and values).
 */
export function dynamoItemBytes(item: object): number {
  return Object.entries(item)
    .filter(([, value]) => value !== undefined)
    .reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') {
    const digits = String(Math.abs(value))
      .replace('.', '')
      .replace(/^0+|0+$/g, '').length;
    return Math.ceil(digits / 2) + 1;
  }
  if (typeof value === 'boolean' || value === null) return 1;
  return 3 + dynamoItemBytes(value as object) + Object.values(value as object).filter((v) => v !== undefined).length;
}
