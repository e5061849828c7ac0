// TapStack's configuration and everything derived from it that the stack, the handler's environment,
// the scripts and the tests must agree on. No cdktf import here: scripts and tests read this file
// without loading CDKTF or the provider bindings.
//
// Settings resolve in this order: defaults, then cdktf.json context (key "tap"), then TAP_*
// environment variables.
import fs from 'node:fs';
import path from 'node:path';

export const ENVIRONMENTS = ['dev', 'test', 'staging', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
export type CorsMethod = (typeof CORS_METHODS)[number];
/** The retention values CloudWatch Logs accepts; 0 (never expire) is deliberately absent. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export interface TapConfig {
  /** Lower-case name that prefixes every resource; with environment and region it must fit AWS's name limits. */
  readonly project: string;
  readonly environment: EnvironmentName;
  readonly region: string;
  readonly owner: string;
  /** Extra tags merged into the provider's default_tags. */
  readonly tags: Readonly<Record<string, string>>;
  readonly tableReadCapacity: number;
  readonly tableWriteCapacity: number;
  readonly enableDeletionProtection: boolean;
  readonly lambdaMemoryMb: number;
  readonly lambdaTimeoutSeconds: number;
  readonly lambdaReservedConcurrency: number;
  readonly lambdaMaxRetryAttempts: number;
  readonly lambdaMaxEventAgeSeconds: number;
  readonly sdkMaxAttempts: number;
  readonly logLevel: LogLevel;
  readonly logRetentionDays: number;
  readonly corsAllowedOrigins: readonly string[];
  readonly corsAllowAnyOrigin: boolean;
  readonly corsAllowedMethods: readonly CorsMethod[];
  readonly corsAllowedHeaders: readonly string[];
  readonly corsExposeHeaders: readonly string[];
  readonly corsMaxAgeSeconds: number;
  readonly notificationPrefix: string;
  readonly notificationSuffix: string;
  readonly noncurrentVersionExpirationDays: number;
  readonly abortIncompleteMultipartUploadDays: number;
  /** Existing bucket that receives S3 server access logs; empty disables access logging. */
  readonly accessLogBucket: string;
  readonly accessLogPrefix: string;
  /** Address subscribed to the alarm topic; empty means no subscription. */
  readonly alarmEmail: string;
  /** S3 remote state; empty stateBucket keeps the local backend. */
  readonly stateBucket: string;
  readonly stateKey: string;
  readonly stateRegion: string;
  readonly stateUseLockfile: boolean;
  /** Store each object's tags (one GetObjectTagging per object) and follow tagging events. */
  readonly recordObjectTags: boolean;
}

/** Thrown when configuration is invalid; the message names every bad setting and what it accepts. */
export class TapConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid TapStack configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'TapConfigError';
  }
}

type Parser<T> = (raw: unknown) => T;
/** Parsers throw this with the "expected ..." half of the message; resolveConfig adds the setting name. */
class SettingValueError extends Error {}

const show = (raw: unknown): string => (typeof raw === 'string' ? `"${raw}"` : JSON.stringify(raw));

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new SettingValueError(`an integer from ${min} to ${max}, got ${show(raw)}`);
    }
    return value;
  };

const boolean: Parser<boolean> = (raw) => {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new SettingValueError(`true or false, got ${show(raw)}`);
};

const oneOf =
  <T extends string | number>(allowed: readonly T[]): Parser<T> =>
  (raw) => {
    const value = typeof allowed[0] === 'number' && typeof raw === 'string' ? Number(raw) : raw;
    if (!allowed.includes(value as T)) {
      throw new SettingValueError(`one of ${allowed.join(', ')}, got ${show(raw)}`);
    }
    return value as T;
  };

const text =
  (pattern: RegExp, description: string): Parser<string> =>
  (raw) => {
    if (typeof raw !== 'string' || !pattern.test(raw)) {
      throw new SettingValueError(`${description}, got ${show(raw)}`);
    }
    return raw;
  };

/** Lists come as JSON arrays from context and as comma-separated strings from the environment. */
const list =
  <T extends string>(item: Parser<T>, allowEmpty = false): Parser<T[]> =>
  (raw) => {
    const items =
      typeof raw === 'string'
        ? raw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : raw;
    if (!Array.isArray(items) || (!allowEmpty && items.length === 0)) {
      throw new SettingValueError(`a ${allowEmpty ? '' : 'non-empty '}list, got ${show(raw)}`);
    }
    return items.map(item);
  };

/** Tags come as an object from context and as "Key=Value,Key2=Value2" from the environment. */
const tagMap: Parser<Record<string, string>> = (raw) => {
  const entries =
    typeof raw === 'string'
      ? raw
          .split(',')
          .filter((s) => s.trim())
          .map((pair) => pair.split('=').map((s) => s.trim()))
      : raw !== null && typeof raw === 'object' && !Array.isArray(raw)
        ? Object.entries(raw)
        : undefined;
  const valid = (e: unknown[]) =>
    e.length === 2 && e.every((s) => typeof s === 'string' && /^[\w .:/=+\-@]{1,256}$/.test(s));
  if (!entries || !entries.every(valid)) {
    throw new SettingValueError(`tags as {"Key": "Value"} or Key=Value,Key2=Value2, got ${show(raw)}`);
  }
  return Object.fromEntries(entries as [string, string][]);
};

const EMPTY_OR = (pattern: RegExp) => new RegExp(`^$|${pattern.source}`);
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ORIGIN = /^(\*|https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?)$/;
const HEADER = /^[A-Za-z0-9*-]+$/;

/** Every setting: its default and how a raw value is checked. Environment names are derived (TAP_ + SNAKE_CASE). */
const SETTINGS: {
  readonly [K in keyof TapConfig]: { readonly default: TapConfig[K]; readonly parse: Parser<TapConfig[K]> };
} = {
  project: {
    default: 'tap',
    parse: text(/^[a-z][a-z0-9-]{1,19}$/, 'a lower-case name of 2 to 20 letters, digits or hyphens'),
  },
  environment: { default: 'dev', parse: oneOf(ENVIRONMENTS) },
  region: { default: 'us-east-1', parse: text(REGION, 'an AWS region such as us-east-1') },
  owner: { default: 'platform-team', parse: text(/^[\w .:/=+\-@]{1,256}$/, 'a tag value of 1 to 256 characters') },
  tags: { default: {}, parse: tagMap },
  tableReadCapacity: { default: 100, parse: integer(1, 40000) },
  tableWriteCapacity: { default: 100, parse: integer(1, 40000) },
  enableDeletionProtection: { default: true, parse: boolean },
  lambdaMemoryMb: { default: 512, parse: integer(128, 10240) },
  lambdaTimeoutSeconds: { default: 30, parse: integer(3, 900) },
  // 100 WCU and one ~1 WCU write per object: one busy instance stores ~10 objects/s (about 100 ms
  // per object, measured), so 10 instances keep the write rate at or below the table's capacity.
  // 0 reserves nothing: for accounts whose concurrency quota cannot spare 10 (new accounts have 10).
  lambdaReservedConcurrency: { default: 10, parse: integer(0, 1000) },
  lambdaMaxRetryAttempts: { default: 2, parse: integer(0, 2) },
  lambdaMaxEventAgeSeconds: { default: 21600, parse: integer(60, 21600) },
  sdkMaxAttempts: { default: 5, parse: integer(1, 10) },
  logLevel: { default: 'INFO', parse: oneOf(LOG_LEVELS) },
  logRetentionDays: { default: 365, parse: oneOf(LOG_RETENTION_DAYS as unknown as number[]) },
  corsAllowedOrigins: {
    default: ['http://localhost:3000'],
    parse: list(text(ORIGIN, 'origins like https://app.example.com')),
  },
  corsAllowAnyOrigin: { default: false, parse: boolean },
  corsAllowedMethods: { default: ['GET', 'PUT', 'POST', 'HEAD'], parse: list(oneOf(CORS_METHODS)) },
  corsAllowedHeaders: {
    default: ['authorization', 'content-type', 'content-md5', 'x-amz-*'],
    parse: list(text(HEADER, 'header names (a * wildcard allowed)')),
  },
  corsExposeHeaders: { default: ['ETag', 'x-amz-version-id'], parse: list(text(HEADER, 'header names'), true) },
  corsMaxAgeSeconds: { default: 3000, parse: integer(0, 86400) },
  notificationPrefix: { default: '', parse: text(/^.{0,1024}$/, 'a key prefix of at most 1024 characters') },
  notificationSuffix: { default: '', parse: text(/^.{0,1024}$/, 'a key suffix of at most 1024 characters') },
  noncurrentVersionExpirationDays: { default: 90, parse: integer(1, 3650) },
  abortIncompleteMultipartUploadDays: { default: 7, parse: integer(1, 365) },
  accessLogBucket: {
    default: '',
    parse: text(EMPTY_OR(BUCKET_NAME), 'an S3 bucket name, or empty to disable access logging'),
  },
  accessLogPrefix: { default: '', parse: text(/^.{0,512}$/, 'a key prefix') },
  alarmEmail: { default: '', parse: text(EMPTY_OR(EMAIL), 'an email address such as oncall@example.com, or empty') },
  stateBucket: { default: '', parse: text(EMPTY_OR(BUCKET_NAME), 'an S3 bucket name, or empty for local state') },
  stateKey: { default: '', parse: text(/^.{0,1024}$/, 'an S3 key') },
  stateRegion: { default: '', parse: text(EMPTY_OR(REGION), 'an AWS region, or empty for the stack region') },
  stateUseLockfile: { default: true, parse: boolean },
  recordObjectTags: { default: false, parse: boolean },
};

export const SETTING_NAMES = Object.keys(SETTINGS) as (keyof TapConfig)[];

/** TAP_ + the setting name in SCREAMING_SNAKE_CASE, e.g. tableWriteCapacity -> TAP_TABLE_WRITE_CAPACITY. */
export const envVarName = (setting: string): string =>
  `TAP_${setting.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;

/**
 * Merges defaults, context and environment (later wins), validates every setting and the rules
 * between them, and throws one TapConfigError naming every problem.
 */
export function resolveConfig(
  context: Readonly<Record<string, unknown>> = {},
  env: Readonly<Record<string, string | undefined>> = {},
): TapConfig {
  const problems: string[] = [];
  for (const key of Object.keys(context)) {
    if (!(key in SETTINGS))
      problems.push(`unknown setting "${key}" in context "tap"; known settings: ${SETTING_NAMES.join(', ')}`);
  }
  const values: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const variable = envVarName(name);
    const [raw, source] =
      env[variable] !== undefined
        ? [env[variable], `environment variable ${variable}`]
        : context[name] !== undefined
          ? [context[name], `context tap.${name}`]
          : [undefined, 'default'];
    if (raw === undefined) {
      values[name] = SETTINGS[name].default;
      continue;
    }
    try {
      values[name] = (SETTINGS[name].parse as Parser<unknown>)(raw);
    } catch (error) {
      if (!(error instanceof SettingValueError)) throw error;
      problems.push(`${name} (from ${source}): expected ${error.message}`);
    }
  }
  if (problems.length === 0) problems.push(...crossCheck(values as unknown as TapConfig));
  if (problems.length > 0) throw new TapConfigError(problems);
  return values as unknown as TapConfig;
}

function crossCheck(config: TapConfig): string[] {
  const problems: string[] = [];
  const names = resourceNames(config);
  // Account ids are always 12 digits, so the longest bucket name is known before any account is.
  const bucketName = names.bucketName('<12-digit account>', config.region);
  const longestNames = [
    { what: 'S3 bucket name', name: bucketName, length: bucketName.length - 18 + 12, limit: NAME_LIMITS.s3Bucket },
    { what: 'IAM role name', name: names.roleName, length: names.roleName.length, limit: NAME_LIMITS.iamRole },
    {
      what: 'Lambda function name',
      name: names.functionName,
      length: names.functionName.length,
      limit: NAME_LIMITS.lambdaFunction,
    },
  ];
  for (const { what, name, length, limit } of longestNames) {
    if (length > limit) {
      problems.push(
        `project: the ${what} "${name}" would be ${length} characters; AWS allows ${limit}. ` +
          `Shorten project ("${config.project}", ${config.project.length} characters) by ${length - limit}`,
      );
    }
  }
  if (config.corsAllowedOrigins.includes('*') && !config.corsAllowAnyOrigin) {
    problems.push(
      'corsAllowedOrigins: "*" lets any web site read the bucket through browsers; set corsAllowAnyOrigin to true to allow it explicitly',
    );
  }
  if (config.stateBucket === '' && (config.stateKey !== '' || config.stateRegion !== '')) {
    problems.push('stateBucket: stateKey and stateRegion are set, but stateBucket is empty');
  }
  return problems;
}

/**
 * TapStack's configuration as `cdktf synth` resolves it: cdktf.json's `context.tap`, then TAP_*
 * variables. Scripts and the CLI use this, not the bare defaults, so they agree with the stack.
 */
export function projectConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  cdktfJson = path.join(__dirname, 'cdktf.json'),
): TapConfig {
  const cdktf = JSON.parse(fs.readFileSync(cdktfJson, 'utf8')) as { context?: { tap?: Record<string, unknown> } };
  return resolveConfig(cdktf.context?.tap ?? {}, env);
}

// ---------------------------------------------------------------------------------------------
// What the stack, the handler, the scripts and the tests share: names, keys, the function's
// environment and the signals that become alarms.
// ---------------------------------------------------------------------------------------------

/** Where `npm run build:handler` writes the bundle the function runs (relative to the project). */
export const HANDLER_BUNDLE_DIR = 'dist/handler';

export const TABLE_KEY_SCHEMA = { partitionKey: 'objectKey', sortKey: 'versionId' } as const;

/** The Lambda runtime: the newest hashicorp/aws 5.100.0 accepts; arm64 costs 20% less per GB-second. */
export const FUNCTION_RUNTIME = { runtime: 'nodejs22.x', architecture: 'arm64' } as const;

/**
 * Every change S3 reports about an object, so the table mirrors the bucket: requests, lifecycle
 * expirations (which the stack's own lifecycle rules cause), storage-class transitions, restores of
 * archived objects, and tagging when tags are recorded.
 */
export function bucketNotificationEvents(config: Pick<TapConfig, 'recordObjectTags'>): string[] {
  return [
    's3:ObjectCreated:*',
    's3:ObjectRemoved:*',
    's3:LifecycleExpiration:*',
    's3:LifecycleTransition',
    's3:IntelligentTiering',
    's3:ObjectRestore:Completed',
    ...(config.recordObjectTags ? ['s3:ObjectTagging:*'] : []),
  ];
}

/** Whether the notification's filter (notificationPrefix, notificationSuffix) hands `key` to the function. */
export const passesNotificationFilter = (
  config: Pick<TapConfig, 'notificationPrefix' | 'notificationSuffix'>,
  key: string,
): boolean => key.startsWith(config.notificationPrefix) && key.endsWith(config.notificationSuffix);

/** The name-length limits AWS sets on the names this stack builds. */
export const NAME_LIMITS = { s3Bucket: 63, iamRole: 64, lambdaFunction: 64 } as const;

/**
 * Every resource name, from project, environment and region; the stack, scripts and CLI all use these.
 * Regional resources need no region in their names. IAM roles, IAM policies and CloudWatch dashboards
 * are global per account, and S3 bucket names global everywhere: those carry the region, so the same
 * project and environment can be deployed to a second region. State is per region too.
 */
export function resourceNames(config: Pick<TapConfig, 'project' | 'environment' | 'region'>) {
  const prefix = `${config.project}-${config.environment}`;
  const functionName = `${prefix}-metadata-extractor`;
  return {
    prefix,
    functionName,
    roleName: `${functionName}-${config.region}`,
    uploadersPolicyName: `${prefix}-uploaders-${config.region}`,
    logGroupName: `/aws/lambda/${functionName}`,
    tableName: `${prefix}-file-metadata`,
    queueName: `${prefix}-metadata-failed-events`,
    topicName: `${prefix}-pipeline-alarms`,
    keyAlias: `alias/${prefix}-pipeline`,
    dashboardName: `${prefix}-file-metadata-pipeline-${config.region}`,
    /** Unique per account and region, as S3 bucket names must be. */
    bucketName: (accountId: string, region: string) => `${prefix}-uploads-${accountId}-${region}`,
    /** Local state, in the project folder: one file per environment and region. */
    localStateFile: `terraform.${prefix}-${config.region}.tfstate`,
    /** Remote state key when stateKey is not set. */
    defaultStateKey: `${config.project}/${config.environment}/${config.region}/terraform.tfstate`,
    /** Where state lived before names carried the region; never silently ignored (see legacyStateProblem). */
    legacyLocalStateFile: `terraform.${prefix}.tfstate`,
    legacyStateKey: `${config.project}/${config.environment}/terraform.tfstate`,
  };
}
export type ResourceNames = ReturnType<typeof resourceNames>;

/**
 * The function's environment: the only place the stack-handler contract is written. The stack passes
 * the table's Terraform reference as tableName; scripts pass the literal name.
 */
export function functionEnvironment(
  config: Pick<TapConfig, 'project' | 'logLevel' | 'sdkMaxAttempts' | 'recordObjectTags'>,
  names: Pick<ResourceNames, 'tableName' | 'functionName'>,
): Record<string, string> {
  return {
    TABLE_NAME: names.tableName,
    POWERTOOLS_SERVICE_NAME: names.functionName,
    POWERTOOLS_METRICS_NAMESPACE: config.project,
    POWERTOOLS_LOG_LEVEL: config.logLevel,
    // The SDK reads these itself: throttling and 5xx are retried with backoff before a record fails.
    AWS_MAX_ATTEMPTS: String(config.sdkMaxAttempts),
    AWS_RETRY_MODE: 'standard',
    RECORD_OBJECT_TAGS: String(config.recordObjectTags),
  };
}

export interface PipelineSignal {
  readonly id: string;
  /** The CloudWatch alarm's name: `<project>-<env>-` and the id with hyphens. */
  readonly alarmName: string;
  readonly title: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly statistic: 'Sum' | 'Maximum';
  readonly extendedStatistic?: string;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly threshold: number;
}

/**
 * The signals that tell whether the pipeline is healthy: each becomes an alarm and a dashboard widget.
 * `watched` names what is watched: literal names, or the stack's Terraform references to them.
 */
export function pipelineSignals(
  config: Pick<TapConfig, 'project' | 'environment' | 'region' | 'lambdaTimeoutSeconds' | 'tableWriteCapacity'>,
  watched: Pick<ResourceNames, 'functionName' | 'tableName' | 'queueName'>,
): PipelineSignal[] {
  const { prefix } = resourceNames(config);
  const p = {
    ...watched,
    // Where the handler's own metrics go (POWERTOOLS_METRICS_NAMESPACE).
    metricsNamespace: config.project,
    timeoutMs: config.lambdaTimeoutSeconds * 1000,
    writeCapacity: config.tableWriteCapacity,
  };
  const lambda = { namespace: 'AWS/Lambda', dimensions: { FunctionName: p.functionName } };
  // Powertools Metrics adds the service name as the one dimension of every metric the handler emits.
  const handler = { namespace: p.metricsNamespace, dimensions: { service: p.functionName } };
  const dynamo = { namespace: 'AWS/DynamoDB', dimensions: { TableName: p.tableName } };
  const fiveMinutes = { periodSeconds: 300, evaluationPeriods: 1 };
  const signals: Omit<PipelineSignal, 'alarmName'>[] = [
    {
      id: 'lambda_errors',
      title: 'Function errors',
      ...lambda,
      ...fiveMinutes,
      metricName: 'Errors',
      statistic: 'Sum',
      threshold: 0,
      description:
        'The metadata extractor failed invocations. Read the ERROR lines in its log group (they name bucket, key and version); failed events are retried, then land in the dead-letter queue.',
    },
    {
      id: 'lambda_throttles',
      title: 'Function throttles',
      ...lambda,
      periodSeconds: 300,
      evaluationPeriods: 3,
      metricName: 'Throttles',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Uploads arrive faster than the reserved concurrency allows for 15 minutes. Events wait and retry for up to the maximum event age; raise lambdaReservedConcurrency together with tableWriteCapacity if this persists.',
    },
    {
      id: 'lambda_duration',
      title: 'Function duration p99 (ms)',
      ...lambda,
      ...fiveMinutes,
      metricName: 'Duration',
      statistic: 'Maximum',
      extendedStatistic: 'p99',
      threshold: Math.round(p.timeoutMs * 0.8),
      description:
        'p99 duration is above 80% of the timeout. Check S3/DynamoDB latency and throttling in X-Ray; raise lambdaTimeoutSeconds or lambdaMemoryMb before invocations start timing out.',
    },
    {
      id: 'dead_letter_queue_not_empty',
      title: 'Failed events waiting in the dead-letter queue',
      namespace: 'AWS/SQS',
      dimensions: { QueueName: p.queueName },
      ...fiveMinutes,
      metricName: 'ApproximateNumberOfMessagesVisible',
      statistic: 'Maximum',
      threshold: 0,
      description:
        'Events exhausted their retries and wait in the dead-letter queue (kept 14 days). Each message holds the event and the error naming the failed records: fix the cause, then run tap redrive, which hands each event back to the function and deletes it once stored.',
    },
    {
      id: 'unreadable_objects',
      title: 'Objects recorded as unreadable',
      ...handler,
      ...fiveMinutes,
      metricName: 'UnreadableObjects',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Objects exist that the function cannot read: an archived storage class, a customer-provided key (SSE-C), or a KMS key it may not use. Each is recorded once with status unreadable and its reason, never retried: run tap show KEY for the reason, then restore the object (its ObjectRestore:Completed event reads it) or grant the key and run tap reconcile --repair.',
    },
    {
      id: 'dynamodb_write_throttles',
      title: 'Table write throttles',
      ...dynamo,
      ...fiveMinutes,
      metricName: 'WriteThrottleEvents',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Writes to the metadata table are throttled. The SDK retries them, but sustained throttling fails events: raise tableWriteCapacity or lower lambdaReservedConcurrency.',
    },
    {
      id: 'dynamodb_read_throttles',
      title: 'Table read throttles',
      ...dynamo,
      ...fiveMinutes,
      metricName: 'ReadThrottleEvents',
      statistic: 'Sum',
      threshold: 0,
      description:
        'Reads of the metadata table are throttled: a consumer reads faster than tableReadCapacity allows. Raise it or add caching on the reader side.',
    },
    {
      id: 'dynamodb_write_capacity_high',
      title: 'Consumed write capacity (units per 5 min)',
      ...dynamo,
      periodSeconds: 300,
      evaluationPeriods: 2,
      metricName: 'ConsumedWriteCapacityUnits',
      statistic: 'Sum',
      threshold: Math.round(p.writeCapacity * 300 * 0.8),
      description:
        'The table consumed more than 80% of its provisioned write capacity for 10 minutes. Throttling is next: raise tableWriteCapacity, or lower lambdaReservedConcurrency to slow ingestion.',
    },
  ];
  return signals.map((signal) => ({ ...signal, alarmName: `${prefix}-${signal.id.replace(/_/g, '-')}` }));
}

/**
 * Local state written before names carried the region (terraform.<project>-<env>.tfstate) must not be
 * silently left behind: Terraform would start from empty state and try to create resources that
 * exist. Returns the message that stops synth, with the exact command to move the file, or undefined.
 */
export function legacyStateProblem(projectDir: string, config: TapConfig): string | undefined {
  if (config.stateBucket) return undefined;
  const names = resourceNames(config);
  const legacy = path.join(projectDir, names.legacyLocalStateFile);
  if (!fs.existsSync(legacy)) return undefined;
  const current = path.join(projectDir, names.localStateFile);
  const heading = `Local state from before region-qualified names found: ${names.legacyLocalStateFile}.`;
  if (fs.existsSync(current)) {
    return (
      `${heading} ${names.localStateFile} exists too, so the stack would use it and ignore the old file. ` +
      `Compare them, keep the one that holds the deployment under ${names.localStateFile}, and remove ` +
      `${names.legacyLocalStateFile} (keep a copy until a plan shows no changes).`
    );
  }
  const region = regionOfState(legacy);
  if (region && region !== config.region) {
    const target = resourceNames({ ...config, region }).localStateFile;
    return (
      `${heading} It holds resources in ${region}, not in the configured region ${config.region}. ` +
      `For that deployment, set TAP_REGION=${region} and run: mv ${names.legacyLocalStateFile} ${target}`
    );
  }
  return `${heading} This stack keeps its state in ${names.localStateFile} now; run: mv ${names.legacyLocalStateFile} ${names.localStateFile}`;
}

/** The region of the first regional ARN in a Terraform state file, if any. */
function regionOfState(file: string): string | undefined {
  const match = /"arn:aws[\w-]*:[\w-]+:([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):\d{12}:/.exec(
    fs.readFileSync(file, 'utf8'),
  );
  return match?.[1];
}

/** An ARN; region and account are empty for global resources (s3 buckets, iam). */
export const arn = (partition: string, service: string, region: string, account: string, resource: string): string =>
  `arn:${partition}:${service}:${region}:${account}:${resource}`;
