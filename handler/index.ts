// Lambda entry point: configuration and SDK clients are created once per execution environment
// (cold start) and reused by every invocation.
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { readConfig } from './env';
import { createHandler } from './records';
import { traceClient } from './tracing';

const config = readConfig();
const logger = new Logger();
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'tap' });

export const handler = createHandler({
  s3: traceClient(new S3Client({ forcePathStyle: config.s3ForcePathStyle }), 'S3'),
  dynamodb: traceClient(new DynamoDBClient({}), 'DynamoDB'),
  config,
  logger,
  metrics,
});
