// The concrete AWS policy documents a deployment of the synthesized stack gets, read from cdk.tf.json
// alone (no cdktf import, no AWS call): every aws_iam_policy_document rendered the way the
// hashicorp/aws provider renders it, every Terraform reference resolved for one {account, region,
// partition}, and every policy of the stack named by its Terraform address with what it is attached to.
//
// References resolve generically: a resource's own name attribute plus a per-type ARN format. A
// reference, expression or policy-bearing resource this file does not know throws an error that names
// it: an unresolved policy must never pass a check silently.

/** Where the stack is deployed. keyId replaces the random id AWS gives each KMS key. */
export interface Deployment {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  readonly keyId?: string;
}

/** The id every aws_kms_key of the stack gets offline (AWS's documentation example id). */
export const FAKE_KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

export const EXAMPLE_DEPLOYMENT: Deployment = { account: '111122223333', region: 'us-east-1', partition: 'aws' };

/** moto's default account, which its queue URLs name: the deployment of calls made against moto (the soak's). */
export const MOTO_DEPLOYMENT: Deployment = { account: '123456789012', region: 'us-east-1', partition: 'aws' };

export type Strings = string | string[];
export type PrincipalJson = '*' | Record<string, Strings>;
export type ConditionJson = Record<string, Record<string, Strings>>;

export interface StatementJson {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: PrincipalJson;
  NotPrincipal?: PrincipalJson;
  Action?: Strings;
  NotAction?: Strings;
  Resource?: Strings;
  NotResource?: Strings;
  Condition?: ConditionJson;
}

export interface PolicyDocument {
  Version: string;
  Id?: string;
  Statement: StatementJson[];
}

/**
 * identity: attached to a role (attachedTo is the role ARN); trust: a role's trust policy; resource:
 * a bucket, queue, topic or function policy; key: a KMS key policy. attachedTo is always an ARN.
 */
export type PolicyKind = 'identity' | 'trust' | 'resource' | 'key';

export interface NamedPolicy {
  /** The Terraform address the policy comes from, e.g. aws_iam_role_policy.function_role_policy. */
  readonly name: string;
  readonly kind: PolicyKind;
  readonly attachedTo: string;
  readonly document: PolicyDocument;
}

type Attributes = Record<string, unknown>;
type Blocks = Record<string, Record<string, Attributes>>;

/** The parts of cdk.tf.json this file reads (SynthesizedStack['parsed'] of __tests__/helpers.ts fits). */
export interface SynthesizedJson {
  readonly resource?: Blocks;
  readonly data?: Blocks;
}

// ---------------------------------------------------------------------------------------------
// Terraform references
// ---------------------------------------------------------------------------------------------

const REFERENCE = /^(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)\.([a-z_][a-z0-9_]*)$/;

interface TypeFormat {
  /** The attribute holding the resource's name; absent when AWS names it (KMS keys). */
  readonly nameAttribute?: string;
  readonly arn: (name: string, d: Deployment, attributes: Attributes) => string;
  /** Attributes other than arn and the name attribute. */
  readonly attributes?: Record<string, (name: string, d: Deployment, arn: string) => string>;
}

const regional = (d: Deployment, service: string, resource: string) =>
  `arn:${d.partition}:${service}:${d.region}:${d.account}:${resource}`;
const iamPath = (attributes: Attributes) => (typeof attributes.path === 'string' ? attributes.path : '/');
const keyIdOf = (d: Deployment) => d.keyId ?? FAKE_KEY_ID;
const byName = (name: string) => name;
const byArn = (_: string, __: Deployment, arn: string) => arn;

/** ARN formats from each service's "Actions, resources, and condition keys" page. */
const TYPES: Record<string, TypeFormat> = {
  aws_s3_bucket: {
    nameAttribute: 'bucket',
    arn: (n, d) => `arn:${d.partition}:s3:::${n}`,
    attributes: { id: byName },
  },
  aws_dynamodb_table: { nameAttribute: 'name', arn: (n, d) => regional(d, 'dynamodb', `table/${n}`) },
  aws_sqs_queue: {
    nameAttribute: 'name',
    arn: (n, d) => regional(d, 'sqs', n),
    attributes: { id: (n, d) => queueUrl(n, d), url: (n, d) => queueUrl(n, d) },
  },
  aws_sns_topic: { nameAttribute: 'name', arn: (n, d) => regional(d, 'sns', n), attributes: { id: byArn } },
  // hashicorp/aws 5.x: the log group's arn has no trailing ":*" (4.x had one).
  aws_cloudwatch_log_group: { nameAttribute: 'name', arn: (n, d) => regional(d, 'logs', `log-group:${n}`) },
  aws_lambda_function: {
    nameAttribute: 'function_name',
    arn: (n, d) => regional(d, 'lambda', `function:${n}`),
    attributes: { qualified_arn: (_, __, arn) => `${arn}:$LATEST` },
  },
  aws_iam_role: {
    nameAttribute: 'name',
    arn: (n, d, a) => `arn:${d.partition}:iam::${d.account}:role${iamPath(a)}${n}`,
  },
  aws_iam_policy: {
    nameAttribute: 'name',
    arn: (n, d, a) => `arn:${d.partition}:iam::${d.account}:policy${iamPath(a)}${n}`,
    attributes: { id: byArn },
  },
  aws_kms_key: {
    arn: (_, d) => regional(d, 'kms', `key/${keyIdOf(d)}`),
    attributes: { id: (_, d) => keyIdOf(d), key_id: (_, d) => keyIdOf(d) },
  },
  aws_kms_alias: { nameAttribute: 'name', arn: (n, d) => regional(d, 'kms', n) },
  aws_cloudwatch_metric_alarm: { nameAttribute: 'alarm_name', arn: (n, d) => regional(d, 'cloudwatch', `alarm:${n}`) },
};

const queueUrl = (name: string, d: Deployment) => `https://sqs.${d.region}.amazonaws.com/${d.account}/${name}`;

/** The queue ARN of a queue URL (AWS's or a stand-in's: the last two path segments are account and name). */
export function queueArnFromUrl(url: string, d: Pick<Deployment, 'partition' | 'region'>): string {
  const match = /^https?:\/\/([^/]+)\/(\d{12})\/([^/?]+)\/?$/.exec(url);
  if (!match) throw new Error(`Not an SQS queue URL: "${url}"`);
  const region = /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(match[1])?.[1] ?? d.region;
  return `arn:${d.partition}:sqs:${region}:${match[2]}:${match[3]}`;
}

/** Resolves the `${...}` references of the synthesized stack for one deployment. */
export class TerraformResolver {
  constructor(
    readonly stack: SynthesizedJson,
    readonly deployment: Deployment,
  ) {}

  /** Every `${reference}` in `text` replaced by its value; `$${` is Terraform's literal `${`. */
  resolve(text: string, seen: readonly string[] = []): string {
    let out = '';
    let i = 0;
    while (i < text.length) {
      if (text.startsWith('$${', i)) {
        out += '${';
        i += 3;
      } else if (text.startsWith('${', i)) {
        const end = closingBrace(text, i + 2);
        out += this.reference(text.slice(i + 2, end), seen);
        i = end + 1;
      } else out += text[i++];
    }
    return out;
  }

  /** A resource or data source block of the stack, or an error naming the address. */
  block(kind: 'resource' | 'data', type: string, name: string): Attributes {
    const block = this.stack[kind]?.[type]?.[name];
    if (!block) throw new Error(`Unknown Terraform ${kind === 'data' ? 'data source' : 'resource'} ${type}.${name}`);
    return block;
  }

  /** A string attribute of a block, resolved; an error when it is absent. */
  attribute(kind: 'resource' | 'data', type: string, name: string, attribute: string, seen: readonly string[] = []) {
    const value = this.block(kind, type, name)[attribute];
    if (typeof value !== 'string') throw new Error(`${type}.${name} has no ${attribute} to resolve`);
    return this.resolve(value, seen);
  }

  /** The ARN a resource of a known type has in this deployment. */
  arnOf(type: string, name: string, seen: readonly string[] = []): string {
    return this.reference(`${type}.${name}.arn`, seen);
  }

  private reference(expression: string, seen: readonly string[]): string {
    const match = REFERENCE.exec(expression);
    if (!match) throw new Error(`Unsupported Terraform expression "\${${expression}}"`);
    if (seen.includes(expression)) throw new Error(`Circular Terraform reference "\${${expression}}"`);
    const [, data, type, name, attribute] = match;
    const path = [...seen, expression];
    const d = this.deployment;
    const unknown = () => new Error(`Cannot resolve "\${${expression}}": unknown attribute or type`);
    if (data) {
      this.block('data', type, name);
      const value =
        type === 'aws_caller_identity' && ['account_id', 'id'].includes(attribute)
          ? d.account
          : type === 'aws_partition' && ['partition', 'id'].includes(attribute)
            ? d.partition
            : type === 'aws_partition' && attribute === 'dns_suffix'
              ? d.partition === 'aws-cn'
                ? 'amazonaws.com.cn'
                : 'amazonaws.com'
              : type === 'aws_region' && ['name', 'region', 'id'].includes(attribute)
                ? d.region
                : type === 'aws_iam_policy_document' && ['json', 'minified_json'].includes(attribute)
                  ? JSON.stringify(this.document(name, path))
                  : undefined;
      if (value === undefined) throw unknown();
      return value;
    }
    const format = TYPES[type];
    if (!format) throw unknown();
    const attributes = this.block('resource', type, name);
    if (typeof attributes.provider === 'string') {
      throw new Error(`Cannot resolve "\${${expression}}": ${type}.${name} uses provider ${attributes.provider}`);
    }
    const resourceName = format.nameAttribute ? this.attribute('resource', type, name, format.nameAttribute, path) : '';
    const arn = format.arn(resourceName, d, attributes);
    if (attribute === 'arn') return arn;
    if (format.attributes?.[attribute]) return format.attributes[attribute](resourceName, d, arn);
    if (format.nameAttribute && (attribute === format.nameAttribute || attribute === 'id' || attribute === 'name')) {
      return resourceName;
    }
    throw unknown();
  }

  /** A data.aws_iam_policy_document rendered as the provider renders it, references resolved. */
  document(name: string, seen: readonly string[] = []): PolicyDocument {
    const block = this.block('data', 'aws_iam_policy_document', name);
    for (const unsupported of [
      'source_policy_documents',
      'override_policy_documents',
      'source_json',
      'override_json',
    ]) {
      if (block[unsupported] !== undefined)
        throw new Error(`aws_iam_policy_document.${name}: ${unsupported} is not supported`);
    }
    const statements = (block.statement ?? []) as Attributes[];
    const document: PolicyDocument = {
      Version: typeof block.version === 'string' ? block.version : '2012-10-17',
      Statement: statements.map((s) => this.statement(s, seen)),
    };
    if (typeof block.policy_id === 'string') document.Id = this.resolve(block.policy_id, seen);
    return document;
  }

  private statement(s: Attributes, seen: readonly string[]): StatementJson {
    const strings = (value: unknown) => this.strings(value, seen);
    const sid = typeof s.sid === 'string' && s.sid !== '' ? { Sid: this.resolve(s.sid, seen) } : {};
    const out: StatementJson = { ...sid, Effect: s.effect === 'Deny' ? 'Deny' : 'Allow' };
    const put = (key: 'Action' | 'NotAction' | 'Resource' | 'NotResource', value: unknown) => {
      const list = strings(value);
      if (list) out[key] = providerList(list);
    };
    const principals = this.principals(s.principals, seen);
    if (principals) out.Principal = principals;
    const notPrincipals = this.principals(s.not_principals, seen);
    if (notPrincipals) out.NotPrincipal = notPrincipals;
    put('Action', s.actions);
    put('NotAction', s.not_actions);
    put('Resource', s.resources);
    put('NotResource', s.not_resources);
    const conditions = (s.condition ?? []) as Attributes[];
    if (conditions.length > 0) {
      const merged: Record<string, Record<string, string[]>> = {};
      for (const c of conditions) {
        const test = this.resolve(String(c.test), seen);
        const variable = this.resolve(String(c.variable), seen);
        (merged[test] ??= {})[variable] = [...(merged[test][variable] ?? []), ...(strings(c.values) ?? [])];
      }
      out.Condition = Object.fromEntries(
        Object.entries(merged).map(([test, byKey]) => [
          test,
          Object.fromEntries(Object.entries(byKey).map(([k, v]) => [k, providerList(v)])),
        ]),
      );
    }
    return out;
  }

  private principals(value: unknown, seen: readonly string[]): PrincipalJson | undefined {
    const blocks = (value ?? []) as Attributes[];
    if (blocks.length === 0) return undefined;
    const byType: Record<string, string[]> = {};
    for (const block of blocks) {
      const type = this.resolve(String(block.type), seen);
      byType[type] = [...(byType[type] ?? []), ...(this.strings(block.identifiers, seen) ?? [])];
    }
    // The provider renders a lone {type "*", identifiers ["*"]} block as "Principal": "*".
    if (Object.keys(byType).length === 1 && byType['*']?.every((i) => i === '*')) return '*';
    return Object.fromEntries(Object.entries(byType).map(([type, ids]) => [type, providerList(ids)]));
  }

  private strings(value: unknown, seen: readonly string[]): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    const list = Array.isArray(value) ? value : [value];
    return list.map((v) => this.resolve(String(v), seen));
  }

  /** Every string of a parsed JSON value resolved (for policies written as JSON with references inside). */
  resolveJson<T>(value: T): T {
    if (typeof value === 'string') return this.resolve(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.resolveJson(v)) as T;
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.resolve(k), this.resolveJson(v)])) as T;
    }
    return value;
  }
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return i;
  }
  throw new Error(`Unterminated Terraform expression in "${text}"`);
}

/** One value renders as a string; several as a list in reverse lexical order, as the provider does. */
function providerList(values: string[]): Strings {
  const unique = [...new Set(values)];
  return unique.length === 1 ? unique[0] : unique.sort().reverse();
}

// ---------------------------------------------------------------------------------------------
// The policies of the stack
// ---------------------------------------------------------------------------------------------

/** The resource types whose policies stackPolicies reads; any other policy attribute is an error. */
const HANDLED = new Set([
  'aws_iam_role',
  'aws_iam_role_policy',
  'aws_iam_policy',
  'aws_iam_role_policy_attachment',
  'aws_s3_bucket_policy',
  'aws_sqs_queue_policy',
  'aws_sns_topic_policy',
  'aws_kms_key',
  'aws_lambda_permission',
]);
const POLICY_ATTRIBUTES = ['policy', 'assume_role_policy', 'inline_policy', 'access_policy', 'resource_policy'];

/** Every policy of the stack, keyed by Terraform address (trust policies by the role's address). */
export function stackPolicies(stack: SynthesizedJson, deployment: Deployment): Record<string, NamedPolicy> {
  const r = new TerraformResolver(stack, deployment);
  const out: Record<string, NamedPolicy> = {};
  const add = (name: string, kind: PolicyKind, attachedTo: string, document: PolicyDocument) => {
    out[name] = { name, kind, attachedTo, document };
  };
  // A policy is either one reference to a rendered document, or JSON text with references inside its
  // strings: parsed first, so a resolved value can never break the JSON.
  const parse = (text: string): PolicyDocument =>
    /^\$\{[^}]+\}$/.test(text)
      ? (JSON.parse(r.resolve(text)) as PolicyDocument)
      : r.resolveJson(JSON.parse(text) as PolicyDocument);
  const roleArnByName = (roleName: string) => {
    const roles = Object.keys(stack.resource?.aws_iam_role ?? {});
    const found = roles.find((role) => r.attribute('resource', 'aws_iam_role', role, 'name') === roleName);
    if (!found) throw new Error(`No aws_iam_role named "${roleName}" in the stack`);
    return r.arnOf('aws_iam_role', found);
  };

  for (const [type, blocks] of Object.entries(stack.resource ?? {})) {
    for (const [name, a] of Object.entries(blocks)) {
      const address = `${type}.${name}`;
      const text = (attribute: string) => r.attribute('resource', type, name, attribute);
      const raw = (attribute: string) => {
        if (typeof a[attribute] !== 'string') throw new Error(`${address} has no ${attribute}`);
        return a[attribute] as string;
      };
      if (!HANDLED.has(type)) {
        const found = POLICY_ATTRIBUTES.find((p) => a[p] !== undefined);
        if (found) throw new Error(`${address} has a ${found} that stackPolicies does not read`);
        continue;
      }
      switch (type) {
        case 'aws_iam_role': {
          const roleArn = r.arnOf(type, name);
          add(address, 'trust', roleArn, parse(String(a.assume_role_policy)));
          for (const inline of (a.inline_policy ?? []) as Attributes[]) {
            if (inline.policy === undefined) continue;
            add(
              `${address}/inline/${r.resolve(String(inline.name))}`,
              'identity',
              roleArn,
              parse(String(inline.policy)),
            );
          }
          break;
        }
        case 'aws_iam_role_policy':
          add(address, 'identity', roleArnByName(text('role')), parse(raw('policy')));
          break;
        case 'aws_iam_policy':
          break; // read through the attachments below: an unattached policy grants nothing
        case 'aws_iam_role_policy_attachment': {
          const policyArn = text('policy_arn');
          const policies = Object.keys(stack.resource?.aws_iam_policy ?? {});
          const policy = policies.find((p) => r.arnOf('aws_iam_policy', p) === policyArn);
          if (!policy) throw new Error(`${address} attaches ${policyArn}, whose document is not in the stack`);
          add(
            address,
            'identity',
            roleArnByName(text('role')),
            parse(String(r.block('resource', 'aws_iam_policy', policy).policy)),
          );
          break;
        }
        case 'aws_s3_bucket_policy':
          add(address, 'resource', `arn:${deployment.partition}:s3:::${text('bucket')}`, parse(raw('policy')));
          break;
        case 'aws_sqs_queue_policy':
          add(address, 'resource', queueArnFromUrl(text('queue_url'), deployment), parse(raw('policy')));
          break;
        case 'aws_sns_topic_policy':
          add(address, 'resource', text('arn'), parse(raw('policy')));
          break;
        case 'aws_kms_key':
          // Without a policy AWS gives a key its default policy: the account root may do kms:*.
          add(
            address,
            'key',
            r.arnOf(type, name),
            a.policy === undefined ? defaultKeyPolicy(deployment) : parse(raw('policy')),
          );
          break;
        case 'aws_lambda_permission':
          add(address, 'resource', ...lambdaPermission(r, name, a));
          break;
      }
    }
  }
  return out;
}

/** https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html */
function defaultKeyPolicy(d: Deployment): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:${d.partition}:iam::${d.account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}

/** The statement Lambda adds to the function's resource policy for an aws_lambda_permission. */
function lambdaPermission(r: TerraformResolver, name: string, a: Attributes): [string, PolicyDocument] {
  const text = (attribute: string) =>
    a[attribute] === undefined ? undefined : r.attribute('resource', 'aws_lambda_permission', name, attribute);
  for (const unsupported of [
    'event_source_token',
    'principal_org_id',
    'function_url_auth_type',
    'statement_id_prefix',
  ]) {
    if (a[unsupported] !== undefined) throw new Error(`aws_lambda_permission.${name}: ${unsupported} is not supported`);
  }
  const d = r.deployment;
  const fn = text('function_name') ?? '';
  const functionArn = fn.startsWith('arn:') ? fn : `arn:${d.partition}:lambda:${d.region}:${d.account}:function:${fn}`;
  const qualifier = text('qualifier');
  const resource = qualifier ? `${functionArn}:${qualifier}` : functionArn;
  const principal = text('principal') ?? '';
  const statement: StatementJson = {
    Effect: 'Allow',
    Principal:
      principal === '*'
        ? '*'
        : /^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$/.test(principal)
          ? { Service: principal }
          : { AWS: principal },
    Action: text('action') ?? '',
    Resource: resource,
  };
  const sid = text('statement_id');
  if (sid) statement.Sid = sid;
  const condition: ConditionJson = {};
  const sourceAccount = text('source_account');
  const sourceArn = text('source_arn');
  if (sourceAccount) condition.StringEquals = { 'AWS:SourceAccount': sourceAccount };
  if (sourceArn) condition.ArnLike = { 'AWS:SourceArn': sourceArn };
  if (Object.keys(condition).length > 0) statement.Condition = condition;
  return [resource, { Version: '2012-10-17', Statement: [statement] }];
}

// ---------------------------------------------------------------------------------------------
// What each store is encrypted with (the recorder derives implied KMS calls from it)
// ---------------------------------------------------------------------------------------------

export interface EncryptionFacts {
  /** Bucket name -> its default SSE-KMS key and whether the S3 Bucket Key is on. */
  readonly buckets?: Readonly<Record<string, { readonly keyArn: string; readonly bucketKey: boolean }>>;
  /** Table name -> customer managed key ARN. */
  readonly tables?: Readonly<Record<string, string>>;
  /** Queue ARN -> key ARN. */
  readonly queues?: Readonly<Record<string, string>>;
  /** Topic ARN -> key ARN. */
  readonly topics?: Readonly<Record<string, string>>;
  /** Log group name -> key ARN. */
  readonly logGroups?: Readonly<Record<string, string>>;
  /** Function name -> key ARN of its environment variables. */
  readonly functions?: Readonly<Record<string, string>>;
}

/** The customer managed keys of the stack's stores, by store. */
export function stackEncryption(stack: SynthesizedJson, deployment: Deployment): EncryptionFacts {
  const r = new TerraformResolver(stack, deployment);
  const keyArn = (value: unknown) => {
    const key = r.resolve(String(value));
    return key.startsWith('arn:')
      ? key
      : `arn:${deployment.partition}:kms:${deployment.region}:${deployment.account}:key/${key}`;
  };
  const each = (type: string) => Object.entries(stack.resource?.[type] ?? {});
  const buckets: Record<string, { keyArn: string; bucketKey: boolean }> = {};
  for (const [, a] of each('aws_s3_bucket_server_side_encryption_configuration')) {
    for (const rule of (a.rule ?? []) as Attributes[]) {
      const sse = rule.apply_server_side_encryption_by_default as Attributes | undefined;
      if (sse?.sse_algorithm === 'aws:kms' && sse.kms_master_key_id !== undefined) {
        buckets[r.resolve(String(a.bucket))] = {
          keyArn: keyArn(sse.kms_master_key_id),
          bucketKey: rule.bucket_key_enabled === true,
        };
      }
    }
  }
  const facts = {
    buckets,
    tables: {} as Record<string, string>,
    queues: {} as Record<string, string>,
    topics: {} as Record<string, string>,
    logGroups: {} as Record<string, string>,
    functions: {} as Record<string, string>,
  };
  for (const [name, a] of each('aws_dynamodb_table')) {
    const sse = a.server_side_encryption as Attributes | undefined;
    if (sse?.enabled === true && sse.kms_key_arn !== undefined) {
      facts.tables[r.attribute('resource', 'aws_dynamodb_table', name, 'name')] = keyArn(sse.kms_key_arn);
    }
  }
  const simple: [string, keyof typeof facts, string, (name: string) => string][] = [
    ['aws_sqs_queue', 'queues', 'kms_master_key_id', (n) => r.arnOf('aws_sqs_queue', n)],
    ['aws_sns_topic', 'topics', 'kms_master_key_id', (n) => r.arnOf('aws_sns_topic', n)],
    [
      'aws_cloudwatch_log_group',
      'logGroups',
      'kms_key_id',
      (n) => r.attribute('resource', 'aws_cloudwatch_log_group', n, 'name'),
    ],
    [
      'aws_lambda_function',
      'functions',
      'kms_key_arn',
      (n) => r.attribute('resource', 'aws_lambda_function', n, 'function_name'),
    ],
  ];
  for (const [type, field, attribute, id] of simple) {
    for (const [name, a] of each(type)) {
      if (a[attribute] !== undefined) (facts[field] as Record<string, string>)[id(name)] = keyArn(a[attribute]);
    }
  }
  return facts;
}
