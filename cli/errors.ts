// What an operator sees when something is wrong: one line naming the resource and what to do, never a
// stack trace. Anything unexpected still prints its name and message (and the stack with --debug).

/** An error the CLI reports as it is, with an exit code (2: usage or a missing resource; 1: drift, failures). */
export class CliError extends Error {
  /** Set when the AWS answer was an access denial, so a command can say which of its steps needs what. */
  readonly denied: boolean;

  constructor(
    message: string,
    readonly exitCode = 2,
    { denied = false, ...options }: ErrorOptions & { denied?: boolean } = {},
  ) {
    super(message, options);
    this.name = 'CliError';
    this.denied = denied;
  }
}

interface AwsErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The resource a call was about, for messages such as `table "x" (DynamoDB) does not exist`. */
export interface ResourceRef {
  readonly kind: string;
  readonly name: string;
}

const NOT_FOUND = new Set([
  'NoSuchBucket',
  'ResourceNotFoundException',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'NoSuchEntity',
  'NoSuchEntityException',
  'ResourceNotFound',
]);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError']);
const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'ExpiredToken', 'ExpiredTokenException']);

/**
 * Turns an AWS SDK error about `resource` into a CliError naming it. Errors that are not about the
 * resource (throttling, 5xx) are returned unchanged for the caller's retry or report.
 */
export function explainAwsError(error: unknown, resource: ResourceRef): unknown {
  const e = (error ?? {}) as AwsErrorShape;
  const name = e.name ?? e.code ?? '';
  const what = `${resource.kind} "${resource.name}"`;
  const caused = { cause: error };
  if (NOT_FOUND.has(name) || (e.$metadata?.httpStatusCode === 404 && resource.kind.startsWith('S3 bucket'))) {
    return new CliError(
      `${what} does not exist (${name || 'HTTP 404'}): check the name, the region and AWS_PROFILE`,
      2,
      caused,
    );
  }
  if (DENIED.has(name) || e.$metadata?.httpStatusCode === 403) {
    return new CliError(`access to ${what} denied (${name || 'HTTP 403'}): ${e.message ?? ''}`.trim(), 2, {
      ...caused,
      denied: true,
    });
  }
  if (NO_CREDENTIALS.has(name)) {
    return new CliError(
      `no usable AWS credentials (${name}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`,
      2,
      caused,
    );
  }
  const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as { code?: string })?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND') {
    return new CliError(
      `cannot reach the endpoint for ${what} (${code}): check AWS_ENDPOINT_URL_* and the network`,
      2,
      caused,
    );
  }
  return error;
}

/** Runs `call`, turning its AWS errors about `resource` into a CliError naming the resource. */
export async function explainingAwsErrors<T>(resource: ResourceRef, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainAwsError(error, resource);
  }
}
