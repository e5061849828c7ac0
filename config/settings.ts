// TapStack's settings: what each one accepts, its default, and how they resolve: defaults, then
// cdktf.json context (key "tap"), then TAP_* environment variables. No cdktf import.
import fs from 'node:fs';
import path from 'node:path';
import { NAME_LIMITS, resourceNames } from './names';

export const ENVIRONMENTS = ['dev', 'test', 'staging', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
export type CorsMethod = (typeof CORS_METHODS)[number];
export const EVENT_DELIVERIES = ['s3', 'eventbridge'] as const;
export type EventDelivery = (typeof EVENT_DELIVERIES)[number];
/** The retention values CloudWatch Logs accepts; 0 (never expire) is deliberately absent. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The settings, resolved; SETTINGS describes each. */
export interface TapConfig {
  /** With environment and region it must fit AWS's name limits (checked at synth). */
  readonly project: string;
  readonly environment: EnvironmentName;
  readonly region: string;
  readonly owner: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly tableReadCapacity: number;
  readonly tableWriteCapacity: number;
  /** tableWriteCapacity unless set; never below it (checked at synth). */
  readonly tableMaxWriteCapacity: number;
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
  readonly accessLogBucket: string;
  readonly accessLogPrefix: string;
  readonly alarmEmail: string;
  readonly stateBucket: string;
  readonly stateKey: string;
  readonly stateRegion: string;
  readonly stateUseLockfile: boolean;
  readonly recordObjectTags: boolean;
  /** Always `eventbridge` when existingBucketName is set (resolveConfig turns it on, or refuses `s3`). */
  readonly eventDelivery: EventDelivery;
  readonly existingBucketName: string;
  readonly existingBucketKmsKeyArns: readonly string[];
  readonly enableBatchOperations: boolean;
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
/** A key ARN, not an alias: IAM grants on a key name the key itself. */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/**
 * Every setting: what it does (README's configuration table shows it), its default and how a raw value
 * is checked. Environment names are derived (TAP_ + SNAKE_CASE).
 */
export const SETTINGS: {
  readonly [K in keyof TapConfig]: {
    readonly description: string;
    readonly default: TapConfig[K];
    readonly parse: Parser<TapConfig[K]>;
  };
} = {
  project: {
    description: 'lower-case name that prefixes every resource',
    default: 'tap',
    parse: text(/^[a-z][a-z0-9-]{1,19}$/, 'a lower-case name of 2 to 20 letters, digits or hyphens'),
  },
  environment: {
    description: 'one of `dev`, `test`, `staging`, `prod`; in every resource name',
    default: 'dev',
    parse: oneOf(ENVIRONMENTS),
  },
  region: {
    description: 'AWS region of the provider',
    default: 'us-east-1',
    parse: text(REGION, 'an AWS region such as us-east-1'),
  },
  owner: {
    description: '`Owner` tag',
    default: 'platform-team',
    parse: text(/^[\w .:/=+\-@]{1,256}$/, 'a tag value of 1 to 256 characters'),
  },
  tags: {
    description: 'extra default tags (cannot override Project, Environment, Owner, ManagedBy)',
    default: {},
    parse: tagMap,
  },
  tableReadCapacity: { description: 'provisioned RCU, 1 to 40000', default: 100, parse: integer(1, 40000) },
  tableWriteCapacity: { description: 'provisioned WCU, 1 to 40000', default: 100, parse: integer(1, 40000) },
  tableMaxWriteCapacity: {
    description:
      'the most WCU write autoscaling may reach (see below); the default, tableWriteCapacity, adds no autoscaling',
    default: 100,
    parse: integer(1, 40000),
  },
  enableDeletionProtection: { description: 'DynamoDB deletion protection', default: true, parse: boolean },
  lambdaMemoryMb: {
    description: 'function memory in MB (chosen from measurement, see below)',
    default: 512,
    parse: integer(128, 10240),
  },
  lambdaTimeoutSeconds: { description: 'function timeout, 3 to 900', default: 30, parse: integer(3, 900) },
  // 100 WCU and one ~1 WCU write per object: one busy instance stores ~10 objects/s (about 100 ms
  // per object, measured), so 10 instances keep the write rate at or below the table's capacity.
  // 0 reserves nothing: for accounts whose concurrency quota cannot spare 10 (new accounts have 10).
  lambdaReservedConcurrency: {
    description: 'bounds the write rate into the table (see below); `0` reserves nothing',
    default: 10,
    parse: integer(0, 1000),
  },
  lambdaMaxRetryAttempts: {
    description: 'async retries before the on-failure destination, 0 to 2',
    default: 2,
    parse: integer(0, 2),
  },
  lambdaMaxEventAgeSeconds: {
    description: 'how long Lambda keeps retrying an event, 60 to 21600',
    default: 21600,
    parse: integer(60, 21600),
  },
  sdkMaxAttempts: {
    description: 'AWS SDK attempts per call (throttling and 5xx, with backoff)',
    default: 5,
    parse: integer(1, 10),
  },
  logLevel: { description: '`DEBUG`, `INFO`, `WARN` or `ERROR`', default: 'INFO', parse: oneOf(LOG_LEVELS) },
  logRetentionDays: {
    description: 'a value CloudWatch accepts; "never expire" is not offered',
    default: 365,
    parse: oneOf(LOG_RETENTION_DAYS as unknown as number[]),
  },
  corsAllowedOrigins: {
    description: 'browser origins; `*` only with `corsAllowAnyOrigin`',
    default: ['http://localhost:3000'],
    parse: list(text(ORIGIN, 'origins like https://app.example.com')),
  },
  corsAllowAnyOrigin: { description: 'the explicit opt-in a `*` origin needs', default: false, parse: boolean },
  corsAllowedMethods: {
    description: 'subset of GET, PUT, POST, DELETE, HEAD',
    default: ['GET', 'PUT', 'POST', 'HEAD'],
    parse: list(oneOf(CORS_METHODS)),
  },
  corsAllowedHeaders: {
    description: 'request headers browsers may send',
    default: ['authorization', 'content-type', 'content-md5', 'x-amz-*'],
    parse: list(text(HEADER, 'header names (a * wildcard allowed)')),
  },
  corsExposeHeaders: {
    description: 'response headers browsers may read',
    default: ['ETag', 'x-amz-version-id'],
    parse: list(text(HEADER, 'header names'), true),
  },
  corsMaxAgeSeconds: { description: 'preflight cache', default: 3000, parse: integer(0, 86400) },
  notificationPrefix: {
    description: 'only keys with this prefix trigger the function',
    default: '',
    parse: text(/^.{0,1024}$/, 'a key prefix of at most 1024 characters'),
  },
  notificationSuffix: {
    description: 'only keys with this suffix trigger the function',
    default: '',
    parse: text(/^.{0,1024}$/, 'a key suffix of at most 1024 characters'),
  },
  noncurrentVersionExpirationDays: {
    description: 'days a replaced or deleted version is kept',
    default: 90,
    parse: integer(1, 3650),
  },
  abortIncompleteMultipartUploadDays: {
    description: 'days before unfinished multipart uploads are removed',
    default: 7,
    parse: integer(1, 365),
  },
  accessLogBucket: {
    description: 'existing bucket for S3 server access logs; empty turns access logging off',
    default: '',
    parse: text(EMPTY_OR(BUCKET_NAME), 'an S3 bucket name, or empty to disable access logging'),
  },
  accessLogPrefix: {
    description: 'key prefix of those logs; empty means `s3-access/<project>-<env>-uploads/`',
    default: '',
    parse: text(/^.{0,512}$/, 'a key prefix'),
  },
  alarmEmail: {
    description: 'address subscribed to the alarm topic; empty subscribes no one',
    default: '',
    parse: text(EMPTY_OR(EMAIL), 'an email address such as oncall@example.com, or empty'),
  },
  stateBucket: {
    description: 'S3 bucket for remote state (encrypted, S3-native lock file); empty keeps local state',
    default: '',
    parse: text(EMPTY_OR(BUCKET_NAME), 'an S3 bucket name, or empty for local state'),
  },
  stateKey: {
    description: 'state object key; empty means `<project>/<env>/<region>/terraform.tfstate`',
    default: '',
    parse: text(/^.{0,1024}$/, 'an S3 key'),
  },
  stateRegion: {
    description: 'state bucket region; empty means the stack region',
    default: '',
    parse: text(EMPTY_OR(REGION), 'an AWS region, or empty for the stack region'),
  },
  stateUseLockfile: {
    description: '`use_lockfile` (Terraform >= 1.10) instead of a DynamoDB lock table',
    default: true,
    parse: boolean,
  },
  recordObjectTags: {
    description: "store each object's tags (one more S3 request per object) and follow tagging events",
    default: false,
    parse: boolean,
  },
  eventDelivery: {
    description:
      '`s3` (a bucket notification invokes the function) or `eventbridge` (a rule on the default bus does); an existing bucket always uses `eventbridge`',
    default: 's3',
    parse: oneOf(EVENT_DELIVERIES),
  },
  existingBucketName: {
    description:
      'index this bucket instead of creating one: the stack reads it and never changes it (see [adopting a bucket](docs/operating.md#adopting-an-existing-bucket))',
    default: '',
    parse: text(EMPTY_OR(BUCKET_NAME), 'an S3 bucket name, or empty for a bucket the stack creates'),
  },
  existingBucketKmsKeyArns: {
    description:
      "the KMS keys that existing bucket's objects are encrypted with; the function decrypts through S3 only",
    default: [],
    parse: list(
      text(KMS_KEY_ARN, 'KMS key ARNs like arn:aws:kms:us-east-1:111122223333:key/<key id> (not aliases)'),
      true,
    ),
  },
  enableBatchOperations: {
    description:
      'a role and an operations bucket for S3 Batch Operations jobs that invoke the function (`tap backfill`)',
    default: false,
    parse: boolean,
  },
};

/** The settings that shape a bucket the stack creates; an existing bucket keeps what its owner set. */
const OWNED_BUCKET_SETTINGS = [
  'corsAllowedOrigins',
  'corsAllowAnyOrigin',
  'corsAllowedMethods',
  'corsAllowedHeaders',
  'corsExposeHeaders',
  'corsMaxAgeSeconds',
  'noncurrentVersionExpirationDays',
  'abortIncompleteMultipartUploadDays',
  'accessLogBucket',
  'accessLogPrefix',
] as const;

export const SETTING_NAMES = Object.keys(SETTINGS) as (keyof TapConfig)[];

/** TAP_ + the setting name in SCREAMING_SNAKE_CASE, e.g. tableWriteCapacity -> TAP_TABLE_WRITE_CAPACITY. */
export const envVarName = (setting: string): string =>
  `TAP_${setting.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;

/**
 * The TAP_* variables the tooling reads, not settings: known names, so resolveConfig lets them pass.
 * TAP_RECORD_CALLS names the folder the recording suites save their evidence in for npm run security
 * (scripts/lib/iam/evidence.ts); TAP_TF_PROVIDER_MIRROR names the offline Terraform's provider mirror
 * (scripts/lib/terraform.ts).
 */
export const TOOLING_VARIABLES: readonly string[] = ['TAP_RECORD_CALLS', 'TAP_TF_PROVIDER_MIRROR'];

/** The known name closest to `name` by edit distance (insertions, deletions, substitutions). */
function nearest(name: string, known: readonly string[]): string {
  const distance = (b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= name.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++)
        next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (name[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length];
  };
  return known.reduce((best, candidate) => (distance(candidate) < distance(best) ? candidate : best));
}

/**
 * Merges defaults, context and environment (later wins), validates every setting and the rules
 * between them, and throws one TapConfigError naming every problem: unknown context keys and TAP_*
 * variables too, with the nearest known name.
 */
export function resolveConfig(
  context: Readonly<Record<string, unknown>> = {},
  env: Readonly<Record<string, string | undefined>> = {},
): TapConfig {
  const problems: string[] = [];
  for (const key of Object.keys(context)) {
    if (!(key in SETTINGS))
      problems.push(
        `unknown setting "${key}" in context "tap"; known settings: ${SETTING_NAMES.join(', ')}; ` +
          `did you mean ${nearest(key, SETTING_NAMES)}?`,
      );
  }
  // A mistyped variable would otherwise be ignored as silently as a mistyped context key.
  const settingOf = new Map(SETTING_NAMES.map((name) => [envVarName(name), name]));
  for (const variable of Object.keys(env)) {
    if (!variable.startsWith('TAP_') || env[variable] === undefined) continue;
    if (settingOf.has(variable) || TOOLING_VARIABLES.includes(variable)) continue;
    const guess = nearest(variable, [...settingOf.keys(), ...TOOLING_VARIABLES]);
    const setting = settingOf.get(guess);
    problems.push(`unknown environment variable ${variable}; did you mean ${guess}${setting ? ` (${setting})` : ''}?`);
  }
  const values: Record<string, unknown> = {};
  const given = new Set<keyof TapConfig>();
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
    given.add(name);
    try {
      values[name] = (SETTINGS[name].parse as Parser<unknown>)(raw);
    } catch (error) {
      if (!(error instanceof SettingValueError)) throw error;
      problems.push(`${name} (from ${source}): expected ${error.message}`);
    }
  }
  // Without a maximum of its own, write capacity stays where tableWriteCapacity puts it: no autoscaling.
  if (!given.has('tableMaxWriteCapacity')) values.tableMaxWriteCapacity = values.tableWriteCapacity;
  if (problems.length === 0) problems.push(...crossCheck(values as unknown as TapConfig, given));
  if (problems.length > 0) throw new TapConfigError(problems);
  // An existing bucket's notification configuration is its owner's: only EventBridge can deliver from it.
  if (values.existingBucketName !== '') values.eventDelivery = 'eventbridge';
  return values as unknown as TapConfig;
}

function crossCheck(config: TapConfig, given: ReadonlySet<keyof TapConfig>): string[] {
  const problems: string[] = [];
  const names = resourceNames(config);
  // Account ids are always 12 digits, so the longest bucket name is known before any account is.
  const bucketName = names.bucketName('<12-digit account>', config.region);
  const operationsBucket = names.operationsBucketName('<12-digit account>', config.region);
  const longestNames = [
    { what: 'S3 bucket name', name: bucketName, length: bucketName.length - 18 + 12, limit: NAME_LIMITS.s3Bucket },
    ...(config.enableBatchOperations
      ? [
          {
            what: 'operations bucket name',
            name: operationsBucket,
            length: operationsBucket.length - 18 + 12,
            limit: NAME_LIMITS.s3Bucket,
          },
        ]
      : []),
    { what: 'IAM role name', name: names.roleName, length: names.roleName.length, limit: NAME_LIMITS.iamRole },
    {
      what: 'Lambda function name',
      name: names.functionName,
      length: names.functionName.length,
      limit: NAME_LIMITS.lambdaFunction,
    },
  ];
  for (const { what, name, length, limit } of longestNames) {
    // An existing bucket has its name already; the stack builds none.
    if (what === 'S3 bucket name' && config.existingBucketName !== '') continue;
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
  if (config.tableMaxWriteCapacity < config.tableWriteCapacity) {
    problems.push(
      `tableMaxWriteCapacity: ${config.tableMaxWriteCapacity} is below tableWriteCapacity (${config.tableWriteCapacity}), ` +
        'the least write autoscaling keeps; set it to tableWriteCapacity or more (equal adds no autoscaling)',
    );
  }
  if (config.stateBucket === '' && (config.stateKey !== '' || config.stateRegion !== '')) {
    problems.push('stateBucket: stateKey and stateRegion are set, but stateBucket is empty');
  }
  if (config.existingBucketName === '') {
    if (config.existingBucketKmsKeyArns.length > 0) {
      problems.push(
        'existingBucketKmsKeyArns: set, but existingBucketName is empty (the keys are those of an existing bucket)',
      );
    }
    return problems;
  }
  // SSE-KMS uses keys of the bucket's region, which must be the stack's (its events reach EventBridge there).
  const elsewhere = config.existingBucketKmsKeyArns.filter((keyArn) => keyArn.split(':')[3] !== config.region);
  if (elsewhere.length > 0) {
    problems.push(
      `existingBucketKmsKeyArns: ${elsewhere.join(', ')} not in ${config.region}, the stack's region; ` +
        "S3 encrypts a bucket's objects with keys of the bucket's own region",
    );
  }
  if (given.has('eventDelivery') && config.eventDelivery === 's3') {
    problems.push(
      `eventDelivery: "s3" cannot deliver from the existing bucket "${config.existingBucketName}": a bucket notification ` +
        "written by the stack would replace the bucket's whole notification configuration, and every consumer it holds; " +
        'use "eventbridge" (or leave eventDelivery unset)',
    );
  }
  const ownedOnly = OWNED_BUCKET_SETTINGS.filter((name) => given.has(name));
  if (ownedOnly.length > 0) {
    problems.push(
      `${ownedOnly.join(', ')}: shape a bucket the stack creates; the existing bucket "${config.existingBucketName}" ` +
        'keeps what its owner set, so unset them',
    );
  }
  return problems;
}

/**
 * TapStack's configuration as `cdktf synth` resolves it: cdktf.json's `context.tap`, then TAP_*
 * variables. Scripts and the CLI use this, not the bare defaults, so they agree with the stack.
 */
export function projectConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  cdktfJson = path.join(__dirname, '..', 'cdktf.json'),
): TapConfig {
  const cdktf = JSON.parse(fs.readFileSync(cdktfJson, 'utf8')) as { context?: { tap?: Record<string, unknown> } };
  return resolveConfig(cdktf.context?.tap ?? {}, env);
}
