/** The handler's environment is incomplete or wrong: thrown at cold start, before any event is read. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** The event is not an S3 notification at all (a test event, an empty object, another service's event). */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** One record of an S3 notification is malformed; the other records are still processed. */
export class InvalidRecordError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidRecordError';
  }
}

export interface RecordFailure {
  /** Position of the record in event.Records. */
  readonly index: number;
  /** "bucket/key@versionId" when the record got that far, else "record N". */
  readonly record: string;
  readonly reason: string;
}

/**
 * Some records of the event failed after the others were stored. Thrown so that Lambda retries the
 * event and, once retries are exhausted, sends it with this message to the on-failure destination.
 */
export class RecordsFailedError extends Error {
  constructor(
    readonly failures: readonly RecordFailure[],
    readonly total: number,
  ) {
    super(
      `${failures.length} of ${total} record(s) failed: ` +
        failures.map((f) => `[${f.index}] ${f.record}: ${f.reason}`).join('; '),
    );
    this.name = 'RecordsFailedError';
  }
}

/** "Name: message" of anything thrown, and an AWS SDK error's HTTP status, for logs and failure reasons. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return `${error.name}: ${error.message}${status ? ` (HTTP ${status})` : ''}`;
}
