// The two entry points users run: the CDKTF app (`cdktf synth` runs main.ts) and the handler bundle.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');

describe('main.ts as the CDKTF app', () => {
  it('fails synth with the message that names the bad setting, and synthesizes no stack', async () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-synth-'));
    const result = run(process.execPath, ['--require', 'tsx/cjs', 'main.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: outdir, TAP_LOG_RETENTION_DAYS: '42', TAP_TABLE_WRITE_CAPACITY: '0' },
    });
    await expect(result).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        'logRetentionDays (from environment variable TAP_LOG_RETENTION_DAYS): expected one of 1, 3, 5,',
      ),
    });
    await expect(result).rejects.toMatchObject({
      stderr: expect.stringContaining(
        'tableWriteCapacity (from environment variable TAP_TABLE_WRITE_CAPACITY): expected an integer from 1 to 40000, got "0"',
      ),
    });
    expect(fs.existsSync(path.join(outdir, 'stacks', 'TapStack', 'cdk.tf.json'))).toBe(false);
  });
});

describe('the handler bundle', () => {
  it('is byte-identical when built twice from the same source', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-bundle-'));
    const build = (outfile: string) =>
      run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import('./scripts/build-handler.mjs').then((m) => m.buildHandler({ outfile: ${JSON.stringify(outfile)} }))`,
        ],
        { cwd: ROOT },
      );
    await build(path.join(dir, 'a.js'));
    await build(path.join(dir, 'b.js'));
    const hash = (f: string) =>
      createHash('sha256')
        .update(fs.readFileSync(path.join(dir, f)))
        .digest('hex');
    expect(hash('a.js')).toBe(hash('b.js'));
    expect(fs.statSync(path.join(dir, 'a.js')).size).toBeGreaterThan(100_000);
  });
});
