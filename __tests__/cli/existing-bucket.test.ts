// An existing bucket (existingBucketName) against SDK mocks: tap preflight's bucket checks as AWS answers
// them, and tap eventbridge enable, which must write back everything but EventBridge as it was.
import { mockClient } from 'aws-sdk-client-mock';
import {
  GetBucketEncryptionCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  NotificationConfiguration,
  PutBucketNotificationConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { resolveConfig } from '../../config';
import { DeployedStack } from '../../cli/context';
import { buildProgram } from '../../cli/tap';
import { denyingStatements, existingBucketChecks, keyCovered } from '../../cli/preflight/bucket';
import { configurationDiff } from '../../cli/commands/eventbridge';
import { runTap } from '../support/cli';

const BUCKET = 'team-archive';
const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ROLE = 'arn:aws:iam::123456789012:role/tap-dev-metadata-extractor-us-east-1';
const identity = { account: '123456789012', partition: 'aws', arn: 'arn:aws:iam::123456789012:user/deployer' };
const awsError = (name: string, status: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, $response: { headers } });
/** The bucket's own configuration: a queue consumer the stack must never drop. */
const QUEUE_CONSUMER: NotificationConfiguration = {
  QueueConfigurations: [
    {
      Id: 'to-archive-indexer',
      QueueArn: 'arn:aws:sqs:us-east-1:123456789012:indexer',
      Events: ['s3:ObjectCreated:*'],
    },
  ],
};

const s3 = mockClient(S3Client);

/** A versioned bucket in us-east-1, encrypted with KEY, no policy, EventBridge on. */
function goodBucket() {
  s3.reset();
  s3.on(HeadBucketCommand, { Bucket: BUCKET }).resolves({});
  s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
  s3.on(GetBucketNotificationConfigurationCommand).resolves({ ...QUEUE_CONSUMER, EventBridgeConfiguration: {} });
  s3.on(GetBucketEncryptionCommand).resolves({
    ServerSideEncryptionConfiguration: {
      Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY } }],
    },
  });
  s3.on(GetBucketPolicyCommand).rejects(awsError('NoSuchBucketPolicy', 404));
}
beforeEach(goodBucket);

async function checks(keys: string[] = [KEY]) {
  const config = resolveConfig({ existingBucketName: BUCKET, existingBucketKmsKeyArns: keys }, {});
  const client = new S3Client({ region: 'us-east-1' });
  try {
    const results = await existingBucketChecks(
      client,
      config,
      { roleName: 'tap-dev-metadata-extractor-us-east-1' },
      identity,
    );
    return Object.fromEntries(results.map((r) => [r.id, r]));
  } finally {
    client.destroy();
  }
}

describe("tap preflight's existing-bucket checks", () => {
  it('pass for a versioned bucket of the region, sending to EventBridge, encrypted with a listed key', async () => {
    // Act
    const results = await checks();
    // Assess
    expect(Object.keys(results)).toEqual([
      'bucket',
      'bucket-versioning',
      'bucket-eventbridge',
      'bucket-encryption',
      'bucket-policy',
    ]);
    expect(Object.values(results).filter((r) => r.status !== 'pass')).toEqual([]);
  });

  it('fail for a missing bucket or one in another region, and stop there', async () => {
    // Prepare
    s3.on(HeadBucketCommand, { Bucket: BUCKET }).rejectsOnce(awsError('NotFound', 404));
    // Act
    const missing = await checks();
    s3.on(HeadBucketCommand, { Bucket: BUCKET }).rejects(
      awsError('PermanentRedirect', 301, { 'x-amz-bucket-region': 'eu-west-1' }),
    );
    const elsewhere = await checks();
    // Assess
    expect(Object.values(missing)).toEqual([
      {
        id: 'bucket',
        status: 'fail',
        message: 'existing bucket "team-archive" does not exist',
        fix: 'check existingBucketName (TAP_EXISTING_BUCKET_NAME)',
      },
    ]);
    expect(elsewhere.bucket).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('is in eu-west-1, not in us-east-1'),
      fix: 'deploy the stack to eu-west-1 (TAP_REGION=eu-west-1)',
    });
  });

  it('warn for an unversioned bucket: items are keyed null and an overwrite replaces the item', async () => {
    // Prepare
    s3.on(GetBucketVersioningCommand).resolves({});
    // Act
    const { 'bucket-versioning': versioning } = await checks();
    // Assess
    expect(versioning).toMatchObject({
      status: 'warn',
      message:
        '"team-archive" is not versioned (never enabled): items are keyed versionId "null", and an overwrite replaces the item',
    });
  });

  it('fail when EventBridge is off, giving the command that turns it on', async () => {
    // Prepare
    s3.on(GetBucketNotificationConfigurationCommand).resolves(QUEUE_CONSUMER);
    // Act
    const { 'bucket-eventbridge': eventBridge } = await checks();
    // Assess
    expect(eventBridge).toEqual({
      id: 'bucket-eventbridge',
      status: 'fail',
      message: '"team-archive" does not send its events to EventBridge: no event would reach the function',
      fix: 'npx tap eventbridge enable --dry-run (shows the change), then npx tap eventbridge enable',
    });
  });

  it('fail when the default key is not among the configured keys; pass for S3-managed keys', async () => {
    // Act
    const unlisted = await checks([]);
    s3.on(GetBucketEncryptionCommand).resolves({
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    const sseS3 = await checks([]);
    // Assess
    expect(unlisted['bucket-encryption']).toMatchObject({
      status: 'fail',
      message: `"team-archive" encrypts with ${KEY}, which existingBucketKmsKeyArns does not list: the function could not read its objects`,
    });
    expect(sseS3['bucket-encryption'].status).toBe('pass');
    expect(keyCovered('1234abcd-12ab-34cd-56ef-1234567890ab', [KEY])).toBe(true);
    expect(keyCovered('alias/archive', [KEY])).toBeUndefined();
  });

  it('warn for a policy that could deny the function, and say when the policy cannot be read', async () => {
    // Prepare
    const policy = {
      Statement: [
        {
          Sid: 'TlsOnly',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        {
          Sid: 'OnlyTheVpc',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:GetObject',
          Condition: { StringNotEquals: { 'aws:SourceVpce': 'vpce-1' } },
        },
      ],
    };
    s3.on(GetBucketPolicyCommand)
      .resolvesOnce({ Policy: JSON.stringify(policy) })
      .rejects(awsError('AccessDenied', 403));
    // Act
    const readable = await checks();
    const denied = await checks();
    // Assess
    expect(readable['bucket-policy']).toMatchObject({
      status: 'warn',
      message: `"team-archive"'s policy has Deny statements that could refuse the function (${ROLE}) s3:GetObject: OnlyTheVpc`,
    });
    expect(denied['bucket-policy']).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/^could not check: access denied/),
    });
  });
});

describe('denyingStatements', () => {
  it('skips Allows, other principals, other actions and exempted roles; names a statement without Sid by its place', () => {
    // Prepare
    const policy = JSON.stringify({
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject' },
        {
          Sid: 'OtherRole',
          Effect: 'Deny',
          Principal: { AWS: 'arn:aws:iam::123456789012:role/other' },
          Action: 's3:*',
        },
        { Sid: 'NoDeletes', Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject' },
        { Sid: 'AllButUs', Effect: 'Deny', NotPrincipal: { AWS: [ROLE] }, Action: 's3:*' },
        { Effect: 'Deny', Principal: { AWS: ROLE }, NotAction: 's3:PutObject' },
      ],
    });
    // Act & Assess
    expect(denyingStatements(policy, ROLE)).toEqual(['statement 5 (no Sid)']);
  });
});

describe('tap eventbridge enable', () => {
  const program = () =>
    buildProgram(
      (options) => new DeployedStack(options, { TAP_EXISTING_BUCKET_NAME: BUCKET, AWS_REGION: 'us-east-1' }),
    );

  it('adds EventBridge and writes the rest back unchanged, then reads it back', async () => {
    // Prepare
    s3.on(GetBucketNotificationConfigurationCommand)
      .resolvesOnce({ ...QUEUE_CONSUMER, $metadata: {} })
      .resolves({ ...QUEUE_CONSUMER, EventBridgeConfiguration: {} });
    s3.on(PutBucketNotificationConfigurationCommand).resolves({});
    // Act
    const run = await runTap(['eventbridge', 'enable'], program());
    // Assess
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      'EventBridge turned on for bucket "team-archive"; its 1 other notification configuration read back unchanged',
    );
    expect(s3.commandCalls(PutBucketNotificationConfigurationCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, NotificationConfiguration: { ...QUEUE_CONSUMER, EventBridgeConfiguration: {} } },
    ]);
  });

  it('with --dry-run prints the difference and writes nothing', async () => {
    // Prepare
    s3.on(GetBucketNotificationConfigurationCommand).resolves(QUEUE_CONSUMER);
    // Act
    const run = await runTap(['eventbridge', 'enable', '--dry-run'], program());
    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'bucket "team-archive": the notification configuration would become (dry run, nothing written):',
    );
    expect(run.stdout).toContain('+   "EventBridgeConfiguration": {}');
    expect(run.stdout).toContain('        "Id": "to-archive-indexer",');
    expect(s3.commandCalls(PutBucketNotificationConfigurationCommand)).toHaveLength(0);
  });

  it('does nothing when EventBridge is on already', async () => {
    // Act
    const run = await runTap(['eventbridge', 'enable'], program());
    // Assess
    expect(run.stdout).toBe('EventBridge is on already for bucket "team-archive": nothing to do');
    expect(s3.commandCalls(PutBucketNotificationConfigurationCommand)).toHaveLength(0);
  });

  it('fails, showing what differs, when the configuration read back is not the one written', async () => {
    // Prepare
    s3.on(GetBucketNotificationConfigurationCommand)
      .resolvesOnce(QUEUE_CONSUMER)
      .resolves({ EventBridgeConfiguration: {} });
    s3.on(PutBucketNotificationConfigurationCommand).resolves({});
    // Act
    const run = await runTap(['eventbridge', 'enable'], program());
    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the notification configuration read back is not the one written');
    expect(run.stderr).toContain('-       "Id": "to-archive-indexer",');
  });

  it('names a missing bucket', async () => {
    // Prepare
    s3.on(GetBucketNotificationConfigurationCommand).rejects(awsError('NoSuchBucket', 404));
    // Act
    const run = await runTap(['eventbridge', 'enable'], program());
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^tap: S3 bucket "team-archive" does not exist/);
  });
});

describe('configurationDiff', () => {
  it('marks added and removed lines and keeps the rest', () => {
    // Act & Assess
    expect(configurationDiff({ TopicConfigurations: [] }, { EventBridgeConfiguration: {} }).split('\n')).toEqual([
      '  {',
      '+   "EventBridgeConfiguration": {}',
      '  }',
      '-   "TopicConfigurations": []',
    ]);
  });

  it('keeps a line that only gained its trailing comma', () => {
    // Act
    const diff = configurationDiff(QUEUE_CONSUMER, { ...QUEUE_CONSUMER, EventBridgeConfiguration: {} });

    // Assess
    expect(diff.split('\n').filter((line) => !line.startsWith('  '))).toEqual(['+   "EventBridgeConfiguration": {}']);
  });
});
