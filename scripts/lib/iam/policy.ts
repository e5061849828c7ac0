// The concrete policy documents a deployment of the synthesized stack gets, read from cdk.tf.json alone:
// every aws_iam_policy_document rendered as the hashicorp/aws provider does, every Terraform reference
// resolved for one {account, region, partition}, every policy named by its Terraform address with the ARN
// it is attached to, and which key encrypts which store. What this file does not know throws, naming it.
import { arn } from '../../../config';

/** Where the stack is deployed; keyId replaces the random id AWS gives each KMS key (FAKE_KEY_ID offline). */
export type Deployment = { account: string; region: string; partition: string; keyId?: string };
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
export type PolicyDocument = { Version: string; Id?: string; Statement: StatementJson[] };
/** identity: attached to a role; trust: a role's trust policy; resource: bucket, queue, topic or function; key. */
export interface NamedPolicy {
  readonly name: string;
  readonly kind: 'identity' | 'trust' | 'resource' | 'key';
  readonly attachedTo: string;
  readonly document: PolicyDocument;
}

type Attributes = Record<string, unknown>;
type Blocks = Record<string, Record<string, Attributes>>;
export type SynthesizedJson = { readonly resource?: Blocks; readonly data?: Blocks };
const Version = '2012-10-17';
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

const asList = (value: unknown): unknown[] => (value === undefined || value === null ? [] : [value].flat());
/** `object` without its undefined values. */
const defined = <T>(object: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
/** Throws naming the first of the space-separated `keys` that `block` sets: what this file does not render. */
function unsupported(block: Attributes, address: string, keys: string) {
  const key = keys.split(' ').find((k) => block[k] !== undefined);
  if (key) throw new Error(`${address}: ${key} is not supported`);
}

/** Resolves the `${...}` references of the synthesized stack for one deployment. */
export function terraform(stack: SynthesizedJson, d: Deployment) {
  const block = (kind: 'resource' | 'data', type: string, name: string): Attributes => {
    const found = stack[kind]?.[type]?.[name];
    if (!found) throw new Error(`Unknown Terraform ${kind === 'data' ? 'data source' : 'resource'} ${type}.${name}`);
    return found;
  };
  const attribute = (type: string, name: string, key: string) => {
    const value = block('resource', type, name)[key];
    if (typeof value !== 'string') throw new Error(`${type}.${name} has no ${key} to resolve`);
    return resolve(value);
  };
  const queueUrl = (name: string) => `https://sqs.${d.region}.amazonaws.com/${d.account}/${name}`;
  const reference = (expression: string): string => {
    const match = /^(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)\.([a-z_][a-z0-9_]*)$/.exec(expression);
    if (!match) throw new Error(`Unsupported Terraform expression "\${${expression}}"`);
    const [, data, type, name, key] = match;
    const unknown = new Error(`Cannot resolve "\${${expression}}": unknown attribute or type`);
    if (data) {
      const found = block('data', type, name);
      const bucket = () => resolve(String(found.bucket));
      const value = {
        aws_s3_bucket: { arn: () => arn(d.partition, 's3', '', '', bucket()), bucket, id: bucket },
        aws_caller_identity: { account_id: () => d.account, id: () => d.account },
        aws_partition: { partition: () => d.partition, id: () => d.partition, dns_suffix: () => 'amazonaws.com' },
        aws_region: { name: () => d.region, region: () => d.region, id: () => d.region },
        aws_iam_policy_document: { json: () => JSON.stringify(document(name)) },
      }[type] as Record<string, () => string> | undefined;
      if (!value?.[key]) throw unknown;
      return value[key]();
    }
    const [nameKey, toArn] = TYPES[type] ?? [];
    if (!toArn) throw unknown;
    const a = block('resource', type, name);
    if (typeof a.provider === 'string') throw new Error(`${type}.${name} uses provider ${a.provider}`);
    const resourceName = nameKey ? attribute(type, name, nameKey) : '';
    const resourceArn = toArn(resourceName, d, a);
    const keyId = d.keyId ?? FAKE_KEY_ID;
    const derived: Record<string, string> = {
      arn: resourceArn,
      ...(nameKey ? { id: resourceName, name: resourceName, [nameKey]: resourceName } : {}),
      ...{
        aws_sqs_queue: { id: queueUrl(resourceName), url: queueUrl(resourceName) },
        aws_sns_topic: { id: resourceArn },
        aws_iam_policy: { id: resourceArn },
        aws_lambda_function: { qualified_arn: `${resourceArn}:$LATEST` },
        aws_kms_key: { id: keyId, key_id: keyId },
      }[type],
    };
    if (derived[key] === undefined) throw unknown;
    return derived[key];
  };
  /** Every `${reference}` in `text` replaced by its value; `$${` is Terraform's literal `${`. */
  const resolve = (text: string): string =>
    text.replace(/\$\$\{|\$\{([^}]*)\}/g, (_, expression?: string) =>
      expression === undefined ? '${' : reference(expression),
    );
  /** One value renders as a string; several as a list in reverse lexical order, as the provider does. */
  const strings = (value: unknown): Strings => {
    const unique = [...new Set(asList(value).map((v) => resolve(String(v))))];
    return unique.length === 1 ? unique[0] : unique.sort().reverse();
  };
  /** A data.aws_iam_policy_document rendered as the provider renders it. */
  const document = (name: string): PolicyDocument => {
    const b = block('data', 'aws_iam_policy_document', name);
    unsupported(
      b,
      `aws_iam_policy_document.${name}`,
      'source_policy_documents override_policy_documents source_json override_json',
    );
    /** Principals, or conditions: the entries' `values` grouped by `outer`, then by `inner` when given. */
    const group = (value: unknown, outer: string, values: string, inner?: string) => {
      const by: Record<string, Record<string, unknown[]>> = {};
      for (const e of asList(value) as Attributes[])
        ((by[resolve(String(e[outer]))] ??= {})[inner ? resolve(String(e[inner])) : ''] ??= []).push(
          ...asList(e[values]),
        );
      const out = Object.entries(by).map(([k, v]) => [
        k,
        inner ? Object.fromEntries(Object.entries(v).map(([i, x]) => [i, strings(x)])) : strings(v['']),
      ]);
      return out.length > 0 ? Object.fromEntries(out) : undefined;
    };
    const principals = (value: unknown): PrincipalJson | undefined => {
      const byType = group(value, 'type', 'identifiers');
      // A lone {type "*", identifiers ["*"]} renders as "Principal": "*".
      return byType && Object.keys(byType).length === 1 && byType['*'] === '*' ? '*' : byType;
    };
    const list = (value: unknown) => (value === undefined ? undefined : strings(value));
    const statement = (s: Attributes) =>
      defined<StatementJson>({
        ...{ Sid: s.sid ? resolve(String(s.sid)) : undefined, Effect: s.effect === 'Deny' ? 'Deny' : 'Allow' },
        ...{ Principal: principals(s.principals), NotPrincipal: principals(s.not_principals) },
        ...{ Action: list(s.actions), NotAction: list(s.not_actions) },
        ...{ Resource: list(s.resources), NotResource: list(s.not_resources) },
        Condition: group(s.condition, 'test', 'values', 'variable'),
      });
    return {
      Version: typeof b.version === 'string' ? b.version : Version,
      ...(typeof b.policy_id === 'string' ? { Id: resolve(b.policy_id) } : {}),
      Statement: (asList(b.statement) as Attributes[]).map(statement),
    };
  };
  /** A policy attribute: one reference to a rendered document, or JSON text with references inside its strings. */
  const policy = (text: unknown): PolicyDocument => {
    if (typeof text !== 'string') throw new Error(`Not a policy: ${JSON.stringify(text)}`);
    if (/^\$\{[^}]+\}$/.test(text)) return JSON.parse(resolve(text)) as PolicyDocument;
    return JSON.parse(text, (_, v: unknown) =>
      typeof v === 'string'
        ? resolve(v)
        : v && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [resolve(k), x]))
          : v,
    ) as PolicyDocument;
  };
  const arnOf = (type: string, name: string) => reference(`${type}.${name}.arn`);
  return { attribute, resolve, policy, arnOf };
}

type Terraform = ReturnType<typeof terraform>;
const POLICY_ATTRIBUTES = ['policy', 'assume_role_policy', 'inline_policy', 'access_policy', 'resource_policy'];

/**
 * Every policy of the stack, keyed by Terraform address (trust policies by the role's address). What it
 * does not read (inline and attached managed policies, which the stack does not use) throws.
 */
export function stackPolicies(stack: SynthesizedJson, d: Deployment): Record<string, NamedPolicy> {
  const tf = terraform(stack, d);
  const out: Record<string, NamedPolicy> = {};
  for (const [type, blocks] of Object.entries(stack.resource ?? {})) {
    for (const [name, a] of Object.entries(blocks)) {
      const address = `${type}.${name}`;
      const text = (key: string) => tf.attribute(type, name, key);
      const add = (kind: NamedPolicy['kind'], attachedTo: string, document = tf.policy(a.policy)) =>
        void (out[address] = { name: address, kind, attachedTo, document });
      if (type === 'aws_iam_role' && a.inline_policy === undefined)
        add('trust', tf.arnOf(type, name), tf.policy(a.assume_role_policy));
      else if (type === 'aws_iam_role_policy') {
        const roles = Object.keys(stack.resource?.aws_iam_role ?? {});
        const role = roles.find((r) => tf.attribute('aws_iam_role', r, 'name') === text('role'));
        if (!role) throw new Error(`${address}: no aws_iam_role named "${text('role')}" in the stack`);
        add('identity', tf.arnOf('aws_iam_role', role));
      } else if (type === 'aws_s3_bucket_policy') add('resource', arn(d.partition, 's3', '', '', text('bucket')));
      else if (type === 'aws_sqs_queue_policy') add('resource', queueArnFromUrl(text('queue_url'), d));
      else if (type === 'aws_sns_topic_policy') add('resource', text('arn'));
      else if (type === 'aws_kms_key')
        add('key', tf.arnOf(type, name), a.policy ? tf.policy(a.policy) : defaultKeyPolicy(d));
      else if (type === 'aws_lambda_permission') add('resource', ...lambdaPermission(tf, name, a, d));
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
export function defaultKeyPolicy(d: Deployment): PolicyDocument {
  const root = arn(d.partition, 'iam', '', d.account, 'root');
  return { Version, Statement: [{ Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*' }] };
}

/** The statement Lambda adds to the function's resource policy for an aws_lambda_permission. */
function lambdaPermission(tf: Terraform, name: string, a: Attributes, d: Deployment): [string, PolicyDocument] {
  const unread = 'event_source_token principal_org_id function_url_auth_type statement_id_prefix qualifier';
  unsupported(a, `aws_lambda_permission.${name}`, unread);
  const text = (key: string) => (a[key] === undefined ? undefined : tf.attribute('aws_lambda_permission', name, key));
  const [fn = '', principal = '', account, source] = ['function_name', 'principal', 'source_account', 'source_arn'].map(
    text,
  );
  const resource = fn.startsWith('arn:') ? fn : regionalArn(d, 'lambda', `function:${fn}`);
  const condition = defined<StatementJson['Condition']>({
    StringEquals: account ? { 'AWS:SourceAccount': account } : undefined,
    ArnLike: source ? { 'AWS:SourceArn': source } : undefined,
  });
  const statement = defined<StatementJson>({
    Sid: text('statement_id'),
    Effect: 'Allow',
    Principal: /^[a-z0-9.-]+\.amazonaws\.com$/.test(principal) ? { Service: principal } : { AWS: principal },
    Action: text('action') ?? '',
    Resource: resource,
    Condition: account || source ? condition : undefined,
  });
  return [resource, { Version, Statement: [statement] }];
}

/** Which customer managed key encrypts each store: buckets, tables and log groups by name, queues and topics by ARN. */
export type EncryptionFacts = Partial<ReturnType<typeof stackEncryption>>;

export function stackEncryption(stack: SynthesizedJson, d: Deployment) {
  const tf = terraform(stack, d);
  const keyArn = (value: unknown) => {
    const key = tf.resolve(String(value));
    return key.startsWith('arn:') ? key : regionalArn(d, 'kms', `key/${key}`);
  };
  const each = (type: string) => Object.entries(stack.resource?.[type] ?? {});
  /** The stores of `type` whose `key` names a key, by their name or ARN. */
  const keys = (type: string, id: 'name' | 'arn', key: (a: Attributes) => unknown): Record<string, string> =>
    Object.fromEntries(
      each(type)
        .filter(([, a]) => key(a))
        .map(([n, a]) => [id === 'arn' ? tf.arnOf(type, n) : tf.attribute(type, n, 'name'), keyArn(key(a))]),
    );
  const buckets: Record<string, { keyArn: string; bucketKey: boolean }> = {};
  for (const [, a] of each('aws_s3_bucket_server_side_encryption_configuration'))
    for (const rule of asList(a.rule) as Attributes[]) {
      const sse = rule.apply_server_side_encryption_by_default as Attributes | undefined;
      if (sse?.sse_algorithm !== 'aws:kms' || sse.kms_master_key_id === undefined) continue;
      const bucketKey = rule.bucket_key_enabled === true;
      buckets[tf.resolve(String(a.bucket))] = { keyArn: keyArn(sse.kms_master_key_id), bucketKey };
    }
  const table = (a: Attributes) => a.server_side_encryption as Attributes | undefined;
  return {
    buckets,
    tables: keys('aws_dynamodb_table', 'name', (a) => table(a)?.enabled === true && table(a)?.kms_key_arn),
    queues: keys('aws_sqs_queue', 'arn', (a) => a.kms_master_key_id),
    topics: keys('aws_sns_topic', 'arn', (a) => a.kms_master_key_id),
    logGroups: keys('aws_cloudwatch_log_group', 'name', (a) => a.kms_key_id),
  };
}
