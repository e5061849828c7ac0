// The soak: the whole promise, "the table mirrors the bucket", under what production throws at it.
// moto serves S3 (versions, ListObjectVersions, InvalidObjectState for archived GETs), DynamoDB and SQS.
// The handler runs in this process behind Lambda-like delivery (two async retries, then the on-failure
// record to SQS); S3 and DynamoDB are reached through proxies that inject 5% throttles and 5xx (seeded),
// answer as S3 does for SSE-C and KMS-denied objects, deny the function the outage/ keys until the
// "operator" fixes it, and enforce the table's provisioned capacity. Rounds of uploads, overwrites,
// deletes and lifecycle expirations are delivered with lost, duplicated and reordered events, after
// objects that predate the stack. Then `tap redrive --local` and `tap reconcile --repair` run as an
// operator runs them (child processes of bin/tap.js), a second reconcile must find nothing, and an
// independent comparison of the listing with the table (soak-mirror.ts) must find no difference.
// Every call of the handler is recorded on its clients, for npm run security (saved as evidence "soak").
import fs from 'node:fs';
import path from 'node:path';
import type { S3Event } from 'aws-lambda';
import { PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { projectConfig } from '../../config';
import { createHandler, InvocationSummary } from '../../handler/records';
import type { ReconcileJson } from '../../cli/commands/reconcile';
import type { RedriveSummary } from '../../cli/commands/redrive';
import { startCapacityProxy } from './capacity';
import { root, run } from './cli';
import { DeliveryCounts, deliverAsync, duplicateShare, reorderWithin } from './delivery';
import {
  dynamodbOperation,
  faultInjector,
  FaultRule,
  kmsAccessDeniedRule,
  randomDynamodbFaults,
  randomS3Faults,
  s3ObjectOf,
  seededRandom,
  sseCustomerKeyRule,
} from './faults';
import { startMoto } from './moto';
import { s3Event } from '../../fixtures/s3-events';
import { Driver, OperationCounts } from './soak-scenario';
import { saveEvidence, RECORD_CALLS_VARIABLE } from './iam/evidence';
import { MOTO_DEPLOYMENT } from './iam/policy';
import { recordOptionsFor, stackUnderProof, StackUnderProof } from './iam/proof';
import { recordCalls, RecordedCall } from './iam/recorder';
import { tapVariables } from './local-pipeline';
import { checkMirror, MirrorCheck } from './soak-mirror';
import {
  createPipelineStorage,
  s3Error,
  standInEnvironment,
  startFaultProxy,
  STANDIN_REGION,
} from '../../fixtures/standins';

export interface SoakOptions {
  /** Uploads over all rounds (objects that predate the stack, 5% of uploads, come on top). */
  readonly uploads: number;
  /** Share of events S3 never delivers (default 3%). */
  readonly lostShare?: number;
  /** Where the CLI runs (its .tap checkpoints). */
  readonly workDir: string;
  /** More flags for both `tap reconcile` runs (npm test's soak reads at the whole read capacity). */
  readonly reconcileFlags?: readonly string[];
  readonly log?: (line: string) => void;
}

/** What one `tap` run printed and exited with. */
export interface TapRun<T> {
  readonly code: number;
  readonly json: T;
  readonly stderr: string;
  readonly ms: number;
}

export interface SoakReport {
  readonly uploads: number;
  readonly rounds: number;
  readonly operations: OperationCounts;
  readonly events: { readonly sent: number; readonly lost: number; readonly duplicated: number };
  readonly delivery: Omit<DeliveryCounts, 'destinationErrors'>;
  /** What the handler's invocations that returned said, summed. */
  readonly outcomes: Record<string, number>;
  readonly faults: {
    readonly s3: Readonly<Record<string, number>>;
    readonly dynamodb: Readonly<Record<string, number>>;
    readonly capacityThrottles: number;
    readonly s3Requests: number;
    readonly dynamodbRequests: number;
  };
  readonly redrive: TapRun<RedriveSummary>;
  readonly reconcile: TapRun<ReconcileJson>;
  readonly reconcileAgain: TapRun<ReconcileJson>;
  readonly mirror: MirrorCheck;
  /** The handler's calls, recorded on its clients (saved as evidence "soak" for npm run security). */
  readonly functionCalls: readonly RecordedCall[];
  readonly durationsMs: Record<
    'setup' | 'predating' | 'rounds' | 'redrive' | 'reconcile' | 'reconcileAgain' | 'total',
    number
  >;
}

const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const SEED = 20261129;
const ROUNDS = 4;
/** Share of S3 and DynamoDB requests answered with a throttle or a 5xx. */
const FAULT_RATE = 0.05;
/** Invocations at once (the function's reserved concurrency). */
const CONCURRENCY = 10;
/** Events move fewer than this many places (soak-report.ts names it). */
const REORDER_WINDOW = 20;

/** Runs `tap args...` as an operator would (node bin/tap.js), with `env`; parses its JSON output. */
export async function runTap<T>(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<TapRun<T>> {
  fs.mkdirSync(cwd, { recursive: true });
  const { code, stdout, stderr, ms } = await run(process.execPath, [path.join(root, 'bin', 'tap.js'), ...args], {
    cwd,
    env,
    quiet: true,
    anyExitCode: true,
  });
  try {
    return { code, json: JSON.parse(stdout) as T, stderr, ms };
  } catch {
    throw new Error(
      `tap ${args.join(' ')} exited ${code} without JSON:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`,
    );
  }
}

/**
 * What `tap` runs with against stand-ins: this process's environment plus their endpoints (SQS when
 * given), the credentials, the stand-ins' region and path-style S3 (metrics settings left as they are).
 */
export const tapEnvironment = (
  endpoints: { readonly s3: string; readonly dynamodb: string; readonly sqs?: string },
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
): NodeJS.ProcessEnv => ({
  ...standInEnvironment(process.env as Record<string, string>, { endpoints, credentials, emitMetrics: true }),
  ...(endpoints.sqs ? { AWS_ENDPOINT_URL_SQS: endpoints.sqs } : {}),
});

/** The function may not read outage/ objects while `denied.now`: a bucket policy mistake, until fixed. */
function outageRule(denied: { now: boolean }): FaultRule {
  return (request) =>
    denied.now &&
    (request.method === 'GET' || request.method === 'HEAD') &&
    s3ObjectOf(request)?.key.startsWith('outage/')
      ? { kind: 'AccessDeniedOutage', response: s3Error(403, 'AccessDenied', 'Access Denied', request.method) }
      : undefined;
}

const ITEM_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'GetItem', 'Query', 'Scan']);

/** The stack the soak's names come from, deployed to moto's default account (its queue URLs name it). */
export const soakStack = (env: NodeJS.ProcessEnv = process.env): StackUnderProof => {
  const { [RECORD_CALLS_VARIABLE]: _, ...synthEnv } = tapVariables(env);
  return stackUnderProof(synthEnv, MOTO_DEPLOYMENT);
};

/** The handler in this process, its logs silent and its metrics off, on the proxies; its clients record onto `calls`. */
function pipelineHandler(
  endpoints: { s3: string; dynamodb: string },
  table: string,
  maxAttempts: number,
  record: (client: S3Client | DynamoDBClient) => void,
) {
  const common = { region: STANDIN_REGION, credentials: CREDENTIALS, maxAttempts, retryMode: 'standard' };
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const logger = new Logger({ logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: 'tap-soak', logger });
  if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
  else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  const s3 = new S3Client({ ...common, endpoint: endpoints.s3, forcePathStyle: true });
  const dynamodb = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  [s3, dynamodb].forEach(record);
  const config = { tableName: table, s3ForcePathStyle: true, recordObjectTags: false };
  const handler = createHandler({ s3, dynamodb, config, logger, metrics });
  return { handler, close: () => [s3, dynamodb].forEach((c) => c.destroy()) };
}

const sum = (a: Record<string, number>, b: Readonly<Record<string, number>>) => {
  for (const [k, v] of Object.entries(b)) if (typeof v === 'number') a[k] = (a[k] ?? 0) + v;
};

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const config = projectConfig();
  const stack = soakStack();
  const { names, bucket } = stack;
  const table = names.tableName;
  const durations: Partial<SoakReport['durationsMs']> = {};
  const phase = async <T>(name: keyof SoakReport['durationsMs'], work: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    log(`soak: ${name}`);
    try {
      return await work();
    } finally {
      durations[name] = Date.now() - t;
    }
  };

  const moto = await startMoto({ services: ['s3', 'dynamodb', 'sqs'] });
  const denied = { now: true };
  const s3Faults = faultInjector(
    outageRule(denied),
    sseCustomerKeyRule('ssec/'),
    kmsAccessDeniedRule('kms-denied/'),
    randomS3Faults({ seed: SEED, rate: FAULT_RATE }),
  );
  const dynamodbFaults = faultInjector(
    randomDynamodbFaults({
      seed: SEED + 1,
      rate: FAULT_RATE,
      eligible: (r) => ITEM_OPERATIONS.has(dynamodbOperation(r) ?? ''),
    }),
  );
  const s3Proxy = await startFaultProxy(moto.endpoint, s3Faults.fault);
  const ddbProxy = await startCapacityProxy(moto.endpoint, dynamodbFaults.fault);
  const direct = { region: STANDIN_REGION, credentials: CREDENTIALS, endpoint: moto.endpoint };
  const s3 = new S3Client({ ...direct, forcePathStyle: true });
  const dynamodb = new DynamoDBClient(direct);
  const sqs = new SQSClient(direct);
  const functionCalls: RecordedCall[] = [];
  const endpoints = { s3: s3Proxy.endpoint, dynamodb: ddbProxy.endpoint };
  const pipeline = pipelineHandler(endpoints, table, config.sdkMaxAttempts, (client) =>
    recordCalls(client, functionCalls, recordOptionsFor(stack)),
  );
  try {
    const queueUrl = await phase('setup', async () => {
      // The table is created through the capacity proxy, which learns its provisioned capacity from it.
      const viaProxy = new DynamoDBClient({ ...direct, endpoint: ddbProxy.endpoint });
      await createPipelineStorage({ s3, dynamodb: viaProxy }, { bucket, table }, config).finally(() =>
        viaProxy.destroy(),
      );
      await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      return (await sqs.send(new CreateQueueCommand({ QueueName: names.queueName }))).QueueUrl ?? '';
    });
    const driver = new Driver(s3, bucket, SEED);
    await phase('predating', () => driver.predating(Math.round(options.uploads * 0.05), CONCURRENCY));

    const random = seededRandom(SEED + 2);
    const events = { sent: 0, lost: 0, duplicated: 0 };
    const delivery: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    const handler = async (event: S3Event) => sum(outcomes, (await pipeline.handler(event)) as InvocationSummary);
    await phase('rounds', async () => {
      for (let r = 0; r < ROUNDS; r++) {
        const records = await driver.round(Math.ceil(options.uploads / ROUNDS), CONCURRENCY);
        // Each round loses one permanent delete of a version an earlier round's event recorded, so that
        // reconcile always has an extra item to remove (which events the random share loses depends on how
        // the concurrent uploads interleave; the first round can only remove versions that predate the stack,
        // which have no item).
        const forced = records.find(
          (record) => record.eventName === 'ObjectRemoved:Delete' && !record.s3.object.key.startsWith('legacy/'),
        );
        const kept = records.filter((record) => random() >= (options.lostShare ?? 0.03) && record !== forced);
        const doubled = duplicateShare(
          kept.map((record) => s3Event(record)),
          0.05,
          SEED + r,
        );
        events.sent += records.length;
        events.lost += records.length - kept.length;
        events.duplicated += doubled.length - kept.length;
        const counts = await deliverAsync(reorderWithin(doubled, REORDER_WINDOW, SEED + r), {
          handler,
          maxRetryAttempts: config.lambdaMaxRetryAttempts,
          concurrency: CONCURRENCY,
          failureQueue: { sqs, queueUrl },
        });
        const { destinationErrors, ...figures } = counts;
        if (destinationErrors.length > 0) throw new Error(`the failure queue refused records: ${destinationErrors[0]}`);
        sum(delivery, figures);
        log(`soak: round ${r + 1}/${ROUNDS}: ${records.length} events, ${counts.failed} to the failure queue`);
      }
    });

    // The operator fixes the policy, redrives the failure queue, then reconciles.
    denied.now = false;
    const env = {
      ...tapEnvironment({ s3: s3Proxy.endpoint, dynamodb: ddbProxy.endpoint, sqs: moto.endpoint }, CREDENTIALS),
      AWS_MAX_ATTEMPTS: String(config.sdkMaxAttempts),
    };
    const evidence = { name: 'soak', synthEnv: stack.synthEnv, deployment: stack.deployment, calls: functionCalls };
    saveEvidence({ ...evidence, caller: 'function', transport: 'stand-in-http' });
    const on = ['--bucket', bucket, '--table', table];
    const reconcileArgs = ['reconcile', '--repair', '--json', ...on, ...(options.reconcileFlags ?? [])];
    const asOperator = <T>(args: string[]) => runTap<T>(args, env, options.workDir);
    const redrive = await phase('redrive', () => asOperator<RedriveSummary>(['redrive', '--local', '--json', ...on]));
    const reconcile = await phase('reconcile', () => asOperator<ReconcileJson>(reconcileArgs));
    const reconcileAgain = await phase('reconcileAgain', () => asOperator<ReconcileJson>(reconcileArgs));
    const mirror = await checkMirror(s3, dynamodb, bucket, table);
    const usage = ddbProxy.ledger.usage(table);
    return {
      uploads: options.uploads,
      rounds: ROUNDS,
      operations: driver.counts,
      events,
      delivery: delivery as unknown as SoakReport['delivery'],
      outcomes,
      faults: {
        s3: s3Faults.counts,
        dynamodb: dynamodbFaults.counts,
        capacityThrottles: usage.throttledReadRequests + usage.throttledWriteRequests,
        s3Requests: s3Proxy.requests.length,
        dynamodbRequests: ddbProxy.requests.length,
      },
      redrive,
      reconcile,
      reconcileAgain,
      mirror,
      functionCalls,
      durationsMs: { ...(durations as SoakReport['durationsMs']), total: Date.now() - started },
    };
  } finally {
    pipeline.close();
    [s3, dynamodb, sqs].forEach((c) => c.destroy());
    await Promise.all([s3Proxy.close(), ddbProxy.close()]);
    await moto.stop();
  }
}

/** Whether the soak kept the promise; the reasons it did not, otherwise. */
export function soakVerdict(report: SoakReport): string[] {
  const problems: string[] = [];
  const { reconcile: first, reconcileAgain: second, mirror } = report;
  if (first.code !== 0 || first.json.remaining !== 0)
    problems.push(`reconcile --repair left ${first.json.remaining} drift (exit ${first.code})`);
  if (
    second.code !== 0 ||
    second.json.repaired !== 0 ||
    second.json.missing + second.json.extra + second.json.stale !== 0
  )
    problems.push(`a second reconcile found drift again: ${JSON.stringify(second.json)}`);
  if (mirror.unmirrored.length > 0)
    problems.push(`versions without their item: ${mirror.unmirrored.slice(0, 5).join(', ')}`);
  if (mirror.unlisted.length > 0)
    problems.push(`items of versions not in the bucket: ${mirror.unlisted.slice(0, 5).join(', ')}`);
  if (report.redrive.code !== 0)
    problems.push(`tap redrive exited ${report.redrive.code}: ${report.redrive.stderr.slice(-500)}`);
  return problems;
}
