// The pipeline on this machine: s3rver and dynalite in-process, the bucket and table TapStack
// defines (names, keys and capacity from its own configuration), and the bundled handler, the very
// code the Lambda runs, loaded with the environment the stack gives it.
import { randomUUID } from 'node:crypto';
import type { Context, S3Event } from 'aws-lambda';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { lookup as mimeType } from 'mime-types';
import { functionEnvironment, projectConfig, resourceNames } from '../../config';
import { HANDLER_BUNDLE } from '../build-handler';
import {
  createPipelineStorage,
  readMetadataItem,
  standInClients,
  standInEnvironment,
  startDynalite,
  startS3rver,
  STANDIN_ACCOUNT_ID,
  STANDIN_REGION,
} from '../../fixtures/standins';
import { putRecord, s3Event } from '../../fixtures/s3-events';

/** What a browser or CLI would send as Content-Type: a guess from the extension, as S3 receives it. */
export const contentTypeFor = (file: string) => mimeType(file) || 'application/octet-stream';

type Handler = (event: S3Event, context: Context) => Promise<Record<string, number>>;

/** The TAP_* variables of `env`: what the stack is synthesized with here. */
export const tapVariables = (env: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('TAP_') && e[1] !== undefined),
  );

export async function startLocalPipeline({ logLevel = 'WARN' }: { logLevel?: string } = {}) {
  // This machine runs Node 20; the function runs on nodejs22.x, so the SDK's Node 20 notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = projectConfig();
  const names = resourceNames(config);
  const bucket = names.bucketName(STANDIN_ACCOUNT_ID, STANDIN_REGION);
  const [s3rver, dynalite] = await Promise.all([startS3rver(), startDynalite()]);
  const clients = standInClients(s3rver.endpoint, dynalite.endpoint);
  await createPipelineStorage(clients, { bucket, table: names.tableName }, config);

  // The environment TapStack gives the function, pointed at the stand-ins.
  Object.assign(
    process.env,
    standInEnvironment(functionEnvironment(config, names, bucket), {
      endpoints: { s3: s3rver.endpoint, dynamodb: dynalite.endpoint },
      logLevel,
    }),
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(HANDLER_BUNDLE) as { handler: Handler };
  const context = (): Context =>
    ({
      functionName: names.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${STANDIN_REGION}:${STANDIN_ACCOUNT_ID}:function:${names.functionName}`,
      memoryLimitInMB: String(config.lambdaMemoryMb),
      awsRequestId: randomUUID(),
      logGroupName: names.logGroupName,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => config.lambdaTimeoutSeconds * 1000,
    }) as Context;

  return {
    bucket,
    table: names.tableName,
    /** Uploads a file's bytes under `key` and returns the event S3 would send for it. */
    async upload(key: string, body: Buffer, contentType: string) {
      const request = { Bucket: bucket, Key: key, Body: body, ContentType: contentType };
      return s3Event(putRecord(request, await clients.s3.send(new PutObjectCommand(request))));
    },
    invoke: (event: S3Event) => handler(event, context()),
    readItem: (key: string) => readMetadataItem(clients.dynamodb, names.tableName, key),
    async close() {
      clients.s3.destroy();
      clients.dynamodb.destroy();
      await Promise.all([s3rver.close(), dynalite.close()]);
    },
  };
}
