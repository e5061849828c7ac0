// The pure parts of tap reconcile: classification, the key set, the listing's paging, capacity rates,
// the status line and the text report.
import { mockClient } from 'aws-sdk-client-mock';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import type { MetadataItem } from '../../handler/item';
import { classifyKey, needsSecondLook, staleReason } from '../../cli/reconcile/classify';
import { KeySet, keyHash } from '../../cli/reconcile/key-set';
import { BucketEntry, entriesOf, listKey, listKeys } from '../../cli/reconcile/listing';
import { ratesOf } from '../../cli/reconcile/pacing';
import { statusLine } from '../../cli/progress';
import { checkpointFiles } from '../../cli/reconcile/checkpoint';
import { exitCodeOf } from '../../cli/commands/reconcile';
import { FakeBucket } from '../support/reconcile-bucket';

const version = (versionId: string, extra: Partial<BucketEntry> = {}): BucketEntry => ({
  key: 'k',
  versionId,
  deleteMarker: false,
  isLatest: false,
  storageClass: 'STANDARD',
  size: 3,
  eTag: 'e',
  ...extra,
});

const item = (versionId: string, extra: Partial<MetadataItem> = {}): MetadataItem => ({
  objectKey: 'k',
  versionId,
  bucket: 'b',
  key: 'k',
  status: 'present',
  eventName: 'ObjectCreated:Put',
  eventTime: '2026-11-01T00:00:00.000Z',
  sequencer: '0A',
  processedAt: '2026-11-01T00:00:01.000Z',
  storageClass: 'STANDARD',
  size: 3,
  eTag: 'e',
  ...extra,
});

describe('classifyKey', () => {
  it('finds nothing when every entry has the item it should', () => {
    // Prepare
    const entries = [version('v2'), version('m1', { deleteMarker: true, storageClass: undefined })];
    const items = [item('v2'), item('m1', { deleteMarker: true, storageClass: undefined, size: undefined })];
    // Act
    const drifts = classifyKey('k', entries, items);
    // Assess
    expect(drifts).toEqual([]);
    expect(needsSecondLook(drifts)).toBe(false);
  });

  it('calls a listed version without an item missing, and needs no second look for it', () => {
    // Act
    const drifts = classifyKey('k', [version('v1')], []);
    // Assess
    expect(drifts).toEqual([{ kind: 'missing', key: 'k', versionId: 'v1', entry: version('v1') }]);
    expect(needsSecondLook(drifts)).toBe(false);
  });

  it.each([
    ['present', true],
    ['unreadable', true],
    ['deleted', false],
    ['expired', false],
    ['gone', false],
  ] as const)('calls an item saying %s for a version the bucket lacks extra: %s', (status, extra) => {
    // Act
    const drifts = classifyKey('k', [], [item('v1', { status })]);
    // Assess
    expect(drifts.map((d) => d.kind)).toEqual(extra ? ['extra'] : []);
  });

  it.each([
    ['a removed version that is listed', version('v1'), item('v1', { status: 'deleted' }), 'status'],
    ['a gone version that is listed', version('v1'), item('v1', { status: 'gone' }), 'status'],
    ['a lost transition', version('v1', { storageClass: 'GLACIER' }), item('v1'), 'storageClass'],
    ['a marker item for a version', version('v1'), item('v1', { deleteMarker: true }), 'deleteMarker'],
    ['a version item for a marker', version('v1', { deleteMarker: true }), item('v1'), 'deleteMarker'],
    [
      'a removed marker that is listed',
      version('m', { deleteMarker: true }),
      item('m', { deleteMarker: true, status: 'deleted' }),
      'status',
    ],
    ['another size', version('v1', { size: 4 }), item('v1'), 'content'],
    ['another ETag', version('v1', { eTag: 'f' }), item('v1'), 'content'],
  ])('calls %s stale', (_what, entry, stored, reason) => {
    // Act
    const drifts = classifyKey('k', [entry], [stored]);
    // Assess
    expect(drifts).toMatchObject([{ kind: 'stale', reason }]);
    expect(needsSecondLook(drifts)).toBe(true);
  });

  it('compares no storage class an item never learnt (SSE-C: no HEAD), nor an unknown size', () => {
    // Act & Assess
    expect(staleReason(version('v1'), item('v1', { status: 'unreadable', storageClass: undefined }))).toBeUndefined();
    expect(staleReason(version('v1', { size: undefined }), item('v1', { size: 9 }))).toBeUndefined();
  });
});

describe('KeySet', () => {
  it('tells the keys it was given from others, across growth and once sorted', () => {
    // Prepare
    const keys = new KeySet('seed');
    for (let i = 0; i < 3000; i++) keys.add(`key-${i}`);
    // Act & Assess
    expect(keys.size).toBe(3000);
    expect([0, 1023, 1024, 2999].every((i) => keys.has(`key-${i}`))).toBe(true);
    expect(['key-3000', 'key--1', ''].some((k) => keys.has(k))).toBe(false);
  });

  it('round-trips through its bytes, which depend on the seed', () => {
    // Prepare
    const keys = new KeySet('s1');
    ['a', 'b', 'c'].forEach((k) => keys.add(k));
    // Act
    const copy = KeySet.fromBytes('s1', Buffer.concat([keys.bytesFrom(0), Buffer.from([1, 2, 3])]));
    const otherSeed = KeySet.fromBytes('s2', keys.bytesFrom(0));
    // Assess
    expect(copy.size).toBe(3);
    expect(copy.has('b')).toBe(true);
    expect(keyHash('s1', 'a')).not.toBe(keyHash('s2', 'a'));
    expect(otherSeed.has('b')).toBe(false);
  });
});

describe('the listing', () => {
  const s3Mock = mockClient(S3Client);
  const s3 = new S3Client({ region: 'us-east-1' });
  beforeEach(() => s3Mock.reset());
  afterAll(() => s3Mock.restore());

  it('merges versions and markers into one newest-first list per key', () => {
    // Act
    const entries = entriesOf({
      Versions: [
        { Key: 'a', VersionId: 'v1', LastModified: new Date(1000), ETag: '"x"', Size: 1 },
        { Key: 'b', VersionId: 'v3', LastModified: new Date(3000) },
      ],
      DeleteMarkers: [{ Key: 'a', VersionId: 'm2', LastModified: new Date(2000) }],
    });
    // Assess
    expect(entries.map((e) => `${e.key}@${e.versionId}`)).toEqual(['a@m2', 'a@v1', 'b@v3']);
    expect(entries[1]).toMatchObject({ eTag: 'x', storageClass: 'STANDARD', deleteMarker: false });
    expect(entries[0]).toMatchObject({ deleteMarker: true });
    expect(entries[0].storageClass).toBeUndefined();
  });

  it('hands out each key once with all its entries, across pages, and resumes after a key', async () => {
    // Prepare: pages of 2 entries, so "b" spans two pages
    const bucket = new FakeBucket('b', 2);
    ['a', 'b', 'b', 'b', 'c'].forEach((k) => bucket.put(k, k));
    bucket.install(s3Mock);
    // Act
    const all: string[] = [];
    for await (const group of listKeys(s3, 'b')) all.push(`${group.key}:${group.entries.length}`);
    const resumed: string[] = [];
    for await (const group of listKeys(s3, 'b', { afterKey: 'a' })) resumed.push(group.key);
    // Assess
    expect(all).toEqual(['a:1', 'b:3', 'c:1']);
    expect(resumed).toEqual(['b', 'c']);
  });

  it('drops keys up to afterKey even when a store returns some (moto returns part of that key)', async () => {
    // Prepare
    s3Mock.on(ListObjectVersionsCommand).resolves({
      Versions: [
        { Key: 'a', VersionId: 'v1' },
        { Key: 'b', VersionId: 'v2' },
      ],
    });
    // Act
    const keys: string[] = [];
    for await (const group of listKeys(s3, 'b', { afterKey: 'a' })) keys.push(group.key);
    // Assess
    expect(keys).toEqual(['b']);
  });

  it('lists one key afresh, ignoring longer keys with the same start', async () => {
    // Prepare
    const bucket = new FakeBucket('b', 2);
    ['a', 'a', 'a', 'ab', 'b'].forEach((k) => bucket.put(k, k));
    bucket.install(s3Mock);
    // Act
    const entries = await listKey(s3, 'b', 'a');
    // Assess
    expect(entries.map((e) => e.key)).toEqual(['a', 'a', 'a']);
  });
});

describe('capacity rates', () => {
  it('takes the share of provisioned capacity', () => {
    // Act
    const rates = ratesOf(
      { ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 40 } },
      {
        read: 0.5,
        write: 0.25,
      },
    );
    // Assess
    expect(rates).toEqual({ readPerSecond: 50, writePerSecond: 10, onDemand: false });
  });

  it('assumes 100/100 for an on-demand table, or its maximum throughput when it has one', () => {
    // Act
    const plain = ratesOf({ BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' } }, { read: 0.5, write: 0.5 });
    const capped = ratesOf(
      {
        BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
        ProvisionedThroughput: { ReadCapacityUnits: 0, WriteCapacityUnits: 0 },
        OnDemandThroughput: { MaxReadRequestUnits: 400, MaxWriteRequestUnits: 200 },
      },
      { read: 0.5, write: 0.5 },
    );
    // Assess
    expect(plain).toEqual({ readPerSecond: 50, writePerSecond: 50, onDemand: true });
    expect(capped).toEqual({ readPerSecond: 200, writePerSecond: 100, onDemand: true });
  });
});

describe('reconcile odds and ends', () => {
  it('draws the status line on a terminal only, at most five times a second', () => {
    // Prepare
    const written: string[] = [];
    let now = 0;
    const stream = (isTTY: boolean) =>
      ({ isTTY, columns: 40, write: (s: string) => written.push(s) > 0 }) as unknown as NodeJS.WriteStream;
    // Act
    const pipe = statusLine(stream(false), () => now);
    pipe.update('nothing');
    pipe.done();
    const tty = statusLine(stream(true), () => now);
    now = 1000;
    tty.update('first');
    now = 1100;
    tty.update('too soon');
    now = 1300;
    tty.update('x'.repeat(60));
    tty.done();
    // Assess
    expect(written).toEqual(['\r\x1b[2Kfirst', `\r\x1b[2K${'x'.repeat(38)}…`, '\r\x1b[2K']);
  });

  it('names the checkpoint after bucket, table and prefix, safely', () => {
    // Act
    const a = checkpointFiles('/x', { bucket: 'b', table: 't', prefix: 'in/../' });
    const b = checkpointFiles('/x', { bucket: 'b', table: 't', prefix: '' });
    // Assess
    expect(a.json).toMatch(/^\/x\/reconcile-b\.t\.in_\.\._-[0-9a-f]{10}\.json$/);
    expect(b.keys).toMatch(/^\/x\/reconcile-b\.t-[0-9a-f]{10}\.keys$/);
  });

  it('exits 0 only with no drift remaining and a complete run', () => {
    // Act & Assess
    expect(exitCodeOf({ remaining: 0, interrupted: false })).toBe(0);
    expect(exitCodeOf({ remaining: 1, interrupted: false })).toBe(1);
    expect(exitCodeOf({ remaining: 0, interrupted: true })).toBe(1);
  });
});
