// Benchmark baseline: a "handler" that only creates the S3 and DynamoDB clients and references the
// commands ours uses, bundled with the same esbuild settings. The ratio of our bundle to this one
// is what Powertools, file-type and our own code cost.
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

const s3 = new S3Client({});
const dynamodb = new DynamoDBClient({});

export const handler = async () =>
  [s3, dynamodb, HeadObjectCommand, GetObjectCommand, PutItemCommand, UpdateItemCommand, GetItemCommand].length;
