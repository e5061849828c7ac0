// What a preflight check reports, and how an AWS answer it did not expect becomes a `warn` naming the
// call, never a crash: a stand-in that lacks a call, or credentials that may not make it, leave the
// check undecided, not failed.
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable identifier, e.g. `lambda-concurrency` or `name:role`. */
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do; empty when there is nothing to do. */
  readonly fix: string;
}

export const pass = (id: string, message: string): CheckResult => ({ id, status: 'pass', message, fix: '' });
export const warn = (id: string, message: string, fix: string): CheckResult => ({ id, status: 'warn', message, fix });
export const fail = (id: string, message: string, fix: string): CheckResult => ({ id, status: 'fail', message, fix });

interface AwsErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

const shape = (error: unknown): AwsErrorShape => (error ?? {}) as AwsErrorShape;

/** The error's name as the service or the SDK gave it (`NoSuchEntityException`, `NotFound`, ...). */
export const errorName = (error: unknown): string => {
  const e = shape(error);
  return e.name ?? e.Code ?? e.code ?? 'Error';
};

export const httpStatus = (error: unknown): number | undefined => shape(error).$metadata?.httpStatusCode;

/** A response header of a failed call (HeadBucket's x-amz-bucket-region on a 301). */
export const errorHeader = (error: unknown, header: string): string | undefined =>
  shape(error).$response?.headers?.[header];

/** True when the error is one of `names` (services differ in how they say "not found"). */
export const isError = (error: unknown, ...names: string[]): boolean => {
  const e = shape(error);
  return [e.name, e.Code, e.code].some((n) => n !== undefined && names.includes(n));
};

const DENIED = ['AccessDenied', 'AccessDeniedException', 'AuthorizationError', 'UnauthorizedOperation', 'Forbidden'];
const UNSUPPORTED = ['NotImplemented', 'InvalidAction', 'UnknownOperationException', 'UnsupportedOperation'];

/**
 * The `warn` for an answer a check did not expect. `calls` names the IAM actions the check makes,
 * so a denied call says what to allow. A 404 or 501 that reaches here is not a "not found" the check
 * handles: it is an endpoint (a stand-in such as moto) that does not implement the call.
 */
export function undecided(id: string, calls: string, error: unknown): CheckResult {
  const name = errorName(error);
  const status = httpStatus(error);
  const detail = `${name}${status ? `, HTTP ${status}` : ''}`;
  if (isError(error, ...DENIED) || status === 403) {
    return warn(
      id,
      `could not check: access denied (${detail})`,
      `allow ${calls} to these credentials, or check by hand`,
    );
  }
  if (isError(error, ...UNSUPPORTED) || status === 404 || status === 501) {
    return warn(
      id,
      `could not check: the endpoint does not implement ${calls} (${status === 404 ? 'HTTP 404' : detail})`,
      'a stand-in lacks this call; the check runs against AWS',
    );
  }
  const message = (shape(error).message ?? '').split('\n')[0].slice(0, 200);
  return warn(
    id,
    `could not check: ${calls} failed (${detail}): ${message}`,
    'run tap preflight again; if it persists, check by hand',
  );
}

/** Runs one check; whatever it throws becomes `undecided`. */
export async function guarded(id: string, calls: string, check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await check();
  } catch (error) {
    return undecided(id, calls, error);
  }
}

/**
 * Where `bucket` stands for these credentials (HeadBucket): here, missing (404), another account's or not
 * listable (403), or in another region (301, naming it when S3 does); any other answer is thrown.
 */
export async function headBucket(
  s3: S3Client,
  bucket: string,
): Promise<{ state: 'here' | 'missing' | 'denied' | 'elsewhere'; region?: string }> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return { state: 'here' };
  } catch (error) {
    const status = httpStatus(error);
    if (status === 404 || isError(error, 'NotFound', 'NoSuchBucket')) return { state: 'missing' };
    if (status === 403) return { state: 'denied' };
    if (status === 301) return { state: 'elsewhere', region: errorHeader(error, 'x-amz-bucket-region') };
    throw error;
  }
}
