// Calls read off the wire, for code whose SDK clients this process cannot reach (the bundled handler,
// which carries its own SDK): a request as a proxy in front of a stand-in sees it, turned back into the
// SDK operation and input it came from, then mapped by recorder.ts's mapCall, the one mapping table.
//
// The service and region come from the SigV4 credential scope (Authorization header, or the
// X-Amz-Credential query parameter of a presigned URL). S3 is REST (path-style, as the stand-ins need:
// method + sub-resource query + headers name the operation); DynamoDB, SQS, KMS and CloudWatch Logs are
// JSON (X-Amz-Target names it, the body is the input); SNS, STS, IAM use the query protocol (Action=).
// What it cannot name stays an operation like "PUT ?lifecycle", which mapCall reports as unmapped.
import { CallEnvironment, CallRecorder, mapCall, RecordedCall, RecordOptions } from './recorder';
import type { ProxiedRequest } from '../../../fixtures/standins';

export interface WireOperation {
  readonly service: string;
  readonly region: string;
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

/** Service and region of a signed request, from its SigV4 credential scope. */
export function credentialScope(request: Pick<ProxiedRequest, 'url' | 'headers'>) {
  const authorization = String(request.headers.authorization ?? '');
  const query = new URL(request.url, 'http://wire').searchParams.get('X-Amz-Credential') ?? '';
  const scope = /Credential=([^,\s]+)/.exec(authorization)?.[1] ?? query;
  const [, , region, service] = scope.split('/');
  if (!region || !service) return undefined;
  return { region, service };
}

const header = (request: Pick<ProxiedRequest, 'headers'>, name: string) => {
  const value = request.headers[name];
  return value === undefined ? undefined : String(value);
};

/** The S3 operation of a path-style REST request and the input fields the mapping table reads. */
export function s3Operation(request: Pick<ProxiedRequest, 'method' | 'url' | 'headers' | 'body'>): {
  operation: string;
  input: Record<string, unknown>;
} {
  const url = new URL(request.url, 'http://wire');
  const q = url.searchParams;
  const [bucketPart, ...keyParts] = url.pathname.slice(1).split('/');
  const Bucket = decodeURIComponent(bucketPart ?? '');
  const Key = keyParts.length > 0 ? decodeURIComponent(keyParts.join('/')) : '';
  const VersionId = q.get('versionId') ?? undefined;
  const method = request.method.toUpperCase();
  const sub = (name: string) => q.has(name);
  const object = { Bucket, Key, ...(VersionId ? { VersionId } : {}) };
  const prefix = q.get('prefix');
  const listed = { Bucket, ...(prefix ? { Prefix: prefix } : {}) };
  const named = (operation: string, input: Record<string, unknown> = Key ? object : { Bucket }) => ({
    operation,
    input,
  });
  if (!Key) {
    const bucketOps: [string, string, string][] = [
      ['GET', 'versions', 'ListObjectVersions'],
      ['GET', 'uploads', 'ListMultipartUploads'],
      ['GET', 'location', 'GetBucketLocation'],
      ['GET', 'versioning', 'GetBucketVersioning'],
      ['GET', 'encryption', 'GetBucketEncryption'],
      ['GET', 'policy', 'GetBucketPolicy'],
      ['GET', 'notification', 'GetBucketNotificationConfiguration'],
      ['POST', 'delete', 'DeleteObjects'],
    ];
    const found = bucketOps.find(([m, s]) => m === method && sub(s));
    if (found?.[2] === 'DeleteObjects') {
      const keys = [...request.body.matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map(([, o]) => ({
        Key: /<Key>([\s\S]*?)<\/Key>/.exec(o)?.[1] ?? '',
        VersionId: /<VersionId>([\s\S]*?)<\/VersionId>/.exec(o)?.[1],
      }));
      return named('DeleteObjects', { Bucket, Delete: { Objects: keys } });
    }
    if (found?.[2] === 'ListObjectVersions') return named('ListObjectVersions', listed);
    if (found) return named(found[2]);
    if ([...q.keys()].some((k) => k !== 'list-type' && k !== 'prefix' && !k.startsWith('x-id'))) {
      return named(`${method} ?${[...q.keys()].join('&')}`);
    }
    if (method === 'GET') return named(q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects', listed);
    if (method === 'HEAD') return named('HeadBucket');
    if (method === 'PUT') return named('CreateBucket');
    if (method === 'DELETE') return named('DeleteBucket');
    return named(`${method} bucket`);
  }
  const checksum = header(request, 'x-amz-checksum-mode');
  const copySource = header(request, 'x-amz-copy-source');
  const tagging = header(request, 'x-amz-tagging');
  switch (method) {
    case 'HEAD':
      return named('HeadObject', { ...object, ...(checksum ? { ChecksumMode: checksum } : {}) });
    case 'GET':
      if (sub('tagging')) return named('GetObjectTagging');
      if (sub('acl')) return named('GetObjectAcl');
      if (sub('attributes')) return named('GetObjectAttributes');
      if (sub('uploadId')) return named('ListParts');
      return named('GetObject', {
        ...object,
        ...(header(request, 'range') ? { Range: header(request, 'range') } : {}),
      });
    case 'PUT':
      if (sub('tagging')) return named('PutObjectTagging');
      if (sub('partNumber') && sub('uploadId')) return named(copySource ? 'UploadPartCopy' : 'UploadPart');
      if (copySource) return named('CopyObject', { Bucket, Key, CopySource: copySource });
      return named('PutObject', { Bucket, Key, ...(tagging ? { Tagging: tagging } : {}) });
    case 'POST':
      if (sub('uploads')) return named('CreateMultipartUpload');
      if (sub('uploadId')) return named('CompleteMultipartUpload');
      if (sub('restore')) return named('RestoreObject');
      return named(`POST ?${[...q.keys()].join('&')}`);
    case 'DELETE':
      if (sub('uploadId')) return named('AbortMultipartUpload');
      if (sub('tagging')) return named('DeleteObjectTagging');
      return named('DeleteObject');
    default:
      return named(`${method} object`);
  }
}

/** The operation of a request in the JSON (X-Amz-Target) or query (Action=) protocol. */
function rpcOperation(request: Pick<ProxiedRequest, 'headers' | 'body'>): {
  operation: string;
  input: Record<string, unknown>;
} {
  const target = header(request, 'x-amz-target');
  if (target) {
    let input: Record<string, unknown>;
    try {
      input = request.body ? (JSON.parse(request.body) as Record<string, unknown>) : {};
    } catch {
      input = {};
    }
    return { operation: target.split('.').pop() ?? target, input };
  }
  const form = new URLSearchParams(request.body);
  const action = form.get('Action');
  if (action) return { operation: action, input: Object.fromEntries(form.entries()) };
  return { operation: 'Unknown', input: {} };
}

/** The SDK operation a signed request stands for, or undefined for an unsigned one (not an AWS call). */
export function wireOperation(request: Pick<ProxiedRequest, 'method' | 'url' | 'headers' | 'body'>) {
  const scope = credentialScope(request);
  if (!scope) return undefined;
  const { operation, input } = scope.service === 's3' ? s3Operation(request) : rpcOperation(request);
  return { ...scope, operation, input } satisfies WireOperation;
}

/** What the proxy knows of the connection a request came on. */
export interface WireTransport {
  readonly secure: boolean;
  /** The negotiated protocol, "TLSv1.3"; recorded as s3:TlsVersion "1.3" on S3 calls. */
  readonly protocol?: string;
}

/** The recorded calls of one request off the wire (its own and the implied ones), as mapCall maps them. */
export function wireCalls(
  request: Pick<ProxiedRequest, 'method' | 'url' | 'headers' | 'body'>,
  transport: WireTransport,
  options: RecordOptions,
): RecordedCall[] {
  const operation = wireOperation(request);
  if (!operation) return [];
  const env: CallEnvironment = { ...options, region: operation.region, secure: transport.secure };
  const version = transport.protocol?.replace(/^TLSv/, '');
  return mapCall(operation.service, operation.operation, operation.input, env).map((call) =>
    call.service === 's3' && !call.implied && version
      ? { ...call, context: { ...call.context, 's3:TlsVersion': version } }
      : call,
  );
}

/**
 * A rule for startFaultProxy's `fault` (or faults.ts's faultInjector): records each request's calls
 * into `recorder` and never answers, so the request goes on to the stand-in.
 */
export function recordingRule(recorder: CallRecorder, options: RecordOptions) {
  return (request: ProxiedRequest): undefined => {
    recorder.record(...wireCalls(request, { secure: request.secure ?? false, protocol: request.tlsProtocol }, options));
    return undefined;
  };
}
