// Where Terraform keeps the stack's state, and the Terraform that will read it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  GetBucketEncryptionCommand,
  GetBucketVersioningCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ResourceNames, TapConfig } from '../../config';
import { legacyStateProblem } from './legacy-state';
import { CheckResult, fail, guarded, headBucket, httpStatus, isError, pass, warn } from './results';

/** What the state checks found, for the check that compares existing resources with state. */
export interface StateChecks {
  readonly results: CheckResult[];
  /** Whether state exists where the stack will look; undefined when that could not be told. */
  readonly stateFound?: boolean;
  readonly where: string;
}

type StateConfig = Pick<TapConfig, 'stateBucket' | 'stateKey' | 'stateRegion' | 'region'>;

/** The exact commands that create a state bucket fit for the S3 backend. */
export function createStateBucketCommands(bucket: string, region: string): string {
  // us-east-1 is the one region CreateBucket refuses a LocationConstraint for.
  const location = region === 'us-east-1' ? '' : ` --create-bucket-configuration LocationConstraint=${region}`;
  return (
    `aws s3api create-bucket --bucket ${bucket} --region ${region}${location} && ` +
    `aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled`
  );
}

/** HeadObject: whether a key exists (404 says it does not). */
async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (httpStatus(error) === 404 || isError(error, 'NotFound', 'NoSuchKey')) return false;
    throw error;
  }
}

/** stateBucketCheck's message for a bucket that does not exist; remoteStateChecks tells that case by it. */
const STATE_BUCKET_MISSING = (bucket: string) => `state bucket "${bucket}" does not exist`;

/** The state bucket exists (HeadBucket), in the configured region; the other checks need it. */
const stateBucketCheck = (s3: S3Client, bucket: string, region: string) =>
  guarded('state-bucket', 's3:ListBucket (HeadBucket)', async () => {
    const found = await headBucket(s3, bucket);
    const id = 'state-bucket';
    if (found.state === 'here') return pass(id, `state bucket "${bucket}" exists in ${region}`);
    if (found.state === 'missing')
      return fail(id, STATE_BUCKET_MISSING(bucket), `create it: ${createStateBucketCommands(bucket, region)}`);
    if (found.state === 'denied') {
      return fail(
        id,
        `access to state bucket "${bucket}" denied (HTTP 403): another account owns it, or these credentials may not list it`,
        'check stateBucket (TAP_STATE_BUCKET), and allow s3:ListBucket, s3:GetObject and s3:PutObject on it',
      );
    }
    return fail(
      id,
      `state bucket "${bucket}" is in ${found.region ?? 'another region'}, not in ${region}`,
      found.region
        ? `set stateRegion to ${found.region} (TAP_STATE_REGION=${found.region})`
        : 'set stateRegion (TAP_STATE_REGION)',
    );
  });

/** Versioning lets a bad state write be undone; Terraform's S3 backend docs recommend it highly. */
const versioningCheck = (s3: S3Client, bucket: string) =>
  guarded('state-versioning', 's3:GetBucketVersioning', async () => {
    const { Status } = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    if (Status === 'Enabled') return pass('state-versioning', `state bucket "${bucket}" is versioned`);
    return fail(
      'state-versioning',
      `state bucket "${bucket}" is not versioned (${Status ?? 'never enabled'}): an overwritten or deleted state could not be recovered`,
      `aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled`,
    );
  });

/**
 * Default encryption. Since January 5, 2023 S3 applies SSE-S3 to every bucket without one
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html), so on AWS a
 * missing configuration means an old answer or a stand-in; the backend's `encrypt` covers the state
 * object itself either way.
 */
const encryptionCheck = (s3: S3Client, bucket: string) =>
  guarded('state-encryption', 's3:GetEncryptionConfiguration (GetBucketEncryption)', async () => {
    try {
      const { ServerSideEncryptionConfiguration } = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
      const algorithms = (ServerSideEncryptionConfiguration?.Rules ?? [])
        .map((r) => r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm)
        .filter(Boolean);
      if (algorithms.length > 0) {
        return pass('state-encryption', `state bucket "${bucket}" encrypts by default (${algorithms.join(', ')})`);
      }
    } catch (error) {
      if (!isError(error, 'ServerSideEncryptionConfigurationNotFoundError')) throw error;
    }
    return fail(
      'state-encryption',
      `state bucket "${bucket}" has no default encryption`,
      `aws s3api put-bucket-encryption --bucket ${bucket} --server-side-encryption-configuration ` +
        `'{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'`,
    );
  });

/** Pure: the state key check from what exists. */
export function judgeStateKey(
  bucket: string,
  keys: { current: string; legacy: string },
  exists: { current: boolean; legacy: boolean },
): CheckResult {
  const id = 'state-key';
  const current = `s3://${bucket}/${keys.current}`;
  const legacy = `s3://${bucket}/${keys.legacy}`;
  if (keys.current === keys.legacy || !exists.legacy) {
    return pass(id, exists.current ? `state at ${current}` : `no state at ${current} yet: a first deploy`);
  }
  if (exists.current) {
    return warn(
      id,
      `state exists at ${current} and at the old key ${legacy}: the stack uses ${current} and ignores the old one`,
      `compare them; once a plan shows no changes, remove the old one: aws s3 rm ${legacy}`,
    );
  }
  return fail(
    id,
    `state from before region-qualified names exists at ${legacy}, and none at ${current}: ` +
      'Terraform would start from empty state and try to create what exists',
    `aws s3 mv ${legacy} ${current}` +
      " (if that state holds a deployment in another region, move it to that region's key instead)",
  );
}

/** S3 backend: the bucket exists, is versioned and encrypted, and the state is where the stack looks. */
export async function remoteStateChecks(s3: S3Client, config: StateConfig, names: ResourceNames): Promise<StateChecks> {
  const bucket = config.stateBucket;
  const key = config.stateKey || names.defaultStateKey;
  const where = `s3://${bucket}/${key}`;
  const exists = await stateBucketCheck(s3, bucket, config.stateRegion || config.region);
  // No bucket, no state; a bucket that cannot be read leaves that open.
  if (exists.status !== 'pass') {
    return {
      results: [exists],
      stateFound: exists.message === STATE_BUCKET_MISSING(bucket) ? false : undefined,
      where,
    };
  }
  let stateFound: boolean | undefined;
  const keyCheck = guarded('state-key', 's3:GetObject and s3:ListBucket (HeadObject)', async () => {
    const [current, legacy] = await Promise.all([
      objectExists(s3, bucket, key),
      objectExists(s3, bucket, names.legacyStateKey),
    ]);
    stateFound = current;
    return judgeStateKey(bucket, { current: key, legacy: names.legacyStateKey }, { current, legacy });
  });
  const results = await Promise.all([versioningCheck(s3, bucket), encryptionCheck(s3, bucket), keyCheck]);
  return { results: [exists, ...results], stateFound, where };
}

/** Local backend: legacyStateProblem, the same rule that stops synth, so it is seen before synth. */
export function localStateCheck(projectDir: string, config: TapConfig, names: ResourceNames): StateChecks {
  const id = 'state';
  const where = path.join(projectDir, names.localStateFile);
  const problem = legacyStateProblem(projectDir, config);
  if (problem) {
    const command = /run: (.+)$/.exec(problem)?.[1];
    return {
      results: [fail(id, problem, command ?? `keep the state that holds the deployment in ${names.localStateFile}`)],
      where,
    };
  }
  const stateFound = fs.existsSync(where);
  return {
    results: [pass(id, `local state in ${names.localStateFile}${stateFound ? '' : ' (none yet: a first deploy)'}`)],
    stateFound,
    where,
  };
}

/** Runs terraform with `args` and returns its standard output. */
export type TerraformRunner = (args: readonly string[]) => Promise<string>;

/** cdktf runs the binary TERRAFORM_BINARY_NAME names, or terraform from PATH; so does this. */
export const runTerraform: TerraformRunner = async (args) =>
  (
    await promisify(execFile)(process.env.TERRAFORM_BINARY_NAME || 'terraform', [...args], {
      timeout: 30_000,
      env: { ...process.env, CHECKPOINT_DISABLE: '1' },
    })
  ).stdout;

const versionParts = (version: string) => version.split(/[.-]/).slice(0, 2).map(Number);

/**
 * S3 native locking (`use_lockfile`) arrived in Terraform 1.10 as an experiment and is generally
 * available from 1.11 (https://developer.hashicorp.com/terraform/language/v1.11.x/upgrade-guides).
 */
export async function terraformCheck(
  config: Pick<TapConfig, 'stateBucket' | 'stateUseLockfile'>,
  run: TerraformRunner,
): Promise<CheckResult> {
  const id = 'terraform';
  const lockfile = config.stateBucket !== '' && config.stateUseLockfile;
  const install = 'install Terraform 1.11 or newer (https://developer.hashicorp.com/terraform/install)';
  let version: string | undefined;
  try {
    version = (JSON.parse(await run(['version', '-json'])) as { terraform_version?: string }).terraform_version;
  } catch (error) {
    if (isError(error, 'ENOENT')) {
      return fail(
        id,
        'terraform was not found on PATH: cdktf deploy runs it',
        `${install}, or set TERRAFORM_BINARY_NAME`,
      );
    }
    return fail(id, `terraform version -json failed: ${(error as Error).message.split('\n')[0]}`, install);
  }
  if (!version) return fail(id, 'terraform version -json named no version', install);
  const [major, minor] = versionParts(version);
  const below = (m: number, n: number) => major < m || (major === m && minor < n);
  if (lockfile && below(1, 10)) {
    return fail(
      id,
      `Terraform ${version} cannot lock S3 state with use_lockfile (stateUseLockfile): that needs Terraform 1.10 or newer`,
      `${install}, or set stateUseLockfile to false (TAP_STATE_USE_LOCKFILE=false), which leaves the state unlocked`,
    );
  }
  if (lockfile && below(1, 11)) {
    return warn(id, `Terraform ${version}: S3 state locking (use_lockfile) is experimental before 1.11`, install);
  }
  return pass(id, `Terraform ${version}${lockfile ? ', which locks S3 state with use_lockfile' : ''}`);
}
