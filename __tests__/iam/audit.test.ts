// The stack's policies against the calls the pipeline makes: every path of the real handler
// (createHandler, the code the bundle is built from) driven in-process through a fake wire (paths.ts),
// the calls the platform makes because of the deployment (the service-to-service paths),
// and the refusals as explicit requests. Offline: no request leaves the process.
import { EXAMPLE_DEPLOYMENT, NamedPolicy } from '../../scripts/lib/iam/policy';
import { RecordedCall } from '../../scripts/lib/iam/recorder';
import { driveAllPaths, DrivenPath, HANDLER_PATHS } from '../../scripts/lib/iam/paths';
import { checkCalls, checkRefusals, grantTable, platformCalls, stackUnderProof } from '../../scripts/lib/iam/proof';
import { withPolicy } from './support';

// One synth per configuration: the default one, and one that records object tags.
const d = EXAMPLE_DEPLOYMENT;
const plain = stackUnderProof({}, d);
const tagged = stackUnderProof({ TAP_RECORD_OBJECT_TAGS: 'true' }, d);
const { policies } = plain;
const rolePolicy = policies['aws_iam_role_policy.function_role_policy'];
const bucket = plain.bucket;
const table = plain.names.tableName;

let drivenPlain: DrivenPath[];
let drivenTagged: DrivenPath[];
beforeAll(async () => {
  [drivenPlain, drivenTagged] = [await driveAllPaths(plain), await driveAllPaths(tagged)];
});

const callsOf = (driven: DrivenPath[]): RecordedCall[] => driven.flatMap((p) => p.calls);

describe('every path of the real handler against the stack’s policies', () => {
  it('takes each path to the outcome it is named for', () => {
    // Prepare
    const expected = HANDLER_PATHS.map((p) => [p.name, p.outcome]);
    // Act
    const reached = drivenTagged.map((p) => [p.path.name, p.outcome]);
    // Assess
    expect(reached).toEqual(expected);
    expect(drivenPlain.map((p) => p.path.name)).toEqual(
      HANDLER_PATHS.filter((p) => !p.options?.tags).map((p) => p.name),
    );
  });

  it.each([
    ['default', () => ({ stack: plain, driven: drivenPlain })],
    ['tags on', () => ({ stack: tagged, driven: drivenTagged })],
  ])('allows every call of every path, and every platform call (%s)', (_, of) => {
    // Prepare
    const { stack, driven } = of();
    const calls = [...callsOf(driven), ...platformCalls(stack)];
    // Act
    const checks = checkCalls(stack, calls);
    // Assess
    expect(calls.filter((c) => !c.mapped)).toEqual([]);
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
  });

  it('records the exact versioned object ARN, the table ARN and the request context', () => {
    // Prepare
    const created = drivenPlain[0].calls;
    // Act
    const [head, get] = created.filter((c) => c.service === 's3');
    const decrypt = created.find((c) => c.implied && c.context['kms:ViaService']?.startsWith('s3.'));
    const put = created.find((c) => c.action === 'dynamodb:PutItem');
    // Assess
    expect([head.action, head.resource]).toEqual(['s3:GetObjectVersion', `arn:aws:s3:::${bucket}/uploads/photo 1.png`]);
    expect(head.context).toMatchObject({
      'aws:SecureTransport': 'true',
      's3:TlsVersion': '1.2',
      's3:versionid': '3HL4kqtJvjVBH40Nrjfkd',
      'lambda:SourceFunctionArn': plain.functionArn,
    });
    expect(get.action).toBe('s3:GetObjectVersion');
    expect(decrypt?.context).toMatchObject({
      'kms:ViaService': 's3.us-east-1.amazonaws.com',
      'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${bucket}`,
    });
    expect(put?.resource).toBe(`arn:aws:dynamodb:us-east-1:${d.account}:table/${table}`);
  });

  it('reads tags only with tags on, as s3:GetObjectVersionTagging', () => {
    // Prepare
    const actions = (driven: DrivenPath[]) => new Set(callsOf(driven).map((c) => c.action));
    // Act
    const [withTags, without] = [actions(drivenTagged), actions(drivenPlain)];
    // Assess
    expect(withTags.has('s3:GetObjectVersionTagging')).toBe(true);
    expect(without.has('s3:GetObjectVersionTagging')).toBe(false);
  });

  it('uses every grant of the role, or says why a grant cannot be exercised here', () => {
    // Prepare
    const checks = checkCalls(tagged, callsOf(drivenTagged));
    // Act
    const rows = grantTable(tagged, checks);
    // Assess
    expect(rows.filter((r) => r.status === 'unused')).toEqual([]);
    expect(
      rows
        .filter((r) => r.status === 'not-exercised')
        .map((r) => r.action)
        .sort(),
    ).toEqual([
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:ListBucket',
      'sqs:SendMessage',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    expect(
      rows
        .filter((r) => r.status === 'used')
        .map((r) => r.action)
        .sort(),
    ).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'kms:Decrypt',
      's3:GetObject',
      's3:GetObjectTagging',
      's3:GetObjectVersion',
      's3:GetObjectVersionTagging',
    ]);
  });

  it('finds the grants no path of the code uses (ListBucket, the on-failure send and its data key)', () => {
    // Prepare
    const checks = checkCalls(plain, callsOf(drivenPlain));
    // Act
    const unused = grantTable(plain, checks)
      .filter((r) => r.status !== 'used')
      .map((r) => r.action);
    // Assess
    expect(unused).toEqual(expect.arrayContaining(['s3:ListBucket', 'sqs:SendMessage', 'kms:GenerateDataKey']));
    expect(unused).not.toContain('dynamodb:GetItem');
  });
});

describe('the refusals: what must be denied', () => {
  it('denies every refusal', () => {
    // Prepare
    const stacks = [plain, tagged];
    // Act
    const results = stacks.flatMap((stack) => checkRefusals(stack));
    // Assess
    expect(results.filter((r) => !r.ok).map((r) => `${r.refusal.name}: ${r.line}`)).toEqual([]);
    expect(results.length).toBeGreaterThan(60);
  });

  it('refuses the TLS-less and TLS 1.1 requests by explicit deny, naming the statement', () => {
    // Prepare
    const results = checkRefusals(plain).filter((r) => /without TLS|TLS 1\.1/.test(r.refusal.name));
    // Act
    const sids = results.map((r) => [r.decision.decision, ...r.decision.statements.map((s) => s.sid)]);
    // Assess
    expect(results.length).toBeGreaterThanOrEqual(6);
    for (const [decision, sid] of sids) {
      expect(decision).toBe('ExplicitDeny');
      expect(['DenyInsecureTransport', 'DenyTlsOlderThan12']).toContain(sid);
    }
  });

  it('fails a refusal whose policy changes (S3 may invoke the function from any bucket)', () => {
    // Prepare
    const permission = Object.values(plain.policies).find((p) => p.name === 'aws_lambda_permission.allow_s3_invoke')!;
    const loose: NamedPolicy = {
      ...permission,
      document: { ...permission.document, Statement: permission.document.Statement.map(({ Condition: _, ...s }) => s) },
    };
    // Act
    const results = checkRefusals(withPolicy(plain, loose)).filter((r) => r.refusal.name.startsWith('S3 invoking'));
    // Assess
    expect(results.map((r) => r.ok)).toEqual([false, false]);
  });
});

describe('what the audit catches', () => {
  it('denies the S3 calls over plain http through the bucket policy’s DenyInsecureTransport', () => {
    // Prepare
    const overHttp = callsOf(drivenPlain)
      .filter((c) => c.service === 's3')
      .map(({ context: { 's3:TlsVersion': _, ...context }, ...c }) => ({
        ...c,
        context: { ...context, 'aws:SecureTransport': 'false' },
      }));
    // Act
    const checks = checkCalls(plain, overHttp);
    // Assess
    expect(checks.map((c) => [c.decision.decision, c.decision.statements.map((s) => s.sid)])).toEqual(
      checks.map(() => ['ExplicitDeny', ['DenyInsecureTransport']]),
    );
    expect(checks.length).toBeGreaterThan(0);
  });

  it('denies the implied KMS calls when the role loses its key statement', () => {
    // Prepare
    const withoutKey: NamedPolicy = {
      ...rolePolicy,
      document: {
        ...rolePolicy.document,
        Statement: rolePolicy.document.Statement.filter((s) => s.Sid !== 'UsePipelineKey'),
      },
    };
    // Act
    const checks = checkCalls(withPolicy(plain, withoutKey), callsOf(drivenPlain));
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
    const [check] = checkCalls(plain, [call]);
    // Assess
    expect(check.decision.decision).toBe('ImplicitDeny');
  });

  it('fails an unmapped call instead of skipping it', () => {
    // Prepare
    const call = { service: 's3', operation: 'GetBucketLifecycleConfiguration', context: {}, mapped: false };
    // Act
    const [check] = checkCalls(plain, [call]);
    // Assess
    expect(check.decision.allowed).toBe(false);
    expect(check.line).toMatch(/^UNMAPPED s3 GetBucketLifecycleConfiguration/);
  });
});
