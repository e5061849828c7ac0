// The proof with write autoscaling and Batch Operations on: the job role's calls are allowed, and it invokes
// this function only.
import { EXAMPLE_DEPLOYMENT } from '../../scripts/lib/iam/policy';
import { driveAllPaths } from '../../scripts/lib/iam/paths';
import { checkCalls, checkRefusals, grantTable, platformCalls, stackUnderProof } from '../../scripts/lib/iam/proof';
import { checkEveryCall, failedRefusals, withStatement } from './support';

const d = EXAMPLE_DEPLOYMENT;
const stack = stackUnderProof({ TAP_TABLE_MAX_WRITE_CAPACITY: '1000', TAP_ENABLE_BATCH_OPERATIONS: 'true' }, d);
const role = `arn:aws:iam::${d.account}:role/tap-dev-batch-operations-us-east-1`;

describe('the proof with Batch Operations', () => {
  it('allows the job role’s calls and every other platform and handler call; the function role is unchanged', async () => {
    // Act
    const checks = await checkEveryCall(stack);
    // Assess
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
    expect(
      platformCalls(stack)
        .filter((c) => c.principal === role)
        .map((c) => c.action),
    ).toEqual([
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

  it('records the function’s calls for its tasks (backfill and reprocess jobs) and allows every one', async () => {
    // Act
    const tasks = (await driveAllPaths(stack)).filter((p) => p.path.eventName.startsWith('batch:'));
    const checks = checkCalls(
      stack,
      tasks.flatMap((p) => p.calls),
    );
    // Assess
    const own = (calls: { action?: string; implied?: boolean }[]) =>
      calls.filter((c) => !c.implied).map((c) => c.action);
    expect(tasks.map((p) => [p.path.eventName, p.outcome, own(p.calls)])).toEqual([
      ['batch:backfill', 'stored', ['s3:GetObjectVersion', 's3:GetObjectVersion', 'dynamodb:PutItem']],
      [
        'batch:reprocess',
        'stored',
        ['dynamodb:GetItem', 's3:GetObjectVersion', 's3:GetObjectVersion', 'dynamodb:PutItem'],
      ],
    ]);
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
    expect(checks.filter((c) => c.call.implied).map((c) => c.call.action)).toEqual(Array(7).fill('kms:Decrypt'));
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
    const loose = withStatement(stack, 'aws_iam_role_policy.batch_operations_role_policy', 'InvokeTheFunction', {
      Resource: '*',
    });
    // Act & Assess
    expect(failedRefusals(loose)).toEqual([
      `the Batch Operations role lambda:InvokeFunction on arn:aws:lambda:us-east-1:${d.account}:function:another-function`,
      `the Batch Operations role lambda:InvokeFunction on ${stack.functionArn}:1`,
    ]);
  });

  it('catches a trust policy without the confused-deputy guard', () => {
    // Prepare
    const loose = withStatement(stack, 'aws_iam_role.batch_operations_role', 'BatchOperationsAssumesThisRole', {
      Condition: undefined,
    });
    // Act & Assess
    expect(failedRefusals(loose)).toEqual(['Batch Operations assuming its role for another account']);
  });
});
