// The evaluator against cases whose outcome AWS documents (IAM User Guide: policy evaluation logic,
// cross-account evaluation, condition operators; KMS Developer Guide: key policies).
import {
  actionMatches,
  arnMatches,
  describeDecision,
  evaluate,
  PolicyRef,
  Request,
  rolePrincipal,
  servicePrincipal,
} from '../../scripts/lib/iam/evaluate';
import { StatementJson } from '../../scripts/lib/iam/policy';

const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/worker`;
const BUCKET = 'arn:aws:s3:::uploads';
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const policy = (name: string, ...statements: StatementJson[]): PolicyRef => ({
  name,
  document: { Version: '2012-10-17', Statement: statements },
});
const request = (action: string, resource: string, context: Request['context'] = {}): Request => ({
  principal: rolePrincipal(ROLE),
  action,
  resource,
  context,
});
const allow = (
  sid: string,
  action: string | string[],
  resource: string | string[],
  extra: Partial<StatementJson> = {},
) => ({ Sid: sid, Effect: 'Allow', Action: action, Resource: resource, ...extra }) satisfies StatementJson;

describe('the basic rules', () => {
  it('allows what an identity policy allows, naming the statement', () => {
    // Prepare
    const identity = [policy('role', allow('Read', 's3:GetObject', `${BUCKET}/*`))];
    // Act
    const decision = evaluate(request('s3:GetObject', `${BUCKET}/a.txt`), { identity, resourceAccount: ACCOUNT });
    // Assess
    expect(decision).toMatchObject({ decision: 'Allow', allowed: true });
    expect(decision.statements).toEqual([{ policy: 'role', sid: 'Read', index: 0, effect: 'Allow' }]);
  });

  it('denies implicitly what no statement allows', () => {
    // Prepare
    const identity = [policy('role', allow('Read', 's3:GetObject', `${BUCKET}/*`))];
    // Act
    const decision = evaluate(request('s3:PutObject', `${BUCKET}/a.txt`), { identity, resourceAccount: ACCOUNT });
    // Assess
    expect(decision).toMatchObject({ decision: 'ImplicitDeny', allowed: false, statements: [] });
  });

  it('lets an explicit deny in a resource policy beat an identity allow', () => {
    // Prepare
    const identity = [policy('role', allow('All', 's3:*', '*'))];
    const resource = [
      policy('bucket', {
        Sid: 'NoDeletes',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:Delete*',
        Resource: `${BUCKET}/*`,
      }),
    ];
    // Act
    const decision = evaluate(request('s3:DeleteObject', `${BUCKET}/a`), {
      identity,
      resource,
      resourceAccount: ACCOUNT,
    });
    // Assess
    expect(decision.decision).toBe('ExplicitDeny');
    expect(decision.statements.map((s) => `${s.policy}#${s.sid}`)).toEqual(['bucket#NoDeletes']);
  });

  it('lets an explicit deny in the identity policy beat a resource policy allow', () => {
    // Prepare
    const identity = [policy('role', { Sid: 'Never', Effect: 'Deny', Action: 'sqs:*', Resource: '*' })];
    const resource = [policy('queue', { Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'sqs:*', Resource: '*' })];
    // Act
    const decision = evaluate(request('sqs:SendMessage', 'arn:aws:sqs:us-east-1:111122223333:q'), {
      identity,
      resource,
      resourceAccount: ACCOUNT,
    });
    // Assess
    expect(decision.decision).toBe('ExplicitDeny');
  });

  it('allows in the same account when only the resource policy names the role', () => {
    // Prepare
    const resource = [
      policy('queue', {
        Sid: 'Worker',
        Effect: 'Allow',
        Principal: { AWS: ROLE },
        Action: 'sqs:SendMessage',
        Resource: '*',
      }),
    ];
    // Act
    const decision = evaluate(request('sqs:SendMessage', 'arn:aws:sqs:us-east-1:111122223333:q'), {
      resource,
      resourceAccount: ACCOUNT,
    });
    // Assess
    expect(decision).toMatchObject({
      decision: 'Allow',
      statements: [expect.objectContaining({ grantee: 'principal' })],
    });
  });

  it('honours NotAction: everything but the listed actions', () => {
    // Prepare
    const identity = [policy('role', { Sid: 'AllButIam', Effect: 'Allow', NotAction: 'iam:*', Resource: '*' })];
    const policies = { identity, resourceAccount: ACCOUNT };
    // Act
    const s3 = evaluate(request('s3:GetObject', `${BUCKET}/a`), policies);
    const iam = evaluate(request('iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/x`), policies);
    // Assess
    expect([s3.decision, iam.decision]).toEqual(['Allow', 'ImplicitDeny']);
  });

  it('honours NotResource', () => {
    // Prepare
    const identity = [policy('role', { Effect: 'Allow', Action: 's3:GetObject', NotResource: `${BUCKET}/secret/*` })];
    const policies = { identity, resourceAccount: ACCOUNT };
    // Act
    const open = evaluate(request('s3:GetObject', `${BUCKET}/public/a`), policies);
    const secret = evaluate(request('s3:GetObject', `${BUCKET}/secret/a`), policies);
    // Assess
    expect([open.allowed, secret.allowed]).toEqual([true, false]);
  });
});

describe('wildcards', () => {
  it.each([
    ['s3:Get*', 's3:GetObject', true],
    ['s3:get*', 'S3:GETOBJECTVERSION', true],
    ['s3:Get?bject', 's3:GetObject', true],
    ['s3:Get*', 's3:PutObject', false],
    ['*', 'kms:Decrypt', true],
    ['kms:GenerateDataKey*', 'kms:GenerateDataKeyWithoutPlaintext', true],
  ])('action %s matches %s: %s', (pattern, action, expected) => {
    // Act & Assess: actions compare case-insensitively.
    expect(actionMatches(pattern, action)).toBe(expected);
  });

  it.each([
    [`${BUCKET}/*`, `${BUCKET}/dir/a b ü.txt`, true],
    [`${BUCKET}/*`, BUCKET, false],
    [`${BUCKET}/a?.txt`, `${BUCKET}/ab.txt`, true],
    [`${BUCKET}/A*`, `${BUCKET}/a.txt`, false],
    [
      'arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/f:*',
      'arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/f:log-stream:s',
      true,
    ],
    [
      'arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/f:*',
      'arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/f',
      false,
    ],
    ['arn:aws:sqs:*:111122223333:q', 'arn:aws:sqs:eu-west-1:111122223333:q', true],
    ['arn:aws:sqs:*:111122223333:q', 'arn:aws:sqs:eu-west-1:444455556666:q', false],
    ['*', KEY, true],
  ])('ARN %s matches %s: %s', (pattern, arn, expected) => {
    // Act & Assess: ARNs compare case-sensitively, segment by segment.
    expect(arnMatches(pattern, arn)).toBe(expected);
  });
});

describe('conditions', () => {
  // One statement per case: Allow s3:GetObject on the bucket under the given condition block.
  const decide = (condition: StatementJson['Condition'], context: Request['context']) =>
    evaluate(request('s3:GetObject', `${BUCKET}/a`, context), {
      identity: [policy('role', allow('Conditional', 's3:GetObject', `${BUCKET}/*`, { Condition: condition }))],
      resourceAccount: ACCOUNT,
    }).allowed;

  it.each([
    // operator, policy value, request value (undefined: key missing), expected
    ['Bool', 'true', 'true', true],
    ['Bool', 'true', 'false', false],
    ['Bool', 'true', undefined, false],
    ['StringEquals', 'abc', 'abc', true],
    ['StringEquals', 'abc', 'ABC', false],
    ['StringEquals', 'abc', undefined, false],
    ['StringEqualsIgnoreCase', 'abc', 'ABC', true],
    ['StringNotEquals', 'abc', 'xyz', true],
    ['StringNotEquals', 'abc', 'abc', false],
    ['StringNotEquals', 'abc', undefined, true],
    ['StringLike', 'a*c', 'abbbc', true],
    ['StringLike', 'a?c', 'abbc', false],
    ['StringLike', 'a*', undefined, false],
    ['StringNotLike', 'a*', 'b', true],
    ['StringNotLike', 'a*', undefined, true],
    ['ArnEquals', `${BUCKET}`, BUCKET, true],
    ['ArnEquals', `${BUCKET}`, 'arn:aws:s3:::other', false],
    ['ArnEquals', BUCKET, undefined, false],
    ['ArnLike', 'arn:aws:s3:::up*', BUCKET, true],
    ['ArnLike', 'arn:aws:s3:::up*', 'arn:aws:s3:::down', false],
    ['ArnLike', 'arn:aws:s3:::up*', undefined, false],
    ['ArnNotLike', 'arn:aws:s3:::up*', undefined, true],
    ['NumericLessThan', '1.2', '1.1', true],
    ['NumericLessThan', '1.2', '1.2', false],
    ['NumericLessThan', '1.2', '1.3', false],
    ['NumericLessThan', '1.2', undefined, false],
    ['NumericGreaterThanEquals', '10', '10', true],
    ['DateLessThan', '2030-01-01T00:00:00Z', '2029-12-31T23:59:59Z', true],
  ])('%s %s against %s: %s', (operator, value, actual, expected) => {
    // Prepare
    const context: Request['context'] = actual === undefined ? {} : { 'test:Key': actual };
    // Act & Assess
    expect(decide({ [operator]: { 'test:Key': value } }, context)).toBe(expected);
  });

  it('ORs the values of one key, NORs them for a negated operator', () => {
    // Prepare
    const any = { StringEquals: { 'aws:SourceAccount': [ACCOUNT, OTHER] } };
    const none = { StringNotEquals: { 'aws:SourceAccount': [ACCOUNT, OTHER] } };
    // Act & Assess
    expect(decide(any, { 'aws:SourceAccount': OTHER })).toBe(true);
    expect(decide(none, { 'aws:SourceAccount': OTHER })).toBe(false);
    expect(decide(none, { 'aws:SourceAccount': '777788889999' })).toBe(true);
  });

  it('ANDs keys and operators', () => {
    // Prepare
    const both = { Bool: { 'aws:SecureTransport': 'true' }, StringEquals: { 'aws:SourceAccount': ACCOUNT } };
    // Act & Assess
    expect(decide(both, { 'aws:SecureTransport': 'true', 'aws:SourceAccount': ACCOUNT })).toBe(true);
    expect(decide(both, { 'aws:SecureTransport': 'true' })).toBe(false);
    expect(decide(both, { 'aws:SecureTransport': 'false', 'aws:SourceAccount': ACCOUNT })).toBe(false);
  });

  it('compares a boolean written as JSON true like the string "true"', () => {
    // Prepare: a raw JSON policy may write a Bool value unquoted.
    const condition = { Bool: { 'aws:SecureTransport': true as unknown as string } };
    // Act & Assess
    expect(decide(condition, { 'aws:SecureTransport': 'true' })).toBe(true);
  });

  it('reads condition keys case-insensitively', () => {
    // Act & Assess: Lambda writes AWS:SourceAccount, services send aws:SourceAccount.
    expect(decide({ StringEquals: { 'AWS:SourceAccount': ACCOUNT } }, { 'aws:sourceaccount': ACCOUNT })).toBe(true);
  });

  it('lets ...IfExists hold when the key is missing and test it when present', () => {
    // Prepare
    const ifExists = { StringEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } };
    // Act & Assess
    expect(decide(ifExists, {})).toBe(true);
    expect(decide(ifExists, { 's3:x-amz-server-side-encryption': 'aws:kms' })).toBe(true);
    expect(decide(ifExists, { 's3:x-amz-server-side-encryption': 'AES256' })).toBe(false);
  });

  it('makes Null test whether the key is missing', () => {
    // Act & Assess
    expect(decide({ Null: { 's3:versionid': 'true' } }, {})).toBe(true);
    expect(decide({ Null: { 's3:versionid': 'true' } }, { 's3:versionid': 'v1' })).toBe(false);
    expect(decide({ Null: { 's3:versionid': 'false' } }, { 's3:versionid': 'v1' })).toBe(true);
  });

  it('keeps a deny with a missing key from applying (the TLS deny needs s3:TlsVersion to bite)', () => {
    // Prepare
    const identity = [policy('role', allow('Read', 's3:GetObject', `${BUCKET}/*`))];
    const resource = [
      policy('bucket', {
        Sid: 'DenyTlsOlderThan12',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: `${BUCKET}/*`,
        Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } },
      }),
    ];
    const policies = { identity, resource, resourceAccount: ACCOUNT };
    // Act
    const missing = evaluate(request('s3:GetObject', `${BUCKET}/a`), policies);
    const old = evaluate(request('s3:GetObject', `${BUCKET}/a`, { 's3:TlsVersion': '1.0' }), policies);
    // Assess
    expect([missing.decision, old.decision]).toEqual(['Allow', 'ExplicitDeny']);
  });

  it('refuses an operator it does not implement instead of guessing', () => {
    // Act & Assess
    expect(() => decide({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '10.1.2.3' })).toThrow(
      'Unsupported condition operator IpAddress',
    );
  });
});

describe('KMS key policies', () => {
  const rootDelegation: StatementJson = {
    Sid: 'EnableIamPolicies',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
    Action: 'kms:*',
    Resource: '*',
  };
  const decrypt = request('kms:Decrypt', KEY);

  it('allows through root delegation when the identity policy allows', () => {
    // Prepare
    const policies = {
      identity: [policy('role', allow('UseKey', 'kms:Decrypt', KEY))],
      resource: [policy('key', rootDelegation)],
      resourceAccount: ACCOUNT,
    };
    // Act
    const decision = evaluate(decrypt, policies);
    // Assess
    expect(decision.decision).toBe('Allow');
    expect(decision.statements.map((s) => `${s.policy}#${s.sid}`)).toEqual(['key#EnableIamPolicies', 'role#UseKey']);
  });

  it('denies through root delegation when no identity policy allows', () => {
    // Prepare
    const policies = { identity: [], resource: [policy('key', rootDelegation)], resourceAccount: ACCOUNT };
    // Act
    const decision = evaluate(decrypt, policies);
    // Assess
    expect(decision.decision).toBe('ImplicitDeny');
    expect(decision.reason).toContain('delegates to account');
  });

  it('denies despite an identity allow when the key policy does not delegate to the account', () => {
    // Prepare
    const admin: StatementJson = {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/admin` },
      Action: 'kms:*',
      Resource: '*',
    };
    const policies = {
      identity: [policy('role', allow('UseKey', 'kms:*', '*'))],
      resource: [policy('key', admin)],
      resourceAccount: ACCOUNT,
    };
    // Act
    const decision = evaluate(decrypt, policies);
    // Assess
    expect(decision.decision).toBe('ImplicitDeny');
    expect(decision.reason).toContain('neither names');
  });

  it('allows with no identity policy when the key policy names the role', () => {
    // Prepare
    const direct: StatementJson = {
      Sid: 'Worker',
      Effect: 'Allow',
      Principal: { AWS: ROLE },
      Action: 'kms:Decrypt',
      Resource: '*',
    };
    // Act
    const decision = evaluate(decrypt, { resource: [policy('key', direct)], resourceAccount: ACCOUNT });
    // Assess
    expect(decision.decision).toBe('Allow');
  });

  it('applies kms:ViaService and encryption context conditions of the key policy', () => {
    // Prepare
    const viaS3: StatementJson = {
      Effect: 'Allow',
      Principal: { AWS: ROLE },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: {
        StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
        ArnEquals: { 'kms:EncryptionContext:aws:s3:arn': BUCKET },
      },
    };
    const policies = { resource: [policy('key', viaS3)], resourceAccount: ACCOUNT };
    // Act
    const viaService = evaluate(
      request('kms:Decrypt', KEY, {
        'kms:ViaService': 's3.us-east-1.amazonaws.com',
        'kms:EncryptionContext:aws:s3:arn': BUCKET,
      }),
      policies,
    );
    const direct = evaluate(decrypt, policies);
    // Assess
    expect([viaService.allowed, direct.allowed]).toEqual([true, false]);
  });
});

describe('service principals', () => {
  const FUNCTION = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:f`;
  const permission = policy('lambda-permission', {
    Sid: 'AllowS3',
    Effect: 'Allow',
    Principal: { Service: 's3.amazonaws.com' },
    Action: 'lambda:InvokeFunction',
    Resource: FUNCTION,
    Condition: { StringEquals: { 'AWS:SourceAccount': ACCOUNT }, ArnLike: { 'AWS:SourceArn': BUCKET } },
  });
  const invoke = (context: Request['context']): Request => ({
    principal: servicePrincipal('s3.amazonaws.com'),
    action: 'lambda:InvokeFunction',
    resource: FUNCTION,
    context,
  });

  it('allows the service from the right bucket and account', () => {
    // Act
    const decision = evaluate(invoke({ 'aws:SourceArn': BUCKET, 'aws:SourceAccount': ACCOUNT }), {
      resource: [permission],
      resourceAccount: ACCOUNT,
    });
    // Assess
    expect(decision.decision).toBe('Allow');
  });

  it.each([
    ['another bucket', { 'aws:SourceArn': 'arn:aws:s3:::other', 'aws:SourceAccount': ACCOUNT }],
    ['another account', { 'aws:SourceArn': BUCKET, 'aws:SourceAccount': OTHER }],
    ['no source', {}],
  ])('denies the service for %s', (_, context) => {
    // Act
    const decision = evaluate(invoke(context), { resource: [permission], resourceAccount: ACCOUNT });
    // Assess
    expect(decision.decision).toBe('ImplicitDeny');
  });

  it('ignores identity policies for a service principal', () => {
    // Prepare
    const identity = [policy('role', allow('All', '*', '*'))];
    // Act
    const decision = evaluate(invoke({}), { identity, resourceAccount: ACCOUNT });
    // Assess
    expect(decision.decision).toBe('ImplicitDeny');
    expect(decision.reason).toContain('service principals need one');
  });
});

describe('cross-account requests', () => {
  const foreign: Request = {
    principal: rolePrincipal(`arn:aws:iam::${OTHER}:role/stranger`),
    action: 's3:GetObject',
    resource: `${BUCKET}/a`,
  };

  it('denies when only the caller’s identity policy allows', () => {
    // Prepare
    const identity = [policy('their-role', allow('All', 's3:*', '*'))];
    // Act
    const decision = evaluate(foreign, { identity, resourceAccount: ACCOUNT });
    // Assess
    expect(decision.decision).toBe('ImplicitDeny');
    expect(decision.reason).toContain('cross-account');
  });

  it('denies when only the resource policy allows', () => {
    // Prepare
    const resource = [
      policy('bucket', { Effect: 'Allow', Principal: { AWS: OTHER }, Action: 's3:GetObject', Resource: `${BUCKET}/*` }),
    ];
    // Act
    const decision = evaluate(foreign, { resource, resourceAccount: ACCOUNT });
    // Assess
    expect(decision.decision).toBe('ImplicitDeny');
  });

  it('allows when both sides allow', () => {
    // Prepare
    const identity = [policy('their-role', allow('All', 's3:*', '*'))];
    const resource = [
      policy('bucket', { Effect: 'Allow', Principal: { AWS: OTHER }, Action: 's3:GetObject', Resource: `${BUCKET}/*` }),
    ];
    // Act
    const decision = evaluate(foreign, { identity, resource, resourceAccount: ACCOUNT });
    // Assess
    expect(decision.decision).toBe('Allow');
  });
});

describe('describeDecision', () => {
  it('names the verdict, the caller, the request and the deciding statements on one line', () => {
    // Prepare
    const req = request('s3:GetObject', `${BUCKET}/a`);
    const decision = evaluate(req, {
      identity: [policy('role', allow('Read', 's3:GetObject', '*'))],
      resourceAccount: ACCOUNT,
    });
    // Act
    const line = describeDecision(req, decision);
    // Assess
    expect(line).toBe(
      `ALLOW ${ROLE} s3:GetObject on ${BUCKET}/a by role#Read: an identity policy allows s3:GetObject on ${BUCKET}/a`,
    );
  });
});

describe('the cases the least-privilege proof relies on', () => {
  it('lets a negotiated TLS 1.3 through the TLS deny (recorded off the wire as "1.3")', () => {
    // Prepare
    const deny = {
      Sid: 'DenyTlsOlderThan12',
      Effect: 'Deny' as const,
      Principal: '*' as const,
      Action: 's3:*',
      Resource: `${BUCKET}/*`,
      Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } },
    };
    const policies = {
      identity: [policy('role', allow('Read', 's3:GetObject', `${BUCKET}/*`))],
      resource: [policy('bucket', deny)],
      resourceAccount: ACCOUNT,
    };
    // Act
    const decision = evaluate(request('s3:GetObject', `${BUCKET}/a`, { 's3:TlsVersion': '1.3' }), policies);
    // Assess
    expect(decision.decision).toBe('Allow');
  });

  it('applies a Principal "*" deny to a service principal too (CloudWatch publishing without TLS)', () => {
    // Prepare
    const topic = `arn:aws:sns:us-east-1:${ACCOUNT}:alarms`;
    const resource = [
      policy(
        'topic',
        {
          Sid: 'Cw',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: topic,
        },
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 'sns:*',
          Resource: topic,
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ),
    ];
    const publish = (secure: string): Request => ({
      principal: servicePrincipal('cloudwatch.amazonaws.com'),
      action: 'sns:Publish',
      resource: topic,
      context: { 'aws:SecureTransport': secure },
    });
    // Act
    const [overTls, plain] = ['true', 'false'].map((s) => evaluate(publish(s), { resource, resourceAccount: ACCOUNT }));
    // Assess
    expect([overTls.decision, plain.decision]).toEqual(['Allow', 'ExplicitDeny']);
  });

  it('matches a key policy’s ArnEquals on an encryption context only for that log group', () => {
    // Prepare
    const group = `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/lambda/fn`;
    const resource = [
      policy('key', {
        Effect: 'Allow',
        Principal: { Service: 'logs.us-east-1.amazonaws.com' },
        Action: 'kms:GenerateDataKey*',
        Resource: '*',
        Condition: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': group } },
      }),
    ];
    const use = (arn: string): Request => ({
      principal: servicePrincipal('logs.us-east-1.amazonaws.com'),
      action: 'kms:GenerateDataKey',
      resource: KEY,
      context: { 'kms:EncryptionContext:aws:logs:arn': arn },
    });
    // Act
    const decisions = [group, `${group}-other`].map((arn) =>
      evaluate(use(arn), { resource, resourceAccount: ACCOUNT }),
    );
    // Assess
    expect(decisions.map((d) => d.decision)).toEqual(['Allow', 'ImplicitDeny']);
  });

  it('refuses a trust policy’s service principal when aws:SourceAccount is another account', () => {
    // Prepare
    const trust = [
      policy('trust', {
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
      }),
    ];
    const assume = (account: string): Request => ({
      principal: servicePrincipal('lambda.amazonaws.com'),
      action: 'sts:AssumeRole',
      resource: ROLE,
      context: { 'aws:SourceAccount': account },
    });
    // Act
    const decisions = [ACCOUNT, OTHER].map((a) => evaluate(assume(a), { resource: trust, resourceAccount: ACCOUNT }));
    // Assess
    expect(decisions.map((d) => d.decision)).toEqual(['Allow', 'ImplicitDeny']);
  });
});
