import { ConfigurationError } from './errors';

export interface HandlerConfig {
  readonly tableName: string;
  /** Path-style S3 addressing, for S3 stand-ins such as s3rver or moto. */
  readonly s3ForcePathStyle: boolean;
  /** Records of one event processed at once. */
  readonly maxConcurrency: number;
  /** Bytes read from the start of an object to detect its real type (file-type needs up to 4100). */
  readonly sniffBytes: number;
  /** Serialized user metadata kept per item; more is cut so a typical item stays under 1 KB (1 WCU). */
  readonly maxUserMetadataBytes: number;
}

const intFrom = (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
};

/** Reads the handler's settings from its environment; the SDK reads AWS_MAX_ATTEMPTS, AWS_RETRY_MODE and AWS_ENDPOINT_URL_* itself. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): HandlerConfig {
  const tableName = env.TABLE_NAME?.trim();
  if (!tableName) {
    throw new ConfigurationError('TABLE_NAME is not set: the function cannot know which DynamoDB table to write to');
  }
  const pathStyle = env.S3_FORCE_PATH_STYLE ?? 'false';
  if (pathStyle !== 'true' && pathStyle !== 'false') {
    throw new ConfigurationError(`S3_FORCE_PATH_STYLE must be true or false, got "${pathStyle}"`);
  }
  return {
    tableName,
    s3ForcePathStyle: pathStyle === 'true',
    maxConcurrency: intFrom(env, 'MAX_CONCURRENCY', 8, 1, 64),
    sniffBytes: intFrom(env, 'SNIFF_BYTES', 4100, 16, 65536),
    maxUserMetadataBytes: intFrom(env, 'MAX_USER_METADATA_BYTES', 400, 0, 2048),
  };
}
