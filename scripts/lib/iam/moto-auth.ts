// An evaluator this project did not write: moto's own IAM authorizer (moto/iam/access_control.py),
// switched on for the e2e data path by POST /moto-api/reset-auth (0: from the next request on, every
// request needs a key moto issued and an identity policy that allows it; "inf": off again). What moto
// checks and ignores, and why e2e adds a trust statement and DynamoDB copies on "*": docs/security.md.
import * as IAM from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { motoRequest } from '../moto';
import type { PolicyDocument, StatementJson } from './policy';

export type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export async function setMotoAuth(endpoint: string, count: '0' | 'inf'): Promise<void> {
  const status = await motoRequest(endpoint, 'POST', '/moto-api/reset-auth', count);
  if (status !== 200) throw new Error(`moto reset-auth answered ${status}`);
}

const policy = (...Statement: StatementJson[]) => JSON.stringify({ Version: '2012-10-17', Statement });
/** The role's statements on `service` copied onto "*" (moto authorizes DynamoDB against "*", never the table ARN). */
export const motoResourceStarCopies = (role: PolicyDocument, service: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: role.Statement.filter(
    (s) => s.Effect === 'Allow' && [s.Action ?? []].flat().every((a) => a.startsWith(`${service}:`)),
  ).map((s) => ({ Sid: `${s.Sid ?? 'Statement'}OnStarForMoto`, Effect: 'Allow', Action: s.Action, Resource: '*' })),
});

/**
 * While moto lets everything through: an IAM user that may only assume `roleArn`, with a key; the role's
 * trust policy in moto naming that user (moto cannot evaluate a Service principal); the moto-only
 * DynamoDB copies on "*". Returns the user's key.
 */
export async function prepareAssumableRole(
  iam: IAM.IAMClient,
  input: { roleName: string; roleArn: string; account: string; rolePolicy: PolicyDocument },
): Promise<Credentials> {
  const [UserName, RoleName] = ['tap-e2e-caller', input.roleName];
  const assume = policy({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: input.roleArn });
  const Principal = { AWS: `arn:aws:iam::${input.account}:user/${UserName}` };
  const copies = JSON.stringify(motoResourceStarCopies(input.rolePolicy, 'dynamodb'));
  const trust = policy({ Effect: 'Allow', Principal, Action: 'sts:AssumeRole' });
  await iam.send(new IAM.CreateUserCommand({ UserName }));
  await iam.send(new IAM.PutUserPolicyCommand({ UserName, PolicyName: 'assume-the-role', PolicyDocument: assume }));
  const { AccessKey } = await iam.send(new IAM.CreateAccessKeyCommand({ UserName }));
  await iam.send(new IAM.UpdateAssumeRolePolicyCommand({ RoleName, PolicyDocument: trust }));
  await iam.send(new IAM.PutRolePolicyCommand({ RoleName, PolicyName: 'moto-dynamodb-star', PolicyDocument: copies }));
  if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) throw new Error('moto created no access key');
  return { accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey };
}

/** sts:AssumeRole with `caller`'s key, through moto's authorizer: the role's temporary credentials. */
export async function assumeRole(endpoint: string, region: string, caller: Credentials, roleArn: string) {
  const sts = new STSClient({ region, endpoint, credentials: caller });
  try {
    const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'tap-e2e' }));
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error('AssumeRole returned no credentials');
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  } finally {
    sts.destroy();
  }
}
