// The signals that tell whether the pipeline is healthy: each becomes a CloudWatch alarm and a
// dashboard widget. No cdktf import.
import type { TapConfig } from './settings';
import { resourceNames, type ResourceNames } from './names';

export interface PipelineSignal {
  readonly id: string;
  /** The CloudWatch alarm's name: `<project>-<env>-` and the id with hyphens. */
  readonly alarmName: string;
  readonly title: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly statistic: 'Sum' | 'Maximum';
  readonly extendedStatistic?: string;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly threshold: number;
}

/**
 * The signals that tell whether the pipeline is healthy: each becomes an alarm and a dashboard widget.
 * `watched` names what is watched: literal names, or the stack's Terraform references to them.
 */
export function pipelineSignals(
  config: Pick<TapConfig, 'project' | 'environment' | 'region' | 'lambdaTimeoutSeconds' | 'tableWriteCapacity'> &
    Partial<Pick<TapConfig, 'tableMaxWriteCapacity'>>,
  watched: Pick<ResourceNames, 'functionName' | 'tableName' | 'queueName'>,
): PipelineSignal[] {
  const { prefix } = resourceNames(config);
  const p = {
    ...watched,
    // Where the handler's own metrics go (POWERTOOLS_METRICS_NAMESPACE).
    metricsNamespace: config.project,
    timeoutMs: config.lambdaTimeoutSeconds * 1000,
    // The most the table can provision: with write autoscaling, a backfill's scale-out is no alarm.
    writeCapacity: config.tableMaxWriteCapacity ?? config.tableWriteCapacity,
  };
  const lambda = { namespace: 'AWS/Lambda', dimensions: { FunctionName: p.functionName } };
  // Powertools Metrics adds the service name as the one dimension of every metric the handler emits.
  const handler = { namespace: p.metricsNamespace, dimensions: { service: p.functionName } };
  const dynamo = { namespace: 'AWS/DynamoDB', dimensions: { TableName: p.tableName } };
  const fiveMinutes = { periodSeconds: 300, evaluationPeriods: 1 };
  const signals: Omit<PipelineSignal, 'alarmName'>[] = [
    {
      id: 'lambda_errors',
      title: 'Function errors',
      ...lambda,
      ...fiveMinutes,
      metricName: 'Errors',
      statistic: 'Sum',
      threshold: 0,
      description:
        'The metadata extractor failed invocations. Read the ERROR lines in its log group (they name bucket, key and version); failed events are retried, then land in the dead-letter queue.',
    },
    {
      id: 'lambda_throttles',
      title: 'Function throttles',
      ...lambda,
      periodSeconds: 300,
      evaluationPeriods: 3,
      metricName: 'Throttles',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Uploads arrive faster than the reserved concurrency allows for 15 minutes. Events wait and retry for up to the maximum event age; raise lambdaReservedConcurrency together with tableWriteCapacity if this persists.',
    },
    {
      id: 'lambda_duration',
      title: 'Function duration p99 (ms)',
      ...lambda,
      ...fiveMinutes,
      metricName: 'Duration',
      statistic: 'Maximum',
      extendedStatistic: 'p99',
      threshold: Math.round(p.timeoutMs * 0.8),
      description:
        'p99 duration is above 80% of the timeout. Check S3/DynamoDB latency and throttling in X-Ray; raise lambdaTimeoutSeconds or lambdaMemoryMb before invocations start timing out.',
    },
    {
      id: 'dead_letter_queue_not_empty',
      title: 'Failed events waiting in the dead-letter queue',
      namespace: 'AWS/SQS',
      dimensions: { QueueName: p.queueName },
      ...fiveMinutes,
      metricName: 'ApproximateNumberOfMessagesVisible',
      statistic: 'Maximum',
      threshold: 0,
      description:
        'Events exhausted their retries and wait in the dead-letter queue (kept 14 days). Each message holds the event and the error naming the failed records: fix the cause, then run tap redrive, which hands each event back to the function and deletes it once stored.',
    },
    {
      id: 'unreadable_objects',
      title: 'Objects recorded as unreadable',
      ...handler,
      ...fiveMinutes,
      metricName: 'UnreadableObjects',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Objects exist that the function cannot read: an archived storage class, a customer-provided key (SSE-C), or a KMS key it may not use. Each is recorded once with status unreadable and its reason, never retried: run tap show KEY for the reason, then restore the object (its ObjectRestore:Completed event reads it) or grant the key and run tap reconcile --repair.',
    },
    {
      id: 'dynamodb_write_throttles',
      title: 'Table write throttles',
      ...dynamo,
      ...fiveMinutes,
      metricName: 'WriteThrottleEvents',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Writes to the metadata table are throttled. The SDK retries them, but sustained throttling fails events: raise tableWriteCapacity or lower lambdaReservedConcurrency.',
    },
    {
      id: 'dynamodb_read_throttles',
      title: 'Table read throttles',
      ...dynamo,
      ...fiveMinutes,
      metricName: 'ReadThrottleEvents',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Reads of the metadata table are throttled: a consumer reads faster than tableReadCapacity allows. Raise it or add caching on the reader side.',
    },
    {
      id: 'dynamodb_write_capacity_high',
      title: 'Consumed write capacity (units per 5 min)',
      ...dynamo,
      periodSeconds: 300,
      evaluationPeriods: 2,
      metricName: 'ConsumedWriteCapacityUnits',
      statistic: 'Sum',
      threshold: Math.round(p.writeCapacity * 300 * 0.8),
      description:
        'The table consumed more than 80% of its provisioned write capacity for 10 minutes. Throttling is next: raise tableWriteCapacity, or lower lambdaReservedConcurrency to slow ingestion.',
    },
  ];
  return signals.map((signal) => ({ ...signal, alarmName: `${prefix}-${signal.id.replace(/_/g, '-')}` }));
}
