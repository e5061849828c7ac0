// The least-privilege proof, as `npm run security` prints it and the tests assert it, against the
// synthesized stack's own policies:
// - every recorded call of the function is allowed to its role and not denied by a bucket, queue,
//   topic or key policy, and so is every call the platform makes because of the deployment (Lambda
//   assuming the role and writing logs, traces and failed events; S3 invoking the function; CloudWatch
//   publishing alarms), which no SDK middleware sees and platformCalls derives from the stack;
// - the reverse: every (action, resource) the role is granted is used, or listed with why it cannot be
//   exercised here;
// - each tap command's calls: an operator with an admin-like identity policy is not denied by any
//   resource or key policy; an uploader with only the uploaders policy may make `tap upload`'s calls;
// - the refusals: other tables, queues and keys, no TLS or TLS older than 1.2, other accounts.
import fs from 'node:fs';
import { Testing } from 'cdktf';
import { arn, projectConfig, resourceNames, TapConfig } from '../../../config';
import { TapStack } from '../../../main';
import {
  actionMatches,
  arnMatches,
  Decision,
  describeDecision,
  evaluate,
  PolicyRef,
  Principal,
  Request,
  rolePrincipal,
  servicePrincipal,
} from './evaluate';
import {
  Deployment,
  EncryptionFacts,
  NamedPolicy,
  PolicyDocument,
  stackEncryption,
  stackPolicies,
  regionalArn,
  SynthesizedJson,
  terraform,
  defaultKeyPolicy,
} from './policy';
import { mapCall, RecordedCall, RecordOptions } from './recorder';

export type Caller = 'function' | 'operator' | 'uploader';
type Context = Record<string, string>;
/** A call a service principal makes: who, the action, the resource, why, and its request context. */
type ServiceCall = [principal: string, action: string, resource: string, note: string, context: Context];

export interface StackUnderProof {
  readonly synthEnv: Readonly<Record<string, string>>;
  readonly deployment: Deployment;
  readonly config: TapConfig;
  readonly names: ReturnType<typeof resourceNames>;
  readonly parsed: SynthesizedJson;
  readonly policies: Readonly<Record<string, NamedPolicy>>;
  readonly encryption: EncryptionFacts;
  readonly bucket: string;
  readonly roleArn: string;
  readonly functionArn: string;
}

const stacks = new Map<string, StackUnderProof>();

/** TapStack as `cdktf synth` synthesizes it with `synthEnv` (cdktf.json context, then TAP_*), deployed to `deployment`. */
export function stackUnderProof(synthEnv: Readonly<Record<string, string>>, deployment: Deployment): StackUnderProof {
  const id = JSON.stringify([synthEnv, deployment]);
  const cached = stacks.get(id);
  if (cached) return cached;
  const config = projectConfig(synthEnv);
  const app = Testing.app();
  let parsed: SynthesizedJson;
  try {
    parsed = JSON.parse(Testing.synth(new TapStack(app, 'TapStack', config))) as SynthesizedJson;
  } finally {
    fs.rmSync(app.outdir, { recursive: true, force: true }); // Testing.app() makes an outdir of its own
  }
  const names = resourceNames(config);
  // An existing bucket's keys are its owner's: assumed to keep the default key policy, which delegates to IAM.
  const ownersKeys = config.existingBucketKmsKeyArns.map((keyArn): NamedPolicy => {
    const name = `existing bucket key ${keyArn}`;
    return { name, kind: 'key', attachedTo: keyArn, document: defaultKeyPolicy(deployment) };
  });
  const policies = { ...stackPolicies(parsed, deployment), ...Object.fromEntries(ownersKeys.map((p) => [p.name, p])) };
  const role = policies['aws_iam_role.function_role'];
  if (!role) throw new Error('The stack has no IAM role');
  const { region, account } = deployment;
  const bucket = config.existingBucketName || names.bucketName(account, region);
  // An existing bucket's encryption is its owner's, outside the stack: its objects under the first given key.
  const [objectKey] = config.existingBucketKmsKeyArns;
  const encryption = {
    ...stackEncryption(parsed, deployment),
    ...(objectKey ? { buckets: { [bucket]: { keyArn: objectKey, bucketKey: false } } } : {}),
  };
  const stack: StackUnderProof = {
    ...{ synthEnv, deployment, config, names, parsed, policies, encryption, bucket },
    roleArn: role.attachedTo,
    functionArn: regionalArn(deployment, 'lambda', `function:${names.functionName}`),
  };
  stacks.set(id, stack);
  return stack;
}

/** How calls made against `stack` are mapped: its account, its keys and, for the function, lambda:SourceFunctionArn. */
export const recordOptionsFor = (stack: StackUnderProof, caller: Caller = 'function'): RecordOptions => ({
  account: stack.deployment.account,
  partition: stack.deployment.partition,
  encryption: stack.encryption,
  ...(caller === 'function' ? { sourceFunctionArn: stack.functionArn } : {}),
});

/** An identity policy that allows everything: what an administrator's role has. */
const ADMIN_LIKE: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'AdministratorAccess', Effect: 'Allow', Action: '*', Resource: '*' }],
};

/** The uploaders policy's document (aws_iam_policy.uploaders, which users attach themselves). */
export const uploadersDocument = (stack: StackUnderProof): PolicyDocument =>
  terraform(stack.parsed, stack.deployment).policy(stack.parsed.resource?.aws_iam_policy?.uploaders?.policy);

/** The identity policies the stack attaches to a role; the Batch Operations role, with enableBatchOperations. */
const identityOf = (stack: StackUnderProof, roleArn: string) =>
  Object.values(stack.policies).filter((p) => p.kind === 'identity' && p.attachedTo === roleArn);
const batchRole = ({ deployment: d, names, config }: StackUnderProof) =>
  config.enableBatchOperations ? arn(d.partition, 'iam', '', d.account, `role/${names.batchOperationsRoleName}`) : '';
const BATCH = 'batchoperations.s3.amazonaws.com';

/** Who makes a caller's calls: the function's role, or a tap user's role with its identity policy. */
function callerOf(stack: StackUnderProof, caller: Caller): { arn: string; identity: PolicyRef[] } {
  const { roleArn, deployment: d } = stack;
  if (caller === 'function') return { arn: roleArn, identity: identityOf(stack, roleArn) };
  const document = caller === 'operator' ? ADMIN_LIKE : uploadersDocument(stack);
  return {
    arn: arn(d.partition, 'iam', '', d.account, `role/tap-${caller}`),
    identity: [{ name: `${caller} identity`, document }],
  };
}

/** The policies on a resource: a bucket's for its objects, a role's trust policy for sts:AssumeRole, else those attached to the ARN. */
const resourcePolicies = (stack: StackUnderProof, request: Request): NamedPolicy[] => {
  const owner = /^arn:[^:]+:s3:::/.test(request.resource) ? request.resource.replace(/\/.*$/, '') : request.resource;
  const trust = /^sts:AssumeRole/i.test(request.action);
  return Object.values(stack.policies).filter(
    (p) => (trust ? p.kind === 'trust' : p.kind === 'resource' || p.kind === 'key') && p.attachedTo === owner,
  );
};

/** One request against the stack's policies, `identity` being the caller's. */
function decide(stack: StackUnderProof, request: Request, identity: readonly PolicyRef[]): Decision {
  const account = request.resource.split(':')[4] || stack.deployment.account;
  return evaluate(request, { identity, resource: resourcePolicies(stack, request), resourceAccount: account });
}

export interface CallCheck {
  readonly call: RecordedCall;
  readonly request?: Request;
  readonly decision: Decision;
  readonly line: string;
}

/** Every call evaluated as `caller`'s (implied calls as their principal's, a service or a role); unmapped calls are denied, never skipped. */
export function checkCalls(
  stack: StackUnderProof,
  calls: readonly RecordedCall[],
  caller: Caller = 'function',
): CallCheck[] {
  const who = callerOf(stack, caller);
  const tf = terraform(stack.parsed, stack.deployment);
  // A call naming a KMS alias is authorized against the key it points to (alias-authorization.html).
  const aliases = new Map(
    Object.keys(stack.parsed.resource?.aws_kms_alias ?? {}).map((n) => [
      tf.arnOf('aws_kms_alias', n),
      regionalArn(stack.deployment, 'kms', `key/${tf.attribute('aws_kms_alias', n, 'target_key_id')}`),
    ]),
  );
  return calls.map((call): CallCheck => {
    if (!call.mapped || !call.action || !call.resource) {
      const reason = call.note ?? `${call.service} ${call.operation} is unmapped`;
      const decision: Decision = { decision: 'ImplicitDeny', allowed: false, statements: [], reason };
      return { call, decision, line: `UNMAPPED ${call.service} ${call.operation}: ${reason}` };
    }
    const role = call.principal?.startsWith('arn:') ? call.principal : undefined;
    const principal = role || !call.principal ? rolePrincipal(role ?? who.arn) : servicePrincipal(call.principal);
    const resource = aliases.get(call.resource) ?? call.resource;
    const request: Request = { principal, action: call.action, resource, context: call.context };
    const decision: Decision = call.noPermissionRequired
      ? { decision: 'Allow', allowed: true, statements: [], reason: 'AWS requires no permission' }
      : decide(stack, request, role ? identityOf(stack, role) : who.identity);
    return { call, request, decision, line: describeDecision(request, decision) };
  });
}

/** Calls recorded over plain http to a stand-in, given the transport the deployed code uses (https, TLS 1.2). */
export const asDeployed = (call: RecordedCall): RecordedCall =>
  call.context['aws:SecureTransport'] !== 'false'
    ? call
    : {
        ...call,
        context: {
          ...call.context,
          'aws:SecureTransport': 'true',
          ...(call.service === 's3' && !call.implied ? { 's3:TlsVersion': '1.2' } : {}),
        },
      };

/** The calls AWS makes because of the deployment, derived from the synthesized stack, each with the page that says so. */
export function platformCalls(stack: StackUnderProof): RecordedCall[] {
  const { parsed, deployment: d, names } = stack;
  const tf = terraform(parsed, d);
  const env = { ...recordOptionsFor(stack), region: d.region, secure: true };
  const byService = (...[principal, action, resource, note, context]: ServiceCall): RecordedCall => ({
    ...{ service: action.split(':')[0], operation: action.split(':')[1], action, resource, principal, note },
    ...{ mapped: true, implied: true },
    context: { 'aws:SecureTransport': 'true', 'aws:SourceAccount': d.account, ...context },
  });
  /** Calls Lambda makes with the function's role. */
  const withRole = (note: string, service: string, operations: string[], input: Record<string, unknown> = {}) =>
    operations.flatMap((op) => mapCall(service, op, input, env).map((c) => ({ ...c, implied: true, note })));
  const first = (value: unknown) => [value].flat()[0] as Record<string, unknown> | undefined;
  const tracing = first(parsed.resource?.aws_lambda_function?.metadata_extractor?.tracing_config)?.mode;
  const invoke = parsed.resource?.aws_lambda_function_event_invoke_config?.metadata_extractor_async;
  const onFailure = first(first(invoke?.destination_config)?.on_failure)?.destination;
  const stream = { logGroupName: names.logGroupName, logStreamName: '2026/01/01/[$LATEST]0123456789abcdef' };
  const topic = regionalArn(d, 'sns', names.topicName);
  const topicKey = stack.encryption.topics?.[topic] ?? '';
  const CW = 'cloudwatch.amazonaws.com';
  return [
    byService('lambda.amazonaws.com', 'sts:AssumeRole', stack.roleArn, 'Lambda assumes the role', {
      'aws:SourceArn': stack.functionArn,
    }),
    ...withRole('Lambda writes the function’s logs with the role', 'logs', ['CreateLogStream', 'PutLogEvents'], stream),
    ...(tracing === 'Active'
      ? withRole('Lambda sends traces with the role (services-xray.html)', 'xray', [
          'PutTraceSegments',
          'PutTelemetryRecords',
        ])
      : []),
    ...(onFailure
      ? withRole('Lambda sends on-failure records with the role', 'sqs', ['SendMessage'], {
          QueueUrl: `https://sqs.${d.region}.amazonaws.com/${d.account}/${names.queueName}`,
        })
      : []),
    ...(stack.config.eventDelivery === 's3'
      ? [
          byService('s3.amazonaws.com', 'lambda:InvokeFunction', stack.functionArn, 'S3 invokes the function', {
            'aws:SourceArn': arn(d.partition, 's3', '', '', stack.bucket),
          }),
        ]
      : eventBridgeCalls(stack, byService)),
    ...batchOperationsCalls(stack, byService),
    // CloudWatch publishes alarm state changes (AlarmThatSendsEmail.html) and, the topic being encrypted,
    // uses its key itself (sns-key-management.html).
    ...Object.keys(parsed.resource?.aws_cloudwatch_metric_alarm ?? {}).flatMap((alarm) => {
      const context = { 'aws:SourceArn': tf.arnOf('aws_cloudwatch_metric_alarm', alarm) };
      const kms = { ...context, 'kms:EncryptionContext:aws:sns:topicArn': topic };
      return [
        byService(CW, 'sns:Publish', topic, 'CloudWatch publishes the alarm', context),
        ...['kms:GenerateDataKey', 'kms:Decrypt'].map((a) => byService(CW, a, topicKey, 'CloudWatch encrypts it', kms)),
      ];
    }),
  ];
}

/**
 * With eventDelivery=eventbridge: the rule invokes the function, and writes the events it cannot deliver to
 * the failure queue, SQS using the queue's key on its behalf (eb-rule-dlq.html, sqs-key-management.html).
 */
function eventBridgeCalls(stack: StackUnderProof, byService: (...args: ServiceCall) => RecordedCall): RecordedCall[] {
  const { deployment: d, names } = stack;
  const queue = regionalArn(d, 'sqs', names.queueName);
  const rule = { 'aws:SourceArn': regionalArn(d, 'events', `rule/${names.ruleName}`) };
  const kms = { ...rule, 'kms:EncryptionContext:aws:sqs:arn': queue };
  const EVENTS = 'events.amazonaws.com';
  return [
    byService(EVENTS, 'lambda:InvokeFunction', stack.functionArn, 'the rule invokes the function', rule),
    byService(EVENTS, 'sqs:SendMessage', queue, 'the rule dead-letters an event it cannot deliver', rule),
    ...['kms:GenerateDataKey', 'kms:Decrypt'].map((action) =>
      byService(EVENTS, action, stack.encryption.queues?.[queue] ?? '', 'SQS encrypts the dead letter', kms),
    ),
  ];
}

/**
 * With enableBatchOperations: S3 Batch Operations assumes the job role, which reads the manifest, invokes the
 * function, writes the report and, generating a manifest, lists the uploads (batch-ops-iam-role-policies.html).
 */
function batchOperationsCalls(stack: StackUnderProof, byService: (...a: ServiceCall) => RecordedCall) {
  const [{ deployment: d, names }, role] = [stack, batchRole(stack)];
  if (!role) return [];
  const name = names.operationsBucketName(d.account, d.region);
  const ops = arn(d.partition, 's3', '', '', name);
  const job = (action: string, resource: string, context: Context = {}) =>
    byService(role, action, resource, 'a Batch Operations job, with its role', { 's3:TlsVersion': '1.2', ...context });
  const viaS3 = { 'kms:ViaService': `s3.${d.region}.amazonaws.com` };
  return [
    byService(BATCH, 'sts:AssumeRole', role, 'Batch Operations assumes the job role', {}),
    job('s3:GetObject', `${ops}/manifests/job.csv`),
    job('s3:PutObject', `${ops}/reports/job-1/results.csv`),
    job('s3:PutObject', `${ops}/manifests/generated/manifest.json`),
    job('s3:GetBucketLocation', ops),
    job('s3:ListBucket', arn(d.partition, 's3', '', '', stack.bucket)),
    job('lambda:InvokeFunction', stack.functionArn),
    ...['kms:GenerateDataKey', 'kms:Decrypt'].map((a) => job(a, stack.encryption.buckets?.[name]?.keyArn ?? '', viaS3)),
  ];
}

/** Grants of the role no call of the function's code uses, each with the reason. */
export const NOT_EXERCISED: Readonly<Record<string, string>> = {
  's3:ListBucket': 'only turns S3’s 403 into 404 for a missing object; no call of the function names it',
  'xray:PutTraceSegments': 'Lambda’s X-Ray daemon sends the traces with the role (tracing Active)',
  'xray:PutTelemetryRecords': 'Lambda’s X-Ray daemon sends the telemetry with the role',
  'logs:CreateLogStream': 'the Lambda service writes the function’s logs with the role',
  'logs:PutLogEvents': 'the Lambda service writes the function’s logs with the role',
  'kms:GenerateDataKey': 'only the on-failure send needs it (SQS makes the queue’s data key); the code only reads',
  'sqs:SendMessage': 'the Lambda service sends on-failure records with the role, never the function’s code',
};

export interface GrantRow {
  readonly sid?: string;
  readonly action: string;
  readonly resource: string;
  readonly status: 'used' | 'not-exercised' | 'unused';
  readonly detail: string;
}

/**
 * Every (action, resource) the role grants: used by an allowed call of the function's code (a statement
 * that took part in the decision, naming the pair), not exercised (with the reason), or unused (a finding).
 */
export function grantTable(stack: StackUnderProof, checks: readonly CallCheck[]): GrantRow[] {
  const fromCode = checks.filter((c) => !c.call.principal && c.decision.allowed && c.request);
  return callerOf(stack, 'function').identity.flatMap((policy) =>
    policy.document.Statement.flatMap((s, index) => {
      if (s.Effect !== 'Allow') return [];
      const using = fromCode.filter((c) =>
        c.decision.statements.some((d) => d.policy === policy.name && d.index === index),
      );
      return [s.Action ?? '*'].flat().flatMap((action) =>
        [s.Resource ?? '*'].flat().map((resource): GrantRow => {
          const count = using.filter(
            (c) => actionMatches(action, c.request!.action) && arnMatches(resource, c.request!.resource),
          ).length;
          const status = count > 0 ? 'used' : NOT_EXERCISED[action] ? 'not-exercised' : 'unused';
          const detail =
            count > 0 ? `${count} call(s)` : (NOT_EXERCISED[action] ?? 'granted, used by no recorded call');
          return { ...(s.Sid ? { sid: s.Sid } : {}), action, resource, status, detail };
        }),
      );
    }),
  );
}

export interface Refusal {
  readonly name: string;
  readonly request: Request;
  readonly identity: readonly PolicyRef[];
}

/** What must be refused, as explicit requests against the stack's policies (each must be denied). */
export function refusals(stack: StackUnderProof): Refusal[] {
  const { deployment: d, names, functionArn: fn, roleArn: role } = stack;
  const other = '444455556666';
  const bucket = arn(d.partition, 's3', '', '', stack.bucket);
  const object = `${bucket}/uploads/photo.png`;
  const table = regionalArn(d, 'dynamodb', `table/${names.tableName}`);
  const [queue, topic] = [regionalArn(d, 'sqs', names.queueName), regionalArn(d, 'sns', names.topicName)];
  const key = Object.values(stack.policies).find((p) => p.kind === 'key')?.attachedTo ?? '';
  const tls = { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.2' };
  const noTls = { 'aws:SecureTransport': 'false' };
  const via = (service: string) => ({ ...tls, 'kms:ViaService': `${service}.${d.region}.amazonaws.com` });
  const from = (account: string, source = bucket) => ({
    ...tls,
    'aws:SourceAccount': account,
    'aws:SourceArn': source,
  });
  const otherGroup = { 'kms:EncryptionContext:aws:logs:arn': regionalArn(d, 'logs', 'log-group:/aws/lambda/x') };
  const [otherKey, tls11] = [regionalArn(d, 'kms', 'key/another-key'), { ...tls, 's3:TlsVersion': '1.1' }];
  const [S3, CW, LOGS] = ['s3.amazonaws.com', 'cloudwatch.amazonaws.com', `logs.${d.region}.amazonaws.com`];
  const [EVENTS, batch] = ['events.amazonaws.com', batchRole(stack)];
  const otherRule = from(d.account, regionalArn(d, 'events', 'rule/another-rule'));
  type Row = [name: string, who: string, action: string, resource: string, context?: Context];
  const each = (who: string, label: string, pairs: [action: string, resource: string][]) =>
    pairs.map(([action, resource]): Row => [`${label} ${action} on ${resource}`, who, action, resource]);
  const rows: Row[] = [
    ...(stack.config.eventDelivery === 's3'
      ? ([
          [
            'S3 invoking the function from another bucket',
            S3,
            'lambda:InvokeFunction',
            fn,
            from(d.account, `${bucket}-x`),
          ],
          ['S3 invoking the function for another account', S3, 'lambda:InvokeFunction', fn, from(other)],
        ] as Row[])
      : each(EVENTS, 'EventBridge for another rule:', [
          ['lambda:InvokeFunction', fn],
          ['sqs:SendMessage', queue],
          ['kms:GenerateDataKey', key],
        ]).map(([name, who, action, resource]): Row => [name, who, action, resource, otherRule])),
    ['CloudWatch publishing for another account', CW, 'sns:Publish', topic, from(other)],
    ['CloudWatch using the key for another account', CW, 'kms:GenerateDataKey', key, from(other)],
    ['CloudWatch publishing without TLS', CW, 'sns:Publish', topic, { ...noTls, 'aws:SourceAccount': d.account }],
    ['CloudWatch Logs using the key for another log group', LOGS, 'kms:GenerateDataKey', key, otherGroup],
    ['Lambda assuming the role for another account', 'lambda.amazonaws.com', 'sts:AssumeRole', role, from(other)],
    // The role: no write or delete, no other store, no reading of the queue, no publishing, no direct KMS.
    ...each('role', 'the role', [
      ['s3:PutObject', object],
      ['s3:DeleteObject', object],
      ['s3:DeleteObjectVersion', object],
      ['s3:GetObject', arn(d.partition, 's3', '', '', 'another-bucket/uploads/photo.png')],
      ['dynamodb:DeleteItem', table],
      ['dynamodb:Scan', table],
      ['dynamodb:Query', table],
      ['dynamodb:PutItem', regionalArn(d, 'dynamodb', 'table/another-table')],
      ['sqs:SendMessage', regionalArn(d, 'sqs', 'another-queue')],
      ['sqs:ReceiveMessage', queue],
      ['sns:Publish', topic],
      ['kms:Decrypt', key],
    ]),
    ['the role sending to the queue without TLS (queue policy)', 'role', 'sqs:SendMessage', queue, noTls],
    ['the role using another key through S3', 'role', 'kms:Decrypt', otherKey, via('s3')],
    ['the role using the key through SNS', 'role', 'kms:Decrypt', key, via('sns')],
    // An existing bucket's policy is its owner's: the stack can only answer for the one it writes.
    ...(stack.config.existingBucketName
      ? []
      : ([
          ['reading an object without TLS (bucket policy)', 'operator', 's3:GetObject', object, noTls],
          ['reading an object over TLS 1.1 (bucket policy)', 'operator', 's3:GetObject', object, tls11],
          ['listing the bucket without TLS (bucket policy)', 'operator', 's3:ListBucket', bucket, noTls],
        ] as Row[])),
    ['sending to the queue without TLS (queue policy)', 'operator', 'sqs:SendMessage', queue, noTls],
    ['publishing to the topic without TLS (topic policy)', 'operator', 'sns:Publish', topic, noTls],
    ...each('stranger', 'another account:', [
      ['s3:GetObject', object],
      ['dynamodb:GetItem', table],
      ['sqs:SendMessage', queue],
      ['sns:Publish', topic],
      ['lambda:InvokeFunction', fn],
      ['sts:AssumeRole', role],
    ]),
    ['another account using the key through S3', 'stranger', 'kms:Decrypt', key, via('s3')],
    ...(batch
      ? ([
          ...each('batch', 'the Batch Operations role', [
            ['lambda:InvokeFunction', regionalArn(d, 'lambda', 'function:another-function')],
            ['lambda:InvokeFunction', `${fn}:1`],
            ['s3:GetObject', object],
            ['s3:PutObject', object],
          ]),
          ['Batch Operations assuming its role for another account', BATCH, 'sts:AssumeRole', batch, from(other)],
        ] as Row[])
      : []),
  ];
  const [own, admin] = [callerOf(stack, 'function'), callerOf(stack, 'operator')];
  const callers: Record<string, [Principal, readonly PolicyRef[]]> = {
    role: [rolePrincipal(own.arn), own.identity],
    operator: [rolePrincipal(admin.arn), admin.identity],
    stranger: [rolePrincipal(arn(d.partition, 'iam', '', other, 'role/admin')), admin.identity],
    ...(batch && { batch: [rolePrincipal(batch), identityOf(stack, batch)] }),
  };
  return rows.map(([name, who, action, resource, context = tls]) => {
    const [principal, identity] = callers[who] ?? [servicePrincipal(who), []];
    return { name, request: { principal, action, resource, context }, identity };
  });
}

/** Each refusal's decision; ok when denied. */
export const checkRefusals = (stack: StackUnderProof, list = refusals(stack)) =>
  list.map((refusal) => {
    const decision = decide(stack, refusal.request, refusal.identity);
    return { refusal, decision, ok: !decision.allowed, line: describeDecision(refusal.request, decision) };
  });

/** Recorded calls and where they were made: the stack (TAP_* variables, deployment), who called, which tap command. */
export interface Evidence {
  readonly name: string;
  readonly synthEnv: Readonly<Record<string, string>>;
  readonly deployment: Deployment;
  readonly caller: Caller;
  /** The tap command whose calls these are ("tap reconcile --repair"); absent for the function's. */
  readonly command?: string;
  /** "stand-in-http": made over plain http to a stand-in, evaluated as deployed (https, TLS 1.2). */
  readonly transport: 'recorded' | 'stand-in-http';
  readonly calls: readonly RecordedCall[];
}

export interface ProofReport {
  readonly lines: string[];
  readonly problems: string[];
  readonly counts: { calls: number; tapCommands: number; refusals: number; platform: number };
}

/** The whole proof over every piece of evidence: the lines to print and the problems that fail the gate. */
export function proofReport(evidence: readonly Evidence[]): ProofReport {
  const stackOf = (e: Evidence) => stackUnderProof(e.synthEnv, e.deployment);
  const checked = evidence.map((e) => ({
    e,
    checks: checkCalls(stackOf(e), e.transport === 'stand-in-http' ? e.calls.map(asDeployed) : e.calls, e.caller),
  }));
  const denied = (checks: readonly CallCheck[]) => [
    ...new Set(checks.filter((c) => !c.decision.allowed).map((c) => c.line)),
  ];
  const calls = (checks: readonly CallCheck[]) => {
    const own = checks.filter((c) => !c.call.implied).length;
    return { own, text: `${own} call(s) + ${checks.length - own} implied` };
  };
  const lines = ['evidence:'];
  for (const { e, checks } of checked) {
    const http = e.transport === 'stand-in-http' ? ', over http to a stand-in: evaluated as deployed' : '';
    lines.push(`  ${e.name}: ${calls(checks).text} by ${e.caller}${e.command ? ` (${e.command})` : ''}${http}`);
  }
  // The function role's grants, one row per (Sid, action) over every configuration: used when any call used it.
  const functionChecks = checked.filter((c) => c.e.caller === 'function');
  const rows = new Map<string, GrantRow>();
  for (const { e, checks } of functionChecks)
    for (const row of grantTable(stackOf(e), checks))
      if (rows.get(`${row.sid}|${row.action}`)?.status !== 'used') rows.set(`${row.sid}|${row.action}`, row);
  lines.push('', "the function role's grants:");
  for (const status of ['used', 'not-exercised', 'unused'] as const) {
    const of = [...rows.values()].filter((r) => r.status === status);
    lines.push(
      `  ${status}: ${of.length}`,
      ...of.map((r) => `    ${r.action.padEnd(28)} ${r.sid ?? ''} (${r.detail})`),
    );
  }
  const problems = [
    ...[...rows.values()]
      .filter((r) => r.status === 'unused')
      .map((r) => `granted but used by no recorded call: ${r.action} (${r.sid ?? 'no Sid'})`),
    ...functionChecks.flatMap(({ e, checks }) => denied(checks).map((line) => `${e.name}: ${line}`)),
  ];
  // One check per tap command over every piece of evidence that recorded it.
  const commands = new Map<string, CallCheck[]>();
  for (const { e, checks } of checked.filter((c) => c.e.command)) {
    const command = `${e.command} (${e.caller})`;
    commands.set(command, [...(commands.get(command) ?? []), ...checks]);
  }
  lines.push('', "the tap commands' calls:");
  for (const [command, checks] of [...commands].sort()) {
    const [refused, { own, text }] = [denied(checks), calls(checks)];
    const ok = own > 0 && refused.length === 0;
    lines.push(
      `  ${ok ? 'ok  ' : 'FAIL'} ${command}: ${text}, ${refused.length} denied`,
      ...refused.map((l) => `    ${l}`),
    );
    if (!ok) problems.push(`tap command ${command}: ${own === 0 ? 'no call recorded' : refused.join('; ')}`);
  }
  // The platform's calls and the refusals, once per stack configuration.
  const counts = { calls: functionChecks.reduce((n, c) => n + c.checks.length, 0), tapCommands: commands.size };
  let [platform, refusalCount] = [0, 0];
  for (const stack of new Map(evidence.map((e) => [JSON.stringify(e.synthEnv), stackOf(e)])).values()) {
    const [platformChecks, results] = [checkCalls(stack, platformCalls(stack)), checkRefusals(stack)];
    platform += platformChecks.length;
    refusalCount += results.length;
    const allowed = platformChecks.filter((c) => c.decision.allowed).length;
    const refused = results.filter((r) => r.ok).length;
    lines.push(
      '',
      `TAP_* ${JSON.stringify(stack.synthEnv)}: platform calls ${allowed}/${platformChecks.length} allowed, refusals ${refused}/${results.length} denied`,
    );
    problems.push(
      ...denied(platformChecks).map((l) => `platform: ${l}`),
      ...results.filter((r) => !r.ok).map((r) => `not refused: ${r.refusal.name}: ${r.line}`),
    );
  }
  if (counts.calls === 0) problems.push('no function call was recorded');
  if (counts.tapCommands === 0) problems.push('no tap command was recorded');
  return { lines, problems, counts: { ...counts, refusals: refusalCount, platform } };
}
