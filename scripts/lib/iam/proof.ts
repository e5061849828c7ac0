// The least-privilege proof, as `npm run security` prints it and the tests assert it, against the
// synthesized stack's own policies: every recorded call of the function is allowed, and so is every call
// the platform makes because of the deployment (platformCalls); every grant of the role is used or says
// why it cannot be here; each tap command's calls are denied by no resource or key policy (an operator
// with an admin-like identity policy; an uploader with only the uploaders policy); and the refusals
// (other tables, queues and keys, no TLS or TLS older than 1.2, other accounts) are denied.
import fs from 'node:fs';
import { Testing } from 'cdktf';
import { arn, projectConfig, resourceNames } from '../../../config';
import { TapStack } from '../../../main';
import * as iam from './evaluate';
import type { Decision, PolicyRef, Principal, Request } from './evaluate';
import * as tf from './policy';
import type { Deployment, PolicyDocument, SynthesizedJson } from './policy';
import { mapCall, RecordedCall, RecordOptions } from './recorder';

export type Caller = 'function' | 'operator' | 'uploader';
type Context = Record<string, string>;
export type StackUnderProof = ReturnType<typeof synthesize>;
const stacks = new Map<string, StackUnderProof>();
const s3Arn = (d: Deployment, path: string) => arn(d.partition, 's3', '', '', path);
const iamArn = (d: Deployment, resource: string, account = d.account) => arn(d.partition, 'iam', '', account, resource);
/** TapStack as `cdktf synth` synthesizes it with `synthEnv` (cdktf.json context, then TAP_*), deployed to `deployment`. */
export function stackUnderProof(synthEnv: Readonly<Record<string, string>>, deployment: Deployment): StackUnderProof {
  const id = JSON.stringify([synthEnv, deployment]);
  if (!stacks.has(id)) stacks.set(id, synthesize(synthEnv, deployment));
  return stacks.get(id)!;
}

function synthesize(synthEnv: Readonly<Record<string, string>>, deployment: Deployment) {
  const config = projectConfig(synthEnv);
  const app = Testing.app();
  let parsed: SynthesizedJson;
  try {
    parsed = JSON.parse(Testing.synth(new TapStack(app, 'TapStack', config))) as SynthesizedJson;
  } finally {
    fs.rmSync(app.outdir, { recursive: true, force: true }); // Testing.app() makes an outdir of its own
  }
  const names = resourceNames(config);
  // An existing bucket's keys and encryption are its owner's: assumed to keep the default key policy
  // (which delegates to IAM), its objects under the first given key.
  const policies = tf.stackPolicies(parsed, deployment);
  for (const keyArn of config.existingBucketKmsKeyArns) {
    const name = `existing bucket key ${keyArn}`;
    policies[name] = { name, kind: 'key', attachedTo: keyArn, document: tf.defaultKeyPolicy(deployment) };
  }
  const bucket = config.existingBucketName || names.bucketName(deployment.account, deployment.region);
  const [objectKey] = config.existingBucketKmsKeyArns;
  const encryption: tf.EncryptionFacts = {
    ...tf.stackEncryption(parsed, deployment),
    ...(objectKey ? { buckets: { [bucket]: { keyArn: objectKey, bucketKey: false } } } : {}),
  };
  const roleArn = policies['aws_iam_role.function_role']?.attachedTo;
  if (!roleArn) throw new Error('The stack has no IAM role');
  const functionArn = tf.regionalArn(deployment, 'lambda', `function:${names.functionName}`);
  return { synthEnv, deployment, config, names, parsed, policies, encryption, bucket, roleArn, functionArn };
}

/** How calls made against `stack` are mapped: its account, its keys and, for the function, lambda:SourceFunctionArn. */
export function recordOptionsFor(stack: StackUnderProof, caller: Caller = 'function'): RecordOptions {
  const [{ account, partition }, source] = [stack.deployment, caller === 'function' ? stack.functionArn : undefined];
  return { account, partition, encryption: stack.encryption, ...(source && { sourceFunctionArn: source }) };
}

/** The uploaders policy's document (aws_iam_policy.uploaders, which users attach themselves). */
export const uploadersDocument = (stack: StackUnderProof): PolicyDocument =>
  tf.terraform(stack.parsed, stack.deployment).policy(stack.parsed.resource?.aws_iam_policy?.uploaders?.policy);

/** The identity policies the stack attaches to a role; the Batch Operations role, with enableBatchOperations. */
const identityOf = (stack: StackUnderProof, roleArn: string) =>
  Object.values(stack.policies).filter((p) => p.kind === 'identity' && p.attachedTo === roleArn);
const batchRole = ({ deployment: d, names, config }: StackUnderProof) =>
  config.enableBatchOperations ? iamArn(d, `role/${names.batchOperationsRoleName}`) : '';
const [BATCH, INVOKE] = ['batchoperations.s3.amazonaws.com', 'lambda:InvokeFunction'];
/** Who makes a caller's calls: the function's role, or a tap user's role with an admin-like or the uploaders policy. */
function callerOf(stack: StackUnderProof, caller: Caller): { arn: string; identity: PolicyRef[] } {
  if (caller === 'function') return { arn: stack.roleArn, identity: identityOf(stack, stack.roleArn) };
  const admin = { Sid: 'AdministratorAccess', Effect: 'Allow', Action: '*', Resource: '*' } as const;
  const document = caller === 'operator' ? { Version: '2012-10-17', Statement: [admin] } : uploadersDocument(stack);
  return { arn: iamArn(stack.deployment, `role/tap-${caller}`), identity: [{ name: `${caller} identity`, document }] };
}

/**
 * One request against the stack's policies, `identity` being the caller's: the resource's are a bucket's
 * for its objects, a role's trust policy for sts:AssumeRole, else those attached to the ARN.
 */
function decide(stack: StackUnderProof, request: Request, identity: readonly PolicyRef[]): Decision {
  const owner = /^arn:[^:]+:s3:::/.test(request.resource) ? request.resource.replace(/\/.*$/, '') : request.resource;
  const kinds = /^sts:AssumeRole/i.test(request.action) ? ['trust'] : ['resource', 'key'];
  const resource = Object.values(stack.policies).filter((p) => kinds.includes(p.kind) && p.attachedTo === owner);
  const resourceAccount = request.resource.split(':')[4] || stack.deployment.account;
  return iam.evaluate(request, { identity, resource, resourceAccount });
}

type CallCheck = { call: RecordedCall; request?: Request; decision: Decision; line: string };
/** Every call evaluated as `caller`'s (implied calls as their principal's, a service or a role); unmapped calls are denied, never skipped. */
export function checkCalls(stack: StackUnderProof, calls: readonly RecordedCall[], caller: Caller = 'function') {
  const who = callerOf(stack, caller);
  const t = tf.terraform(stack.parsed, stack.deployment);
  // A call naming a KMS alias is authorized against the key it points to (alias-authorization.html).
  const aliases = new Map(
    Object.keys(stack.parsed.resource?.aws_kms_alias ?? {}).map((n) => [
      t.arnOf('aws_kms_alias', n),
      tf.regionalArn(stack.deployment, 'kms', `key/${t.attribute('aws_kms_alias', n, 'target_key_id')}`),
    ]),
  );
  return calls.map((call): CallCheck => {
    if (!call.mapped || !call.action || !call.resource) {
      const reason = call.note ?? `${call.service} ${call.operation} is unmapped`;
      const decision: Decision = { decision: 'ImplicitDeny', allowed: false, statements: [], reason };
      return { call, decision, line: `UNMAPPED ${call.service} ${call.operation}: ${reason}` };
    }
    const role = call.principal?.startsWith('arn:') ? call.principal : undefined;
    const principal =
      role || !call.principal ? iam.rolePrincipal(role ?? who.arn) : iam.servicePrincipal(call.principal);
    const resource = aliases.get(call.resource) ?? call.resource;
    const request: Request = { principal, action: call.action, resource, context: call.context };
    const decision: Decision = call.noPermissionRequired
      ? { decision: 'Allow', allowed: true, statements: [], reason: 'AWS requires no permission' }
      : decide(stack, request, role ? identityOf(stack, role) : who.identity);
    return { call, request, decision, line: iam.describeDecision(request, decision) };
  });
}

/** Calls recorded over plain http to a stand-in, given the transport the deployed code uses (https, TLS 1.2). */
export const asDeployed = (call: RecordedCall): RecordedCall => {
  if (call.context['aws:SecureTransport'] !== 'false') return call;
  const tls: Context = call.service === 's3' && !call.implied ? { 's3:TlsVersion': '1.2' } : {};
  return { ...call, context: { ...call.context, 'aws:SecureTransport': 'true', ...tls } };
};

/** The calls AWS makes because of the deployment, derived from the synthesized stack, each with the page that says so. */
export function platformCalls(stack: StackUnderProof): RecordedCall[] {
  const { parsed, deployment: d, names, encryption, functionArn: fn } = stack;
  const env = { ...recordOptionsFor(stack), region: d.region, secure: true };
  /** What `principal` (a service, or a role by ARN) does for `note`, with `context`: each of `actions` on `resource`. */
  const by =
    (principal: string, note: string, context: Context = {}) =>
    (actions: string, resource = ''): RecordedCall[] =>
      actions.split(' ').map((action) => ({
        ...{ service: action.split(':')[0], operation: action.split(':')[1], action, resource, principal, note },
        ...{ mapped: true, implied: true },
        context: { 'aws:SecureTransport': 'true', 'aws:SourceAccount': d.account, ...context },
      }));
  /** Calls Lambda makes with the function's role. */
  const withRole = (note: string, service: string, operations: string[], input: Record<string, unknown> = {}) =>
    operations.flatMap((op) => mapCall(service, op, input, env).map((c) => ({ ...c, implied: true, note })));
  const first = (value: unknown) => [value].flat()[0] as Record<string, unknown> | undefined;
  const tracing = first(parsed.resource?.aws_lambda_function?.metadata_extractor?.tracing_config)?.mode;
  const invoke = parsed.resource?.aws_lambda_function_event_invoke_config?.metadata_extractor_async;
  const stream = { logGroupName: names.logGroupName, logStreamName: '2026/01/01/[$LATEST]0123456789abcdef' };
  const [queue, topic] = [tf.regionalArn(d, 'sqs', names.queueName), tf.regionalArn(d, 'sns', names.topicName)];
  const calls = [
    ...by('lambda.amazonaws.com', 'Lambda assumes the role', { 'aws:SourceArn': fn })('sts:AssumeRole', stack.roleArn),
    ...withRole('Lambda writes the function’s logs with the role', 'logs', ['CreateLogStream', 'PutLogEvents'], stream),
    ...(tracing === 'Active'
      ? withRole('Lambda sends traces (services-xray.html)', 'xray', ['PutTraceSegments', 'PutTelemetryRecords'])
      : []),
    ...(first(first(invoke?.destination_config)?.on_failure)?.destination
      ? withRole('Lambda sends on-failure records with the role', 'sqs', ['SendMessage'], {
          QueueUrl: `https://sqs.${d.region}.amazonaws.com/${d.account}/${names.queueName}`,
        })
      : []),
  ];
  const [KMS, bucket] = ['kms:GenerateDataKey kms:Decrypt', { 'aws:SourceArn': s3Arn(d, stack.bucket) }];
  if (stack.config.eventDelivery === 's3')
    calls.push(...by('s3.amazonaws.com', 'S3 invokes the function', bucket)(INVOKE, fn));
  else {
    // The rule invokes the function, and writes the events it cannot deliver to the failure queue, SQS
    // using the queue's key on its behalf (eb-rule-dlq.html, sqs-key-management.html).
    const rule = { 'aws:SourceArn': tf.regionalArn(d, 'events', `rule/${names.ruleName}`) };
    const events = by('events.amazonaws.com', 'the rule delivers the event, or dead-letters it', rule);
    const kms = { ...rule, 'kms:EncryptionContext:aws:sqs:arn': queue };
    calls.push(...events(INVOKE, fn), ...events('sqs:SendMessage', queue));
    calls.push(...by('events.amazonaws.com', 'SQS encrypts the dead letter', kms)(KMS, encryption.queues?.[queue]));
  }
  const batch = batchRole(stack);
  if (batch) {
    // S3 Batch Operations assumes the job role, which reads the manifest, invokes the function, writes the
    // report and, generating a manifest, lists the uploads (batch-ops-iam-role-policies.html).
    const name = names.operationsBucketName(d.account, d.region);
    const [ops, tls] = [s3Arn(d, name), { 's3:TlsVersion': '1.2' }];
    const job = by(batch, 'a Batch Operations job, with its role', tls);
    const viaS3 = { ...tls, 'kms:ViaService': `s3.${d.region}.amazonaws.com` };
    calls.push(
      ...by(BATCH, 'Batch Operations assumes the job role')('sts:AssumeRole', batch),
      ...job('s3:GetObject', `${ops}/manifests/job.csv`),
      ...job('s3:PutObject', `${ops}/reports/job-1/results.csv`),
      ...job('s3:PutObject', `${ops}/manifests/generated/manifest.json`),
      ...[...job('s3:GetBucketLocation', ops), ...job('s3:ListBucket', s3Arn(d, stack.bucket)), ...job(INVOKE, fn)],
      ...by(batch, 'S3 uses the operations bucket’s key', viaS3)(KMS, encryption.buckets?.[name]?.keyArn),
    );
  }
  // CloudWatch publishes alarm state changes (AlarmThatSendsEmail.html) and, the topic being encrypted,
  // uses its key itself (sns-key-management.html).
  for (const alarm of Object.keys(parsed.resource?.aws_cloudwatch_metric_alarm ?? {})) {
    const context = { 'aws:SourceArn': tf.terraform(parsed, d).arnOf('aws_cloudwatch_metric_alarm', alarm) };
    const kms = { ...context, 'kms:EncryptionContext:aws:sns:topicArn': topic };
    calls.push(...by('cloudwatch.amazonaws.com', 'CloudWatch publishes the alarm', context)('sns:Publish', topic));
    calls.push(...by('cloudwatch.amazonaws.com', 'CloudWatch encrypts it', kms)(KMS, encryption.topics?.[topic]));
  }
  return calls;
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

type GrantRow = { sid?: string; action: string; resource: string; status: string; detail: string };

/**
 * Every (action, resource) the role grants: used by an allowed call of the function's code (a statement
 * that took part in the decision, naming the pair), not exercised (with the reason), or unused (a finding).
 */
export function grantTable(stack: StackUnderProof, checks: readonly CallCheck[]): GrantRow[] {
  const code = checks.filter((c) => !c.call.principal && c.decision.allowed && c.request);
  return identityOf(stack, stack.roleArn).flatMap((policy) =>
    policy.document.Statement.flatMap((s, index) => {
      const using = code.filter((c) =>
        c.decision.statements.some((d) => d.policy === policy.name && d.index === index),
      );
      const actions = s.Effect === 'Allow' ? [s.Action ?? '*'].flat() : [];
      const pairs = actions.flatMap((action) => [s.Resource ?? '*'].flat().map((resource) => [action, resource]));
      return pairs.map(([action, resource]): GrantRow => {
        const count = using.filter(
          ({ request: r }) => iam.actionMatches(action, r!.action) && iam.arnMatches(resource, r!.resource),
        ).length;
        const reason = NOT_EXERCISED[action];
        const status = count > 0 ? 'used' : reason ? 'not-exercised' : 'unused';
        const detail = count > 0 ? `${count} call(s)` : (reason ?? 'granted, used by no recorded call');
        return { ...(s.Sid ? { sid: s.Sid } : {}), action, resource, status, detail };
      });
    }),
  );
}

/** What must be refused, as explicit requests against the stack's policies, and their decisions: ok when denied. */
export function checkRefusals(stack: StackUnderProof) {
  const { deployment: d, names, functionArn: fn, roleArn: role } = stack;
  const [other, at] = ['444455556666', (service: string, resource: string) => tf.regionalArn(d, service, resource)];
  const bucket = s3Arn(d, stack.bucket);
  const object = `${bucket}/uploads/photo.png`;
  const [table, queue, topic] = [
    at('dynamodb', `table/${names.tableName}`),
    at('sqs', names.queueName),
    at('sns', names.topicName),
  ];
  const key = Object.values(stack.policies).find((p) => p.kind === 'key')?.attachedTo ?? '';
  const tls = { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.2' };
  const [noTls, tls11] = [{ 'aws:SecureTransport': 'false' }, { ...tls, 's3:TlsVersion': '1.1' }];
  const via = (service: string) => ({ ...tls, 'kms:ViaService': `${service}.${d.region}.amazonaws.com` });
  const from = (account: string, source = bucket) => ({
    ...tls,
    'aws:SourceAccount': account,
    'aws:SourceArn': source,
  });
  const otherGroup = { 'kms:EncryptionContext:aws:logs:arn': at('logs', 'log-group:/aws/lambda/x') };
  const [S3, CW, LOGS, batch] = [
    's3.amazonaws.com',
    'cloudwatch.amazonaws.com',
    `logs.${d.region}.amazonaws.com`,
    batchRole(stack),
  ];
  type Row = [name: string, who: string, action: string, resource: string, context?: Context];
  /** `actions` on `resource`, as [action, resource] pairs. */
  const on = (resource: string, ...actions: string[]) => actions.map((action): [string, string] => [action, resource]);
  /** Rows named "<label> <action> on <resource>". */
  const each = (who: string, label: string, pairs: [action: string, resource: string][], context?: Context) =>
    pairs.map(([action, resource]): Row => [`${label} ${action} on ${resource}`, who, action, resource, context]);
  const rows: Row[] = [
    ['CloudWatch publishing for another account', CW, 'sns:Publish', topic, from(other)],
    ['CloudWatch using the key for another account', CW, 'kms:GenerateDataKey', key, from(other)],
    ['CloudWatch publishing without TLS', CW, 'sns:Publish', topic, { ...noTls, 'aws:SourceAccount': d.account }],
    ['CloudWatch Logs using the key for another log group', LOGS, 'kms:GenerateDataKey', key, otherGroup],
    ['Lambda assuming the role for another account', 'lambda.amazonaws.com', 'sts:AssumeRole', role, from(other)],
    // The role: no write or delete, no other store, no reading of the queue, no publishing, no direct KMS.
    ...each('role', 'the role', [
      ...on(object, 's3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'),
      ...on(s3Arn(d, 'another-bucket/uploads/photo.png'), 's3:GetObject'),
      ...on(table, 'dynamodb:DeleteItem', 'dynamodb:Scan', 'dynamodb:Query'),
      ...on(at('dynamodb', 'table/another-table'), 'dynamodb:PutItem'),
      ...on(at('sqs', 'another-queue'), 'sqs:SendMessage'),
      ...[...on(queue, 'sqs:ReceiveMessage'), ...on(topic, 'sns:Publish'), ...on(key, 'kms:Decrypt')],
    ]),
    ['the role sending to the queue without TLS (queue policy)', 'role', 'sqs:SendMessage', queue, noTls],
    ['the role using another key through S3', 'role', 'kms:Decrypt', at('kms', 'key/another-key'), via('s3')],
    ['the role using the key through SNS', 'role', 'kms:Decrypt', key, via('sns')],
    ['sending to the queue without TLS (queue policy)', 'operator', 'sqs:SendMessage', queue, noTls],
    ['publishing to the topic without TLS (topic policy)', 'operator', 'sns:Publish', topic, noTls],
    ...each('stranger', 'another account:', [
      ...[...on(object, 's3:GetObject'), ...on(table, 'dynamodb:GetItem'), ...on(queue, 'sqs:SendMessage')],
      ...[...on(topic, 'sns:Publish'), ...on(fn, INVOKE), ...on(role, 'sts:AssumeRole')],
    ]),
    ['another account using the key through S3', 'stranger', 'kms:Decrypt', key, via('s3')],
  ];
  if (stack.config.eventDelivery === 's3')
    rows.push(
      ['S3 invoking the function from another bucket', S3, INVOKE, fn, from(d.account, `${bucket}-x`)],
      ['S3 invoking the function for another account', S3, INVOKE, fn, from(other)],
    );
  else {
    const pairs = [...on(fn, INVOKE), ...on(queue, 'sqs:SendMessage'), ...on(key, 'kms:GenerateDataKey')];
    const otherRule = from(d.account, at('events', 'rule/another-rule'));
    rows.push(...each('events.amazonaws.com', 'EventBridge for another rule:', pairs, otherRule));
  }
  // An existing bucket's policy is its owner's: the stack can only answer for the one it writes.
  if (!stack.config.existingBucketName)
    rows.push(
      ['reading an object without TLS (bucket policy)', 'operator', 's3:GetObject', object, noTls],
      ['reading an object over TLS 1.1 (bucket policy)', 'operator', 's3:GetObject', object, tls11],
      ['listing the bucket without TLS (bucket policy)', 'operator', 's3:ListBucket', bucket, noTls],
    );
  if (batch)
    rows.push(
      ...each('batch', 'the Batch Operations role', [
        ...[...on(at('lambda', 'function:another-function'), INVOKE), ...on(`${fn}:1`, INVOKE)],
        ...on(object, 's3:GetObject', 's3:PutObject'),
      ]),
      ['Batch Operations assuming its role for another account', BATCH, 'sts:AssumeRole', batch, from(other)],
    );
  const [own, admin] = [callerOf(stack, 'function'), callerOf(stack, 'operator')];
  const callers: Record<string, [Principal, readonly PolicyRef[]]> = {
    role: [iam.rolePrincipal(own.arn), own.identity],
    operator: [iam.rolePrincipal(admin.arn), admin.identity],
    stranger: [iam.rolePrincipal(iamArn(d, 'role/admin', other)), admin.identity],
    ...(batch && { batch: [iam.rolePrincipal(batch), identityOf(stack, batch)] }),
  };
  return rows.map(([name, who, action, resource, context = tls]) => {
    const [principal, identity] = callers[who] ?? [iam.servicePrincipal(who), []];
    const refusal = { name, request: { principal, action, resource, context }, identity };
    const decision = decide(stack, refusal.request, identity);
    return { refusal, decision, ok: !decision.allowed, line: iam.describeDecision(refusal.request, decision) };
  });
}

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

/** The whole proof over every piece of evidence: the lines to print, the problems that fail the gate, what it counted. */
export function proofReport(evidence: readonly Evidence[]) {
  const denied = (checks: readonly CallCheck[]) => [
    ...new Set(checks.filter((c) => !c.decision.allowed).map((c) => c.line)),
  ];
  const tally = (checks: readonly CallCheck[]) => {
    const own = checks.filter((c) => !c.call.implied).length;
    return { own, text: `${own} call(s) + ${checks.length - own} implied` };
  };
  const [lines, problems, stacks] = [['evidence:'], [] as string[], new Map<string, StackUnderProof>()];
  const [grants, commands] = [new Map<string, GrantRow>(), new Map<string, CallCheck[]>()];
  let calls = 0;
  for (const e of evidence) {
    const stack = stackUnderProof(e.synthEnv, e.deployment);
    stacks.set(JSON.stringify(e.synthEnv), stack);
    const checks = checkCalls(stack, e.transport === 'stand-in-http' ? e.calls.map(asDeployed) : e.calls, e.caller);
    const http = e.transport === 'stand-in-http' ? ', over http to a stand-in: evaluated as deployed' : '';
    lines.push(`  ${e.name}: ${tally(checks).text} by ${e.caller}${e.command ? ` (${e.command})` : ''}${http}`);
    // One check per tap command over every piece of evidence that recorded it.
    const command = `${e.command} (${e.caller})`;
    if (e.command) commands.set(command, [...(commands.get(command) ?? []), ...checks]);
    if (e.caller !== 'function') continue;
    calls += checks.length;
    problems.push(...denied(checks).map((line) => `${e.name}: ${line}`));
    // The function role's grants, one row per (Sid, action) over every configuration: used when any call used it.
    for (const row of grantTable(stack, checks))
      if (grants.get(`${row.sid}|${row.action}`)?.status !== 'used') grants.set(`${row.sid}|${row.action}`, row);
  }
  lines.push('', "the function role's grants:");
  for (const status of ['used', 'not-exercised', 'unused'] as const) {
    const rows = [...grants.values()].filter((r) => r.status === status);
    lines.push(
      `  ${status}: ${rows.length}`,
      ...rows.map((r) => `    ${r.action.padEnd(28)} ${r.sid ?? ''} (${r.detail})`),
    );
    if (status === 'unused')
      problems.push(...rows.map((r) => `granted but used by no recorded call: ${r.action} (${r.sid ?? 'no Sid'})`));
  }
  lines.push('', "the tap commands' calls:");
  for (const [command, checks] of [...commands].sort()) {
    const [refused, { own, text }] = [denied(checks), tally(checks)];
    const ok = own > 0 && refused.length === 0;
    lines.push(
      `  ${ok ? 'ok  ' : 'FAIL'} ${command}: ${text}, ${refused.length} denied`,
      ...refused.map((l) => `    ${l}`),
    );
    if (!ok) problems.push(`tap command ${command}: ${own === 0 ? 'no call recorded' : refused.join('; ')}`);
  }
  // The platform's calls and the refusals, once per stack configuration.
  let [platform, refusalCount] = [0, 0];
  for (const stack of stacks.values()) {
    const [platformChecks, results] = [checkCalls(stack, platformCalls(stack)), checkRefusals(stack)];
    [platform, refusalCount] = [platform + platformChecks.length, refusalCount + results.length];
    const allowed = platformChecks.filter((c) => c.decision.allowed).length;
    const [refused, all] = [results.filter((r) => r.ok).length, results.length];
    const env = JSON.stringify(stack.synthEnv);
    lines.push(
      '',
      `TAP_* ${env}: platform calls ${allowed}/${platformChecks.length} allowed, refusals ${refused}/${all} denied`,
    );
    problems.push(
      ...denied(platformChecks).map((l) => `platform: ${l}`),
      ...results.filter((r) => !r.ok).map((r) => `not refused: ${r.refusal.name}: ${r.line}`),
    );
  }
  if (calls === 0) problems.push('no function call was recorded');
  if (commands.size === 0) problems.push('no tap command was recorded');
  return { lines, problems, counts: { calls, tapCommands: commands.size, refusals: refusalCount, platform } };
}
