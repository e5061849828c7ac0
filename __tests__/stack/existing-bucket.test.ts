import '../support/stack'; // CDKTF jest matcher typings
import { DataAwsS3Bucket } from '@cdktf/provider-aws/lib/data-aws-s3-bucket';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { ref, statementsOf, synthTapStack } from '../support/stack';

// One synth in existing-bucket mode, the Act of every test.
const bucketKey = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const stack = synthTapStack({ existingBucketName: 'team-archive', existingBucketKmsKeyArns: [bucketKey] });
const { json, parsed } = stack;
const resources = parsed.resource;
const bucketArn = ref('data.aws_s3_bucket', 'uploads', 'arn');
const viaS3 = [
  {
    test: 'StringEquals',
    variable: 'kms:ViaService',
    values: [`s3.${ref('data.aws_region', 'region', 'name')}.amazonaws.com`],
  },
];

describe('TapStack with an existing bucket', () => {
  it('creates no bucket and no aws_s3_bucket_* resource: destroy has nothing of the bucket to remove', () => {
    // Assess
    expect(Object.keys(resources).filter((type) => type.startsWith('aws_s3_'))).toEqual([]);
  });

  it('reads the bucket through a data source that fails the plan when the bucket is in another region', () => {
    // Assess
    expect(json).toHaveDataSourceWithProperties(DataAwsS3Bucket, {
      bucket: 'team-archive',
      lifecycle: {
        postcondition: [
          {
            condition: '${self.region == "us-east-1"}',
            error_message:
              'existingBucketName: the bucket "team-archive" is not in us-east-1, the stack\'s region; S3 sends its events to EventBridge in its own region',
          },
        ],
      },
    });
  });

  it('delivers through an EventBridge rule for that bucket, with its permission and dead-letter queue', () => {
    // Assess
    const rule = resources.aws_cloudwatch_event_rule.object_events;
    expect(json).toHaveResourceWithProperties(CloudwatchEventRule, { name: 'tap-dev-object-events' });
    expect(JSON.parse(rule.event_pattern as string).detail).toEqual({
      bucket: { name: [ref('data.aws_s3_bucket', 'uploads', 'bucket')] },
    });
    expect(json).toHaveResourceWithProperties(CloudwatchEventTarget, {
      dead_letter_config: { arn: ref('aws_sqs_queue', 'dead_letter_queue', 'arn') },
    });
    expect(json).toHaveResourceWithProperties(LambdaPermission, {
      principal: 'events.amazonaws.com',
      source_arn: ref('aws_cloudwatch_event_rule', 'object_events', 'arn'),
    });
  });

  it('grants the function read on that bucket only, and its keys through S3 only (the pipeline key not through S3)', () => {
    // Assess
    const statements = statementsOf(stack, 'function_permissions');
    expect(statements.ReadUploadedObjects.resources).toEqual([`${bucketArn}/*`]);
    expect(statements.TellMissingObjectsFromDenied.resources).toEqual([bucketArn]);
    expect(statements.DecryptUploadedObjectsThroughS3).toEqual({
      sid: 'DecryptUploadedObjectsThroughS3',
      actions: ['kms:Decrypt'],
      resources: [bucketKey],
      condition: viaS3,
    });
    expect(statements.UsePipelineKey.condition).toEqual([
      {
        test: 'StringEquals',
        variable: 'kms:ViaService',
        values: ['dynamodb', 'sqs'].map(
          (service) => `${service}.${ref('data.aws_region', 'region', 'name')}.amazonaws.com`,
        ),
      },
    ]);
  });

  it('gives uploaders write on that bucket and its keys through S3', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(IamPolicy, { name: 'tap-dev-uploaders-us-east-1' });
    expect(statementsOf(stack, 'uploaders_policy_document')).toEqual({
      WriteUploads: {
        sid: 'WriteUploads',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [`${bucketArn}/*`],
      },
      EncryptUploadsWithTheBucketKeysThroughS3: {
        sid: 'EncryptUploadsWithTheBucketKeysThroughS3',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [bucketKey],
        condition: viaS3,
      },
    });
  });

  it('points the bucket outputs at the existing bucket', () => {
    // Assess
    expect(parsed.output.s3_bucket_name.value).toBe(ref('data.aws_s3_bucket', 'uploads', 'bucket'));
    expect(parsed.output.s3_bucket_arn.value).toBe(bucketArn);
  });
});
