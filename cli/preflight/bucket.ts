// The existing bucket (existingBucketName) the stack will read but never change: that it exists in the
// stack's region, whether it is versioned, whether S3 sends its events to EventBridge, whether the
// configured keys cover its default encryption, and whether its policy could deny the function.
import {
  GetBucketEncryptionCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { arn, ResourceNames, TapConfig } from '../../config';
import type { Identity } from './account';
import { CheckResult, fail, guarded, headBucket, isError, pass, warn } from './results';

type Config = Pick<TapConfig, 'existingBucketName' | 'existingBucketKmsKeyArns' | 'region'>;

/** The fix for EventBridge switched off: the command that adds it and keeps the rest of the configuration. */
export const ENABLE_EVENTBRIDGE =
  'npx tap eventbridge enable --dry-run (shows the change), then npx tap eventbridge enable';

/** The bucket exists, in the stack's region, and these credentials may read it; the other checks need it. */
const existsCheck = (s3: S3Client, bucket: string, region: string) =>
  guarded('bucket', 's3:ListBucket (HeadBucket)', async () => {
    const found = await headBucket(s3, bucket);
    const [id, named] = ['bucket', `existing bucket "${bucket}"`];
    if (found.state === 'here') return pass(id, `${named} is in ${region} and readable`);
    if (found.state === 'missing')
      return fail(id, `${named} does not exist`, 'check existingBucketName (TAP_EXISTING_BUCKET_NAME)');
    if (found.state === 'denied') {
      return fail(
        id,
        `access to ${named} denied (HTTP 403): another account owns it, or these credentials may not list it`,
        'check existingBucketName, and allow s3:ListBucket on it to these credentials',
      );
    }
    return fail(
      id,
      `${named} is in ${found.region ?? 'another region'}, not in ${region}: S3 sends its events to EventBridge in its own region`,
      found.region
        ? `deploy the stack to ${found.region} (TAP_REGION=${found.region})`
        : "deploy the stack to the bucket's region (TAP_REGION)",
    );
  });

const versioningCheck = (s3: S3Client, bucket: string) =>
  guarded('bucket-versioning', 's3:GetBucketVersioning', async () => {
    const { Status } = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    if (Status === 'Enabled') return pass('bucket-versioning', `"${bucket}" is versioned: one item per version`);
    return warn(
      'bucket-versioning',
      `"${bucket}" is not versioned (${Status ?? 'never enabled'}): items are keyed versionId "null", and an overwrite replaces the item`,
      `accept it, or have the bucket's owner enable versioning: aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled`,
    );
  });

const eventBridgeCheck = (s3: S3Client, bucket: string) =>
  guarded('bucket-eventbridge', 's3:GetBucketNotification (GetBucketNotificationConfiguration)', async () => {
    const configuration = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    if (configuration.EventBridgeConfiguration) {
      return pass('bucket-eventbridge', `"${bucket}" sends its events to EventBridge`);
    }
    return fail(
      'bucket-eventbridge',
      `"${bucket}" does not send its events to EventBridge: no event would reach the function`,
      ENABLE_EVENTBRIDGE,
    );
  });

/** Pure: whether a default-encryption key id (an ARN, a key id or an alias) is one of the configured key ARNs. */
export function keyCovered(keyId: string, keyArns: readonly string[]): boolean | undefined {
  if (keyId.includes('alias/')) return undefined;
  return keyArns.some((keyArn) => keyArn === keyId || keyArn.endsWith(`:key/${keyId}`));
}

const encryptionCheck = (s3: S3Client, config: Config) =>
  guarded('bucket-encryption', 's3:GetEncryptionConfiguration (GetBucketEncryption)', async () => {
    const id = 'bucket-encryption';
    const bucket = config.existingBucketName;
    let rule;
    try {
      const { ServerSideEncryptionConfiguration } = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
      rule = ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
    } catch (error) {
      if (!isError(error, 'ServerSideEncryptionConfigurationNotFoundError')) throw error;
    }
    const earlier = 'objects written before with other keys need those keys listed too';
    const keyId = rule?.KMSMasterKeyID;
    if (!rule?.SSEAlgorithm?.startsWith('aws:kms')) {
      return pass(
        id,
        `"${bucket}" encrypts with S3-managed keys (${rule?.SSEAlgorithm ?? 'SSE-S3'}): no KMS key needed; ${earlier}`,
      );
    }
    if (!keyId) {
      return pass(
        id,
        `"${bucket}" encrypts with the AWS-managed key aws/s3, which the account may use through S3; ${earlier}`,
      );
    }
    const covered = keyCovered(keyId, config.existingBucketKmsKeyArns);
    const add = `add the key's ARN to existingBucketKmsKeyArns (TAP_EXISTING_BUCKET_KMS_KEY_ARNS)`;
    if (covered === undefined) {
      return warn(id, `"${bucket}" encrypts with ${keyId}: an alias, which IAM grants cannot name`, add);
    }
    if (!covered) {
      return fail(
        id,
        `"${bucket}" encrypts with ${keyId}, which existingBucketKmsKeyArns does not list: the function could not read its objects`,
        add,
      );
    }
    return pass(id, `"${bucket}" encrypts with ${keyId}, listed in existingBucketKmsKeyArns; ${earlier}`);
  });

interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const asList = (value: unknown): string[] =>
  (value === undefined ? [] : Array.isArray(value) ? value : [value]) as string[];

/** Whether an IAM action pattern (`s3:Get*`, `*`) matches `action`. */
const matches = (pattern: string, action: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  ).test(action);

/** Conditions the function always meets: it calls S3 over TLS 1.2 or newer. */
const MET_BY_THE_FUNCTION = (operator: string, key: string, value: unknown) =>
  (operator === 'Bool' && key.toLowerCase() === 'aws:securetransport' && asList(value).includes('false')) ||
  (operator === 'NumericLessThan' &&
    key.toLowerCase() === 's3:tlsversion' &&
    asList(value).every((v) => Number(v) <= 1.2));

/**
 * Pure: the Deny statements of a bucket policy that could refuse the function's role s3:GetObject. Conditions
 * other than TLS ones are not evaluated: such a statement is reported for a person to judge.
 */
export function denyingStatements(policy: string, roleArn: string): string[] {
  const { Statement } = JSON.parse(policy) as { Statement?: PolicyStatement | PolicyStatement[] };
  const statements = Array.isArray(Statement) ? Statement : Statement ? [Statement] : [];
  return statements
    .map((s, index) => ({ ...s, Sid: s.Sid ?? `statement ${index + 1} (no Sid)` }))
    .filter((s) => s.Effect === 'Deny')
    .filter((s) => {
      const principals = asList(
        typeof s.Principal === 'object' && s.Principal !== null ? (s.Principal as { AWS?: unknown }).AWS : s.Principal,
      );
      if (s.Principal !== undefined && !principals.some((p) => p === '*' || p === roleArn)) return false;
      const excluded = asList(s.NotPrincipal && (s.NotPrincipal as { AWS?: unknown }).AWS);
      if (s.NotPrincipal !== undefined && excluded.includes(roleArn)) return false;
      const actions =
        s.Action !== undefined
          ? asList(s.Action).some((a) => matches(a, 's3:GetObject'))
          : !asList(s.NotAction).some((a) => matches(a, 's3:GetObject'));
      if (!actions) return false;
      const conditions = Object.entries(s.Condition ?? {}).flatMap(([operator, keys]) =>
        Object.entries(keys).map(([key, value]) => ({ operator, key, value })),
      );
      return !conditions.some((c) => MET_BY_THE_FUNCTION(c.operator, c.key, c.value));
    })
    .map((s) => s.Sid);
}

const policyCheck = (s3: S3Client, bucket: string, roleArn: string) =>
  guarded('bucket-policy', 's3:GetBucketPolicy', async () => {
    const id = 'bucket-policy';
    let policy: string | undefined;
    try {
      policy = (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
    } catch (error) {
      if (!isError(error, 'NoSuchBucketPolicy')) throw error;
    }
    if (!policy) return pass(id, `"${bucket}" has no bucket policy: the function's role policy decides`);
    const denying = denyingStatements(policy, roleArn);
    if (denying.length === 0) return pass(id, `no statement of "${bucket}"'s policy denies the function s3:GetObject`);
    return warn(
      id,
      `"${bucket}"'s policy has Deny statements that could refuse the function (${roleArn}) s3:GetObject: ${denying.join(', ')}`,
      'read them: their conditions must exempt the role, or the function records every object as unreadable',
    );
  });

/** Every check of the existing bucket; the others only once it exists and is readable. */
export async function existingBucketChecks(
  s3: S3Client,
  config: Config,
  names: Pick<ResourceNames, 'roleName'>,
  identity: Identity,
): Promise<CheckResult[]> {
  const bucket = config.existingBucketName;
  const exists = await existsCheck(s3, bucket, config.region);
  if (exists.status !== 'pass') return [exists];
  const roleArn = arn(identity.partition, 'iam', '', identity.account, `role/${names.roleName}`);
  return [
    exists,
    ...(await Promise.all([
      versioningCheck(s3, bucket),
      eventBridgeCheck(s3, bucket),
      encryptionCheck(s3, config),
      policyCheck(s3, bucket, roleArn),
    ])),
  ];
}
