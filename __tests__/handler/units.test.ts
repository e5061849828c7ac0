import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { readConfig } from '../../handler/env';
import { ConfigurationError, InvalidRecordError } from '../../handler/errors';
import { compareSequencers, normalizeSequencer } from '../../handler/sequencer';
import { mapBounded } from '../../handler/concurrency';
import { decodeS3Key } from '../../handler/event';
import { boundUserMetadata, extensionOf, unquoteETag } from '../../handler/item';
import { buildSubsegment, currentTrace, parseDaemonAddress, traceClient } from '../../handler/tracing';
import { S3Client, HeadObjectCommand } from '@aws-sdk/client-s3';

describe('sequencer ordering (as S3 documents it)', () => {
  it.each([
    ['0055AED6DCD90281E5', '0055AED6DCD90281E6', -1],
    ['0055AED6DCD90281E5', '0055AED6DCD90281E5', 0],
    // Different lengths: right-pad the shorter with zeros, then compare.
    ['0055AED6DCD90281E5', '0055AED6DCD90281E500', 0],
    ['0055AED6DCD90281E5', '0055AED6DCD90281E501', -1],
    ['0056', '0055AED6DCD90281E5', 1],
    ['00ab', '00AB', 0],
  ])('compares %s with %s as %i', (a, b, expected) => {
    // Act & Assess
    expect(Math.sign(compareSequencers(a, b))).toBe(expected);
  });

  it('normalizes to one width so DynamoDB string comparison keeps the order', () => {
    // Act
    const older = normalizeSequencer('0055AED6DCD90281E5');
    const newer = normalizeSequencer('0055AED6DCD90281E501');
    // Assess
    expect(older.length).toBe(newer.length);
    expect(older < newer).toBe(true);
  });
});

describe('key decoding', () => {
  it.each([
    ['hello+world.txt', 'hello world.txt'],
    ['a%2Bb.txt', 'a+b.txt'],
    ['100%25+done', '100% done'],
    ['%E6%97%A5%E6%9C%AC.png', '日本.png'],
    ['dir/sub/file', 'dir/sub/file'],
  ])('decodes %s to %s', (raw, decoded) => {
    // Act & Assess
    expect(decodeS3Key(raw)).toBe(decoded);
  });

  it('rejects a malformed key as an invalid record that keeps the URIError as its cause', () => {
    // Act
    const error = (() => {
      try {
        return decodeS3Key('bad%E0%A4%A.txt');
      } catch (thrown) {
        return thrown;
      }
    })();
    // Assess
    expect(error).toBeInstanceOf(InvalidRecordError);
    expect((error as Error).cause).toBeInstanceOf(URIError);
  });
});

describe('handler configuration', () => {
  it('requires TABLE_NAME, with an error that says why', () => {
    // Act & Assess
    expect(() => readConfig({})).toThrow(
      new ConfigurationError('TABLE_NAME is not set: the function cannot know which DynamoDB table to write to'),
    );
  });

  it('requires BUCKET_NAME, with an error that says why', () => {
    // Act & Assess
    expect(() => readConfig({ TABLE_NAME: 't', BUCKET_NAME: ' ' })).toThrow(
      new ConfigurationError('BUCKET_NAME is not set: the function cannot know which bucket it records'),
    );
  });

  it('reads its settings and rejects a bad one by name', () => {
    // Act & Assess
    expect(
      readConfig({ TABLE_NAME: 't', BUCKET_NAME: 'b-1', S3_FORCE_PATH_STYLE: 'true', RECORD_OBJECT_TAGS: 'true' }),
    ).toEqual({
      tableName: 't',
      bucketName: 'b-1',
      s3ForcePathStyle: true,
      recordObjectTags: true,
    });
    expect(() => readConfig({ TABLE_NAME: 't', BUCKET_NAME: 'b-1', S3_FORCE_PATH_STYLE: 'yes' })).toThrow(
      'S3_FORCE_PATH_STYLE must be true or false, got "yes"',
    );
    expect(() => readConfig({ TABLE_NAME: 't', BUCKET_NAME: 'b-1', RECORD_OBJECT_TAGS: '1' })).toThrow(
      'RECORD_OBJECT_TAGS must be true or false, got "1"',
    );
  });

  it('ignores the former tuning variables: the limits are fixed', () => {
    // Prepare
    const env = {
      TABLE_NAME: 't',
      BUCKET_NAME: 'b-1',
      MAX_CONCURRENCY: '0',
      SNIFF_BYTES: '1',
      MAX_USER_METADATA_BYTES: '99999',
    };
    // Act
    const config = readConfig(env);
    // Assess
    expect(config).toEqual({ tableName: 't', bucketName: 'b-1', s3ForcePathStyle: false, recordObjectTags: false });
  });

  it('fails the cold start of the entry point when TABLE_NAME is missing', async () => {
    // Prepare
    const saved = process.env.TABLE_NAME;
    delete process.env.TABLE_NAME;
    try {
      // Act & Assess
      await jest.isolateModulesAsync(async () => {
        await expect(import('../../handler/index')).rejects.toThrow('TABLE_NAME is not set');
      });
    } finally {
      if (saved !== undefined) process.env.TABLE_NAME = saved;
    }
  });
});

describe('small pieces', () => {
  it('never runs more than the limit at once and keeps order', async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    // Act
    const out = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    // Assess
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });

  it('takes the extension of the last path segment only', () => {
    // Act & Assess
    expect(extensionOf('a.dir/file.TAR')).toBe('tar');
    expect(extensionOf('a.dir/file')).toBeUndefined();
    expect(extensionOf('.bashrc')).toBeUndefined();
  });

  it('keeps small user metadata whole', () => {
    // Act & Assess
    expect(boundUserMetadata({ a: '1' }, 400)).toEqual({ userMetadata: { a: '1' } });
    expect(boundUserMetadata({}, 400)).toEqual({});
  });

  it('unquotes ETags, as HEAD sends them, and leaves bare ones alone', () => {
    // Act & Assess
    expect(unquoteETag('"0123abcd"')).toBe('0123abcd');
    expect(unquoteETag('0123abcd')).toBe('0123abcd');
    expect(unquoteETag(undefined)).toBeUndefined();
  });
});

describe('X-Ray subsegments', () => {
  const SAMPLED = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

  /** Runs `fn` with Lambda's trace header set to `header` (unset when undefined), then restores it. */
  async function withTraceHeader<T>(header: string | undefined, fn: () => T | Promise<T>): Promise<T> {
    const saved = process.env._X_AMZN_TRACE_ID;
    const set = (value: string | undefined) => {
      if (value === undefined) delete process.env._X_AMZN_TRACE_ID;
      else process.env._X_AMZN_TRACE_ID = value;
    };
    set(header);
    try {
      return await fn();
    } finally {
      set(saved);
    }
  }

  it('reads the trace header only when the invocation is sampled', async () => {
    // Act
    const sampled = await withTraceHeader(SAMPLED, currentTrace);
    const notSampled = await withTraceHeader(SAMPLED.replace('Sampled=1', 'Sampled=0'), currentTrace);
    const untraced = await withTraceHeader(undefined, currentTrace);
    // Assess
    expect(sampled).toEqual({ traceId: '1-5759e988-bd862e3fe1be46a994272793', parentId: '53995c3f42cd8ad8' });
    expect(notSampled).toBeUndefined();
    expect(untraced).toBeUndefined();
  });

  it('parses both forms of the daemon address', () => {
    // Act & Assess
    expect(parseDaemonAddress('169.254.79.129:2000')).toEqual({ host: '169.254.79.129', port: 2000 });
    expect(parseDaemonAddress('tcp:127.0.0.1:2000 udp:127.0.0.2:2001')).toEqual({ host: '127.0.0.2', port: 2001 });
  });

  it('marks throttling as an error with throttle, and 5xx as a fault', () => {
    // Prepare
    const trace = { traceId: '1-a-b', parentId: 'p' };
    const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
    // Act
    const throttling = buildSubsegment(trace, {
      service: 'DynamoDB',
      operation: 'PutItem',
      start: 1000,
      end: 1500,
      metadata: { httpStatusCode: 400, attempts: 3 },
      error: throttled,
    });
    const serverError = buildSubsegment(trace, {
      service: 'S3',
      operation: 'HeadObject',
      start: 0,
      end: 1,
      metadata: { httpStatusCode: 503 },
      error: new Error('x'),
    });
    // Assess
    expect(throttling).toMatchObject({
      name: 'DynamoDB',
      namespace: 'aws',
      start_time: 1,
      end_time: 1.5,
      error: true,
      throttle: true,
      aws: { operation: 'PutItem', retries: 2 },
    });
    expect(serverError).toMatchObject({ fault: true });
  });

  it('sends one subsegment per SDK call to the daemon over UDP', async () => {
    // Prepare: a UDP "daemon" on a free loopback port, and a client whose calls fail fast.
    const daemon = createSocket('udp4');
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    const received = new Promise<string>((resolve) => daemon.once('message', (m) => resolve(m.toString())));
    const env = { AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as AddressInfo).port}` };
    const s3 = traceClient(
      new S3Client({
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:1',
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      }),
      'S3',
      env,
    );
    // Act
    await withTraceHeader(SAMPLED, () =>
      expect(s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }))).rejects.toThrow(),
    );
    const [header, document] = (await received).split('\n');
    daemon.close();
    // Assess
    expect(JSON.parse(header)).toEqual({ format: 'json', version: 1 });
    expect(JSON.parse(document)).toMatchObject({
      type: 'subsegment',
      name: 'S3',
      namespace: 'aws',
      trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      parent_id: '53995c3f42cd8ad8',
      fault: true,
      aws: { operation: 'HeadObject', region: 'us-east-1' },
    });
  });
});
