// The pieces of the least-privilege proof around the evaluator: calls files on disk and the SDK-wide
// recording, parliament's suppressions, the report npm run security prints, and what e2e adds in moto.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Readable } from 'node:stream';
import {
  callsFileOf,
  CallsHeader,
  inFunction,
  inFunctionScope,
  parseCallsFile,
  readCallsFiles,
  recordAsEnv,
  recordCallsTo,
  recorderFromEnv,
  recordingExecArgv,
  recordSdkCalls,
  recordThisProcess,
  renameBucket,
} from '../../scripts/lib/iam/calls-file';
import { createRecorder, RecordedCall } from '../../scripts/lib/iam/recorder';
import {
  applySuppressions,
  parseFindings,
  ParliamentFinding,
  readSuppressions,
} from '../../scripts/lib/iam/parliament';
import { proofReport } from '../../scripts/lib/iam/report';
import { asDeployedTransport } from '../../scripts/lib/iam/proof';
import { stackUnderProof } from '../../scripts/lib/iam/stack';
import { EXAMPLE_DEPLOYMENT } from '../../scripts/lib/iam/policy';
import { motoResourceStarCopies } from '../../scripts/lib/iam/moto-auth';
import { missingEvidence } from '../../scripts/security';

const HEADER: CallsHeader = {
  kind: 'tap-iam-calls',
  source: 'soak',
  deployment: EXAMPLE_DEPLOYMENT,
  synthEnv: {},
  transport: 'recorded',
  caller: 'function',
};
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
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-iam-proof-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('calls files', () => {
  it('writes a header and one line per call, and reads them back', () => {
    // Prepare
    const file = path.join(dir, 'soak.jsonl');
    // Act
    recordCallsTo(file, HEADER).record(call(), call({ operation: 'HeadObject' }));
    const [read] = readCallsFiles(dir);
    // Assess
    expect(read.header).toEqual(HEADER);
    expect(read.calls.map((c) => c.operation)).toEqual(['GetObject', 'HeadObject']);
  });

  it('records only when TAP_RECORD_CALLS names a folder (the soak’s switch)', () => {
    // Prepare
    const off = recorderFromEnv(HEADER, {});
    // Act
    const on = recorderFromEnv(HEADER, { TAP_RECORD_CALLS: dir });
    on?.record(call());
    // Assess
    expect(off).toBeUndefined();
    expect(on?.file).toBe(path.join(dir, 'soak.jsonl'));
    expect(parseCallsFile(callsFileOf('soak', { TAP_RECORD_CALLS: dir })).calls).toHaveLength(1);
  });

  it('records a whole child process started with recordingExecArgv, as TAP_RECORD_CALLS_AS says', () => {
    // Prepare: a child that makes one SDK call (refused at once: nothing listens on port 9)
    const file = path.join(dir, 'soak-operator.child.jsonl');
    const header: CallsHeader = { ...HEADER, source: 'soak-operator', caller: 'operator', command: 'tap show' };
    const child = `
      const { DynamoDBClient, DescribeTableCommand } = require('@aws-sdk/client-dynamodb');
      const client = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1,
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      client.send(new DescribeTableCommand({ TableName: 'metadata' })).catch(() => client.destroy());`;
    // Act
    execFileSync(process.execPath, [...recordingExecArgv(), '-e', child], {
      cwd: path.join(__dirname, '..', '..'),
      env: { ...process.env, ...recordAsEnv({ file, header, options: { account: '111122223333' } }) },
    });
    // Assess
    const read = parseCallsFile(file);
    expect(read.header).toEqual(header);
    expect(read.calls.map((c) => [c.action, c.resource])).toEqual([
      ['dynamodb:DescribeTable', 'arn:aws:dynamodb:us-east-1:111122223333:table/metadata'],
    ]);
  });

  it('records nothing in a process without TAP_RECORD_CALLS_AS', () => {
    // Act & Assess
    expect(recordThisProcess({})).toBeUndefined();
  });

  it('refuses a file without a header', () => {
    // Prepare
    fs.writeFileSync(path.join(dir, 'bad.jsonl'), `${JSON.stringify(call())}\n`);
    // Act & Assess
    expect(() => readCallsFiles(dir)).toThrow('is not a tap-iam-calls header');
  });

  it('renames a stand-in bucket to the stack’s in resources and encryption contexts', () => {
    // Prepare
    const calls = [
      call({ resource: 'arn:aws:s3:::it/k', context: { 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::it' } }),
    ];
    // Act
    const [renamed] = renameBucket(calls, 'it', 'tap-dev-uploads');
    // Assess
    expect(renamed.resource).toBe('arn:aws:s3:::tap-dev-uploads/k');
    expect(renamed.context['kms:EncryptionContext:aws:s3:arn']).toBe('arn:aws:s3:::tap-dev-uploads');
  });
});

describe('recordSdkCalls', () => {
  const answer = {
    handle: async () => ({
      response: { statusCode: 200, headers: {}, body: Readable.from([Buffer.from('{}')]) },
    }),
  };

  it('records every client of the process, only inside the function’s scope when asked, until undone', async () => {
    // Prepare
    const recorder = createRecorder();
    const undo = recordSdkCalls(recorder, { account: '111122223333' }, inFunction);
    const dynamodb = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: 'https://dynamodb.us-east-1.amazonaws.com',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: answer,
    });
    const get = () => dynamodb.send(new GetItemCommand({ TableName: 't', Key: { k: { S: 'v' } } }));
    const other = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: answer,
    });
    try {
      // Act
      await get();
      await inFunctionScope(get)();
      undo();
      await inFunctionScope(() => other.send(new GetItemCommand({ TableName: 't', Key: { k: { S: 'v' } } })))();
      // Assess
      expect(recorder.calls.map((c) => c.action)).toEqual(['dynamodb:GetItem']);
    } finally {
      undo();
      dynamodb.destroy();
      other.destroy();
    }
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
    expect(suppressed).toHaveLength(2);
    expect(open.map((f) => f.detail)).toEqual(['something else']);
    expect(stale.map((s) => s.policy)).toEqual(['gone']);
  });

  it('parses parliament’s JSON lines, one finding per distinct place and detail', () => {
    // Prepare
    const line = JSON.stringify({
      issue: 'MISMATCHED_TYPE',
      severity: 'MEDIUM',
      detail: 'x',
      location: { filepath: '/tmp/p/aws_s3_bucket_policy.uploads_policy.json', line: 29 },
    });
    // Act
    const findings = parseFindings(`${line}\n${line}\nnot json\n`, (f) => path.basename(f, '.json'));
    // Assess
    expect(findings).toEqual([
      {
        issue: 'MISMATCHED_TYPE',
        policy: 'aws_s3_bucket_policy.uploads_policy',
        severity: 'MEDIUM',
        detail: 'x',
        line: 29,
      },
    ]);
  });
});

describe('the report', () => {
  const file = (calls: RecordedCall[], header: Partial<CallsHeader> = {}) => ({
    file: 'x.jsonl',
    header: { ...HEADER, ...header },
    calls,
  });
  const stackOf = () => stack;

  it('fails on a required source that has no file, and on a call the role is not granted', () => {
    // Prepare
    const put = call({ operation: 'PutObject', action: 's3:PutObject' });
    // Act
    const report = proofReport({ files: [file([call(), put])], stackOf, required: ['jest', 'soak'] });
    // Assess
    expect(report.problems).toEqual(
      expect.arrayContaining([
        'required source "jest" has no calls file',
        expect.stringMatching(/^soak: DENY \(implicit\) .* s3:PutObject/),
      ]),
    );
    expect(report.counts.usedNotGranted).toBe(1);
    expect(report.lines[0]).toBe('recorded sources found: soak');
  });

  it('evaluates a stand-in’s plain http as the deployed transport, and says so', () => {
    // Prepare
    const overHttp = call({ context: { 'aws:SecureTransport': 'false' } });
    // Act
    const report = proofReport({ files: [file([overHttp], { transport: 'stand-in-http' })], stackOf });
    // Assess
    expect(report.counts.usedNotGranted).toBe(0);
    expect(report.lines[1]).toContain('evaluated over TLS 1.2, as deployed');
    expect(asDeployedTransport(overHttp).context).toMatchObject({
      'aws:SecureTransport': 'true',
      's3:TlsVersion': '1.2',
    });
  });

  it('names one check per tap command over every file of it: ok when nothing is denied', () => {
    // Prepare
    const operator = { caller: 'operator' as const, source: 'soak-operator', command: 'tap reconcile --repair' };
    const listing = call({ operation: 'ListObjectVersions', action: 's3:ListBucketVersions' });
    const files = [file([listing, call()], operator), file([call({ implied: true })], operator)];
    // Act
    const report = proofReport({ files, stackOf });
    // Assess
    expect(report.lines).toContain(
      '  ok   tap reconcile --repair (operator): 2 call(s) + 1 implied, none denied by the bucket, queue, topic or key policy (admin-like identity policy) [soak-operator]',
    );
    expect(report.counts).toMatchObject({ tapCommands: 1, tapCommandsFailed: 0 });
    expect(report.problems).toEqual([]);
  });

  it('fails a tap command with a call denied (plain http, unmapped) or with no call recorded', () => {
    // Prepare
    const operator = { caller: 'operator' as const, source: 'soak-operator' };
    const overHttp = call({ context: { 'aws:SecureTransport': 'false' } });
    const unmapped = call({ operation: 'GetBucketLogging', action: undefined, resource: undefined, mapped: false });
    const files = [
      file([overHttp], { ...operator, command: 'tap redrive --local' }),
      file([unmapped], { ...operator, command: 'tap show' }),
      file([], { ...operator, command: 'tap reconcile --repair' }),
    ];
    // Act
    const report = proofReport({ files, stackOf });
    // Assess
    expect(report.counts).toMatchObject({ tapCommands: 3, tapCommandsFailed: 3 });
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^tap command check failed: FAIL tap redrive --local \(operator\): 1 call\(s\) \+ 0 implied, 1 DENIED/,
        ),
        expect.stringMatching(/^tap command check failed: FAIL tap show \(operator\): 1 call\(s\).*1 DENIED/),
        'tap command check failed: FAIL tap reconcile --repair (operator): 0 call(s) + 0 implied, no call recorded [soak-operator]',
      ]),
    );
  });

  it('counts a proof that evaluated no function call or no tap command path as missing evidence', () => {
    // Act & Assess
    expect(missingEvidence({ calls: 0, tapCommands: 0 })).toEqual([
      'no function call was recorded',
      'no tap command path was recorded',
    ]);
    expect(missingEvidence({ calls: 3, tapCommands: 0 })).toEqual(['no tap command path was recorded']);
    expect(missingEvidence({ calls: 3, tapCommands: 5 })).toEqual([]);
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
