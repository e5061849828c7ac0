// The stack's policies against the calls the pipeline makes: the function's SDK calls (made here the
// way handler/metadata.ts and handler/store.ts make them, through real SDK clients and the recorder)
// and the calls the platform makes because of the deployment. Offline: no request leaves the process.
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { checkCalls, platformCalls, unusedGrants } from '../scripts/lib/iam/audit';
import { EXAMPLE_DEPLOYMENT, NamedPolicy, stackEncryption, stackPolicies } from '../scripts/lib/iam/policy';
import { createRecorder, recordCalls, RecordOptions } from '../scripts/lib/iam/recorder';
import { synthTapStack } from './helpers';

// One synth for the whole file: the default configuration, deployed to the example account.
const { parsed } = synthTapStack();
const d = EXAMPLE_DEPLOYMENT;
const policies = stackPolicies(parsed, d);
const rolePolicy = policies['aws_iam_role_policy.function_role_policy'];
const roleArn = rolePolicy.attachedTo;
const functionArn = `arn:aws:lambda:${d.region}:${d.account}:function:tap-dev-metadata-extractor`;
const bucket = `tap-dev-uploads-${d.account}-${d.region}`;
const table = 'tap-dev-file-metadata';
const options: RecordOptions = {
  account: d.account,
  encryption: stackEncryption(parsed, d),
  sourceFunctionArn: functionArn,
};

const answer = (status: number, body: string) => ({
  handle: async () => ({
    response: {
      statusCode: status,
      headers: { 'content-length': String(body.length) },
      body: Readable.from([Buffer.from(body)]),
    },
  }),
});

/** The function's SDK calls for one created object version (HEAD + ranged GET + conditional put) and one deletion. */
async function functionCalls(endpoint?: string) {
  const recorder = createRecorder();
  const common = { region: d.region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, endpoint };
  const s3 = recordCalls(new S3Client({ ...common, requestHandler: answer(200, 'abc') }), recorder, options);
  const dynamodb = recordCalls(new DynamoDBClient({ ...common, requestHandler: answer(200, '{}') }), recorder, options);
  for (const VersionId of ['3HL4kqtJvjVBH40Nrjfkd', undefined]) {
    const target = { Bucket: bucket, Key: 'uploads/photo 1.jpg', VersionId };
    await s3.send(new HeadObjectCommand({ ...target, ChecksumMode: 'ENABLED' }));
    await s3.send(new GetObjectCommand({ ...target, Range: 'bytes=0-4099' }));
  }
  const Key = { objectKey: { S: 'uploads/photo 1.jpg' }, versionId: { S: 'v1' } };
  const condition = {
    ConditionExpression: 'attribute_not_exists(objectKey) OR sequencer < :s',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
  await dynamodb.send(
    new PutItemCommand({ TableName: table, Item: Key, ...condition, ExpressionAttributeValues: { ':s': { S: '1' } } }),
  );
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: table,
      Key,
      UpdateExpression: 'SET #s = :v',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':v': { S: 'deleted' } },
    }),
  );
  await dynamodb.send(
    new GetItemCommand({ TableName: table, Key, ConsistentRead: true, ProjectionExpression: 'sequencer' }),
  );
  return recorder;
}

describe('the pipeline against the stack’s policies', () => {
  it('allows every call the function and the platform make', async () => {
    // Prepare
    const recorder = await functionCalls();
    const calls = [...recorder.calls, ...platformCalls(parsed, d)];
    // Act
    const checks = checkCalls(calls, policies, roleArn);
    // Assess
    expect(recorder.unmapped()).toEqual([]);
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
    // The function's own calls include the KMS calls S3 and DynamoDB make for it.
    expect(new Set(recorder.calls.map((c) => c.action))).toEqual(
      new Set([
        's3:GetObject',
        's3:GetObjectVersion',
        'kms:Decrypt',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:GetItem',
      ]),
    );
  });

  it('uses every permission the role grants, except s3:ListBucket, which only changes 403 into 404', async () => {
    // Prepare
    const calls = [...(await functionCalls()).calls, ...platformCalls(parsed, d)];
    // Act
    const unused = unusedGrants(rolePolicy, checkCalls(calls, policies, roleArn));
    // Assess
    expect(unused).toEqual([
      {
        policy: rolePolicy.name,
        sid: 'TellMissingObjectsFromDenied',
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${bucket}`,
      },
    ]);
  });

  it('shows which statements decide a KMS call the function makes through S3', async () => {
    // Prepare
    const recorder = await functionCalls();
    const decrypt = recorder.calls.filter(
      (c) => c.action === 'kms:Decrypt' && c.context['kms:ViaService']?.startsWith('s3.'),
    );
    // Act
    const [check] = checkCalls(decrypt.slice(0, 1), policies, roleArn);
    // Assess
    expect(check.decision.statements.map((s) => `${s.policy}#${s.sid}`)).toEqual([
      'aws_kms_key.pipeline_key#EnableIamPoliciesOfThisAccount',
      'aws_iam_role_policy.function_role_policy#UsePipelineKey',
    ]);
  });
});

describe('what the audit catches', () => {
  it('denies the S3 calls over plain http through the bucket policy’s DenyInsecureTransport', async () => {
    // Prepare
    const recorder = await functionCalls('http://127.0.0.1:9');
    // Act
    const checks = checkCalls(
      recorder.calls.filter((c) => c.service === 's3'),
      policies,
      roleArn,
    );
    // Assess
    expect(checks.map((c) => [c.decision.decision, c.decision.statements.map((s) => s.sid)])).toEqual(
      checks.map(() => ['ExplicitDeny', ['DenyInsecureTransport']]),
    );
  });

  it('denies the implied KMS calls when the role loses its key statement', async () => {
    // Prepare
    const withoutKey: NamedPolicy = {
      ...rolePolicy,
      document: {
        ...rolePolicy.document,
        Statement: rolePolicy.document.Statement.filter((s) => s.Sid !== 'UsePipelineKey'),
      },
    };
    const recorder = await functionCalls();
    // Act
    const checks = checkCalls(recorder.calls, { ...policies, [rolePolicy.name]: withoutKey }, roleArn);
    // Assess
    const denied = checks.filter((c) => !c.decision.allowed);
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((c) => c.call.implied && c.call.action === 'kms:Decrypt')).toBe(true);
    expect(denied[0].decision.reason).toContain('delegates to account');
  });

  it('denies an action the role was not granted (Scan of the metadata table)', () => {
    // Prepare
    const call = {
      service: 'dynamodb',
      operation: 'Scan',
      action: 'dynamodb:Scan',
      resource: `arn:aws:dynamodb:${d.region}:${d.account}:table/${table}`,
      context: {},
      mapped: true,
    };
    // Act
    const [check] = checkCalls([call], policies, roleArn);
    // Assess
    expect(check.decision.decision).toBe('ImplicitDeny');
  });

  it('fails an unmapped call instead of skipping it', () => {
    // Prepare
    const call = { service: 's3', operation: 'GetBucketLifecycleConfiguration', context: {}, mapped: false };
    // Act
    const [check] = checkCalls([call], policies, roleArn);
    // Assess
    expect(check.decision.allowed).toBe(false);
    expect(check.line).toMatch(/^UNMAPPED s3 GetBucketLifecycleConfiguration/);
  });
});
