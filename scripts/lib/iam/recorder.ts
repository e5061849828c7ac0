// Records the IAM side of every call an AWS SDK v3 client makes: the action, the exact resource ARN,
// the request context the stack's policies test, and the calls AWS makes because of it (the KMS call
// S3 makes on the caller's behalf for an SSE-KMS object). For tests and scripts only: never bundle it
// into the Lambda function.
//
// The middleware sits in the build step: the input is final and the endpoint resolved, and it runs
// once per send (retries happen later, in finalizeRequest), before the request leaves, so calls that
// fail are recorded too. A command missing from the mapping table is recorded with mapped: false,
// never dropped, so a report can fail on it.
//
// Request context, and the choices behind it:
// - aws:SecureTransport: "true" when the endpoint is https, "false" when http.
// - s3:TlsVersion (S3 only, https only): the lowest version Node's TLS client accepts
//   (tls.DEFAULT_MIN_VERSION, "TLSv1.2" -> "1.2"), a lower bound of the negotiated version, which is
//   only known after the handshake. Absent over http, as in AWS (no TLS, no version).
// - aws:RequestedRegion, kms:CallerAccount (KMS calls), s3:versionid (S3 calls with a VersionId),
//   kms:ViaService and kms:EncryptionContext:* on implied KMS calls, lambda:SourceFunctionArn when
//   options.sourceFunctionArn says the calls come from a function.
// - aws:SourceAccount / aws:SourceArn only exist on calls a service principal makes (S3 invoking the
//   function, CloudWatch publishing an alarm): audit.ts's platformCalls adds them there.
import tls from 'node:tls';
import type { BuildMiddleware, MetadataBearer, MiddlewareStack, Provider } from '@smithy/types';
import { EncryptionFacts, queueArnFromUrl } from './policy';

export interface RecordedCall {
  /** The IAM service prefix: s3, dynamodb, sqs, ... */
  readonly service: string;
  /** The API operation: HeadObject, PutItem, ... */
  readonly operation: string;
  /** The IAM action the call needs; undefined when unmapped. */
  readonly action?: string;
  /** The ARN IAM authorizes the action on; undefined when unmapped. */
  readonly resource?: string;
  readonly context: Readonly<Record<string, string>>;
  /** A call AWS makes because of another one (S3 calling KMS for an SSE-KMS object). */
  readonly implied?: boolean;
  /** Who makes it when not the caller: a service principal such as logs.us-east-1.amazonaws.com. */
  readonly principal?: string;
  /** False when the operation is not in the mapping table: a report must fail on it. */
  readonly mapped: boolean;
  /** AWS documents that the operation needs no permission (sts:GetCallerIdentity). */
  readonly noPermissionRequired?: boolean;
  /** Why an implied call happens (with its AWS doc), or what is unmapped. */
  readonly note?: string;
}

export interface CallRecorder {
  readonly calls: RecordedCall[];
  record(...calls: RecordedCall[]): void;
  /** Calls whose operation is not in the mapping table. */
  unmapped(): RecordedCall[];
  clear(): void;
}

export function createRecorder(): CallRecorder {
  const calls: RecordedCall[] = [];
  return {
    calls,
    record: (...recorded) => void calls.push(...recorded),
    unmapped: () => calls.filter((c) => !c.mapped),
    clear: () => void calls.splice(0),
  };
}

export interface RecordOptions {
  /** The account the calls are made in (the caller's and the resources'). */
  readonly account: string;
  readonly partition?: string;
  /** Which key encrypts which store (stackEncryption): the source of implied KMS calls. */
  readonly encryption?: EncryptionFacts;
  /**
   * The function the calls come from, when they come from inside a Lambda execution environment:
   * Lambda then adds lambda:SourceFunctionArn to the request context (Lambda guide,
   * permissions-source-function-arn.html).
   */
  readonly sourceFunctionArn?: string;
}

/** What the mapping functions know about a call besides its input. */
export interface CallEnvironment extends RecordOptions {
  readonly region: string;
  readonly secure: boolean;
}

export interface RecordableClient<I extends object, O extends MetadataBearer> {
  readonly middlewareStack: MiddlewareStack<I, O>;
  readonly config: { readonly region?: string | Provider<string> };
}

/** Clients by the name the SDK gives them (context.clientName), to IAM service prefixes. */
const CLIENTS: Record<string, string> = {
  S3Client: 's3',
  DynamoDBClient: 'dynamodb',
  SQSClient: 'sqs',
  SNSClient: 'sns',
  LambdaClient: 'lambda',
  STSClient: 'sts',
  KMSClient: 'kms',
  CloudWatchClient: 'cloudwatch',
  CloudWatchLogsClient: 'logs',
  XRayClient: 'xray',
  IAMClient: 'iam',
};

/** Adds the recording middleware to `client`; every call it sends from now on lands in `recorder`. */
export function recordCalls<I extends object, O extends MetadataBearer, C extends RecordableClient<I, O>>(
  client: C & RecordableClient<I, O>,
  recorder: CallRecorder,
  options: RecordOptions,
): C {
  const middleware: BuildMiddleware<I, O> = (next, context) => async (args) => {
    const region = client.config.region;
    const clientName = context.clientName ?? 'UnknownClient';
    const request = args.request as { protocol?: string } | undefined;
    recorder.record(
      ...mapCall(
        CLIENTS[clientName] ?? clientName.replace(/Client$/, '').toLowerCase(),
        (context.commandName ?? 'Unknown').replace(/Command$/, ''),
        args.input as Record<string, unknown>,
        {
          ...options,
          region: typeof region === 'function' ? await region() : (region ?? 'us-east-1'),
          secure: request?.protocol === 'https:',
        },
      ),
    );
    return next(args);
  };
  client.middlewareStack.add(middleware, { step: 'build', name: 'iamCallRecorder', override: true });
  return client;
}

// ---------------------------------------------------------------------------------------------
// The mapping table: SDK operation -> IAM action(s) and resource ARN(s). Actions and ARN formats from
// the Service Authorization Reference ("Actions, resources, and condition keys for <service>").
// ---------------------------------------------------------------------------------------------

type Input = Record<string, unknown>;
interface Need {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string>;
  readonly noPermissionRequired?: boolean;
}
type Mapper = (input: Input, env: CallEnvironment) => Need[];

const str = (input: Input, name: string): string => {
  const value = input[name];
  if (typeof value !== 'string' || value === '') throw new Error(`The call has no ${name}`);
  return value;
};
const opt = (input: Input, name: string) => (typeof input[name] === 'string' ? (input[name] as string) : undefined);
const p = (env: CallEnvironment) => env.partition ?? 'aws';
const regional = (env: CallEnvironment, service: string, resource: string) =>
  `arn:${p(env)}:${service}:${env.region}:${env.account}:${resource}`;
const on =
  (action: string, resource: (input: Input, env: CallEnvironment) => string): Mapper =>
  (input, env) => [{ action, resource: resource(input, env) }];
/** Actions that support no resource-level permission: Resource "*". */
const everywhere =
  (action: string): Mapper =>
  () => [{ action, resource: '*' }];

// S3: objects are arn:aws:s3:::bucket/key with the key as is (spaces, unicode): IAM matches the raw key.
const bucketArn = (input: Input, env: CallEnvironment) => `arn:${p(env)}:s3:::${str(input, 'Bucket')}`;
const objectArn = (input: Input, env: CallEnvironment) => `${bucketArn(input, env)}/${str(input, 'Key')}`;
/** s3:<verb>Object<rest> or, with a VersionId, s3:<verb>ObjectVersion<rest> (GetObjectVersionTagging). */
const versioned =
  (verb: string, rest = ''): Mapper =>
  (input, env) => {
    const version = opt(input, 'VersionId');
    return [
      {
        action: `s3:${verb}Object${version ? 'Version' : ''}${rest}`,
        resource: objectArn(input, env),
        context: version ? { 's3:versionid': version } : undefined,
      },
    ];
  };
/** A listing of the bucket; the prefix asked for is s3:prefix (ListBucket and ListBucketVersions both take it). */
const listing =
  (action: string): Mapper =>
  (input, env) => [
    {
      action,
      resource: bucketArn(input, env),
      context: opt(input, 'Prefix') ? { 's3:prefix': str(input, 'Prefix') } : undefined,
    },
  ];
const S3: Record<string, Mapper> = {
  HeadObject: versioned('Get'),
  GetObject: versioned('Get'),
  GetObjectTagging: versioned('Get', 'Tagging'),
  GetObjectAcl: versioned('Get', 'Acl'),
  GetObjectAttributes: (i, e) => [...versioned('Get')(i, e), ...versioned('Get', 'Attributes')(i, e)],
  PutObjectTagging: versioned('Put', 'Tagging'),
  DeleteObjectTagging: versioned('Delete', 'Tagging'),
  DeleteObject: versioned('Delete'),
  DeleteObjects: (input, env) =>
    ((input.Delete as { Objects?: Input[] } | undefined)?.Objects ?? []).flatMap((o) =>
      versioned('Delete')({ ...o, Bucket: input.Bucket }, env),
    ),
  PutObject: (i, e) => [
    { action: 's3:PutObject', resource: objectArn(i, e) },
    ...(opt(i, 'Tagging') ? [{ action: 's3:PutObjectTagging', resource: objectArn(i, e) }] : []),
  ],
  CopyObject: (input, env) => {
    const [source, version] = decodeURIComponent(str(input, 'CopySource')).replace(/^\//, '').split('?versionId=');
    const slash = source.indexOf('/');
    const from = { Bucket: source.slice(0, slash), Key: source.slice(slash + 1), VersionId: version };
    return [...versioned('Get')(from, env), { action: 's3:PutObject', resource: objectArn(input, env) }];
  },
  CreateMultipartUpload: on('s3:PutObject', objectArn),
  UploadPart: on('s3:PutObject', objectArn),
  CompleteMultipartUpload: on('s3:PutObject', objectArn),
  AbortMultipartUpload: on('s3:AbortMultipartUpload', objectArn),
  ListObjects: listing('s3:ListBucket'),
  ListObjectsV2: listing('s3:ListBucket'),
  // tap reconcile: the whole listing, and one key's versions again (Prefix = the key).
  ListObjectVersions: listing('s3:ListBucketVersions'),
  ListMultipartUploads: on('s3:ListBucketMultipartUploads', bucketArn),
  HeadBucket: on('s3:ListBucket', bucketArn),
  CreateBucket: on('s3:CreateBucket', bucketArn),
  DeleteBucket: on('s3:DeleteBucket', bucketArn),
  ListBuckets: everywhere('s3:ListAllMyBuckets'),
  GetBucketLocation: on('s3:GetBucketLocation', bucketArn),
  GetBucketVersioning: on('s3:GetBucketVersioning', bucketArn),
  PutBucketVersioning: on('s3:PutBucketVersioning', bucketArn),
  GetBucketPolicy: on('s3:GetBucketPolicy', bucketArn),
  PutBucketPolicy: on('s3:PutBucketPolicy', bucketArn),
  GetBucketEncryption: on('s3:GetEncryptionConfiguration', bucketArn),
  PutBucketEncryption: on('s3:PutEncryptionConfiguration', bucketArn),
  GetBucketNotificationConfiguration: on('s3:GetBucketNotification', bucketArn),
  GetBucketTagging: on('s3:GetBucketTagging', bucketArn),
  PutBucketNotificationConfiguration: on('s3:PutBucketNotification', bucketArn),
};

// DynamoDB: arn:aws:dynamodb:region:account:table/name[/index/name]; TableName may be an ARN.
const tableArn = (name: string, env: CallEnvironment) =>
  name.startsWith('arn:') ? name : regional(env, 'dynamodb', `table/${name}`);
const onTable =
  (action: string): Mapper =>
  (input, env) => {
    const table = tableArn(str(input, 'TableName'), env);
    const index = opt(input, 'IndexName');
    return [{ action: `dynamodb:${action}`, resource: index ? `${table}/index/${index}` : table }];
  };
const perTable =
  (action: string): Mapper =>
  (input, env) =>
    Object.keys((input.RequestItems ?? {}) as Input).map((t) => ({
      action: `dynamodb:${action}`,
      resource: tableArn(t, env),
    }));
const TRANSACT: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};
const transact: Mapper = (input, env) =>
  ((input.TransactItems ?? []) as Record<string, Input>[]).flatMap((item) =>
    Object.entries(item).map(([kind, body]) => ({
      action: `dynamodb:${TRANSACT[kind]}`,
      resource: tableArn(str(body, 'TableName'), env),
    })),
  );
const DYNAMODB: Record<string, Mapper> = {
  ...Object.fromEntries(
    [
      'PutItem',
      'GetItem',
      'UpdateItem',
      'DeleteItem',
      'Query',
      'Scan',
      'DescribeTable',
      'CreateTable',
      'DeleteTable',
      'UpdateTable',
      'DescribeTimeToLive',
      'UpdateTimeToLive',
      'DescribeContinuousBackups',
    ].map((op) => [op, onTable(op)]),
  ),
  ListTagsOfResource: on('dynamodb:ListTagsOfResource', (i) => str(i, 'ResourceArn')),
  BatchWriteItem: perTable('BatchWriteItem'),
  BatchGetItem: perTable('BatchGetItem'),
  TransactWriteItems: transact,
  TransactGetItems: transact,
  ListTables: everywhere('dynamodb:ListTables'),
};

// SQS: the queue ARN from the queue URL (AWS's or a stand-in's).
const queueArn = (input: Input, env: CallEnvironment) =>
  queueArnFromUrl(str(input, 'QueueUrl'), { partition: p(env), region: env.region });
const queueByName = (input: Input, env: CallEnvironment) =>
  `arn:${p(env)}:sqs:${env.region}:${opt(input, 'QueueOwnerAWSAccountId') ?? env.account}:${str(input, 'QueueName')}`;
const SQS: Record<string, Mapper> = {
  SendMessage: on('sqs:SendMessage', queueArn),
  SendMessageBatch: on('sqs:SendMessage', queueArn),
  ReceiveMessage: on('sqs:ReceiveMessage', queueArn),
  DeleteMessage: on('sqs:DeleteMessage', queueArn),
  DeleteMessageBatch: on('sqs:DeleteMessage', queueArn),
  ChangeMessageVisibility: on('sqs:ChangeMessageVisibility', queueArn),
  ChangeMessageVisibilityBatch: on('sqs:ChangeMessageVisibility', queueArn),
  GetQueueAttributes: on('sqs:GetQueueAttributes', queueArn),
  SetQueueAttributes: on('sqs:SetQueueAttributes', queueArn),
  PurgeQueue: on('sqs:PurgeQueue', queueArn),
  DeleteQueue: on('sqs:DeleteQueue', queueArn),
  ListDeadLetterSourceQueues: on('sqs:ListDeadLetterSourceQueues', queueArn),
  ListQueueTags: on('sqs:ListQueueTags', queueArn),
  GetQueueUrl: on('sqs:GetQueueUrl', queueByName),
  CreateQueue: on('sqs:CreateQueue', queueByName),
  ListQueues: everywhere('sqs:ListQueues'),
};

const topicArn = (input: Input) => opt(input, 'TopicArn') ?? str(input, 'TargetArn');
const SNS: Record<string, Mapper> = {
  Publish: on('sns:Publish', topicArn),
  PublishBatch: on('sns:Publish', topicArn),
  Subscribe: on('sns:Subscribe', topicArn),
  GetTopicAttributes: on('sns:GetTopicAttributes', topicArn),
  ListSubscriptionsByTopic: on('sns:ListSubscriptionsByTopic', topicArn),
  CreateTopic: on('sns:CreateTopic', (i, e) => regional(e, 'sns', str(i, 'Name'))),
  ListTagsForResource: on('sns:ListTagsForResource', (i) => str(i, 'ResourceArn')),
  ListTopics: everywhere('sns:ListTopics'),
};

// Lambda: FunctionName is a name, an ARN or a partial ARN; a Qualifier names a version or alias.
const functionArn = (input: Input, env: CallEnvironment) => {
  const name = str(input, 'FunctionName');
  const base = name.startsWith('arn:')
    ? name
    : name.includes(':function:')
      ? `arn:${p(env)}:lambda:${env.region}:${name}`
      : regional(env, 'lambda', `function:${name}`);
  const qualifier = opt(input, 'Qualifier');
  return qualifier ? `${base}:${qualifier}` : base;
};
const LAMBDA: Record<string, Mapper> = {
  ...Object.fromEntries(
    [
      'GetFunction',
      'GetFunctionConfiguration',
      'UpdateFunctionCode',
      'UpdateFunctionConfiguration',
      'DeleteFunction',
      'GetPolicy',
      'AddPermission',
      'RemovePermission',
      'PutFunctionEventInvokeConfig',
      'GetFunctionEventInvokeConfig',
      'GetFunctionConcurrency',
    ].map((op) => [op, on(`lambda:${op}`, functionArn)]),
  ),
  GetAccountSettings: everywhere('lambda:GetAccountSettings'),
  Invoke: on('lambda:InvokeFunction', functionArn),
  InvokeAsync: on('lambda:InvokeFunction', functionArn),
  CreateFunction: (input, env) => [
    { action: 'lambda:CreateFunction', resource: functionArn(input, env) },
    {
      action: 'iam:PassRole',
      resource: str(input, 'Role'),
      context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
    },
  ],
  ListFunctions: everywhere('lambda:ListFunctions'),
  ListEventSourceMappings: everywhere('lambda:ListEventSourceMappings'),
};

const STS: Record<string, Mapper> = {
  // "No permissions are required to perform this operation" (GetCallerIdentity API reference).
  GetCallerIdentity: () => [{ action: 'sts:GetCallerIdentity', resource: '*', noPermissionRequired: true }],
  AssumeRole: (input) => [
    { action: 'sts:AssumeRole', resource: str(input, 'RoleArn') },
    ...(input.Tags || input.TransitiveTagKeys ? [{ action: 'sts:TagSession', resource: str(input, 'RoleArn') }] : []),
    ...(opt(input, 'SourceIdentity') ? [{ action: 'sts:SetSourceIdentity', resource: str(input, 'RoleArn') }] : []),
  ],
};

// KMS: KeyId is a key id, key ARN, alias name or alias ARN. Decrypt may omit it (the ciphertext names
// the key): the resource is then "*", which only a Resource "*" statement matches.
const keyArn = (id: string | undefined, env: CallEnvironment) =>
  id === undefined
    ? '*'
    : id.startsWith('arn:')
      ? id
      : regional(env, 'kms', id.startsWith('alias/') ? id : `key/${id}`);
const kmsContext = (input: Input, env: CallEnvironment) => ({
  'kms:CallerAccount': env.account,
  ...Object.fromEntries(
    Object.entries((input.EncryptionContext ?? {}) as Record<string, string>).map(([k, v]) => [
      `kms:EncryptionContext:${k}`,
      v,
    ]),
  ),
});
const onKey =
  (action: string, field = 'KeyId'): Mapper =>
  (input, env) => [{ action, resource: keyArn(opt(input, field), env), context: kmsContext(input, env) }];
const KMS: Record<string, Mapper> = {
  ...Object.fromEntries(
    [
      'Encrypt',
      'Decrypt',
      'GenerateDataKey',
      'GenerateDataKeyWithoutPlaintext',
      'DescribeKey',
      'CreateGrant',
      'GetKeyPolicy',
      'GetKeyRotationStatus',
      'ListResourceTags',
    ].map((op) => [op, onKey(`kms:${op}`)]),
  ),
  ReEncrypt: (i, e) => [
    ...onKey('kms:ReEncryptFrom', 'SourceKeyId')(i, e),
    ...onKey('kms:ReEncryptTo', 'DestinationKeyId')(i, e),
  ],
  ListAliases: everywhere('kms:ListAliases'),
  ListKeys: everywhere('kms:ListKeys'),
};

const alarmArn = (name: string, env: CallEnvironment) => regional(env, 'cloudwatch', `alarm:${name}`);
const CLOUDWATCH: Record<string, Mapper> = {
  PutMetricData: (input) => [
    { action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': str(input, 'Namespace') } },
  ],
  GetMetricData: everywhere('cloudwatch:GetMetricData'),
  GetMetricStatistics: everywhere('cloudwatch:GetMetricStatistics'),
  ListMetrics: everywhere('cloudwatch:ListMetrics'),
  DescribeAlarms: everywhere('cloudwatch:DescribeAlarms'),
  PutMetricAlarm: on('cloudwatch:PutMetricAlarm', (i, e) => alarmArn(str(i, 'AlarmName'), e)),
  SetAlarmState: on('cloudwatch:SetAlarmState', (i, e) => alarmArn(str(i, 'AlarmName'), e)),
  DeleteAlarms: (i, e) =>
    ((i.AlarmNames ?? []) as string[]).map((n) => ({ action: 'cloudwatch:DeleteAlarms', resource: alarmArn(n, e) })),
  ListTagsForResource: on('cloudwatch:ListTagsForResource', (i) => str(i, 'ResourceARN')),
  GetDashboard: on(
    'cloudwatch:GetDashboard',
    (i, e) => `arn:${p(e)}:cloudwatch::${e.account}:dashboard/${str(i, 'DashboardName')}`,
  ),
};

// CloudWatch Logs authorizes log-group actions on "log-group:NAME:*" (hence the ":*" in Lambda's own
// policies) and stream actions on "log-group:NAME:log-stream:STREAM".
const logGroupArn = (input: Input, env: CallEnvironment) =>
  regional(env, 'logs', `log-group:${str(input, 'logGroupName')}:*`);
const logStreamArn = (input: Input, env: CallEnvironment) =>
  regional(env, 'logs', `log-group:${str(input, 'logGroupName')}:log-stream:${str(input, 'logStreamName')}`);
const LOGS: Record<string, Mapper> = {
  CreateLogGroup: on('logs:CreateLogGroup', logGroupArn),
  DeleteLogGroup: on('logs:DeleteLogGroup', logGroupArn),
  DescribeLogStreams: on('logs:DescribeLogStreams', logGroupArn),
  FilterLogEvents: on('logs:FilterLogEvents', logGroupArn),
  CreateLogStream: on('logs:CreateLogStream', logStreamArn),
  PutLogEvents: on('logs:PutLogEvents', logStreamArn),
  GetLogEvents: on('logs:GetLogEvents', logStreamArn),
  DescribeLogGroups: everywhere('logs:DescribeLogGroups'),
  ListTagsLogGroup: on('logs:ListTagsLogGroup', logGroupArn),
  // The log group's ARN without ":*" (the form ListTagsForResource takes).
  ListTagsForResource: on('logs:ListTagsForResource', (i) => str(i, 'resourceArn')),
};

// IAM: roles and policies by name or ARN, in the caller's account (IAM is global: no region).
const iamArn = (env: CallEnvironment, kind: string, name: string) =>
  `arn:${p(env)}:iam::${env.account}:${kind}/${name}`;
const IAM: Record<string, Mapper> = {
  GetRole: on('iam:GetRole', (i, e) => iamArn(e, 'role', str(i, 'RoleName'))),
  ListRoleTags: on('iam:ListRoleTags', (i, e) => iamArn(e, 'role', str(i, 'RoleName'))),
  GetPolicy: on('iam:GetPolicy', (i) => str(i, 'PolicyArn')),
  ListPolicyTags: on('iam:ListPolicyTags', (i) => str(i, 'PolicyArn')),
};

const XRAY: Record<string, Mapper> = Object.fromEntries(
  ['PutTraceSegments', 'PutTelemetryRecords', 'GetSamplingRules', 'GetSamplingTargets'].map((op) => [
    op,
    everywhere(`xray:${op}`),
  ]),
);

const MAPPINGS: Record<string, Record<string, Mapper>> = {
  s3: S3,
  dynamodb: DYNAMODB,
  sqs: SQS,
  sns: SNS,
  lambda: LAMBDA,
  sts: STS,
  kms: KMS,
  cloudwatch: CLOUDWATCH,
  logs: LOGS,
  xray: XRAY,
  iam: IAM,
};

/** The calls one SDK call stands for: its own (one per permission it needs) and the implied ones. */
export function mapCall(service: string, operation: string, input: Input, env: CallEnvironment): RecordedCall[] {
  const mapper = MAPPINGS[service]?.[operation];
  const base = {
    'aws:SecureTransport': String(env.secure),
    'aws:RequestedRegion': env.region,
    ...(service === 's3' && env.secure ? { 's3:TlsVersion': tls.DEFAULT_MIN_VERSION.replace(/^TLSv/, '') } : {}),
    ...(env.sourceFunctionArn ? { 'lambda:SourceFunctionArn': env.sourceFunctionArn } : {}),
  };
  if (!mapper) {
    return [
      {
        service,
        operation,
        context: base,
        mapped: false,
        note: `${service} ${operation} is not in the recorder's mapping table`,
      },
    ];
  }
  let needs: Need[];
  try {
    needs = mapper(input, env);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return [
      { service, operation, context: base, mapped: false, note: `${service} ${operation} cannot be mapped: ${why}` },
    ];
  }
  const own = needs.map((need): RecordedCall => ({
    service,
    operation,
    action: need.action,
    resource: need.resource,
    context: { ...base, ...need.context },
    mapped: true,
    ...(need.noPermissionRequired ? { noPermissionRequired: true } : {}),
  }));
  return [...own, ...impliedCalls(service, operation, input, env, own)];
}

// ---------------------------------------------------------------------------------------------
// Implied calls: what AWS calls on the caller's behalf (or its own) because of a call.
// ---------------------------------------------------------------------------------------------

interface Implied {
  readonly actions: string[];
  readonly key: string;
  readonly context: Record<string, string>;
  readonly note: string;
  readonly principal?: string;
}

function impliedCalls(
  service: string,
  operation: string,
  input: Input,
  env: CallEnvironment,
  own: RecordedCall[],
): RecordedCall[] {
  const facts = env.encryption ?? {};
  const via = (s: string) => ({
    'kms:ViaService': `${s}.${env.region}.amazonaws.com`,
    'kms:CallerAccount': env.account,
  });
  const out: Implied[] = [];
  const S3_DOC = 'docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html';

  if (service === 's3') {
    const s3Kms = (bucket: string, key: string, actions: string[], why: string) => {
      const sse = facts.buckets?.[bucket];
      if (!sse) return;
      const bucketArnValue = `arn:${p(env)}:s3:::${bucket}`;
      // With an S3 Bucket Key the encryption context is the bucket ARN, else the object ARN (bucket-key.html).
      const arn = sse.bucketKey ? bucketArnValue : `${bucketArnValue}/${key}`;
      out.push({
        actions,
        key: sse.keyArn,
        context: { ...via('s3'), 'kms:EncryptionContext:aws:s3:arn': arn },
        note: `${why} (${S3_DOC})`,
      });
    };
    const bucket = opt(input, 'Bucket');
    const key = opt(input, 'Key') ?? '';
    // Download of an SSE-KMS object: kms:Decrypt (UsingKMSEncryption.html).
    if (bucket && operation === 'GetObject') s3Kms(bucket, key, ['kms:Decrypt'], 'S3 decrypts the object data key');
    // HEAD needs kms:Decrypt only to return the checksum (API_HeadObject.html, ChecksumMode).
    if (bucket && operation === 'HeadObject' && input.ChecksumMode === 'ENABLED') {
      s3Kms(
        bucket,
        key,
        ['kms:Decrypt'],
        'HeadObject with ChecksumMode ENABLED returns the checksum of an SSE-KMS object',
      );
    }
    // Upload: kms:GenerateDataKey (UsingKMSEncryption.html); multipart parts also kms:Decrypt (mpuoverview.html#mpuAndPermissions).
    if (bucket && ['PutObject', 'CreateMultipartUpload'].includes(operation))
      s3Kms(bucket, key, ['kms:GenerateDataKey'], 'S3 encrypts the new object');
    if (bucket && ['UploadPart', 'CompleteMultipartUpload'].includes(operation))
      s3Kms(bucket, key, ['kms:Decrypt'], 'S3 decrypts the upload data key');
    if (operation === 'CopyObject') {
      const source =
        own.find((c) => c.action?.startsWith('s3:GetObject'))?.resource?.replace(/^arn:[^:]+:s3:::/, '') ?? '';
      s3Kms(
        source.slice(0, source.indexOf('/')),
        source.slice(source.indexOf('/') + 1),
        ['kms:Decrypt'],
        'S3 decrypts the copy source',
      );
      if (bucket) s3Kms(bucket, key, ['kms:GenerateDataKey'], 'S3 encrypts the copy');
    }
  }
  if (
    service === 'dynamodb' &&
    ![
      'DescribeTable',
      'CreateTable',
      'DeleteTable',
      'UpdateTable',
      'ListTables',
      'ListTagsOfResource',
      'DescribeTimeToLive',
      'UpdateTimeToLive',
      'DescribeContinuousBackups',
    ].includes(operation)
  ) {
    // Accessing a table under a customer managed key: DynamoDB calls kms:Decrypt for the table key as
    // the caller, context aws:dynamodb:tableName + subscriberId (KMS guide, services-dynamodb.html).
    for (const call of own) {
      const name = call.resource?.replace(/^.*:table\/([^/]+).*$/, '$1') ?? '';
      const key = facts.tables?.[name];
      if (!key || out.some((o) => o.context['kms:EncryptionContext:aws:dynamodb:tableName'] === name)) continue;
      out.push({
        actions: ['kms:Decrypt'],
        key,
        context: {
          ...via('dynamodb'),
          'kms:EncryptionContext:aws:dynamodb:tableName': name,
          'kms:EncryptionContext:aws:dynamodb:subscriberId': env.account,
        },
        note: 'DynamoDB decrypts the table key on the caller’s behalf (docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html)',
      });
    }
  }
  if (service === 'sqs') {
    const queue = own[0]?.resource ?? '';
    const key = facts.queues?.[queue];
    const context = { ...via('sqs'), 'kms:EncryptionContext:aws:sqs:arn': queue };
    const doc = 'docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html';
    // Producers need kms:GenerateDataKey and kms:Decrypt (the new data key is verified); consumers kms:Decrypt.
    if (key && ['SendMessage', 'SendMessageBatch'].includes(operation)) {
      out.push({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        key,
        context,
        note: `SQS encrypts the message (${doc})`,
      });
    }
    if (key && operation === 'ReceiveMessage')
      out.push({ actions: ['kms:Decrypt'], key, context, note: `SQS decrypts the message (${doc})` });
  }
  if (service === 'sns' && ['Publish', 'PublishBatch'].includes(operation)) {
    const topic = own[0]?.resource ?? '';
    const key = facts.topics?.[topic];
    // Publishers to an encrypted topic need kms:GenerateDataKey* and kms:Decrypt (SNS guide, sns-key-management.html).
    if (key) {
      out.push({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        key,
        context: { ...via('sns'), 'kms:EncryptionContext:aws:sns:topicArn': topic },
        note: 'SNS encrypts the message (docs.aws.amazon.com/sns/latest/dg/sns-key-management.html)',
      });
    }
  }
  if (
    service === 'lambda' &&
    ['CreateFunction', 'UpdateFunctionConfiguration'].includes(operation) &&
    opt(input, 'KMSKeyArn')
  ) {
    // "Lambda uses your permissions to create a grant on the key": kms:CreateGrant and kms:Encrypt for the
    // deployer; at run time Lambda decrypts through that grant, the execution role needs nothing
    // (Lambda guide, configuration-envvars.html#configuration-envvars-encryption).
    out.push({
      actions: ['kms:CreateGrant', 'kms:Encrypt'],
      key: str(input, 'KMSKeyArn'),
      context: via('lambda'),
      note: 'Lambda creates a grant to encrypt the environment (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html)',
    });
  }
  if (service === 'logs' && ['PutLogEvents', 'GetLogEvents', 'FilterLogEvents'].includes(operation)) {
    const group = opt(input, 'logGroupName') ?? '';
    const key = facts.logGroups?.[group];
    // CloudWatch Logs itself (the regional service principal) uses the key, context aws:logs:arn = the
    // log group ARN (CloudWatch Logs guide, encrypt-log-data-kms.html).
    if (key) {
      out.push({
        actions: [operation === 'PutLogEvents' ? 'kms:GenerateDataKey' : 'kms:Decrypt'],
        key,
        principal: `logs.${env.region}.amazonaws.com`,
        context: {
          'kms:EncryptionContext:aws:logs:arn': regional(env, 'logs', `log-group:${group}`),
          'aws:SourceAccount': env.account,
        },
        note: 'CloudWatch Logs encrypts log events with the group key (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)',
      });
    }
  }
  return out.flatMap((implied) =>
    implied.actions.map((action): RecordedCall => ({
      service: 'kms',
      operation: action.replace(/^kms:/, ''),
      action,
      resource: implied.key,
      context: { 'aws:SecureTransport': 'true', 'aws:RequestedRegion': env.region, ...implied.context },
      implied: true,
      mapped: true,
      ...(implied.principal ? { principal: implied.principal } : {}),
      note: implied.note,
    })),
  );
}
