// The two questions the recorder and the evaluator answer together, against the stack's own policies:
// is every call the pipeline makes allowed, and is every permission the role is granted used?
//
// "The pipeline's calls" are the function's SDK calls (recorded with recorder.ts) plus the calls the
// platform makes because of the deployment, which no SDK middleware sees: Lambda assuming the role,
// writing its logs and traces and sending failed events to the destination; S3 invoking the function;
// CloudWatch publishing alarms; CloudWatch Logs using the key. platformCalls derives those from the
// synthesized stack.
import {
  arnMatches,
  actionMatches,
  Decision,
  describeDecision,
  evaluate,
  Principal,
  Request,
  rolePrincipal,
  servicePrincipal,
} from './evaluate';
import { Deployment, NamedPolicy, stackEncryption, SynthesizedJson, TerraformResolver } from './policy';
import { CallEnvironment, mapCall, RecordedCall } from './recorder';

export interface CallCheck {
  readonly call: RecordedCall;
  /** The request evaluated; absent for an unmapped call, which is denied as unknown. */
  readonly request?: Request;
  readonly decision: Decision;
  /** One readable line: verdict, who, what, deciding statements, reason. */
  readonly line: string;
}

/** The policies attached to a resource: a bucket's for its objects, else those attached to the ARN itself. */
export const ownerOf = (arn: string) => (/^arn:[^:]+:s3:::/.test(arn) ? arn.replace(/\/.*$/, '') : arn);

/**
 * Evaluates every recorded call: calls without a principal are made by `roleArn` (the function's
 * role), the others by their service principal. Unmapped calls are denied, never skipped.
 */
export function checkCalls(
  calls: readonly RecordedCall[],
  policies: Readonly<Record<string, NamedPolicy>>,
  roleArn: string,
): CallCheck[] {
  const all = Object.values(policies);
  const identity = all.filter((p) => p.kind === 'identity' && p.attachedTo === roleArn);
  const caller = rolePrincipal(roleArn);
  return calls.map((call): CallCheck => {
    if (!call.mapped || !call.action || !call.resource) {
      const reason = call.note ?? `${call.service} ${call.operation} is unmapped`;
      const decision: Decision = { decision: 'ImplicitDeny', allowed: false, statements: [], reason };
      return { call, decision, line: `UNMAPPED ${call.service} ${call.operation}: ${reason}` };
    }
    const principal: Principal = call.principal ? servicePrincipal(call.principal) : caller;
    const request: Request = { principal, action: call.action, resource: call.resource, context: call.context };
    if (call.noPermissionRequired) {
      const decision: Decision = {
        decision: 'Allow',
        allowed: true,
        statements: [],
        reason: 'AWS requires no permission',
      };
      return { call, request, decision, line: describeDecision(request, decision) };
    }
    const owner = ownerOf(call.resource);
    const resource = all.filter((p) => p.kind !== 'identity' && p.attachedTo === owner);
    const resourceAccount = call.resource.split(':')[4] || (principal.type === 'AWS' ? principal.account : '');
    const decision = evaluate(request, { identity, resource, resourceAccount });
    return { call, request, decision, line: describeDecision(request, decision) };
  });
}

export interface UnusedGrant {
  readonly policy: string;
  readonly sid?: string;
  readonly action: string;
  readonly resource: string;
}

/**
 * Every (action, resource) pair an Allow statement of `policy` names that no allowed call used, where
 * "used" means the statement took part in the decision and the pair matches the call. Statements with
 * NotAction or NotResource cannot be enumerated: they are reported whole, with action or resource "*".
 */
export function unusedGrants(policy: NamedPolicy, checks: readonly CallCheck[]): UnusedGrant[] {
  const out: UnusedGrant[] = [];
  const asList = (v: string | string[] | undefined) => (v === undefined ? ['*'] : Array.isArray(v) ? v : [v]);
  policy.document.Statement.forEach((s, index) => {
    if (s.Effect !== 'Allow') return;
    const used = checks.filter(
      (c) => c.decision.allowed && c.decision.statements.some((d) => d.policy === policy.name && d.index === index),
    );
    for (const action of asList(s.Action)) {
      for (const resource of asList(s.Resource)) {
        const hit = used.some(
          (c) =>
            c.request &&
            (s.NotAction !== undefined || actionMatches(action, c.request.action)) &&
            (s.NotResource !== undefined || arnMatches(resource, c.request.resource)),
        );
        if (!hit) out.push({ policy: policy.name, ...(s.Sid ? { sid: s.Sid } : {}), action, resource });
      }
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The platform's calls
// ---------------------------------------------------------------------------------------------

type Attributes = Record<string, unknown>;
const first = (value: unknown): Attributes | undefined =>
  (Array.isArray(value) ? value[0] : value) as Attributes | undefined;

/**
 * The calls AWS makes because of the deployment, from the synthesized stack. Each carries a note
 * with the AWS page that says the call happens and who makes it.
 */
export function platformCalls(stack: SynthesizedJson, deployment: Deployment): RecordedCall[] {
  const r = new TerraformResolver(stack, deployment);
  const env: CallEnvironment = { ...deployment, secure: true, encryption: stackEncryption(stack, deployment) };
  const each = (type: string) => Object.entries(stack.resource?.[type] ?? {});
  const platform = (call: RecordedCall, note: string): RecordedCall => ({
    ...call,
    implied: true,
    note: call.note ? `${note}; ${call.note}` : note,
  });
  const byService = (
    principal: string,
    action: string,
    resource: string,
    context: Record<string, string>,
    note: string,
  ): RecordedCall => ({
    service: action.split(':')[0],
    operation: action.split(':')[1],
    action,
    resource,
    principal,
    mapped: true,
    implied: true,
    context: { 'aws:SecureTransport': 'true', 'aws:SourceAccount': deployment.account, ...context },
    note,
  });
  const out: RecordedCall[] = [];

  for (const [name, fn] of each('aws_lambda_function')) {
    const functionName = r.attribute('resource', 'aws_lambda_function', name, 'function_name');
    const functionArn = r.arnOf('aws_lambda_function', name);
    const role = r.resolve(String(fn.role));
    const fromFunction = { ...env, sourceFunctionArn: functionArn };
    out.push(
      byService(
        'lambda.amazonaws.com',
        'sts:AssumeRole',
        role,
        { 'aws:SourceArn': functionArn },
        'Lambda assumes the execution role for each execution environment (lambda-intro-execution-role.html)',
      ),
    );
    const logging = first(fn.logging_config);
    const logGroupName =
      typeof logging?.log_group === 'string' ? r.resolve(logging.log_group) : `/aws/lambda/${functionName}`;
    const stream = { logGroupName, logStreamName: '2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef' };
    const logs = 'Lambda writes the function’s logs with the execution role (permissions-source-function-arn.html)';
    out.push(...mapCall('logs', 'CreateLogStream', stream, fromFunction).map((c) => platform(c, logs)));
    out.push(
      ...mapCall('logs', 'PutLogEvents', { ...stream, logEvents: [] }, fromFunction).map((c) => platform(c, logs)),
    );
    if (first(fn.tracing_config)?.mode === 'Active') {
      const traces = 'Lambda sends traces with the execution role when tracing is Active (services-xray.html)';
      for (const op of ['PutTraceSegments', 'PutTelemetryRecords']) {
        out.push(...mapCall('xray', op, {}, fromFunction).map((c) => platform(c, traces)));
      }
    }
    for (const [configName, config] of each('aws_lambda_function_event_invoke_config')) {
      const target = r.attribute('resource', 'aws_lambda_function_event_invoke_config', configName, 'function_name');
      if (target !== functionName && target !== functionArn) continue;
      const destinations = first(config.destination_config);
      for (const kind of ['on_failure', 'on_success']) {
        const destination = first(destinations?.[kind])?.destination;
        if (typeof destination !== 'string') continue;
        const arn = r.resolve(destination);
        const note = `Lambda sends ${kind.replace('_', '-')} records with the execution role (invocation-async-retain-records.html)`;
        const [, , service, region, account, resource] = arn.split(':');
        const input =
          service === 'sqs'
            ? ['SendMessage', { QueueUrl: `https://sqs.${region}.amazonaws.com/${account}/${resource}` }]
            : service === 'sns'
              ? ['Publish', { TopicArn: arn }]
              : service === 'lambda'
                ? ['Invoke', { FunctionName: arn }]
                : ['PutEvents', { EventBusName: arn }];
        out.push(...mapCall(service, input[0] as string, input[1] as Attributes, env).map((c) => platform(c, note)));
      }
    }
  }

  for (const [, notification] of each('aws_s3_bucket_notification')) {
    const bucket = r.resolve(String(notification.bucket));
    for (const target of (notification.lambda_function ?? []) as Attributes[]) {
      out.push(
        byService(
          's3.amazonaws.com',
          'lambda:InvokeFunction',
          r.resolve(String(target.lambda_function_arn)),
          { 'aws:SourceArn': `arn:${deployment.partition}:s3:::${bucket}` },
          'S3 invokes the function for each notified event (notification-how-to-event-types-and-destinations.html)',
        ),
      );
    }
  }

  const topics = env.encryption?.topics ?? {};
  for (const [name, alarm] of each('aws_cloudwatch_metric_alarm')) {
    const alarmArn = r.arnOf('aws_cloudwatch_metric_alarm', name);
    const actions = ['alarm_actions', 'ok_actions', 'insufficient_data_actions'].flatMap(
      (a) => (alarm[a] ?? []) as string[],
    );
    for (const topic of new Set(actions.map((a) => r.resolve(a)).filter((a) => a.includes(':sns:')))) {
      const context = { 'aws:SourceArn': alarmArn };
      const note = 'CloudWatch publishes alarm state changes to the topic (AlarmThatSendsEmail.html)';
      out.push(byService('cloudwatch.amazonaws.com', 'sns:Publish', topic, context, note));
      if (topics[topic]) {
        // The event source itself needs the key of an encrypted topic (SNS guide, sns-key-management.html).
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
          out.push(
            byService(
              'cloudwatch.amazonaws.com',
              action,
              topics[topic],
              { ...context, 'kms:EncryptionContext:aws:sns:topicArn': topic },
              'CloudWatch encrypts the alarm message for the encrypted topic (sns-key-management.html)',
            ),
          );
        }
      }
    }
  }
  return out;
}
