// The two ways an event is processed again: the deployed function, invoked synchronously, or the same
// handler code in this process against the caller's credentials. Both check their resource first and
// answer per event with what happened; a missing or forbidden resource stops the run with one line.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describeError } from '../../handler/errors';
import { createHandler } from '../../handler/records';
import type { DeployedStack } from '../context';
import { CliError, explainAwsError, explainingAwsErrors, ResourceRef } from '../errors';
import { describeFunctionError, describeSummary } from './invocation-record';

export type Reprocessed =
  { readonly ok: true; readonly result: string } | { readonly ok: false; readonly error: string };

/** Processes one original event again. Throws only CliError (the resource itself is wrong). */
export type Reprocess = (event: unknown) => Promise<Reprocessed>;

const parsePayload = (payload: Uint8Array | undefined): unknown => {
  const text = payload ? Buffer.from(payload).toString('utf8') : '';
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
};

/** Invokes `functionName` synchronously; success is a response without FunctionError. */
export async function viaFunction(lambda: LambdaClient, functionName: string): Promise<Reprocess> {
  const fn: ResourceRef = { kind: 'Lambda function', name: functionName };
  // DryRun checks that the function exists and that the caller may invoke it, without running it.
  await explainingAwsErrors(fn, () =>
    lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'DryRun' })),
  );
  return async (event) => {
    try {
      const response = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
      const payload = parsePayload(response.Payload);
      return response.FunctionError
        ? { ok: false, error: describeFunctionError(payload) }
        : { ok: true, result: describeSummary(payload) };
    } catch (error) {
      // A function deleted or denied mid-run stops the run; throttling or a 5xx left after the SDK's
      // retries only leaves this event in the queue.
      const explained = explainAwsError(error, fn);
      if (explained instanceof CliError) throw explained;
      return { ok: false, error: describeError(error) };
    }
  };
}

/**
 * Powertools Metrics reads POWERTOOLS_METRICS_DISABLED only while it is constructed: set for that moment,
 * so no EMF line reaches stdout and the caller's environment is left as it was.
 */
function disabledMetrics(namespace: string, logger: Logger): Metrics {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  try {
    return new Metrics({ namespace, logger });
  } finally {
    if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  }
}

/** The handler's own code in this process, on the stack's S3 and DynamoDB clients and table. */
export async function inProcess(stack: DeployedStack): Promise<Reprocess> {
  const table: ResourceRef = { kind: 'DynamoDB table', name: stack.table };
  await explainingAwsErrors(table, () => stack.dynamodb.send(new DescribeTableCommand({ TableName: stack.table })));
  const logger = new Logger({ serviceName: stack.names.functionName, logLevel: 'SILENT' });
  const handler = createHandler({
    s3: stack.s3,
    dynamodb: stack.dynamodb,
    config: {
      tableName: stack.table,
      s3ForcePathStyle: stack.s3ForcePathStyle(),
      // As the deployed function is configured (RECORD_OBJECT_TAGS from the same setting).
      recordObjectTags: stack.config.recordObjectTags,
    },
    logger,
    metrics: disabledMetrics(stack.config.project, logger),
  });
  return async (event) => {
    try {
      return { ok: true, result: describeSummary(await handler(event)) };
    } catch (error) {
      return { ok: false, error: describeError(error) };
    }
  };
}
