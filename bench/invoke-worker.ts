// Benchmark worker: loads the bundled handler in a fresh process (a cold start), then invokes it
// once per event file entry with at most CONCURRENCY invocations in flight, like Lambda with
// reserved concurrency. Prints one JSON line of measurements on fd 3; the handler's logs and EMF
// metrics go to stdout, whose size is the log volume CloudWatch would ingest.
const fs = require('node:fs');
const [eventsFile, concurrencyArg] = process.argv.slice(2);
const events = JSON.parse(fs.readFileSync(eventsFile, 'utf8'));
const concurrency = Number(concurrencyArg ?? 1);
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const { handler } = require(process.env.BENCH_BUNDLE);
const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
const loadCpu = process.cpuUsage(cpu0);
let stdoutBytes = 0;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  stdoutBytes += Buffer.byteLength(chunk);
  return write(chunk, ...rest);
};
(async () => {
  const cpu1 = process.cpuUsage();
  const t1 = process.hrtime.bigint();
  let next = 0;
  let failures = 0;
  const latencies = [];
  const worker = async () => {
    while (next < events.length) {
      const event = events[next++];
      const started = process.hrtime.bigint();
      try {
        await handler(event, {
          awsRequestId: `bench-${next}`,
          functionName: 'bench',
          memoryLimitInMB: '512',
          invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bench',
          functionVersion: '$LATEST',
        });
      } catch {
        failures++;
      }
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = Number(process.hrtime.bigint() - t1) / 1e6;
  const cpu = process.cpuUsage(cpu1);
  latencies.sort((a, b) => a - b);
  fs.writeSync(
    3,
    JSON.stringify({
      loadMs,
      loadCpuMs: (loadCpu.user + loadCpu.system) / 1000,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      invocations: events.length,
      failures,
      p50Ms: latencies[Math.floor(latencies.length / 2)],
      p99Ms: latencies[Math.floor(latencies.length * 0.99)],
      maxRssKb: process.resourceUsage().maxRSS,
      logBytes: stdoutBytes,
    }) + '\n',
  );
})();
