// The bench's memory and cost models against figures computed by hand.
import fs from 'node:fs';
import path from 'node:path';
import {
  chooseMemory,
  costPerMillionFiles,
  cpuStretch,
  fixedMonthlyCost,
  largestItems,
  memoryModel,
  Prices,
  stackSettings,
  SynthesizedStackJson,
  totalUsd,
} from '../../bench/model';
import type { WorkerResult } from '../../bench/invoke-worker';
import { BenchResults, renderReport } from '../../bench/report';

const PRICES = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'bench', 'prices.json'), 'utf8')) as Prices;
/** A round price: a million invocations cost 10 x GB x seconds. */
const ROUND_PRICE = { lambdaArmGbSecond: 0.00001 };
const DEFAULT_SETTINGS = { memoryMb: 512, readCapacity: 100, writeCapacity: 100, logRetentionDays: 365, alarmCount: 7 };
const usdOf = (items: { item: string; usd: number }[]) => Object.fromEntries(items.map((i) => [i.item, i.usd]));

describe('stackSettings', () => {
  const stack = (functions: number): SynthesizedStackJson => ({
    resource: {
      aws_lambda_function: Object.fromEntries(
        Array.from({ length: functions }, (_, i) => [`f${i}`, { memory_size: 256 }]),
      ),
      aws_dynamodb_table: { t: { read_capacity: 5, write_capacity: 7 } },
      aws_cloudwatch_log_group: { l: { retention_in_days: 30 } },
      aws_cloudwatch_metric_alarm: { a: {}, b: {}, c: {} },
    },
  });

  it('reads memory, capacities, retention and the alarm count from the synthesized stack', () => {
    // Act
    const settings = stackSettings(stack(1));
    // Assess
    expect(settings).toEqual({ memoryMb: 256, readCapacity: 5, writeCapacity: 7, logRetentionDays: 30, alarmCount: 3 });
  });

  it('refuses a stack with more than one function rather than picking one', () => {
    // Act & Assess
    expect(() => stackSettings(stack(2))).toThrow('expected one aws_lambda_function in the stack, found 2');
  });
});

describe('memory model', () => {
  const measured = { cpuPerObjectMs: 10, loadCpuMs: 100 };

  it('stretches CPU time by 1769/M below a full vCPU, and not at all above it', () => {
    // Act & Assess
    expect(cpuStretch(256)).toBe(6.91015625);
    expect(cpuStretch(1769)).toBe(1);
    expect(cpuStretch(3538)).toBe(1);
  });

  it('estimates warm duration, cold init and duration cost per setting', () => {
    // Act
    const model = memoryModel(measured, 40, ROUND_PRICE, [256, 1769, 3538]);
    // Assess
    // 256 MB: 40 + 10 x 6.91015625 ms warm; 100 x 6.91015625 ms cold; 10 x 0.25 GB x 0.1091015625 s.
    expect(model[0].warmMs).toBeCloseTo(109.1015625, 9);
    expect(model[0].coldInitMs).toBeCloseTo(691.015625, 9);
    expect(model[0].costPerMillion).toBeCloseTo(0.27275390625, 9);
    // 1769 MB: 50 ms warm, 100 ms cold, 10 x 1.7275390625 GB x 0.05 s.
    expect(model[1]).toEqual({
      mb: 1769,
      warmMs: 50,
      coldInitMs: 100,
      costPerMillion: expect.closeTo(0.86376953125, 9),
    });
    // 3538 MB: no faster, twice the price.
    expect(model[2].warmMs).toBe(50);
    expect(model[2].costPerMillion).toBeCloseTo(1.7275390625, 9);
  });

  it('chooses the cheapest setting whose cold init fits the budget, or none', () => {
    // Prepare
    const model = memoryModel(measured, 40, ROUND_PRICE, [256, 1769, 3538]);
    // Act & Assess
    expect(chooseMemory(model, 500)?.mb).toBe(1769);
    expect(chooseMemory(model, 1000)?.mb).toBe(256);
    expect(chooseMemory(model, 50)).toBeUndefined();
  });
});

describe('cost model, with bench/prices.json', () => {
  it('prices the idle stack: capacity, key, alarms, dashboard', () => {
    // Act
    const fixed = fixedMonthlyCost(DEFAULT_SETTINGS, PRICES);
    // Assess
    // (100 x 0.00065 + 100 x 0.00013) x 730 h = 56.94; 7 alarms x 0.10.
    expect(usdOf(fixed)).toEqual({
      'DynamoDB provisioned capacity': expect.closeTo(56.94, 9),
      'KMS customer key': 1,
      'CloudWatch alarms': expect.closeTo(0.7, 9),
      'CloudWatch dashboard': 3,
    });
    expect(totalUsd(fixed)).toBeCloseTo(61.64, 9);
    expect(largestItems(fixed)).toEqual(['DynamoDB provisioned capacity', 'CloudWatch dashboard']);
  });

  it('prices a million uploads at the configured memory', () => {
    // Prepare
    const measured = { cpuPerObjectMs: 2, loadCpuMs: 100, logBytesPerObject: 800, s3GetsPerObject: 2 };
    // Act
    const perMillion = costPerMillionFiles(measured, DEFAULT_SETTINGS, 40, PRICES);
    // Assess
    // Warm: 40 + 2 x 1769/512 = 46.91015625 ms; 0.8 GB of logs, kept 365 days.
    expect(usdOf(perMillion)).toEqual({
      'Lambda requests': 0.2,
      'Lambda duration': expect.closeTo(1e6 * 0.5 * 0.04691015625 * 0.0000133334, 12),
      'S3 HEAD + ranged GET': expect.closeTo(0.8, 9),
      'CloudWatch Logs ingestion': expect.closeTo(0.4, 9),
      'CloudWatch Logs storage': expect.closeTo(0.8 * 0.03 * (365 / 30), 9),
      'X-Ray traces': expect.closeTo(0.25, 9),
      'DynamoDB writes': 0,
    });
    expect(perMillion.find((i) => i.item === 'Lambda duration')?.detail).toBe('512 MB x 47 ms est.');
    expect(totalUsd(perMillion)).toBeCloseTo(0.2 + 0.312735938671875 + 0.8 + 0.4 + 0.292 + 0.25, 9);
    expect(largestItems(perMillion)).toEqual(['S3 HEAD + ranged GET', 'CloudWatch Logs ingestion']);
  });
});

describe('the report', () => {
  const worker = (over: Partial<WorkerResult> = {}): WorkerResult => ({
    loadCpuMs: 100,
    wallMs: 10_000,
    cpuMs: 2000,
    invocations: 1000,
    failures: 0,
    p50Ms: 60,
    p99Ms: 120,
    maxRssKb: 64 * 1024,
    logBytes: 800_000,
    ...over,
  });
  // Per object: 2000 ms of CPU over 1000 invocations, 800 B of logs, one HEAD and one GET; 100 ms to load.
  const results = (memoryMb: number): BenchResults => {
    const timed = (s: number) => ({ ms: s * 1000, maxRssMb: 100 });
    return {
      date: '2026-11-29',
      backfillJobs: [],
      machine: { cores: 2, memoryGiB: 24, node: 'v20' },
      runs: 3,
      synth: { ours: timed(4), base: timed(20), oursApp: timed(1), baseApp: timed(10) },
      tests: timed(12),
      bundle: { bytes: 600 * 1024, baseBytes: 500 * 1024, loadMs: 110, baseLoadMs: 100 },
      concurrency: 10,
      throughput: worker(),
      single: worker({ invocations: 1 }),
      perObject: { head: 1, get: 1, write: 1, wcu: 1, itemBytes: 487 },
      planMs: 7500,
      ioFloorMs: 40,
      settings: { ...DEFAULT_SETTINGS, memoryMb },
      prices: PRICES,
    };
  };

  it('writes the measurements with their ratios, the configured memory and the cost totals', () => {
    // Act
    const report = renderReport(results(512)).split('\n');
    // Assess
    expect(report).toContain('| synth: `cdktf synth` wall time | 4.00 s | 20.00 s | 0.20 | <= 0.2 |');
    expect(report).toContain('| handler bundle size | 600 KB | 500 KB | 1.20 | <= 1.3 |');
    expect(report).toContain('| throughput, 1000 uploads, 10 at once (stand-ins) | 100 objects/s |  |  |  |');
    expect(report).toContain('| handler CPU per object | 2.00 ms |  |  |  |');
    expect(report).toContain('| 512 MB (configured) | 47 ms | 346 ms | $0.31 |');
    expect(report).toContain('| CloudWatch alarms (7) | $0.70 |');
    expect(report).toContain('| **total** | **$61.64** |');
    expect(report.find((l) => l.startsWith('Rule:'))).toContain('**512 MB**, the configured default.');
  });

  it('says when the rule chooses another memory than the configured one', () => {
    // Act
    const report = renderReport(results(256));
    // Assess
    // 256 MB loads the bundle in 100 x 1769/256 = 691 ms of CPU, past the 500 ms budget.
    expect(report).toContain('**512 MB** (configured: 256 MB; change lambdaMemoryMb to follow the measurement).');
  });
});
