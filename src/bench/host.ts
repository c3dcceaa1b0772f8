import { once } from 'node:events';
import * as v8 from 'node:v8';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { parseConfigText } from '../config/load.js';
import { Exporter } from '../exporter.js';
import { createLogger } from '../log/logger.js';
import { SelfMetrics } from '../metrics/self-metrics.js';
import { createServerApp } from '../server/app.js';
import type { JobRef } from '../domain/job.js';
import { FileStore } from '../state/file-store.js';
import { MemoryStore } from '../state/memory-store.js';
import type { Store } from '../state/store.js';
import { withWallTime } from '../support/clock.js';
import { VERSION } from '../version.js';
import { serve } from './ipc.js';
import { benchJobs, PromClientBuildMetrics, StoreSink, SyntheticFleet } from './mix.js';
import { median } from './stats.js';

/**
 * The bench child process: hosts one exporter and measures it on command from the parent, which
 * runs the simulator. Nothing else lives in this process, so its RSS is the exporter's.
 */

export interface ExporterSettings {
  endpoint: string;
  jobs: readonly JobRef[];
  jobHistograms?: boolean;
  maxConcurrency?: number;
  startAt?: 'latest' | number;
  maxBuildsPerJobPerCycle?: number;
  /** memory: no state file (render benchmarks). */
  store?: 'file' | 'memory';
  /** poll.schedule; the schedule runs only after `start`. */
  schedule?: string;
  /** poll.change_feed. @default 'off' (the scenarios that do not measure the feed probe every job) */
  changeFeed?: 'auto' | 'off';
  /** poll.full_probe_interval. @default '10m' */
  fullProbeInterval?: string;
  /** metrics.steps.enabled and metrics.failures.enabled: one full-stages request per finished build, one log analysis per failed one. */
  steps?: boolean;
}

let exporter: Exporter | undefined;
/** The exporter's store and event sink: the synthetic mix is committed through them, as the poller commits. */
let storeSink: StoreSink | undefined;
let server: Server | undefined;
let stateDir: string | undefined;
let fleet: SyntheticFleet | undefined;
/** The simulator's virtual time (Unix seconds), sent with each cycle: the poller's clock. */
let virtualNow: number | undefined;
/** The prom-client registry holding the same series as the exporter (scrape scenario). */
let mirrorRegistry: Registry | undefined;
/** Cycles the exporter's own schedule ran (scrape-load scenario): start and end, ms since the epoch. */
const scheduledCycles: Array<{ start: number; end: number }> = [];

function silentLogger() {
  return createLogger('error', { write: () => undefined });
}

async function createExporter(settings: ExporterSettings): Promise<Exporter> {
  stateDir = mkdtempSync(join(tmpdir(), 'cbe-bench-'));
  const raw = {
    codearts: {
      endpoint: settings.endpoint,
      auth: { token: 'sim-token-NOT-A-SECRET' },
      request_timeout: '10s',
      max_concurrency: settings.maxConcurrency ?? 16,
      max_requests_per_second: 1000,
      retry: { retries: 3, min_delay: '10ms', max_delay: '100ms' },
    },
    poll: {
      schedule: settings.schedule ?? '*/30 * * * * *',
      start_at: settings.startAt ?? 'latest',
      max_builds_per_job_per_cycle: settings.maxBuildsPerJobPerCycle ?? 50,
      change_feed: settings.changeFeed ?? 'off',
      full_probe_interval: settings.fullProbeInterval ?? '10m',
    },
    jobs: settings.jobs.map((job) => ({ id: job.id, name: job.name })),
    metrics: {
      job_histograms: settings.jobHistograms ?? true,
      steps: { enabled: settings.steps ?? false },
      failures: { enabled: settings.steps ?? false },
    },
    server: { host: '127.0.0.1', port: 0 },
    state: { path: join(stateDir, 'state.json') },
    log: { level: 'error' },
  };
  const config = parseConfigText(JSON.stringify(raw), { env: {} });
  const path = config.state.path;
  return Exporter.create({
    config,
    logger: silentLogger(),
    // Gap checks and pending ages run on the simulator's virtual time, as they would on real time.
    clock: withWallTime(() => (virtualNow === undefined ? Date.now() : virtualNow * 1000)),
    openStore: async (layout, events) => {
      const store: Store = settings.store === 'memory' ? new MemoryStore(layout) : await FileStore.open(path, { layout, events });
      storeSink = new StoreSink(store, events);
      return store;
    },
  });
}

function sink(): StoreSink {
  if (!storeSink) throw new Error('no exporter store: send create first');
  return storeSink;
}

function stateFileSize(): { bytes: number; countersBytes: number } {
  const path = stateDir ? join(stateDir, 'state.json') : undefined;
  if (!path || !existsSync(path)) return { bytes: 0, countersBytes: 0 };
  const text = readFileSync(path, 'utf8');
  const file = JSON.parse(text) as { jobs: Record<string, { counters?: unknown }> };
  // `,"counters":{...}` per job: what schema 3 added to each job's entry.
  const countersBytes = Object.values(file.jobs).reduce(
    (sum, job) => sum + Buffer.byteLength(`,"counters":${JSON.stringify(job.counters)}`),
    0,
  );
  return { bytes: Buffer.byteLength(text), countersBytes };
}

function need(): Exporter {
  if (!exporter) throw new Error('no exporter: send create first');
  return exporter;
}

function memory(): { rssMb: number; heapUsedMb: number; externalMb: number; peakRssMb: number } {
  const usage = process.memoryUsage();
  return {
    rssMb: usage.rss / 2 ** 20,
    heapUsedMb: usage.heapUsed / 2 ** 20,
    externalMb: (usage.external + usage.arrayBuffers) / 2 ** 20,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await action();
  return { ms: performance.now() - started, value };
}

export interface RenderBenchArgs {
  jobs: number;
  jobHistograms: boolean;
  /** Interleaved runs per variant. */
  runs: number;
  /** Jobs changed between two steady scrapes. */
  changeFraction: number;
}

export interface RenderBenchResult {
  jobs: number;
  jobHistograms: boolean;
  bytes: number;
  lines: number;
  first: { ours: number; promClient: number };
  allChanged: { ours: number; promClient: number; oursRuns: number[]; promClientRuns: number[] };
  fewChanged: { ours: number; promClient: number; oursRuns: number[]; promClientRuns: number[]; jobsChanged: number };
  memory: ReturnType<typeof memory>;
}

/** Our exporter and one prom-client registry holding the same series, fed the same synthetic mix. */
async function mirroredExporter(args: { jobs: number; jobHistograms: boolean }) {
  const jobs = benchJobs(args.jobs);
  const ours = await createExporter({ endpoint: 'http://127.0.0.1:9', jobs, jobHistograms: args.jobHistograms, store: 'memory' });
  exporter = ours;
  const baselineSelf = new SelfMetrics(VERSION);
  const mirror = new PromClientBuildMetrics(baselineSelf.registry, {
    jobHistograms: args.jobHistograms,
    durationBuckets: ours.config.metrics.duration_buckets,
    queueBuckets: ours.config.metrics.queue_buckets,
  });
  // The per-job self-metric families, as prom-client would keep them.
  const registers = [baselineSelf.registry];
  const labelNames = ['job_id', 'job_name'];
  const family = (metric: { name: string }, help: string) => ({ name: metric.name, help, labelNames, registers });
  const lastPoll = new Gauge(
    family(baselineSelf.lastSuccessfulPoll, 'Time of the last poll cycle that reached CodeArts for this job (Unix seconds).'),
  );
  const invalid = new Counter(family(baselineSelf.invalidRecords, 'Build records that failed validation or carried implausible times.'));
  const vanished = new Counter(
    family(baselineSelf.vanishedBuilds, 'Pending builds dropped because CodeArts said on two cycles in a row that they no longer exist.'),
  );
  const now = 1_767_225_600;
  for (const job of jobs) {
    const labels = { job_id: job.id, job_name: job.name };
    mirror.setJob(job.id, job.name);
    invalid.inc(labels, 0);
    vanished.inc(labels, 0);
    lastPoll.set(labels, now);
  }
  sink().reached(jobs, now);
  const synthetic = new SyntheticFleet(jobs, [sink(), mirror]);
  await synthetic.fill();
  return { ours, registry: baselineSelf.registry, synthetic };
}

/**
 * Our `/metrics` (exporter.renderMetrics) against one prom-client registry holding the same series
 * (build families and per-job self-metric families mirrored in prom-client, plus the same other
 * self and process metrics), fed the same calls. Runs alternate which side goes first; each render follows a forced GC.
 */
async function renderBench(args: RenderBenchArgs): Promise<RenderBenchResult> {
  const { ours, registry, synthetic } = await mirroredExporter(args);
  const baselineSelf = { registry };
  const renderOurs = () => ours.renderMetrics();
  const renderTheirs = () => baselineSelf.registry.metrics();
  const measure = async (render: () => Promise<string>) => {
    gc();
    return timed(render);
  };

  const firstOurs = await measure(renderOurs);
  const firstTheirs = await measure(renderTheirs);
  const body = firstOurs.value;
  const lines = body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;

  const runPair = async (round: number, fraction: number) => {
    const changed = await synthetic.change(fraction, round);
    const pair: Array<['ours' | 'theirs', () => Promise<string>]> = [
      ['ours', renderOurs],
      ['theirs', renderTheirs],
    ];
    if (round % 2 === 1) pair.reverse();
    const out = { ours: 0, theirs: 0, changed };
    for (const [side, render] of pair) out[side] = (await measure(render)).ms;
    return out;
  };

  const allRuns = { ours: [] as number[], theirs: [] as number[] };
  const allChangedRounds = Math.max(3, Math.ceil(args.runs / 3));
  for (let round = 0; round < allChangedRounds; round++) {
    const pair = await runPair(round, 1);
    allRuns.ours.push(pair.ours);
    allRuns.theirs.push(pair.theirs);
  }
  const fewRuns = { ours: [] as number[], theirs: [] as number[] };
  let jobsChanged = 0;
  for (let round = 0; round < args.runs; round++) {
    const pair = await runPair(round, args.changeFraction);
    fewRuns.ours.push(pair.ours);
    fewRuns.theirs.push(pair.theirs);
    jobsChanged = pair.changed;
  }
  return {
    jobs: args.jobs,
    jobHistograms: args.jobHistograms,
    bytes: Buffer.byteLength(body),
    lines,
    first: { ours: firstOurs.ms, promClient: firstTheirs.ms },
    allChanged: { ours: median(allRuns.ours), promClient: median(allRuns.theirs), oursRuns: allRuns.ours, promClientRuns: allRuns.theirs },
    fewChanged: {
      ours: median(fewRuns.ours),
      promClient: median(fewRuns.theirs),
      oursRuns: fewRuns.ours,
      promClientRuns: fewRuns.theirs,
      jobsChanged,
    },
    memory: memory(),
  };
}

serve({
  create: async (settings: ExporterSettings) => {
    exporter = await createExporter(settings);
    return { jobs: settings.jobs.length };
  },
  /** One poll cycle: wall time and summary. */
  cycle: async (args: { now?: number }) => {
    if (args.now !== undefined) virtualNow = args.now;
    const { ms, value } = await timed(() => need().runCycle());
    return { ms, summary: value };
  },
  /** Per job: cursor and pending count, the inputs of the request floor. */
  jobs: () =>
    need()
      .describeJobs()
      .map((job) => [job.id, job.state?.cursor ?? 0, job.state?.pending.length ?? 0] as const),
  render: async () => {
    const { ms, value } = await timed(() => need().renderMetrics());
    return { ms, bytes: Buffer.byteLength(value) };
  },
  /** Fills the build metrics with the synthetic mix on top of what the cycles counted. */
  fill: async () => {
    const jobs = need()
      .describeJobs()
      .map((job) => ({ id: job.id, name: job.name }));
    fleet = new SyntheticFleet(jobs, [sink()]);
    await fleet.fill();
    return { jobs: jobs.length };
  },
  change: async ({ fraction, round }: { fraction: number; round: number }) => ({ changed: (await fleet?.change(fraction, round)) ?? 0 }),
  /** The exporter's HTTP app on a free port, without the schedule (cycles stay under bench control). */
  serve: async () => {
    const current = need();
    const app = createServerApp({
      metrics: current.scrapes,
      isReady: () => ({ ready: true }),
      landing: () => ({
        version: VERSION,
        endpoint: current.config.codearts.endpoint,
        auth: 'static token',
        schedule: current.config.poll.schedule,
        ready: true,
        jobs: current.describeJobs(),
      }),
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  },
  /** The scrape scenario: our exporter and a prom-client mirror of its series, served over HTTP. */
  scrapeSetup: async (args: { jobs: number; jobHistograms: boolean }) => {
    const mirrored = await mirroredExporter(args);
    fleet = mirrored.synthetic;
    mirrorRegistry = mirrored.registry;
    return { jobs: args.jobs };
  },
  /** prom-client rendering the same series, after a forced GC. */
  promClientRender: async () => {
    gc();
    const registry = mirrorRegistry;
    if (!registry) throw new Error('no mirror: send scrapeSetup first');
    const { ms, value } = await timed(() => registry.metrics());
    return { ms, bytes: Buffer.byteLength(value) };
  },
  /** The exporter as `run` starts it: its HTTP server and its schedule. */
  start: async () => {
    const current = need();
    const runCycle = current.runCycle.bind(current);
    current.runCycle = async (signal) => {
      const start = Date.now();
      const summary = await runCycle(signal);
      scheduledCycles.push({ start, end: Date.now() });
      return summary;
    };
    return current.start();
  },
  /** Cycles run by the schedule so far, and ticks it skipped. */
  scheduled: async () => {
    const text = await need().renderMetrics();
    const skipped = Number(/^codearts_exporter_skipped_polls_total (\S+)$/m.exec(text)?.[1] ?? 0);
    return { cycles: scheduledCycles, skipped };
  },
  /** CPU time of this process so far (user + system), in seconds. */
  cpu: () => {
    const usage = process.cpuUsage();
    return { seconds: (usage.user + usage.system) / 1e6 };
  },
  gc: () => {
    gc();
    return {};
  },
  version: () => ({ version: process.version }),
  /** The state file's size now (0 with the in-memory store), and how much of it the counters take. */
  stateFile: () => stateFileSize(),
  /** Where the memory is: V8's heap spaces (committed MB), for the JSON results. */
  heapSpaces: () =>
    Object.fromEntries(
      v8.getHeapSpaceStatistics().map((space) => [space.space_name, Math.round((space.physical_space_size / 2 ** 20) * 10) / 10]),
    ),
  memory: ({ collect }: { collect?: boolean }) => {
    if (collect) gc();
    return memory();
  },
  renderBench,
  stop: async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    }
    await exporter?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    return {};
  },
});
