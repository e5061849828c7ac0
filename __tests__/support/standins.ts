// Stand-in setups the tests share.
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TapConfig } from '../../config';
import { createPipelineStorage } from '../../fixtures/standins';

/**
 * The pipeline's table alone, on the stand-in `dynamodb` talks to (dynalite), for tests whose S3 is a
 * mock or a fake: no bucket is created, and no S3 client is called. Capacity as the project configures
 * it, or `capacity`.
 */
export async function createTable(
  dynamodb: DynamoDBClient,
  table: string,
  capacity?: Pick<TapConfig, 'tableReadCapacity' | 'tableWriteCapacity'>,
): Promise<void> {
  const noBucket = { send: async () => ({}) } as unknown as S3Client;
  await createPipelineStorage({ s3: noBucket, dynamodb }, { bucket: 'no-bucket', table }, capacity);
}
