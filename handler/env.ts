import { ConfigurationError } from './errors';

/** What the handler reads from its environment: where it runs, not how it works. */
export interface HandlerConfig {
  readonly tableName: string;
  /**
   * BUCKET_NAME: the one bucket whose events the function records; an event for another fails, naming
   * it. readConfig always sets it; the handler run in-process (tap redrive --local, tests) may leave it
   * out and records any bucket.
   */
  readonly bucketName?: string;
  /** Path-style S3 addressing, for S3 stand-ins such as s3rver or moto. */
  readonly s3ForcePathStyle: boolean;
  /** RECORD_OBJECT_TAGS: read each version's tags (one GetObjectTagging) and record tagging events. */
  readonly recordObjectTags: boolean;
}

export interface Limits {
  /** Records of one event processed at once. */
  readonly maxConcurrency: number;
  /** Bytes read from the start of an object to detect its real type. */
  readonly sniffBytes: number;
  /** Serialized user metadata kept per item; more is cut and flagged. */
  readonly maxUserMetadataBytes: number;
  /** Serialized object tags kept per item; more is cut and flagged. */
  readonly maxTagBytes: number;
  /** Bytes kept of each free-text value: requester, source IP, request id, content type. */
  readonly maxTextBytes: number;
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
  // A typical item is ~800 bytes (1 WCU) with small metadata and tags. The bounds below cap what one
  // object can add: user metadata (up to 2 KB in S3), tags (10 of up to 384 bytes each) and the free-text
  // values together stay under 1 KB more, so apart from its key no item costs more than 2 WCU.
  maxUserMetadataBytes: 400,
  maxTagBytes: 300,
  // An assumed role's principal id (AWS:<role id>:<session name of up to 64>) is at most ~90 bytes, an
  // IPv6 address 45, a request id 16: 128 keeps them whole and stops a 1 KB Content-Type.
  maxTextBytes: 128,
};

/** Reads the handler's settings from its environment; the SDK reads AWS_MAX_ATTEMPTS, AWS_RETRY_MODE and AWS_ENDPOINT_URL_* itself. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): HandlerConfig {
  const tableName = env.TABLE_NAME?.trim();
  if (!tableName) {
    throw new ConfigurationError('TABLE_NAME is not set: the function cannot know which DynamoDB table to write to');
  }
  const bucketName = env.BUCKET_NAME?.trim();
  if (!bucketName) {
    throw new ConfigurationError('BUCKET_NAME is not set: the function cannot know which bucket it records');
  }
  return {
    tableName,
    bucketName,
    s3ForcePathStyle: readS3ForcePathStyle(env),
    recordObjectTags: readSwitch(env, 'RECORD_OBJECT_TAGS'),
  };
}

/** S3_FORCE_PATH_STYLE, read the same way by the handler and the tap CLI (stand-ins need path style). */
export function readS3ForcePathStyle(env: Readonly<Record<string, string | undefined>>): boolean {
  return readSwitch(env, 'S3_FORCE_PATH_STYLE');
}

/** A true/false variable, false when unset; anything else is a configuration error naming it. */
function readSwitch(env: Readonly<Record<string, string | undefined>>, name: string): boolean {
  const value = env[name] ?? 'false';
  if (value !== 'true' && value !== 'false') {
    throw new ConfigurationError(`${name} must be true or false, got "${value}"`);
  }
  return value === 'true';
}
