// npm run e2e: deploy the synthesized TapStack with the real Terraform CLI and hashicorp/aws 5.100.0
// to a moto server on a free loopback port, check the deployed resources through the AWS SDK, run
// the bundled handler against them, then destroy. moto is stopped whatever happens.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
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
import { GetFunctionConfigurationCommand, GetPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
// @ts-expect-error plain ES modules shared with the other scripts
import { info, prepareStack, root, run, step, synth, terraformEnv, writeCliConfig } from './lib/terraform.mjs';
// @ts-expect-error plain ES modules shared with the other scripts
import { ensureVenv } from './lib/venv.mjs';
import { s3Event, s3Record } from './lib/s3-events';
import { readMetadataItem, runBundleInChild } from './lib/standins';

const REGION = 'us-east-1';
// moto serves TLS with a self-signed certificate made at start-up: the bucket policy denies
// requests that do not use TLS, and moto enforces it. Certificates are not verified for that
// loopback server only (this process, its handler child, and the provider's insecure flag).
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const SERVICES = ['cloudwatch', 'dynamodb', 'iam', 'kms', 'lambda', 'logs', 's3', 'sns', 'sqs', 'sts'];

let failures = 0;
function check(what: string, ok: boolean, detail = '') {
  info(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures++;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

async function startMoto(): Promise<{ endpoint: string; process: ChildProcess }> {
  const bin = ensureVenv('moto');
  const port = await freePort();
  const child = spawn(path.join(bin, 'moto_server'), ['-H', '127.0.0.1', '-p', String(port), '--ssl'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const endpoint = `https://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited: ${stderr}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) return { endpoint, process: child };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error(`moto_server did not answer on ${endpoint}: ${stderr}`);
}

async function emptyBucket(s3: S3Client, bucket: string) {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  const objects = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({
    Key: v.Key!,
    VersionId: v.VersionId,
  }));
  if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
}

async function main() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  step('Starting moto server (project-local venv, pinned in tools/requirements-moto.txt)');
  const moto = await startMoto();
  info(`moto on ${moto.endpoint}`);
  const dir = path.join(root, '.work', 'e2e');
  const clientConfig = { region: REGION, credentials: CREDENTIALS, endpoint: moto.endpoint };
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  const dynamodb = new DynamoDBClient(clientConfig);
  const lambda = new LambdaClient(clientConfig);
  const cloudwatch = new CloudWatchClient(clientConfig);
  let env: NodeJS.ProcessEnv | undefined;
  let bucket: string | undefined;
  try {
    step('Synthesizing TapStack for a throwaway environment (deletion protection off so destroy can finish)');
    const synthEnv = {
      ...process.env,
      TAP_ENVIRONMENT: 'test',
      TAP_REGION: REGION,
      TAP_ENABLE_DELETION_PROTECTION: 'false',
    };
    const { stacks } = await synth({ env: synthEnv });
    fs.mkdirSync(dir, { recursive: true });
    const endpoints = Object.fromEntries(SERVICES.map((s) => [s, moto.endpoint]));
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
    env = terraformEnv({
      TF_CLI_CONFIG_FILE: cli.file,
      TF_DATA_DIR: path.join(dir, '.terraform'),
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    });

    step('terraform init + apply against moto');
    await run('terraform', ['init', '-input=false', '-no-color'], { cwd: dir, env, quiet: true });
    const applied = await run('terraform', ['apply', '-auto-approve', '-input=false', '-no-color'], {
      cwd: dir,
      env,
      quiet: true,
    });
    info(`applied in ${(applied.ms / 1000).toFixed(1)} s`);
    // A second plan shows what moto stores differently from AWS (attributes it does not keep).
    await run('terraform', ['plan', '-input=false', '-no-color', '-lock=false', '-out=drift.tfplan'], {
      cwd: dir,
      env,
      quiet: true,
    });
    const drift = JSON.parse(
      execFileSync('terraform', ['show', '-json', 'drift.tfplan'], { cwd: dir, env, maxBuffer: 64 << 20 }).toString(),
    );
    type Change = {
      address: string;
      change: { actions: string[]; before: Record<string, unknown>; after: Record<string, unknown> };
    };
    const drifting = ((drift.resource_changes ?? []) as Change[]).filter((c) => !c.change.actions.includes('no-op'));
    const changedAttributes = (c: Change) =>
      Object.keys(c.change.after ?? {}).filter(
        (k) => JSON.stringify(c.change.before?.[k]) !== JSON.stringify(c.change.after?.[k]),
      );
    info(
      drifting.length === 0
        ? 'plan after apply: no changes (moto kept every attribute)'
        : `plan after apply: moto does not keep, as applied: ${drifting.map((c) => `${c.address} (${changedAttributes(c).join(', ')})`).join('; ')}`,
    );
    const outputs = JSON.parse(execFileSync('terraform', ['output', '-json'], { cwd: dir, env }).toString()) as Record<
      string,
      { value: string }
    >;
    bucket = outputs.s3_bucket_name.value;
    const tableName = outputs.dynamodb_table_name.value;
    const functionName = outputs.lambda_function_name.value;

    step('Checking the deployed resources through the AWS SDK');
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    check('bucket versioning', versioning.Status === 'Enabled', versioning.Status);
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    const sse = encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
    check(
      'bucket encryption SSE-KMS with the stack key',
      sse?.SSEAlgorithm === 'aws:kms' && sse?.KMSMasterKeyID === outputs.kms_key_arn.value,
      `${sse?.SSEAlgorithm} ${sse?.KMSMasterKeyID}`,
    );
    const pab = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration;
    check(
      'public access block: all four flags',
      !!pab && Object.values(pab).every((v) => v === true),
      JSON.stringify(pab),
    );
    const cors = await s3.send(new GetBucketCorsCommand({ Bucket: bucket }));
    check(
      'CORS from config, no "*"',
      JSON.stringify(cors.CORSRules?.[0]?.AllowedOrigins) === JSON.stringify(['http://localhost:3000']),
      JSON.stringify(cors.CORSRules?.[0]?.AllowedOrigins),
    );
    const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    const notification = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    const target = notification.LambdaFunctionConfigurations?.[0];
    check(
      'notification points at the function',
      target?.LambdaFunctionArn === fn.FunctionArn,
      `${target?.LambdaFunctionArn} ${JSON.stringify(target?.Events)}`,
    );
    check(
      'notification on created and removed objects',
      JSON.stringify(target?.Events?.slice().sort()) === JSON.stringify(['s3:ObjectCreated:*', 's3:ObjectRemoved:*']),
    );
    const table = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    check(
      'table keys objectKey (HASH) + versionId (RANGE)',
      JSON.stringify(table?.KeySchema) ===
        JSON.stringify([
          { AttributeName: 'objectKey', KeyType: 'HASH' },
          { AttributeName: 'versionId', KeyType: 'RANGE' },
        ]),
    );
    check(
      'table capacity 100 RCU / 100 WCU',
      table?.ProvisionedThroughput?.ReadCapacityUnits === 100 &&
        table?.ProvisionedThroughput?.WriteCapacityUnits === 100,
    );
    check(
      'function runtime nodejs22.x on arm64',
      fn.Runtime === 'nodejs22.x' && fn.Architectures?.[0] === 'arm64',
      `${fn.Runtime} ${fn.Architectures}`,
    );
    check('function tracing Active', fn.TracingConfig?.Mode === 'Active', fn.TracingConfig?.Mode);
    check('function environment names the table', fn.Environment?.Variables?.TABLE_NAME === tableName);
    const policy = JSON.parse((await lambda.send(new GetPolicyCommand({ FunctionName: functionName }))).Policy ?? '{}');
    const statement = policy.Statement?.[0];
    check(
      'permission: principal s3.amazonaws.com',
      JSON.stringify(statement?.Principal).includes('s3.amazonaws.com'),
      JSON.stringify(statement?.Principal),
    );
    check(
      'permission: source ARN is the bucket',
      JSON.stringify(statement?.Condition ?? {}).includes(`arn:aws:s3:::${bucket}`),
      JSON.stringify(statement?.Condition),
    );
    const alarms =
      (await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'tap-test-' }))).MetricAlarms ?? [];
    check('alarms present', alarms.length === 7, `${alarms.length}: ${alarms.map((a) => a.MetricName).join(', ')}`);

    const bucketPolicy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}');
    const sids = (bucketPolicy.Statement ?? [])
      .map((st: { Sid: string; Effect: string }) => `${st.Effect}:${st.Sid}`)
      .sort();
    check(
      'bucket policy denies non-TLS and TLS < 1.2',
      JSON.stringify(sids) === JSON.stringify(['Deny:DenyInsecureTransport', 'Deny:DenyTlsOlderThan12']),
      sids.join(', '),
    );

    step('Uploading a file to moto S3 and running the bundled handler with the deployed environment');
    // moto ignores the conditions of bucket policies ("Conditions are not taken into account"), so
    // its reading of the two conditional Deny statements refuses every request, TLS or not. The
    // policy was checked above; it is removed for the data path only.
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    info('bucket policy removed for the data path: moto evaluates Deny statements without their conditions');
    const key = 'e2e/hello world+1.png';
    const body = fs.readFileSync(path.join(root, 'samples', 'pixel.png'));
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'image/png' }));
    const event = s3Event(
      s3Record({ bucket, key, size: body.length, eTag: put.ETag?.replace(/"/g, ''), versionId: put.VersionId }),
    );
    const summary = await runBundleInChild(event, {
      ...fn.Environment?.Variables,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL: moto.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      POWERTOOLS_METRICS_DISABLED: 'true',
      NODE_TLS_REJECT_UNAUTHORIZED: '0',
    });
    info(`handler: ${JSON.stringify(summary)}`);
    const item = await readMetadataItem(dynamodb, tableName, key, put.VersionId ?? 'null');
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
  } finally {
    if (env) {
      step('terraform destroy');
      try {
        if (bucket) await emptyBucket(s3, bucket);
        const destroyed = await run('terraform', ['destroy', '-auto-approve', '-input=false', '-no-color'], {
          cwd: dir,
          env,
          quiet: true,
        });
        info(`destroyed in ${(destroyed.ms / 1000).toFixed(1)} s`);
      } catch (error) {
        check('terraform destroy', false, (error as Error).message.slice(-1500));
      }
    }
    for (const c of [s3, dynamodb, lambda, cloudwatch]) c.destroy();
    moto.process.kill();
    info('moto stopped');
  }
  if (failures > 0) throw new Error(`${failures} check(s) failed`);
  step('e2e: OK');
}

main().catch((error) => {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  console.error(
    `\ne2e: FAILED\n${(error as Error).name}: ${(error as Error).message}${status ? ` (HTTP ${status})` : ''}`,
  );
  process.exit(1);
});
