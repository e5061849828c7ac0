// The pipeline on this machine: s3rver and dynalite in-process, the bucket and table TapStack
// defines (names, keys and capacity from its own configuration), and the bundled handler, the very
// code the Lambda runs, loaded with the environment the stack gives it.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Context, S3Event } from 'aws-lambda';
import { PutObjectCommand } from '@aws-sdk/client-s3';
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

const CONTENT_TYPES: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  json: 'application/json',
  html: 'text/html',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  mp4: 'video/mp4',
  mp3: 'audio/mpeg',
};
/** What a browser or CLI would send as Content-Type: a guess from the extension, as S3 receives it. */
export const contentTypeFor = (file: string) =>
  CONTENT_TYPES[path.extname(file).slice(1).toLowerCase()] ?? 'application/octet-stream';

type Handler = (event: S3Event, context: Context) => Promise<Record<string, number>>;

export interface LocalPipeline {
  readonly bucket: string;
  readonly table: string;
  readonly clients: ReturnType<typeof standInClients>;
  /** Uploads a file's bytes under `key` and returns the event S3 would send for it. */
  upload(key: string, body: Buffer, contentType: string): Promise<S3Event>;
  invoke(event: S3Event): Promise<Record<string, number>>;
  readItem(key: string, versionId?: string): Promise<Record<string, unknown> | undefined>;
  close(): Promise<void>;
}

/** The TAP_* variables of `env`: what the stack is synthesized with here. */
export const tapVariables = (env: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('TAP_') && e[1] !== undefined),
  );

export async function startLocalPipeline({ logLevel = 'WARN' }: { logLevel?: string } = {}): Promise<LocalPipeline> {
  if (!fs.existsSync(HANDLER_BUNDLE)) throw new Error(`${HANDLER_BUNDLE} is missing: run "npm run build:handler"`);
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
    clients,
    async upload(key, body, contentType) {
      const request = { Bucket: bucket, Key: key, Body: body, ContentType: contentType };
      return s3Event(putRecord(request, await clients.s3.send(new PutObjectCommand(request))));
    },
    invoke: (event) => handler(event, context()),
    readItem: (key, versionId) => readMetadataItem(clients.dynamodb, names.tableName, key, versionId),
    async close() {
      clients.s3.destroy();
      clients.dynamodb.destroy();
      await Promise.all([s3rver.close(), dynalite.close()]);
    },
  };
}
