import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  envVarName,
  pipelineSignals,
  resolveConfig,
  resourceNames,
  SETTING_NAMES,
  SETTINGS,
  TapConfigError,
  TOOLING_VARIABLES,
} from '../../config';
import { legacyStateProblem } from '../../cli/preflight/legacy-state';

const problemsOf = (context: Record<string, unknown>, env: Record<string, string> = {}): string[] => {
  try {
    resolveConfig(context, env);
  } catch (error) {
    expect(error).toBeInstanceOf(TapConfigError);
    return [...(error as TapConfigError).problems];
  }
  throw new Error('expected resolveConfig to throw');
};

describe('resolveConfig', () => {
  it('gives the documented defaults with no context and no environment', () => {
    // Act
    const config = resolveConfig({}, {});
    // Assess
    expect(config).toMatchObject({
      project: 'tap',
      environment: 'dev',
      region: 'us-east-1',
      tableReadCapacity: 100,
      tableWriteCapacity: 100,
      enableDeletionProtection: true,
      lambdaMemoryMb: 512,
      lambdaTimeoutSeconds: 30,
      lambdaReservedConcurrency: 10,
      logRetentionDays: 365,
      corsAllowedOrigins: ['http://localhost:3000'],
      corsAllowAnyOrigin: false,
      alarmEmail: '',
      stateBucket: '',
    });
  });

  it('takes context over defaults and TAP_* environment variables over context', () => {
    // Act
    const config = resolveConfig(
      { environment: 'staging', tableWriteCapacity: 50, corsAllowedOrigins: ['https://a.example.com'] },
      {
        TAP_TABLE_WRITE_CAPACITY: '200',
        TAP_CORS_ALLOWED_ORIGINS: 'https://b.example.com, https://c.example.com',
        TAP_ENABLE_DELETION_PROTECTION: 'false',
        TAP_TAGS: 'CostCenter=42,Team=data',
      },
    );
    // Assess
    expect(config.environment).toBe('staging');
    expect(config.tableWriteCapacity).toBe(200);
    expect(config.corsAllowedOrigins).toEqual(['https://b.example.com', 'https://c.example.com']);
    expect(config.enableDeletionProtection).toBe(false);
    expect(config.tags).toEqual({ CostCenter: '42', Team: 'data' });
  });

  it('derives every environment variable name from the setting name', () => {
    // Act & Assess
    expect(envVarName('tableWriteCapacity')).toBe('TAP_TABLE_WRITE_CAPACITY');
    expect(envVarName('lambdaMemoryMb')).toBe('TAP_LAMBDA_MEMORY_MB');
    expect(SETTING_NAMES.map(envVarName)).toContain('TAP_LOG_RETENTION_DAYS');
  });

  it.each([
    [
      { logRetentionDays: 42 },
      'logRetentionDays (from context tap.logRetentionDays): expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 42',
    ],
    [
      { logRetentionDays: 0 },
      'logRetentionDays (from context tap.logRetentionDays): expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 0',
    ],
    [
      { tableWriteCapacity: 0 },
      'tableWriteCapacity (from context tap.tableWriteCapacity): expected an integer from 1 to 40000, got 0',
    ],
    [
      { tableReadCapacity: -5 },
      'tableReadCapacity (from context tap.tableReadCapacity): expected an integer from 1 to 40000, got -5',
    ],
    [
      { tableReadCapacity: 2.5 },
      'tableReadCapacity (from context tap.tableReadCapacity): expected an integer from 1 to 40000, got 2.5',
    ],
    [
      { environment: 'qa' },
      'environment (from context tap.environment): expected one of dev, test, staging, prod, got "qa"',
    ],
    [
      { alarmEmail: 'oncall-at-example.com' },
      'alarmEmail (from context tap.alarmEmail): expected an email address such as oncall@example.com, or empty, got "oncall-at-example.com"',
    ],
    [{ region: 'mars-1' }, 'region (from context tap.region): expected an AWS region such as us-east-1, got "mars-1"'],
    [
      { enableDeletionProtection: 'yes' },
      'enableDeletionProtection (from context tap.enableDeletionProtection): expected true or false, got "yes"',
    ],
    [
      { corsAllowedMethods: ['GET', 'PATCH'] },
      'corsAllowedMethods (from context tap.corsAllowedMethods): expected one of GET, PUT, POST, DELETE, HEAD, got "PATCH"',
    ],
    [
      { corsAllowedOrigins: [] },
      'corsAllowedOrigins (from context tap.corsAllowedOrigins): expected a non-empty list, got []',
    ],
    [
      { project: 'Tap_Stack' },
      'project (from context tap.project): expected a lower-case name of 2 to 20 letters, digits or hyphens, got "Tap_Stack"',
    ],
    [
      { lambdaMaxRetryAttempts: 3 },
      'lambdaMaxRetryAttempts (from context tap.lambdaMaxRetryAttempts): expected an integer from 0 to 2, got 3',
    ],
  ])('rejects %j with a message naming the setting and the allowed values', (context, message) => {
    // Act & Assess
    expect(problemsOf(context)).toEqual([message]);
  });

  it('names the environment variable when the bad value came from one', () => {
    // Act & Assess
    expect(problemsOf({}, { TAP_LAMBDA_MEMORY_MB: 'lots' })).toEqual([
      'lambdaMemoryMb (from environment variable TAP_LAMBDA_MEMORY_MB): expected an integer from 128 to 10240, got "lots"',
    ]);
  });

  it('reports every problem at once, and unknown settings (typos) too', () => {
    // Act & Assess
    expect(problemsOf({ tableWriteCapcity: 10, logRetentionDays: 2, environment: 'live' })).toEqual([
      expect.stringMatching(
        /^unknown setting "tableWriteCapcity" in context "tap"; known settings: project, environment, /,
      ),
      'environment (from context tap.environment): expected one of dev, test, staging, prod, got "live"',
      expect.stringMatching(/^logRetentionDays \(from context tap\.logRetentionDays\): expected one of 1, 3, /),
    ]);
  });

  it('names the nearest known setting for an unknown context key', () => {
    // Act
    const problems = problemsOf({ tableWriteCapcity: 200 });
    // Assess
    expect(problems).toEqual([
      `unknown setting "tableWriteCapcity" in context "tap"; known settings: ${SETTING_NAMES.join(', ')}; did you mean tableWriteCapacity?`,
    ]);
  });

  it('refuses an unknown TAP_* environment variable (a typo), naming the nearest known one', () => {
    // Prepare
    const env = { TAP_TABLE_WRITE_CAPCITY: '200' };
    // Act
    const problems = problemsOf({}, env);
    // Assess
    expect(problems).toEqual([
      'unknown environment variable TAP_TABLE_WRITE_CAPCITY; did you mean TAP_TABLE_WRITE_CAPACITY (tableWriteCapacity)?',
    ]);
  });

  it('lets the variables the tooling reads pass, and ignores variables without the TAP_ prefix', () => {
    // Prepare
    const env = { ...Object.fromEntries(TOOLING_VARIABLES.map((name) => [name, 'x'])), TABLE_WRITE_CAPCITY: '1' };
    // Act
    const config = resolveConfig({}, env);
    // Assess
    expect(TOOLING_VARIABLES).toEqual(['TAP_RECORD_CALLS', 'TAP_TF_PROVIDER_MIRROR']);
    expect(config).toEqual(resolveConfig({}, {}));
  });

  it.each(SETTING_NAMES)('describes the setting %s in one line', (name) => {
    // Act
    const { description } = SETTINGS[name];
    // Assess
    expect(description.trim()).not.toBe('');
    expect(description).not.toContain('\n');
  });

  it('delivers through S3 notifications by default and takes eventbridge when asked', () => {
    // Act
    const byDefault = resolveConfig({}, {});
    const asked = resolveConfig({}, { TAP_EVENT_DELIVERY: 'eventbridge' });
    // Assess
    expect(byDefault).toMatchObject({ eventDelivery: 's3', existingBucketName: '', existingBucketKmsKeyArns: [] });
    expect(asked.eventDelivery).toBe('eventbridge');
    expect(problemsOf({ eventDelivery: 'sns' })).toEqual([
      'eventDelivery (from context tap.eventDelivery): expected one of s3, eventbridge, got "sns"',
    ]);
  });

  it('delivers from an existing bucket through EventBridge, with the keys it is encrypted with', () => {
    // Prepare
    const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    // Act
    const config = resolveConfig(
      {},
      {
        TAP_REGION: 'eu-west-1',
        TAP_EXISTING_BUCKET_NAME: 'team-archive',
        TAP_EXISTING_BUCKET_KMS_KEY_ARNS: `${keyArn}, ${keyArn}`,
      },
    );
    // Assess
    expect(config).toMatchObject({
      eventDelivery: 'eventbridge',
      existingBucketName: 'team-archive',
      existingBucketKmsKeyArns: [keyArn, keyArn],
    });
  });

  it('refuses eventDelivery=s3 with an existing bucket, saying it would replace its notification configuration', () => {
    // Act & Assess
    expect(problemsOf({ existingBucketName: 'team-archive', eventDelivery: 's3' })).toEqual([
      'eventDelivery: "s3" cannot deliver from the existing bucket "team-archive": a bucket notification written by the stack ' +
        "would replace the bucket's whole notification configuration, and every consumer it holds; " +
        'use "eventbridge" (or leave eventDelivery unset)',
    ]);
  });

  it('refuses a KMS key that is not a key ARN, naming the setting', () => {
    // Act & Assess
    expect(
      problemsOf({}, { TAP_EXISTING_BUCKET_NAME: 'team-archive', TAP_EXISTING_BUCKET_KMS_KEY_ARNS: 'alias/archive' }),
    ).toEqual([
      'existingBucketKmsKeyArns (from environment variable TAP_EXISTING_BUCKET_KMS_KEY_ARNS): expected KMS key ARNs like ' +
        'arn:aws:kms:us-east-1:111122223333:key/<key id> (not aliases), got "alias/archive"',
    ]);
  });

  it('refuses keys without an existing bucket or of another region, and settings of an owned bucket with one', () => {
    // Act & Assess
    expect(problemsOf({ existingBucketKmsKeyArns: ['arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab'] })).toEqual([
      'existingBucketKmsKeyArns: set, but existingBucketName is empty (the keys are those of an existing bucket)',
    ]);
    expect(
      problemsOf({
        existingBucketName: 'team-archive',
        existingBucketKmsKeyArns: ['arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab'],
      }),
    ).toEqual([
      "existingBucketKmsKeyArns: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab not in us-east-1, the stack's region; " +
        "S3 encrypts a bucket's objects with keys of the bucket's own region",
    ]);
    expect(problemsOf({ existingBucketName: 'team-archive', corsMaxAgeSeconds: 60, accessLogBucket: 'logs' })).toEqual([
      'corsMaxAgeSeconds, accessLogBucket: shape a bucket the stack creates; the existing bucket "team-archive" ' +
        'keeps what its owner set, so unset them',
    ]);
  });

  it('refuses a "*" CORS origin unless corsAllowAnyOrigin says so explicitly', () => {
    // Act & Assess
    expect(problemsOf({ corsAllowedOrigins: ['*'] })).toEqual([
      'corsAllowedOrigins: "*" lets any web site read the bucket through browsers; set corsAllowAnyOrigin to true to allow it explicitly',
    ]);
    expect(resolveConfig({ corsAllowedOrigins: ['*'], corsAllowAnyOrigin: true }).corsAllowedOrigins).toEqual(['*']);
  });

  it('refuses a project, environment and region too long for a 63-character bucket name, naming the limit', () => {
    // Act & Assess
    expect(problemsOf({ project: 'a-very-long-project1', environment: 'staging', region: 'ap-southeast-5' })).toEqual([
      'project: the S3 bucket name "a-very-long-project1-staging-uploads-<12-digit account>-ap-southeast-5" would be 64 characters; AWS allows 63. Shorten project ("a-very-long-project1", 20 characters) by 1',
    ]);
    expect(resolveConfig({ project: 'a-very-long-project1', environment: 'staging', region: 'us-east-1' }).region).toBe(
      'us-east-1',
    );
  });

  it('accepts 0 reserved concurrency (unreserved) and refuses a negative one', () => {
    // Act & Assess
    expect(resolveConfig({}, { TAP_LAMBDA_RESERVED_CONCURRENCY: '0' }).lambdaReservedConcurrency).toBe(0);
    expect(problemsOf({ lambdaReservedConcurrency: -1 })).toEqual([
      'lambdaReservedConcurrency (from context tap.lambdaReservedConcurrency): expected an integer from 0 to 1000, got -1',
    ]);
  });

  it('refuses state settings without a state bucket', () => {
    // Act & Assess
    expect(problemsOf({ stateKey: 'x/terraform.tfstate' })).toEqual([
      'stateBucket: stateKey and stateRegion are set, but stateBucket is empty',
    ]);
  });

  it('fails with a TapConfigError whose message lists each problem', () => {
    // Act & Assess
    expect(() => resolveConfig({ tableWriteCapacity: 0 })).toThrow(
      'Invalid TapStack configuration:\n  - tableWriteCapacity (from context tap.tableWriteCapacity): expected an integer from 1 to 40000, got 0',
    );
  });
});

describe('resourceNames', () => {
  it('puts the region into the names that are global per account, and into state', () => {
    // Act
    const names = resourceNames(resolveConfig({ environment: 'prod', region: 'eu-west-1' }));
    // Assess
    expect(names).toMatchObject({
      roleName: 'tap-prod-metadata-extractor-eu-west-1',
      uploadersPolicyName: 'tap-prod-uploaders-eu-west-1',
      dashboardName: 'tap-prod-file-metadata-pipeline-eu-west-1',
      functionName: 'tap-prod-metadata-extractor',
      tableName: 'tap-prod-file-metadata',
      localStateFile: 'terraform.tap-prod-eu-west-1.tfstate',
      defaultStateKey: 'tap/prod/eu-west-1/terraform.tfstate',
    });
    expect(names.bucketName('123456789012', 'eu-west-1')).toBe('tap-prod-uploads-123456789012-eu-west-1');
  });
});

describe('local state from before region-qualified names', () => {
  const config = resolveConfig({ environment: 'prod', region: 'eu-west-1' });
  const stateWith = (arn: string) =>
    JSON.stringify({ version: 4, resources: [{ instances: [{ attributes: { arn } }] }] });
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-state-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is no problem when there is none, or when state is remote', () => {
    // Prepare
    fs.writeFileSync(path.join(dir, 'terraform.tap-prod.tfstate'), stateWith('arn:aws:sqs:eu-west-1:123456789012:q'));
    // Act & Assess
    expect(legacyStateProblem(fs.mkdtempSync(path.join(dir, 'empty-')), config)).toBeUndefined();
    expect(legacyStateProblem(dir, { ...config, stateBucket: 'tf-state' })).toBeUndefined();
  });

  it('stops synth with the exact command that moves it', () => {
    // Prepare
    fs.writeFileSync(path.join(dir, 'terraform.tap-prod.tfstate'), stateWith('arn:aws:sqs:eu-west-1:123456789012:q'));
    // Act
    const problem = legacyStateProblem(dir, config);
    // Assess
    expect(problem).toBe(
      'Local state from before region-qualified names found: terraform.tap-prod.tfstate. This stack keeps its state in terraform.tap-prod-eu-west-1.tfstate now; run: mv terraform.tap-prod.tfstate terraform.tap-prod-eu-west-1.tfstate',
    );
  });

  it('names the region the old state belongs to when it is not the configured one', () => {
    // Prepare
    fs.writeFileSync(
      path.join(dir, 'terraform.tap-prod.tfstate'),
      stateWith('arn:aws:dynamodb:us-west-2:123456789012:table/t'),
    );
    // Act
    const problem = legacyStateProblem(dir, config);
    // Assess
    expect(problem).toContain('It holds resources in us-west-2, not in the configured region eu-west-1.');
    expect(problem).toContain(
      'set TAP_REGION=us-west-2 and run: mv terraform.tap-prod.tfstate terraform.tap-prod-us-west-2.tfstate',
    );
  });

  it('refuses to pick one silently when both the old and the new file exist', () => {
    // Prepare
    fs.writeFileSync(path.join(dir, 'terraform.tap-prod.tfstate'), stateWith('arn:aws:sqs:eu-west-1:123456789012:q'));
    fs.writeFileSync(
      path.join(dir, 'terraform.tap-prod-eu-west-1.tfstate'),
      stateWith('arn:aws:sqs:eu-west-1:123456789012:q'),
    );
    // Act
    const problem = legacyStateProblem(dir, config);
    // Assess
    expect(problem).toContain('terraform.tap-prod-eu-west-1.tfstate exists too');
  });
});

describe('pipelineSignals', () => {
  it('names one alarm per signal after the resource prefix, with hyphens', () => {
    // Prepare
    const config = resolveConfig({ environment: 'test' });
    // Act
    const alarms = pipelineSignals(config, resourceNames(config)).map((signal) => signal.alarmName);
    // Assess
    expect(alarms).toEqual([
      'tap-test-lambda-errors',
      'tap-test-lambda-throttles',
      'tap-test-lambda-duration',
      'tap-test-dead-letter-queue-not-empty',
      'tap-test-unreadable-objects',
      'tap-test-dynamodb-write-throttles',
      'tap-test-dynamodb-read-throttles',
      'tap-test-dynamodb-write-capacity-high',
    ]);
  });
});
