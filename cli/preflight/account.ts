// Who deploys, where, and whether the account can give the function the concurrency it reserves.
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { TapConfig } from '../../config';
import { CheckResult, errorName, fail, isError, pass, undecided, warn } from './results';

/** The account the credentials belong to; names with an account id or an ARN need it. */
export interface Identity {
  readonly account: string;
  readonly partition: string;
  readonly arn: string;
}

const NO_CREDENTIALS = ['CredentialsProviderError', 'ProviderError', 'TokenProviderError'];
const EXPIRED = ['ExpiredToken', 'ExpiredTokenException', 'RequestExpired'];
const INVALID = ['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch'];

/** STS GetCallerIdentity: the one call every principal may make, so a failure is about the credentials. */
export async function credentialsCheck(
  sts: STSClient,
  region: string,
): Promise<{ result: CheckResult; identity?: Identity }> {
  const id = 'credentials';
  try {
    const { Account, Arn } = await sts.send(new GetCallerIdentityCommand({}));
    if (!Account || !Arn) return { result: fail(id, 'STS GetCallerIdentity returned no account', 'check AWS_PROFILE') };
    const identity = { account: Account, arn: Arn, partition: Arn.split(':')[1] || 'aws' };
    return { result: pass(id, `account ${Account} as ${Arn}, deploying to ${region}`), identity };
  } catch (error) {
    const name = errorName(error);
    const why = `${name}: ${(error as Error).message ?? ''}`.trim().split('\n')[0];
    if (isError(error, ...NO_CREDENTIALS)) {
      return {
        result: fail(
          id,
          `no AWS credentials found (${name})`,
          'set AWS_PROFILE (after aws configure or aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
        ),
      };
    }
    if (isError(error, ...EXPIRED)) {
      return { result: fail(id, `the credentials have expired (${why})`, 'refresh them, e.g. aws sso login') };
    }
    if (isError(error, ...INVALID)) {
      return {
        result: fail(
          id,
          `STS in ${region} refused the credentials (${why})`,
          `check the keys or AWS_PROFILE; if ${region} is an opt-in region, enable it for the account (Account > AWS Regions) or set TAP_REGION`,
        ),
      };
    }
    return {
      result: fail(id, `STS GetCallerIdentity failed (${why})`, 'check the network, AWS_ENDPOINT_URL* and AWS_PROFILE'),
    };
  }
}

/**
 * The stack's region comes from its configuration (TAP_REGION or cdktf.json), never from AWS_REGION:
 * a differing AWS_REGION is a sign the user expects the stack somewhere else.
 */
export function regionCheck(config: Pick<TapConfig, 'region'>, env: Readonly<Record<string, string | undefined>>) {
  const id = 'region';
  const [variable, value] =
    env.AWS_REGION !== undefined ? ['AWS_REGION', env.AWS_REGION] : ['AWS_DEFAULT_REGION', env.AWS_DEFAULT_REGION];
  if (value && value !== config.region) {
    return warn(
      id,
      `the stack deploys to ${config.region}, but ${variable} is ${value} (the stack's provider does not read it)`,
      `to deploy to ${value}, set TAP_REGION=${value}; otherwise ignore this`,
    );
  }
  return pass(id, `the stack deploys to ${config.region} (TAP_REGION or cdktf.json)`);
}

/**
 * Lambda keeps at least 100 concurrent executions unreserved in each account and region: "You can
 * reserve up to the Unreserved account concurrency value minus 100 for functions that don't have
 * reserved concurrency" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
 */
export const MIN_UNRESERVED_CONCURRENCY = 100;

/** Service Quotas code of Lambda's "Concurrent executions" quota. */
const CONCURRENCY_QUOTA_CODE = 'L-B99A9384';

export interface ConcurrencyNumbers {
  /** The account's concurrency limit in the region. */
  readonly limit: number;
  /** What is unreserved now. */
  readonly unreserved: number;
  /** What the stack's function reserves already (0 when it does not exist yet). */
  readonly ours: number;
  /** What the configuration reserves. */
  readonly wanted: number;
}

/** Pure: pass or fail from the account's numbers. */
export function judgeConcurrency(n: ConcurrencyNumbers, functionName: string, region: string): CheckResult {
  const id = 'lambda-concurrency';
  const others = n.limit - n.unreserved - n.ours;
  const left = n.unreserved + n.ours - n.wanted;
  const numbers = `account limit ${n.limit} in ${region}, ${others} reserved by other functions`;
  if (left >= MIN_UNRESERVED_CONCURRENCY) {
    return pass(id, `${numbers}: reserving ${n.wanted} for ${functionName} leaves ${left} unreserved`);
  }
  const most = n.unreserved + n.ours - MIN_UNRESERVED_CONCURRENCY;
  const needed = n.limit + (MIN_UNRESERVED_CONCURRENCY - left);
  return fail(
    id,
    `${numbers}: reserving ${n.wanted} for ${functionName} would leave ${left} unreserved, and Lambda keeps at least ${MIN_UNRESERVED_CONCURRENCY} (the apply would fail)`,
    `set lambdaReservedConcurrency to 0 (TAP_LAMBDA_RESERVED_CONCURRENCY=0)` +
      (most > 0 ? ` or to at most ${most}` : '') +
      `, or request a "Concurrent executions" quota of at least ${needed}: aws service-quotas request-service-quota-increase --service-code lambda --quota-code ${CONCURRENCY_QUOTA_CODE} --desired-value ${needed} --region ${region}`,
  );
}

/** Lambda GetAccountSettings and GetFunctionConcurrency against lambdaReservedConcurrency. */
export async function concurrencyCheck(
  lambda: LambdaClient,
  config: Pick<TapConfig, 'lambdaReservedConcurrency' | 'region'>,
  functionName: string,
): Promise<CheckResult> {
  const id = 'lambda-concurrency';
  const wanted = config.lambdaReservedConcurrency;
  if (wanted === 0) return pass(id, `lambdaReservedConcurrency is 0: ${functionName} shares the account's pool`);
  let settings;
  try {
    settings = await lambda.send(new GetAccountSettingsCommand({}));
  } catch (error) {
    return undecided(id, 'lambda:GetAccountSettings', error);
  }
  let ours: number;
  try {
    ours =
      (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: functionName })))
        .ReservedConcurrentExecutions ?? 0;
  } catch (error) {
    if (!isError(error, 'ResourceNotFoundException')) return undecided(id, 'lambda:GetFunctionConcurrency', error);
    ours = 0;
  }
  const limit = settings.AccountLimit?.ConcurrentExecutions;
  const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions;
  if (limit === undefined || unreserved === undefined) {
    return warn(id, 'GetAccountSettings returned no concurrency limit', 'check the account in the Lambda console');
  }
  return judgeConcurrency({ limit, unreserved, ours, wanted }, functionName, config.region);
}
