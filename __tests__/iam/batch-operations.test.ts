// The proof with write autoscaling and Batch Operations on: the job role's calls are allowed, and it invokes
// this function only.
import { EXAMPLE_DEPLOYMENT, NamedPolicy } from '../../scripts/lib/iam/policy';
import { driveAllPaths } from '../../scripts/lib/iam/paths';
import {
  checkCalls,
  checkRefusals,
  grantTable,
  platformCalls,
  StackUnderProof,
  stackUnderProof,
} from '../../scripts/lib/iam/proof';

const d = EXAMPLE_DEPLOYMENT;
const stack = stackUnderProof({ TAP_TABLE_MAX_WRITE_CAPACITY: '1000', TAP_ENABLE_BATCH_OPERATIONS: 'true' }, d);
const role = `arn:aws:iam::${d.account}:role/tap-dev-batch-operations-us-east-1`;
const failedRefusals = (s: StackUnderProof) =>
  checkRefusals(s)
    .filter((r) => !r.ok)
    .map((r) => r.refusal.name);

/** The stack with one statement of one policy changed. */
const changed = (name: string, sid: string, change: (s: NamedPolicy['document']['Statement'][number]) => object) => {
  const policy = stack.policies[name];
  const Statement = policy.document.Statement.map((s) => (s.Sid === sid ? { ...s, ...change(s) } : s));
  return {
    ...stack,
    policies: { ...stack.policies, [name]: { ...policy, document: { ...policy.document, Statement } } },
  };
};

describe('the proof with Batch Operations', () => {
  it('allows the job role’s calls and every other platform and handler call; the function role is unchanged', async () => {
    // Prepare
    const calls = (await driveAllPaths(stack)).flatMap((p) => p.calls);
    const platform = platformCalls(stack);
    // Act
    const checks = checkCalls(stack, [...calls, ...platform]);
    // Assess
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
    expect(platform.filter((c) => c.principal === role).map((c) => c.action)).toEqual([
      's3:GetObject',
      's3:PutObject',
      's3:PutObject',
      's3:GetBucketLocation',
      's3:ListBucket',
      'lambda:InvokeFunction',
      'kms:GenerateDataKey',
      'kms:Decrypt',
    ]);
    expect(grantTable(stack, checks).filter((r) => r.status === 'unused')).toEqual([]);
  });

  it('refuses the job role another function, a version of this one, and the uploads themselves', () => {
    // Act
    const names = checkRefusals(stack).map((r) => r.refusal.name);
    // Assess
    expect(failedRefusals(stack)).toEqual([]);
    expect(names.filter((n) => /Batch Operations/.test(n))).toEqual([
      `the Batch Operations role lambda:InvokeFunction on arn:aws:lambda:us-east-1:${d.account}:function:another-function`,
      `the Batch Operations role lambda:InvokeFunction on ${stack.functionArn}:1`,
      `the Batch Operations role s3:GetObject on arn:aws:s3:::${stack.bucket}/uploads/photo.png`,
      `the Batch Operations role s3:PutObject on arn:aws:s3:::${stack.bucket}/uploads/photo.png`,
      'Batch Operations assuming its role for another account',
    ]);
  });

  it('catches a job role that may invoke any function', () => {
    // Prepare
    const loose = changed('aws_iam_role_policy.batch_operations_role_policy', 'InvokeTheFunction', () => ({
      Resource: '*',
    }));
    // Act & Assess
    expect(failedRefusals(loose)).toEqual([
      `the Batch Operations role lambda:InvokeFunction on arn:aws:lambda:us-east-1:${d.account}:function:another-function`,
      `the Batch Operations role lambda:InvokeFunction on ${stack.functionArn}:1`,
    ]);
  });

  it('catches a trust policy without the confused-deputy guard', () => {
    // Prepare
    const loose = changed('aws_iam_role.batch_operations_role', 'BatchOperationsAssumesThisRole', () => ({
      Condition: undefined,
    }));
    // Act & Assess
    expect(failedRefusals(loose)).toEqual(['Batch Operations assuming its role for another account']);
  });
});
