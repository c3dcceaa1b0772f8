import { Agent, request } from 'node:http';
import { createSimulator } from '../simulator/index.js';
import { BenchChild } from './ipc.js';
import { expectationOf, PROMETHEUS_HEADERS, runScrapeLoad, type BodyExpectation } from './scrapers.js';
import { median, percentile } from './stats.js';
import { sleep } from '../support/clock.js';

/**
 * Scenarios of `/metrics` as served over HTTP: what a scrape costs (cached, after a change, against
 * prom-client rendering the same series) and what 50 nonstop scrapers do to polling.
 */

interface HttpAnswer {
  ms: number;
  status: number;
  bytes: number;
  encoding: string | undefined;
}

const agent = new Agent({ keepAlive: true });

/** One GET, timed to its last byte; the body is not decoded (Prometheus decodes after the transfer). */
function timedGet(url: string, headers: Record<string, string>): Promise<HttpAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => {
        const encoding = res.headers['content-encoding'];
        resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, bytes, encoding });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface ScrapeCostResult {
  jobs: number;
  plainBytes: number;
  gzipBytes: number;
  /** Median HTTP time of a gzip scrape right after 1% of the jobs changed (a render of what changed, compressed). */
  afterChangeMs: number;
  /** Median HTTP time of a gzip scrape of the cached body. */
  cachedMs: number;
  /** Median time prom-client takes to render the same series (no compression, no HTTP). */
  promClientMs: number;
  /** The same body in the text format 0.0.4 (Accept: text/plain): plain and gzip bytes, median cached gzip scrape. */
  textPlainBytes: number;
  textGzipBytes: number;
  textCachedMs: number;
  afterChangeRuns: number[];
  cachedRuns: number[];
  promClientRuns: number[];
}

/** A scraper that asks for the text format 0.0.4 only. */
const TEXT_HEADERS = { ...PROMETHEUS_HEADERS, accept: 'text/plain;version=0.0.4' };

/**
 * Scrapes over HTTP from this process, with Prometheus' headers (OpenMetrics), and with a text-only Accept, of an exporter in a child process
 * filled with the realistic mix; the reference is one prom-client registry in the same child holding
 * the same series. Each round: 1% of the jobs change (the steady state of a cycle), then a scrape
 * (renders and compresses what changed), three scrapes of the cached body, and prom-client's render;
 * a forced GC before each measured side, the sides alternating.
 */
export async function scrapeCost(options: { jobs: number; rounds: number; changeFraction: number }): Promise<ScrapeCostResult> {
  const child = BenchChild.start();
  try {
    await child.call('scrapeSetup', { jobs: options.jobs, jobHistograms: true });
    const { url } = await child.call<{ url: string }>('serve');
    const metrics = `${url}/metrics`;
    const plain = await timedGet(metrics, { accept: PROMETHEUS_HEADERS.accept, 'accept-encoding': 'identity' });
    const gzip = await timedGet(metrics, PROMETHEUS_HEADERS);
    const textPlain = await timedGet(metrics, { 'accept-encoding': 'identity' });
    const textGzip = await timedGet(metrics, TEXT_HEADERS);
    if (plain.status !== 200 || gzip.status !== 200 || gzip.encoding !== 'gzip' || textGzip.encoding !== 'gzip')
      throw new Error(`unexpected answers: ${plain.status}, ${gzip.status} ${gzip.encoding}, ${textGzip.encoding}`);
    const runs = { afterChange: [] as number[], cached: [] as number[], promClient: [] as number[], textCached: [] as number[] };
    for (let round = 0; round < options.rounds; round++) {
      await child.call('change', { fraction: options.changeFraction, round });
      const ours = async () => {
        await child.call('gc');
        runs.afterChange.push((await timedGet(metrics, PROMETHEUS_HEADERS)).ms);
        const cached: number[] = [];
        for (let i = 0; i < 3; i++) cached.push((await timedGet(metrics, PROMETHEUS_HEADERS)).ms);
        runs.cached.push(median(cached));
        // The text format's render of the same change (sharing every part but the histograms), then cached.
        await timedGet(metrics, TEXT_HEADERS);
        const textCached: number[] = [];
        for (let i = 0; i < 3; i++) textCached.push((await timedGet(metrics, TEXT_HEADERS)).ms);
        runs.textCached.push(median(textCached));
      };
      const theirs = async () => runs.promClient.push((await child.call<{ ms: number }>('promClientRender')).ms);
      if (round % 2 === 0) {
        await ours();
        await theirs();
      } else {
        await theirs();
        await ours();
      }
    }
    await child.call('stop');
    return {
      jobs: options.jobs,
      plainBytes: plain.bytes,
      gzipBytes: gzip.bytes,
      afterChangeMs: median(runs.afterChange),
      cachedMs: median(runs.cached),
      promClientMs: median(runs.promClient),
      textPlainBytes: textPlain.bytes,
      textGzipBytes: textGzip.bytes,
      textCachedMs: median(runs.textCached),
      afterChangeRuns: runs.afterChange,
      cachedRuns: runs.cached,
      promClientRuns: runs.promClient,
    };
  } finally {
    await child.close();
  }
}

export interface ScrapeLoadBenchResult {
  jobs: number;
  scrapers: number;
  seconds: number;
  tickSeconds: number;
  ticks: number;
  cyclesStarted: number;
  skipped: number;
  /** Median cycle wall time before the load (no scrapers) and during it. */
  quietCycleMs: number;
  loadedCycleMs: number;
  scrapes: number;
  failures: string[];
  failureCount: number;
  scrapeP50Ms: number;
  scrapeP95Ms: number;
  scrapeMaxMs: number;
  transferredBytes: number;
  plainBytes: number;
  healthz: { probes: number; p99Ms: number; maxMs: number; failures: number };
}

/**
 * Acceptance 1 of issue 13: the exporter in a child process runs its own schedule over a simulated
 * fleet (this process; about 30 s of builds per tick), 50 scrapers in a worker thread fetch /metrics
 * nonstop with Prometheus' headers, and this thread probes /healthz every 10 ms. Counted: ticks,
 * cycles started (and finished) during the load, ticks skipped; every scrape checked (see scrapers.ts).
 */
export async function scrapeLoad(options: {
  jobs: number;
  scrapers: number;
  durationMs: number;
  tickSeconds: number;
}): Promise<ScrapeLoadBenchResult> {
  const simulator = await createSimulator({ seed: 500, jobs: options.jobs, latencyMs: 2 });
  const child = BenchChild.start();
  let clock: NodeJS.Timeout | undefined;
  try {
    const jobs = simulator.jobs().map((job) => ({ id: job.id, name: job.name }));
    await child.call('create', {
      endpoint: simulator.url,
      jobs,
      maxConcurrency: 16,
      startAt: 'latest',
      schedule: `*/${options.tickSeconds} * * * * *`,
    });
    const { url } = await child.call<{ url: string }>('start');
    const schedule = new ScheduleLog(child);
    clock = setInterval(() => simulator.advance((30 / options.tickSeconds) * 0.1), 100);
    // Two quiet cycles after the first (the cold start), for the cycle time without scrapers.
    const quiet = (await schedule.cyclesAtLeast(3)).slice(1);
    const expect = await expectation(url, options.jobs);
    const skippedBefore = (await schedule.read()).skipped;
    const startedAt = Date.now();
    const probes = probeHealthz(url);
    const load = await runScrapeLoad({ url, scrapers: options.scrapers, durationMs: options.durationMs, expect, keepBodies: 0 });
    const endedAt = Date.now();
    const healthz = await probes.stop();
    const after = await schedule.afterCycleEndingPast(endedAt);
    const during = after.cycles.filter((c) => c.start >= startedAt && c.start < endedAt);
    await child.call('stop');
    return {
      ...options,
      seconds: options.durationMs / 1000,
      ticks: Math.floor(endedAt / 1000 / options.tickSeconds) - Math.floor(startedAt / 1000 / options.tickSeconds),
      cyclesStarted: during.length,
      skipped: after.skipped - skippedBefore,
      quietCycleMs: median(quiet.map((c) => c.end - c.start)),
      loadedCycleMs: median(during.map((c) => c.end - c.start)),
      scrapes: load.scrapes,
      failures: load.failures,
      failureCount: load.failureCount,
      scrapeP50Ms: percentile(load.latenciesMs, 0.5),
      scrapeP95Ms: percentile(load.latenciesMs, 0.95),
      scrapeMaxMs: Math.max(...load.latenciesMs),
      transferredBytes: load.transferredBytes,
      plainBytes: load.plainBytes,
      healthz,
    };
  } finally {
    if (clock) clearInterval(clock);
    await child.close();
    await simulator.close();
  }
}

interface Cycle {
  start: number;
  end: number;
}

/** The cycles the child's own schedule ran (start and end, ms since the epoch) and the ticks it skipped. */
class ScheduleLog {
  constructor(private readonly child: BenchChild) {}

  read(): Promise<{ cycles: Cycle[]; skipped: number }> {
    return this.child.call('scheduled');
  }

  async cyclesAtLeast(count: number): Promise<Cycle[]> {
    for (;;) {
      const { cycles } = await this.read();
      if (cycles.length >= count) return cycles;
      await sleep(200);
    }
  }

  /** Once the cycle running at `time` (if any) has finished, within 20 s. */
  async afterCycleEndingPast(time: number): Promise<{ cycles: Cycle[]; skipped: number }> {
    for (let i = 0; i < 100; i++) {
      const log = await this.read();
      if (log.cycles.some((c) => c.end >= time)) return log;
      await sleep(200);
    }
    return this.read();
  }
}

/** What a complete body looks like, from a quiet scrape: its last family and how its text ends. */
async function expectation(url: string, jobs: number): Promise<BodyExpectation> {
  // In the format the scrapers get (Prometheus' Accept: OpenMetrics).
  const reference = await (await fetch(`${url}/metrics`, { headers: { accept: PROMETHEUS_HEADERS.accept } })).text();
  // Every job has a codearts_builds_total series per result (5) from the start.
  return expectationOf(reference, 'codearts_builds_total{', jobs * 5);
}

/** GET /healthz every 10 ms until stopped: latencies, failures. */
function probeHealthz(url: string): { stop: () => Promise<ScrapeLoadBenchResult['healthz']> } {
  const latencies: number[] = [];
  let failures = 0;
  const run = { done: false };
  const running = (async () => {
    while (!run.done) {
      const started = performance.now();
      try {
        const answer = await timedGet(`${url}/healthz`, {});
        if (answer.status === 200) latencies.push(performance.now() - started);
        else failures++;
      } catch {
        failures++;
      }
      await sleep(10);
    }
  })();
  return {
    stop: async () => {
      run.done = true;
      await running;
      return { probes: latencies.length, p99Ms: percentile(latencies, 0.99), maxMs: Math.max(...latencies), failures };
    },
  };
}
