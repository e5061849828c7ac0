// The tap commands' calls against the stack's resource and key policies: tap upload (a small file and
// a multipart one) and tap show run in-process against s3rver and dynalite, every client the commands
// are given recording its calls (recordingTap), under the stack's own bucket and table names. An operator with an
// admin-like identity policy is denied nothing by the bucket, queue, topic or key policies; an uploader
// with only the uploaders policy may make every call of `tap upload --wait 0`, the implied KMS calls
// included. Under npm run security the calls are saved as evidence tap-upload and tap-show.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { runTap } from '../support/cli';
import { createPipelineStorage, StandIn, standInClients, startDynalite, startS3rver } from '../../fixtures/standins';
import { STANDIN_CREDENTIALS } from '../../fixtures/standins';
import { EXAMPLE_DEPLOYMENT } from '../../scripts/lib/iam/policy';
import { RecordedCall } from '../../scripts/lib/iam/recorder';
import { recordingTap, saveEvidence } from '../../scripts/lib/iam/evidence';
import { asDeployed, Caller, checkCalls, recordOptionsFor, stackUnderProof } from '../../scripts/lib/iam/proof';

const stack = stackUnderProof({}, EXAMPLE_DEPLOYMENT);
const saved = { ...process.env };
let s3rver: StandIn;
let dynalite: StandIn;
let work: string;

beforeAll(async () => {
  [s3rver, dynalite] = await Promise.all([startS3rver(), startDynalite()]);
  const clients = standInClients(s3rver.endpoint, dynalite.endpoint);
  await createPipelineStorage(clients, { bucket: stack.bucket, table: stack.names.tableName });
  clients.s3.destroy();
  clients.dynamodb.destroy();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3rver.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: EXAMPLE_DEPLOYMENT.region,
    AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
  });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-iam-cli-'));
});

afterAll(async () => {
  process.env = saved;
  await Promise.all([s3rver?.close(), dynalite?.close()]);
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs tap as `caller` with its calls recorded; under npm run security, saves them as evidence `name`. */
async function recorded(
  name: string,
  caller: Caller,
  args: string[],
): Promise<{ code: number; calls: RecordedCall[] }> {
  const calls: RecordedCall[] = [];
  const { code } = await runTap(args, recordingTap(calls, recordOptionsFor(stack, caller)));
  const command = `tap ${args[0]}`;
  saveEvidence({
    name,
    synthEnv: {},
    deployment: EXAMPLE_DEPLOYMENT,
    caller,
    command,
    transport: 'stand-in-http',
    calls,
  });
  return { code, calls };
}

describe('tap upload as an uploader with only the uploaders policy', () => {
  let calls: RecordedCall[];
  beforeAll(async () => {
    fs.writeFileSync(path.join(work, 'small.txt'), 'hello');
    fs.writeFileSync(path.join(work, 'large.bin'), Buffer.alloc(9 * 1024 * 1024, 1));
    const files = [path.join(work, 'small.txt'), path.join(work, 'large.bin')];
    const run = await recorded('tap-upload', 'uploader', ['upload', '--wait', '0', '--bucket', stack.bucket, ...files]);
    expect(run.code).toBe(0);
    calls = run.calls;
  });

  it('makes a single PUT and a multipart upload, and the KMS calls S3 makes for them', () => {
    // Prepare
    const operations = new Set(calls.map((c) => `${c.service}:${c.operation}`));
    // Act
    const implied = calls.filter((c) => c.implied).map((c) => c.action);
    // Assess
    expect(operations).toEqual(
      new Set([
        's3:PutObject',
        's3:CreateMultipartUpload',
        's3:UploadPart',
        's3:CompleteMultipartUpload',
        'kms:GenerateDataKey',
        'kms:Decrypt',
      ]),
    );
    expect(new Set(implied)).toEqual(new Set(['kms:GenerateDataKey', 'kms:Decrypt']));
  });

  it('is allowed every call, over TLS as deployed', () => {
    // Prepare
    const deployed = calls.map(asDeployed);
    // Act
    const checks = checkCalls(stack, deployed, 'uploader');
    // Assess
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
    expect(checks.filter((c) => c.call.implied).every((c) => c.request?.context?.['kms:ViaService'])).toBe(true);
  });

  it('is refused the same calls over plain http (the bucket policy)', () => {
    // Prepare
    const overHttp = calls.filter((c) => c.service === 's3');
    // Act
    const checks = checkCalls(stack, overHttp, 'uploader');
    // Assess
    expect(checks.every((c) => c.decision.decision === 'ExplicitDeny')).toBe(true);
    expect(checks.length).toBeGreaterThan(0);
  });
});

describe('tap show as an operator', () => {
  let calls: RecordedCall[];
  beforeAll(async () => {
    // The item the pipeline would have written for the small upload (no pipeline runs in this file).
    const { dynamodb } = standInClients(s3rver.endpoint, dynalite.endpoint);
    await dynamodb.send(
      new PutItemCommand({
        TableName: stack.names.tableName,
        Item: marshall({ objectKey: 'small.txt', versionId: 'null', key: 'small.txt', status: 'present', size: 5 }),
      }),
    );
    dynamodb.destroy();
    const run = await recorded('tap-show', 'operator', ['show', 'small.txt', '--bucket', stack.bucket]);
    expect(run.code).toBe(0);
    calls = run.calls;
  });

  it('is denied nothing by the resource and key policies with an admin-like identity policy', () => {
    // Prepare
    const deployed = calls.map(asDeployed);
    // Act
    const checks = checkCalls(stack, deployed, 'operator');
    // Assess
    expect(calls.map((c) => c.action)).toContain('dynamodb:Query');
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
  });

  it('is refused to an uploader: reading the table needs more than the uploaders policy (hence --wait 0)', () => {
    // Prepare
    const deployed = calls.map(asDeployed);
    // Act
    const checks = checkCalls(stack, deployed, 'uploader');
    // Assess
    expect(checks.filter((c) => !c.call.implied).map((c) => [c.call.action, c.decision.decision])).toEqual([
      ['dynamodb:Query', 'ImplicitDeny'],
    ]);
  });
});
