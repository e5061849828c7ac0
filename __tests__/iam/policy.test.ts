import {
  EXAMPLE_DEPLOYMENT,
  FAKE_KEY_ID,
  queueArnFromUrl,
  stackEncryption,
  stackPolicies,
  SynthesizedJson,
  terraform,
} from '../../scripts/lib/iam/policy';
import { synthTapStack } from '../support/stack';

// One synth for the whole file: the default configuration.
const { parsed } = synthTapStack();
const d = { account: '444455556666', region: 'eu-west-1', partition: 'aws' };
const policies = stackPolicies(parsed, d);
const bucket = 'tap-dev-uploads-444455556666-eu-west-1';
const keyArn = `arn:aws:kms:eu-west-1:444455556666:key/${FAKE_KEY_ID}`;
const roleArn = 'arn:aws:iam::444455556666:role/tap-dev-metadata-extractor-us-east-1'; // the role name carries the configured region (us-east-1);

describe('stackPolicies on the synthesized stack', () => {
  it('names every policy of the stack by its Terraform address, with what it is attached to', () => {
    // Assess: the policies of the deployment above, read once for the file
    expect(Object.fromEntries(Object.values(policies).map((p) => [p.name, [p.kind, p.attachedTo]]))).toEqual({
      'aws_iam_role.function_role': ['trust', roleArn],
      'aws_iam_role_policy.function_role_policy': ['identity', roleArn],
      'aws_s3_bucket_policy.uploads_policy': ['resource', `arn:aws:s3:::${bucket}`],
      'aws_sqs_queue_policy.dead_letter_queue_policy': [
        'resource',
        'arn:aws:sqs:eu-west-1:444455556666:tap-dev-metadata-failed-events',
      ],
      'aws_sns_topic_policy.alarms_policy': ['resource', 'arn:aws:sns:eu-west-1:444455556666:tap-dev-pipeline-alarms'],
      'aws_kms_key.pipeline_key': ['key', keyArn],
      'aws_lambda_permission.allow_s3_invoke': [
        'resource',
        'arn:aws:lambda:eu-west-1:444455556666:function:tap-dev-metadata-extractor',
      ],
    });
  });

  it('renders a policy document as the provider does: one value as a string, several reverse-sorted', () => {
    // Act: the role's identity policy.
    const statements = policies['aws_iam_role_policy.function_role_policy'].document.Statement;
    // Assess
    expect(statements[0]).toEqual({
      Sid: 'ReadUploadedObjects',
      Effect: 'Allow',
      Action: ['s3:GetObjectVersion', 's3:GetObject'],
      Resource: `arn:aws:s3:::${bucket}/*`,
    });
    expect(statements.find((s) => s.Sid === 'WriteOwnLogs')?.Resource).toBe(
      'arn:aws:logs:eu-west-1:444455556666:log-group:/aws/lambda/tap-dev-metadata-extractor:*',
    );
    expect(statements.find((s) => s.Sid === 'UsePipelineKey')?.Resource).toBe(keyArn);
  });

  it('renders a {type "*", identifiers ["*"]} principal as "*" and conditions as operator -> key -> value', () => {
    // Act
    const deny = policies['aws_s3_bucket_policy.uploads_policy'].document.Statement[0];
    // Assess
    expect(deny).toEqual({
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [`arn:aws:s3:::${bucket}/*`, `arn:aws:s3:::${bucket}`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });

  it('resolves the references inside the key policy written as raw JSON', () => {
    // Act
    const key = policies['aws_kms_key.pipeline_key'].document;
    // Assess
    expect(key.Statement.map((s) => s.Principal)).toEqual([
      { AWS: 'arn:aws:iam::444455556666:root' },
      { Service: 'logs.eu-west-1.amazonaws.com' },
      { Service: 'cloudwatch.amazonaws.com' },
    ]);
    expect(key.Statement[1].Condition).toEqual({
      ArnEquals: {
        'kms:EncryptionContext:aws:logs:arn':
          'arn:aws:logs:eu-west-1:444455556666:log-group:/aws/lambda/tap-dev-metadata-extractor',
      },
    });
    expect(JSON.stringify(policies)).not.toContain('${');
  });

  it('turns aws_lambda_permission into the statement Lambda adds to the function policy', () => {
    // Act
    const [statement] = policies['aws_lambda_permission.allow_s3_invoke'].document.Statement;
    // Assess
    expect(statement).toEqual({
      Sid: 'AllowInvokeFromUploadsBucket',
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'lambda:InvokeFunction',
      Resource: 'arn:aws:lambda:eu-west-1:444455556666:function:tap-dev-metadata-extractor',
      Condition: {
        StringEquals: { 'AWS:SourceAccount': '444455556666' },
        ArnLike: { 'AWS:SourceArn': `arn:aws:s3:::${bucket}` },
      },
    });
  });

  it('follows the partition of the deployment', () => {
    // Prepare
    const gov = { account: '444455556666', region: 'us-gov-west-1', partition: 'aws-us-gov' };
    // Act
    const govPolicies = stackPolicies(parsed, gov);
    // Assess
    expect(govPolicies['aws_s3_bucket_policy.uploads_policy'].attachedTo).toBe(
      'arn:aws-us-gov:s3:::tap-dev-uploads-444455556666-us-gov-west-1',
    );
    expect(govPolicies['aws_kms_key.pipeline_key'].document.Statement[0].Principal).toEqual({
      AWS: 'arn:aws-us-gov:iam::444455556666:root',
    });
  });

  it('tells which key encrypts each store, and whether the bucket key is on', () => {
    // Act
    const facts = stackEncryption(parsed, d);
    // Assess
    expect(facts.buckets).toEqual({ [bucket]: { keyArn, bucketKey: true } });
    expect(facts.tables).toEqual({ 'tap-dev-file-metadata': keyArn });
    expect(facts.queues).toEqual({ 'arn:aws:sqs:eu-west-1:444455556666:tap-dev-metadata-failed-events': keyArn });
    expect(facts.topics).toEqual({ 'arn:aws:sns:eu-west-1:444455556666:tap-dev-pipeline-alarms': keyArn });
    expect(facts.logGroups).toEqual({ '/aws/lambda/tap-dev-metadata-extractor': keyArn });
  });
});

describe('terraform (the reference resolver)', () => {
  const stack: SynthesizedJson = {
    resource: {
      aws_s3_bucket: { b: { bucket: 'logs-${data.aws_caller_identity.me.account_id}' } },
      aws_sqs_queue: { q: { name: 'jobs' } },
      aws_kms_key: { k: {} },
      aws_lambda_function: { f: { function_name: 'fn' } },
      aws_iam_role: { r: { name: 'runner', path: '/service/' } },
      aws_s3_object: { o: { key: 'x' } },
    },
    data: { aws_caller_identity: { me: {} }, aws_partition: { p: {} }, aws_region: { here: {} } },
  };
  const r = terraform(stack, EXAMPLE_DEPLOYMENT);

  it.each([
    ['${aws_s3_bucket.b.arn}/*', 'arn:aws:s3:::logs-111122223333/*'],
    ['${aws_s3_bucket.b.id}', 'logs-111122223333'],
    ['${aws_sqs_queue.q.url}', 'https://sqs.us-east-1.amazonaws.com/111122223333/jobs'],
    ['${aws_sqs_queue.q.arn}', 'arn:aws:sqs:us-east-1:111122223333:jobs'],
    ['${aws_kms_key.k.key_id}', FAKE_KEY_ID],
    ['${aws_lambda_function.f.qualified_arn}', 'arn:aws:lambda:us-east-1:111122223333:function:fn:$LATEST'],
    ['${aws_iam_role.r.arn}', 'arn:aws:iam::111122223333:role/service/runner'],
    ['arn:${data.aws_partition.p.partition}:x:${data.aws_region.here.name}', 'arn:aws:x:us-east-1'],
    ['literal $${not.a.reference}', 'literal ${not.a.reference}'],
  ])('resolves %s', (text, expected) => {
    // Act & Assess: on the stack above
    expect(r.resolve(text)).toBe(expected);
  });

  it.each([
    ['${aws_s3_bucket.missing.arn}', 'aws_s3_bucket.missing'],
    ['${aws_s3_bucket.b.website_endpoint}', 'aws_s3_bucket.b.website_endpoint'],
    ['${aws_s3_object.o.arn}', 'aws_s3_object.o.arn'],
    ['${data.aws_caller_identity.me.user_id}', 'data.aws_caller_identity.me.user_id'],
    ['${jsonencode(local.x)}', 'jsonencode(local.x)'],
  ])('refuses %s, naming the reference', (text, named) => {
    // Act & Assess: on the stack above
    expect(() => r.resolve(text)).toThrow(named);
  });

  it('refuses a stack whose policy it does not read instead of skipping it', () => {
    // Prepare
    const withTopicPolicy: SynthesizedJson = { resource: { aws_sns_topic: { t: { name: 't', policy: '{}' } } } };
    // Act & Assess
    expect(() => stackPolicies(withTopicPolicy, EXAMPLE_DEPLOYMENT)).toThrow('aws_sns_topic.t has a policy');
  });

  it('refuses the kinds of policy the stack does not use: an attached managed policy, an inline policy', () => {
    // Prepare
    const trust = '{"Version":"2012-10-17","Statement":[]}';
    const attached: SynthesizedJson = {
      resource: {
        aws_iam_role: { r: { name: 'runner', assume_role_policy: trust } },
        aws_iam_role_policy_attachment: {
          a: { role: 'runner', policy_arn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' },
        },
      },
    };
    const inline: SynthesizedJson = {
      resource: {
        aws_iam_role: { r: { name: 'runner', assume_role_policy: trust, inline_policy: [{ policy: '{}' }] } },
      },
    };
    // Act & Assess
    expect(() => stackPolicies(attached, EXAMPLE_DEPLOYMENT)).toThrow(
      'aws_iam_role_policy_attachment.a has a policy that stackPolicies does not read',
    );
    expect(() => stackPolicies(inline, EXAMPLE_DEPLOYMENT)).toThrow('aws_iam_role.r has a policy');
  });

  it('reads a queue ARN from AWS and stand-in queue URLs', () => {
    // Act & Assess
    expect(queueArnFromUrl('https://sqs.eu-west-1.amazonaws.com/444455556666/q', EXAMPLE_DEPLOYMENT)).toBe(
      'arn:aws:sqs:eu-west-1:444455556666:q',
    );
    expect(queueArnFromUrl('http://127.0.0.1:4566/000000000000/q', EXAMPLE_DEPLOYMENT)).toBe(
      'arn:aws:sqs:us-east-1:000000000000:q',
    );
  });
});
