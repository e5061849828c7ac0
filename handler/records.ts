import type { Context } from 'aws-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { HandlerConfig, Limits, LIMITS } from './env';
import { mapBounded } from './concurrency';
import { describeError, InvalidEventError, RecordFailure, RecordsFailedError } from './errors';
import {
  BatchEvent,
  BatchResponse,
  BatchTaskResult,
  isBatchEvent,
  parseBatchEvent,
  TREAT_MISSING_KEYS_AS,
} from './batch';
import { describeObject, ObjectEvent, parseS3Event } from './event';
import { deleteMarkerItem, itemKey, MetadataItem, removedAttributes, tagAttributes, VersionRef } from './item';
import { readVersionItem } from './read-version';
import { isNotFound, objectTarget, readTags } from './s3-object';
import {
  AttributeChange,
  changeIfNewer,
  getItem,
  markRemovedIfNewer,
  putItemIfNewer,
  putItemIfUnchanged,
} from './store';

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
 * at-least-once, out-of-order delivery. UnreadableObjects is the metric the stack's alarm watches.
 */
const OUTCOME_METRICS = {
  stored: 'ObjectsStored',
  unreadable: 'UnreadableObjects',
  marker: 'DeleteMarkersRecorded',
  deleted: 'DeletionsRecorded',
  expired: 'ObjectsExpired',
  gone: 'ObjectsGone',
  transitioned: 'StorageClassChanges',
  tagged: 'TagChanges',
  ignored: 'IgnoredEvents',
  duplicate: 'DuplicateEvents',
  stale: 'StaleEvents',
} as const;

export type Outcome = keyof typeof OUTCOME_METRICS;

const OUTCOMES = Object.keys(OUTCOME_METRICS) as Outcome[];

/** How many records the event had, and how many of them had each outcome. */
export type InvocationSummary = { readonly records: number } & { readonly [O in Outcome]: number };

/** What one record needs: the clients, the settings and the time it is processed at. */
interface RecordContext {
  readonly deps: Dependencies;
  readonly limits: Limits;
  readonly now: Date;
}

const versionOf = (event: ObjectEvent): VersionRef => ({
  bucket: event.bucket,
  key: event.key,
  versionId: event.hasVersionId ? event.versionId : null,
});

/** One record, recorded the way its kind says (see EventKind), with one conditional write (rarely two). */
export async function processObjectEvent(event: ObjectEvent, deps: Dependencies): Promise<Outcome> {
  const context: RecordContext = { deps, limits: deps.limits ?? LIMITS, now: deps.clock?.() ?? new Date() };
  const { dynamodb, config } = deps;
  const version = versionOf(event);
  switch (event.kind) {
    case 'created':
      return recordRead(event, context);
    case 'deleted':
    case 'expired': {
      const removal = removedAttributes(version, event, event.kind, context.now, context.limits);
      const result = await markRemovedIfNewer(dynamodb, config.tableName, itemKey(version), removal);
      return result === 'stored' ? event.kind : result;
    }
    case 'marker': {
      const result = await putItemIfNewer(
        dynamodb,
        config.tableName,
        deleteMarkerItem(version, event, context.now, undefined, context.limits),
      );
      return result === 'stored' ? 'marker' : result;
    }
    case 'storageClass':
      return recordChange(event, context, 'transitioned', {
        clock: 'storageClassAsOf',
        time: event.eventTime,
        attributes: {
          storageClass: event.storageClass,
          // A lifecycle transition leaves Intelligent-Tiering's tiers behind; a tiering event names its tier.
          archiveTier: event.archiveTier,
          processedAt: context.now.toISOString(),
        },
      });
    case 'tags': {
      // Without RECORD_OBJECT_TAGS the stack does not subscribe tagging events: one that arrives anyway is counted, not recorded.
      if (!config.recordObjectTags) return 'ignored';
      const tags = await readTags(deps.s3, objectTarget(version)).catch((error: unknown) => {
        // The version is gone: reading it records that, unless its removal is stored already.
        if (isNotFound(error)) return undefined;
        throw error;
      });
      if (!tags) return recordRead(event, context);
      return recordChange(event, context, 'tagged', {
        clock: 'tagsAsOf',
        time: event.eventTime,
        attributes: { ...tagAttributes(tags, event.eventTime, context.limits), processedAt: context.now.toISOString() },
      });
    }
    case 'restored':
    case 'reprocess':
      return recordReread(event, context);
  }
}

const readEventVersion = (event: ObjectEvent, { deps, limits, now }: RecordContext): Promise<MetadataItem> =>
  readVersionItem(deps.s3, versionOf(event), event, { recordObjectTags: deps.config.recordObjectTags, limits, now });

/** Reads the version and writes its whole item, if the event is newer than the stored one. */
async function recordRead(event: ObjectEvent, context: RecordContext): Promise<Outcome> {
  const item = await readEventVersion(event, context);
  const result = await putItemIfNewer(context.deps.dynamodb, context.deps.config.tableName, item);
  return result === 'stored' ? storedReadOutcome(item, context) : result;
}

/** The outcome of storing a read item, named by its status; an unreadable one is logged as a warning too. */
function storedReadOutcome(item: MetadataItem, { deps }: RecordContext): Outcome {
  if (item.deleteMarker) return 'marker';
  if (item.status !== 'unreadable') return item.status === 'gone' ? 'gone' : 'stored';
  deps.logger.warn('Object version recorded as unreadable; it is not retried', {
    bucket: item.bucket,
    key: item.key,
    versionId: item.versionId,
    unreadableReason: item.unreadableReason,
    storageClass: item.storageClass,
    archiveTier: item.archiveTier,
  });
  return 'unreadable';
}

/**
 * Changes storage class or tags of the version's item without reading the object. Without an item (its
 * create event not processed yet, or lost) the version is read as a create would; if an item appears
 * between the two writes, the change is applied to it.
 */
async function recordChange(
  event: ObjectEvent,
  context: RecordContext,
  outcome: 'transitioned' | 'tagged',
  change: AttributeChange,
): Promise<Outcome> {
  const { dynamodb, config } = context.deps;
  const key = itemKey(versionOf(event));
  const changed = await changeIfNewer(dynamodb, config.tableName, key, change);
  if (changed !== 'missing') return changed === 'stored' ? outcome : changed;
  const read = await recordRead(event, context);
  if (read !== 'duplicate' && read !== 'stale') return read;
  const retried = await changeIfNewer(dynamodb, config.tableName, key, change);
  return retried === 'stored' ? outcome : retried === 'missing' ? 'stale' : retried;
}

/**
 * ObjectRestore:Completed, and a Batch Operations reprocess task: the version is read again like a
 * create (an archived one that was restored becomes present with its detected type), into the item its
 * own event wrote. Neither has a sequencer: the item keeps the sequencer and event attributes of the
 * version's own event (so a later delete still wins), and the replacement lands only if that is still
 * what is stored, so an event stored in between always wins. A removed version or a delete marker has
 * nothing to read again. Without an item the version is read as a create (a reprocess then fills it in
 * as a backfill would). Ordered by storageClassAsOf.
 */
async function recordReread(event: ObjectEvent, context: RecordContext): Promise<Outcome> {
  const { dynamodb, config } = context.deps;
  const stored = await getItem(dynamodb, config.tableName, itemKey(versionOf(event)));
  if (!stored) return recordRead(event, context);
  if ((stored.status !== 'present' && stored.status !== 'unreadable') || stored.deleteMarker) return 'stale';
  if (stored.storageClassAsOf !== undefined && stored.storageClassAsOf >= event.eventTime) {
    return stored.storageClassAsOf === event.eventTime ? 'duplicate' : 'stale';
  }
  const item = await readEventVersion(event, context);
  if (item.status === 'gone') return 'stale';
  const restored: MetadataItem = {
    ...item,
    eventName: stored.eventName,
    eventTime: stored.eventTime,
    sequencer: stored.sequencer,
    requester: stored.requester,
    sourceIp: stored.sourceIp,
    requestId: stored.requestId,
    restoredUntil: item.restoredUntil ?? event.restoredUntil,
    storageClassAsOf: event.eventTime,
  };
  const result = await putItemIfUnchanged(dynamodb, config.tableName, restored, stored.sequencer);
  return result === 'skipped' ? 'stale' : storedReadOutcome(restored, context);
}

/** What processing one record gave: its outcome, or why it failed (anything thrown may pass: retry later). */
type Processed = { readonly outcome: Outcome } | { readonly reason: string };

/**
 * Every record, a bounded number at once, each logged with its outcome or failure; a failure never
 * stops the others. Counts the outcomes (with `ignored` more) as metrics. EventAge is measured for S3's
 * events only: a Batch Operations task is as old as its invocation.
 */
async function processRecords(
  records: readonly ObjectEvent[],
  deps: Dependencies,
  { ignored = 0, eventAge = true } = {},
): Promise<{ processed: Processed[]; tally: Record<Outcome, number> }> {
  const { logger, metrics } = deps;
  const processed = await mapBounded(
    records,
    (deps.limits ?? LIMITS).maxConcurrency,
    async (record): Promise<Processed> => {
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
        if (eventAge) {
          metrics.addMetric('EventAge', MetricUnit.Milliseconds, Math.max(0, started - Date.parse(record.eventTime)));
        }
        logger.info(`Object event ${outcome}`, { ...where, outcome, latencyMs: Date.now() - started });
        return { outcome };
      } catch (error) {
        const reason = describeError(error);
        logger.error('Failed to process object event', { ...where, reason, error: error as Error });
        return { reason };
      }
    },
  );
  const tally = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as Record<Outcome, number>;
  for (const result of processed) if ('outcome' in result) tally[result.outcome]++;
  tally.ignored += ignored;
  for (const outcome of OUTCOMES) {
    if (tally[outcome] > 0) metrics.addMetric(OUTCOME_METRICS[outcome], MetricUnit.Count, tally[outcome]);
  }
  return { processed, tally };
}

/**
 * S3 notifications and EventBridge events from S3: every record processed; once all are done, any
 * failure fails the invocation with an error naming each failed record, so Lambda retries it and finally
 * hands it to the on-failure destination.
 */
async function handleEvent(event: unknown, deps: Dependencies): Promise<InvocationSummary> {
  const { logger, metrics } = deps;
  const parsed = parseS3Event(event, deps.config.bucketName);
  const failures: RecordFailure[] = [...parsed.invalid];
  for (const failure of parsed.invalid) logger.error('Malformed S3 event record', { ...failure });
  for (const skip of parsed.skipped) logger.warn('Skipped an event the stack does not subscribe to', { ...skip });

  const { records } = parsed;
  const { processed, tally } = await processRecords(records, deps, { ignored: parsed.skipped.length });
  processed.forEach((result, i) => {
    if ('reason' in result)
      failures.push({ index: records[i].index, record: describeObject(records[i]), reason: result.reason });
  });
  const total = records.length + parsed.invalid.length + parsed.skipped.length;
  if (failures.length > 0) {
    metrics.addMetric('RecordFailures', MetricUnit.Count, failures.length);
    failures.sort((a, b) => a.index - b.index);
    throw new RecordsFailedError(failures, total);
  }
  return { records: total, ...tally };
}

/**
 * An S3 Batch Operations event (batch.ts): one result per task it names, never an exception for a
 * well-formed event. Succeeded: the task's outcome is recorded (its name is the resultString);
 * TemporaryFailure: what was thrown may pass (throttling, 5xx, timeouts: the same errors that fail and
 * retry a notification), so Batch Operations redrives the task; PermanentFailure: the task cannot be
 * understood, and no retry changes that. Every failure counts in RecordFailures.
 */
async function handleBatch(event: Record<string, unknown>, deps: Dependencies): Promise<BatchResponse> {
  const { logger, metrics } = deps;
  const parsed = parseBatchEvent(event, deps.config.bucketName, deps.clock?.() ?? new Date());
  const { invocationSchemaVersion, invocationId, jobId } = parsed;
  const understood = parsed.tasks.flatMap((task) => ('record' in task ? [task.record] : []));
  const { processed } = await processRecords(understood, deps, { eventAge: false });
  let next = 0;
  const results = parsed.tasks.map((task): BatchTaskResult => {
    if ('reason' in task) {
      logger.error('Malformed Batch Operations task', { jobId, taskId: task.taskId, reason: task.reason });
      return { taskId: task.taskId, resultCode: 'PermanentFailure', resultString: task.reason };
    }
    const result = processed[next++];
    return 'outcome' in result
      ? { taskId: task.taskId, resultCode: 'Succeeded', resultString: result.outcome }
      : { taskId: task.taskId, resultCode: 'TemporaryFailure', resultString: result.reason };
  });
  if (parsed.unnamed > 0)
    logger.error('Batch Operations tasks without a taskId', { jobId, invocationId, count: parsed.unnamed });
  const failed = results.filter((r) => r.resultCode !== 'Succeeded').length + parsed.unnamed;
  if (failed > 0) metrics.addMetric('RecordFailures', MetricUnit.Count, failed);
  return { invocationSchemaVersion, treatMissingKeysAs: TREAT_MISSING_KEYS_AS, invocationId, results };
}

/** The handler: a Batch Operations event gets its response, an S3 event its summary (see createHandler). */
export interface TapHandler {
  (event: BatchEvent, context?: Context): Promise<BatchResponse>;
  (event: unknown, context?: Context): Promise<InvocationSummary>;
}

/**
 * The Lambda handler: an S3 notification, an EventBridge event from S3 (handleEvent) or an S3 Batch
 * Operations event (handleBatch).
 */
export function createHandler(deps: Dependencies): TapHandler {
  const { logger, metrics } = deps;
  return (async (event: unknown, context?: Context) => {
    if (context) logger.addContext(context);
    const batch = isBatchEvent(event);
    try {
      return batch ? await handleBatch(event, deps) : await handleEvent(event, deps);
    } catch (error) {
      if (error instanceof InvalidEventError) {
        logger.error(
          batch
            ? 'Rejected an S3 Batch Operations event it cannot answer'
            : 'Rejected an event that is not an S3 object notification',
          { reason: error.message },
        );
        metrics.addMetric('RejectedEvents', MetricUnit.Count, 1);
      }
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  }) as TapHandler;
}
