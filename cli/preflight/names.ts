// Whether each name the stack will create is free, or already this stack's. One read-only call per
// resource type tells existence, and its tags (the provider's default_tags: Project, Environment,
// ManagedBy=cdktf) tell whose it is. Where a resource has no tags of its own, other evidence is named.
import { GetBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { IAMClient, ListPolicyTagsCommand, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetDashboardCommand,
  ListTagsForResourceCommand as ListAlarmTagsCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  ListTagsForResourceCommand as ListLogGroupTagsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeKeyCommand, KMSClient, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { GetQueueUrlCommand, ListQueueTagsCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  GetTopicAttributesCommand,
  ListTagsForResourceCommand as ListTopicTagsCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { DescribeTableCommand, DynamoDBClient, ListTagsOfResourceCommand } from '@aws-sdk/client-dynamodb';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { arn, pipelineSignals, ResourceNames, TapConfig } from '../../config';
import type { Identity } from './account';
import { CheckResult, fail, guarded, headBucket, isError, pass, warn } from './results';

export interface NameClients {
  readonly s3: S3Client;
  readonly iam: IAMClient;
  readonly cloudwatch: CloudWatchClient;
  readonly logs: CloudWatchLogsClient;
  readonly kms: KMSClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  readonly dynamodb: DynamoDBClient;
  readonly lambda: LambdaClient;
}

type Config = Pick<
  TapConfig,
  'project' | 'environment' | 'region' | 'lambdaTimeoutSeconds' | 'tableWriteCapacity' | 'existingBucketName'
>;
type Tags = Record<string, string>;
type TagList = readonly { Key?: string; Value?: string }[] | undefined;

/** Whose an existing resource is, and what says so. */
export interface Ownership {
  readonly ours: boolean;
  readonly evidence: string;
}

type ByTags = (tags: Tags) => Ownership;

/** A name check's result, with what it found for the state check that follows. */
export interface NameCheck {
  readonly result: CheckResult;
  /** Names found and judged this stack's. */
  readonly ours: readonly string[];
}

/** The tags the provider's default_tags put on everything the stack creates that takes tags. */
export const stackTags = (config: Pick<TapConfig, 'project' | 'environment'>): Tags => ({
  Project: config.project,
  Environment: config.environment,
  ManagedBy: 'cdktf',
});

export function ownershipByTags(tags: Tags, config: Pick<TapConfig, 'project' | 'environment'>, of = 'tags') {
  const expected = stackTags(config);
  const ours = Object.entries(expected).every(([key, value]) => tags[key] === value);
  const shown = Object.keys(expected)
    .map((key) => `${key}=${tags[key] ?? '(none)'}`)
    .join(', ');
  return { ours, evidence: `${of} ${shown}` };
}

const fromList = (tags: TagList): Tags => Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

/** The alarm names the stack gives the pipeline's signals, from config/ like the stack's own. */
export const alarmNames = (config: Config, names: ResourceNames): string[] =>
  pipelineSignals(config, names).map((signal) => signal.alarmName);

/** Pure: whether a dashboard body draws this stack's function (the stack's dashboard has no tags). */
export function dashboardDrawsFunction(body: string | undefined, functionName: string): boolean {
  let widgets: unknown;
  try {
    widgets = (JSON.parse(body ?? '{}') as { widgets?: unknown }).widgets;
  } catch {
    return false;
  }
  if (!Array.isArray(widgets)) return false;
  return widgets.some((widget: { properties?: { metrics?: unknown } }) => {
    const metrics = widget?.properties?.metrics;
    return (
      Array.isArray(metrics) &&
      metrics.some((m) => Array.isArray(m) && m.some((v, i) => v === 'FunctionName' && m[i + 1] === functionName))
    );
  });
}

/** One resource name: how to look it up (undefined: the name is free) and what creating it would do. */
interface NamedResource {
  readonly id: string;
  readonly what: string;
  readonly name: string;
  /** The IAM actions the lookup needs, for a denied call. */
  readonly calls: string;
  readonly lookup: () => Promise<Ownership | undefined>;
  /** What `cdktf deploy` would run into. */
  readonly clash: string;
  readonly fix?: string;
}

/** Every name the stack creates, in the order of the README's diagram. */
export function namedResources(
  clients: NameClients,
  config: Config,
  names: ResourceNames,
  identity: Identity,
): NamedResource[] {
  const { account, partition } = identity;
  const { region } = config;
  const byTags = (tags: Tags, of?: string) => ownershipByTags(tags, config, of);
  const bucket = names.bucketName(account, region);
  const policyArn = arn(partition, 'iam', '', account, `policy/${names.uploadersPolicyName}`);
  const topicArn = arn(partition, 'sns', region, account, names.topicName);
  return [
    {
      id: 'name:bucket',
      what: 'S3 bucket',
      name: bucket,
      calls: 's3:ListBucket (HeadBucket) and s3:GetBucketTagging',
      lookup: () => bucketOwnership(clients.s3, bucket, byTags),
      clash: 'bucket names are global across all accounts: CreateBucket would fail (BucketAlreadyExists)',
    },
    {
      id: 'name:role',
      what: 'IAM role',
      name: names.roleName,
      calls: 'iam:ListRoleTags',
      lookup: () =>
        orFree(
          clients.iam.send(new ListRoleTagsCommand({ RoleName: names.roleName })).then((r) => byTags(fromList(r.Tags))),
          'NoSuchEntityException',
          'NoSuchEntity',
        ),
      clash: 'CreateRole would fail (EntityAlreadyExists)',
    },
    {
      id: 'name:uploaders-policy',
      what: 'IAM policy',
      name: names.uploadersPolicyName,
      calls: 'iam:ListPolicyTags',
      lookup: () =>
        orFree(
          clients.iam.send(new ListPolicyTagsCommand({ PolicyArn: policyArn })).then((r) => byTags(fromList(r.Tags))),
          'NoSuchEntityException',
          'NoSuchEntity',
        ),
      clash: 'CreatePolicy would fail (EntityAlreadyExists)',
    },
    {
      id: 'name:dashboard',
      what: 'CloudWatch dashboard',
      name: names.dashboardName,
      calls: 'cloudwatch:GetDashboard',
      // hashicorp/aws 5.100.0's aws_cloudwatch_dashboard takes no tags, so default_tags never reach it:
      // the body is the evidence (the stack's dashboard draws its function's metrics).
      lookup: () =>
        orFree(
          clients.cloudwatch.send(new GetDashboardCommand({ DashboardName: names.dashboardName })).then((r) => {
            const draws = dashboardDrawsFunction(r.DashboardBody, names.functionName);
            return { ours: draws, evidence: `its widgets ${draws ? 'draw' : 'do not draw'} ${names.functionName}` };
          }),
          'ResourceNotFound',
          'ResourceNotFoundException',
        ),
      clash: 'PutDashboard would silently replace it',
    },
    {
      id: 'name:key-alias',
      what: 'KMS alias',
      name: names.keyAlias,
      calls: 'kms:DescribeKey and kms:ListResourceTags',
      // Aliases take no tags: the key an alias points to carries the stack's tags.
      lookup: () =>
        orFree(
          clients.kms.send(new DescribeKeyCommand({ KeyId: names.keyAlias })).then(async ({ KeyMetadata }) => {
            const { Tags } = await clients.kms.send(new ListResourceTagsCommand({ KeyId: KeyMetadata?.KeyId }));
            const tags = Object.fromEntries((Tags ?? []).map((t) => [t.TagKey ?? '', t.TagValue ?? '']));
            return byTags(tags, `aliases have no tags; its key ${KeyMetadata?.KeyId} (${KeyMetadata?.KeyState}) has`);
          }),
          'NotFoundException',
        ),
      clash: 'CreateAlias would fail (AlreadyExistsException)',
    },
    {
      id: 'name:queue',
      what: 'SQS queue',
      name: names.queueName,
      calls: 'sqs:GetQueueUrl and sqs:ListQueueTags',
      lookup: () =>
        orFree(
          clients.sqs.send(new GetQueueUrlCommand({ QueueName: names.queueName })).then(async ({ QueueUrl }) => {
            const { Tags } = await clients.sqs.send(new ListQueueTagsCommand({ QueueUrl }));
            return byTags(Tags ?? {});
          }),
          'QueueDoesNotExist',
          'AWS.SimpleQueueService.NonExistentQueue',
        ),
      clash: 'CreateQueue would fail where its attributes differ (QueueAlreadyExists) and adopt it otherwise',
    },
    {
      id: 'name:topic',
      what: 'SNS topic',
      name: names.topicName,
      calls: 'sns:GetTopicAttributes and sns:ListTagsForResource',
      lookup: () =>
        orFree(
          clients.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn })).then(async () => {
            const { Tags } = await clients.sns.send(new ListTopicTagsCommand({ ResourceArn: topicArn }));
            return byTags(fromList(Tags));
          }),
          'NotFoundException',
          'NotFound',
        ),
      clash: 'CreateTopic would adopt it (or fail where its tags differ)',
    },
    {
      id: 'name:table',
      what: 'DynamoDB table',
      name: names.tableName,
      calls: 'dynamodb:DescribeTable and dynamodb:ListTagsOfResource',
      lookup: () =>
        orFree(
          clients.dynamodb.send(new DescribeTableCommand({ TableName: names.tableName })).then(async ({ Table }) => {
            const { Tags } = await clients.dynamodb.send(
              new ListTagsOfResourceCommand({ ResourceArn: Table?.TableArn }),
            );
            return byTags(fromList(Tags));
          }),
          'ResourceNotFoundException',
        ),
      clash: 'CreateTable would fail (ResourceInUseException)',
    },
    {
      id: 'name:function',
      what: 'Lambda function',
      name: names.functionName,
      calls: 'lambda:GetFunction and lambda:ListTags',
      lookup: () =>
        orFree(
          clients.lambda.send(new GetFunctionCommand({ FunctionName: names.functionName })).then((r) => {
            // GetFunction returns tags only to principals allowed lambda:ListTags.
            if (!r.Tags && r.TagsError)
              throw Object.assign(new Error(r.TagsError.Message), { name: r.TagsError.ErrorCode });
            return byTags(r.Tags ?? {});
          }),
          'ResourceNotFoundException',
        ),
      clash: 'CreateFunction would fail (ResourceConflictException)',
    },
    {
      id: 'name:log-group',
      what: 'CloudWatch log group',
      name: names.logGroupName,
      calls: 'logs:DescribeLogGroups and logs:ListTagsForResource',
      lookup: () => logGroupOwnership(clients.logs, names.logGroupName, byTags),
      clash: 'CreateLogGroup would fail (ResourceAlreadyExistsException)',
      fix:
        `Lambda creates this log group, untagged, when a function of this name runs before the stack made it. ` +
        `If its logs are not needed: aws logs delete-log-group --log-group-name ${names.logGroupName} --region ${region}`,
    },
  ];
}

/** A lookup whose call fails with one of `missing` when the name is free. */
async function orFree(lookup: Promise<Ownership>, ...missing: string[]): Promise<Ownership | undefined> {
  try {
    return await lookup;
  } catch (error) {
    if (isError(error, ...missing)) return undefined;
    throw error;
  }
}

/**
 * HeadBucket: 404 is free; 403 is a bucket of another account (bucket names are global); 301 is a
 * bucket in another region. A bucket we can read is ours when its tags say so.
 */
async function bucketOwnership(s3: S3Client, bucket: string, byTags: ByTags): Promise<Ownership | undefined> {
  const found = await headBucket(s3, bucket);
  if (found.state === 'missing') return undefined;
  if (found.state === 'denied')
    return { ours: false, evidence: 'HeadBucket answered 403: it belongs to another account' };
  if (found.state === 'elsewhere')
    return { ours: false, evidence: `HeadBucket answered 301: it is in ${found.region ?? 'another region'}` };
  const tagging = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket })).catch((error: unknown) => {
    if (isError(error, 'NoSuchTagSet', 'NoSuchTagSetError')) return { TagSet: [] };
    throw error;
  });
  return byTags(fromList(tagging.TagSet));
}

/** DescribeLogGroups by prefix (the exact name among the matches), then the group's tags. */
async function logGroupOwnership(logs: CloudWatchLogsClient, name: string, byTags: ByTags) {
  const { logGroups } = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
  const group = logGroups?.find((g) => g.logGroupName === name);
  if (!group) return undefined;
  // ListTagsForResource takes the ARN without the ":*" that DescribeLogGroups' `arn` ends with.
  const resourceArn = group.logGroupArn ?? group.arn?.replace(/:\*$/, '');
  const { tags } = await logs.send(new ListLogGroupTagsCommand({ resourceArn }));
  return byTags(tags ?? {});
}

/** Pure: the check result for one name from its lookup. */
export function judgeName(resource: Pick<NamedResource, 'id' | 'what' | 'name' | 'clash' | 'fix'>, found?: Ownership) {
  const { id, what, name } = resource;
  if (!found) return pass(id, `${what} "${name}" is free`);
  if (found.ours) return pass(id, `${what} "${name}" exists and is this stack's (${found.evidence})`);
  return fail(
    id,
    `${what} "${name}" exists and is not this stack's (${found.evidence}): ${resource.clash}`,
    `${resource.fix ? `${resource.fix}. Or ` : ''}deploy under another project or environment (TAP_PROJECT, TAP_ENVIRONMENT); ` +
      `if it is a leftover of this stack, delete it or import it into the state`,
  );
}

export async function checkName(resource: NamedResource): Promise<NameCheck> {
  let ours: string[] = [];
  const result = await guarded(resource.id, resource.calls, async () => {
    const found = await resource.lookup();
    if (found?.ours) ours = [resource.name];
    return judgeName(resource, found);
  });
  return { result, ours };
}

/** The alarms: one DescribeAlarms for every name, then the tags of those that exist. */
export async function checkAlarms(cloudwatch: CloudWatchClient, alarms: readonly string[], config: Config) {
  const id = 'name:alarms';
  let ours: string[] = [];
  const result = await guarded(id, 'cloudwatch:DescribeAlarms and cloudwatch:ListTagsForResource', async () => {
    const { MetricAlarms } = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [...alarms] }));
    const found = await Promise.all(
      (MetricAlarms ?? []).map(async (alarm) => {
        const { Tags } = await cloudwatch.send(new ListAlarmTagsCommand({ ResourceARN: alarm.AlarmArn }));
        return { name: alarm.AlarmName ?? '', ...ownershipByTags(fromList(Tags), config) };
      }),
    );
    ours = found.filter((a) => a.ours).map((a) => a.name);
    const taken = found.filter((a) => !a.ours);
    if (taken.length > 0) {
      return fail(
        id,
        `${taken.length} of the ${alarms.length} alarm names exist and are not this stack's: ` +
          `${taken.map((a) => `${a.name} (${a.evidence})`).join('; ')}: PutMetricAlarm would silently replace them`,
        'deploy under another project or environment (TAP_PROJECT, TAP_ENVIRONMENT), or delete those alarms: ' +
          `aws cloudwatch delete-alarms --region ${config.region} --alarm-names ${taken.map((a) => a.name).join(' ')}`,
      );
    }
    return pass(
      id,
      ours.length === 0
        ? `the ${alarms.length} alarm names are free`
        : ours.length === alarms.length
          ? `the ${alarms.length} alarms exist and are this stack's (tags Project, Environment, ManagedBy)`
          : `${ours.length} of the ${alarms.length} alarms exist and are this stack's; the others are free`,
    );
  });
  return { result, ours };
}

/** Every name check, in the order of the README's diagram, the alarms after the dashboard. */
export async function nameChecks(
  clients: NameClients,
  config: Config,
  names: ResourceNames,
  identity: Identity,
): Promise<NameCheck[]> {
  // An existing bucket is not created: its checks are existingBucketChecks'.
  const resources = namedResources(clients, config, names, identity).filter(
    (r) => !(config.existingBucketName && r.id === 'name:bucket'),
  );
  const [singles, alarms] = await Promise.all([
    Promise.all(resources.map(checkName)),
    checkAlarms(clients.cloudwatch, alarmNames(config, names), config),
  ]);
  const dashboard = resources.findIndex((r) => r.id === 'name:dashboard');
  return [...singles.slice(0, dashboard + 1), alarms, ...singles.slice(dashboard + 1)];
}

/** Resources of this stack exist, but no state holds them: the apply would try to create them again. */
export function existingResourcesCheck(ours: readonly string[], stateFound: boolean | undefined, where: string) {
  const id = 'state-holds-resources';
  if (ours.length === 0) return pass(id, "none of the stack's names exist yet: a first deploy creates them all");
  if (stateFound === undefined) return pass(id, `${ours.length} of the stack's resources exist; state not checked`);
  if (stateFound) return pass(id, `${ours.length} of the stack's resources exist, and state exists at ${where}`);
  return warn(
    id,
    `${ours.length} of the stack's resources exist (${ours.slice(0, 4).join(', ')}${ours.length > 4 ? ', ...' : ''}), ` +
      `but there is no state at ${where}: Terraform would try to create them again and fail with "already exists"`,
    'deploy from the checkout (or stateBucket and stateKey) that holds their state, or import them into it',
  );
}
