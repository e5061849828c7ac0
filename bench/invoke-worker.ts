// Benchmark worker: loads the bundled handler in a fresh process (a cold start), then invokes it
// once per event file entry with at most `concurrency` invocations in flight, like Lambda with
// reserved concurrency. Prints one JSON line of measurements (WorkerResult) on fd 3; the handler's
// logs and EMF metrics go to stdout, whose size is the log volume CloudWatch would ingest.
//
// scripts/bench.ts bundles this file as it bundles the handler and runs it with bare node: no TypeScript
// loader hooks sit in front of the bundle's require, so the load time is the bundle's alone.
//
//   node invoke-worker.js <bundle.js> <events.json> <concurrency> <context as JSON>
import fs from 'node:fs';
import { mapBounded } from '../handler/concurrency';

export interface WorkerResult {
  /** CPU time of the bundle's require, the module-load part of a cold start. */
  loadCpuMs: number;
  wallMs: number;
  cpuMs: number;
  invocations: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxRssKb: number;
  logBytes: number;
}

/** The fields of Lambda's context the handler reads, as the function is configured. */
export interface WorkerContext {
  functionName: string;
  memoryLimitInMB: string;
  invokedFunctionArn: string;
}

type Handler = (event: unknown, context: WorkerContext & Record<string, string>) => Promise<unknown>;

/** Counts what is written to stdout from now on. */
function countStdout(): () => number {
  let bytes = 0;
  const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    bytes += Buffer.byteLength(chunk);
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
  return () => bytes;
}

/** Latencies of the invocations, sorted, and how many failed. */
async function invokeAll(handler: Handler, events: unknown[], concurrency: number, context: WorkerContext) {
  let failures = 0;
  const latencies = await mapBounded(events, concurrency, async (event, i) => {
    const started = process.hrtime.bigint();
    await handler(event, { ...context, awsRequestId: `bench-${i + 1}`, functionVersion: '$LATEST' }).catch(
      () => failures++,
    );
    return Number(process.hrtime.bigint() - started) / 1e6;
  });
  return { failures, latencies: latencies.sort((a, b) => a - b) };
}

async function main() {
  const [bundle, eventsFile, concurrency, context] = process.argv.slice(2);
  const events = JSON.parse(fs.readFileSync(eventsFile, 'utf8')) as unknown[];
  const cpu0 = process.cpuUsage();
  // require, as Lambda loads a CommonJS handler: this line alone is the measured load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(bundle) as { handler: Handler };
  const loadCpu = process.cpuUsage(cpu0);
  const logBytes = countStdout();

  const cpu1 = process.cpuUsage();
  const t1 = process.hrtime.bigint();
  const { failures, latencies } = await invokeAll(
    handler,
    events,
    Number(concurrency),
    JSON.parse(context) as WorkerContext,
  );
  const wallMs = Number(process.hrtime.bigint() - t1) / 1e6;
  const cpu = process.cpuUsage(cpu1);
  const result: WorkerResult = {
    loadCpuMs: (loadCpu.user + loadCpu.system) / 1000,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    invocations: events.length,
    failures,
    p50Ms: latencies[Math.floor(latencies.length / 2)],
    p99Ms: latencies[Math.floor(latencies.length * 0.99)],
    maxRssKb: process.resourceUsage().maxRSS,
    logBytes: logBytes(),
  };
  fs.writeSync(3, JSON.stringify(result) + '\n');
}

if (require.main === module) void main();
