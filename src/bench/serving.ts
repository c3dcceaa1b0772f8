import { request } from 'node:http';
import type { SimJobSpec } from '../simulator/index.js';
import { PolledExporter } from './polling.js';
import { PROMETHEUS_HEADERS } from './scrapers.js';
import { percentile } from './stats.js';
import { sleep } from '../support/clock.js';

/** The poll period the sizing figures are for (the default schedule): the simulated clock advances this much per cycle. */
export const PERIOD_SECONDS = 30;

export interface ServingResult {
  jobs: number;
  jobHistograms: boolean;
  cycles: number;
  /** Node flags of the exporter's process (the image's NODE_OPTIONS unless BENCH_CHILD_ARGS). */
  flags: string[];
  nodeVersion: string;
  /** MB committed per V8 heap space after the last scrape and a full GC. */
  heapSpaces: Record<string, number>;
  pollSeconds: number;
  /** Plain and gzip size of the last scrape. */
  bytes: number;
  gzipBytes: number;
  /** CPU time of the exporter's process over the steady cycles (all but the cold start), scrapes included. */
  cpuSeconds: number;
  steadyCycles: number;
  /** Requests the simulator received over the steady cycles. */
  requests: number;
  scrapeMs: number[];
  /** RSS after each cycle and its scrape (MB). */
  rssTrail: number[];
  rssMb: number;
  heapUsedMb: number;
  /** Heap still in use after a forced full GC: what the exporter really keeps. */
  liveHeapMb: number;
  peakRssMb: number;
  /** Size of the state file after the last cycle, and the part of it the counters take. */
  stateFileBytes: number;
  stateCountersBytes: number;
  healthz?: { probes: number; p99Ms: number; maxMs: number; scrapesDuring: number; scrapeMs: number[] };
}

interface Memory {
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  peakRssMb: number;
}

/** A gzip scrape as Prometheus does it; the transferred size, and the plain size from the gzip trailer. */
function scrape(url: string): Promise<{ gzipBytes: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/metrics`, { headers: PROMETHEUS_HEADERS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ gzipBytes: body.length, bytes: body.length >= 4 ? body.readUInt32LE(body.length - 4) : 0 });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The exporter as it runs, started with the image's Node flags: a fresh process polls a fleet
 * (cold start first, then one cycle per 30 s of simulated time, each job building every 15 minutes
 * on average), its build metrics are filled to the realistic mix of the render benchmark (2-3
 * results and every trigger per job, both histograms populated), and every cycle is followed by a
 * gzip scrape over HTTP, as in production. CPU time and CodeArts requests are counted over the
 * steady cycles; RSS is read after the last scrape. V8 lets garbage build up for a while before it
 * collects harder, so RSS grows over the first ~15 cycles and then levels off: measure past that
 * where it is affordable. Optionally /healthz latency while full renders are scraped.
 */
export async function serving(options: {
  jobs: number;
  jobHistograms: boolean;
  cycles: number;
  healthz: boolean;
  flags: string[];
}): Promise<ServingResult> {
  const specs: SimJobSpec[] = Array.from({ length: options.jobs }, (_, i) => ({
    id: (0x5e7e_0000 + i).toString(16).padStart(32, '0'),
    name: `fleet-${i}`,
    history: 5,
    buildEverySeconds: 900,
  }));
  const polled = await PolledExporter.start(
    { seed: 61, jobs: specs, gapProbability: 0.02 },
    { startAt: 'latest', maxConcurrency: 16, jobHistograms: options.jobHistograms },
    options.flags,
  );
  try {
    const { child } = polled;
    const coldMs = (await polled.cycle()).ms;
    await child.call('fill');
    const { url } = await child.call<{ url: string }>('serve');
    // With healthz: probes run from the first scrape on (every job's text rendered for the first
    // time), then through scrapes after every job changed: the worst cases.
    const healthz = options.healthz ? await healthzDuringScrapes(child, url, 3) : undefined;
    const steady = await steadyCycles(polled, url, options.cycles - 1);
    const { jobs, jobHistograms, cycles, flags } = options;
    const result: ServingResult = {
      jobs,
      jobHistograms,
      cycles,
      flags,
      ...(await processFigures(child)),
      ...steady,
      pollSeconds: (coldMs + steady.pollMs) / 1000,
      steadyCycles: cycles - 1,
    };
    if (healthz) result.healthz = healthz;
    return result;
  } finally {
    await polled.close();
  }
}

/** Cycles at the default period, each followed by a gzip scrape: CPU, requests, sizes and the RSS trail. */
async function steadyCycles(polled: PolledExporter, url: string, cycles: number) {
  const { child } = polled;
  const scrapeMs: number[] = [];
  const rssTrail: number[] = [];
  let sizes = { bytes: 0, gzipBytes: 0 };
  let pollMs = 0;
  polled.simulator.resetRequests();
  const cpuBefore = (await child.call<{ seconds: number }>('cpu')).seconds;
  for (let i = 0; i < cycles; i++) {
    polled.simulator.advance(PERIOD_SECONDS);
    pollMs += (await polled.cycle()).ms;
    const started = performance.now();
    sizes = await scrape(url);
    scrapeMs.push(performance.now() - started);
    rssTrail.push((await child.call<Memory>('memory', {})).rssMb);
  }
  const cpuSeconds = (await child.call<{ seconds: number }>('cpu')).seconds - cpuBefore;
  return { ...sizes, pollMs, cpuSeconds, requests: polled.allRequests(), scrapeMs, rssTrail };
}

/** The exporter process as the last scrape left it: memory, heap spaces, Node version, state file. */
async function processFigures(child: PolledExporter['child']) {
  const memory = await child.call<Memory>('memory', {});
  const live = await child.call<Memory>('memory', { collect: true });
  const { version } = await child.call<{ version: string }>('version');
  const heapSpaces = await child.call<Record<string, number>>('heapSpaces');
  const { bytes: stateFileBytes, countersBytes: stateCountersBytes } = await child.call<{ bytes: number; countersBytes: number }>(
    'stateFile',
  );
  return {
    nodeVersion: version,
    heapSpaces,
    rssMb: memory.rssMb,
    heapUsedMb: memory.heapUsedMb,
    liveHeapMb: live.heapUsedMb,
    peakRssMb: memory.peakRssMb,
    stateFileBytes,
    stateCountersBytes,
  };
}

/**
 * Probes /healthz every 10 ms while full renders of /metrics are scraped: the first scrape ever,
 * then scrapes after every job changed (like the first scrape after a cycle in a busy fleet).
 */
async function healthzDuringScrapes(child: PolledExporter['child'], url: string, scrapes: number) {
  const latencies: number[] = [];
  const scrapeMs: number[] = [];
  // Only probes sent while a scrape is in flight count (not while the bench itself changes jobs).
  const run = { done: false, scraping: false };
  const probing = (async () => {
    while (!run.done) {
      const counted = run.scraping;
      const started = performance.now();
      await (await fetch(`${url}/healthz`)).text();
      if (counted) latencies.push(performance.now() - started);
      await sleep(10);
    }
  })();
  await sleep(200);
  for (let i = 0; i < scrapes; i++) {
    if (i > 0) await child.call('change', { fraction: 1, round: 100 + i });
    run.scraping = true;
    const started = performance.now();
    await (await fetch(`${url}/metrics`)).arrayBuffer();
    scrapeMs.push(performance.now() - started);
    run.scraping = false;
  }
  run.done = true;
  await probing;
  return { probes: latencies.length, p99Ms: percentile(latencies, 0.99), maxMs: Math.max(...latencies), scrapesDuring: scrapes, scrapeMs };
}
