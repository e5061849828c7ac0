// Python tools (checkov, moto) live in project-local virtual environments under .venv/, created and
// filled from the pinned requirements in tools/ on first use, and again whenever those change.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { info, root } from './cli';

/** The bin folder of .venv/<name>, installed from tools/requirements-<name>.txt when missing or out of date. */
export function ensureVenv(name: string): string {
  const requirements = path.join(root, 'tools', `requirements-${name}.txt`);
  const dir = path.join(root, '.venv', name);
  const stamp = path.join(dir, '.requirements.sha256');
  const wanted = createHash('sha256').update(fs.readFileSync(requirements)).digest('hex');
  const python = path.join(dir, 'bin', 'python');
  if (fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted)
    return path.join(dir, 'bin');
  info(`creating .venv/${name} from tools/requirements-${name}.txt (first run only)`);
  const python3 = process.env.PYTHON ?? 'python3';
  execFileSync(python3, ['-m', 'venv', '--clear', dir], { stdio: 'inherit' });
  try {
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements], {
      stdio: 'pipe',
    });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`pip install -r tools/requirements-${name}.txt failed:\n${stderr.slice(-4000)}`, {
      cause: error,
    });
  }
  fs.writeFileSync(stamp, wanted);
  return path.join(dir, 'bin');
}
