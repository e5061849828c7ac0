// tap show against dynalite: the CLI in-process, its SDK clients pointed at the stand-in the way an
// operator points them at any endpoint (AWS_ENDPOINT_URL_DYNAMODB).
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import {
  createPipelineStorage,
  StandIn,
  standInClients,
  startDynalite,
  startS3rver,
  STANDIN_CREDENTIALS,
} from '../../fixtures/standins';
import { runTap } from '../support/cli';

const TABLE = 'tap-cli-show';
let s3rver: StandIn;
let dynalite: StandIn;
let clients: ReturnType<typeof standInClients>;
const saved = { ...process.env };

beforeAll(async () => {
  [s3rver, dynalite] = await Promise.all([startS3rver(), startDynalite()]);
  clients = standInClients(s3rver.endpoint, dynalite.endpoint);
  await createPipelineStorage(clients, { bucket: 'tap-cli-show-bucket', table: TABLE });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
  });
  for (const [versionId, sequencer, status, more] of [
    ['v1', '0A', 'present', {}],
    ['v2', '0B', 'deleted', {}],
    ['v3', '0C', 'present', { deleteMarker: true }],
    ['v4', '0D', 'unreadable', { unreadableReason: 'archived-storage-class', storageClass: 'GLACIER' }],
  ] as const) {
    await clients.dynamodb.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: marshall({
          objectKey: 'dir/a b.txt',
          versionId,
          sequencer,
          status,
          size: 3,
          eventName: 'ObjectCreated:Put',
          ...more,
        }),
      }),
    );
  }
});

afterAll(async () => {
  process.env = saved;
  clients.s3.destroy();
  clients.dynamodb.destroy();
  await Promise.all([s3rver?.close(), dynalite?.close()]);
});

const tap = (...args: string[]) => runTap(args);

describe('tap show', () => {
  it('prints every version of a key, newest event first, with delete markers and unreadable reasons', async () => {
    // Act
    const result = await tap('show', 'dir/a b.txt', '--table', TABLE);
    // Assess
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^versionId\s+status\s+size\s+contentType\s+detected\s+storageClass\s+deleteMarker\s+unreadableReason\s/,
    );
    expect(lines[2]).toMatch(/^v4\s+unreadable\s+3\s+-\s+-\s+GLACIER\s+-\s+archived-storage-class\s/);
    expect(lines[3]).toMatch(/^v3\s+present\s+3\s+-\s+-\s+-\s+yes\s+-\s/);
    expect(lines[4]).toMatch(/^v2\s+deleted\s+3\s+-\s+-\s+-\s+-\s+-\s/);
    expect(lines[5]).toMatch(/^v1\s+present\s+3\s/);
  });

  it('prints the items as JSON with --json', async () => {
    // Act
    const result = await tap('show', 'dir/a b.txt', '--table', TABLE, '--json');
    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).map((i: { versionId: string }) => i.versionId)).toEqual(['v4', 'v3', 'v2', 'v1']);
  });

  it('says so, with exit code 1, when the key has no item', async () => {
    // Act
    const result = await tap('show', 'never-uploaded', '--table', TABLE);
    // Assess
    expect(result).toMatchObject({ code: 1, stderr: `tap: no item for key "never-uploaded" in table ${TABLE}` });
  });

  it('names a missing table in one line, without a stack trace', async () => {
    // Act
    const result = await tap('show', 'k', '--table', 'no-such-table');
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tap: DynamoDB table "no-such-table" does not exist \(ResourceNotFoundException\)/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
