// TapStack: an S3 -> Lambda -> DynamoDB file-metadata pipeline, as one CDKTF stack.
//
// The constructor reads as the README's diagram: one builder per box, in the diagram's order. Each
// builder is a plain function that takes the stack as its scope, so Terraform addresses stay flat
// and readable (aws_s3_bucket.uploads, not a hashed path through nested constructs). Configuration,
// names and the function's environment come from config/, which has no cdktf import.
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
import { DataAwsS3Bucket } from '@cdktf/provider-aws/lib/data-aws-s3-bucket';
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
import { AppautoscalingTarget } from '@cdktf/provider-aws/lib/appautoscaling-target';
import { AppautoscalingPolicy } from '@cdktf/provider-aws/lib/appautoscaling-policy';
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
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { ArchiveProvider } from '@cdktf/provider-archive/lib/provider';
import { DataArchiveFile } from '@cdktf/provider-archive/lib/data-archive-file';
import {
  arn,
  bucketNotificationEvents,
  eventBridgePattern,
  FUNCTION_RUNTIME,
  functionEnvironment,
  HANDLER_BUNDLE_DIR,
  pipelineSignals,
  resolveConfig,
  resourceNames,
  ResourceNames,
  TABLE_KEY_SCHEMA,
  TapConfig,
} from './config';
import { legacyStateProblem } from './cli/preflight/legacy-state';

export class TapStack extends TerraformStack {
  readonly config: TapConfig;

  constructor(scope: Construct, id: string, config: TapConfig) {
    super(scope, id);
    this.config = config;
    const names = resourceNames(config);
    const account = stateProviderAndAccount(this, config, names);

    const key = pipelineKey(this, config, names, account);
    // An existing bucket is read, never managed: no aws_s3_bucket_* resource touches it.
    const owned = config.existingBucketName ? undefined : uploadsBucket(this, config, names, account, key);
    const uploads: Uploads = owned
      ? { bucket: owned.bucket, objectKeyArns: [key.arn], owned }
      : { bucket: existingBucket(this, config), objectKeyArns: [...config.existingBucketKmsKeyArns] };
    const uploaders = uploadersPolicy(this, names, account, uploads);
    const table = metadataTable(this, config, names, key);
    if (config.tableMaxWriteCapacity > config.tableWriteCapacity) writeAutoscaling(this, config, names, table);
    const { queue, topic } = failureQueueAndAlarmTopic(this, config, names, account, key);
    const { fn, logGroup } = metadataFunction(this, config, names, account, {
      key,
      uploads,
      table,
      queue,
    });
    wireBucketToFunction(this, config, names, account, { uploads, fn, queue });
    const dashboard = alarmsAndDashboard(this, config, names, account, { fn, table, queue, topic });
    const batch = config.enableBatchOperations
      ? batchOperations(this, names, account, { key, uploads, fn })
      : undefined;

    outputs(this, {
      s3_bucket_name: uploads.bucket.bucket,
      s3_bucket_arn: uploads.bucket.arn,
      uploaders_policy_arn: uploaders.arn,
      dynamodb_table_name: table.name,
      lambda_function_name: fn.functionName,
      cloudwatch_log_group_name: logGroup.name,
      dead_letter_queue_url: queue.url,
      alarm_topic_arn: topic.arn,
      cloudwatch_dashboard_url: dashboardUrl(config.region, dashboard.dashboardName),
      kms_key_arn: key.arn,
      // What `tap backfill` passes to CreateJob: the role a job runs as, and where its manifests and reports go.
      ...(batch && { batch_operations_role_arn: batch.role.arn, operations_bucket_name: batch.bucket.bucket }),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Builders, in the diagram's order. Each creates the resources of one box and returns what the
// boxes after it refer to.
// ---------------------------------------------------------------------------------------------

/** Where the stack is deployed: account, partition and region as Terraform reads them at plan time. */
interface Account {
  readonly accountId: string;
  readonly partition: string;
  readonly region: string;
  /** The ARN of a regional resource of this account. */
  arnOf(service: string, resource: string): string;
}

type Statement = DataAwsIamPolicyDocumentStatement;

/** The bucket the function indexes: one the stack creates (owned), or an existing one it only reads. */
interface Uploads {
  readonly bucket: Pick<S3Bucket, 'arn' | 'bucket' | 'id'>;
  /** The KMS keys its objects are encrypted with: the pipeline key, or existingBucketKmsKeyArns. */
  readonly objectKeyArns: string[];
  readonly owned?: { bucket: S3Bucket; policy: S3BucketPolicy };
}

/** Days the operations bucket keeps a manifest or a completion report: long enough to read a job's outcome. */
const OPERATIONS_RETENTION_DAYS = 30;

/** The rule's ARN, known before the rule exists: the key and queue policies that name it come first. */
const eventRuleArn = (names: ResourceNames, account: Account) => account.arnOf('events', `rule/${names.ruleName}`);

const policyDocument = (scope: Construct, id: string, statement: Statement[]) =>
  new DataAwsIamPolicyDocument(scope, id, { statement });

/** A role's trust policy: the one AWS service may assume it, for this account only (the confused-deputy guard). */
const assumedBy = (scope: Construct, role: string, sid: string, service: string, account: Account) =>
  policyDocument(scope, `${role}_assume_role`, [
    {
      sid,
      principals: [{ type: 'Service', identifiers: [service] }],
      actions: ['sts:AssumeRole'],
      condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [account.accountId] }],
    },
  ]).json;

/** State backend, providers with the required tags, and the account the stack lands in. */
function stateProviderAndAccount(scope: TerraformStack, config: TapConfig, names: ResourceNames): Account {
  if (config.stateBucket) {
    new S3Backend(scope, {
      bucket: config.stateBucket,
      key: config.stateKey || names.defaultStateKey,
      region: config.stateRegion || config.region,
      encrypt: true,
    });
    // S3-native locking (Terraform >= 1.10) replaces the DynamoDB lock table.
    if (config.stateUseLockfile) scope.addOverride('terraform.backend.s3.use_lockfile', true);
  } else {
    // One state file per environment and region, in the project folder (not in cdktf.out, which
    // synth may wipe), so deployments from one checkout never share state.
    new LocalBackend(scope, { path: fromStackDir(scope, names.localStateFile) });
  }

  new AwsProvider(scope, 'aws', {
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
  new ArchiveProvider(scope, 'archive');

  const accountId = new DataAwsCallerIdentity(scope, 'current').accountId;
  const partition = new DataAwsPartition(scope, 'partition').partition;
  const region = new DataAwsRegion(scope, 'region').name;
  return {
    accountId,
    partition,
    region,
    arnOf: (service, resource) => arn(partition, service, region, accountId, resource),
  };
}

/**
 * One customer-managed key for every store. Services that write with it on their own behalf get a
 * statement each, scoped by source account or encryption context; IAM principals of the account get
 * access only through IAM policies (the root statement delegates to IAM).
 */
function pipelineKey(scope: Construct, config: TapConfig, names: ResourceNames, account: Account): KmsKey {
  // A key policy is a resource policy: its Resource "*" means "this key". It is written as JSON,
  // not as an aws_iam_policy_document, so scanners do not judge it by identity-policy rules.
  const keyPolicy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EnableIamPoliciesOfThisAccount',
        Effect: 'Allow',
        Principal: { AWS: arn(account.partition, 'iam', '', account.accountId, 'root') },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'AllowCloudWatchLogsForTheFunctionLogGroup',
        Effect: 'Allow',
        Principal: { Service: `logs.${account.region}.amazonaws.com` },
        // No kms:DescribeKey: it carries no encryption context, so under this condition it could never apply.
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: {
          ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': account.arnOf('logs', `log-group:${names.logGroupName}`) },
        },
      },
      {
        Sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': account.accountId } },
      },
      // EventBridge writes undeliverable events to the SSE-KMS failure queue: SQS then uses the key on its
      // behalf (SQS Developer Guide, "Configure KMS permissions for AWS services"), for this rule only.
      ...(config.eventDelivery === 'eventbridge'
        ? [
            {
              Sid: 'AllowEventBridgeDeadLettersOfTheObjectEventsRule',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
              Resource: '*',
              Condition: { ArnEquals: { 'aws:SourceArn': eventRuleArn(names, account) } },
            },
          ]
        : []),
    ],
  });
  const key = new KmsKey(scope, 'pipeline_key', {
    description: `${names.prefix} file-metadata pipeline: S3, DynamoDB, Lambda environment, logs, SQS, SNS`,
    enableKeyRotation: true,
    deletionWindowInDays: 30,
    policy: keyPolicy,
  });
  new KmsAlias(scope, 'pipeline_key_alias', { name: names.keyAlias, targetKeyId: key.keyId });
  return key;
}

/**
 * A bucket with the stack's secure defaults: versioned, SSE-KMS with the pipeline key, private, owner-enforced
 * and TLS-only (1.2 or later). Its resources are named after `id` (uploads_encryption, ...).
 */
function hardenedBucket(scope: Construct, id: string, name: string, key: KmsKey) {
  const bucket = new S3Bucket(scope, id, {
    bucket: name,
    // Versioned objects are history; deleting the bucket must be a deliberate two-step act.
    forceDestroy: false,
  });
  new S3BucketVersioningA(scope, `${id}_versioning`, {
    bucket: bucket.id,
    versioningConfiguration: { status: 'Enabled' },
  });
  new S3BucketServerSideEncryptionConfigurationA(scope, `${id}_encryption`, {
    bucket: bucket.id,
    rule: [
      {
        applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.arn },
        // The bucket key cuts KMS requests (and their cost) by ~99% for busy buckets.
        bucketKeyEnabled: true,
      },
    ],
  });
  const publicAccessBlock = new S3BucketPublicAccessBlock(scope, `${id}_public_access_block`, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new S3BucketOwnershipControls(scope, `${id}_ownership`, {
    bucket: bucket.id,
    rule: { objectOwnership: 'BucketOwnerEnforced' },
  });
  const objects = [bucket.arn, `${bucket.arn}/*`];
  const policy = new S3BucketPolicy(scope, `${id}_policy`, {
    bucket: bucket.id,
    policy: policyDocument(scope, `${id}_policy_document`, [
      denyInsecureTransport('s3:*', ...objects),
      denyToAnyone('DenyTlsOlderThan12', 's3:*', objects, {
        test: 'NumericLessThan',
        variable: 's3:TlsVersion',
        values: ['1.2'],
      }),
    ]).json,
    // A policy written before the public access block is in place can be rejected as public.
    dependsOn: [publicAccessBlock],
  });
  return { bucket, policy };
}

/** The hardened uploads bucket, with CORS from config and a lifecycle that keeps history bounded. */
function uploadsBucket(scope: Construct, config: TapConfig, names: ResourceNames, account: Account, key: KmsKey) {
  const { bucket, policy } = hardenedBucket(scope, 'uploads', names.bucketName(account.accountId, account.region), key);
  new S3BucketCorsConfiguration(scope, 'uploads_cors', {
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
  new S3BucketLifecycleConfiguration(scope, 'uploads_lifecycle', {
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
    new S3BucketLoggingA(scope, 'uploads_access_logging', {
      bucket: bucket.id,
      targetBucket: config.accessLogBucket,
      targetPrefix: config.accessLogPrefix || `s3-access/${names.prefix}-uploads/`,
    });
  }
  return { bucket, policy };
}

/** A bucket the stack did not create: read at plan time (it must exist, in the stack's region), never changed. */
function existingBucket(scope: Construct, config: TapConfig): DataAwsS3Bucket {
  return new DataAwsS3Bucket(scope, 'uploads', {
    bucket: config.existingBucketName,
    lifecycle: {
      postcondition: [
        {
          condition: `\${self.region == "${config.region}"}`,
          errorMessage: `existingBucketName: the bucket "${config.existingBucketName}" is not in ${config.region}, the stack's region; S3 sends its events to EventBridge in its own region`,
        },
      ],
    },
  });
}

/**
 * The policy uploaders attach (users, roles, or the backend that signs presigned URLs): write objects
 * and abort their multipart uploads, and use the pipeline key only through S3 in this region, which
 * is all SSE-KMS needs (GenerateDataKey to write, Decrypt to complete a multipart upload).
 */
function uploadersPolicy(scope: Construct, names: ResourceNames, account: Account, uploads: Uploads) {
  return new IamPolicy(scope, 'uploaders', {
    name: names.uploadersPolicyName,
    description: `Lets a principal upload files to ${names.prefix}'s uploads bucket`,
    policy: policyDocument(scope, 'uploaders_policy_document', [
      {
        sid: 'WriteUploads',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [`${uploads.bucket.arn}/*`],
      },
      // An existing bucket encrypted with S3's own keys (SSE-S3) needs no KMS grant at all.
      ...(uploads.objectKeyArns.length > 0
        ? [
            {
              sid: uploads.owned
                ? 'EncryptUploadsWithThePipelineKeyThroughS3'
                : 'EncryptUploadsWithTheBucketKeysThroughS3',
              actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
              resources: uploads.objectKeyArns,
              condition: [
                { test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${account.region}.amazonaws.com`] },
              ],
            },
          ]
        : []),
    ]).json,
  });
}

/** One item per object version, provisioned capacity from config, encrypted, recoverable. */
function metadataTable(scope: Construct, config: TapConfig, names: ResourceNames, key: KmsKey): DynamodbTable {
  return new DynamodbTable(scope, 'metadata', {
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
    // Write autoscaling moves write_capacity: a plan must not move it back.
    ...(config.tableMaxWriteCapacity > config.tableWriteCapacity && {
      lifecycle: { ignoreChanges: ['write_capacity'] },
    }),
  });
}

/**
 * Application Auto Scaling of the table's writes between tableWriteCapacity and tableMaxWriteCapacity, through
 * its service-linked role (AWSServiceRoleForApplicationAutoScaling_DynamoDBTable, which AWS creates).
 */
function writeAutoscaling(scope: Construct, config: TapConfig, names: ResourceNames, table: DynamodbTable) {
  const target = new AppautoscalingTarget(scope, 'metadata_write_target', {
    serviceNamespace: 'dynamodb',
    resourceId: `table/${table.name}`,
    scalableDimension: 'dynamodb:table:WriteCapacityUnits',
    minCapacity: config.tableWriteCapacity,
    maxCapacity: config.tableMaxWriteCapacity,
  });
  new AppautoscalingPolicy(scope, 'metadata_write_policy', {
    name: `${names.tableName}-write-utilization`,
    policyType: 'TargetTrackingScaling',
    serviceNamespace: target.serviceNamespace,
    resourceId: target.resourceId,
    scalableDimension: target.scalableDimension,
    targetTrackingScalingPolicyConfiguration: {
      predefinedMetricSpecification: { predefinedMetricType: 'DynamoDBWriteCapacityUtilization' },
      // AWS's default for DynamoDB: scales out before the consumed-capacity alarm's 80%, and leaves the
      // headroom a burst needs while capacity rises (a scale-out takes minutes).
      targetValue: 70,
    },
  });
}

/** Where failed events wait (14 days), and where alarms go; both encrypted and TLS-only. */
function failureQueueAndAlarmTopic(
  scope: Construct,
  config: TapConfig,
  names: ResourceNames,
  account: Account,
  key: KmsKey,
) {
  const queue = new SqsQueue(scope, 'dead_letter_queue', {
    name: names.queueName,
    kmsMasterKeyId: key.arn,
    kmsDataKeyReusePeriodSeconds: 300,
    messageRetentionSeconds: 14 * 24 * 3600,
  });
  new SqsQueuePolicy(scope, 'dead_letter_queue_policy', {
    queueUrl: queue.url,
    policy: policyDocument(scope, 'dead_letter_queue_policy_document', [
      ...(config.eventDelivery === 'eventbridge'
        ? [
            {
              sid: 'AllowEventBridgeDeadLettersOfTheObjectEventsRule',
              principals: [{ type: 'Service', identifiers: ['events.amazonaws.com'] }],
              actions: ['sqs:SendMessage'],
              resources: [queue.arn],
              condition: [{ test: 'ArnEquals', variable: 'aws:SourceArn', values: [eventRuleArn(names, account)] }],
            },
          ]
        : []),
      denyInsecureTransport('sqs:*', queue.arn),
    ]).json,
  });
  const topic = new SnsTopic(scope, 'alarms', {
    name: names.topicName,
    kmsMasterKeyId: key.arn,
  });
  new SnsTopicPolicy(scope, 'alarms_policy', {
    arn: topic.arn,
    policy: policyDocument(scope, 'alarms_policy_document', [
      {
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com'] }],
        actions: ['sns:Publish'],
        resources: [topic.arn],
        condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [account.accountId] }],
      },
      denyInsecureTransport('sns:*', topic.arn),
    ]).json,
  });
  if (config.alarmEmail) {
    new SnsTopicSubscription(scope, 'alarms_email', {
      topicArn: topic.arn,
      protocol: 'email',
      endpoint: config.alarmEmail,
    });
  }
  return { queue, topic };
}

/** The metadata extractor: its log group, its least-privilege role, its code and its async retries. */
function metadataFunction(
  scope: Construct,
  config: TapConfig,
  names: ResourceNames,
  account: Account,
  uses: { key: KmsKey; uploads: Uploads; table: DynamodbTable; queue: SqsQueue },
) {
  const { key, uploads, table, queue } = uses;
  const { bucket } = uploads;
  const logGroup = new CloudwatchLogGroup(scope, 'function_logs', {
    name: names.logGroupName,
    retentionInDays: config.logRetentionDays,
    kmsKeyId: key.arn,
  });

  const role = new IamRole(scope, 'function_role', {
    name: names.roleName,
    description: `Execution role of ${names.functionName}`,
    assumeRolePolicy: assumedBy(scope, 'function', 'LambdaAssumesThisRole', 'lambda.amazonaws.com', account),
  });
  const rolePolicy = new IamRolePolicy(scope, 'function_role_policy', {
    name: 'least-privilege',
    role: role.id,
    policy: policyDocument(scope, 'function_permissions', [
      { sid: 'ReadUploadedObjects', actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [`${bucket.arn}/*`] },
      ...(config.recordObjectTags
        ? [
            {
              sid: 'ReadObjectTags',
              actions: ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'],
              resources: [`${bucket.arn}/*`],
            },
          ]
        : []),
      // Without ListBucket, S3 answers 403 instead of 404 for a missing object, and the handler
      // could not tell "deleted before processing" from "access denied".
      { sid: 'TellMissingObjectsFromDenied', actions: ['s3:ListBucket'], resources: [bucket.arn] },
      // GetItem only tells a duplicate from a stale event when a store does not return the item with a failed condition.
      {
        sid: 'WriteMetadataItems',
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'],
        resources: [table.arn],
      },
      { sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroup.arn}:*`] },
      // Only through the services that use the key on the function's behalf: S3 (reading SSE-KMS objects of
      // the bucket the stack creates), DynamoDB (the table's key) and SQS (the on-failure destination); never a
      // direct KMS call.
      {
        sid: 'UsePipelineKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.arn],
        condition: [
          {
            test: 'StringEquals',
            variable: 'kms:ViaService',
            values: [...(uploads.owned ? ['s3'] : []), 'dynamodb', 'sqs'].map(
              (service) => `${service}.${account.region}.amazonaws.com`,
            ),
          },
        ],
      },
      // An existing bucket's objects: decrypted with the keys they were written with, through S3 only.
      ...(!uploads.owned && uploads.objectKeyArns.length > 0
        ? [
            {
              sid: 'DecryptUploadedObjectsThroughS3',
              actions: ['kms:Decrypt'],
              resources: uploads.objectKeyArns,
              condition: [
                { test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${account.region}.amazonaws.com`] },
              ],
            },
          ]
        : []),
      { sid: 'SendFailedEventsToDeadLetterQueue', actions: ['sqs:SendMessage'], resources: [queue.arn] },
      // X-Ray's write actions support no resource-level scoping.
      { sid: 'WriteTraces', actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] },
    ]).json,
  });

  const bundle = new DataArchiveFile(scope, 'handler_bundle', {
    type: 'zip',
    sourceDir: `\${path.module}/${fromStackDir(scope, HANDLER_BUNDLE_DIR)}`,
    outputPath: `\${path.module}/handler.zip`,
    // A fixed mode keeps the archive's hash a function of the code alone.
    outputFileMode: '0644',
  });

  const fn = new LambdaFunction(scope, 'metadata_extractor', {
    functionName: names.functionName,
    description: 'Extracts the metadata of each uploaded object version and stores it in DynamoDB',
    role: role.arn,
    runtime: FUNCTION_RUNTIME.runtime,
    architectures: [FUNCTION_RUNTIME.architecture],
    handler: 'index.handler',
    filename: bundle.outputPath,
    sourceCodeHash: bundle.outputBase64Sha256,
    memorySize: config.lambdaMemoryMb,
    timeout: config.lambdaTimeoutSeconds,
    // 0 means unreserved: the attribute is left out and the function shares the account's pool.
    reservedConcurrentExecutions: config.lambdaReservedConcurrency || undefined,
    kmsKeyArn: key.arn,
    environment: { variables: functionEnvironment(config, { ...names, tableName: table.name }, bucket.bucket) },
    tracingConfig: { mode: 'Active' },
    loggingConfig: {
      logFormat: 'JSON',
      logGroup: logGroup.name,
      applicationLogLevel: config.logLevel,
      systemLogLevel: 'WARN',
    },
    dependsOn: [rolePolicy, logGroup],
  });

  new LambdaFunctionEventInvokeConfig(scope, 'metadata_extractor_async', {
    functionName: fn.functionName,
    maximumRetryAttempts: config.lambdaMaxRetryAttempts,
    maximumEventAgeInSeconds: config.lambdaMaxEventAgeSeconds,
    destinationConfig: { onFailure: { destination: queue.arn } },
  });
  return { fn, logGroup };
}

/**
 * How the bucket's events reach the function: a bucket notification (eventDelivery=s3), or S3's events on
 * EventBridge's default bus and a rule that hands them to the function (eventDelivery=eventbridge).
 */
function wireBucketToFunction(
  scope: Construct,
  config: TapConfig,
  names: ResourceNames,
  account: Account,
  wired: { uploads: Uploads; fn: LambdaFunction; queue: SqsQueue },
) {
  const { uploads, fn, queue } = wired;
  // resolveConfig gives an existing bucket (no `owned`) eventbridge delivery always.
  if (config.eventDelivery === 'eventbridge' || !uploads.owned) {
    // An existing bucket's owner turns its EventBridge switch on (tap eventbridge enable): a notification
    // resource would replace the bucket's whole notification configuration.
    if (uploads.owned) {
      new S3BucketNotification(scope, 'uploads_notification', {
        bucket: uploads.owned.bucket.id,
        eventbridge: true,
        dependsOn: [uploads.owned.policy],
      });
    }
    const rule = new CloudwatchEventRule(scope, 'object_events', {
      name: names.ruleName,
      description: `Hands the object events of ${config.existingBucketName || `${names.prefix}'s uploads bucket`} to ${names.functionName}`,
      eventPattern: JSON.stringify(eventBridgePattern(config, uploads.bucket.bucket)),
    });
    new CloudwatchEventTarget(scope, 'object_events_target', {
      rule: rule.name,
      targetId: 'metadata-extractor',
      arn: fn.arn,
      // EventBridge retries only deliveries that fail (the function's own errors are Lambda's async retries);
      // 185 attempts is its maximum, within the age Lambda keeps an event too.
      retryPolicy: { maximumEventAgeInSeconds: config.lambdaMaxEventAgeSeconds, maximumRetryAttempts: 185 },
      // The raw event, with the delivery error in its message attributes: tap redrive hands it back.
      deadLetterConfig: { arn: queue.arn },
    });
    new LambdaPermission(scope, 'allow_eventbridge_invoke', {
      statementId: 'AllowInvokeFromObjectEventsRule',
      action: 'lambda:InvokeFunction',
      functionName: fn.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: rule.arn,
    });
    return;
  }
  const { bucket, policy } = uploads.owned;
  const permission = new LambdaPermission(scope, 'allow_s3_invoke', {
    statementId: 'AllowInvokeFromUploadsBucket',
    action: 'lambda:InvokeFunction',
    functionName: fn.functionName,
    principal: 's3.amazonaws.com',
    sourceArn: bucket.arn,
    sourceAccount: account.accountId,
  });
  new S3BucketNotification(scope, 'uploads_notification', {
    bucket: bucket.id,
    lambdaFunction: [
      {
        id: 'extract-metadata',
        lambdaFunctionArn: fn.arn,
        events: bucketNotificationEvents(config),
        filterPrefix: config.notificationPrefix || undefined,
        filterSuffix: config.notificationSuffix || undefined,
      },
    ],
    // S3 checks that it may invoke the function when the notification is saved.
    dependsOn: [permission, policy],
  });
}

/**
 * What S3 Batch Operations needs to run a job over the uploads through the function (enableBatchOperations): a
 * small operations bucket for manifests (given, generated, or S3 Inventory's) and completion reports, which has no
 * notification and is not the bucket the rule matches, so nothing written there reaches the pipeline; and the
 * role jobs run as.
 */
function batchOperations(
  scope: Construct,
  names: ResourceNames,
  account: Account,
  uses: { key: KmsKey; uploads: Uploads; fn: LambdaFunction },
) {
  const { key, uploads, fn } = uses;
  const { bucket } = hardenedBucket(
    scope,
    'operations',
    names.operationsBucketName(account.accountId, account.region),
    key,
  );
  new S3BucketLifecycleConfiguration(scope, 'operations_lifecycle', {
    bucket: bucket.id,
    rule: [
      {
        id: 'expire-manifests-and-reports',
        status: 'Enabled',
        filter: [{}],
        expiration: [{ days: OPERATIONS_RETENTION_DAYS }],
        noncurrentVersionExpiration: [{ noncurrentDays: 1 }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
      },
    ],
  });
  const [manifests, reports] = [`${bucket.arn}/manifests/*`, `${bucket.arn}/reports/*`];
  const role = new IamRole(scope, 'batch_operations_role', {
    name: names.batchOperationsRoleName,
    description: `Runs the S3 Batch Operations jobs that invoke ${names.functionName}`,
    assumeRolePolicy: assumedBy(
      scope,
      'batch_operations',
      'BatchOperationsAssumesThisRole',
      'batchoperations.s3.amazonaws.com',
      account,
    ),
  });
  new IamRolePolicy(scope, 'batch_operations_role_policy', {
    name: 'least-privilege',
    role: role.id,
    policy: policyDocument(scope, 'batch_operations_permissions', [
      // The unqualified ARN, which a job names (a version or alias ARN would need its own grant): this function only.
      { sid: 'InvokeTheFunction', actions: ['lambda:InvokeFunction'], resources: [fn.arn] },
      { sid: 'ReadManifests', actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [manifests] },
      // Completion reports, and the manifest S3's manifest generator writes when it lists the uploads.
      { sid: 'WriteReportsAndGeneratedManifests', actions: ['s3:PutObject'], resources: [reports, manifests] },
      { sid: 'FindTheOperationsBucket', actions: ['s3:GetBucketLocation'], resources: [bucket.arn] },
      { sid: 'ListUploadsForGeneratedManifests', actions: ['s3:ListBucket'], resources: [uploads.bucket.arn] },
      {
        sid: 'UsePipelineKeyThroughS3',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.arn],
        condition: [
          { test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${account.region}.amazonaws.com`] },
        ],
      },
    ]).json,
  });
  return { role, bucket };
}

/** One alarm per pipeline signal, each notifying the topic, and a dashboard with a widget per signal. */
function alarmsAndDashboard(
  scope: Construct,
  config: TapConfig,
  names: ResourceNames,
  account: Account,
  watched: { fn: LambdaFunction; table: DynamodbTable; queue: SqsQueue; topic: SnsTopic },
) {
  const { fn, table, queue, topic } = watched;
  const signals = pipelineSignals(config, {
    functionName: fn.functionName,
    tableName: table.name,
    queueName: queue.name,
  });
  for (const signal of signals) {
    new CloudwatchMetricAlarm(scope, `alarm_${signal.id}`, {
      alarmName: signal.alarmName,
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
      alarmActions: [topic.arn],
      okActions: [topic.arn],
    });
  }
  return new CloudwatchDashboard(scope, 'dashboard', {
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
          region: account.region,
          view: 'timeSeries',
          stat: signal.extendedStatistic ?? signal.statistic,
          period: signal.periodSeconds,
          metrics: [[signal.namespace, signal.metricName, ...Object.entries(signal.dimensions).flat()]],
          annotations: { horizontal: [{ label: 'alarm', value: signal.threshold }] },
        },
      })),
    }),
  });
}

/** The console address of a dashboard; China and GovCloud regions have consoles of their own. */
const dashboardUrl = (region: string, dashboardName: string) => {
  const host = region.startsWith('cn-')
    ? 'console.amazonaws.cn'
    : region.startsWith('us-gov-')
      ? 'console.amazonaws-us-gov.com'
      : `${region}.console.aws.amazon.com`;
  return `https://${host}/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboardName}`;
};

/** Outputs under names that say what they are (terraform-aws-modules style). */
function outputs(scope: Construct, values: Record<string, string>) {
  for (const [name, value] of Object.entries(values)) new TerraformOutput(scope, name, { value });
}

// ---------------------------------------------------------------------------------------------
// Small helpers.
// ---------------------------------------------------------------------------------------------

/**
 * A project path as Terraform sees it from the folder it runs this stack in (cdktf.out/stacks/<id>):
 * relative, so a synthesized stack works on any machine.
 */
const fromStackDir = (scope: Construct, projectPath: string) => {
  const stack = TerraformStack.of(scope);
  const stackDir = path.join(App.of(stack).outdir, 'stacks', stack.node.id);
  return path.relative(stackDir, path.resolve(__dirname, projectPath));
};

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

// ---------------------------------------------------------------------------------------------
// Entry point: synthesize only when run directly, so tests import this file with no side effect.
// ---------------------------------------------------------------------------------------------
if (require.main === module) {
  const app = new App();
  try {
    const config = resolveConfig((app.node.tryGetContext('tap') as Record<string, unknown>) ?? {}, process.env);
    const staleState = legacyStateProblem(__dirname, config);
    if (staleState) throw new Error(staleState);
    const entry = path.resolve(__dirname, HANDLER_BUNDLE_DIR, 'index.js');
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
