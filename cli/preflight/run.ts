// Every preflight check, in one call: what `tap preflight` prints and what e2e asserts before and
// after apply. Read-only: no call here creates, changes or deletes anything.
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { IAMClient } from '@aws-sdk/client-iam';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FUNCTION_RUNTIME, resourceNames, TapConfig } from '../../config';
import { readS3ForcePathStyle } from '../../handler/env';
import { concurrencyCheck, credentialsCheck, regionCheck } from './account';
import { alarmNames, existingResourcesCheck, NameClients, nameChecks } from './names';
import { existingBucketChecks } from './bucket';
import { CheckResult, fail, pass, warn } from './results';
import {
  localStateCheck,
  remoteStateChecks,
  runTerraform,
  StateChecks,
  terraformCheck,
  TerraformRunner,
} from './state';

export type { CheckResult, CheckStatus } from './results';
export type { TerraformRunner } from './state';

export interface PreflightClients extends NameClients {
  readonly sts: STSClient;
  /** In stateRegion (or the stack's region): the state bucket may live elsewhere. */
  readonly stateS3: S3Client;
}

export interface PreflightInput {
  /** The resolved configuration, its region the one deployed to. */
  readonly config: TapConfig;
  /** Where cdktf.json and local state live. */
  readonly projectDir: string;
  readonly clients: PreflightClients;
  readonly terraform?: TerraformRunner;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: Date;
}

/**
 * AWS's published dates for the function's runtime
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html): deprecation, then no new
 * functions, then no updates. hashicorp/aws 5.100.0 validates `runtime` against a list that ends at
 * nodejs22.x, so moving on needs a newer provider.
 */
export const RUNTIME_DEPRECATION: Readonly<
  Record<string, { deprecated: string; blockCreate: string; blockUpdate: string }>
> = {
  'nodejs22.x': { deprecated: '2027-04-30', blockCreate: '2027-06-01', blockUpdate: '2027-07-01' },
};

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** Warn within a year of the runtime's deprecation; fail once AWS refuses to create functions with it. */
export function runtimeCheck(runtime: string, now: Date): CheckResult {
  const id = 'runtime';
  const dates = RUNTIME_DEPRECATION[runtime];
  if (!dates) return warn(id, `no deprecation date is known for ${runtime}`, 'look it up in the Lambda runtimes page');
  const provider = "hashicorp/aws 5.100.0 (this stack's provider) accepts no newer Node.js runtime";
  const move = 'plan the move to a newer runtime (nodejs24.x) together with a hashicorp/aws release that accepts it';
  const schedule = `deprecated on ${dates.deprecated}, new functions refused from ${dates.blockCreate}, updates from ${dates.blockUpdate}`;
  if (now.getTime() >= Date.parse(dates.blockCreate)) {
    return fail(
      id,
      `${runtime}: AWS refuses to create functions with it since ${dates.blockCreate}; ${provider}`,
      move,
    );
  }
  if (Date.parse(dates.deprecated) - now.getTime() <= YEAR_MS) {
    return warn(id, `${runtime} is ${schedule}; ${provider}`, move);
  }
  return pass(id, `${runtime} is supported until ${dates.deprecated}`);
}

/** Alarms notify the topic; without alarmEmail nobody is subscribed to it. */
export function alarmEmailCheck(config: TapConfig): CheckResult {
  const id = 'alarm-email';
  const count = alarmNames(config, resourceNames(config)).length;
  if (config.alarmEmail) {
    return pass(
      id,
      `the ${count} alarms mail ${config.alarmEmail} (once the address confirms AWS's subscription email)`,
    );
  }
  return warn(
    id,
    `alarmEmail is empty: the ${count} alarms notify an SNS topic nobody subscribes to`,
    'set alarmEmail (TAP_ALARM_EMAIL=oncall@example.com) and confirm the email AWS sends, or subscribe an endpoint to the alarm_topic_arn output',
  );
}

/** Runs every check and returns the results in a fixed order; never throws for an AWS answer. */
export async function runPreflight(input: PreflightInput): Promise<CheckResult[]> {
  const { config, clients } = input;
  const names = resourceNames(config);
  const local = [
    terraformCheck(config, input.terraform ?? runTerraform),
    alarmEmailCheck(config),
    runtimeCheck(FUNCTION_RUNTIME.runtime, input.now ?? new Date()),
  ];
  const region = regionCheck(config, input.env ?? {});
  const { result: credentials, identity } = await credentialsCheck(clients.sts, config.region);
  if (!identity) {
    const state = config.stateBucket ? [] : localStateCheck(input.projectDir, config, names).results;
    return [credentials, region, ...state, ...(await Promise.all(local))];
  }
  const [concurrency, named, bucket, state, rest] = await Promise.all([
    concurrencyCheck(clients.lambda, config, names.functionName),
    nameChecks(clients, config, names, identity),
    config.existingBucketName ? existingBucketChecks(clients.s3, config, names, identity) : [],
    config.stateBucket
      ? remoteStateChecks(clients.stateS3, config, names)
      : Promise.resolve<StateChecks>(localStateCheck(input.projectDir, config, names)),
    Promise.all(local),
  ]);
  const ours = named.flatMap((n) => n.ours);
  return [
    credentials,
    region,
    concurrency,
    ...named.map((n) => n.result),
    ...bucket,
    ...state.results,
    existingResourcesCheck(ours, state.stateFound, state.where),
    ...rest,
  ];
}

/** What a caller (e2e against moto) may set on every client: an endpoint and credentials. */
export interface ClientOverrides {
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * Clients for every check, configured as the CLI's: the SDK reads AWS_ENDPOINT_URL_* itself, S3 path
 * style follows S3_FORCE_PATH_STYLE; `overrides` apply to every client.
 */
export function openPreflightClients(
  config: Pick<TapConfig, 'region' | 'stateRegion'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: ClientOverrides = {},
): PreflightClients & { close(): void } {
  const common = { region: config.region, ...overrides };
  const s3 = { ...common, forcePathStyle: readS3ForcePathStyle(env) };
  const clients = {
    sts: new STSClient(common),
    lambda: new LambdaClient(common),
    s3: new S3Client(s3),
    stateS3: new S3Client({ ...s3, region: config.stateRegion || config.region }),
    iam: new IAMClient(common),
    cloudwatch: new CloudWatchClient(common),
    logs: new CloudWatchLogsClient(common),
    kms: new KMSClient(common),
    sqs: new SQSClient(common),
    sns: new SNSClient(common),
    dynamodb: new DynamoDBClient(common),
  };
  return { ...clients, close: () => Object.values(clients).forEach((client) => client.destroy()) };
}

/** Counts by status, for the summary line. */
export function summarize(results: readonly CheckResult[]): string {
  const count = (status: CheckResult['status']) => results.filter((r) => r.status === status).length;
  const failed = count('fail');
  return `${failed} failed, ${count('warn')} warnings, ${count('pass')} passed${failed ? ': fix the failures before cdktf deploy' : ''}`;
}
