// Bundles handler/index.ts into dist/handler/index.js. Deterministic: the same source gives the same
// bytes, so the archive's hash (and a Lambda update) changes only when the code does.
import { build } from 'esbuild';
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

export async function buildHandler({ entry = path.join(root, 'handler/index.ts'), outfile = path.join(root, 'dist/handler/index.js'), metafile = false } = {}) {
  return build({ ...bundleOptions, entryPoints: [entry], outfile, metafile, absWorkingDir: root });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildHandler();
}
