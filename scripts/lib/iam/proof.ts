// The least-privilege proof, as `npm run security` prints it and the tests assert it:
// - every recorded call of the function allowed by the role policy and not denied by the bucket,
//   queue, topic or key policy; the reverse: every granted (action, resource) used, or listed with why
//   it cannot be exercised here;
// - the tap commands' calls: an operator with an admin-like identity policy is not denied by any
//   resource or key policy, an uploader with only the uploaders policy may make `tap upload`'s calls;
// - named checks: the service-to-service paths (allowed, and denied when they come from elsewhere) and
//   what must be refused.
import { checkCalls, CallCheck, ownerOf, platformCalls, unusedGrants, UnusedGrant } from './audit';
import {
  ContextValue,
  Decision,
  describeDecision,
  evaluate,
  Principal,
  Request,
  rolePrincipal,
  servicePrincipal,
} from './evaluate';
import { NamedPolicy, PolicyDocument, TerraformResolver } from './policy';
import type { RecordedCall } from './recorder';
import type { StackUnderProof } from './stack';
import type { CallsHeader } from './calls-file';

/** The resource and key policies of the stack attached to `arn`'s owner. */
export const resourcePoliciesOf = (stack: StackUnderProof, arn: string): NamedPolicy[] =>
  Object.values(stack.policies).filter(
    (p) => p.kind !== 'identity' && p.kind !== 'trust' && p.attachedTo === ownerOf(arn),
  );

const accountOf = (stack: StackUnderProof, arn: string) => arn.split(':')[4] || stack.deployment.account;

// ---------------------------------------------------------------------------------------------
// Principals for the tap commands
// ---------------------------------------------------------------------------------------------

/** An identity policy that allows everything: what an administrator's role has. */
export const ADMIN_LIKE: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'AdministratorAccess', Effect: 'Allow', Action: '*', Resource: '*' }],
};

export const operatorArn = (stack: StackUnderProof) =>
  `arn:${stack.deployment.partition}:iam::${stack.deployment.account}:role/tap-operator`;
export const uploaderArn = (stack: StackUnderProof) =>
  `arn:${stack.deployment.partition}:iam::${stack.deployment.account}:role/tap-uploader`;

/** The uploaders policy's document (aws_iam_policy.uploaders), resolved for the deployment. */
export function uploadersDocument(stack: StackUnderProof): PolicyDocument {
  const attached = stack.parsed.resource?.aws_iam_policy?.uploaders?.policy;
  if (typeof attached !== 'string') throw new Error('aws_iam_policy.uploaders has no policy');
  const named = Object.values(stack.policies).find((p) => p.name === 'aws_iam_policy.uploaders');
  if (named) return named.document;
  // An aws_iam_policy nobody in the stack attaches: resolve its document the way stackPolicies would.
  const reference = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(attached);
  if (!reference) throw new Error(`aws_iam_policy.uploaders: unsupported policy "${attached}"`);
  return new TerraformResolver(stack.parsed, stack.deployment).document(reference[1]);
}

/** The identity policies attached to the function's role. */
const roleIdentity = (stack: StackUnderProof): NamedPolicy[] =>
  Object.values(stack.policies).filter((p) => p.kind === 'identity' && p.attachedTo === stack.roleArn);

/** Who makes the calls of a calls file: the function's role, or a tap user with their identity policy. */
export function callerOf(stack: StackUnderProof, caller: CallsHeader['caller'] = 'function') {
  if (caller === 'operator')
    return { arn: operatorArn(stack), identity: [{ name: 'operator/AdministratorAccess', document: ADMIN_LIKE }] };
  if (caller === 'uploader')
    return {
      arn: uploaderArn(stack),
      identity: [{ name: 'aws_iam_policy.uploaders', document: uploadersDocument(stack) }],
    };
  return { arn: stack.roleArn, identity: roleIdentity(stack) };
}

/**
 * A call naming a KMS alias of the stack is authorized against the key the alias points to (KMS guide,
 * alias-authorization.html): its resource becomes that key's ARN.
 */
export function throughAliases(stack: StackUnderProof, call: RecordedCall): RecordedCall {
  if (!call.resource?.includes(':alias/')) return call;
  const resolver = new TerraformResolver(stack.parsed, stack.deployment);
  for (const name of Object.keys(stack.parsed.resource?.aws_kms_alias ?? {})) {
    if (resolver.arnOf('aws_kms_alias', name) !== call.resource) continue;
    const target = resolver.attribute('resource', 'aws_kms_alias', name, 'target_key_id');
    const key = Object.values(stack.policies).find((p) => p.kind === 'key' && p.attachedTo.endsWith(`/${target}`));
    if (key) return { ...call, resource: key.attachedTo };
  }
  return call;
}

/**
 * Evaluates calls made by `caller`: the function's role through checkCalls (service principals for the
 * implied calls services make themselves), a tap user against its identity policy and the resource policies.
 */
export function checkCallsAs(
  stack: StackUnderProof,
  calls: readonly RecordedCall[],
  caller: CallsHeader['caller'] = 'function',
): CallCheck[] {
  calls = calls.map((c) => throughAliases(stack, c));
  if (caller === 'function') return checkCalls(calls, stack.policies, stack.roleArn);
  const who = callerOf(stack, caller);
  const policies = { ...stack.policies };
  for (const [name, p] of Object.entries(policies)) if (p.kind === 'identity') delete policies[name];
  for (const p of who.identity) {
    policies[`caller/${p.name}`] = { name: p.name, kind: 'identity', attachedTo: who.arn, document: p.document };
  }
  return checkCalls(calls, policies, who.arn);
}

/** Calls recorded over plain http to a stand-in, given the transport the deployed code uses (https, TLS >= 1.2). */
export function asDeployedTransport(call: RecordedCall, tlsVersion = '1.2'): RecordedCall {
  if (call.context['aws:SecureTransport'] !== 'false') return call;
  return {
    ...call,
    context: {
      ...call.context,
      'aws:SecureTransport': 'true',
      ...(call.service === 's3' && !call.implied ? { 's3:TlsVersion': tlsVersion } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The role's grants: used, or not exercisable here and why
// ---------------------------------------------------------------------------------------------

/** Grants of the role no recorded call can use offline, each with the reason. */
export const NOT_EXERCISED: readonly { readonly action: string; readonly why: string }[] = [
  {
    action: 's3:ListBucket',
    why: 'only changes S3’s 403 into 404 for a missing object; S3 checks it on a failed GET/HEAD, no call of the function names it',
  },
  {
    action: 'xray:PutTraceSegments',
    why: 'Lambda’s X-Ray daemon sends the traces with the role (tracing Active); no SDK call of the function',
  },
  {
    action: 'xray:PutTelemetryRecords',
    why: 'Lambda’s X-Ray daemon sends the telemetry with the role; no SDK call of the function',
  },
  {
    action: 'logs:CreateLogStream',
    why: 'the Lambda service writes the function’s logs with the role; no SDK call of the function',
  },
  { action: 'logs:PutLogEvents', why: 'the Lambda service writes the function’s logs with the role' },
  {
    action: 'kms:GenerateDataKey',
    why: 'only the on-failure send needs it (SQS makes the queue’s data key); the function’s code only reads, which needs kms:Decrypt',
  },
  {
    action: 'sqs:SendMessage',
    why: 'made by the Lambda service on the function’s behalf (on-failure destination of async invocations), never by the function’s code',
  },
];

export interface GrantRow {
  readonly sid?: string;
  readonly action: string;
  readonly resource: string;
  readonly status: 'used' | 'not-exercised' | 'unused';
  /** How many recorded calls used it, or why it cannot be exercised here. */
  readonly detail: string;
}

/**
 * Every (action, resource) the role grants: used by a recorded call of the function's code (pass only
 * those: the platform's calls are the named checks' business), not exercised (with the reason), or
 * unused (a finding).
 */
export function grantTable(stack: StackUnderProof, functionChecks: readonly CallCheck[]): GrantRow[] {
  const role = roleIdentity(stack);
  const fromCode = functionChecks.filter((c) => !c.call.principal);
  return role.flatMap((policy) => {
    const unused = new Set(unusedGrants(policy, fromCode).map((u) => key(u)));
    return policy.document.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) =>
      list(s.Action).flatMap((action) =>
        list(s.Resource).map((resource): GrantRow => {
          const grant = { policy: policy.name, sid: s.Sid, action, resource };
          if (!unused.has(key(grant))) {
            const count = fromCode.filter(
              (c) => c.decision.allowed && c.request?.action.toLowerCase() === action.toLowerCase(),
            ).length;
            return { sid: s.Sid, action, resource, status: 'used', detail: `${count} call(s)` };
          }
          const reason = NOT_EXERCISED.find((n) => n.action === action);
          return reason
            ? { sid: s.Sid, action, resource, status: 'not-exercised', detail: reason.why }
            : { sid: s.Sid, action, resource, status: 'unused', detail: 'granted, used by no recorded call' };
        }),
      ),
    );
  });
}

const list = (v: string | string[] | undefined) => (v === undefined ? ['*'] : Array.isArray(v) ? v : [v]);
const key = (g: Pick<UnusedGrant, 'policy' | 'sid' | 'action' | 'resource'>) =>
  `${g.policy}#${g.sid ?? ''}#${g.action}#${g.resource}`;

// ---------------------------------------------------------------------------------------------
// Named checks
// ---------------------------------------------------------------------------------------------

export interface NamedCheck {
  readonly name: string;
  readonly expect: 'allow' | 'deny';
  readonly request: Request;
  readonly identity?: readonly { name: string; document: PolicyDocument }[];
}

export interface NamedResult {
  readonly check: NamedCheck;
  readonly decision: Decision;
  readonly ok: boolean;
  readonly line: string;
}

const OTHER_ACCOUNT = '444455556666';

/** The service-to-service paths and the refusals, as explicit requests against the stack's policies. */
export function namedChecks(stack: StackUnderProof): NamedCheck[] {
  const { deployment: d, names } = stack;
  const arn = (service: string, resource: string, account = d.account) =>
    `arn:${d.partition}:${service}:${d.region}:${account}:${resource}`;
  const bucketArn = `arn:${d.partition}:s3:::${stack.bucket}`;
  const object = `${bucketArn}/uploads/photo.png`;
  const table = arn('dynamodb', `table/${names.tableName}`);
  const queue = arn('sqs', names.queueName);
  const topic = arn('sns', names.topicName);
  const key = Object.values(stack.policies).find((p) => p.kind === 'key')?.attachedTo ?? '';
  const logGroup = arn('logs', `log-group:${names.logGroupName}`);
  const alarm = arn('cloudwatch', `alarm:${names.prefix}-errors`);
  const tls = { 'aws:SecureTransport': 'true' };
  const s3Tls = { ...tls, 's3:TlsVersion': '1.2' };
  const via = (service: string) => `${service}.${d.region}.amazonaws.com`;
  const role = rolePrincipal(stack.roleArn);
  const roleIdentity = callerOf(stack, 'function').identity;
  const operator = rolePrincipal(operatorArn(stack));
  const admin = [{ name: 'operator/AdministratorAccess', document: ADMIN_LIKE }];
  const stranger = rolePrincipal(`arn:${d.partition}:iam::${OTHER_ACCOUNT}:role/admin`);
  const s = (service: string) => servicePrincipal(service);
  type Context = Record<string, ContextValue>;
  const req = (principal: Principal, action: string, resource: string, context: Context): Request => ({
    principal,
    action,
    resource,
    context,
  });
  const allow = (name: string, request: Request, identity = roleIdentity): NamedCheck => ({
    name,
    expect: 'allow',
    request,
    identity,
  });
  const deny = (name: string, request: Request, identity = roleIdentity): NamedCheck => ({
    name,
    expect: 'deny',
    request,
    identity,
  });
  const s3Invoke = (sourceArn: string, account: string) => ({
    ...tls,
    'aws:SourceArn': sourceArn,
    'aws:SourceAccount': account,
  });
  const cw = (account: string) => ({ ...tls, 'aws:SourceArn': alarm, 'aws:SourceAccount': account });
  const logsContext = (group: string) => ({
    ...tls,
    'aws:SourceAccount': d.account,
    'kms:EncryptionContext:aws:logs:arn': group,
  });
  const viaSqs = {
    ...tls,
    'kms:ViaService': via('sqs'),
    'kms:CallerAccount': d.account,
    'kms:EncryptionContext:aws:sqs:arn': queue,
  };

  return [
    // Service to service, allowed
    allow(
      'S3 invokes the function from the uploads bucket of this account',
      req(s('s3.amazonaws.com'), 'lambda:InvokeFunction', stack.functionArn, s3Invoke(bucketArn, d.account)),
    ),
    deny(
      'S3 invoking the function from another bucket is refused',
      req(
        s('s3.amazonaws.com'),
        'lambda:InvokeFunction',
        stack.functionArn,
        s3Invoke(`arn:${d.partition}:s3:::someone-elses-bucket`, d.account),
      ),
    ),
    deny(
      'S3 invoking the function for another account is refused',
      req(s('s3.amazonaws.com'), 'lambda:InvokeFunction', stack.functionArn, s3Invoke(bucketArn, OTHER_ACCOUNT)),
    ),
    allow(
      'CloudWatch publishes an alarm to the topic',
      req(s('cloudwatch.amazonaws.com'), 'sns:Publish', topic, cw(d.account)),
    ),
    allow(
      'CloudWatch makes the data key for the encrypted topic',
      req(s('cloudwatch.amazonaws.com'), 'kms:GenerateDataKey', key, {
        ...cw(d.account),
        'kms:EncryptionContext:aws:sns:topicArn': topic,
      }),
    ),
    allow(
      'CloudWatch decrypts the data key for the encrypted topic',
      req(s('cloudwatch.amazonaws.com'), 'kms:Decrypt', key, {
        ...cw(d.account),
        'kms:EncryptionContext:aws:sns:topicArn': topic,
      }),
    ),
    deny(
      'CloudWatch publishing for another account is refused',
      req(s('cloudwatch.amazonaws.com'), 'sns:Publish', topic, cw(OTHER_ACCOUNT)),
    ),
    deny(
      'CloudWatch using the key for another account is refused',
      req(s('cloudwatch.amazonaws.com'), 'kms:GenerateDataKey', key, cw(OTHER_ACCOUNT)),
    ),
    allow(
      'CloudWatch Logs encrypts this log group’s events with the key',
      req(s(via('logs')), 'kms:GenerateDataKey', key, logsContext(logGroup)),
    ),
    allow(
      'CloudWatch Logs decrypts this log group’s events',
      req(s(via('logs')), 'kms:Decrypt', key, logsContext(logGroup)),
    ),
    deny(
      'CloudWatch Logs using the key for another log group is refused',
      req(
        s(via('logs')),
        'kms:GenerateDataKey',
        key,
        logsContext(arn('logs', 'log-group:/aws/lambda/another-function')),
      ),
    ),
    allow(
      'Lambda sends a failed event to the queue with the role (on-failure destination)',
      req(role, 'sqs:SendMessage', queue, tls),
    ),
    allow('… and makes the queue’s data key through SQS', req(role, 'kms:GenerateDataKey', key, viaSqs)),
    allow('… and decrypts it through SQS', req(role, 'kms:Decrypt', key, viaSqs)),
    allow(
      'Lambda assumes the function role',
      req(s('lambda.amazonaws.com'), 'sts:AssumeRole', stack.roleArn, { 'aws:SourceAccount': d.account }),
      [],
    ),
    deny(
      'Lambda assuming the role for another account is refused',
      req(s('lambda.amazonaws.com'), 'sts:AssumeRole', stack.roleArn, { 'aws:SourceAccount': OTHER_ACCOUNT }),
      [],
    ),
    // What the role must never do
    deny('the role writing an object is refused', req(role, 's3:PutObject', object, s3Tls)),
    deny('the role deleting an object version is refused', req(role, 's3:DeleteObjectVersion', object, s3Tls)),
    deny('the role deleting an object is refused', req(role, 's3:DeleteObject', object, s3Tls)),
    deny('the role deleting an item is refused', req(role, 'dynamodb:DeleteItem', table, tls)),
    deny('the role scanning the table is refused', req(role, 'dynamodb:Scan', table, tls)),
    deny('the role querying the table is refused', req(role, 'dynamodb:Query', table, tls)),
    deny(
      'the role writing to another table is refused',
      req(role, 'dynamodb:PutItem', arn('dynamodb', 'table/another-table'), tls),
    ),
    deny(
      'the role sending to another queue is refused',
      req(role, 'sqs:SendMessage', arn('sqs', 'another-queue'), tls),
    ),
    deny('the role reading the failed-events queue is refused', req(role, 'sqs:ReceiveMessage', queue, tls)),
    deny('the role publishing to the alarm topic is refused', req(role, 'sns:Publish', topic, tls)),
    deny(
      'the role using another key through S3 is refused',
      req(role, 'kms:Decrypt', arn('kms', 'key/another-key'), { ...tls, 'kms:ViaService': via('s3') }),
    ),
    deny('the role calling KMS directly with the pipeline key is refused', req(role, 'kms:Decrypt', key, tls)),
    deny(
      'the role using the key through SNS is refused',
      req(role, 'kms:Decrypt', key, { ...tls, 'kms:ViaService': via('sns') }),
    ),
    // Transport
    deny(
      'reading an object without TLS is refused (bucket policy)',
      req(operator, 's3:GetObject', object, { 'aws:SecureTransport': 'false' }),
      admin,
    ),
    deny(
      'reading an object over TLS 1.1 is refused (bucket policy)',
      req(operator, 's3:GetObject', object, { ...tls, 's3:TlsVersion': '1.1' }),
      admin,
    ),
    deny(
      'listing the bucket without TLS is refused (bucket policy)',
      req(operator, 's3:ListBucket', bucketArn, { 'aws:SecureTransport': 'false' }),
      admin,
    ),
    deny(
      'sending to the queue without TLS is refused (queue policy)',
      req(operator, 'sqs:SendMessage', queue, { 'aws:SecureTransport': 'false' }),
      admin,
    ),
    deny(
      'the role sending to the queue without TLS is refused (queue policy)',
      req(role, 'sqs:SendMessage', queue, { 'aws:SecureTransport': 'false' }),
    ),
    deny(
      'publishing to the topic without TLS is refused (topic policy)',
      req(operator, 'sns:Publish', topic, { 'aws:SecureTransport': 'false' }),
      admin,
    ),
    deny(
      'CloudWatch publishing without TLS is refused (topic policy)',
      req(s('cloudwatch.amazonaws.com'), 'sns:Publish', topic, { ...cw(d.account), 'aws:SecureTransport': 'false' }),
    ),
    allow(
      'an operator reading an object over TLS 1.2 is not refused',
      req(operator, 's3:GetObject', object, s3Tls),
      admin,
    ),
    // Other accounts
    deny('another account reading an object is refused', req(stranger, 's3:GetObject', object, s3Tls), admin),
    deny('another account reading an item is refused', req(stranger, 'dynamodb:GetItem', table, tls), admin),
    deny('another account sending to the queue is refused', req(stranger, 'sqs:SendMessage', queue, tls), admin),
    deny('another account publishing to the topic is refused', req(stranger, 'sns:Publish', topic, tls), admin),
    deny(
      'another account using the key is refused',
      req(stranger, 'kms:Decrypt', key, { ...tls, 'kms:ViaService': via('s3') }),
      admin,
    ),
    deny(
      'another account invoking the function is refused',
      req(stranger, 'lambda:InvokeFunction', stack.functionArn, tls),
      admin,
    ),
    deny(
      'another account assuming the function role is refused',
      req(stranger, 'sts:AssumeRole', stack.roleArn, tls),
      admin,
    ),
  ];
}

/** The decision of each named check, and whether it is the one expected. */
export function runNamedChecks(stack: StackUnderProof, checks = namedChecks(stack)): NamedResult[] {
  return checks.map((check) => {
    const resource = check.request.action.toLowerCase().startsWith('sts:assumerole')
      ? Object.values(stack.policies).filter((p) => p.kind === 'trust' && p.attachedTo === check.request.resource)
      : resourcePoliciesOf(stack, check.request.resource);
    const decision = evaluate(check.request, {
      identity: check.request.principal.type === 'AWS' ? (check.identity ?? []) : [],
      resource,
      resourceAccount: accountOf(stack, check.request.resource),
    });
    const ok = decision.allowed === (check.expect === 'allow');
    return { check, decision, ok, line: describeDecision(check.request, decision) };
  });
}

/** The platform's calls (Lambda, S3, CloudWatch, CloudWatch Logs on the deployment's behalf), checked. */
export const checkPlatformCalls = (stack: StackUnderProof): CallCheck[] =>
  checkCalls(platformCalls(stack.parsed, stack.deployment), stack.policies, stack.roleArn);
