// The CreateJob request tap backfill submits, built from what it was asked (pure: no AWS call here), as
// the S3 Control API documents it (https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_CreateJob.html):
// a LambdaInvoke of the function's unqualified ARN (the one the Batch Operations role may invoke) with
// invocation schema 2.0, which passes userArguments.mode to the handler (handler/batch.ts).
import { createHash } from 'node:crypto';
import type { CreateJobCommandInput, JobManifest, JobManifestGenerator } from '@aws-sdk/client-s3-control';
import { arn } from '../../config';
import type { BatchMode } from '../../handler/batch';
import { CliError } from '../errors';
import { type S3Location, s3Url } from '../s3-files';

/** Where manifests and completion reports live in the operations bucket (main.ts, batchOperations). */
export const MANIFESTS_PREFIX = 'manifests/';
export const REPORTS_PREFIX = 'reports';
/** Among the jobs of the account, higher runs first; nothing else of ours competes, so any fixed value does. */
export const JOB_PRIORITY = 10;

/** A manifest object, pinned to the version and ETag HeadObject saw (a job refuses a manifest that changed). */
export interface ManifestObject extends S3Location {
  readonly etag: string;
  readonly versionId?: string;
}

export type ManifestSource =
  | { readonly kind: 'generator'; readonly prefix: string; readonly suffix: string; readonly createdBefore: Date }
  | ({ readonly kind: 'inventory' } & ManifestObject)
  | ({ readonly kind: 'csv' } & ManifestObject);

/** What the job works on and runs as: the stack's names, resolved for one account. */
export interface JobTarget {
  readonly account: string;
  readonly partition: string;
  readonly functionArn: string;
  readonly roleArn: string;
  readonly uploadsBucket: string;
  readonly operationsBucket: string;
}

/** The AWS partition of a region: China and GovCloud have their own ARNs. */
export const partitionOf = (region: string): string =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

/**
 * The job's role reads manifests only under manifests/ of the operations bucket (main.ts): a manifest
 * anywhere else would make the job fail once it runs, so it is refused here, with the way to fix it.
 */
export function checkManifestPlace(location: S3Location, operationsBucket: string, flag: string): void {
  if (location.bucket === operationsBucket && location.key.startsWith(MANIFESTS_PREFIX)) return;
  throw new CliError(
    `${flag} ${s3Url(location)}: the Batch Operations role reads manifests only under ` +
      `s3://${operationsBucket}/${MANIFESTS_PREFIX}: copy it there (aws s3 cp), or for an inventory set its destination there`,
  );
}

const s3Arn = (partition: string, bucket: string, key?: string) =>
  arn(partition, 's3', '', '', key === undefined ? bucket : `${bucket}/${key}`);

function manifestOf(
  target: JobTarget,
  source: ManifestSource,
): { Manifest: JobManifest } | { ManifestGenerator: JobManifestGenerator } {
  if (source.kind === 'generator') {
    const constraint = {
      ...(source.prefix && { MatchAnyPrefix: [source.prefix] }),
      ...(source.suffix && { MatchAnySuffix: [source.suffix] }),
    };
    return {
      ManifestGenerator: {
        S3JobManifestGenerator: {
          SourceBucket: s3Arn(target.partition, target.uploadsBucket),
          Filter: {
            CreatedBefore: source.createdBefore,
            ...(Object.keys(constraint).length > 0 && { KeyNameConstraint: constraint }),
          },
          EnableManifestOutput: true,
          ManifestOutputLocation: {
            Bucket: s3Arn(target.partition, target.operationsBucket),
            ManifestPrefix: MANIFESTS_PREFIX.slice(0, -1),
            ManifestFormat: 'S3InventoryReport_CSV_20211130',
          },
        },
      },
    };
  }
  return {
    Manifest: {
      Spec:
        source.kind === 'inventory'
          ? { Format: 'S3InventoryReport_CSV_20161130' }
          : { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key', 'VersionId'] },
      Location: {
        ObjectArn: s3Arn(target.partition, source.bucket, source.key),
        ETag: source.etag,
        ...(source.versionId && { ObjectVersionId: source.versionId }),
      },
    },
  };
}

const describeSource = (source: ManifestSource) =>
  source.kind === 'generator'
    ? `objects created before ${source.createdBefore.toISOString()}${source.prefix ? ` under ${source.prefix}` : ''}`
    : `the ${source.kind === 'inventory' ? 'inventory' : 'CSV manifest'} ${s3Url(source)}`;

/**
 * The whole CreateJob request. ClientRequestToken is a hash of everything else: the same manifest version
 * and mode submitted again (a retry after a lost answer) return the job created the first time instead
 * of a second one; a generator job names the time it was asked, so each run is a job of its own.
 * Failed tasks only in the report: its rows are what `tap backfill status` reads, while DescribeJob
 * already counts the successes; a report of every task would be a row per object (100 million for a
 * large bucket) to store and read for nothing.
 */
export function createJobRequest(target: JobTarget, source: ManifestSource, mode: BatchMode): CreateJobCommandInput {
  const request: CreateJobCommandInput = {
    AccountId: target.account,
    ConfirmationRequired: false,
    Description: `tap ${mode} of ${target.uploadsBucket}: ${describeSource(source)}`.slice(0, 256),
    Priority: JOB_PRIORITY,
    RoleArn: target.roleArn,
    Operation: {
      LambdaInvoke: { FunctionArn: target.functionArn, InvocationSchemaVersion: '2.0', UserArguments: { mode } },
    },
    ...manifestOf(target, source),
    Report: {
      Enabled: true,
      Bucket: s3Arn(target.partition, target.operationsBucket),
      Prefix: REPORTS_PREFIX,
      Format: 'Report_CSV_20180820',
      ReportScope: 'FailedTasksOnly',
    },
  };
  return { ...request, ClientRequestToken: createHash('sha256').update(JSON.stringify(request)).digest('hex') };
}
