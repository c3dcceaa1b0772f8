import { createSimulator, type RunningStatusMode, type SimJobSpec, type Simulator, type SimulatorOptions } from '../simulator/index.js';
import type { CycleSummary } from '../poller/poller.js';
import type { ExporterSettings } from './host.js';
import { BenchChild } from './ipc.js';

/**
 * Scenarios that poll: the simulator runs in this process, the exporter in a child process, so
 * neither steals the other's event loop and the simulator counts every request actually sent.
 */

type JobRow = readonly [id: string, cursor: number, pending: number];

interface Cycle {
  ms: number;
  summary: CycleSummary;
}

export class PolledExporter {
  private constructor(
    readonly simulator: Simulator,
    readonly child: BenchChild,
  ) {}

  static async start(
    simulatorOptions: SimulatorOptions,
    settings: Omit<ExporterSettings, 'endpoint' | 'jobs'>,
    execArgv: string[] = [],
  ): Promise<PolledExporter> {
    const simulator = await createSimulator(simulatorOptions);
    const child = BenchChild.start(execArgv);
    try {
      await child.call('create', {
        ...settings,
        endpoint: simulator.url,
        jobs: simulator.jobs().map((job) => ({ id: job.id, name: job.name })),
      } satisfies ExporterSettings);
    } catch (error) {
      await child.close();
      await simulator.close();
      throw error;
    }
    return new PolledExporter(simulator, child);
  }

  /** One cycle, on the simulator's virtual clock. */
  cycle(): Promise<Cycle> {
    return this.child.call<Cycle>('cycle', { now: this.simulator.now() });
  }

  jobs(): Promise<JobRow[]> {
    return this.child.call<JobRow[]>('jobs');
  }

  /** Record-info, running-status and job list (the change feed) requests since the last reset, and the detail requests (full-stages, history-details, log-analysis). */
  requestsSent(): number {
    const requests = this.simulator.requests();
    const detail = ['full-stages', 'history-details', 'log-analysis'].reduce(
      (sum, endpoint) => sum + (requests.byEndpoint[endpoint] ?? 0),
      0,
    );
    return requests.recordInfo + (requests.byEndpoint['running-status'] ?? 0) + (requests.byEndpoint['job-list-all'] ?? 0) + detail;
  }

  /** Requests of every kind since the last reset (auth and listings included). */
  allRequests(): number {
    return Object.values(this.simulator.requests().byEndpoint).reduce((sum, n) => sum + n, 0);
  }

  /**
   * One cycle measured against the floor in docs/design.md ("Polling semantics"): pending builds before the cycle, plus every
   * existing build number between the cursors before and after it, plus one probe per job. With the change feed
   * (`feed`), the job probes are replaced by the list's pages and each job's safety probe once per full_probe_interval:
   * jobs x period / interval per cycle.
   */
  async measuredCycle(
    feed?: { intervalSeconds: number },
    details = false,
  ): Promise<{ sent: number; floor: number; ms: number; summary: CycleSummary }> {
    const before = new Map((await this.jobs()).map(([id, cursor, pending]) => [id, { cursor, pending }]));
    this.simulator.resetRequests();
    const { ms, summary } = await this.cycle();
    // With steps and failures: one more per build counted (full-stages), one more per failed build (its log analysis).
    const extra = details ? summary.buildsCounted + this.failedSince(this.simulator.now() - 30) : 0;
    const sent = this.requestsSent();
    const after = new Map((await this.jobs()).map(([id, cursor]) => [id, cursor]));
    let floor = 0;
    for (const job of this.simulator.groundTruth()) {
      const was = before.get(job.id);
      if (!was) continue;
      const to = after.get(job.id) ?? was.cursor;
      floor += was.pending + (feed ? 0 : 1) + countBetween(job.existing, was.cursor, to);
    }
    if (feed) floor += Math.ceil(before.size / 100) + (before.size * PERIOD_SECONDS) / feed.intervalSeconds;
    return { sent, floor: floor + extra, ms, summary };
  }

  /** Failed builds that finished after `since` (virtual seconds): what a cycle at steady state counts. */
  private failedSince(since: number): number {
    const truth = this.simulator.groundTruth();
    return truth.reduce((sum, job) => sum + job.finished.filter((b) => b.result === 'failure' && b.finishedAt > since).length, 0);
  }

  async close(): Promise<void> {
    await this.child.call('stop').catch(() => undefined);
    await this.child.close();
    await this.simulator.close();
  }
}

const PERIOD_SECONDS = 30;

function largestPowerOfTwo(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/** How many of the ascending `numbers` lie in (from, to]. */
function countBetween(numbers: readonly number[], from: number, to: number): number {
  let count = 0;
  for (const n of numbers) if (n > from && n <= to) count++;
  return count;
}

export interface FloorResult {
  jobs: number;
  cycles: number;
  sent: number;
  floor: number;
  ratio: number;
  /** Jobs that were quiet long enough for at least one gap check during the measured cycles. */
  gapChecks: number;
  /** Jobs not probed thanks to the change feed, over the measured cycles (0 without it). */
  jobsSkipped: number;
  /** Job list pages read (the change feed), over the measured cycles. */
  listPages: number;
  /** Wall time of the measured cycles (0 ms latency: CPU-bound, both processes on one machine). */
  cycleSeconds: number;
  seconds: number;
}

/**
 * Steady state: a fleet with a realistic mix (random history and retention, a build every 15 min
 * per job on average unless `buildEverySeconds` says otherwise, 2% of build numbers skipped),
 * polled every 30 s of virtual time (the exporter's clock too). Warm-up cycles fill the pending
 * sets first; the measured cycles run long enough for quiet jobs to reach their gap checks (after
 * 8 quiet cycles, then every 10 minutes). Without running-status (404 APIGW.0101), each check
 * costs one look ahead. `changeFeed`: the exporter reads the job list first (poll.change_feed:
 * auto), and the floor is the change feed's (see measuredCycle); warm up past one interval then,
 * since a process's first cycle probes every job fully.
 */
export async function steadyStateFloor(options: {
  jobs: number;
  warmupCycles: number;
  cycles: number;
  seed?: number;
  runningStatus?: RunningStatusMode;
  buildEverySeconds?: number;
  changeFeed?: { intervalSeconds: number };
  /** metrics.steps and metrics.failures on: the floor grows by one request per finished build and one per failed build. */
  steps?: boolean;
}): Promise<FloorResult> {
  const started = performance.now();
  const polled = await PolledExporter.start(
    {
      seed: options.seed ?? 21,
      jobs: options.jobs,
      buildEverySeconds: options.buildEverySeconds ?? 900,
      gapProbability: 0.02,
      runningStatus: options.runningStatus ?? 'ok',
    },
    {
      startAt: 'latest',
      maxConcurrency: 16,
      changeFeed: options.changeFeed ? 'auto' : 'off',
      fullProbeInterval: `${options.changeFeed?.intervalSeconds ?? 600}s`,
      steps: options.steps ?? false,
    },
  );
  try {
    await polled.cycle();
    for (let i = 0; i < options.warmupCycles; i++) {
      polled.simulator.advance(PERIOD_SECONDS);
      await polled.cycle();
    }
    const measured = await measureCycles(polled, options.cycles, options.changeFeed, options.steps ?? false);
    return { jobs: options.jobs, cycles: options.cycles, ...measured, seconds: (performance.now() - started) / 1000 };
  } finally {
    await polled.close();
  }
}

async function measureCycles(
  polled: PolledExporter,
  cycles: number,
  feed: { intervalSeconds: number } | undefined,
  details: boolean,
): Promise<Omit<FloorResult, 'jobs' | 'cycles' | 'seconds'>> {
  const totals = { sent: 0, floor: 0, gapChecks: 0, jobsSkipped: 0, listPages: 0, cycleSeconds: 0 };
  for (let i = 0; i < cycles; i++) {
    polled.simulator.advance(PERIOD_SECONDS);
    const cycle = await polled.measuredCycle(feed, details);
    const byEndpoint = polled.simulator.requests().byEndpoint;
    totals.gapChecks += byEndpoint['running-status'] ?? 0;
    totals.listPages += byEndpoint['job-list-all'] ?? 0;
    totals.jobsSkipped += cycle.summary.jobsSkipped;
    totals.sent += cycle.sent;
    totals.floor += cycle.floor;
    totals.cycleSeconds += cycle.ms / 1000;
  }
  return { ...totals, ratio: totals.sent / totals.floor };
}

export interface CycleTimeResult {
  jobs: number;
  latencyMs: number;
  concurrency: number;
  cycles: number;
  requests: number;
  wallSeconds: number;
  idealSeconds: number;
  ratio: number;
}

/**
 * Cycle wall time at a simulated API latency: measured against requests x latency / concurrency.
 * The request budget (1,000/s) is far above what 16 requests in flight at 50 ms can use (320/s).
 */
export async function cycleTime(options: {
  jobs: number;
  cycles: number;
  latencyMs: number;
  concurrency: number;
}): Promise<CycleTimeResult> {
  const polled = await PolledExporter.start(
    { seed: 31, jobs: options.jobs, buildEverySeconds: 900, gapProbability: 0.02 },
    { startAt: 'latest', maxConcurrency: options.concurrency },
  );
  try {
    await polled.cycle();
    for (let i = 0; i < 3; i++) {
      polled.simulator.advance(30);
      await polled.cycle();
    }
    polled.simulator.setLatency(options.latencyMs);
    let requests = 0;
    let wall = 0;
    for (let i = 0; i < options.cycles; i++) {
      polled.simulator.advance(30);
      polled.simulator.resetRequests();
      const { ms } = await polled.cycle();
      requests += polled.allRequests();
      wall += ms / 1000;
    }
    const ideal = (requests * options.latencyMs) / 1000 / options.concurrency;
    return { ...options, requests, wallSeconds: wall, idealSeconds: ideal, ratio: wall / ideal };
  } finally {
    await polled.close();
  }
}

export interface ColdStartResult {
  jobs: number;
  history: number;
  runningStatus: boolean;
  retentionJobs: number;
  budgetPerJob: number;
  meanPerJob: number;
  maxPerJob: number;
  ratio: number;
  cursorsRight: boolean;
}

/**
 * First start with `start_at: latest` on jobs with a long history: requests per job against
 * 2*log2(n)+4. The simulator draws every history build up front (about 0.2 s per 1,000 builds), so
 * 1,000 jobs x 10,000 builds would take minutes and gigabytes; the cost per job does not depend on
 * the number of jobs, so a smaller fleet measures the same thing.
 */
export async function coldStart(options: {
  jobs: number;
  history: number;
  runningStatus: boolean;
  retention: boolean;
}): Promise<ColdStartResult> {
  const specs: SimJobSpec[] = Array.from({ length: options.jobs }, (_, i) => ({
    id: (0xc01d_0000 + i).toString(16).padStart(32, '0'),
    name: `cold-${i}`,
    history: options.history,
    buildEverySeconds: 0,
    // With retention, every other job lost its oldest builds (build 1 no longer answers), keeping
    // at least one power of two: without the hint the search looks for one (see the report).
    deletedBelow: options.retention && i % 2 === 1 ? 2 + ((i * 7919) % (largestPowerOfTwo(options.history) - 1)) : 1,
  }));
  const polled = await PolledExporter.start(
    { seed: 41, jobs: specs, runningStatus: options.runningStatus, gapProbability: 0 },
    { startAt: 'latest', maxConcurrency: 16 },
  );
  try {
    polled.simulator.resetRequests();
    await polled.cycle();
    const log = polled.simulator.requests().log;
    const perJob = new Map<string, number>();
    for (const entry of log) if (entry.jobId) perJob.set(entry.jobId, (perJob.get(entry.jobId) ?? 0) + 1);
    const counts = specs.map((spec) => perJob.get(spec.id) ?? 0);
    const cursors = new Map((await polled.jobs()).map(([id, cursor]) => [id, cursor]));
    const truth = polled.simulator.groundTruth();
    const budget = Math.floor(2 * Math.log2(options.history) + 4);
    const max = Math.max(...counts);
    return {
      jobs: options.jobs,
      history: options.history,
      runningStatus: options.runningStatus,
      retentionJobs: specs.filter((spec) => (spec.deletedBelow ?? 1) > 1).length,
      budgetPerJob: budget,
      meanPerJob: counts.reduce((sum, n) => sum + n, 0) / counts.length,
      maxPerJob: max,
      ratio: max / budget,
      cursorsRight: truth.every((job) => cursors.get(job.id) === job.highest),
    };
  } finally {
    await polled.close();
  }
}

export interface CatchUpResult {
  jobs: number;
  newBuilds: number;
  sent: number;
  floor: number;
  ratio: number;
  cycles: number;
  latencyMs: number;
  concurrency: number;
  wallSeconds: number;
  idealSeconds: number;
  timeRatio: number;
}

/**
 * Catch-up after an outage: the exporter was cut off while every job ran about 20 builds; the
 * cycles after it must fetch each new build once, plus the usual probe, at full concurrency.
 */
export async function catchUp(options: {
  jobs: number;
  buildsPerJob: number;
  latencyMs: number;
  concurrency: number;
}): Promise<CatchUpResult> {
  const every = 60;
  const specs: SimJobSpec[] = Array.from({ length: options.jobs }, (_, i) => ({
    id: (0xca7c_0000 + i).toString(16).padStart(32, '0'),
    name: `catch-up-${i}`,
    history: 5,
    buildEverySeconds: every,
  }));
  const polled = await PolledExporter.start(
    { seed: 51, jobs: specs, gapProbability: 0.02 },
    { startAt: 'latest', maxConcurrency: options.concurrency },
  );
  try {
    await polled.cycle();
    // The outage: no cycle for buildsPerJob build intervals, then a wait for the last builds to end.
    polled.simulator.advance(every * options.buildsPerJob);
    polled.simulator.setLatency(options.latencyMs);
    let sent = 0;
    let floor = 0;
    let wall = 0;
    let cycles = 0;
    const before = new Map((await polled.jobs()).map(([id, cursor]) => [id, cursor]));
    // One cycle: the per-job bound (50) is above the builds each job ran during the outage.
    const cycle = await polled.measuredCycle();
    sent += cycle.sent;
    floor += cycle.floor;
    wall += cycle.ms / 1000;
    cycles += 1;
    const after = new Map((await polled.jobs()).map(([id, cursor]) => [id, cursor]));
    let newBuilds = 0;
    for (const job of polled.simulator.groundTruth())
      newBuilds += countBetween(job.existing, before.get(job.id) ?? 0, after.get(job.id) ?? 0);
    const ideal = (sent * options.latencyMs) / 1000 / options.concurrency;
    return {
      jobs: options.jobs,
      newBuilds,
      sent,
      floor,
      ratio: sent / floor,
      cycles,
      latencyMs: options.latencyMs,
      concurrency: options.concurrency,
      wallSeconds: wall,
      idealSeconds: ideal,
      timeRatio: wall / ideal,
    };
  } finally {
    await polled.close();
  }
}
