import '../support/stack'; // CDKTF jest matcher typings
import { AppautoscalingTarget } from '@cdktf/provider-aws/lib/appautoscaling-target';
import { AppautoscalingPolicy } from '@cdktf/provider-aws/lib/appautoscaling-policy';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification';
import { ref, statementsOf, synthTapStack } from '../support/stack';

// One synth with write autoscaling to 1,000 WCU and Batch Operations on, the Act of every test.
const stack = synthTapStack({ tableMaxWriteCapacity: 1000, enableBatchOperations: true });
const { json, parsed } = stack;
const operations = ref('aws_s3_bucket', 'operations', 'arn');
const key = ref('aws_kms_key', 'pipeline_key', 'arn');

describe('write autoscaling (tableMaxWriteCapacity above tableWriteCapacity)', () => {
  it('scales the table’s writes from its write capacity to the maximum', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(AppautoscalingTarget, {
      service_namespace: 'dynamodb',
      resource_id: `table/${ref('aws_dynamodb_table', 'metadata', 'name')}`,
      scalable_dimension: 'dynamodb:table:WriteCapacityUnits',
      min_capacity: 100,
      max_capacity: 1000,
    });
  });

  it('tracks 70% write utilization', () => {
    // Assess
    const target = (attribute: string) => ref('aws_appautoscaling_target', 'metadata_write_target', attribute);
    expect(json).toHaveResourceWithProperties(AppautoscalingPolicy, {
      name: 'tap-dev-file-metadata-write-utilization',
      policy_type: 'TargetTrackingScaling',
      service_namespace: target('service_namespace'),
      resource_id: target('resource_id'),
      scalable_dimension: target('scalable_dimension'),
      target_tracking_scaling_policy_configuration: {
        predefined_metric_specification: { predefined_metric_type: 'DynamoDBWriteCapacityUtilization' },
        target_value: 70,
      },
    });
  });

  it('alarms at 80% of the maximum, not of the minimum a scale-out leaves behind', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      alarm_name: 'tap-dev-dynamodb-write-capacity-high',
      threshold: 1000 * 300 * 0.8,
    });
  });

  it('leaves write_capacity to the autoscaling: Terraform ignores its drift', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(DynamodbTable, {
      name: 'tap-dev-file-metadata',
      write_capacity: 100,
      lifecycle: { ignore_changes: ['write_capacity'] },
    });
  });
});

describe('Batch Operations (enableBatchOperations)', () => {
  it('trusts S3 Batch Operations for jobs of this account only', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(IamRole, {
      name: 'tap-dev-batch-operations-us-east-1',
      assume_role_policy: ref('data.aws_iam_policy_document', 'batch_operations_assume_role', 'json'),
    });
    expect(statementsOf(stack, 'batch_operations_assume_role').BatchOperationsAssumesThisRole).toEqual({
      sid: 'BatchOperationsAssumesThisRole',
      principals: [{ type: 'Service', identifiers: ['batchoperations.s3.amazonaws.com'] }],
      actions: ['sts:AssumeRole'],
      condition: [
        {
          test: 'StringEquals',
          variable: 'aws:SourceAccount',
          values: [ref('data.aws_caller_identity', 'current', 'account_id')],
        },
      ],
    });
  });

  it('lets the role invoke this function, read manifests, write reports and list the uploads, nothing else', () => {
    // Assess
    const statements = statementsOf(stack, 'batch_operations_permissions');
    expect(Object.values(statements).map(({ sid, actions, resources }) => [sid, actions, resources])).toEqual([
      ['InvokeTheFunction', ['lambda:InvokeFunction'], [ref('aws_lambda_function', 'metadata_extractor', 'arn')]],
      ['ReadManifests', ['s3:GetObject', 's3:GetObjectVersion'], [`${operations}/manifests/*`]],
      ['WriteReportsAndGeneratedManifests', ['s3:PutObject'], [`${operations}/reports/*`, `${operations}/manifests/*`]],
      ['FindTheOperationsBucket', ['s3:GetBucketLocation'], [operations]],
      ['ListUploadsForGeneratedManifests', ['s3:ListBucket'], [ref('aws_s3_bucket', 'uploads', 'arn')]],
      ['UsePipelineKeyThroughS3', ['kms:Decrypt', 'kms:GenerateDataKey'], [key]],
    ]);
    expect(statements.UsePipelineKeyThroughS3.condition).toEqual([
      {
        test: 'StringEquals',
        variable: 'kms:ViaService',
        values: [`s3.${ref('data.aws_region', 'region', 'name')}.amazonaws.com`],
      },
    ]);
  });

  it('keeps manifests and reports in an operations bucket with the uploads bucket’s secure defaults', () => {
    // Assess
    const bucket = ref('aws_s3_bucket', 'operations', 'id');
    expect(json).toHaveResourceWithProperties(S3Bucket, {
      bucket: `tap-dev-operations-${ref('data.aws_caller_identity', 'current', 'account_id')}-${ref('data.aws_region', 'region', 'name')}`,
      force_destroy: false,
    });
    expect(json).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
      bucket,
      rule: [
        {
          apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: key },
          bucket_key_enabled: true,
        },
      ],
    });
    expect(json).toHaveResourceWithProperties(S3BucketPublicAccessBlock, { bucket, restrict_public_buckets: true });
    expect(Object.keys(statementsOf(stack, 'operations_policy_document'))).toEqual([
      'DenyInsecureTransport',
      'DenyTlsOlderThan12',
    ]);
  });

  it('expires them after 30 days, and never lets them reach the pipeline', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      bucket: ref('aws_s3_bucket', 'operations', 'id'),
      rule: [expect.objectContaining({ id: 'expire-manifests-and-reports', expiration: [{ days: 30 }] })],
    });
    expect(json).not.toHaveResourceWithProperties(S3BucketNotification, {
      bucket: ref('aws_s3_bucket', 'operations', 'id'),
    });
  });

  it('outputs the role and the bucket for tap backfill', () => {
    // Assess
    expect(parsed.output.batch_operations_role_arn.value).toBe(ref('aws_iam_role', 'batch_operations_role', 'arn'));
    expect(parsed.output.operations_bucket_name.value).toBe(ref('aws_s3_bucket', 'operations', 'bucket'));
  });
});
