// npm run e2e: deploy the synthesized TapStack with the real Terraform CLI and hashicorp/aws 5.100.0
// to a moto server on a free loopback port, check the deployed resources through the AWS SDK against
// what the resolved configuration says they must be, run the bundled handler against them, then
// destroy; then a real adoption of a bucket made before the stack (checkAdoption). moto is stopped whatever happens.
//   - tap preflight's checks run before the apply (every name free) and after it (every name this stack's);
//   - Terraform runs as the plain-Terraform way out says (docs/design.md): the literal `terraform -chdir=<dir>`
//     init / plan / apply / output / destroy commands, on a prepared copy of the synthesized folder;
//   - the bundled handler runs twice: with moto's IAM off, and with moto's own IAM authorizer on, as the
//     function's role (STS AssumeRole), where a call outside the role's policy is refused;
//   - the preflight's calls, recorded on its clients, must all be allowed to an operator.
import fs from 'node:fs';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketCorsCommand,
  GetBucketPolicyCommand,
  GetBucketEncryptionCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  ListObjectVersionsCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DeleteItemCommand, DescribeTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
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
import { IAMClient } from '@aws-sdk/client-iam';
import { openPreflightClients, runPreflight } from '../cli/preflight/run';
import { describeError } from '../handler/errors';
import { info, root, runMain, step } from './lib/cli';
import {
  FAKE_ACCOUNT_ID,
  PlanJson,
  prepareStack,
  synth,
  terraformEnv,
  terraformIn,
  writeCliConfig,
} from './lib/terraform';
import { startMoto } from './lib/moto';
import { runTap, tapEnvironment } from './lib/soak';
import { putRecord, s3Event } from '../fixtures/s3-events';
import { readMetadataItem, runBundleInChild, standInEnvironment } from '../fixtures/standins';
import { checkCalls, recordOptionsFor, stackUnderProof } from './lib/iam/proof';
import { recordCalls, RecordedCall } from './lib/iam/recorder';
import { assumeRole, Credentials, prepareAssumableRole, setMotoAuth } from './lib/iam/moto-auth';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
/** The key ARN recorded for the preflight's calls (made before the key exists: only its format matters). */
const FAKE_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SERVICES = ['cloudwatch', 'dynamodb', 'events', 'iam', 'kms', 'lambda', 'logs', 's3', 'sns', 'sqs', 'sts'];

/**
 * The environment e2e synthesizes with: a throwaway environment in moto's region, deletion protection
 * off so destroy can finish. The expected values are resolved from the same variables.
 */
const E2E_TAP_ENV = { TAP_ENVIRONMENT: 'test', TAP_REGION: REGION, TAP_ENABLE_DELETION_PROTECTION: 'false' };

/**
 * The warnings tap preflight gives against moto, and why: moto has no Lambda GetAccountSettings
 * (lambda-concurrency), e2e sets no alarm email (alarm-email), the runtime's deprecation date is within
 * a year (runtime); after the apply the stack's resources exist while e2e keeps its state in its own
 * folder, not where tap looks (state-holds-resources). Any other warning, or any failure, fails e2e.
 */
const EXPECTED_PREFLIGHT_WARNINGS = {
  before: ['alarm-email', 'lambda-concurrency', 'runtime'],
  after: ['alarm-email', 'lambda-concurrency', 'runtime', 'state-holds-resources'],
} as const;

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
interface Clients {
  s3: S3Client;
  dynamodb: DynamoDBClient;
  lambda: LambdaClient;
  cloudwatch: CloudWatchClient;
}
type Outputs = Record<'bucket' | 'tableName' | 'functionName' | 'kmsKeyArn', string>;

/** Synth with `synthEnv` into `dir`, pointed at moto; returns Terraform in that folder. */
async function prepareDeployment(motoEndpoint: string, dir: string, synthEnv: NodeJS.ProcessEnv): Promise<Terraform> {
  step('Synthesizing TapStack for a throwaway environment (deletion protection off so destroy can finish)');
  const { stacks } = await synth({ env: synthEnv });
  const endpoints = Object.fromEntries(SERVICES.map((s) => [s, motoEndpoint]));
  const replaced = prepareStack(stacks[0].file, dir, endpoints, { s3_use_path_style: true, insecure: true });
  info(
    `${path.relative(root, dir)} is cdktf.out/stacks/TapStack as synthesized, with two differences: local state in that folder, and (no mirror of hashicorp/archive here) data.archive_file replaced by the same zip:`,
  );
  for (const r of replaced)
    info(`  data.archive_file.${r.name} -> ${path.relative(root, r.zipFile)} (sha256 ${r.hash})`);
  const env = terraformEnv({
    TF_CLI_CONFIG_FILE: writeCliConfig(path.join(root, '.work')).file,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  });
  return terraformIn(dir, env, info);
}

/** The plain-Terraform way out (docs/design.md), literally: terraform -chdir=<dir> init, plan -out=tfplan, apply tfplan, output. */
async function apply(tf: Terraform): Promise<Outputs> {
  step('Plain Terraform against moto: docs/design.md’s terraform -chdir=... commands');
  await tf.run(['init', '-input=false', '-no-color']);
  await tf.run(['plan', '-input=false', '-no-color', '-out=tfplan']);
  const applied = await tf.run(['apply', '-input=false', '-no-color', 'tfplan']);
  info(`applied in ${(applied.ms / 1000).toFixed(1)} s`);
  // A second plan shows what moto stores differently from AWS (attributes it does not keep).
  await tf.run(['plan', '-input=false', '-no-color', '-lock=false', '-out=drift.tfplan']);
  const drift = tf.json<PlanJson>(['show', '-json', 'drift.tfplan']);
  const drifting = (drift.resource_changes ?? []).filter((c) => !c.change.actions.includes('no-op'));
  const changedAttributes = (c: (typeof drifting)[number]) =>
    Object.keys(c.change.after ?? {}).filter(
      (k) => JSON.stringify(c.change.before?.[k]) !== JSON.stringify(c.change.after?.[k]),
    );
  info(
    drifting.length === 0
      ? 'plan after apply: no changes (moto kept every attribute)'
      : `plan after apply: moto does not keep, as applied: ${drifting.map((c) => `${c.address} (${changedAttributes(c).join(', ')})`).join('; ')}`,
  );
  const outputs = tf.json<Record<string, { value: string }>>(['output', '-json']);
  return {
    bucket: outputs.s3_bucket_name.value,
    tableName: outputs.dynamodb_table_name.value,
    functionName: outputs.lambda_function_name.value,
    kmsKeyArn: outputs.kms_key_arn.value,
  };
}

/** The deployed resources, read through the AWS SDK, against what the resolved configuration says they must be. */
async function checkResources(clients: Clients, config: TapConfig, deployed: Outputs): Promise<FunctionConfiguration> {
  step('Checking the deployed resources through the AWS SDK against the resolved configuration');
  const { s3, dynamodb, lambda, cloudwatch } = clients;
  const [Bucket, FunctionName, names] = [deployed.bucket, deployed.functionName, resourceNames(config)];
  const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }));
  const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket }));
  const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket }));
  const sse = encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
  const pab = (await s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration;
  const cors = (await s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules?.[0];
  const notification = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket }));
  const target = notification.LambdaFunctionConfigurations?.[0];
  const bucketPolicy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy ?? '{}') as {
    Statement?: { Sid: string; Effect: string }[];
  };
  const table = (await dynamodb.send(new DescribeTableCommand({ TableName: deployed.tableName }))).Table;
  const permission = JSON.parse((await lambda.send(new GetPolicyCommand({ FunctionName }))).Policy ?? '{}') as {
    Statement?: { Principal?: unknown; Condition?: { ArnLike?: Record<string, string> } }[];
  };
  const [principal, condition] = [permission.Statement?.[0]?.Principal, permission.Statement?.[0]?.Condition];
  const alarms = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${names.prefix}-` }));
  const deployedEnvironment = functionEnvironment(config, { ...names, tableName: deployed.tableName }, deployed.bucket);
  const expected: [string, unknown, unknown][] = [
    ['names from config', [deployed.tableName, FunctionName], [names.tableName, names.functionName]],
    ['bucket versioning', versioning.Status, 'Enabled'],
    [
      'bucket encryption SSE-KMS with the stack key',
      [sse?.SSEAlgorithm, sse?.KMSMasterKeyID],
      ['aws:kms', deployed.kmsKeyArn],
    ],
    [
      'public access block: all four flags',
      pab,
      { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    ],
    ['CORS origins from config', cors?.AllowedOrigins, config.corsAllowedOrigins],
    ['CORS methods from config', sorted(cors?.AllowedMethods), sorted(config.corsAllowedMethods)],
    ['notification points at the function', target?.LambdaFunctionArn, fn.FunctionArn],
    ['notification events', sorted(target?.Events), sorted(bucketNotificationEvents(config))],
    [
      'bucket policy denies non-TLS and TLS < 1.2',
      sorted((bucketPolicy.Statement ?? []).map((st) => `${st.Effect}:${st.Sid}`)),
      ['Deny:DenyInsecureTransport', 'Deny:DenyTlsOlderThan12'],
    ],
    [
      'table keys',
      table?.KeySchema,
      [
        { AttributeName: TABLE_KEY_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEY_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
    ],
    [
      'table capacity (RCU, WCU)',
      [table?.ProvisionedThroughput?.ReadCapacityUnits, table?.ProvisionedThroughput?.WriteCapacityUnits],
      [config.tableReadCapacity, config.tableWriteCapacity],
    ],
    [
      'function runtime and architecture',
      [fn.Runtime, fn.Architectures],
      [FUNCTION_RUNTIME.runtime, [FUNCTION_RUNTIME.architecture]],
    ],
    ['function memory and timeout', [fn.MemorySize, fn.Timeout], [config.lambdaMemoryMb, config.lambdaTimeoutSeconds]],
    ['function tracing Active', fn.TracingConfig?.Mode, 'Active'],
    [
      'function environment is functionEnvironment(config, names)',
      sortedEntries(fn.Environment?.Variables),
      sortedEntries(deployedEnvironment),
    ],
    ['permission: principal s3.amazonaws.com', principal, { Service: 's3.amazonaws.com' }],
    ['permission: source ARN is the bucket', condition?.ArnLike?.['AWS:SourceArn'], `arn:aws:s3:::${deployed.bucket}`],
    [
      'one alarm per pipeline signal, named from config',
      sorted((alarms.MetricAlarms ?? []).map((a) => a.AlarmName ?? '')),
      sorted(pipelineSignals(config, names).map((signal) => signal.alarmName)),
    ],
  ];
  for (const [what, actual, wanted] of expected) checkEqual(what, actual, wanted);
  return fn;
}

/** tap preflight's checks against moto: expected warnings only, no failure; names free, or this stack's. */
async function checkPreflight(
  when: 'before' | 'after',
  motoEndpoint: string,
  config: TapConfig,
  calls: RecordedCall[],
) {
  step(`tap preflight ${when} the apply (runPreflight, clients from openPreflightClients pointed at moto)`);
  const env = { ...E2E_TAP_ENV, S3_FORCE_PATH_STYLE: 'true' };
  const clients = openPreflightClients(config, env, { endpoint: motoEndpoint, credentials: CREDENTIALS });
  const options = recordOptionsFor(e2eStack(FAKE_KEY_ARN), 'operator');
  for (const client of Object.values(clients)) if (typeof client === 'object') recordCalls(client, calls, options);
  const line = (r: { id: string; message: string }) => `${r.id}: ${r.message}`;
  try {
    const results = await runPreflight({ config, projectDir: root, clients, env });
    for (const r of results) info(`${r.status.padEnd(4)} ${r.id}: ${r.message}`);
    const warned = results.filter((r) => r.status === 'warn').map((r) => r.id);
    checkEqual(`preflight ${when} apply: exactly the warnings moto causes`, sorted(warned), [
      ...EXPECTED_PREFLIGHT_WARNINGS[when],
    ]);
    const failed = results.filter((r) => r.status === 'fail');
    check(`preflight ${when} apply: no check fails`, failed.length === 0, failed.map(line).join('; '));
    const names = results.filter((r) => r.id.startsWith('name:'));
    const wanted = when === 'before' ? /\bfree\b/ : /this stack's/;
    const others = names.filter((r) => r.status !== 'pass' || !wanted.test(r.message));
    const every = `every name (${names.length}) ${when === 'before' ? 'is free' : "is this stack's"}`;
    check(`preflight ${when} apply: ${every}`, names.length > 0 && others.length === 0, others.map(line).join('; '));
  } finally {
    clients.close();
  }
}

/** What the e2e run proves the policies with: the stack as synthesized here, deployed to moto's account. */
const e2eStack = (kmsKeyArn: string) =>
  stackUnderProof(E2E_TAP_ENV, {
    account: FAKE_ACCOUNT_ID,
    region: REGION,
    partition: 'aws',
    keyId: kmsKeyArn.split('/').pop(),
  });

/**
 * The data path, twice (see the top of this file): the role is assumed by a user moto issued a key to.
 * See scripts/lib/iam/moto-auth.ts for what moto checks and what e2e had to add in moto for it (the
 * trust policy naming that user; DynamoDB on "*").
 */
async function checkDataPath(
  clients: Clients,
  endpoint: string,
  deployed: Outputs,
  deployedEnv: Record<string, string>,
) {
  const body = fs.readFileSync(path.join(root, 'samples', 'pixel.png'));
  const upload = async (Key: string) => {
    const request = { Bucket: deployed.bucket, Key, Body: body, ContentType: 'image/png' };
    return { request, put: await clients.s3.send(new PutObjectCommand(request)) };
  };
  const handle = ({ request, put }: Awaited<ReturnType<typeof upload>>, credentials: Credentials) =>
    runBundleInChild(s3Event(putRecord(request, put)), {
      ...standInEnvironment(deployedEnv, { endpoints: endpoint, region: REGION, credentials }),
      AWS_SESSION_TOKEN: credentials.sessionToken,
      NODE_TLS_REJECT_UNAUTHORIZED: '0',
    });
  const readItem = ({ request, put }: Awaited<ReturnType<typeof upload>>) =>
    readMetadataItem(clients.dynamodb, deployed.tableName, request.Key, put.VersionId ?? 'null');

  step('Uploading a file to moto S3 and running the bundled handler with the deployed environment');
  // moto ignores the conditions of bucket policies ("Conditions are not taken into account"), so
  // its reading of the two conditional Deny statements refuses every request, TLS or not. The
  // policy was checked above; it is removed for the data path only.
  await clients.s3.send(new DeleteBucketPolicyCommand({ Bucket: deployed.bucket }));
  info('bucket policy removed for the data path: moto evaluates Deny statements without their conditions');
  const first = await upload('e2e/hello world+1.png');
  info(`handler: ${JSON.stringify(await handle(first, CREDENTIALS))}`);
  const item = await readItem(first);
  check(
    'item stored in moto DynamoDB',
    item?.status === 'present' && item?.detectedContentType === 'image/png' && item?.size === body.length,
    JSON.stringify(item),
  );
  const versionId = first.put.VersionId;
  check('item is keyed by the S3 version id', !!versionId && item?.versionId === versionId, String(versionId));

  step('moto’s own IAM authorizer switched on: the bundled handler as the function’s role');
  const stack = e2eStack(deployed.kmsKeyArn);
  const iam = new IAMClient({ region: REGION, credentials: CREDENTIALS, endpoint });
  const caller = await prepareAssumableRole(iam, {
    roleName: stack.names.roleName,
    roleArn: stack.roleArn,
    account: FAKE_ACCOUNT_ID,
    rolePolicy: stack.policies['aws_iam_role_policy.function_role_policy'].document,
  });
  iam.destroy();
  info(`in moto only: the role's trust policy names the user tap-e2e-caller; its DynamoDB actions copied onto "*"`);
  const second = await upload('e2e/as the role.png');
  await setMotoAuth(endpoint, '0');
  info('moto enforces IAM from now on (POST /moto-api/reset-auth 0)');
  try {
    const role = await assumeRole(endpoint, REGION, caller, stack.roleArn);
    check('sts:AssumeRole into the function role through moto', true, role.accessKeyId);
    const summary = await handle(second, role);
    check('the handler’s calls pass moto’s authorizer as the role', summary.stored === 1, JSON.stringify(summary));
    const asRole = { region: REGION, credentials: role, endpoint };
    const roleS3 = new S3Client({ ...asRole, forcePathStyle: true });
    const roleDynamodb = new DynamoDBClient(asRole);
    const outside: [string, () => Promise<unknown>][] = [
      ['s3:PutObject', () => roleS3.send(new PutObjectCommand({ ...second.request, Key: 'e2e/forbidden.png' }))],
      ['dynamodb:Scan', () => roleDynamodb.send(new ScanCommand({ TableName: deployed.tableName }))],
    ];
    for (const [action, call] of outside) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      // HTTP 403 is moto's refusal; DynamoDB's comes as IAM XML, which the SDK cannot parse, so only the status tells.
      const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
      check(
        `moto refuses ${action} with the role’s credentials`,
        status === 403,
        error ? describeError(error) : 'allowed',
      );
    }
    roleS3.destroy();
    roleDynamodb.destroy();
  } finally {
    await setMotoAuth(endpoint, 'inf');
    info('moto lets every request through again (POST /moto-api/reset-auth inf)');
  }
  const asRoleItem = await readItem(second);
  check(
    'item written as the role is in the table',
    asRoleItem?.status === 'present',
    JSON.stringify(asRoleItem?.status),
  );
}

async function destroy(tf: Terraform, s3: S3Client, bucket: string | undefined) {
  step('terraform destroy');
  try {
    if (bucket) {
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
      const versions = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])];
      const Objects = versions.map((v) => ({ Key: v.Key ?? '', VersionId: v.VersionId }));
      if (Objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));
    }
    const destroyed = await tf.run(['destroy', '-auto-approve', '-input=false', '-no-color']);
    check('terraform -chdir=... destroy', true, `${(destroyed.ms / 1000).toFixed(1)} s`);
  } catch (error) {
    check('terraform destroy', false, (error as Error).message.slice(-1500));
  }
}

/** The bucket the adoption scenario makes before any stack: its owner's, with its own notification. */
const ADOPTED = 'team-archive-adopted';
/** Keys with spaces and non-ASCII characters (no `+` or `%`: moto sends EventBridge keys as they are, AWS encodes them). */
const [REPORT, NOTES, DRAFT] = ['reports/été 2024/q1 résumé.pdf', 'notes/read me.txt', 'drafts/naïve plan.txt'];
/**
 * The item attributes that say which event wrote it and when it was processed, left out where moto's EventBridge
 * events and S3 notifications are compared: moto's differ from AWS's there (reason `ObjectCreated` gives the
 * eventName ObjectCreated:ObjectCreated, one constant sequencer, constant request id, requester and source IP).
 */
const EVENT_ATTRIBUTES = [
  'eventName',
  'eventTime',
  'sequencer',
  'requester',
  'sourceIp',
  'requestId',
  'processedAt',
  'storageClassAsOf',
];

/** What destroy must leave as it was: versioning, the notification configuration, every version and marker. */
async function bucketState(s3: S3Client) {
  const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: ADOPTED }));
  const { $metadata: _, ...notification } = await s3.send(
    new GetBucketNotificationConfigurationCommand({ Bucket: ADOPTED }),
  );
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: ADOPTED }));
  const versions = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => `${v.Key} ${v.VersionId}`);
  return { versioning: versioning.Status, notification, versions: sorted(versions) };
}

/**
 * A real adoption (docs/operating.md, "Adopting an existing bucket"): a versioned bucket holding objects and its
 * own notification to its owner's queue, then the stack in existing-bucket mode, tap eventbridge enable, the
 * events moto itself sends through the stack's rule run through the bundled handler, tap reconcile --repair for
 * the objects that predate the stack, and destroy, which leaves the bucket as it was.
 */
async function checkAdoption(endpoint: string, clients: Clients, synthEnv: NodeJS.ProcessEnv) {
  const clientConfig = { region: REGION, credentials: CREDENTIALS, endpoint };
  const [sqs, events] = [new SQSClient(clientConfig), new EventBridgeClient(clientConfig)];
  const { s3, dynamodb } = clients;
  const queueArn = async (QueueName: string) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: QueueUrl ?? '', arn: Attributes?.QueueArn ?? '' };
  };
  const put = (Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket: ADOPTED, Key, Body }));

  step(`Adoption: bucket ${ADOPTED}, versioned, with objects and its own notification, made before the stack`);
  await s3.send(new CreateBucketCommand({ Bucket: ADOPTED }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: ADOPTED, VersioningConfiguration: { Status: 'Enabled' } }));
  const ownerQueue = await queueArn('team-archive-owner-events');
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: ADOPTED,
      NotificationConfiguration: {
        QueueConfigurations: [{ Id: 'owner-queue', QueueArn: ownerQueue.arn, Events: ['s3:ObjectCreated:*'] }],
      },
    }),
  );
  for (const [key, body] of [
    [REPORT, 'first draft'],
    [REPORT, 'final'],
    [NOTES, 'read me'],
  ])
    await put(key, body);
  await s3.send(new DeleteObjectCommand({ Bucket: ADOPTED, Key: NOTES }));
  const owned = await bucketState(s3);
  info(`${owned.versions.length} versions and markers; notification ${JSON.stringify(owned.notification)}`);

  const dir = path.join(root, '.work', 'e2e-adoption');
  const tf = await prepareDeployment(endpoint, dir, { ...synthEnv, TAP_EXISTING_BUCKET_NAME: ADOPTED });
  let deployed: Outputs | undefined;
  try {
    deployed = await apply(tf);
    check('the stack indexes the existing bucket', deployed.bucket === ADOPTED, deployed.bucket);
    const env = tapEnvironment({ s3: endpoint, dynamodb: endpoint, sqs: endpoint }, CREDENTIALS);
    const on = ['--bucket', ADOPTED, '--table', deployed.tableName];
    const tap = <T>(...args: string[]) => runTap<T>([...args, '--json', ...on], env, dir);

    step('tap eventbridge enable: --dry-run writes nothing, then the bucket gains EventBridge and nothing else');
    const dry = await tap<{ changed: boolean }>('eventbridge', 'enable', '--dry-run');
    checkEqual(
      'the dry run would change it and wrote nothing',
      [dry.code, dry.json.changed, await bucketState(s3)],
      [0, true, owned],
    );
    const enabled = await tap<{ changed: boolean }>('eventbridge', 'enable');
    checkEqual(
      'enabled: the owner’s configuration plus EventBridgeConfiguration',
      [enabled.code, await bucketState(s3)],
      [0, { ...owned, notification: { ...owned.notification, EventBridgeConfiguration: {} } }],
    );

    step(
      'The events moto sends through the stack’s rule, captured by a test-only SQS target, run through the bundled handler',
    );
    // moto cannot invoke a Lambda target without Docker (and its failure stops the targets after it): the
    // capture queue stands in for the function, which receives each event as the queue does.
    const Rule = resourceNames(projectConfig({ ...synthEnv, TAP_EXISTING_BUCKET_NAME: ADOPTED })).ruleName;
    const { Targets = [] } = await events.send(new ListTargetsByRuleCommand({ Rule }));
    await events.send(new RemoveTargetsCommand({ Rule, Ids: Targets.map((t) => t.Id ?? '') }));
    const capture = await queueArn('tap-e2e-capture');
    await events.send(new PutTargetsCommand({ Rule, Targets: [{ Id: 'e2e-capture', Arn: capture.arn }] }));
    const uploads = [await put(DRAFT, 'plan'), await put(REPORT, 'amended')].map((answer, i) => ({
      request: { Bucket: ADOPTED, Key: [DRAFT, REPORT][i], Body: ['plan', 'amended'][i] },
      put: answer,
    }));
    // moto sends no event for a delete marker, and one without deletion-type for a permanent delete: the
    // removals' EventBridge path is the documented events' (__tests__/handler/eventbridge.test.ts).
    const sent: unknown[] = [];
    for (let empty = 0; empty < 2;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: capture.url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 600,
        }),
      );
      sent.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as unknown));
      empty = Messages.length === 0 ? empty + 1 : 0;
    }
    const functionEnv =
      (await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: deployed.functionName })))
        .Environment?.Variables ?? {};
    const handlerEnv = {
      ...standInEnvironment(functionEnv, { endpoints: endpoint, region: REGION, credentials: CREDENTIALS }),
      NODE_TLS_REJECT_UNAUTHORIZED: '0',
    };
    const outcomes = await Promise.all(sent.map((event) => runBundleInChild(event, handlerEnv)));
    info(
      `moto sent ${sent.length} event(s): ${sent.map((e) => (e as Record<string, string>)['detail-type']).join(', ')}`,
    );
    info(`handler: ${JSON.stringify(outcomes)}`);
    check('moto sent one event for each upload', sent.length === uploads.length, String(sent.length));
    for (const { request, put: answer } of uploads) {
      const versionId = answer.VersionId ?? 'null';
      const fromEventBridge = await readMetadataItem(dynamodb, deployed.tableName, request.Key, versionId);
      await dynamodb.send(
        new DeleteItemCommand({
          TableName: deployed.tableName,
          Key: { [TABLE_KEY_SCHEMA.partitionKey]: { S: request.Key }, [TABLE_KEY_SCHEMA.sortKey]: { S: versionId } },
        }),
      );
      await runBundleInChild(s3Event(putRecord(request, answer)), handlerEnv);
      const fromNotification = await readMetadataItem(dynamodb, deployed.tableName, request.Key, versionId);
      const content = (item: Record<string, unknown> | undefined) =>
        Object.fromEntries(Object.entries(item ?? {}).filter(([k]) => !EVENT_ATTRIBUTES.includes(k)));
      checkEqual(
        `"${request.Key}": the same item from moto’s EventBridge event as from an S3 notification`,
        content(fromEventBridge),
        content(fromNotification),
      );
    }

    step('tap reconcile --repair: the objects that predate the stack, then a second reconcile finds nothing');
    const repaired = await tap<{ repaired: number; remaining: number }>('reconcile', '--repair');
    check(
      'reconcile --repair backfills what predates the stack',
      repaired.code === 0 && repaired.json.repaired >= owned.versions.length && repaired.json.remaining === 0,
      JSON.stringify(repaired.json),
    );
    const again = await tap<{ missing: number; extra: number; stale: number }>('reconcile');
    check(
      'a second reconcile finds no drift',
      again.code === 0 && again.json.missing + again.json.extra + again.json.stale === 0,
      JSON.stringify(again.json),
    );
    await events.send(new RemoveTargetsCommand({ Rule, Ids: ['e2e-capture'] }));
  } finally {
    const before = await bucketState(s3);
    await destroy(tf, s3, undefined);
    // tap eventbridge enable was the operator's change to the bucket, not the stack's: destroy leaves it on.
    checkEqual(
      `destroy leaves ${ADOPTED}, its versions and its configuration as they were`,
      await bucketState(s3),
      before,
    );
    sqs.destroy();
    events.destroy();
  }
}

async function main() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // moto serves TLS with a self-signed certificate made at start-up: the bucket policy denies
  // requests that do not use TLS, and moto enforces it. Certificates are not verified for that
  // loopback server only (this process, its handler child, and the provider's insecure flag).
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const synthEnv = { ...process.env, ...E2E_TAP_ENV };
  const config = projectConfig(synthEnv);
  step('Starting moto server (project-local venv, pinned in tools/requirements-moto.txt)');
  const moto = await startMoto({ ssl: true, services: SERVICES });
  info(`moto on ${moto.endpoint}`);
  const clientConfig = { region: REGION, credentials: CREDENTIALS, endpoint: moto.endpoint };
  const clients: Clients = {
    s3: new S3Client({ ...clientConfig, forcePathStyle: true }),
    dynamodb: new DynamoDBClient(clientConfig),
    lambda: new LambdaClient(clientConfig),
    cloudwatch: new CloudWatchClient(clientConfig),
  };
  let tf: Terraform | undefined;
  let deployed: Outputs | undefined;
  // The preflight's calls, recorded on its clients (an operator runs tap preflight).
  const preflightCalls: RecordedCall[] = [];
  try {
    tf = await prepareDeployment(moto.endpoint, path.join(root, '.work', 'e2e'), synthEnv);
    await checkPreflight('before', moto.endpoint, config, preflightCalls);
    deployed = await apply(tf);
    await checkPreflight('after', moto.endpoint, config, preflightCalls);
    // Checked now that the key exists: its policy is the one the preflight's KMS calls are checked against.
    const preflight = checkCalls(e2eStack(deployed.kmsKeyArn), preflightCalls, 'operator');
    const denied = preflight.filter((c) => !c.decision.allowed).map((c) => c.line);
    check(
      `tap preflight's ${preflight.length} call(s): none denied to an operator`,
      preflight.length > 0 && denied.length === 0,
      denied.join('; '),
    );
    const fn = await checkResources(clients, config, deployed);
    await checkDataPath(clients, moto.endpoint, deployed, fn.Environment?.Variables ?? {});
    await destroy(tf, clients.s3, deployed.bucket);
    tf = undefined;
    await checkAdoption(moto.endpoint, clients, synthEnv);
  } finally {
    if (tf) await destroy(tf, clients.s3, deployed?.bucket);
    for (const c of Object.values(clients)) c.destroy();
    await moto.stop();
    info('moto stopped');
  }
  if (failures > 0) throw new Error(`${failures} check(s) failed`);
  step('e2e: OK');
}

if (require.main === module) runMain('e2e', main);
