// tap upload against s3rver and dynalite in-process: s3rver's own notifications run the real handler
// (createHandler), so an upload is recorded the way the deployed pipeline records it. A fault proxy in
// front of s3rver counts the parts of a multipart upload and answers AccessDenied where a test asks.
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { runTap } from '../support/cli';
import { contentTypeOf, partPlan, PART_SIZE, planUploads, records, unrecordedKeys } from '../../cli/commands/upload';
import { CliError } from '../../cli/errors';
import {
  createPipelineStorage,
  ProxiedRequest,
  StandIn,
  standInClients,
  startDynalite,
  dynamodbError,
  s3Error,
  startFaultProxy,
  STANDIN_CREDENTIALS,
} from '../../fixtures/standins';
import { handlerWith, PNG_BYTES, TEST_CONFIG } from '../support/handler';

const BUCKET = 'tap-cli-upload';
const TABLE = TEST_CONFIG.tableName;
/** Keys the simulated pipeline leaves alone, as the stack's notification filter would. */
const UNPROCESSED = 'unprocessed/';
const saved = { ...process.env };
let s3rver: S3rver;
let s3rverDir: string;
let dynalite: StandIn;
let proxy: StandIn & { requests: ProxiedRequest[] };
let clients: ReturnType<typeof standInClients>;
let work: string;
const pipelineErrors: unknown[] = [];
/** Handler invocations still running, awaited before the stand-ins close. */
const inFlight = new Set<Promise<unknown>>();

beforeAll(async () => {
  s3rverDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-upload-s3rver-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3rverDir, resetOnClose: true });
  const [{ port }, started] = await Promise.all([s3rver.run(), startDynalite()]);
  dynalite = started;
  const s3rverEndpoint = `http://127.0.0.1:${port}`;
  clients = standInClients(s3rverEndpoint, dynalite.endpoint);
  await createPipelineStorage(clients, { bucket: BUCKET, table: TABLE });
  // The pipeline: every object s3rver stores becomes an S3 notification for the real handler.
  const { handler } = handlerWith(clients);
  (s3rver as unknown as EventEmitter).on('event', (event: { Records: { s3: { object: { key: string } } }[] }) => {
    if (event.Records[0].s3.object.key.startsWith(UNPROCESSED)) return;
    const run = handler(event).catch((error: unknown) => pipelineErrors.push(error));
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  });
  proxy = await startFaultProxy(s3rverEndpoint, (request) =>
    request.url.includes('/denied/') ? s3Error(403, 'AccessDenied', 'Access Denied', request.method) : undefined,
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: proxy.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
  });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-upload-files-'));
});

afterAll(async () => {
  await Promise.all(inFlight);
  process.env = saved;
  clients.s3.destroy();
  clients.dynamodb.destroy();
  await Promise.all([s3rver?.close(), dynalite?.close(), proxy?.close()]);
  fs.rmSync(s3rverDir, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

afterEach(() => expect(pipelineErrors).toEqual([]));

/** Writes `files` (relative path -> bytes) under a fresh folder and returns it. */
function folderWith(files: Record<string, Buffer | string>): string {
  const dir = fs.mkdtempSync(path.join(work, 'f-'));
  for (const [name, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), body);
  }
  return dir;
}

/** `tap args... --bucket B --table T`. */
const tap = (...args: string[]) => runTap([...args, '--bucket', BUCKET, '--table', TABLE]);

describe('tap upload', () => {
  it("uploads a file and prints its version's item like tap show, with no progress bar off a terminal", async () => {
    // Prepare
    const dir = folderWith({ 'notes.txt': 'hello' });
    // Act
    const result = await tap('upload', path.join(dir, 'notes.txt'));
    // Assess
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [header, , row] = result.stdout.split('\n');
    expect(header).toMatch(/^key\s+versionId\s+status\s+size\s+contentType/);
    expect(row).toMatch(/^notes\.txt\s+null\s+present\s+5\s+text\/plain/);
  });

  it('walks folders, keys files by their path inside with --prefix, and prints the items as JSON', async () => {
    // Prepare
    const dir = folderWith({ 'a.txt': 'a', 'empty.txt': '', 'sub/pixel.png': PNG_BYTES });
    // Act
    const result = await tap('upload', dir, '--prefix', 'in/', '--json');
    // Assess
    expect(result.code).toBe(0);
    const items = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(items).toEqual([
      expect.objectContaining({ objectKey: 'in/a.txt', versionId: 'null', contentType: 'text/plain' }),
      expect.objectContaining({ objectKey: 'in/empty.txt', size: 0, status: 'present' }),
      expect.objectContaining({
        objectKey: 'in/sub/pixel.png',
        contentType: 'image/png',
        detectedContentType: 'image/png',
      }),
    ]);
  });

  it('waits for the new item when an unversioned key is uploaded again, not the one already there', async () => {
    // Prepare
    const dir = folderWith({ 'again.txt': 'first' });
    const first = JSON.parse((await tap('upload', path.join(dir, 'again.txt'), '--json')).stdout)[0];
    fs.writeFileSync(path.join(dir, 'again.txt'), 'second!');
    // Act
    const result = await tap('upload', path.join(dir, 'again.txt'), '--json');
    // Assess
    const second = JSON.parse(result.stdout)[0];
    expect(second.sequencer).not.toBe(first.sequencer);
    expect(second.size).toBe(7);
  });

  it('says which upload is not recorded yet after --wait seconds, and exits 1', async () => {
    // Prepare
    const dir = folderWith({ 'late.txt': 'never processed' });
    // Act
    const result = await tap('upload', path.join(dir, 'late.txt'), '--prefix', UNPROCESSED, '--wait', '1');
    // Assess
    expect(result).toMatchObject({ code: 1, stderr: `not recorded yet after 1 s: ${UNPROCESSED}late.txt@null` });
  });

  it('uploads a file larger than 8 MiB in 8 MiB parts and waits for its item', async () => {
    // Prepare
    const size = PART_SIZE + 1024 * 1024;
    const dir = folderWith({ 'big.bin': Buffer.alloc(size, 7) });
    proxy.requests.length = 0;
    // Act
    const result = await tap('upload', path.join(dir, 'big.bin'), '--json');
    // Assess
    expect(result.code).toBe(0);
    // Parts travel in parallel: their sizes, largest first.
    const parts = proxy.requests.filter((r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url));
    const sizes = parts.map((r) => Buffer.byteLength(r.body, 'latin1')).sort((a, b) => b - a);
    expect(sizes).toEqual([PART_SIZE, size - PART_SIZE]);
    expect(proxy.requests.some((r) => r.method === 'POST' && r.url.includes('uploadId='))).toBe(true);
    expect(JSON.parse(result.stdout)[0]).toMatchObject({ objectKey: 'big.bin', size, status: 'present' });
  });

  it('names the uploaders_policy_arn output when S3 answers AccessDenied', async () => {
    // Prepare
    const dir = folderWith({ 'x.txt': 'x' });
    // Act
    const result = await tap('upload', path.join(dir, 'x.txt'), '--prefix', 'denied/');
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^tap: access denied uploading .*x\.txt to s3:\/\/tap-cli-upload\/denied\/x\.txt \(AccessDenied\)/,
    );
    expect(result.stderr).toContain("writers need the stack's uploaders policy");
    expect(result.stderr).toContain('uploaders_policy_arn');
  });

  it('tells an uploader without table access to use --wait 0, before uploading anything', async () => {
    // Prepare: a table that refuses this principal's reads, as for a principal with only the uploaders policy.
    const denyingTable = await startFaultProxy(dynalite.endpoint, () =>
      dynamodbError(400, 'com.amazon.coral.service#AccessDeniedException', 'not authorized to perform: dynamodb:Query'),
    );
    process.env.AWS_ENDPOINT_URL_DYNAMODB = denyingTable.endpoint;
    const dir = folderWith({ 'only-upload.txt': 'u' });
    const uploadsBefore = proxy.requests.filter((r) => r.method === 'PUT').length;
    try {
      // Act
      const result = await tap('upload', path.join(dir, 'only-upload.txt'));
      // Assess
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^tap: access to DynamoDB table "[^"]+" denied \(AccessDeniedException\)/);
      expect(result.stderr).toContain('run with --wait 0 to upload without waiting, nothing was uploaded');
      expect(proxy.requests.filter((r) => r.method === 'PUT').length).toBe(uploadsBefore);
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = dynalite.endpoint;
      await denyingTable.close();
    }
  });

  it('refuses, before uploading, keys the stack would never hand to its function', async () => {
    // Prepare
    const dir = folderWith({ 'report.pdf': 'pdf' });
    process.env.TAP_NOTIFICATION_PREFIX = 'incoming/';
    try {
      // Act
      const refused = await runTap(['upload', path.join(dir, 'report.pdf'), '--table', TABLE]);
      const unwaited = await tap('upload', path.join(dir, 'report.pdf'), '--prefix', UNPROCESSED, '--wait', '0');
      // Assess
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('report.pdf would never be recorded: use --prefix, or --wait 0');
      expect(unwaited.code).toBe(0);
      expect(unwaited.stdout).toMatch(/^unprocessed\/report\.pdf\s+null\s+3$/m);
    } finally {
      delete process.env.TAP_NOTIFICATION_PREFIX;
    }
  });
});

describe('planning uploads', () => {
  it('plans 8 MiB parts, more than 8 MiB only where 10,000 parts would not hold the file', () => {
    // Act
    const small = partPlan(1024);
    const nine = partPlan(9 * 1024 * 1024);
    const huge = partPlan(100 * 1024 ** 3);
    // Assess
    expect(small).toEqual({ partSize: PART_SIZE, parts: 1, multipart: false });
    expect(nine).toEqual({ partSize: PART_SIZE, parts: 2, multipart: true });
    expect(huge.partSize).toBeGreaterThan(PART_SIZE);
    expect(huge.parts).toBeLessThanOrEqual(10_000);
  });

  it("keys a file by its name, and a folder's files by their path inside it, behind the prefix", () => {
    // Prepare
    const dir = folderWith({ 'top.txt': '1', 'nested/deep/leaf.json': '{}' });
    // Act
    const folder = planUploads([dir], 'p/');
    const file = planUploads([path.join(dir, 'top.txt')]);
    // Assess
    expect(folder.map((p) => p.key)).toEqual(['p/nested/deep/leaf.json', 'p/top.txt']);
    expect(file).toEqual([{ file: path.join(dir, 'top.txt'), key: 'top.txt', size: 1 }]);
  });

  it('refuses two files with one key, and a path that does not exist', () => {
    // Prepare
    const dir = folderWith({ 'top.txt': '1' });
    // Act
    const twice = () => planUploads([dir, path.join(dir, 'top.txt')]);
    const missing = () => planUploads([path.join(dir, 'nope')]);
    // Assess
    expect(twice).toThrow(CliError);
    expect(twice).toThrow('would both be uploaded as "top.txt"');
    expect(missing).toThrow('no such file or folder');
  });

  it('guesses Content-Type from the extension, octet-stream when unknown', () => {
    // Act
    const types = ['a.png', 'b.JSON', 'c.tar.gz', 'd.weird-ext'].map(contentTypeOf);
    // Assess
    expect(types).toEqual(['image/png', 'application/json', 'application/gzip', 'application/octet-stream']);
  });

  it("finds the keys the stack's notification filter leaves out", () => {
    // Act
    const left = unrecordedKeys(['in/a.jpg', 'in/b.png', 'out/c.jpg'], {
      notificationPrefix: 'in/',
      notificationSuffix: '.jpg',
    });
    // Assess
    expect(left).toEqual(['in/b.png', 'out/c.jpg']);
  });

  it("takes an item for an upload only when it is that version's, and not the null version's old item", () => {
    // Act
    const versioned = records({ versionId: 'v2', sequencer: 'A' }, { versionId: 'v2' });
    const otherVersion = records({ versionId: 'v1', sequencer: 'A' }, { versionId: 'v2' });
    const stale = records({ versionId: 'null', sequencer: 'A' }, { versionId: 'null', before: 'A' });
    const fresh = records({ versionId: 'null', sequencer: 'B' }, { versionId: 'null', before: 'A' });
    // Assess
    expect([versioned, otherVersion, stale, fresh]).toEqual([true, false, false, true]);
  });
});
