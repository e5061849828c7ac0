import '../support/stack'; // CDKTF jest matcher typings
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { ref, statementsOf, synthTapStack, SUBSCRIBED_EVENTS } from '../support/stack';

// One synth with every optional feature switched on, the Act of every test.
const { json, parsed } = synthTapStack({
  environment: 'prod',
  region: 'eu-west-1',
  tags: { CostCenter: 'cc-42' },
  tableReadCapacity: 20,
  tableWriteCapacity: 300,
  enableDeletionProtection: false,
  logRetentionDays: 90,
  lambdaMemoryMb: 1024,
  logLevel: 'DEBUG',
  alarmEmail: 'oncall@example.com',
  accessLogBucket: 'central-access-logs',
  notificationPrefix: 'incoming/',
  notificationSuffix: '.pdf',
  stateBucket: 'tf-state-bucket',
  lambdaReservedConcurrency: 0,
  recordObjectTags: true,
});

describe('TapStack with every option set', () => {
  it('uses the configured capacity and deletion protection', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(DynamodbTable, {
      name: 'tap-prod-file-metadata',
      read_capacity: 20,
      write_capacity: 300,
      deletion_protection_enabled: false,
    });
  });

  it('subscribes the alarm email', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(SnsTopicSubscription, {
      protocol: 'email',
      endpoint: 'oncall@example.com',
      topic_arn: ref('aws_sns_topic', 'alarms', 'arn'),
    });
  });

  it('sends access logs to the configured bucket', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3BucketLoggingA, {
      target_bucket: 'central-access-logs',
      target_prefix: 's3-access/tap-prod-uploads/',
    });
  });

  it('filters notifications by prefix and suffix, and follows tagging events when tags are recorded', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3BucketNotification, {
      lambda_function: [
        {
          id: 'extract-metadata',
          lambda_function_arn: ref('aws_lambda_function', 'metadata_extractor', 'arn'),
          events: [...SUBSCRIBED_EVENTS, 's3:ObjectTagging:*'],
          filter_prefix: 'incoming/',
          filter_suffix: '.pdf',
        },
      ],
    });
  });

  it('applies retention, memory and log level', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, { retention_in_days: 90 });
    expect(json).toHaveResourceWithProperties(LambdaFunction, {
      memory_size: 1024,
      logging_config: expect.objectContaining({ application_log_level: 'DEBUG' }),
    });
  });

  it('merges extra tags under the required ones', () => {
    // Assess
    expect(json).toHaveProviderWithProperties(AwsProvider, {
      region: 'eu-west-1',
      default_tags: [
        {
          tags: {
            CostCenter: 'cc-42',
            Project: 'tap',
            Environment: 'prod',
            Owner: 'platform-team',
            ManagedBy: 'cdktf',
          },
        },
      ],
    });
  });

  it('stores state in S3, encrypted, with S3-native locking and a key per environment and region', () => {
    // Assess
    expect(parsed.terraform.backend).toEqual({
      s3: {
        bucket: 'tf-state-bucket',
        key: 'tap/prod/eu-west-1/terraform.tfstate',
        region: 'eu-west-1',
        encrypt: true,
        use_lockfile: true,
      },
    });
  });

  it('reserves no concurrency when lambdaReservedConcurrency is 0', () => {
    // Assess
    const fn = parsed.resource.aws_lambda_function.metadata_extractor;
    expect(fn).not.toHaveProperty('reserved_concurrent_executions');
  });

  it('names the region in the account-global names and leads to the console of that region', () => {
    // Assess
    expect(parsed.resource.aws_iam_role.function_role.name).toBe('tap-prod-metadata-extractor-eu-west-1');
    expect(parsed.resource.aws_cloudwatch_dashboard.dashboard.dashboard_name).toBe(
      'tap-prod-file-metadata-pipeline-eu-west-1',
    );
    expect(parsed.output.cloudwatch_dashboard_url.value).toMatch(
      /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#dashboards\/dashboard\//,
    );
  });

  it('lets the function read object tags, and tells it to, only when recordObjectTags is on', () => {
    // Assess
    const statements = statementsOf({ json, parsed }, 'function_permissions');
    expect(statements.ReadObjectTags).toEqual({
      sid: 'ReadObjectTags',
      actions: ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'],
      resources: [`${ref('aws_s3_bucket', 'uploads', 'arn')}/*`],
    });
    expect(parsed.resource.aws_lambda_function.metadata_extractor).toMatchObject({
      environment: { variables: { RECORD_OBJECT_TAGS: 'true' } },
    });
  });
});
