import '../support/stack'; // CDKTF jest matcher typings
import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { eventBridgePattern } from '../../config';
import { ref, statementsOf, synthTapStack } from '../support/stack';

// One synth with EventBridge delivery from the bucket the stack creates, the Act of every stack test.
const stack = synthTapStack({ eventDelivery: 'eventbridge', recordObjectTags: true, notificationPrefix: 'incoming/' });
const { json, parsed } = stack;
const resources = parsed.resource;
const ruleArn = `arn:${ref('data.aws_partition', 'partition', 'partition')}:events:${ref('data.aws_region', 'region', 'name')}:${ref('data.aws_caller_identity', 'current', 'account_id')}:rule/tap-dev-object-events`;
const queueArn = ref('aws_sqs_queue', 'dead_letter_queue', 'arn');

describe('TapStack with eventDelivery=eventbridge', () => {
  it("turns the owned bucket's EventBridge switch on, with no Lambda notification and no S3 permission", () => {
    // Assess
    expect(resources.aws_s3_bucket_notification.uploads_notification).toMatchObject({
      bucket: ref('aws_s3_bucket', 'uploads', 'id'),
      eventbridge: true,
    });
    expect(resources.aws_s3_bucket_notification.uploads_notification).not.toHaveProperty('lambda_function');
    expect(json).not.toHaveResourceWithProperties(LambdaPermission, { principal: 's3.amazonaws.com' });
    expect(json).toHaveResourceWithProperties(S3BucketNotification, { eventbridge: true });
  });

  it('matches S3 events of this bucket, the notification prefix and the subscribed detail types on the default bus', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(CloudwatchEventRule, { name: 'tap-dev-object-events' });
    const rule = resources.aws_cloudwatch_event_rule.object_events;
    expect(rule).not.toHaveProperty('event_bus_name');
    expect(JSON.parse(rule.event_pattern as string)).toEqual({
      source: ['aws.s3'],
      'detail-type': [
        'Object Created',
        'Object Deleted',
        'Object Restore Completed',
        'Object Storage Class Changed',
        'Object Access Tier Changed',
        'Object Tags Added',
        'Object Tags Deleted',
      ],
      detail: {
        bucket: { name: [ref('aws_s3_bucket', 'uploads', 'bucket')] },
        object: { key: [{ prefix: 'incoming/' }] },
      },
    });
  });

  it('targets the function with a retry policy and the failure queue as its dead-letter queue', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(CloudwatchEventTarget, {
      rule: ref('aws_cloudwatch_event_rule', 'object_events', 'name'),
      target_id: 'metadata-extractor',
      arn: ref('aws_lambda_function', 'metadata_extractor', 'arn'),
      retry_policy: { maximum_event_age_in_seconds: 21600, maximum_retry_attempts: 185 },
      dead_letter_config: { arn: queueArn },
    });
  });

  it('lets only this rule invoke the function', () => {
    // Assess
    expect(json).toHaveResourceWithProperties(LambdaPermission, {
      statement_id: 'AllowInvokeFromObjectEventsRule',
      action: 'lambda:InvokeFunction',
      principal: 'events.amazonaws.com',
      source_arn: ref('aws_cloudwatch_event_rule', 'object_events', 'arn'),
    });
    expect(Object.keys(resources.aws_lambda_permission)).toEqual(['allow_eventbridge_invoke']);
  });

  it('lets EventBridge dead-letter into the failure queue for this rule only, and only over TLS', () => {
    // Assess
    const statements = statementsOf(stack, 'dead_letter_queue_policy_document');
    expect(Object.keys(statements)).toEqual([
      'AllowEventBridgeDeadLettersOfTheObjectEventsRule',
      'DenyInsecureTransport',
    ]);
    expect(statements.AllowEventBridgeDeadLettersOfTheObjectEventsRule).toEqual({
      sid: 'AllowEventBridgeDeadLettersOfTheObjectEventsRule',
      principals: [{ type: 'Service', identifiers: ['events.amazonaws.com'] }],
      actions: ['sqs:SendMessage'],
      resources: [queueArn],
      condition: [{ test: 'ArnEquals', variable: 'aws:SourceArn', values: [ruleArn] }],
    });
  });

  it('lets EventBridge use the pipeline key for the encrypted queue, for this rule only', () => {
    // Assess
    const policy = JSON.parse(resources.aws_kms_key.pipeline_key.policy as string) as {
      Statement: { Sid: string }[];
    };
    expect(policy.Statement.find((s) => s.Sid === 'AllowEventBridgeDeadLettersOfTheObjectEventsRule')).toEqual({
      Sid: 'AllowEventBridgeDeadLettersOfTheObjectEventsRule',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: '*',
      Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
    });
  });
});

describe('eventBridgePattern', () => {
  const base = { recordObjectTags: false, notificationPrefix: '', notificationSuffix: '' };

  it('leaves the key unfiltered without prefix or suffix, and follows no tagging events unless tags are recorded', () => {
    // Act
    const pattern = eventBridgePattern(base, 'my-bucket');
    // Assess
    expect(pattern.detail).toEqual({ bucket: { name: ['my-bucket'] } });
    expect(pattern['detail-type']).not.toContain('Object Tags Added');
  });

  it('filters by suffix alone, and by prefix and suffix together with one escaped wildcard', () => {
    // Act
    const suffixOnly = eventBridgePattern({ ...base, notificationSuffix: '.pdf' }, 'b');
    const both = eventBridgePattern({ ...base, notificationPrefix: 'in*/', notificationSuffix: '\\.pdf' }, 'b');
    // Assess
    expect(suffixOnly.detail).toEqual({ bucket: { name: ['b'] }, object: { key: [{ suffix: '.pdf' }] } });
    expect(both.detail).toEqual({ bucket: { name: ['b'] }, object: { key: [{ wildcard: 'in\\*/*\\\\.pdf' }] } });
  });
});
