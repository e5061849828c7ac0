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
} from './policy';
import { mapCall, RecordedCall, RecordOptions } from './recorder';

export type Caller = 'function' | 'operator' | 'uploader';

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
  const policies = stackPolicies(parsed, deployment);
  const role = Object.values(policies).find((p) => p.kind === 'trust');
  if (!role) throw new Error('The stack has no IAM role');
  const { region, account } = deployment;
  const stack: StackUnderProof = {
    ...{ synthEnv, deployment, config, names, parsed, policies },
    encryption: stackEncryption(parsed, deployment),
    bucket: names.bucketName(account, region),
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

/** Who makes a caller's calls: the function's role, or a tap user's role with its identity policy. */
export function callerOf(stack: StackUnderProof, caller: Caller): { arn: string; identity: PolicyRef[] } {
  const { partition, account } = stack.deployment;
  if (caller === 'function') {
    return {
      arn: stack.roleArn,
      identity: Object.values(stack.policies).filter((p) => p.kind === 'identity' && p.attachedTo === stack.roleArn),
    };
  }
  const document = caller === 'operator' ? ADMIN_LIKE : uploadersDocument(stack);
  return {
    arn: arn(partition, 'iam', '', account, `role/tap-${caller}`),
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
export function decide(stack: StackUnderProof, request: Request, identity: readonly PolicyRef[]): Decision {
  const account = request.resource.split(':')[4] || stack.deployment.account;
  return evaluate(request, { identity, resource: resourcePolicies(stack, request), resourceAccount: account });
}

export interface CallCheck {
  readonly call: RecordedCall;
  readonly request?: Request;
  readonly decision: Decision;
  readonly line: string;
}

/** Every call evaluated as `caller`'s (implied calls with a principal as that service's); unmapped calls are denied, never skipped. */
export function checkCalls(
  stack: StackUnderProof,
  calls: readonly RecordedCall[],
  caller: Caller = 'function',
): CallCheck[] {
  const who = callerOf(stack, caller);
  const tf = terraform(stack.parsed, stack.deployment);
  // A call naming a KMS alias is authorized against the key it points to (alias-authorization.html).
  const aliases = Object.fromEntries(
    Object.keys(stack.parsed.resource?.aws_kms_alias ?? {}).map((n) => [
      tf.arnOf('aws_kms_alias', n),
      tf.attribute('aws_kms_alias', n, 'target_key_id'),
    ]),
  );
  const keyOf = (resource: string) =>
    aliases[resource] ? regionalArn(stack.deployment, 'kms', `key/${aliases[resource]}`) : resource;
  return calls.map((call): CallCheck => {
    if (!call.mapped || !call.action || !call.resource) {
      const reason = call.note ?? `${call.service} ${call.operation} is unmapped`;
      return {
        call,
        decision: { decision: 'ImplicitDeny', allowed: false, statements: [], reason },
        line: `UNMAPPED ${call.service} ${call.operation}: ${reason}`,
      };
    }
    const principal: Principal = call.principal ? servicePrincipal(call.principal) : rolePrincipal(who.arn);
    const request: Request = { principal, action: call.action, resource: keyOf(call.resource), context: call.context };
    const decision: Decision = call.noPermissionRequired
      ? { decision: 'Allow', allowed: true, statements: [], reason: 'AWS requires no permission' }
      : decide(stack, request, who.identity);
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
  const env = { ...recordOptionsFor(stack), region: d.region, secure: true };
  type Context = Record<string, string>;
  const byService = (
    principal: string,
    action: string,
    resource: string,
    context: Context,
    note: string,
  ): RecordedCall => ({
    service: action.split(':')[0],
    operation: action.split(':')[1],
    ...{ action, resource, principal, note, mapped: true, implied: true },
    context: { 'aws:SecureTransport': 'true', 'aws:SourceAccount': d.account, ...context },
  });
  const withRole = (service: string, operation: string, input: Record<string, unknown>, note: string) =>
    mapCall(service, operation, input, env).map((c) => ({ ...c, implied: true, note }));
  const first = (value: unknown) => [value].flat()[0] as Record<string, unknown> | undefined;
  const fn = parsed.resource?.aws_lambda_function?.metadata_extractor;
  const invoke = parsed.resource?.aws_lambda_function_event_invoke_config?.metadata_extractor_async;
  const destination = first(first(invoke?.destination_config)?.on_failure)?.destination;
  const queueUrl = `https://sqs.${d.region}.amazonaws.com/${d.account}/${names.queueName}`;
  const fromBucket = { 'aws:SourceArn': arn(d.partition, 's3', '', '', stack.bucket) };
  const stream = { logGroupName: names.logGroupName, logStreamName: '2026/01/01/[$LATEST]0123456789abcdef' };
  const calls = [
    byService(
      'lambda.amazonaws.com',
      'sts:AssumeRole',
      stack.roleArn,
      { 'aws:SourceArn': stack.functionArn },
      'Lambda assumes the role',
    ),
    ...withRole('logs', 'CreateLogStream', stream, 'Lambda writes the function’s logs with the role'),
    ...withRole('logs', 'PutLogEvents', stream, 'Lambda writes the function’s logs with the role'),
    ...(first(fn?.tracing_config)?.mode === 'Active'
      ? ['PutTraceSegments', 'PutTelemetryRecords'].flatMap((op) =>
          withRole('xray', op, {}, 'Lambda sends traces with the role (services-xray.html)'),
        )
      : []),
    ...(destination
      ? withRole('sqs', 'SendMessage', { QueueUrl: queueUrl }, 'Lambda sends on-failure records with the role')
      : []),
    byService('s3.amazonaws.com', 'lambda:InvokeFunction', stack.functionArn, fromBucket, 'S3 invokes the function'),
  ];
  const topic = regionalArn(stack.deployment, 'sns', names.topicName);
  for (const name of Object.keys(parsed.resource?.aws_cloudwatch_metric_alarm ?? {})) {
    const context = { 'aws:SourceArn': terraform(parsed, d).arnOf('aws_cloudwatch_metric_alarm', name) };
    calls.push(
      byService(
        'cloudwatch.amazonaws.com',
        'sns:Publish',
        topic,
        context,
        'CloudWatch publishes alarm state changes (AlarmThatSendsEmail.html)',
      ),
    );
    // The event source itself needs the key of an encrypted topic (sns-key-management.html).
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      const key = stack.encryption.topics?.[topic] ?? '';
      calls.push(
        byService(
          'cloudwatch.amazonaws.com',
          action,
          key,
          { ...context, 'kms:EncryptionContext:aws:sns:topicArn': topic },
          'CloudWatch encrypts the alarm message',
        ),
      );
    }
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
  const { deployment: d, names } = stack;
  const other = '444455556666';
  const bucket = arn(d.partition, 's3', '', '', stack.bucket);
  const object = `${bucket}/uploads/photo.png`;
  const table = regionalArn(d, 'dynamodb', `table/${names.tableName}`);
  const [queue, topic, fn] = [
    regionalArn(d, 'sqs', names.queueName),
    regionalArn(d, 'sns', names.topicName),
    stack.functionArn,
  ];
  const key = Object.values(stack.policies).find((p) => p.kind === 'key')?.attachedTo ?? '';
  const tls = { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.2' };
  const noTls = { 'aws:SecureTransport': 'false' };
  const via = (service: string) => ({ ...tls, 'kms:ViaService': `${service}.${d.region}.amazonaws.com` });
  const from = (account: string, sourceArn = bucket) => ({
    ...tls,
    'aws:SourceAccount': account,
    'aws:SourceArn': sourceArn,
  });
  const [S3, CW, LOGS] = ['s3.amazonaws.com', 'cloudwatch.amazonaws.com', `logs.${d.region}.amazonaws.com`];
  const otherGroup = {
    'kms:EncryptionContext:aws:logs:arn': regionalArn(d, 'logs', 'log-group:/aws/lambda/another-function'),
  };
  const rows: [name: string, who: string, action: string, resource: string, context?: Record<string, string>][] = [
    ['S3 invoking the function from another bucket', S3, 'lambda:InvokeFunction', fn, from(d.account, `${bucket}-x`)],
    ['S3 invoking the function for another account', S3, 'lambda:InvokeFunction', fn, from(other)],
    ['CloudWatch publishing for another account', CW, 'sns:Publish', topic, from(other)],
    ['CloudWatch using the key for another account', CW, 'kms:GenerateDataKey', key, from(other)],
    ['CloudWatch publishing without TLS', CW, 'sns:Publish', topic, { ...noTls, 'aws:SourceAccount': d.account }],
    ['CloudWatch Logs using the key for another log group', LOGS, 'kms:GenerateDataKey', key, otherGroup],
    [
      'Lambda assuming the role for another account',
      'lambda.amazonaws.com',
      'sts:AssumeRole',
      stack.roleArn,
      from(other),
    ],
    ['the role writing an object', 'role', 's3:PutObject', object],
    ['the role deleting an object', 'role', 's3:DeleteObject', object],
    ['the role deleting an object version', 'role', 's3:DeleteObjectVersion', object],
    ['the role deleting an item', 'role', 'dynamodb:DeleteItem', table],
    ['the role scanning the table', 'role', 'dynamodb:Scan', table],
    ['the role querying the table', 'role', 'dynamodb:Query', table],
    [
      'the role writing to another table',
      'role',
      'dynamodb:PutItem',
      regionalArn(d, 'dynamodb', 'table/another-table'),
    ],
    ['the role sending to another queue', 'role', 'sqs:SendMessage', regionalArn(d, 'sqs', 'another-queue')],
    ['the role reading the failed-events queue', 'role', 'sqs:ReceiveMessage', queue],
    ['the role sending to the queue without TLS (queue policy)', 'role', 'sqs:SendMessage', queue, noTls],
    ['the role publishing to the alarm topic', 'role', 'sns:Publish', topic],
    [
      'the role using another key through S3',
      'role',
      'kms:Decrypt',
      regionalArn(d, 'kms', 'key/another-key'),
      via('s3'),
    ],
    ['the role calling KMS directly with the pipeline key', 'role', 'kms:Decrypt', key],
    ['the role using the key through SNS', 'role', 'kms:Decrypt', key, via('sns')],
    ['reading an object without TLS (bucket policy)', 'operator', 's3:GetObject', object, noTls],
    [
      'reading an object over TLS 1.1 (bucket policy)',
      'operator',
      's3:GetObject',
      object,
      { ...tls, 's3:TlsVersion': '1.1' },
    ],
    ['listing the bucket without TLS (bucket policy)', 'operator', 's3:ListBucket', bucket, noTls],
    ['sending to the queue without TLS (queue policy)', 'operator', 'sqs:SendMessage', queue, noTls],
    ['publishing to the topic without TLS (topic policy)', 'operator', 'sns:Publish', topic, noTls],
    ['another account reading an object', 'stranger', 's3:GetObject', object],
    ['another account reading an item', 'stranger', 'dynamodb:GetItem', table],
    ['another account sending to the queue', 'stranger', 'sqs:SendMessage', queue],
    ['another account publishing to the topic', 'stranger', 'sns:Publish', topic],
    ['another account using the key', 'stranger', 'kms:Decrypt', key, via('s3')],
    ['another account invoking the function', 'stranger', 'lambda:InvokeFunction', fn],
    ['another account assuming the function role', 'stranger', 'sts:AssumeRole', stack.roleArn],
  ];
  const role = callerOf(stack, 'function');
  const admin = callerOf(stack, 'operator');
  const callers: Record<string, [Principal, readonly PolicyRef[]]> = {
    role: [rolePrincipal(role.arn), role.identity],
    operator: [rolePrincipal(admin.arn), admin.identity],
    stranger: [rolePrincipal(arn(d.partition, 'iam', '', other, 'role/admin')), admin.identity],
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
  readonly counts: {
    readonly calls: number;
    readonly tapCommands: number;
    readonly refusals: number;
    readonly platform: number;
  };
}

/** The whole proof over every piece of evidence: the lines to print and the problems that fail the gate. */
export function proofReport(evidence: readonly Evidence[]): ProofReport {
  const lines: string[] = [];
  const problems: string[] = [];
  const stackOf = (e: Evidence) => stackUnderProof(e.synthEnv, e.deployment);
  const checked = evidence.map((e) => ({
    e,
    checks: checkCalls(
      stackOf(e),
      e.calls.map((c) => (e.transport === 'stand-in-http' ? asDeployed(c) : c)),
      e.caller,
    ),
  }));
  const denied = (checks: readonly CallCheck[]) => [
    ...new Set(checks.filter((c) => !c.decision.allowed).map((c) => c.line)),
  ];
  const own = (checks: readonly CallCheck[]) => checks.filter((c) => !c.call.implied).length;
  lines.push('evidence:');
  for (const { e, checks } of checked) {
    lines.push(
      `  ${e.name}: ${own(checks)} call(s) + ${checks.length - own(checks)} implied by ${e.caller}${e.command ? ` (${e.command})` : ''}${e.transport === 'stand-in-http' ? ', over http to a stand-in: evaluated as deployed' : ''}`,
    );
  }
  // The function role's grants, one row per (Sid, action) over every configuration: used when any call used it.
  const functionChecks = checked.filter((c) => c.e.caller === 'function');
  const rows = new Map<string, GrantRow>();
  for (const { e, checks } of functionChecks) {
    for (const row of grantTable(stackOf(e), checks)) {
      const id = `${row.sid}|${row.action}`;
      if (rows.get(id)?.status !== 'used') rows.set(id, row);
    }
  }
  lines.push('', "the function role's grants:");
  for (const status of ['used', 'not-exercised', 'unused'] as const) {
    const of = [...rows.values()].filter((r) => r.status === status);
    lines.push(
      `  ${status}: ${of.length}`,
      ...of.map((r) => `    ${r.action.padEnd(28)} ${r.sid ?? ''} (${r.detail})`),
    );
  }
  problems.push(
    ...[...rows.values()]
      .filter((r) => r.status === 'unused')
      .map((r) => `granted but used by no recorded call: ${r.action} (${r.sid ?? 'no Sid'})`),
  );
  problems.push(...functionChecks.flatMap(({ e, checks }) => denied(checks).map((line) => `${e.name}: ${line}`)));
  // One check per tap command over every piece of evidence that recorded it.
  const commands = new Map<string, CallCheck[]>();
  for (const { e, checks } of checked)
    if (e.command)
      commands.set(`${e.command} (${e.caller})`, [...(commands.get(`${e.command} (${e.caller})`) ?? []), ...checks]);
  lines.push('', "the tap commands' calls:");
  for (const [command, checks] of [...commands].sort()) {
    const refused = denied(checks);
    const ok = own(checks) > 0 && refused.length === 0;
    lines.push(
      `  ${ok ? 'ok  ' : 'FAIL'} ${command}: ${own(checks)} call(s) + ${checks.length - own(checks)} implied, ${refused.length} denied`,
      ...refused.map((l) => `    ${l}`),
    );
    if (!ok) problems.push(`tap command ${command}: ${own(checks) === 0 ? 'no call recorded' : refused.join('; ')}`);
  }
  // The platform's calls and the refusals, once per stack configuration.
  const configurations = [...new Map(evidence.map((e) => [JSON.stringify(e.synthEnv), stackOf(e)])).values()];
  let platform = 0;
  let refusalCount = 0;
  for (const stack of configurations) {
    const platformChecks = checkCalls(stack, platformCalls(stack));
    const results = checkRefusals(stack);
    platform += platformChecks.length;
    refusalCount += results.length;
    lines.push(
      '',
      `TAP_* ${JSON.stringify(stack.synthEnv)}: platform calls ${platformChecks.filter((c) => c.decision.allowed).length}/${platformChecks.length} allowed, refusals ${results.filter((r) => r.ok).length}/${results.length} denied`,
    );
    problems.push(
      ...denied(platformChecks).map((l) => `platform: ${l}`),
      ...results.filter((r) => !r.ok).map((r) => `not refused: ${r.refusal.name}: ${r.line}`),
    );
  }
  const calls = functionChecks.reduce((n, c) => n + c.checks.length, 0);
  if (calls === 0) problems.push('no function call was recorded');
  if (commands.size === 0) problems.push('no tap command was recorded');
  return { lines, problems, counts: { calls, tapCommands: commands.size, refusals: refusalCount, platform } };
}
