import '../support/stack'; // CDKTF jest matcher typings
import { AppautoscalingTarget } from '@cdktf/provider-aws/lib/appautoscaling-target';
import { AppautoscalingPolicy } from '@cdktf/provider-aws/lib/appautoscaling-policy';
import { resolveConfig, TapConfigError } from '../../config';
import { synthTapStack } from '../support/stack';

// One synth with the default settings: write autoscaling and Batch Operations add nothing unless asked for.
const { json, parsed } = synthTapStack();

const problemsOf = (context: Record<string, unknown>, env: Record<string, string> = {}): readonly string[] => {
  try {
    resolveConfig(context, env);
  } catch (error) {
    if (error instanceof TapConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('tableMaxWriteCapacity and enableBatchOperations by default', () => {
  it('resolve to tableWriteCapacity (whatever it is) and false', () => {
    // Act
    const byDefault = resolveConfig({}, {});
    const raised = resolveConfig({ tableWriteCapacity: 300 }, {});
    // Assess
    expect(byDefault).toMatchObject({
      tableWriteCapacity: 100,
      tableMaxWriteCapacity: 100,
      enableBatchOperations: false,
    });
    expect(raised).toMatchObject({ tableWriteCapacity: 300, tableMaxWriteCapacity: 300 });
  });

  it('add no autoscaling, and leave the table without a lifecycle block', () => {
    // Assess
    expect(json).not.toHaveResource(AppautoscalingTarget);
    expect(json).not.toHaveResource(AppautoscalingPolicy);
    expect(parsed.resource.aws_dynamodb_table.metadata).not.toHaveProperty('lifecycle');
  });

  it('add no Batch Operations role, operations bucket or outputs', () => {
    // Assess
    expect(Object.keys(parsed.resource.aws_iam_role)).toEqual(['function_role']);
    expect(Object.keys(parsed.resource.aws_s3_bucket)).toEqual(['uploads']);
    expect(parsed.output).not.toHaveProperty('batch_operations_role_arn');
    expect(parsed.output).not.toHaveProperty('operations_bucket_name');
  });
});

describe('their configuration errors', () => {
  it('refuse a maximum below the write capacity, naming both settings', () => {
    // Act
    const problems = problemsOf({ tableWriteCapacity: 200 }, { TAP_TABLE_MAX_WRITE_CAPACITY: '150' });
    // Assess
    expect(problems).toEqual([
      'tableMaxWriteCapacity: 150 is below tableWriteCapacity (200), the least write autoscaling keeps; set it to tableWriteCapacity or more (equal adds no autoscaling)',
    ]);
  });

  it('refuse values that are not what each accepts', () => {
    // Act
    const problems = problemsOf({}, { TAP_TABLE_MAX_WRITE_CAPACITY: '40001', TAP_ENABLE_BATCH_OPERATIONS: 'yes' });
    // Assess
    expect(problems).toEqual([
      'tableMaxWriteCapacity (from environment variable TAP_TABLE_MAX_WRITE_CAPACITY): expected an integer from 1 to 40000, got "40001"',
      'enableBatchOperations (from environment variable TAP_ENABLE_BATCH_OPERATIONS): expected true or false, got "yes"',
    ]);
  });

  it('refuse a project whose operations bucket name would be too long, only when Batch Operations is on', () => {
    // Prepare: 17 characters fit the uploads bucket's name, not the operations bucket's (3 characters longer).
    const context = { project: 'abcdefghijklmnopq', environment: 'staging', region: 'ap-southeast-2' };
    // Act
    const off = problemsOf(context);
    const on = problemsOf({ ...context, enableBatchOperations: true });
    // Assess
    expect(off).toEqual([]);
    expect(on).toEqual([
      'project: the operations bucket name "abcdefghijklmnopq-staging-operations-<12-digit account>-ap-southeast-2" would be 64 characters; AWS allows 63. Shorten project ("abcdefghijklmnopq", 17 characters) by 1',
    ]);
  });
});
