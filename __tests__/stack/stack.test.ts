import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketCorsConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-cors-configuration';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification';
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { DataArchiveFile } from '@cdktf/provider-archive/lib/data-archive-file';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { ref, statementsOf, synthTapStack, SUBSCRIBED_EVENTS } from '../support/stack';

// One synth for the whole file, the Act of every test: the default configuration, as `npx cdktf synth`
// uses it.
const stack = synthTapStack();
const { json, parsed } = stack;
const resources = parsed.resource;
const key = ref('aws_kms_key', 'pipeline_key', 'arn');
const bucketArn = ref('aws_s3_bucket', 'uploads', 'arn');
const accountId = ref('data.aws_caller_identity', 'current', 'account_id');

describe('provider and tags', () => {
  it('sets the region from config and default tags on every resource', () => {
    // Assess
    expect(json).toHaveProviderWithProperties(AwsProvider, {
      region: 'us-east-1',
      default_tags: [{ tags: { Project: 'tap', Environment: 'dev', Owner: 'platform-team', ManagedBy: 'cdktf' } }],
    });
  });

  it('pins hashicorp/aws to 5.100.0, the provider the bindings were generated for', () => {
    // Assess
    expect((parsed.terraform.required_providers as Record<string, { version: string }>).aws.version).toBe('5.100.0');
  });

  it('keeps local state per environment and region in the project folder', () => {
    // Assess
    expect((parsed.terraform.backend as { local: { path: string } }).local.path).toMatch(
      /\/terraform\.tap-dev-us-east-1\.tfstate$/,
    );
  });

  it('puts the environment name into every named resource', () => {
    // Assess
    const names = [
      resources.aws_dynamodb_table.metadata.name,
      resources.aws_lambda_function.metadata_extractor.function_name,
      resources.aws_sqs_queue.dead_letter_queue.name,
      resources.aws_sns_topic.alarms.name,
      resources.aws_iam_role.function_role.name,
      resources.aws_kms_alias.pipeline_key_alias.name,
      resources.aws_cloudwatch_log_group.function_logs.name,
      resources.aws_cloudwatch_dashboard.dashboard.dashboard_name,
    ];
    for (const name of names) expect(name).toContain('tap-dev-');
  });

  it('hard-codes no account id, and names the region only where a name is global per account', () => {
    // Assess
    const definitions = JSON.stringify(resources);
    expect(definitions).not.toMatch(/\b\d{12}\b/);
    const regional = JSON.stringify(resources, (_key, value) =>
      typeof value === 'string' && /-us-east-1$/.test(value) ? 'GLOBAL-NAME' : value,
    );
    expect(regional).not.toMatch(/us-east-1/);
    expect([
      resources.aws_iam_role.function_role.name,
      resources.aws_iam_policy.uploaders.name,
      resources.aws_cloudwatch_dashboard.dashboard.dashboard_name,
    ]).toEqual([
      'tap-dev-metadata-extractor-us-east-1',
      'tap-dev-uploaders-us-east-1',
      'tap-dev-file-metadata-pipeline-us-east-1',
    ]);
  });
});

describe('KMS key', () => {
  it('is a customer-managed key with rotation and an alias', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(KmsKey, { enable_key_rotation: true, deletion_window_in_days: 30 });
    expect(json).toHaveResourceWithProperties(KmsAlias, {
      name: 'alias/tap-dev-pipeline',
      target_key_id: ref('aws_kms_key', 'pipeline_key', 'key_id'),
    });
  });

  it('lets exactly the account (through IAM), CloudWatch Logs for the function log group and CloudWatch alarms use it', () => {
    // Assess
    const policy = JSON.parse(resources.aws_kms_key.pipeline_key.policy as string);
    const statements = Object.fromEntries(policy.Statement.map((s: { Sid: string }) => [s.Sid, s]));
    expect(Object.keys(statements).sort()).toEqual([
      'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
      'AllowCloudWatchLogsForTheFunctionLogGroup',
      'EnableIamPoliciesOfThisAccount',
    ]);
    expect(statements.EnableIamPoliciesOfThisAccount.Principal).toEqual({
      AWS: `arn:${ref('data.aws_partition', 'partition', 'partition')}:iam::${accountId}:root`,
    });
    expect(statements.AllowCloudWatchLogsForTheFunctionLogGroup.Principal).toEqual({
      Service: `logs.${ref('data.aws_region', 'region', 'name')}.amazonaws.com`,
    });
    expect(
      statements.AllowCloudWatchLogsForTheFunctionLogGroup.Condition.ArnEquals['kms:EncryptionContext:aws:logs:arn'],
    ).toMatch(/:log-group:\/aws\/lambda\/tap-dev-metadata-extractor$/);
    expect(statements.AllowCloudWatchAlarmsToPublishToTheEncryptedTopic.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': accountId },
    });
    for (const statement of policy.Statement) expect(statement.Principal).not.toEqual('*');
    expect(statements.AllowCloudWatchLogsForTheFunctionLogGroup.Action).toEqual([
      'kms:Encrypt',
      'kms:Decrypt',
      'kms:ReEncrypt*',
      'kms:GenerateDataKey*',
    ]);
  });

  it('encrypts the bucket, table, log group, queue, topic and function environment with it', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
      rule: [
        {
          apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: key },
          bucket_key_enabled: true,
        },
      ],
    });
    expect(json).toHaveResourceWithProperties(DynamodbTable, {
      server_side_encryption: { enabled: true, kms_key_arn: key },
    });
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, { kms_key_id: key });
    expect(json).toHaveResourceWithProperties(SqsQueue, { kms_master_key_id: key });
    expect(json).toHaveResourceWithProperties(SnsTopic, { kms_master_key_id: key });
    expect(json).toHaveResourceWithProperties(LambdaFunction, { kms_key_arn: key });
  });
});

describe('uploads bucket', () => {
  it('has a name unique per account and region, derived from project and environment', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3Bucket, {
      bucket: `tap-dev-uploads-${accountId}-${ref('data.aws_region', 'region', 'name')}`,
      force_destroy: false,
    });
  });

  it('is versioned', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3BucketVersioningA, { versioning_configuration: { status: 'Enabled' } });
  });

  it('blocks all public access and disables ACLs', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(json).toHaveResourceWithProperties(S3BucketOwnershipControls, {
      rule: { object_ownership: 'BucketOwnerEnforced' },
    });
  });

  it('denies requests without TLS, and TLS older than 1.2', () => {
    // Assess
    const statements = statementsOf(stack, 'uploads_policy_document');
    for (const sid of ['DenyInsecureTransport', 'DenyTlsOlderThan12']) {
      expect(statements[sid]).toMatchObject({
        effect: 'Deny',
        actions: ['s3:*'],
        resources: [bucketArn, `${bucketArn}/*`],
      });
    }
    expect(statements.DenyInsecureTransport.condition).toEqual([
      { test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] },
    ]);
    expect(statements.DenyTlsOlderThan12.condition).toEqual([
      { test: 'NumericLessThan', variable: 's3:TlsVersion', values: ['1.2'] },
    ]);
    expect(resources.aws_s3_bucket_policy.uploads_policy.depends_on).toEqual([
      'aws_s3_bucket_public_access_block.uploads_public_access_block',
    ]);
  });

  it('allows CORS from the configured origins only, never "*" by default', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3BucketCorsConfiguration, {
      cors_rule: [
        {
          id: 'browser-uploads',
          allowed_origins: ['http://localhost:3000'],
          allowed_methods: ['GET', 'PUT', 'POST', 'HEAD'],
          allowed_headers: ['authorization', 'content-type', 'content-md5', 'x-amz-*'],
          expose_headers: ['ETag', 'x-amz-version-id'],
          max_age_seconds: 3000,
        },
      ],
    });
  });

  it('aborts incomplete multipart uploads and expires noncurrent versions', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: [
        {
          id: 'abort-incomplete-multipart-uploads',
          status: 'Enabled',
          filter: [{}],
          abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
        },
        {
          id: 'expire-noncurrent-versions',
          status: 'Enabled',
          filter: [{}],
          noncurrent_version_expiration: [{ noncurrent_days: 90 }],
          expiration: [{ expired_object_delete_marker: true }],
        },
      ],
    });
  });

  it('has no access logging unless a log bucket is configured', () => {
    // Assess
    expect(json).not.toHaveResource(S3BucketLoggingA);
  });
});

describe('metadata table', () => {
  it('is provisioned at 100 RCU / 100 WCU with objectKey + versionId keys, PITR and deletion protection', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(DynamodbTable, {
      name: 'tap-dev-file-metadata',
      billing_mode: 'PROVISIONED',
      read_capacity: 100,
      write_capacity: 100,
      hash_key: 'objectKey',
      range_key: 'versionId',
      attribute: [
        { name: 'objectKey', type: 'S' },
        { name: 'versionId', type: 'S' },
      ],
      point_in_time_recovery: { enabled: true },
      deletion_protection_enabled: true,
    });
  });
});

describe('function', () => {
  const fn = resources.aws_lambda_function.metadata_extractor as Record<string, unknown>;

  it('runs nodejs22.x on arm64 from the archived bundle, with its hash', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(LambdaFunction, {
      function_name: 'tap-dev-metadata-extractor',
      runtime: 'nodejs22.x',
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: ref('data.archive_file', 'handler_bundle', 'output_path'),
      source_code_hash: ref('data.archive_file', 'handler_bundle', 'output_base64sha256'),
      memory_size: 512,
      timeout: 30,
      reserved_concurrent_executions: 10,
    });
    expect(json).toHaveDataSourceWithProperties(DataArchiveFile, { type: 'zip', output_file_mode: '0644' });
    const archive = parsed.data.archive_file.handler_bundle as { source_dir: string };
    expect(archive.source_dir).toMatch(/^\$\{path\.module\}\/.*dist\/handler$/);
  });

  it('gets its configuration from environment variables', () => {
    // Assess
    expect((fn.environment as { variables: Record<string, string> }).variables).toEqual({
      TABLE_NAME: ref('aws_dynamodb_table', 'metadata', 'name'),
      BUCKET_NAME: ref('aws_s3_bucket', 'uploads', 'bucket'),
      POWERTOOLS_SERVICE_NAME: 'tap-dev-metadata-extractor',
      POWERTOOLS_METRICS_NAMESPACE: 'tap',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      AWS_MAX_ATTEMPTS: '5',
      AWS_RETRY_MODE: 'standard',
      RECORD_OBJECT_TAGS: 'false',
    });
  });

  it('traces with X-Ray and logs JSON into its own log group with retention', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(LambdaFunction, {
      tracing_config: { mode: 'Active' },
      logging_config: {
        log_format: 'JSON',
        log_group: ref('aws_cloudwatch_log_group', 'function_logs', 'name'),
        application_log_level: 'INFO',
        system_log_level: 'WARN',
      },
    });
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, {
      name: '/aws/lambda/tap-dev-metadata-extractor',
      retention_in_days: 365,
    });
    expect(fn.depends_on).toEqual(
      expect.arrayContaining(['aws_cloudwatch_log_group.function_logs', 'aws_iam_role_policy.function_role_policy']),
    );
  });

  it('retries async events, then sends them to an encrypted dead-letter queue kept 14 days', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(LambdaFunctionEventInvokeConfig, {
      function_name: ref('aws_lambda_function', 'metadata_extractor', 'function_name'),
      maximum_retry_attempts: 2,
      maximum_event_age_in_seconds: 21600,
      destination_config: { on_failure: { destination: ref('aws_sqs_queue', 'dead_letter_queue', 'arn') } },
    });
    expect(json).toHaveResourceWithProperties(SqsQueue, { message_retention_seconds: 1209600 });
    expect(statementsOf(stack, 'dead_letter_queue_policy_document').DenyInsecureTransport).toMatchObject({
      effect: 'Deny',
      actions: ['sqs:*'],
    });
  });

  it('lets only CloudWatch of this account publish to the alarm topic, and only over TLS', () => {
    // Assess
    const statements = statementsOf(stack, 'alarms_policy_document');
    expect(statements.AllowCloudWatchAlarmsOfThisAccount).toEqual({
      sid: 'AllowCloudWatchAlarmsOfThisAccount',
      principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com'] }],
      actions: ['sns:Publish'],
      resources: [ref('aws_sns_topic', 'alarms', 'arn')],
      condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [accountId] }],
    });
    expect(statements.DenyInsecureTransport).toMatchObject({ effect: 'Deny', actions: ['sns:*'] });
  });
});

describe('IAM', () => {
  it('has one execution role, trusted by lambda.amazonaws.com of this account only', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(IamRole, {
      assume_role_policy: ref('data.aws_iam_policy_document', 'function_assume_role', 'json'),
    });
    expect(statementsOf(stack, 'function_assume_role').LambdaAssumesThisRole).toEqual({
      sid: 'LambdaAssumesThisRole',
      principals: [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }],
      actions: ['sts:AssumeRole'],
      condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [accountId] }],
    });
    expect(Object.keys(resources.aws_iam_role)).toHaveLength(1);
  });

  it('grants each action on the one ARN it needs, and uses no AWS-managed policy', () => {
    // Assess
    const statements = statementsOf(stack, 'function_permissions');
    const grants = Object.fromEntries(
      Object.entries(statements).map(([sid, s]) => [
        sid,
        { actions: s.actions, resources: s.resources, effect: s.effect },
      ]),
    );
    expect(grants).toEqual({
      ReadUploadedObjects: { actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [`${bucketArn}/*`] },
      TellMissingObjectsFromDenied: { actions: ['s3:ListBucket'], resources: [bucketArn] },
      WriteMetadataItems: {
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'],
        resources: [ref('aws_dynamodb_table', 'metadata', 'arn')],
      },
      WriteOwnLogs: {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${ref('aws_cloudwatch_log_group', 'function_logs', 'arn')}:*`],
      },
      UsePipelineKey: { actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [key] },
      SendFailedEventsToDeadLetterQueue: {
        actions: ['sqs:SendMessage'],
        resources: [ref('aws_sqs_queue', 'dead_letter_queue', 'arn')],
      },
      WriteTraces: { actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] },
    });
    expect(json).not.toHaveResource(IamRolePolicyAttachment);
    expect(statements.UsePipelineKey.condition).toEqual([
      {
        test: 'StringEquals',
        variable: 'kms:ViaService',
        values: ['s3', 'dynamodb', 'sqs'].map(
          (service) => `${service}.${ref('data.aws_region', 'region', 'name')}.amazonaws.com`,
        ),
      },
    ]);
    expect(resources.aws_iam_role_policy.function_role_policy.policy).toBe(
      ref('data.aws_iam_policy_document', 'function_permissions', 'json'),
    );
  });

  it('uses "*" as a resource only for X-Ray (the key policy is a resource policy, where "*" is the key)', () => {
    // Assess
    const onStar = Object.entries(parsed.data.aws_iam_policy_document).flatMap(([name, document]) =>
      (document as unknown as { statement: { sid: string; resources?: string[] }[] }).statement
        .filter((statement) => statement.resources?.includes('*'))
        .map((statement) => `${name}.${statement.sid}`),
    );
    expect(onStar).toEqual(['function_permissions.WriteTraces']);
  });

  it('gives uploaders a policy: write objects, and use the key only through S3 in this region', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(IamPolicy, {
      name: 'tap-dev-uploaders-us-east-1',
      policy: ref('data.aws_iam_policy_document', 'uploaders_policy_document', 'json'),
    });
    expect(statementsOf(stack, 'uploaders_policy_document')).toEqual({
      WriteUploads: {
        sid: 'WriteUploads',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [`${bucketArn}/*`],
      },
      EncryptUploadsWithThePipelineKeyThroughS3: {
        sid: 'EncryptUploadsWithThePipelineKeyThroughS3',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [key],
        condition: [
          {
            test: 'StringEquals',
            variable: 'kms:ViaService',
            values: [`s3.${ref('data.aws_region', 'region', 'name')}.amazonaws.com`],
          },
        ],
      },
    });
  });
});

describe('S3 -> Lambda wiring', () => {
  it('lets only this bucket of this account invoke the function', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(LambdaPermission, {
      action: 'lambda:InvokeFunction',
      principal: 's3.amazonaws.com',
      source_arn: bucketArn,
      source_account: accountId,
    });
  });

  it('notifies on every change S3 reports (requests, lifecycle, transitions, restores), after the permission and bucket policy exist', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3BucketNotification, {
      lambda_function: [
        {
          id: 'extract-metadata',
          lambda_function_arn: ref('aws_lambda_function', 'metadata_extractor', 'arn'),
          events: [...SUBSCRIBED_EVENTS],
        },
      ],
    });
    expect(resources.aws_s3_bucket_notification.uploads_notification.depends_on).toEqual([
      'aws_lambda_permission.allow_s3_invoke',
      'aws_s3_bucket_policy.uploads_policy',
    ]);
  });
  it('delivers through the bucket notification by default: no EventBridge rule, target or permission', () => {
    // Assess
    expect(json).not.toHaveResource(CloudwatchEventRule);
    expect(json).not.toHaveResource(CloudwatchEventTarget);
    expect(Object.keys(resources.aws_lambda_permission)).toEqual(['allow_s3_invoke']);
    expect(Object.keys(statementsOf(stack, 'dead_letter_queue_policy_document'))).toEqual(['DenyInsecureTransport']);
  });
});

describe('observability', () => {
  const alarms = Object.values(resources.aws_cloudwatch_metric_alarm) as Record<string, unknown>[];

  it('alarms on every failure signal, each notifying the topic and saying what to do', () => {
    // Assess
    expect(alarms.map((a) => a.metric_name).sort()).toEqual([
      'ApproximateNumberOfMessagesVisible',
      'ConsumedWriteCapacityUnits',
      'Duration',
      'Errors',
      'ReadThrottleEvents',
      'Throttles',
      'UnreadableObjects',
      'WriteThrottleEvents',
    ]);
    for (const alarm of alarms) {
      expect(alarm.alarm_actions).toEqual([ref('aws_sns_topic', 'alarms', 'arn')]);
      expect(alarm.ok_actions).toEqual([ref('aws_sns_topic', 'alarms', 'arn')]);
      expect(String(alarm.alarm_description).length).toBeGreaterThan(60);
    }
  });

  it("alarms on unreadable objects from the handler's own metric, in the project namespace", () => {
    // Assess
    expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      alarm_name: 'tap-dev-unreadable-objects',
      namespace: 'tap',
      metric_name: 'UnreadableObjects',
      dimensions: { service: ref('aws_lambda_function', 'metadata_extractor', 'function_name') },
      statistic: 'Sum',
      threshold: 0,
      comparison_operator: 'GreaterThanThreshold',
    });
  });

  it('sets thresholds from the stack settings: 80% of timeout and of write capacity', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      metric_name: 'Duration',
      extended_statistic: 'p99',
      threshold: 24000,
    });
    expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      metric_name: 'ConsumedWriteCapacityUnits',
      statistic: 'Sum',
      period: 300,
      threshold: 24000,
    });
  });

  it('has a dashboard with a widget per alarm signal', () => {
    // Assess
    expect(json).toHaveResource(CloudwatchDashboard);
    const body = JSON.parse(resources.aws_cloudwatch_dashboard.dashboard.dashboard_body as string);
    expect(body.widgets).toHaveLength(alarms.length);
  });

  it('has no email subscription unless an address is configured', () => {
    // Assess
    expect(json).not.toHaveResource(SnsTopicSubscription);
  });
});

describe('outputs', () => {
  it('exposes names and ARNs under descriptive names', () => {
    // Assess
    expect(Object.keys(parsed.output).sort()).toEqual([
      'alarm_topic_arn',
      'cloudwatch_dashboard_url',
      'cloudwatch_log_group_name',
      'dead_letter_queue_url',
      'dynamodb_table_name',
      'kms_key_arn',
      'lambda_function_name',
      's3_bucket_arn',
      's3_bucket_name',
      'uploaders_policy_arn',
    ]);
    expect(parsed.output.s3_bucket_name.value).toBe(ref('aws_s3_bucket', 'uploads', 'bucket'));
    expect(parsed.output.uploaders_policy_arn.value).toBe(ref('aws_iam_policy', 'uploaders', 'arn'));
    expect(parsed.output.cloudwatch_log_group_name.value).toBe(
      ref('aws_cloudwatch_log_group', 'function_logs', 'name'),
    );
  });

  it('leads to the dashboard in the console of the configured region', () => {
    // Assess
    expect(parsed.output.cloudwatch_dashboard_url.value).toBe(
      `https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/${ref('aws_cloudwatch_dashboard', 'dashboard', 'dashboard_name')}`,
    );
  });
});
