import { ConfigurationError } from './errors';

/** What the handler reads from its environment: where it runs, not how it works. */
export interface HandlerConfig {
  readonly tableName: string;
  /** Path-style S3 addressing, for S3 stand-ins such as s3rver or moto. */
  readonly s3ForcePathStyle: boolean;
}

export interface Limits {
  /** Records of one event processed at once. */
  readonly maxConcurrency: number;
  /** Bytes read from the start of an object to detect its real type. */
  readonly sniffBytes: number;
  /** Serialized user metadata kept per item; more is cut and flagged. */
  readonly maxUserMetadataBytes: number;
}

/**
 * Fixed, not settings: each value follows from a library or a price, not from a preference, so an
 * environment variable would only let a deployment get them wrong.
 */
export const LIMITS: Limits = {
  // Each record has at most two S3 requests and one DynamoDB write in flight: 8 records stay far below
  // the SDK's 50 sockets per client, so no request waits for a connection.
  maxConcurrency: 8,
  // file-type needs up to 4100 bytes to name every type it knows (its reasonableDetectionSizeInBytes).
  sniffBytes: 4100,
  // A typical item is ~490 bytes before user metadata; at most 400 more keeps it under the 1 KB one WCU
  // writes, so 2 KB of metadata cannot make every write cost 3 WCU.
  maxUserMetadataBytes: 400,
};

/** Reads the handler's settings from its environment; the SDK reads AWS_MAX_ATTEMPTS, AWS_RETRY_MODE and AWS_ENDPOINT_URL_* itself. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): HandlerConfig {
  const tableName = env.TABLE_NAME?.trim();
  if (!tableName) {
    throw new ConfigurationError('TABLE_NAME is not set: the function cannot know which DynamoDB table to write to');
  }
  return { tableName, s3ForcePathStyle: readS3ForcePathStyle(env) };
}

/** S3_FORCE_PATH_STYLE, read the same way by the handler and the tap CLI (stand-ins need path style). */
export function readS3ForcePathStyle(env: Readonly<Record<string, string | undefined>>): boolean {
  const pathStyle = env.S3_FORCE_PATH_STYLE ?? 'false';
  if (pathStyle !== 'true' && pathStyle !== 'false') {
    throw new ConfigurationError(`S3_FORCE_PATH_STYLE must be true or false, got "${pathStyle}"`);
  }
  return pathStyle === 'true';
}
