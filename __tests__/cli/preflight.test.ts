// tap preflight against SDK mocks: every check's pass and its failures, the way AWS answers them
// (error names and HTTP statuses), and the command's text and JSON output in-process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  GetAccountSettingsCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import {
  GetBucketEncryptionCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { IAMClient, ListPolicyTagsCommand, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import * as Logs from '@aws-sdk/client-cloudwatch-logs';
import * as CloudWatch from '@aws-sdk/client-cloudwatch';
import { DescribeKeyCommand, KMSClient, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { GetQueueUrlCommand, ListQueueTagsCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resolveConfig, resourceNames, TapConfig } from '../../config';
import { runTap } from '../support/cli';
import { CheckResult, openPreflightClients, runPreflight, runtimeCheck } from '../../cli/preflight/run';
import { alarmNames, dashboardDrawsFunction, NameClients, namedResources } from '../../cli/preflight/names';
import { synthTapStack } from '../support/stack';

const ACCOUNT = '123456789012';
const OURS = { Project: 'tap', Environment: 'dev', ManagedBy: 'cdktf', Owner: 'platform-team' };
const asList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
/** An SDK error as the SDK throws it: a name and the HTTP status. */
const awsError = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

const sts = mockClient(STSClient);
const lambda = mockClient(LambdaClient);
const s3 = mockClient(S3Client);
const iam = mockClient(IAMClient);
const cloudwatch = mockClient(CloudWatch.CloudWatchClient);
const logs = mockClient(Logs.CloudWatchLogsClient);
const kms = mockClient(KMSClient);
const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);
const dynamodb = mockClient(DynamoDBClient);

/** An account where nothing of the stack exists, with the default concurrency quota. */
function freshAccount() {
  for (const mock of [sts, lambda, s3, iam, cloudwatch, logs, kms, sqs, sns, dynamodb]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/deployer` });
  lambda
    .on(GetAccountSettingsCommand)
    .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  lambda.on(GetFunctionConcurrencyCommand).rejects(awsError('ResourceNotFoundException', 404));
  lambda.on(GetFunctionCommand).rejects(awsError('ResourceNotFoundException', 404));
  s3.on(HeadBucketCommand).rejects(awsError('NotFound', 404));
  iam.on(ListRoleTagsCommand).rejects(awsError('NoSuchEntityException', 404));
  iam.on(ListPolicyTagsCommand).rejects(awsError('NoSuchEntityException', 404));
  cloudwatch.on(CloudWatch.GetDashboardCommand).rejects(awsError('ResourceNotFound', 404));
  cloudwatch.on(CloudWatch.DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  kms.on(DescribeKeyCommand).rejects(awsError('NotFoundException', 400));
  sqs.on(GetQueueUrlCommand).rejects(awsError('QueueDoesNotExist', 400));
  sns.on(GetTopicAttributesCommand).rejects(awsError('NotFoundException', 404));
  dynamodb.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException', 400));
  logs.on(Logs.DescribeLogGroupsCommand).resolves({ logGroups: [] });
}

/** A state bucket that exists, versioned and encrypted, with no state in it yet. */
function goodStateBucket() {
  s3.on(HeadBucketCommand, { Bucket: 'tf-state' }).resolves({});
  s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
  s3.on(GetBucketEncryptionCommand).resolves({
    ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] },
  });
  s3.on(HeadObjectCommand).rejects(awsError('NotFound', 404));
}

let projectDir: string;
beforeEach(() => {
  freshAccount();
  projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-preflight-'));
});
afterEach(() => fs.rmSync(projectDir, { recursive: true, force: true }));

const terraformAt = (version: string) => async (): Promise<string> => JSON.stringify({ terraform_version: version });

/** Runs every check with `settings` over the defaults, Terraform 1.11.4, on 1 January 2026, with no AWS_REGION. */
async function preflight(
  settings: Record<string, unknown> = {},
  extra: { terraform?: () => Promise<string>; env?: NodeJS.ProcessEnv } = {},
) {
  const config: TapConfig = resolveConfig({ alarmEmail: 'oncall@example.com', ...settings }, {});
  const clients = openPreflightClients(config, {});
  try {
    const results = await runPreflight({
      config,
      projectDir,
      clients,
      terraform: extra.terraform ?? terraformAt('1.11.4'),
      now: new Date('2026-01-01T00:00:00Z'),
      env: extra.env ?? {},
    });
    return { results, check: (id: string) => results.find((r) => r.id === id) as CheckResult };
  } finally {
    clients.close();
  }
}

describe('runPreflight on a fresh account', () => {
  it('passes every check, in a fixed order', async () => {
    // Prepare: freshAccount() in beforeEach
    // Act
    const { results } = await preflight();
    // Assess
    expect(results.filter((r) => r.status !== 'pass')).toEqual([]);
    expect(results.map((r) => r.id)).toEqual([
      'credentials',
      'region',
      'lambda-concurrency',
      'name:bucket',
      'name:role',
      'name:uploaders-policy',
      'name:dashboard',
      'name:alarms',
      'name:key-alias',
      'name:queue',
      'name:topic',
      'name:table',
      'name:function',
      'name:log-group',
      'state',
      'state-holds-resources',
      'terraform',
      'alarm-email',
      'runtime',
    ]);
  });

  it('asks HeadBucket about the bucket name with the account id from STS', async () => {
    // Act
    await preflight();
    // Assess
    expect(s3).toHaveReceivedCommandWith(HeadBucketCommand, {
      Bucket: resourceNames(resolveConfig()).bucketName(ACCOUNT, 'us-east-1'),
    });
  });
});

describe('runPreflight with an existing bucket', () => {
  it('checks that bucket in place of the bucket name the stack would create', async () => {
    // Prepare
    s3.on(HeadBucketCommand, { Bucket: 'team-archive' }).resolves({});
    s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    // Act
    const { results, check } = await preflight({ existingBucketName: 'team-archive' });
    // Assess
    const ids = results.map((r) => r.id);
    expect(ids).not.toContain('name:bucket');
    expect(ids.slice(ids.indexOf('name:log-group') + 1, ids.indexOf('state'))).toEqual([
      'bucket',
      'bucket-versioning',
      'bucket-eventbridge',
      'bucket-encryption',
      'bucket-policy',
    ]);
    expect(check('bucket').status).toBe('pass');
    expect(s3).not.toHaveReceivedCommandWith(HeadBucketCommand, {
      Bucket: resourceNames(resolveConfig()).bucketName(ACCOUNT, 'us-east-1'),
    });
  });
});

describe('the names checked', () => {
  it('are every name the synthesized stack creates', () => {
    // Prepare
    const { resource: r } = synthTapStack().parsed;
    const config = resolveConfig();
    const names = resourceNames(config);
    const identity = { account: ACCOUNT, partition: 'aws', arn: '' };
    // Act: lookups are lazy, so no client is needed to list the names
    const checked = [
      ...namedResources({} as NameClients, config, names, identity).map((resource) => resource.name),
      ...alarmNames(config, names),
    ];
    // Assess
    const nameAttribute: Record<string, string> = {
      aws_iam_role: 'name',
      aws_iam_policy: 'name',
      aws_cloudwatch_dashboard: 'dashboard_name',
      aws_cloudwatch_metric_alarm: 'alarm_name',
      aws_kms_alias: 'name',
      aws_sqs_queue: 'name',
      aws_sns_topic: 'name',
      aws_dynamodb_table: 'name',
      aws_lambda_function: 'function_name',
      aws_cloudwatch_log_group: 'name',
    };
    const created = Object.entries(nameAttribute).flatMap(([type, attribute]) =>
      Object.values(r[type]).map((resource) => resource[attribute]),
    );
    expect(created).toHaveLength(9 + alarmNames(config, names).length);
    expect(checked).toEqual(expect.arrayContaining(created));
    expect(r.aws_s3_bucket.uploads.bucket).toMatch(
      /^tap-dev-uploads-\$\{data\.aws_caller_identity\.current\.account_id\}-/,
    );
    expect(checked).toContain(`tap-dev-uploads-${ACCOUNT}-us-east-1`);
  });
});

describe('credentials', () => {
  it('fails without credentials, runs no AWS check, and still runs the local ones', async () => {
    // Prepare
    sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 0, 'Could not load credentials'));
    // Act
    const { results, check } = await preflight();
    // Assess
    expect(check('credentials')).toMatchObject({ status: 'fail', fix: expect.stringContaining('AWS_PROFILE') });
    expect(results.map((r) => r.id)).toEqual(['credentials', 'region', 'state', 'terraform', 'alarm-email', 'runtime']);
    expect(lambda).not.toHaveReceivedAnyCommand();
  });

  it('warns when AWS_REGION names another region than the stack deploys to', async () => {
    // Act
    const { check } = await preflight({}, { env: { AWS_REGION: 'eu-west-1' } });
    // Assess
    expect(check('region')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('TAP_REGION=eu-west-1'),
    });
  });
});

describe('lambda-concurrency', () => {
  it('fails on an account limit of 10 with the numbers, TAP_LAMBDA_RESERVED_CONCURRENCY=0 and the quota to ask for', async () => {
    // Prepare
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    // Act
    const { check } = await preflight();
    // Assess
    const result = check('lambda-concurrency');
    expect(result.status).toBe('fail');
    expect(result.message).toContain('account limit 10 in us-east-1, 0 reserved by other functions');
    expect(result.message).toContain('reserving 10 for tap-dev-metadata-extractor would leave 0 unreserved');
    expect(result.fix).toContain('set lambdaReservedConcurrency to 0 (TAP_LAMBDA_RESERVED_CONCURRENCY=0)');
    expect(result.fix).toContain('--quota-code L-B99A9384 --desired-value 110');
  });

  it("counts the function's existing reservation as the stack's own", async () => {
    // Prepare: 1000 in all, 890 reserved by others, 10 by our function already: 100 unreserved
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 100 } });
    lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 10 });
    // Act
    const { check } = await preflight();
    // Assess
    expect(check('lambda-concurrency')).toMatchObject({
      status: 'pass',
      message: expect.stringContaining(
        '890 reserved by other functions: reserving 10 for tap-dev-metadata-extractor leaves 100',
      ),
    });
  });

  it('passes a reservation of 0 without asking Lambda', async () => {
    // Prepare
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    // Act
    const { check } = await preflight({ lambdaReservedConcurrency: 0 });
    // Assess
    expect(check('lambda-concurrency').status).toBe('pass');
    expect(lambda).not.toHaveReceivedCommand(GetAccountSettingsCommand);
  });

  it('warns, naming the call, where a stand-in does not implement GetAccountSettings (moto answers 404)', async () => {
    // Prepare
    lambda.on(GetAccountSettingsCommand).rejects(awsError('SyntaxError', 404, 'Unexpected token <'));
    // Act
    const { check } = await preflight();
    // Assess
    expect(check('lambda-concurrency')).toMatchObject({
      status: 'warn',
      message: 'could not check: the endpoint does not implement lambda:GetAccountSettings (HTTP 404)',
    });
  });
});

describe('names', () => {
  const bucket = `tap-dev-uploads-${ACCOUNT}-us-east-1`;

  it('fails a bucket name HeadBucket answers 403 for: another account has it', async () => {
    // Prepare
    s3.on(HeadBucketCommand).rejects(awsError('Forbidden', 403));
    // Act
    const { check } = await preflight();
    // Assess
    expect(check('name:bucket')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining(`S3 bucket "${bucket}" exists and is not this stack's (HeadBucket answered 403`),
      fix: expect.stringContaining('TAP_PROJECT'),
    });
  });

  it("passes a bucket that is the stack's by its tags, and fails one without tags", async () => {
    // Prepare
    s3.on(HeadBucketCommand).resolves({});
    s3.on(GetBucketTaggingCommand).resolves({ TagSet: asList(OURS) });
    // Act
    const tagged = await preflight();
    s3.on(GetBucketTaggingCommand).rejects(awsError('NoSuchTagSet', 404));
    const untagged = await preflight();
    // Assess
    expect(tagged.check('name:bucket')).toMatchObject({
      status: 'pass',
      message: expect.stringContaining("this stack's"),
    });
    expect(untagged.check('name:bucket')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('tags Project=(none), Environment=(none), ManagedBy=(none)'),
    });
  });

  it('fails a role whose tags name another project', async () => {
    // Prepare
    iam.on(ListRoleTagsCommand).resolves({ Tags: asList({ ...OURS, Project: 'billing' }) });
    // Act
    const { check } = await preflight();
    // Assess
    expect(check('name:role')).toMatchObject({
      status: 'fail',
      message:
        'IAM role "tap-dev-metadata-extractor-us-east-1" exists and is not this stack\'s ' +
        '(tags Project=billing, Environment=dev, ManagedBy=cdktf): CreateRole would fail (EntityAlreadyExists)',
    });
  });

  it('fails an untagged log group Lambda made, with the command that deletes it', async () => {
    // Prepare
    const name = '/aws/lambda/tap-dev-metadata-extractor';
    logs.on(Logs.DescribeLogGroupsCommand).resolves({
      logGroups: [{ logGroupName: name, arn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:${name}:*` }],
    });
    logs.on(Logs.ListTagsForResourceCommand).resolves({ tags: {} });
    // Act
    const { check } = await preflight();
    // Assess
    expect(check('name:log-group')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining(`aws logs delete-log-group --log-group-name ${name} --region us-east-1`),
    });
    expect(logs).toHaveReceivedCommandWith(Logs.ListTagsForResourceCommand, {
      resourceArn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:${name}`,
    });
  });

  it("tells the stack's dashboard (no tags) by the function its widgets draw", async () => {
    // Prepare
    const body = (functionName: string) =>
      JSON.stringify({
        widgets: [{ properties: { metrics: [['AWS/Lambda', 'Errors', 'FunctionName', functionName]] } }],
      });
    cloudwatch.on(CloudWatch.GetDashboardCommand).resolves({ DashboardBody: body('someone-else') });
    // Act
    const { check } = await preflight();
    cloudwatch.on(CloudWatch.GetDashboardCommand).resolves({ DashboardBody: body('tap-dev-metadata-extractor') });
    const ours = await preflight();
    // Assess
    expect(check('name:dashboard')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('silently replace'),
    });
    expect(ours.check('name:dashboard').status).toBe('pass');
    expect(dashboardDrawsFunction(body('tap-dev-metadata-extractor'), 'tap-dev-metadata-extractor')).toBe(true);
    expect(dashboardDrawsFunction('not json', 'tap-dev-metadata-extractor')).toBe(false);
  });

  it('fails alarm names that exist with other tags, naming each and the command that deletes them', async () => {
    // Prepare
    const [first] = alarmNames(resolveConfig(), resourceNames(resolveConfig()));
    const arn = `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${first}`;
    cloudwatch.on(CloudWatch.DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: first, AlarmArn: arn }] });
    cloudwatch.on(CloudWatch.ListTagsForResourceCommand).resolves({ Tags: [] });
    // Act
    const { check } = await preflight();
    // Assess
    expect(first).toBe('tap-dev-lambda-errors');
    expect(check('name:alarms')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('1 of the 8 alarm names exist and are not this stack'),
      fix: expect.stringContaining(`--alarm-names ${first}`),
    });
  });

  it("tells the alias's owner by the tags of the key it points to, and the queue's by its tags", async () => {
    // Prepare
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'k-1', KeyState: 'Enabled' } });
    kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'Project', TagValue: 'tap' }] });
    sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: 'https://sqs/q' });
    sqs.on(ListQueueTagsCommand).resolves({ Tags: OURS });
    // Act
    const { check } = await preflight();
    // Assess
    expect(check('name:key-alias')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('its key k-1 (Enabled) has Project=tap, Environment=(none)'),
    });
    expect(check('name:queue').status).toBe('pass');
  });

  it('warns when GetFunction withholds the tags (no lambda:ListTags), and when a call fails unexpectedly', async () => {
    // Prepare
    lambda.on(GetFunctionCommand).resolves({ TagsError: { ErrorCode: 'AccessDeniedException', Message: 'no' } });
    dynamodb.on(DescribeTableCommand).rejects(awsError('InternalServerError', 500, 'boom'));
    // Act
    const { check } = await preflight();
    // Assess
    expect(check('name:function')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('lambda:GetFunction and lambda:ListTags'),
    });
    expect(check('name:table')).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('InternalServerError, HTTP 500): boom'),
    });
  });

  it('warns when resources of the stack exist but no state holds them', async () => {
    // Prepare
    iam.on(ListRoleTagsCommand).resolves({ Tags: asList(OURS) });
    // Act
    const { check } = await preflight();
    // Assess
    expect(check('name:role').status).toBe('pass');
    expect(check('state-holds-resources')).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('tap-dev-metadata-extractor-us-east-1), but there is no state at'),
    });
  });
});

describe('state', () => {
  it('passes a versioned, encrypted state bucket with no state yet', async () => {
    // Prepare
    goodStateBucket();
    // Act
    const { results } = await preflight({ stateBucket: 'tf-state' });
    // Assess
    expect(results.filter((r) => r.id.startsWith('state'))).toEqual([
      expect.objectContaining({ id: 'state-bucket', status: 'pass' }),
      expect.objectContaining({ id: 'state-versioning', status: 'pass' }),
      expect.objectContaining({ id: 'state-encryption', status: 'pass' }),
      expect.objectContaining({ id: 'state-key', status: 'pass' }),
      expect.objectContaining({ id: 'state-holds-resources', status: 'pass' }),
    ]);
  });

  it('fails a missing state bucket with the commands that create it, and checks nothing else in it', async () => {
    // Prepare
    s3.on(HeadBucketCommand, { Bucket: 'tf-state' }).rejects(awsError('NotFound', 404));
    // Act
    const { check } = await preflight({ stateBucket: 'tf-state', stateRegion: 'eu-west-1' });
    // Assess
    expect(check('state-bucket')).toMatchObject({
      status: 'fail',
      message: 'state bucket "tf-state" does not exist',
      fix:
        'create it: aws s3api create-bucket --bucket tf-state --region eu-west-1 --create-bucket-configuration ' +
        'LocationConstraint=eu-west-1 && aws s3api put-bucket-versioning --bucket tf-state --versioning-configuration Status=Enabled',
    });
    expect(s3).not.toHaveReceivedCommand(GetBucketVersioningCommand);
  });

  it('fails a state bucket in another region than stateRegion, naming the region to set', async () => {
    // Prepare
    const moved = Object.assign(awsError('PermanentRedirect', 301), {
      $response: { headers: { 'x-amz-bucket-region': 'eu-central-1' } },
    });
    s3.on(HeadBucketCommand, { Bucket: 'tf-state' }).rejects(moved);
    // Act
    const { check } = await preflight({ stateBucket: 'tf-state' });
    // Assess
    expect(check('state-bucket')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('TAP_STATE_REGION=eu-central-1'),
    });
  });

  it('fails an unversioned and an unencrypted state bucket with the commands that fix them', async () => {
    // Prepare
    goodStateBucket();
    s3.on(GetBucketVersioningCommand).resolves({});
    s3.on(GetBucketEncryptionCommand).rejects(awsError('ServerSideEncryptionConfigurationNotFoundError', 404));
    // Act
    const { check } = await preflight({ stateBucket: 'tf-state' });
    // Assess
    expect(check('state-versioning')).toMatchObject({
      status: 'fail',
      fix: 'aws s3api put-bucket-versioning --bucket tf-state --versioning-configuration Status=Enabled',
    });
    expect(check('state-encryption')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('put-bucket-encryption'),
    });
  });

  it('fails while the old state key exists and the new one does not, with the exact aws s3 mv command', async () => {
    // Prepare
    goodStateBucket();
    s3.on(HeadObjectCommand, { Key: 'tap/dev/terraform.tfstate' }).resolves({});
    // Act
    const { check } = await preflight({ stateBucket: 'tf-state' });
    // Assess
    expect(check('state-key').status).toBe('fail');
    expect(check('state-key').fix).toMatch(
      /^aws s3 mv s3:\/\/tf-state\/tap\/dev\/terraform\.tfstate s3:\/\/tf-state\/tap\/dev\/us-east-1\/terraform\.tfstate /,
    );
  });

  it('warns while both the old and the new state keys exist', async () => {
    // Prepare
    goodStateBucket();
    s3.on(HeadObjectCommand).resolves({});
    // Act
    const { check } = await preflight({ stateBucket: 'tf-state' });
    // Assess
    expect(check('state-key')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('aws s3 rm s3://tf-state/tap/dev/terraform.tfstate'),
    });
  });

  it('fails on local state from before region-qualified names, with the mv command', async () => {
    // Prepare
    fs.writeFileSync(path.join(projectDir, 'terraform.tap-dev.tfstate'), '{"resources": []}');
    // Act
    const { check } = await preflight();
    // Assess
    expect(check('state')).toMatchObject({
      status: 'fail',
      fix: 'mv terraform.tap-dev.tfstate terraform.tap-dev-us-east-1.tfstate',
    });
  });
});

describe('terraform', () => {
  it('fails a Terraform older than 1.10 with S3 locking on, and warns on 1.10', async () => {
    // Prepare
    goodStateBucket();
    // Act
    const old = await preflight({ stateBucket: 'tf-state' }, { terraform: terraformAt('1.9.8') });
    const ten = await preflight({ stateBucket: 'tf-state' }, { terraform: terraformAt('1.10.5') });
    const unlocked = await preflight(
      { stateBucket: 'tf-state', stateUseLockfile: false },
      { terraform: terraformAt('1.9.8') },
    );
    // Assess
    expect(old.check('terraform')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('Terraform 1.9.8 cannot lock S3 state'),
      fix: expect.stringContaining('TAP_STATE_USE_LOCKFILE=false'),
    });
    expect(ten.check('terraform').status).toBe('warn');
    expect(unlocked.check('terraform').status).toBe('pass');
  });

  it('fails when terraform is not installed', async () => {
    // Prepare
    const missing = async () => {
      throw Object.assign(new Error('spawn terraform ENOENT'), { code: 'ENOENT' });
    };
    // Act
    const { check } = await preflight({}, { terraform: missing });
    // Assess
    expect(check('terraform')).toMatchObject({ status: 'fail', fix: expect.stringContaining('install Terraform') });
  });
});

describe('settings', () => {
  it('warns that alarms reach nobody when alarmEmail is empty', async () => {
    // Act
    const { check } = await preflight({ alarmEmail: '' });
    // Assess
    expect(check('alarm-email')).toMatchObject({
      status: 'warn',
      message: 'alarmEmail is empty: the 8 alarms notify an SNS topic nobody subscribes to',
      fix: expect.stringContaining('TAP_ALARM_EMAIL'),
    });
  });

  it("warns within a year of the runtime's deprecation, and fails once AWS refuses new functions with it", () => {
    // Act
    const far = runtimeCheck('nodejs22.x', new Date('2026-01-01T00:00:00Z'));
    const near = runtimeCheck('nodejs22.x', new Date('2026-11-29T00:00:00Z'));
    const past = runtimeCheck('nodejs22.x', new Date('2027-06-02T00:00:00Z'));
    // Assess
    expect(far.status).toBe('pass');
    expect(near).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/nodejs22\.x is deprecated on 2027-04-30.*hashicorp\/aws 5\.100\.0/),
    });
    expect(past.status).toBe('fail');
  });
});

describe('tap preflight', () => {
  const saved = { ...process.env };
  let fakeDir: string;
  beforeAll(() => {
    // The real runner, pointed at a stand-in terraform the way cdktf honours TERRAFORM_BINARY_NAME.
    fakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-terraform-'));
    const fake = path.join(fakeDir, 'terraform');
    fs.writeFileSync(fake, '#!/bin/sh\necho \'{"terraform_version":"1.11.4"}\'\n', { mode: 0o755 });
    Object.assign(process.env, {
      TERRAFORM_BINARY_NAME: fake,
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
      TAP_ALARM_EMAIL: 'oncall@example.com',
    });
    delete process.env.TAP_STATE_BUCKET;
  });
  afterAll(() => {
    process.env = saved;
    fs.rmSync(fakeDir, { recursive: true, force: true });
  });

  const tap = (...args: string[]) => runTap(args);

  it('prints one line a check with its fix, and exits 1 on a failure', async () => {
    // Prepare
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    // Act
    const result = await tap('preflight');
    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^pass {2}credentials {12}account 123456789012/m);
    expect(result.stdout).toMatch(/^fail {2}lambda-concurrency {5}account limit 10/m);
    expect(result.stdout).toMatch(/^ {29}fix: set lambdaReservedConcurrency to 0/m);
    expect(result.stdout).toMatch(/^\d+ failed, \d+ warnings, \d+ passed: fix the failures before cdktf deploy$/m);
  });

  it('prints {ok, checks} as JSON with --json, and exits 0 when nothing fails', async () => {
    // Act
    const result = await tap('preflight', '--json');
    // Assess: this runs on today's date, so from 1 June 2027 the runtime check fails, and only it
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
    const failed = report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    expect(failed.filter((id) => id !== 'runtime')).toEqual([]);
    expect(report.ok).toBe(failed.length === 0);
    expect(result.code).toBe(report.ok ? 0 : 1);
    expect(report.checks[0]).toEqual({ id: 'credentials', status: 'pass', message: expect.any(String), fix: '' });
    expect(report.checks.map((c) => c.id)).toContain('terraform');
  });

  it('refuses --bucket and --table: it checks the names the stack creates', async () => {
    // Act
    const result = await tap('preflight', '--bucket', 'b');
    // Assess
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('--bucket and --table do not apply') });
  });
});
