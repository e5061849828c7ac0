// npm run e2e: deploy the synthesized TapStack with the real Terraform CLI and hashicorp/aws 5.100.0
// to a moto server on a free loopback port, check the deployed resources through the AWS SDK against
// what the resolved configuration says they must be, run the bundled handler against them, then
// destroy. moto is stopped whatever happens.
import fs from 'node:fs';
import path from 'node:path';
import {
  DeleteBucketPolicyCommand,
  DeleteObjectsCommand,
  GetBucketCorsCommand,
  GetBucketPolicyCommand,
  GetBucketEncryptionCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  FunctionConfiguration,
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  bucketNotificationEvents,
  FUNCTION_RUNTIME,
  functionEnvironment,
  pipelineSignals,
  projectConfig,
  resourceNames,
  TABLE_KEY_SCHEMA,
  TapConfig,
} from '../config';
import { info, root, runMain, step } from './lib/cli';
import { prepareStack, synth, terraformEnv, terraformIn, writeCliConfig } from './lib/terraform';
import { startMoto } from './lib/moto';
import { putRecord, s3Event } from './lib/s3-events';
import { readMetadataItem, runBundleInChild, standInEnvironment } from './lib/standins';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const SERVICES = ['cloudwatch', 'dynamodb', 'iam', 'kms', 'lambda', 'logs', 's3', 'sns', 'sqs', 'sts'];

/**
 * The environment e2e synthesizes with: a throwaway environment in moto's region, deletion protection
 * off so destroy can finish. The expected values are resolved from the same variables.
 */
export const e2eSynthEnv = (env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => ({
  ...env,
  TAP_ENVIRONMENT: 'test',
  TAP_REGION: REGION,
  TAP_ENABLE_DELETION_PROTECTION: 'false',
});

let failures = 0;
function check(what: string, ok: boolean, detail = '') {
  info(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures++;
}
/** Checks that `actual` equals `expected` (as JSON), showing both when it does not. */
const checkEqual = (what: string, actual: unknown, expected: unknown) => {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  check(what, a === e, a === e ? a : `got ${a}, expected ${e}`);
};
const sorted = (values: readonly string[] | undefined) => [...(values ?? [])].sort();
const sortedEntries = (o: Record<string, string> | undefined) =>
  Object.entries(o ?? {}).sort(([a], [b]) => a.localeCompare(b));

type Terraform = ReturnType<typeof terraformIn>;
interface Outputs {
  bucket: string;
  tableName: string;
  functionName: string;
  kmsKeyArn: string;
}

/** Synth with `synthEnv` into `dir`, pointed at moto; returns Terraform in that folder. */
async function prepareDeployment(motoEndpoint: string, dir: string, synthEnv: NodeJS.ProcessEnv): Promise<Terraform> {
  step('Synthesizing TapStack for a throwaway environment (deletion protection off so destroy can finish)');
  const { stacks } = await synth({ env: synthEnv });
  fs.mkdirSync(dir, { recursive: true });
  const endpoints = Object.fromEntries(SERVICES.map((s) => [s, motoEndpoint]));
  const { replaced } = prepareStack(stacks[0].file, dir, { endpoints });
  fs.writeFileSync(
    path.join(dir, 'moto_override.tf.json'),
    JSON.stringify({ provider: { aws: [{ s3_use_path_style: true, insecure: true }] } }),
  );
  for (const r of replaced)
    info(
      `hashicorp/archive is not reachable here: data.archive_file.${r.name} replaced by the zip this script built (sha256 ${r.hash})`,
    );
  const cli = writeCliConfig(path.join(root, '.work'));
  return terraformIn(
    dir,
    terraformEnv({
      TF_CLI_CONFIG_FILE: cli.file,
      TF_DATA_DIR: path.join(dir, '.terraform'),
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    }),
  );
}

/** terraform init + apply; returns the stack's outputs. */
async function apply(tf: Terraform): Promise<Outputs> {
  step('terraform init + apply against moto');
  await tf.run(['init', '-input=false', '-no-color']);
  const applied = await tf.run(['apply', '-auto-approve', '-input=false', '-no-color']);
  info(`applied in ${(applied.ms / 1000).toFixed(1)} s`);
  await reportDrift(tf);
  const outputs = tf.json<Record<string, { value: string }>>(['output', '-json']);
  return {
    bucket: outputs.s3_bucket_name.value,
    tableName: outputs.dynamodb_table_name.value,
    functionName: outputs.lambda_function_name.value,
    kmsKeyArn: outputs.kms_key_arn.value,
  };
}

/** A second plan shows what moto stores differently from AWS (attributes it does not keep). */
async function reportDrift(tf: Terraform) {
  await tf.run(['plan', '-input=false', '-no-color', '-lock=false', '-out=drift.tfplan']);
  type Change = {
    address: string;
    change: { actions: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
  };
  const drift = tf.json<{ resource_changes?: Change[] }>(['show', '-json', 'drift.tfplan']);
  const drifting = (drift.resource_changes ?? []).filter((c) => !c.change.actions.includes('no-op'));
  const changedAttributes = (c: Change) =>
    Object.keys(c.change.after ?? {}).filter(
      (k) => JSON.stringify(c.change.before?.[k]) !== JSON.stringify(c.change.after?.[k]),
    );
  info(
    drifting.length === 0
      ? 'plan after apply: no changes (moto kept every attribute)'
      : `plan after apply: moto does not keep, as applied: ${drifting.map((c) => `${c.address} (${changedAttributes(c).join(', ')})`).join('; ')}`,
  );
}

async function checkBucket(s3: S3Client, config: TapConfig, deployed: Outputs, functionArn: string | undefined) {
  const Bucket = deployed.bucket;
  const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket }));
  check('bucket versioning', versioning.Status === 'Enabled', versioning.Status);
  const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket }));
  const sse = encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
  checkEqual(
    'bucket encryption SSE-KMS with the stack key',
    [sse?.SSEAlgorithm, sse?.KMSMasterKeyID],
    ['aws:kms', deployed.kmsKeyArn],
  );
  const pab = (await s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration;
  check(
    'public access block: all four flags',
    !!pab && Object.values(pab).every((v) => v === true),
    JSON.stringify(pab),
  );
  const cors = (await s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules?.[0];
  checkEqual('CORS origins from config', cors?.AllowedOrigins, config.corsAllowedOrigins);
  checkEqual('CORS methods from config', sorted(cors?.AllowedMethods), sorted(config.corsAllowedMethods));
  const notification = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket }));
  const target = notification.LambdaFunctionConfigurations?.[0];
  checkEqual('notification points at the function', target?.LambdaFunctionArn, functionArn);
  checkEqual('notification events', sorted(target?.Events), sorted(bucketNotificationEvents(config)));
  const bucketPolicy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy ?? '{}') as {
    Statement?: { Sid: string; Effect: string }[];
  };
  const sids = sorted((bucketPolicy.Statement ?? []).map((st) => `${st.Effect}:${st.Sid}`));
  checkEqual('bucket policy denies non-TLS and TLS < 1.2', sids, [
    'Deny:DenyInsecureTransport',
    'Deny:DenyTlsOlderThan12',
  ]);
}

async function checkTable(dynamodb: DynamoDBClient, config: TapConfig, deployed: Outputs) {
  const table = (await dynamodb.send(new DescribeTableCommand({ TableName: deployed.tableName }))).Table;
  checkEqual('table keys', table?.KeySchema, [
    { AttributeName: TABLE_KEY_SCHEMA.partitionKey, KeyType: 'HASH' },
    { AttributeName: TABLE_KEY_SCHEMA.sortKey, KeyType: 'RANGE' },
  ]);
  checkEqual(
    'table capacity (RCU, WCU)',
    [table?.ProvisionedThroughput?.ReadCapacityUnits, table?.ProvisionedThroughput?.WriteCapacityUnits],
    [config.tableReadCapacity, config.tableWriteCapacity],
  );
}

async function checkFunction(lambda: LambdaClient, fn: FunctionConfiguration, config: TapConfig, deployed: Outputs) {
  const names = resourceNames(config);
  checkEqual(
    'function runtime and architecture',
    [fn.Runtime, fn.Architectures],
    [FUNCTION_RUNTIME.runtime, [FUNCTION_RUNTIME.architecture]],
  );
  checkEqual(
    'function memory and timeout',
    [fn.MemorySize, fn.Timeout],
    [config.lambdaMemoryMb, config.lambdaTimeoutSeconds],
  );
  check('function tracing Active', fn.TracingConfig?.Mode === 'Active', fn.TracingConfig?.Mode);
  checkEqual(
    'function environment is functionEnvironment(config, names)',
    sortedEntries(fn.Environment?.Variables),
    sortedEntries(functionEnvironment(config, { ...names, tableName: deployed.tableName })),
  );
  const policy = JSON.parse(
    (await lambda.send(new GetPolicyCommand({ FunctionName: deployed.functionName }))).Policy ?? '{}',
  ) as { Statement?: { Principal?: unknown; Condition?: unknown }[] };
  const statement = policy.Statement?.[0];
  check(
    'permission: principal s3.amazonaws.com',
    JSON.stringify(statement?.Principal).includes('s3.amazonaws.com'),
    JSON.stringify(statement?.Principal),
  );
  check(
    'permission: source ARN is the bucket',
    JSON.stringify(statement?.Condition ?? {}).includes(`arn:aws:s3:::${deployed.bucket}`),
    JSON.stringify(statement?.Condition),
  );
}

async function checkAlarms(cloudwatch: CloudWatchClient, config: TapConfig) {
  const names = resourceNames(config);
  const alarms = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${names.prefix}-` }));
  checkEqual(
    'one alarm per pipeline signal, named from config',
    sorted((alarms.MetricAlarms ?? []).map((a) => a.AlarmName ?? '')),
    sorted(pipelineSignals(config, names).map((signal) => signal.alarmName)),
  );
}

/** Uploads a PNG to moto's S3, runs the bundled handler with the deployed environment, reads the item back. */
async function checkDataPath(
  clients: { s3: S3Client; dynamodb: DynamoDBClient },
  motoEndpoint: string,
  deployed: Outputs,
  deployedEnv: Record<string, string>,
) {
  step('Uploading a file to moto S3 and running the bundled handler with the deployed environment');
  // moto ignores the conditions of bucket policies ("Conditions are not taken into account"), so
  // its reading of the two conditional Deny statements refuses every request, TLS or not. The
  // policy was checked above; it is removed for the data path only.
  await clients.s3.send(new DeleteBucketPolicyCommand({ Bucket: deployed.bucket }));
  info('bucket policy removed for the data path: moto evaluates Deny statements without their conditions');
  const body = fs.readFileSync(path.join(root, 'samples', 'pixel.png'));
  const request = { Bucket: deployed.bucket, Key: 'e2e/hello world+1.png', Body: body, ContentType: 'image/png' };
  const put = await clients.s3.send(new PutObjectCommand(request));
  const summary = await runBundleInChild(s3Event(putRecord(request, put)), {
    ...standInEnvironment(deployedEnv, { endpoints: motoEndpoint, region: REGION, credentials: CREDENTIALS }),
    NODE_TLS_REJECT_UNAUTHORIZED: '0',
  });
  info(`handler: ${JSON.stringify(summary)}`);
  const item = await readMetadataItem(clients.dynamodb, deployed.tableName, request.Key, put.VersionId ?? 'null');
  check(
    'item stored in moto DynamoDB',
    item?.status === 'present' && item?.detectedContentType === 'image/png' && item?.size === body.length,
    JSON.stringify(item),
  );
  check(
    'item is keyed by the S3 version id',
    !!put.VersionId && item?.versionId === put.VersionId,
    String(put.VersionId),
  );
}

async function emptyBucket(s3: S3Client, bucket: string) {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  const objects = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({
    Key: v.Key ?? '',
    VersionId: v.VersionId,
  }));
  if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
}

async function destroy(tf: Terraform, s3: S3Client, bucket: string | undefined) {
  step('terraform destroy');
  try {
    if (bucket) await emptyBucket(s3, bucket);
    const destroyed = await tf.run(['destroy', '-auto-approve', '-input=false', '-no-color']);
    info(`destroyed in ${(destroyed.ms / 1000).toFixed(1)} s`);
  } catch (error) {
    check('terraform destroy', false, (error as Error).message.slice(-1500));
  }
}

async function main() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // moto serves TLS with a self-signed certificate made at start-up: the bucket policy denies
  // requests that do not use TLS, and moto enforces it. Certificates are not verified for that
  // loopback server only (this process, its handler child, and the provider's insecure flag).
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const synthEnv = e2eSynthEnv();
  const config = projectConfig(synthEnv);
  step('Starting moto server (project-local venv, pinned in tools/requirements-moto.txt)');
  const moto = await startMoto({ ssl: true, services: SERVICES });
  info(`moto on ${moto.endpoint}`);
  const clientConfig = { region: REGION, credentials: CREDENTIALS, endpoint: moto.endpoint };
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  const dynamodb = new DynamoDBClient(clientConfig);
  const lambda = new LambdaClient(clientConfig);
  const cloudwatch = new CloudWatchClient(clientConfig);
  let tf: Terraform | undefined;
  let deployed: Outputs | undefined;
  try {
    tf = await prepareDeployment(moto.endpoint, path.join(root, '.work', 'e2e'), synthEnv);
    deployed = await apply(tf);
    step('Checking the deployed resources through the AWS SDK against the resolved configuration');
    const names = resourceNames(config);
    checkEqual('names from config', [deployed.tableName, deployed.functionName], [names.tableName, names.functionName]);
    const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: deployed.functionName }));
    await checkBucket(s3, config, deployed, fn.FunctionArn);
    await checkTable(dynamodb, config, deployed);
    await checkFunction(lambda, fn, config, deployed);
    await checkAlarms(cloudwatch, config);
    await checkDataPath({ s3, dynamodb }, moto.endpoint, deployed, fn.Environment?.Variables ?? {});
  } finally {
    if (tf) await destroy(tf, s3, deployed?.bucket);
    for (const c of [s3, dynamodb, lambda, cloudwatch]) c.destroy();
    await moto.stop();
    info('moto stopped');
  }
  if (failures > 0) throw new Error(`${failures} check(s) failed`);
  step('e2e: OK');
}

if (require.main === module) runMain('e2e', main);
