import type { Context } from 'aws-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { HandlerConfig, Limits, LIMITS } from './config';
import { mapBounded } from './concurrency';
import { describeError, InvalidEventError, RecordFailure, RecordsFailedError } from './errors';
import { describeObject, ObjectEvent, parseS3Event } from './event';
import { deletedAttributes, goneItem, itemKey, presentItem } from './item';
import { headAndSniff } from './s3-object';
import { markDeletedIfNewer, putItemIfNewer } from './store';

export interface Dependencies {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly config: HandlerConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** LIMITS unless a test needs others. */
  readonly limits?: Limits;
  readonly clock?: () => Date;
}

/**
 * What can happen to one record, each with the metric that counts it: the one list the outcome type,
 * the invocation summary and the metrics come from. duplicate and stale are normal under
 * at-least-once, out-of-order delivery.
 */
const OUTCOME_METRICS = {
  stored: 'ObjectsStored',
  deleted: 'DeletionsRecorded',
  gone: 'ObjectsGone',
  duplicate: 'DuplicateEvents',
  stale: 'StaleEvents',
} as const;

export type Outcome = keyof typeof OUTCOME_METRICS;

const OUTCOMES = Object.keys(OUTCOME_METRICS) as Outcome[];

/** How many records the event had, and how many of them had each outcome. */
export type InvocationSummary = { readonly records: number } & { readonly [O in Outcome]: number };

/** One record: read the object version (created events only), then write its item conditionally. */
export async function processObjectEvent(event: ObjectEvent, deps: Dependencies): Promise<Outcome> {
  const { s3, dynamodb, config } = deps;
  const { sniffBytes, maxUserMetadataBytes } = deps.limits ?? LIMITS;
  const now = deps.clock?.() ?? new Date();
  if (event.kind === 'removed') {
    const result = await markDeletedIfNewer(dynamodb, config.tableName, itemKey(event), deletedAttributes(event, now));
    return result === 'stored' ? 'deleted' : result;
  }
  const description = await headAndSniff(s3, event, sniffBytes);
  const item = description ? presentItem(event, description, now, maxUserMetadataBytes) : goneItem(event, now);
  const result = await putItemIfNewer(dynamodb, config.tableName, item);
  return result === 'stored' ? (description ? 'stored' : 'gone') : result;
}

/**
 * The Lambda handler: every record of the event, a bounded number at once. Failed records never
 * stop the others; once all are done, any failure fails the invocation with an error naming each
 * failed record, so Lambda retries it and finally hands it to the on-failure destination.
 */
export function createHandler(deps: Dependencies) {
  const { logger, metrics } = deps;
  const { maxConcurrency } = deps.limits ?? LIMITS;
  return async (event: unknown, context?: Context): Promise<InvocationSummary> => {
    if (context) logger.addContext(context);
    try {
      let parsed;
      try {
        parsed = parseS3Event(event);
      } catch (error) {
        if (error instanceof InvalidEventError) {
          logger.error('Rejected an event that is not an S3 object notification', { reason: error.message });
          metrics.addMetric('RejectedEvents', MetricUnit.Count, 1);
        }
        throw error;
      }
      const failures: RecordFailure[] = [...parsed.invalid];
      for (const failure of parsed.invalid) logger.error('Malformed S3 event record', { ...failure });

      const outcomes = await mapBounded(parsed.records, maxConcurrency, async (record) => {
        const started = Date.now();
        const where = {
          bucket: record.bucket,
          key: record.key,
          versionId: record.versionId,
          eventName: record.eventName,
        };
        try {
          const outcome = await processObjectEvent(record, deps);
          metrics.addMetric('RecordLatency', MetricUnit.Milliseconds, Date.now() - started);
          metrics.addMetric('EventAge', MetricUnit.Milliseconds, Math.max(0, started - Date.parse(record.eventTime)));
          logger.info(`Object event ${outcome}`, { ...where, outcome, latencyMs: Date.now() - started });
          return outcome;
        } catch (error) {
          const reason = describeError(error);
          logger.error('Failed to process object event', { ...where, reason, error: error as Error });
          failures.push({ index: record.index, record: describeObject(record), reason });
          return undefined;
        }
      });

      const tally = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as Record<Outcome, number>;
      for (const outcome of outcomes) if (outcome) tally[outcome]++;
      for (const outcome of OUTCOMES) {
        if (tally[outcome] > 0) metrics.addMetric(OUTCOME_METRICS[outcome], MetricUnit.Count, tally[outcome]);
      }
      if (failures.length > 0) {
        metrics.addMetric('RecordFailures', MetricUnit.Count, failures.length);
        failures.sort((a, b) => a.index - b.index);
        throw new RecordsFailedError(failures, parsed.invalid.length + parsed.records.length);
      }
      return { records: parsed.records.length, ...tally };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
