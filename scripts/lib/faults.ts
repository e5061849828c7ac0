// Deterministic fault injection for the stand-ins' proxies (startFaultProxy in standins.ts): rules that
// answer some requests in the service's place, as S3 and DynamoDB answer them, counted per kind.
//   - random faults: a seeded PRNG draws once per eligible request; a given share of them (e.g. 5%)
//     gets one of the chosen kinds (S3 503 SlowDown / 500 InternalError; DynamoDB 400
//     ProvisionedThroughputExceededException / 400 ThrottlingException / 500 InternalServerError).
//     The same seed faults the same positions in the request sequence; which request lands at which
//     position is up to the order requests arrive in.
//   - per-key rules: objects under a prefix answer as SSE-C objects read without their key, or as
//     SSE-KMS objects whose key the caller may not use.
import {
  dynamodbError,
  dynamodbThrottle,
  FaultResponse,
  ProxiedRequest,
  s3Error,
  s3SlowDown,
} from '../../fixtures/standins';

/** One injected answer and the kind it is counted under. */
export interface Fault {
  readonly kind: string;
  readonly response: FaultResponse;
}

/** Answers a request in the service's place, or leaves it (undefined). */
export type FaultRule = (request: ProxiedRequest) => Fault | undefined;

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same sequence in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Catalogue = Readonly<Record<string, (request: ProxiedRequest) => FaultResponse>>;

/** S3's answers to retry (the SDK retries both). */
const S3_FAULTS: Catalogue = {
  SlowDown: (request: ProxiedRequest) => s3SlowDown(request.method),
  InternalError: (request: ProxiedRequest) =>
    s3Error(500, 'InternalError', 'We encountered an internal error. Please try again.', request.method),
};

/** DynamoDB's answers to retry (the SDK retries all three). */
const DYNAMODB_FAULTS: Catalogue = {
  ProvisionedThroughputExceededException: () => dynamodbThrottle(),
  ThrottlingException: () =>
    dynamodbError(
      400,
      'com.amazon.coral.availability#ThrottlingException',
      'Rate of requests exceeds the allowed throughput.',
    ),
  InternalServerError: () =>
    dynamodbError(500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', 'Internal server error'),
};

export interface RandomFaultOptions {
  readonly seed: number;
  /** Share of the eligible requests answered with a fault, 0 to 1 (0.05 = 5%). */
  readonly rate: number;
  /** Which requests may be faulted (default: all). */
  readonly eligible?: (request: ProxiedRequest) => boolean;
}

/** A rule answering a seeded `rate` of the eligible requests with one of the kinds of `catalogue`, uniformly. */
function randomFaults(catalogue: Catalogue, options: RandomFaultOptions): FaultRule {
  const random = seededRandom(options.seed);
  const kinds = Object.keys(catalogue);
  return (request) => {
    if (options.eligible && !options.eligible(request)) return undefined;
    if (random() >= options.rate) return undefined;
    const kind = kinds[Math.floor(random() * kinds.length)];
    return { kind, response: catalogue[kind](request) };
  };
}

export const randomS3Faults = (options: RandomFaultOptions): FaultRule => randomFaults(S3_FAULTS, options);

export const randomDynamodbFaults = (options: RandomFaultOptions): FaultRule => randomFaults(DYNAMODB_FAULTS, options);

/** The DynamoDB operation of a request (x-amz-target "DynamoDB_20120810.PutItem" gives "PutItem"). */
export const dynamodbOperation = (request: ProxiedRequest): string | undefined =>
  request.headers['x-amz-target']?.toString().split('.')[1];

/** Bucket and key of a path-style S3 object request (/bucket/key?query), or undefined. */
export function s3ObjectOf(request: ProxiedRequest): { bucket: string; key: string } | undefined {
  const { pathname } = new URL(request.url, 'http://stand-in');
  const slash = pathname.indexOf('/', 1);
  if (slash < 0 || slash === pathname.length - 1) return undefined;
  return { bucket: decodeURIComponent(pathname.slice(1, slash)), key: decodeURIComponent(pathname.slice(slash + 1)) };
}

const under = (request: ProxiedRequest, prefix: string) => s3ObjectOf(request)?.key.startsWith(prefix) ?? false;

export const SSE_C_MESSAGE =
  'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.';

/**
 * Objects under `prefix` are SSE-C objects: read without the customer key (no
 * x-amz-server-side-encryption-customer-algorithm header), HEAD answers 400 with no body and GET
 * answers 400 InvalidRequest with S3's message. Counted as "SseCustomerKeyRequired".
 */
export function sseCustomerKeyRule(prefix = 'ssec/'): FaultRule {
  return (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    if (!under(request, prefix) || request.headers['x-amz-server-side-encryption-customer-algorithm']) return undefined;
    return { kind: 'SseCustomerKeyRequired', response: s3Error(400, 'InvalidRequest', SSE_C_MESSAGE, request.method) };
  };
}

/** What S3 says on GetObject of an SSE-KMS object when the caller may not use the object's KMS key. */
export const KMS_DENIED_MESSAGE =
  'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.';

/**
 * Objects under `prefix` are SSE-KMS objects whose key the caller may not use: GET answers 403
 * AccessDenied (S3 decrypts on GET only: HEAD still answers). Counted as "KmsAccessDenied".
 */
export function kmsAccessDeniedRule(prefix = 'kms-denied/'): FaultRule {
  return (request) =>
    request.method === 'GET' && under(request, prefix)
      ? { kind: 'KmsAccessDenied', response: s3Error(403, 'AccessDenied', KMS_DENIED_MESSAGE) }
      : undefined;
}

export interface FaultInjector {
  /** For startFaultProxy: the first rule's answer, counted; undefined forwards the request. */
  readonly fault: (request: ProxiedRequest) => FaultResponse | undefined;
  /** Answers injected so far, per kind. */
  readonly counts: Readonly<Record<string, number>>;
  /** Answers injected so far, all kinds. */
  readonly total: () => number;
}

/** The rules in order (the first that answers wins), with a count per kind. */
export function faultInjector(...rules: readonly FaultRule[]): FaultInjector {
  const counts: Record<string, number> = {};
  const fault = (request: ProxiedRequest) => {
    for (const rule of rules) {
      const answer = rule(request);
      if (answer) {
        counts[answer.kind] = (counts[answer.kind] ?? 0) + 1;
        return answer.response;
      }
    }
    return undefined;
  };
  return { fault, counts, total: () => Object.values(counts).reduce((a, b) => a + b, 0) };
}
