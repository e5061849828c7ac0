// TapStack: an S3 -> Lambda -> DynamoDB file-metadata pipeline, as one CDKTF stack.
//
// Reading order follows the data: configuration, provider and tags, the KMS key everything is
// encrypted with, the uploads bucket, the metadata table, the function and its permissions, the
// wiring from S3 to the function, then observability and outputs.
//
// Provider bindings are imported from their deep paths: importing the package root costs ~20 s and
// 1.5 GB of memory per synth.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { App, S3Backend, LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import {
  DataAwsIamPolicyDocument,
  DataAwsIamPolicyDocumentStatement,
} from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketCorsConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-cors-configuration';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { ArchiveProvider } from '@cdktf/provider-archive/lib/provider';
import { DataArchiveFile } from '@cdktf/provider-archive/lib/data-archive-file';

// ---------------------------------------------------------------------------------------------
// Configuration: defaults, then cdktf.json context (key "tap"), then TAP_* environment variables.
// ---------------------------------------------------------------------------------------------

export const ENVIRONMENTS = ['dev', 'test', 'staging', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
export type CorsMethod = (typeof CORS_METHODS)[number];
/** The retention values CloudWatch Logs accepts; 0 (never expire) is deliberately absent. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export interface TapConfig {
  /** Lower-case name that prefixes every resource; with environment it must leave room in S3's 63-character bucket names. */
  readonly project: string;
  readonly environment: EnvironmentName;
  readonly region: string;
  readonly owner: string;
  /** Extra tags merged into the provider's default_tags. */
  readonly tags: Readonly<Record<string, string>>;
  readonly tableReadCapacity: number;
  readonly tableWriteCapacity: number;
  readonly enableDeletionProtection: boolean;
  readonly lambdaMemoryMb: number;
  readonly lambdaTimeoutSeconds: number;
  readonly lambdaReservedConcurrency: number;
  readonly lambdaMaxRetryAttempts: number;
  readonly lambdaMaxEventAgeSeconds: number;
  readonly sdkMaxAttempts: number;
  readonly logLevel: LogLevel;
  readonly logRetentionDays: number;
  readonly corsAllowedOrigins: readonly string[];
  readonly corsAllowAnyOrigin: boolean;
  readonly corsAllowedMethods: readonly CorsMethod[];
  readonly corsAllowedHeaders: readonly string[];
  readonly corsExposeHeaders: readonly string[];
  readonly corsMaxAgeSeconds: number;
  readonly notificationPrefix: string;
  readonly notificationSuffix: string;
  readonly noncurrentVersionExpirationDays: number;
  readonly abortIncompleteMultipartUploadDays: number;
  /** Existing bucket that receives S3 server access logs; empty disables access logging. */
  readonly accessLogBucket: string;
  readonly accessLogPrefix: string;
  /** Address subscribed to the alarm topic; empty means no subscription. */
  readonly alarmEmail: string;
  /** S3 remote state; empty stateBucket keeps the local backend. */
  readonly stateBucket: string;
  readonly stateKey: string;
  readonly stateRegion: string;
  readonly stateUseLockfile: boolean;
  /** Folder (relative to the project) that `npm run build` bundles the handler into. */
  readonly handlerBundleDir: string;
}

/** Thrown when configuration is invalid; the message names every bad setting and what it accepts. */
export class TapConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid TapStack configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'TapConfigError';
  }
}

type Parser<T> = (raw: unknown) => T;
/** Parsers throw this with the "expected ..." half of the message; resolveConfig adds the setting name. */
class SettingValueError extends Error {}

const show = (raw: unknown): string => (typeof raw === 'string' ? `"${raw}"` : JSON.stringify(raw));

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new SettingValueError(`an integer from ${min} to ${max}, got ${show(raw)}`);
    }
    return value;
  };

const boolean: Parser<boolean> = (raw) => {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new SettingValueError(`true or false, got ${show(raw)}`);
};

const oneOf =
  <T extends string | number>(allowed: readonly T[]): Parser<T> =>
  (raw) => {
    const value = typeof allowed[0] === 'number' && typeof raw === 'string' ? Number(raw) : raw;
    if (!allowed.includes(value as T)) {
      throw new SettingValueError(`one of ${allowed.join(', ')}, got ${show(raw)}`);
    }
    return value as T;
  };

const text =
  (pattern: RegExp, description: string): Parser<string> =>
  (raw) => {
    if (typeof raw !== 'string' || !pattern.test(raw)) {
      throw new SettingValueError(`${description}, got ${show(raw)}`);
    }
    return raw;
  };

/** Lists come as JSON arrays from context and as comma-separated strings from the environment. */
const list =
  <T extends string>(item: Parser<T>, allowEmpty = false): Parser<T[]> =>
  (raw) => {
    const items =
      typeof raw === 'string'
        ? raw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : raw;
    if (!Array.isArray(items) || (!allowEmpty && items.length === 0)) {
      throw new SettingValueError(`a ${allowEmpty ? '' : 'non-empty '}list, got ${show(raw)}`);
    }
    return items.map(item);
  };

/** Tags come as an object from context and as "Key=Value,Key2=Value2" from the environment. */
const tagMap: Parser<Record<string, string>> = (raw) => {
  const entries =
    typeof raw === 'string'
      ? raw
          .split(',')
          .filter((s) => s.trim())
          .map((pair) => pair.split('=').map((s) => s.trim()))
      : raw !== null && typeof raw === 'object' && !Array.isArray(raw)
        ? Object.entries(raw)
        : undefined;
  const valid = (e: unknown[]) =>
    e.length === 2 && e.every((s) => typeof s === 'string' && /^[\w .:/=+\-@]{1,256}$/.test(s));
  if (!entries || !entries.every(valid)) {
    throw new SettingValueError(`tags as {"Key": "Value"} or Key=Value,Key2=Value2, got ${show(raw)}`);
  }
  return Object.fromEntries(entries as [string, string][]);
};

const EMPTY_OR = (pattern: RegExp) => new RegExp(`^$|${pattern.source}`);
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ORIGIN = /^(\*|https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?)$/;
const HEADER = /^[A-Za-z0-9*-]+$/;

/** Every setting: its default and how a raw value is checked. Environment names are derived (TAP_ + SNAKE_CASE). */
const SETTINGS: {
  readonly [K in keyof TapConfig]: { readonly default: TapConfig[K]; readonly parse: Parser<TapConfig[K]> };
} = {
  project: {
    default: 'tap',
    parse: text(/^[a-z][a-z0-9-]{1,19}$/, 'a lower-case name of 2 to 20 letters, digits or hyphens'),
  },
  environment: { default: 'dev', parse: oneOf(ENVIRONMENTS) },
  region: { default: 'us-east-1', parse: text(REGION, 'an AWS region such as us-east-1') },
  owner: { default: 'platform-team', parse: text(/^[\w .:/=+\-@]{1,256}$/, 'a tag value of 1 to 256 characters') },
  tags: { default: {}, parse: tagMap },
  tableReadCapacity: { default: 100, parse: integer(1, 40000) },
  tableWriteCapacity: { default: 100, parse: integer(1, 40000) },
  enableDeletionProtection: { default: true, parse: boolean },
  lambdaMemoryMb: { default: 512, parse: integer(128, 10240) },
  lambdaTimeoutSeconds: { default: 30, parse: integer(3, 900) },
  // 100 WCU and one ~1 WCU write per object: one busy instance stores ~10 objects/s (about 100 ms
  // per object, measured), so 10 instances keep the write rate at or below the table's capacity.
  lambdaReservedConcurrency: { default: 10, parse: integer(1, 1000) },
  lambdaMaxRetryAttempts: { default: 2, parse: integer(0, 2) },
  lambdaMaxEventAgeSeconds: { default: 21600, parse: integer(60, 21600) },
  sdkMaxAttempts: { default: 5, parse: integer(1, 10) },
  logLevel: { default: 'INFO', parse: oneOf(LOG_LEVELS) },
  logRetentionDays: { default: 365, parse: oneOf(LOG_RETENTION_DAYS as unknown as number[]) },
  corsAllowedOrigins: {
    default: ['http://localhost:3000'],
    parse: list(text(ORIGIN, 'origins like https://app.example.com')),
  },
  corsAllowAnyOrigin: { default: false, parse: boolean },
  corsAllowedMethods: { default: ['GET', 'PUT', 'POST', 'HEAD'], parse: list(oneOf(CORS_METHODS)) },
  corsAllowedHeaders: {
    default: ['authorization', 'content-type', 'content-md5', 'x-amz-*'],
    parse: list(text(HEADER, 'header names (a * wildcard allowed)')),
  },
  corsExposeHeaders: { default: ['ETag', 'x-amz-version-id'], parse: list(text(HEADER, 'header names'), true) },
  corsMaxAgeSeconds: { default: 3000, parse: integer(0, 86400) },
  notificationPrefix: { default: '', parse: text(/^.{0,1024}$/, 'a key prefix of at most 1024 characters') },
  notificationSuffix: { default: '', parse: text(/^.{0,1024}$/, 'a key suffix of at most 1024 characters') },
  noncurrentVersionExpirationDays: { default: 90, parse: integer(1, 3650) },
  abortIncompleteMultipartUploadDays: { default: 7, parse: integer(1, 365) },
  accessLogBucket: {
    default: '',
    parse: text(EMPTY_OR(BUCKET_NAME), 'an S3 bucket name, or empty to disable access logging'),
  },
  accessLogPrefix: { default: '', parse: text(/^.{0,512}$/, 'a key prefix') },
  alarmEmail: { default: '', parse: text(EMPTY_OR(EMAIL), 'an email address such as oncall@example.com, or empty') },
  stateBucket: { default: '', parse: text(EMPTY_OR(BUCKET_NAME), 'an S3 bucket name, or empty for local state') },
  stateKey: { default: '', parse: text(/^.{0,1024}$/, 'an S3 key') },
  stateRegion: { default: '', parse: text(EMPTY_OR(REGION), 'an AWS region, or empty for the stack region') },
  stateUseLockfile: { default: true, parse: boolean },
  handlerBundleDir: { default: 'dist/handler', parse: text(/^[\w./-]+$/, 'a relative folder path') },
};

export const SETTING_NAMES = Object.keys(SETTINGS) as (keyof TapConfig)[];

/** TAP_ + the setting name in SCREAMING_SNAKE_CASE, e.g. tableWriteCapacity -> TAP_TABLE_WRITE_CAPACITY. */
export const envVarName = (setting: string): string =>
  `TAP_${setting.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;

/** Longest `project-environment` that leaves room for "-uploads-<12-digit account>-<longest region>" in 63 characters. */
const MAX_NAME_PREFIX = 63 - '-uploads-'.length - 12 - 1 - 'ap-southeast-5'.length;

/**
 * Merges defaults, context and environment (later wins), validates every setting and the rules
 * between them, and throws one TapConfigError naming every problem.
 */
export function resolveConfig(
  context: Readonly<Record<string, unknown>> = {},
  env: Readonly<Record<string, string | undefined>> = {},
): TapConfig {
  const problems: string[] = [];
  for (const key of Object.keys(context)) {
    if (!(key in SETTINGS))
      problems.push(`unknown setting "${key}" in context "tap"; known settings: ${SETTING_NAMES.join(', ')}`);
  }
  const values: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const variable = envVarName(name);
    const [raw, source] =
      env[variable] !== undefined
        ? [env[variable], `environment variable ${variable}`]
        : context[name] !== undefined
          ? [context[name], `context tap.${name}`]
          : [undefined, 'default'];
    if (raw === undefined) {
      values[name] = SETTINGS[name].default;
      continue;
    }
    try {
      values[name] = (SETTINGS[name].parse as Parser<unknown>)(raw);
    } catch (error) {
      if (!(error instanceof SettingValueError)) throw error;
      problems.push(`${name} (from ${source}): expected ${error.message}`);
    }
  }
  if (problems.length === 0) problems.push(...crossCheck(values as unknown as TapConfig));
  if (problems.length > 0) throw new TapConfigError(problems);
  return values as unknown as TapConfig;
}

function crossCheck(config: TapConfig): string[] {
  const problems: string[] = [];
  const prefix = `${config.project}-${config.environment}`;
  if (prefix.length > MAX_NAME_PREFIX) {
    problems.push(
      `project: "${prefix}" is longer than ${MAX_NAME_PREFIX} characters, which leaves no room for the account and region in the bucket name`,
    );
  }
  if (config.corsAllowedOrigins.includes('*') && !config.corsAllowAnyOrigin) {
    problems.push(
      'corsAllowedOrigins: "*" lets any web site read the bucket through browsers; set corsAllowAnyOrigin to true to allow it explicitly',
    );
  }
  if (config.stateBucket === '' && (config.stateKey !== '' || config.stateRegion !== '')) {
    problems.push('stateBucket: stateKey and stateRegion are set, but stateBucket is empty');
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The stack.
// ---------------------------------------------------------------------------------------------

export const TABLE_KEY_SCHEMA = { partitionKey: 'objectKey', sortKey: 'versionId' } as const;

type Statement = DataAwsIamPolicyDocumentStatement;

/** Every resource name, from project and environment; shared with the local runner so both agree. */
export function resourceNames(config: Pick<TapConfig, 'project' | 'environment'>) {
  const prefix = `${config.project}-${config.environment}`;
  const functionName = `${prefix}-metadata-extractor`;
  return {
    prefix,
    functionName,
    roleName: functionName,
    logGroupName: `/aws/lambda/${functionName}`,
    tableName: `${prefix}-file-metadata`,
    queueName: `${prefix}-metadata-failed-events`,
    topicName: `${prefix}-pipeline-alarms`,
    keyAlias: `alias/${prefix}-pipeline`,
    dashboardName: `${prefix}-file-metadata-pipeline`,
    /** Unique per account and region, as S3 bucket names must be. */
    bucketName: (accountId: string, region: string) => `${prefix}-uploads-${accountId}-${region}`,
  };
}

export class TapStack extends TerraformStack {
  readonly config: TapConfig;

  constructor(scope: Construct, id: string, config: TapConfig) {
    super(scope, id);
    this.config = config;
    const names = resourceNames(config);
    const { prefix, functionName, logGroupName } = names;
    // Terraform runs in cdktf.out/stacks/<id>; paths into the project are made relative to it, so a
    // synthesized stack works on any machine.
    const stackDir = path.join(App.of(this).outdir, 'stacks', id);
    const fromStackDir = (projectPath: string) => path.relative(stackDir, path.resolve(projectPath));

    // -- State, provider and tags ---------------------------------------------------------------
    if (config.stateBucket) {
      new S3Backend(this, {
        bucket: config.stateBucket,
        key: config.stateKey || `${config.project}/${config.environment}/terraform.tfstate`,
        region: config.stateRegion || config.region,
        encrypt: true,
      });
      // S3-native locking (Terraform >= 1.10) replaces the DynamoDB lock table.
      if (config.stateUseLockfile) this.addOverride('terraform.backend.s3.use_lockfile', true);
    } else {
      // One state file per environment, in the project folder (not in cdktf.out, which synth may
      // wipe), so dev and prod deployed from one checkout never share state.
      new LocalBackend(this, { path: fromStackDir(`terraform.${prefix}.tfstate`) });
    }

    new AwsProvider(this, 'aws', {
      region: config.region,
      defaultTags: [
        {
          tags: {
            ...config.tags,
            Project: config.project,
            Environment: config.environment,
            Owner: config.owner,
            ManagedBy: 'cdktf',
          },
        },
      ],
    });
    new ArchiveProvider(this, 'archive');

    const account = new DataAwsCallerIdentity(this, 'current');
    const partition = new DataAwsPartition(this, 'partition');
    const region = new DataAwsRegion(this, 'region');
    const accountId = account.accountId;
    const arnOf = (service: string, resource: string) =>
      `arn:${partition.partition}:${service}:${region.name}:${accountId}:${resource}`;
    const policyDocument = (docId: string, statement: Statement[]) =>
      new DataAwsIamPolicyDocument(this, docId, { statement });

    // -- Encryption key ---------------------------------------------------------------------------
    // One customer-managed key for every store. Services that write with it on their own behalf get
    // a statement each, scoped by source account or encryption context; IAM principals of the
    // account get access only through IAM policies (the root statement delegates to IAM).
    const logGroupArn = arnOf('logs', `log-group:${logGroupName}`);
    // A key policy is a resource policy: its Resource "*" means "this key". It is written as JSON,
    // not as an aws_iam_policy_document, so scanners do not judge it by identity-policy rules.
    const keyPolicy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EnableIamPoliciesOfThisAccount',
          Effect: 'Allow',
          Principal: { AWS: `arn:${partition.partition}:iam::${accountId}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          Sid: 'AllowCloudWatchLogsForTheFunctionLogGroup',
          Effect: 'Allow',
          Principal: { Service: `logs.${region.name}.amazonaws.com` },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
          Resource: '*',
          Condition: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': logGroupArn } },
        },
        {
          Sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
        },
      ],
    });
    const key = new KmsKey(this, 'pipeline_key', {
      description: `${prefix} file-metadata pipeline: S3, DynamoDB, Lambda environment, logs, SQS, SNS`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: keyPolicy,
    });
    new KmsAlias(this, 'pipeline_key_alias', { name: names.keyAlias, targetKeyId: key.keyId });

    // -- Uploads bucket ---------------------------------------------------------------------------
    const bucket = new S3Bucket(this, 'uploads', {
      bucket: names.bucketName(accountId, region.name),
      // Versioned uploads are history; deleting the bucket must be a deliberate two-step act.
      forceDestroy: false,
    });
    new S3BucketVersioningA(this, 'uploads_versioning', {
      bucket: bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'uploads_encryption', {
      bucket: bucket.id,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.arn },
          // The bucket key cuts KMS requests (and their cost) by ~99% for busy buckets.
          bucketKeyEnabled: true,
        },
      ],
    });
    const publicAccessBlock = new S3BucketPublicAccessBlock(this, 'uploads_public_access_block', {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'uploads_ownership', {
      bucket: bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    const bucketPolicy = new S3BucketPolicy(this, 'uploads_policy', {
      bucket: bucket.id,
      policy: policyDocument('uploads_policy_document', [
        denyInsecureTransport('s3:*', bucket.arn, `${bucket.arn}/*`),
        denyToAnyone('DenyTlsOlderThan12', 's3:*', [bucket.arn, `${bucket.arn}/*`], {
          test: 'NumericLessThan',
          variable: 's3:TlsVersion',
          values: ['1.2'],
        }),
      ]).json,
      // A policy written before the public access block is in place can be rejected as public.
      dependsOn: [publicAccessBlock],
    });
    new S3BucketCorsConfiguration(this, 'uploads_cors', {
      bucket: bucket.id,
      corsRule: [
        {
          id: 'browser-uploads',
          allowedOrigins: [...config.corsAllowedOrigins],
          allowedMethods: [...config.corsAllowedMethods],
          allowedHeaders: [...config.corsAllowedHeaders],
          exposeHeaders: [...config.corsExposeHeaders],
          maxAgeSeconds: config.corsMaxAgeSeconds,
        },
      ],
    });
    new S3BucketLifecycleConfiguration(this, 'uploads_lifecycle', {
      bucket: bucket.id,
      rule: [
        {
          id: 'abort-incomplete-multipart-uploads',
          status: 'Enabled',
          filter: [{}],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: config.abortIncompleteMultipartUploadDays }],
        },
        {
          id: 'expire-noncurrent-versions',
          status: 'Enabled',
          filter: [{}],
          noncurrentVersionExpiration: [{ noncurrentDays: config.noncurrentVersionExpirationDays }],
          // Delete markers left with no versions behind them are clutter; S3 removes them for free.
          expiration: [{ expiredObjectDeleteMarker: true }],
        },
      ],
    });
    if (config.accessLogBucket) {
      new S3BucketLoggingA(this, 'uploads_access_logging', {
        bucket: bucket.id,
        targetBucket: config.accessLogBucket,
        targetPrefix: config.accessLogPrefix || `s3-access/${prefix}-uploads/`,
      });
    }

    // -- Metadata table ---------------------------------------------------------------------------
    const table = new DynamodbTable(this, 'metadata', {
      name: names.tableName,
      billingMode: 'PROVISIONED',
      readCapacity: config.tableReadCapacity,
      writeCapacity: config.tableWriteCapacity,
      hashKey: TABLE_KEY_SCHEMA.partitionKey,
      rangeKey: TABLE_KEY_SCHEMA.sortKey,
      attribute: [
        { name: TABLE_KEY_SCHEMA.partitionKey, type: 'S' },
        { name: TABLE_KEY_SCHEMA.sortKey, type: 'S' },
      ],
      serverSideEncryption: { enabled: true, kmsKeyArn: key.arn },
      pointInTimeRecovery: { enabled: true },
      deletionProtectionEnabled: config.enableDeletionProtection,
    });

    // -- Failure destination and alarm topic -------------------------------------------------------
    const deadLetterQueue = new SqsQueue(this, 'dead_letter_queue', {
      name: names.queueName,
      kmsMasterKeyId: key.arn,
      kmsDataKeyReusePeriodSeconds: 300,
      messageRetentionSeconds: 14 * 24 * 3600,
    });
    new SqsQueuePolicy(this, 'dead_letter_queue_policy', {
      queueUrl: deadLetterQueue.url,
      policy: policyDocument('dead_letter_queue_policy_document', [denyInsecureTransport('sqs:*', deadLetterQueue.arn)])
        .json,
    });
    const alarmTopic = new SnsTopic(this, 'alarms', {
      name: names.topicName,
      kmsMasterKeyId: key.arn,
    });
    new SnsTopicPolicy(this, 'alarms_policy', {
      arn: alarmTopic.arn,
      policy: policyDocument('alarms_policy_document', [
        {
          sid: 'AllowCloudWatchAlarmsOfThisAccount',
          principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com'] }],
          actions: ['sns:Publish'],
          resources: [alarmTopic.arn],
          condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [accountId] }],
        },
        denyInsecureTransport('sns:Publish', alarmTopic.arn),
      ]).json,
    });
    if (config.alarmEmail) {
      new SnsTopicSubscription(this, 'alarms_email', {
        topicArn: alarmTopic.arn,
        protocol: 'email',
        endpoint: config.alarmEmail,
      });
    }

    // -- Function: logs, role, code ----------------------------------------------------------------
    const logGroup = new CloudwatchLogGroup(this, 'function_logs', {
      name: logGroupName,
      retentionInDays: config.logRetentionDays,
      kmsKeyId: key.arn,
    });

    const role = new IamRole(this, 'function_role', {
      name: names.roleName,
      description: `Execution role of ${functionName}`,
      assumeRolePolicy: policyDocument('function_assume_role', [
        {
          sid: 'LambdaAssumesThisRole',
          principals: [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }],
          actions: ['sts:AssumeRole'],
          condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [accountId] }],
        },
      ]).json,
    });
    const rolePolicy = new IamRolePolicy(this, 'function_role_policy', {
      name: 'least-privilege',
      role: role.id,
      policy: policyDocument('function_permissions', [
        {
          sid: 'ReadUploadedObjects',
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [`${bucket.arn}/*`],
        },
        // Without ListBucket, S3 answers 403 instead of 404 for a missing object, and the handler
        // could not tell "deleted before processing" from "access denied".
        { sid: 'TellMissingObjectsFromDenied', actions: ['s3:ListBucket'], resources: [bucket.arn] },
        // GetItem only tells a duplicate from a stale event when a store does not return the item with a failed condition.
        {
          sid: 'WriteMetadataItems',
          actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'],
          resources: [table.arn],
        },
        {
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [`${logGroup.arn}:*`],
        },
        { sid: 'UsePipelineKey', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [key.arn] },
        { sid: 'SendFailedEventsToDeadLetterQueue', actions: ['sqs:SendMessage'], resources: [deadLetterQueue.arn] },
        // X-Ray's write actions support no resource-level scoping.
        { sid: 'WriteTraces', actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] },
      ]).json,
    });

    const bundle = new DataArchiveFile(this, 'handler_bundle', {
      type: 'zip',
      sourceDir: `\${path.module}/${fromStackDir(config.handlerBundleDir)}`,
      outputPath: `\${path.module}/handler.zip`,
      // A fixed mode keeps the archive's hash a function of the code alone.
      outputFileMode: '0644',
    });

    const fn = new LambdaFunction(this, 'metadata_extractor', {
      functionName,
      description: 'Extracts the metadata of each uploaded object version and stores it in DynamoDB',
      role: role.arn,
      runtime: 'nodejs22.x',
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: bundle.outputPath,
      sourceCodeHash: bundle.outputBase64Sha256,
      memorySize: config.lambdaMemoryMb,
      timeout: config.lambdaTimeoutSeconds,
      reservedConcurrentExecutions: config.lambdaReservedConcurrency,
      kmsKeyArn: key.arn,
      environment: {
        variables: {
          TABLE_NAME: table.name,
          POWERTOOLS_SERVICE_NAME: functionName,
          POWERTOOLS_METRICS_NAMESPACE: config.project,
          POWERTOOLS_LOG_LEVEL: config.logLevel,
          AWS_MAX_ATTEMPTS: String(config.sdkMaxAttempts),
          AWS_RETRY_MODE: 'standard',
        },
      },
      tracingConfig: { mode: 'Active' },
      loggingConfig: {
        logFormat: 'JSON',
        logGroup: logGroup.name,
        applicationLogLevel: config.logLevel,
        systemLogLevel: 'WARN',
      },
      dependsOn: [rolePolicy, logGroup],
    });

    new LambdaFunctionEventInvokeConfig(this, 'metadata_extractor_async', {
      functionName: fn.functionName,
      maximumRetryAttempts: config.lambdaMaxRetryAttempts,
      maximumEventAgeInSeconds: config.lambdaMaxEventAgeSeconds,
      destinationConfig: { onFailure: { destination: deadLetterQueue.arn } },
    });

    // -- Wiring: S3 invokes the function -----------------------------------------------------------
    const permission = new LambdaPermission(this, 'allow_s3_invoke', {
      statementId: 'AllowInvokeFromUploadsBucket',
      action: 'lambda:InvokeFunction',
      functionName: fn.functionName,
      principal: 's3.amazonaws.com',
      sourceArn: bucket.arn,
      sourceAccount: accountId,
    });
    new S3BucketNotification(this, 'uploads_notification', {
      bucket: bucket.id,
      lambdaFunction: [
        {
          id: 'extract-metadata',
          lambdaFunctionArn: fn.arn,
          events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
          filterPrefix: config.notificationPrefix || undefined,
          filterSuffix: config.notificationSuffix || undefined,
        },
      ],
      // S3 checks that it may invoke the function when the notification is saved.
      dependsOn: [permission, bucketPolicy],
    });

    // -- Alarms and dashboard ----------------------------------------------------------------------
    const signals = pipelineSignals({
      functionName: fn.functionName,
      tableName: table.name,
      queueName: deadLetterQueue.name,
      timeoutMs: config.lambdaTimeoutSeconds * 1000,
      writeCapacity: config.tableWriteCapacity,
      readCapacity: config.tableReadCapacity,
    });
    for (const signal of signals) {
      new CloudwatchMetricAlarm(this, `alarm_${signal.id}`, {
        alarmName: `${prefix}-${signal.id.replace(/_/g, '-')}`,
        alarmDescription: signal.description,
        namespace: signal.namespace,
        metricName: signal.metricName,
        dimensions: signal.dimensions,
        statistic: signal.extendedStatistic ? undefined : signal.statistic,
        extendedStatistic: signal.extendedStatistic,
        period: signal.periodSeconds,
        evaluationPeriods: signal.evaluationPeriods,
        threshold: signal.threshold,
        comparisonOperator: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: [alarmTopic.arn],
        okActions: [alarmTopic.arn],
      });
    }
    new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: names.dashboardName,
      dashboardBody: JSON.stringify({
        widgets: signals.map((signal, index) => ({
          type: 'metric',
          x: (index % 2) * 12,
          y: Math.floor(index / 2) * 6,
          width: 12,
          height: 6,
          properties: {
            title: signal.title,
            region: region.name,
            view: 'timeSeries',
            stat: signal.extendedStatistic ?? signal.statistic,
            period: signal.periodSeconds,
            metrics: [[signal.namespace, signal.metricName, ...Object.entries(signal.dimensions).flat()]],
            annotations: { horizontal: [{ label: 'alarm', value: signal.threshold }] },
          },
        })),
      }),
    });

    // -- Outputs -------------------------------------------------------------------------------------
    const outputs: Record<string, string> = {
      s3_bucket_name: bucket.bucket,
      s3_bucket_arn: bucket.arn,
      dynamodb_table_name: table.name,
      lambda_function_name: fn.functionName,
      dead_letter_queue_url: deadLetterQueue.url,
      alarm_topic_arn: alarmTopic.arn,
      kms_key_arn: key.arn,
    };
    for (const [name, value] of Object.entries(outputs)) new TerraformOutput(this, name, { value });
  }
}

/** A statement that refuses `action` on `resources` to every principal when `condition` holds. */
function denyToAnyone(
  sid: string,
  action: string,
  resources: string[],
  condition: { test: string; variable: string; values: string[] },
): Statement {
  return {
    sid,
    effect: 'Deny',
    principals: [{ type: '*', identifiers: ['*'] }],
    actions: [action],
    resources,
    condition: [condition],
  };
}

/** A statement that refuses any request to `resources` that is not made over TLS. */
const denyInsecureTransport = (action: string, ...resources: string[]): Statement =>
  denyToAnyone('DenyInsecureTransport', action, resources, {
    test: 'Bool',
    variable: 'aws:SecureTransport',
    values: ['false'],
  });

export interface PipelineSignal {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly statistic: 'Sum' | 'Maximum';
  readonly extendedStatistic?: string;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly threshold: number;
}

/** The signals that tell whether the pipeline is healthy: each becomes an alarm and a dashboard widget. */
export function pipelineSignals(p: {
  functionName: string;
  tableName: string;
  queueName: string;
  timeoutMs: number;
  writeCapacity: number;
  readCapacity: number;
}): PipelineSignal[] {
  const lambda = { namespace: 'AWS/Lambda', dimensions: { FunctionName: p.functionName } };
  const dynamo = { namespace: 'AWS/DynamoDB', dimensions: { TableName: p.tableName } };
  const fiveMinutes = { periodSeconds: 300, evaluationPeriods: 1 };
  return [
    {
      id: 'lambda_errors',
      title: 'Function errors',
      ...lambda,
      ...fiveMinutes,
      metricName: 'Errors',
      statistic: 'Sum',
      threshold: 0,
      description:
        'The metadata extractor failed invocations. Read the ERROR lines in its log group (they name bucket, key and version); failed events are retried, then land in the dead-letter queue.',
    },
    {
      id: 'lambda_throttles',
      title: 'Function throttles',
      ...lambda,
      periodSeconds: 300,
      evaluationPeriods: 3,
      metricName: 'Throttles',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Uploads arrive faster than the reserved concurrency allows for 15 minutes. Events wait and retry for up to the maximum event age; raise lambdaReservedConcurrency together with tableWriteCapacity if this persists.',
    },
    {
      id: 'lambda_duration',
      title: 'Function duration p99 (ms)',
      ...lambda,
      ...fiveMinutes,
      metricName: 'Duration',
      statistic: 'Maximum',
      extendedStatistic: 'p99',
      threshold: Math.round(p.timeoutMs * 0.8),
      description:
        'p99 duration is above 80% of the timeout. Check S3/DynamoDB latency and throttling in X-Ray; raise lambdaTimeoutSeconds or lambdaMemoryMb before invocations start timing out.',
    },
    {
      id: 'dead_letter_queue_not_empty',
      title: 'Failed events waiting in the dead-letter queue',
      namespace: 'AWS/SQS',
      dimensions: { QueueName: p.queueName },
      ...fiveMinutes,
      metricName: 'ApproximateNumberOfMessagesVisible',
      statistic: 'Maximum',
      threshold: 0,
      description:
        'Events exhausted their retries and wait in the dead-letter queue (kept 14 days). Each message holds the event and the error naming the failed records: fix the cause, then re-drive them to the function.',
    },
    {
      id: 'dynamodb_write_throttles',
      title: 'Table write throttles',
      ...dynamo,
      ...fiveMinutes,
      metricName: 'WriteThrottleEvents',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Writes to the metadata table are throttled. The SDK retries them, but sustained throttling fails events: raise tableWriteCapacity or lower lambdaReservedConcurrency.',
    },
    {
      id: 'dynamodb_read_throttles',
      title: 'Table read throttles',
      ...dynamo,
      ...fiveMinutes,
      metricName: 'ReadThrottleEvents',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Reads of the metadata table are throttled: a consumer reads faster than tableReadCapacity allows. Raise it or add caching on the reader side.',
    },
    {
      id: 'dynamodb_write_capacity_high',
      title: 'Consumed write capacity (units per 5 min)',
      ...dynamo,
      periodSeconds: 300,
      evaluationPeriods: 2,
      metricName: 'ConsumedWriteCapacityUnits',
      statistic: 'Sum',
      threshold: Math.round(p.writeCapacity * 300 * 0.8),
      description:
        'The table consumed more than 80% of its provisioned write capacity for 10 minutes. Throttling is next: raise tableWriteCapacity, or lower lambdaReservedConcurrency to slow ingestion.',
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Entry point: synthesize only when run directly, so tests import this file with no side effect.
// ---------------------------------------------------------------------------------------------
if (require.main === module) {
  const app = new App();
  try {
    const config = resolveConfig((app.node.tryGetContext('tap') as Record<string, unknown>) ?? {}, process.env);
    const entry = path.resolve(config.handlerBundleDir, 'index.js');
    if (!fs.existsSync(entry)) {
      throw new Error(`Lambda bundle not found at ${entry}: run "npm run build:handler" first`);
    }
    new TapStack(app, 'TapStack', config);
    app.synth();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
