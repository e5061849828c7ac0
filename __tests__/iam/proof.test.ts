// The pieces of the least-privilege proof around the evaluator: evidence on disk, parliament's
// suppressions, the report npm run security prints, and what e2e adds in moto.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordedCall } from '../../scripts/lib/iam/recorder';
import { applySuppressions, ParliamentFinding, readSuppressions } from '../../scripts/lib/iam/parliament';
import { asDeployed, Evidence, proofReport, stackUnderProof } from '../../scripts/lib/iam/proof';
import { readEvidence, RECORD_CALLS_VARIABLE, saveEvidence } from '../../scripts/lib/iam/evidence';
import { EXAMPLE_DEPLOYMENT } from '../../scripts/lib/iam/policy';
import { motoResourceStarCopies } from '../../scripts/lib/iam/moto-auth';
import { missingEvidence } from '../../scripts/security';

const stack = stackUnderProof({}, EXAMPLE_DEPLOYMENT);
const call = (overrides: Partial<RecordedCall> = {}): RecordedCall => ({
  service: 's3',
  operation: 'GetObject',
  action: 's3:GetObjectVersion',
  resource: `arn:aws:s3:::${stack.bucket}/k`,
  context: { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3' },
  mapped: true,
  ...overrides,
});
const evidence = (calls: RecordedCall[], overrides: Partial<Evidence> = {}): Evidence => ({
  name: 'soak',
  synthEnv: {},
  deployment: EXAMPLE_DEPLOYMENT,
  caller: 'function',
  transport: 'recorded',
  calls,
  ...overrides,
});
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-iam-proof-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('evidence on disk', () => {
  it('is saved only when TAP_RECORD_CALLS names a folder, and read back whole', () => {
    // Prepare
    const saved = evidence([call()]);
    // Act
    saveEvidence(saved, {});
    saveEvidence(saved, { [RECORD_CALLS_VARIABLE]: dir });
    // Assess
    expect(readEvidence(dir)).toEqual([saved]);
    expect(fs.readdirSync(dir)).toEqual(['soak.json']);
  });
});

describe('parliament suppressions', () => {
  const finding = (overrides: Partial<ParliamentFinding> = {}): ParliamentFinding => ({
    issue: 'RESOURCE_STAR',
    policy: 'aws_kms_key.pipeline_key',
    severity: 'LOW',
    detail: '["kms:Decrypt"]',
    ...overrides,
  });

  it('reads entries with their reasons, and refuses one without', () => {
    // Prepare
    const good =
      'suppress:\n  - issue: RESOURCE_STAR\n    policy: aws_kms_key.pipeline_key\n    reason: a key policy’s * is the key\n';
    const bad = 'suppress:\n  - issue: MALFORMED\n    policy: aws_iam_role.function_role\n';
    // Act
    const read = readSuppressions(good);
    // Assess
    expect(read).toEqual([
      { issue: 'RESOURCE_STAR', policy: 'aws_kms_key.pipeline_key', reason: 'a key policy’s * is the key' },
    ]);
    expect(() => readSuppressions(bad)).toThrow('a suppression needs its reason');
  });

  it('suppresses by issue, policy and a piece of the detail; reports stale entries and open findings', () => {
    // Prepare
    const suppressions = readSuppressions(
      [
        'suppress:',
        '  - issue: RESOURCE_STAR',
        '    policy: aws_kms_key.pipeline_key',
        '    reason: the key',
        '  - issue: MISMATCHED_TYPE',
        '    policy: aws_s3_bucket_policy.uploads_policy',
        "    detail: s3:TlsVersion requires a value of type Numeric but given ['1.2']",
        '    reason: documented example',
        '  - issue: MALFORMED',
        '    policy: gone',
        '    reason: no longer matches',
      ].join('\n'),
    );
    const findings = [
      finding(),
      finding({
        issue: 'MISMATCHED_TYPE',
        policy: 'aws_s3_bucket_policy.uploads_policy',
        detail: "Type mismatch: s3:TlsVersion requires a value of type Numeric but given ['1.2']",
      }),
      finding({ issue: 'MISMATCHED_TYPE', policy: 'aws_s3_bucket_policy.uploads_policy', detail: 'something else' }),
    ];
    // Act
    const { open, suppressed, stale } = applySuppressions(findings, suppressions);
    // Assess
    expect(suppressed.filter((s) => s.count > 0)).toHaveLength(2);
    expect(open.map((f) => f.detail)).toEqual(['something else']);
    expect(stale.map((s) => s.policy)).toEqual(['gone']);
  });
});

describe('the report', () => {
  const operator = (command: string, calls: RecordedCall[]) =>
    evidence(calls, { name: command, caller: 'operator', command, transport: 'stand-in-http' });

  it('fails on a call the role is not granted, and on no tap command recorded', () => {
    // Prepare
    const put = call({ operation: 'PutObject', action: 's3:PutObject' });
    // Act
    const report = proofReport([evidence([call(), put])]);
    // Assess
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^soak: DENY \(implicit\) .* s3:PutObject/),
        'no tap command was recorded',
      ]),
    );
    expect(report.counts.calls).toBe(2);
  });

  it('evaluates a stand-in’s plain http as the deployed transport, and says so', () => {
    // Prepare
    const overHttp = call({ context: { 'aws:SecureTransport': 'false' } });
    // Act
    const report = proofReport([evidence([overHttp], { transport: 'stand-in-http' })]);
    // Assess
    expect(report.problems.filter((p) => p.startsWith('soak:'))).toEqual([]);
    expect(report.lines[1]).toContain('over http to a stand-in: evaluated as deployed');
    expect(asDeployed(overHttp).context).toMatchObject({ 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.2' });
  });

  it('names one check per tap command over all its evidence: ok when nothing is denied', () => {
    // Prepare
    const listing = call({ operation: 'ListObjectVersions', action: 's3:ListBucketVersions' });
    const command = 'tap reconcile --repair';
    // Act
    const report = proofReport([
      evidence([call()]),
      operator(command, [listing, call()]),
      operator(command, [call({ implied: true })]),
    ]);
    // Assess
    expect(report.lines).toContain('  ok   tap reconcile --repair (operator): 2 call(s) + 1 implied, 0 denied');
    expect(report.counts).toMatchObject({ tapCommands: 1 });
    expect(report.problems.filter((p) => p.startsWith('tap command'))).toEqual([]);
  });

  it('fails a tap command with a call denied (unmapped) or with no call recorded', () => {
    // Prepare
    const unmapped = call({ operation: 'GetBucketLogging', action: undefined, resource: undefined, mapped: false });
    // Act
    const report = proofReport([
      evidence([call()]),
      operator('tap show', [unmapped]),
      operator('tap reconcile --repair', []),
    ]);
    // Assess
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tap command tap show \(operator\): UNMAPPED s3 GetBucketLogging/),
        'tap command tap reconcile --repair (operator): no call recorded',
      ]),
    );
  });

  it('names each piece of required evidence no recording suite saved', () => {
    // Prepare
    const saved = ['soak', 'tap-upload', 'tap-show', 'tap-redrive', 'tap-redrive-local', 'tap-eventbridge-enable'].map(
      (name) => ({ name }),
    );
    // Act
    const missing = missingEvidence(saved);
    // Assess
    expect(missing).toEqual(['no evidence "tap-reconcile-repair": its recording suite did not save it']);
    expect(missingEvidence([])).toHaveLength(7);
  });

  it('counts a proof that evaluated no function call as missing evidence, never a pass', () => {
    // Act
    const report = proofReport([operator('tap show', [call()])]);
    // Assess
    expect(report.problems).toContain('no function call was recorded');
  });
});

describe('what e2e adds in moto', () => {
  it('copies only the DynamoDB statements of the role onto "*", nothing else', () => {
    // Prepare
    const role = stack.policies['aws_iam_role_policy.function_role_policy'].document;
    // Act
    const copies = motoResourceStarCopies(role, 'dynamodb');
    // Assess
    expect(copies.Statement).toEqual([
      {
        Sid: 'WriteMetadataItemsOnStarForMoto',
        Effect: 'Allow',
        Action: ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:GetItem'],
        Resource: '*',
      },
    ]);
  });
});
