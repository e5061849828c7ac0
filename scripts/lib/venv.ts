// Python tools (checkov, moto, parliament) live in project-local virtual environments under .venv/,
// created and filled from the pinned requirements in tools/ on first use, and again whenever those
// change. Several processes may ask at once (jest workers, scripts): one builds, the others wait.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { info, root } from './cli';

/** A builder that has not finished in this time is taken to have died (pip installs take under a minute here). */
const STALE_LOCK_MS = 10 * 60 * 1000;
const WAIT_STEP_MS = 500;

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The bin folder of .venv/<name>, installed from tools/requirements-<name>.txt when missing or out of date. */
export function ensureVenv(name: string): string {
  const requirements = path.join(root, 'tools', `requirements-${name}.txt`);
  const dir = path.join(root, '.venv', name);
  const stamp = path.join(dir, '.requirements.sha256');
  const wanted = createHash('sha256').update(fs.readFileSync(requirements)).digest('hex');
  const ready = () => fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted;
  const lock = `${dir}.lock`;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  while (!ready()) {
    try {
      fs.mkdirSync(lock);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another process is building it: wait for it, or take over a lock its builder left behind.
      if (Date.now() - fs.statSync(lock).mtimeMs > STALE_LOCK_MS) fs.rmSync(lock, { recursive: true, force: true });
      else sleepSync(WAIT_STEP_MS);
      continue;
    }
    try {
      if (!ready()) build(name, dir, requirements, stamp, wanted);
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
  return path.join(dir, 'bin');
}

function build(name: string, dir: string, requirements: string, stamp: string, wanted: string): void {
  info(`creating .venv/${name} from tools/requirements-${name}.txt (first run only)`);
  const python3 = process.env.PYTHON ?? 'python3';
  execFileSync(python3, ['-m', 'venv', '--clear', dir], { stdio: 'inherit' });
  try {
    execFileSync(
      path.join(dir, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements],
      { stdio: 'pipe' },
    );
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`pip install -r tools/requirements-${name}.txt failed:\n${stderr.slice(-4000)}`, {
      cause: error,
    });
  }
  fs.writeFileSync(stamp, wanted);
}
