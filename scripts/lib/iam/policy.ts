// The concrete policy documents a deployment of the synthesized stack gets, read from cdk.tf.json alone
// (no AWS call): every aws_iam_policy_document rendered as the hashicorp/aws provider renders it, every
// Terraform reference resolved for one {account, region, partition}, every policy named by its
// Terraform address with the ARN it is attached to, and which key encrypts which store. A reference,
// expression or policy-bearing resource this file does not know throws an error naming it: an
// unresolved policy must never pass a check silently.
import { arn } from '../../../config';

export interface Deployment {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  /** Replaces the random id AWS gives each KMS key (FAKE_KEY_ID offline). */
  readonly keyId?: string;
}

/** An ARN in the deployment's region and account. */
export const regionalArn = (d: Omit<Deployment, 'keyId'>, service: string, resource: string) =>
  arn(d.partition, service, d.region, d.account, resource);

/** The id every aws_kms_key of the stack gets offline (AWS's documentation example id). */
export const FAKE_KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const EXAMPLE_DEPLOYMENT: Deployment = { account: '111122223333', region: 'us-east-1', partition: 'aws' };
/** moto's default account, which its queue URLs name. */
export const MOTO_DEPLOYMENT: Deployment = { account: '123456789012', region: 'us-east-1', partition: 'aws' };

export type Strings = string | string[];
export type PrincipalJson = '*' | Record<string, Strings>;
export interface StatementJson {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: PrincipalJson;
  NotPrincipal?: PrincipalJson;
  Action?: Strings;
  NotAction?: Strings;
  Resource?: Strings;
  NotResource?: Strings;
  Condition?: Record<string, Record<string, Strings>>;
}
export interface PolicyDocument {
  Version: string;
  Id?: string;
  Statement: StatementJson[];
}

/** identity: attached to a role; trust: a role's trust policy; resource: bucket, queue, topic or function; key. */
export interface NamedPolicy {
  readonly name: string;
  readonly kind: 'identity' | 'trust' | 'resource' | 'key';
  readonly attachedTo: string;
  readonly document: PolicyDocument;
}

type Attributes = Record<string, unknown>;
export interface SynthesizedJson {
  readonly resource?: Record<string, Record<string, Attributes>>;
  readonly data?: Record<string, Record<string, Attributes>>;
}

/** The queue ARN of a queue URL (AWS's or a stand-in's: the last two path segments are account and name). */
export function queueArnFromUrl(url: string, d: Pick<Deployment, 'partition' | 'region'>): string {
  const match = /^https?:\/\/([^/]+)\/(\d{12})\/([^/?]+)\/?$/.exec(url);
  if (!match) throw new Error(`Not an SQS queue URL: "${url}"`);
  return arn(d.partition, 'sqs', /^sqs\.([a-z0-9-]+)\./.exec(match[1])?.[1] ?? d.region, match[2], match[3]);
}

/** Per resource type: the attribute holding its name, and its ARN (Service Authorization Reference formats). */
const TYPES: Record<string, [name: string | undefined, arn: (n: string, d: Deployment, a: Attributes) => string]> = {
  aws_s3_bucket: ['bucket', (n, d) => arn(d.partition, 's3', '', '', n)],
  aws_dynamodb_table: ['name', (n, d) => regionalArn(d, 'dynamodb', `table/${n}`)],
  aws_sqs_queue: ['name', (n, d) => regionalArn(d, 'sqs', n)],
  aws_sns_topic: ['name', (n, d) => regionalArn(d, 'sns', n)],
  aws_cloudwatch_log_group: ['name', (n, d) => regionalArn(d, 'logs', `log-group:${n}`)],
  aws_lambda_function: ['function_name', (n, d) => regionalArn(d, 'lambda', `function:${n}`)],
  aws_iam_role: ['name', (n, d, a) => arn(d.partition, 'iam', '', d.account, `role${a.path ?? '/'}${n}`)],
  aws_iam_policy: ['name', (n, d, a) => arn(d.partition, 'iam', '', d.account, `policy${a.path ?? '/'}${n}`)],
  aws_kms_key: [undefined, (_, d) => regionalArn(d, 'kms', `key/${d.keyId ?? FAKE_KEY_ID}`)],
  aws_kms_alias: ['name', (n, d) => regionalArn(d, 'kms', n)],
  aws_cloudwatch_metric_alarm: ['alarm_name', (n, d) => regionalArn(d, 'cloudwatch', `alarm:${n}`)],
  aws_cloudwatch_event_rule: ['name', (n, d) => regionalArn(d, 'events', `rule/${n}`)],
};

/** One value renders as a string; several as a list in reverse lexical order, as the provider does. */
const providerList = (values: string[]): Strings => {
  const unique = [...new Set(values)];
  return unique.length === 1 ? unique[0] : unique.sort().reverse();
};
const asList = (value: unknown): unknown[] => (value === undefined || value === null ? [] : [value].flat());

/** Resolves the `${...}` references of the synthesized stack for one deployment. */
export function terraform(stack: SynthesizedJson, d: Deployment) {
  const block = (kind: 'resource' | 'data', type: string, name: string): Attributes => {
    const found = stack[kind]?.[type]?.[name];
    if (!found) throw new Error(`Unknown Terraform ${kind === 'data' ? 'data source' : 'resource'} ${type}.${name}`);
    return found;
  };
  const attribute = (type: string, name: string, key: string, seen: string[] = []) => {
    const value = block('resource', type, name)[key];
    if (typeof value !== 'string') throw new Error(`${type}.${name} has no ${key} to resolve`);
    return resolve(value, seen);
  };
  const reference = (expression: string, seen: string[]): string => {
    const match = /^(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)\.([a-z_][a-z0-9_]*)$/.exec(expression);
    if (!match) throw new Error(`Unsupported Terraform expression "\${${expression}}"`);
    if (seen.includes(expression)) throw new Error(`Circular Terraform reference "\${${expression}}"`);
    const [, data, type, name, key] = match;
    const path = [...seen, expression];
    const unknown = new Error(`Cannot resolve "\${${expression}}": unknown attribute or type`);
    if (data) {
      const found = block('data', type, name);
      const bucket = () => resolve(String(found.bucket), path);
      const values: Record<string, Record<string, () => string>> = {
        aws_s3_bucket: { arn: () => arn(d.partition, 's3', '', '', bucket()), bucket, id: bucket },
        aws_caller_identity: { account_id: () => d.account, id: () => d.account },
        aws_partition: { partition: () => d.partition, id: () => d.partition, dns_suffix: () => 'amazonaws.com' },
        aws_region: { name: () => d.region, region: () => d.region, id: () => d.region },
        aws_iam_policy_document: { json: () => JSON.stringify(document(name, path)) },
      };
      const value = values[type]?.[key];
      if (!value) throw unknown;
      return value();
    }
    const format = TYPES[type];
    if (!format) throw unknown;
    const attributes = block('resource', type, name);
    if (typeof attributes.provider === 'string')
      throw new Error(`${type}.${name} uses provider ${attributes.provider}`);
    const resourceName = format[0] ? attribute(type, name, format[0], path) : '';
    const resourceArn = format[1](resourceName, d, attributes);
    const derived: Record<string, string> = {
      arn: resourceArn,
      ...(format[0] ? { id: resourceName, name: resourceName, [format[0]]: resourceName } : {}),
      ...{
        aws_sqs_queue: { id: queueUrl(resourceName), url: queueUrl(resourceName) },
        aws_sns_topic: { id: resourceArn },
        aws_iam_policy: { id: resourceArn },
        aws_lambda_function: { qualified_arn: `${resourceArn}:$LATEST` },
        aws_kms_key: { id: d.keyId ?? FAKE_KEY_ID, key_id: d.keyId ?? FAKE_KEY_ID },
      }[type],
    };
    if (derived[key] === undefined) throw unknown;
    return derived[key];
  };
  const queueUrl = (name: string) => `https://sqs.${d.region}.amazonaws.com/${d.account}/${name}`;
  /** Every `${reference}` in `text` replaced by its value; `$${` is Terraform's literal `${`. */
  const resolve = (text: string, seen: string[] = []): string =>
    text.replace(/\$\$\{|\$\{([^}]*)\}/g, (_, expression: string | undefined) =>
      expression === undefined ? '${' : reference(expression, seen),
    );
  const strings = (value: unknown, seen: string[]) => asList(value).map((v) => resolve(String(v), seen));
  /** A data.aws_iam_policy_document rendered as the provider renders it. */
  const document = (name: string, seen: string[] = []): PolicyDocument => {
    const b = block('data', 'aws_iam_policy_document', name);
    for (const key of ['source_policy_documents', 'override_policy_documents', 'source_json', 'override_json']) {
      if (b[key] !== undefined) throw new Error(`aws_iam_policy_document.${name}: ${key} is not supported`);
    }
    const principals = (value: unknown): PrincipalJson | undefined => {
      const byType: Record<string, string[]> = {};
      for (const p of asList(value) as Attributes[])
        (byType[resolve(String(p.type), seen)] ??= []).push(...strings(p.identifiers, seen));
      if (Object.keys(byType).length === 0) return undefined;
      // A lone {type "*", identifiers ["*"]} renders as "Principal": "*".
      if (Object.keys(byType).length === 1 && byType['*']?.every((i) => i === '*')) return '*';
      return Object.fromEntries(Object.entries(byType).map(([type, ids]) => [type, providerList(ids)]));
    };
    const statement = (s: Attributes): StatementJson => {
      const list = (value: unknown) => (value === undefined ? undefined : providerList(strings(value, seen)));
      const conditions: Record<string, Record<string, string[]>> = {};
      for (const c of asList(s.condition) as Attributes[])
        ((conditions[resolve(String(c.test), seen)] ??= {})[resolve(String(c.variable), seen)] ??= []).push(
          ...strings(c.values, seen),
        );
      const tests = Object.entries(conditions).map(([test, keys]) => [
        test,
        Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, providerList(v)])),
      ]);
      const out = {
        ...{ Sid: s.sid ? resolve(String(s.sid), seen) : undefined, Effect: s.effect === 'Deny' ? 'Deny' : 'Allow' },
        ...{ Principal: principals(s.principals), NotPrincipal: principals(s.not_principals) },
        ...{ Action: list(s.actions), NotAction: list(s.not_actions) },
        ...{ Resource: list(s.resources), NotResource: list(s.not_resources) },
        Condition: tests.length > 0 ? Object.fromEntries(tests) : undefined,
      };
      return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as StatementJson;
    };
    return {
      Version: typeof b.version === 'string' ? b.version : '2012-10-17',
      ...(typeof b.policy_id === 'string' ? { Id: resolve(b.policy_id, seen) } : {}),
      Statement: (asList(b.statement) as Attributes[]).map(statement),
    };
  };
  /** A policy attribute: one reference to a rendered document, or JSON text with references inside its strings. */
  const policy = (text: unknown): PolicyDocument => {
    if (typeof text !== 'string') throw new Error(`Not a policy: ${JSON.stringify(text)}`);
    if (/^\$\{[^}]+\}$/.test(text)) return JSON.parse(resolve(text)) as PolicyDocument;
    const deep = (v: unknown): unknown =>
      typeof v === 'string'
        ? resolve(v)
        : Array.isArray(v)
          ? v.map(deep)
          : v && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [resolve(k), deep(x)]))
            : v;
    return deep(JSON.parse(text)) as PolicyDocument;
  };
  return {
    block,
    attribute,
    resolve,
    document,
    policy,
    arnOf: (type: string, name: string) => reference(`${type}.${name}.arn`, []),
  };
}

type Terraform = ReturnType<typeof terraform>;
const Version = '2012-10-17';
const POLICY_ATTRIBUTES = ['policy', 'assume_role_policy', 'inline_policy', 'access_policy', 'resource_policy'];

/**
 * Every policy of the stack, keyed by Terraform address (trust policies by the role's address). What it
 * does not read (inline and attached managed policies, which the stack does not use) throws.
 */
export function stackPolicies(stack: SynthesizedJson, d: Deployment): Record<string, NamedPolicy> {
  const tf = terraform(stack, d);
  const out: Record<string, NamedPolicy> = {};
  const add = (name: string, kind: NamedPolicy['kind'], attachedTo: string, document: PolicyDocument) =>
    void (out[name] = { name, kind, attachedTo, document });
  for (const [type, blocks] of Object.entries(stack.resource ?? {})) {
    for (const [name, a] of Object.entries(blocks)) {
      const address = `${type}.${name}`;
      const text = (key: string) => tf.attribute(type, name, key);
      if (type === 'aws_iam_role' && a.inline_policy === undefined)
        add(address, 'trust', tf.arnOf(type, name), tf.policy(a.assume_role_policy));
      else if (type === 'aws_iam_role_policy') {
        const role = Object.keys(stack.resource?.aws_iam_role ?? {}).find(
          (r) => tf.attribute('aws_iam_role', r, 'name') === text('role'),
        );
        if (!role) throw new Error(`${address}: no aws_iam_role named "${text('role')}" in the stack`);
        add(address, 'identity', tf.arnOf('aws_iam_role', role), tf.policy(a.policy));
      } else if (type === 'aws_s3_bucket_policy')
        add(address, 'resource', arn(d.partition, 's3', '', '', text('bucket')), tf.policy(a.policy));
      else if (type === 'aws_sqs_queue_policy')
        add(address, 'resource', queueArnFromUrl(text('queue_url'), d), tf.policy(a.policy));
      else if (type === 'aws_sns_topic_policy') add(address, 'resource', text('arn'), tf.policy(a.policy));
      else if (type === 'aws_kms_key') {
        const policy = a.policy === undefined ? defaultKeyPolicy(d) : tf.policy(a.policy);
        add(address, 'key', tf.arnOf(type, name), policy);
      } else if (type === 'aws_lambda_permission') add(address, 'resource', ...lambdaPermission(tf, name, a, d));
      else if (
        type === 'aws_iam_role_policy_attachment' ||
        (type !== 'aws_iam_policy' && POLICY_ATTRIBUTES.some((p) => a[p] !== undefined))
      )
        throw new Error(`${address} has a policy that stackPolicies does not read`);
    }
  }
  return out;
}

/** What AWS gives a key created without a policy: the account root may do kms:* (key-policy-default.html). */
export const defaultKeyPolicy = (d: Deployment): PolicyDocument => ({
  Version,
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: arn(d.partition, 'iam', '', d.account, 'root') },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
});

/** The statement Lambda adds to the function's resource policy for an aws_lambda_permission. */
function lambdaPermission(tf: Terraform, name: string, a: Attributes, d: Deployment): [string, PolicyDocument] {
  for (const key of [
    'event_source_token',
    'principal_org_id',
    'function_url_auth_type',
    'statement_id_prefix',
    'qualifier',
  ])
    if (a[key] !== undefined) throw new Error(`aws_lambda_permission.${name}: ${key} is not supported`);
  const text = (key: string) => (a[key] === undefined ? undefined : tf.attribute('aws_lambda_permission', name, key));
  const fn = text('function_name') ?? '';
  const resource = fn.startsWith('arn:') ? fn : regionalArn(d, 'lambda', `function:${fn}`);
  const principal = text('principal') ?? '';
  const [account, source] = [text('source_account'), text('source_arn')];
  const condition = {
    ...(account ? { StringEquals: { 'AWS:SourceAccount': account } } : {}),
    ...(source ? { ArnLike: { 'AWS:SourceArn': source } } : {}),
  };
  const statement: StatementJson = {
    ...(text('statement_id') ? { Sid: text('statement_id') } : {}),
    Effect: 'Allow',
    Principal: /^[a-z0-9.-]+\.amazonaws\.com$/.test(principal) ? { Service: principal } : { AWS: principal },
    Action: text('action') ?? '',
    Resource: resource,
    ...(account || source ? { Condition: condition } : {}),
  };
  return [resource, { Version, Statement: [statement] }];
}

/** Which customer managed key encrypts each store: buckets by name, tables by name, queues and topics by ARN, log groups by name. */
export interface EncryptionFacts {
  readonly buckets?: Readonly<Record<string, { readonly keyArn: string; readonly bucketKey: boolean }>>;
  readonly tables?: Readonly<Record<string, string>>;
  readonly queues?: Readonly<Record<string, string>>;
  readonly topics?: Readonly<Record<string, string>>;
  readonly logGroups?: Readonly<Record<string, string>>;
}

export function stackEncryption(stack: SynthesizedJson, d: Deployment): EncryptionFacts {
  const tf = terraform(stack, d);
  const keyArn = (value: unknown) => {
    const key = tf.resolve(String(value));
    return key.startsWith('arn:') ? key : regionalArn(d, 'kms', `key/${key}`);
  };
  const each = (type: string) => Object.entries(stack.resource?.[type] ?? {});
  /** The stores of `type` that name a key, by `id` (their name or ARN). */
  const keys = (type: string, id: 'name' | 'arn', key: (a: Attributes) => unknown) =>
    Object.fromEntries(
      each(type)
        .filter(([, a]) => key(a))
        .map(([n, a]) => [id === 'arn' ? tf.arnOf(type, n) : tf.attribute(type, n, 'name'), keyArn(key(a))]),
    );
  const buckets: Record<string, { keyArn: string; bucketKey: boolean }> = {};
  for (const [, a] of each('aws_s3_bucket_server_side_encryption_configuration')) {
    for (const rule of asList(a.rule) as Attributes[]) {
      const sse = rule.apply_server_side_encryption_by_default as Attributes | undefined;
      if (sse?.sse_algorithm === 'aws:kms' && sse.kms_master_key_id !== undefined)
        buckets[tf.resolve(String(a.bucket))] = {
          keyArn: keyArn(sse.kms_master_key_id),
          bucketKey: rule.bucket_key_enabled === true,
        };
    }
  }
  const tableKey = (a: Attributes) => {
    const sse = a.server_side_encryption as Attributes | undefined;
    return sse?.enabled === true ? sse.kms_key_arn : undefined;
  };
  return {
    buckets,
    tables: keys('aws_dynamodb_table', 'name', tableKey),
    queues: keys('aws_sqs_queue', 'arn', (a) => a.kms_master_key_id),
    topics: keys('aws_sns_topic', 'arn', (a) => a.kms_master_key_id),
    logGroups: keys('aws_cloudwatch_log_group', 'name', (a) => a.kms_key_id),
  };
}
