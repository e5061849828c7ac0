import '../support/stack'; // CDKTF jest matcher typings
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { ref, statementsOf, synthTapStack } from '../support/stack';

// One synth: Batch Operations over an existing bucket, the Act of every test.
const stack = synthTapStack({ existingBucketName: 'team-archive', enableBatchOperations: true });

describe('Batch Operations over an existing bucket', () => {
  it('creates the operations bucket only: the existing bucket stays unmanaged', () => {
    // Assess
    expect(Object.keys(stack.parsed.resource.aws_s3_bucket)).toEqual(['operations']);
    expect(stack.json).toHaveResourceWithProperties(S3Bucket, { force_destroy: false });
  });

  it('lets the role list the existing bucket for generated manifests, and invoke the function', () => {
    // Assess
    const statements = statementsOf(stack, 'batch_operations_permissions');
    expect(statements.ListUploadsForGeneratedManifests.resources).toEqual([
      ref('data.aws_s3_bucket', 'uploads', 'arn'),
    ]);
    expect(statements.InvokeTheFunction.resources).toEqual([ref('aws_lambda_function', 'metadata_extractor', 'arn')]);
  });
});
