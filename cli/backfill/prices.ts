// The prices tap backfill --dry-run estimates with: us-east-1 as of 2026-11-29, from AWS's public price
// pages (S3 and its Batch Operations, Lambda arm64, DynamoDB provisioned capacity), as last recorded by this
// project, not fetched live. Where they overlap they equal bench/prices.json (a test keeps them equal); the
// product cannot import the bench's file. Check them before budgeting.
export const BACKFILL_PRICES = {
  asOf: '2026-11-29',
  region: 'us-east-1',
  batchOperationsJob: 0.25,
  batchOperationsPerMillionObjects: 1.0,
  lambdaRequestPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  /** GET-class requests: HEAD and GET. */
  s3GetPer1000: 0.0004,
  /** PUT-class requests, LIST among them. */
  s3PutPer1000: 0.005,
  dynamodbWcuHour: 0.00065,
  dynamodbRcuHour: 0.00013,
} as const;
