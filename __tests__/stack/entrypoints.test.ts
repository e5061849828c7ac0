// The entry points users run: the CDKTF app (`cdktf synth` runs main.ts), the handler bundle, and the
// scripts, which must do nothing until they are run.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
/** Node with TypeScript loaded as the package.json scripts and cdktf.json load it. */
const tsNode = (script: string, env: NodeJS.ProcessEnv = process.env) =>
  run(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, env, timeout: 60_000 });
const scratchDirs: string[] = [];
/** A new temporary folder, removed after the test. */
const scratch = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of scratchDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('main.ts as the CDKTF app', () => {
  it('fails synth with the message that names the bad setting, and synthesizes no stack', async () => {
    // Prepare
    const outdir = scratch('tap-synth-');
    // Act
    const result = run(process.execPath, ['--require', 'tsx/cjs', 'main.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: outdir, TAP_LOG_RETENTION_DAYS: '42', TAP_TABLE_WRITE_CAPACITY: '0' },
    });
    // Assess
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
    // Prepare
    const dir = scratch('tap-bundle-');
    const build = (outfile: string) =>
      tsNode(`require('./scripts/build-handler.ts').buildHandler({ outfile: ${JSON.stringify(outfile)} })`);
    const hash = (f: string) =>
      createHash('sha256')
        .update(fs.readFileSync(path.join(dir, f)))
        .digest('hex');
    // Act
    await build(path.join(dir, 'a.js'));
    await build(path.join(dir, 'b.js'));
    // Assess
    expect(hash('a.js')).toBe(hash('b.js'));
    expect(fs.statSync(path.join(dir, 'a.js')).size).toBeGreaterThan(100_000);
  });
});

describe('the scripts', () => {
  const modules = ['scripts', 'scripts/lib', 'bench'].flatMap((dir) =>
    fs
      .readdirSync(path.join(ROOT, dir))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `./${dir}/${f}`),
  );

  it('do nothing when imported: each runs only as the entry point', async () => {
    // Prepare
    const script = modules.map((m) => `require(${JSON.stringify(m)});`).join('');
    // Act
    const { stdout, stderr } = await tsNode(script, {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    // Assess
    expect(modules).toEqual(
      expect.arrayContaining(['./scripts/security.ts', './scripts/e2e.ts', './scripts/local.ts']),
    );
    expect({ stdout, stderr }).toEqual({ stdout: '', stderr: '' });
  });
});
