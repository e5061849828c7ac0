// npm run local [paths...]: uploads files to an in-process S3, delivers the events S3 would send to
// the bundled handler, and prints the metadata stored in the in-process DynamoDB table.
import fs from 'node:fs';
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { formatTable } from '../cli/output';
import { mapBounded } from '../handler/concurrency';
import { runMain } from './lib/cli';
import { contentTypeFor, startLocalPipeline } from './lib/local-pipeline';

const SAMPLES = path.resolve(__dirname, '../samples');

/** Files named on the command line (folders walked), or the shipped samples. Keys keep the relative path. */
function collectFiles(args: string[]): { file: string; key: string }[] {
  const roots = args.length > 0 ? args : [SAMPLES];
  const files: { file: string; key: string }[] = [];
  for (const root of roots) {
    if (!fs.existsSync(root)) throw new Error(`${root}: no such file or folder`);
    const base = fs.statSync(root).isDirectory() ? root : path.dirname(root);
    const walk = (p: string) => {
      if (fs.statSync(p).isDirectory()) for (const entry of fs.readdirSync(p).sort()) walk(path.join(p, entry));
      else files.push({ file: p, key: path.relative(base, p).split(path.sep).join('/') });
    };
    walk(root);
  }
  return files;
}

async function main() {
  const args = process.argv.slice(2).filter((a) => a !== '--verbose');
  const files = collectFiles(args);
  if (files.length === 0) throw new Error('no files to upload');
  console.log(
    `Starting s3rver and dynalite on loopback, uploading ${files.length} file(s)${args.length ? '' : ' from samples/'}...`,
  );
  const pipeline = await startLocalPipeline({ logLevel: process.argv.includes('--verbose') ? 'INFO' : 'WARN' });
  const bar =
    files.length > 5
      ? new SingleBar({ format: '  {bar} {value}/{total} files | {eta_formatted} left' }, Presets.shades_classic)
      : undefined;
  bar?.start(files.length, 0);
  const problems: string[] = [];
  try {
    const results = await mapBounded(files, 8, async ({ file, key }) => {
      try {
        const event = await pipeline.upload(key, fs.readFileSync(file), contentTypeFor(file));
        await pipeline.invoke(event);
        const item = await pipeline.readItem(key);
        if (!item || item.status !== 'present')
          problems.push(
            `${file}: uploaded as "${key}" but ${item ? `recorded as ${String(item.status)}` : 'not recorded'}`,
          );
        return { file, key, item };
      } catch (error) {
        problems.push(`${file}: ${(error as Error).message}`);
        return { file, key, item: undefined };
      } finally {
        bar?.increment();
      }
    });
    bar?.stop();
    console.log(`\nMetadata stored in table ${pipeline.table} (bucket ${pipeline.bucket}):\n`);
    console.log(
      formatTable(
        results.map(({ key, item }) => ({
          key,
          size: String(item?.size ?? '-'),
          contentType: String(item?.contentType ?? '-'),
          detected: String(item?.detectedContentType ?? '-'),
          mismatch: item?.contentTypeMismatch ? 'YES' : '',
          ext: String(item?.extension ?? ''),
          eTag: String(item?.eTag ?? '-'),
          status: String(item?.status ?? 'MISSING'),
        })),
      ),
    );
  } finally {
    await pipeline.close();
  }
  if (problems.length > 0) {
    console.error(`\n${problems.length} upload(s) not recorded:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`\nAll ${files.length} upload(s) recorded.`);
}

if (require.main === module) runMain('local', main);
