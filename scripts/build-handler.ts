// Bundles handler/index.ts into HANDLER_BUNDLE_DIR/index.js. Deterministic: the same source gives the
// same bytes, so the archive's hash (and a Lambda update) changes only when the code does.
import fs from 'node:fs';
import path from 'node:path';
import { HANDLER_BUNDLE_DIR } from '../config';

const root = path.resolve(__dirname, '..');

/** The bundle the function runs, where the stack's archive takes it from. */
export const HANDLER_BUNDLE = path.join(root, HANDLER_BUNDLE_DIR, 'index.js');

/** Builds a handler bundle (the benchmark baseline's too, with the same settings). */
export async function buildHandler({ entry = path.join(root, 'handler/index.ts'), outfile = HANDLER_BUNDLE } = {}) {
  // Imported here, not at the top: the up-to-date check before every synth then costs no esbuild start-up.
  const { build } = await import('esbuild');
  return build({
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    // Prefer ES module entry points: they tree-shake far better than the CommonJS ones.
    mainFields: ['module', 'main'],
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    entryPoints: [entry],
    outfile,
    absWorkingDir: root,
  });
}

/** True when the bundle is newer than everything it is built from (handler sources, lock file, this script). */
function bundleIsCurrent(): boolean {
  if (!fs.existsSync(HANDLER_BUNDLE)) return false;
  const inputs = [path.join(root, 'package-lock.json'), __filename];
  for (const entry of fs.readdirSync(path.join(root, 'handler'), { recursive: true }))
    inputs.push(path.join(root, 'handler', String(entry)));
  const built = fs.statSync(HANDLER_BUNDLE).mtimeMs;
  return inputs.every((file) => fs.statSync(file).mtimeMs < built);
}

if (require.main === module) {
  // `cdktf synth` runs this before every synth: skipping an up-to-date bundle saves ~0.4 s there.
  if (process.argv.includes('--force') || !bundleIsCurrent()) {
    buildHandler().catch(() => process.exit(1));
  }
}
