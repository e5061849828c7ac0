// Bundles handler/index.ts into dist/handler/index.js. Deterministic: the same source gives the same
// bytes, so the archive's hash (and a Lambda update) changes only when the code does.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The settings every handler bundle of this project is built with (the benchmark baseline too). */
export const bundleOptions = {
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
};

export async function buildHandler({
  entry = path.join(root, 'handler/index.ts'),
  outfile = path.join(root, 'dist/handler/index.js'),
  metafile = false,
} = {}) {
  // Imported here, not at the top: the up-to-date check before every synth then costs no esbuild start-up.
  const { build } = await import('esbuild');
  return build({ ...bundleOptions, entryPoints: [entry], outfile, metafile, absWorkingDir: root });
}

/** True when the bundle is newer than everything it is built from (handler sources, lock file, this script). */
export function bundleIsCurrent(outfile = path.join(root, 'dist/handler/index.js')) {
  if (!fs.existsSync(outfile)) return false;
  const inputs = [path.join(root, 'package-lock.json'), fileURLToPath(import.meta.url)];
  for (const entry of fs.readdirSync(path.join(root, 'handler'), { recursive: true }))
    inputs.push(path.join(root, 'handler', String(entry)));
  const built = fs.statSync(outfile).mtimeMs;
  return inputs.every((file) => fs.statSync(file).mtimeMs < built);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `cdktf synth` runs this before every synth: skipping an up-to-date bundle saves ~0.4 s there.
  if (process.argv.includes('--force') || !bundleIsCurrent()) {
    buildHandler().catch(() => process.exit(1));
  }
}
