// An evaluator this project did not write: moto's own IAM authorizer (moto/iam/access_control.py),
// switched on for the e2e data path. moto lets every request through until POST /moto-api/reset-auth
// sets INITIAL_NO_AUTH_ACTION_COUNT (0: from the next request on, every request needs a key moto issued
// and an identity policy that allows it); "inf" switches it off again.
//
// What moto 5.2.5's authorizer checks, read from its source and seen here:
// - the SigV4 signature, with a key of an IAM user or the temporary credentials of an assumed role;
// - the caller's identity policies (inline and attached), actions with wildcards, explicit Deny first;
// - Resource only where the service passes one: S3 passes arn:aws:s3:::bucket[/key], SQS, IAM and STS
//   pass theirs, every other service (DynamoDB, KMS, ...) passes "*", which a resource-scoped Allow never
//   matches: such calls are refused unless a statement allows them on "*";
// - on sts:AssumeRole, the role's trust policy, but only AWS principals (a Service principal such as
//   lambda.amazonaws.com makes its check fail), and of the conditions only StringEquals on sts:ExternalId.
// What it ignores: every other condition (a key missing from its request context counts as matching,
// so an Allow with kms:ViaService applies everywhere), resource policies other than S3 bucket policies
// (which S3 reads without their conditions), KMS key policies and grants (moto's S3 and DynamoDB never
// call KMS on the caller's behalf), SCPs, boundaries and session policies.
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { motoRequest } from '../moto';
import type { PolicyDocument, StatementJson } from './policy';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** POST /moto-api/reset-auth: "0" enforces IAM from the next request on, "inf" lets every request through. */
export async function setMotoAuth(endpoint: string, count: '0' | 'inf'): Promise<void> {
  const status = await motoRequest(endpoint, 'POST', '/moto-api/reset-auth', count);
  if (status !== 200) throw new Error(`moto reset-auth answered ${status}`);
}

/**
 * The statements moto needs besides the role's own to let the role's DynamoDB calls through: the same
 * actions on "*" (moto authorizes DynamoDB against "*", never the table ARN). Nothing else is added.
 */
export function motoResourceStarCopies(role: PolicyDocument, service: string): PolicyDocument {
  const statements = role.Statement.filter(
    (s) => s.Effect === 'Allow' && [s.Action ?? []].flat().every((a) => a.startsWith(`${service}:`)),
  ).map((s): StatementJson => ({
    Sid: `${s.Sid ?? 'Statement'}OnStarForMoto`,
    Effect: 'Allow',
    Action: s.Action,
    Resource: '*',
  }));
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * While moto lets everything through: an IAM user that may only assume `roleArn`, with a key; the
 * role's trust policy in moto replaced by one naming that user (moto cannot evaluate a Service
 * principal); and the moto-only DynamoDB copies on "*". Returns the user's key.
 */
export async function prepareAssumableRole(
  iam: IAMClient,
  input: { roleName: string; roleArn: string; account: string; rolePolicy: PolicyDocument },
): Promise<Credentials> {
  const user = 'tap-e2e-caller';
  await iam.send(new CreateUserCommand({ UserName: user }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: user,
      PolicyName: 'assume-the-function-role',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: input.roleArn }],
      }),
    }),
  );
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: user }));
  await iam.send(
    new UpdateAssumeRolePolicyCommand({
      RoleName: input.roleName,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${input.account}:user/${user}` },
            Action: 'sts:AssumeRole',
          },
        ],
      }),
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: input.roleName,
      PolicyName: 'moto-only-dynamodb-on-star',
      PolicyDocument: JSON.stringify(motoResourceStarCopies(input.rolePolicy, 'dynamodb')),
    }),
  );
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
