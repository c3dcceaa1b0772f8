import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type JobFeedOptions, type RunningStatusMode, type Simulator } from '../../src/simulator/index.js';
import { valueOf, type Sample } from '../helpers/exposition.js';
import { createTestExporter, scrape, simulatorClock, testConfig, type LogCapture } from '../helpers/exporter-harness.js';
import { compareAll, compareCounters } from '../helpers/ground-truth.js';

const PERIOD = 30;
const INTERVAL = 120;

const JOBS = [
  { id: 'f1800000000000000000000000000001', name: 'api', buildEverySeconds: 200, history: 6 },
  { id: 'f1800000000000000000000000000002', name: 'web', buildEverySeconds: 300, history: 4 },
  { id: 'f1800000000000000000000000000003', name: 'batch', buildEverySeconds: 600, history: 3 },
  { id: 'f1800000000000000000000000000004', name: 'docs', buildEverySeconds: 900, history: 2 },
  { id: 'f1800000000000000000000000000005', name: 'mobile', buildEverySeconds: 400, history: 5 },
  { id: 'f1800000000000000000000000000006', name: 'infra', buildEverySeconds: 1200, history: 1 },
];
const [API, WEB] = JOBS.map((job) => job.id) as [string, string];

/**
 * The change feed (docs/polling-edge-cases.md, "The change feed"): the job list read first each
 * cycle decides which jobs are probed. Whatever the list does (lag, leave jobs out, fail), the
 * counts must equal the simulator's ground truth, and no build may wait longer than one
 * `full_probe_interval` plus one cycle to be seen.
 */
describe('change feed: exact counts whatever the job list does', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
    exporter = undefined;
    simulator = undefined;
  });

  async function start(jobFeed: JobFeedOptions, poll: Record<string, unknown> = {}, stateDir?: string) {
    simulator ??= await createSimulator({ seed: 18, jobs: JOBS, gapProbability: 0.05, jobFeed });
    const sim = simulator;
    const config = testConfig(
      sim,
      { poll: { change_feed: 'auto', full_probe_interval: `${INTERVAL}s`, ...poll }, log: { level: 'info' } },
      stateDir,
    );
    const created = await createTestExporter(config, { clock: simulatorClock(sim) });
    exporter = created.exporter;
    return { simulator: sim, exporter: created.exporter, logs: created.logs };
  }

  /**
   * Runs `cycles` cycles of PERIOD virtual seconds and checks after each that every build created
   * more than one full_probe_interval plus one cycle ago has been seen (the cursor is past it).
   * Returns the most jobs a cycle skipped.
   */
  async function runChecked(sim: Simulator, exp: Exporter, cycles: number): Promise<{ skippedMax: number; lateBuilds: string[] }> {
    let skippedMax = 0;
    const lateBuilds: string[] = [];
    for (let i = 0; i < cycles; i++) {
      sim.advance(PERIOD);
      await exp.runCycle();
      const samples = await scrape(exp);
      skippedMax = Math.max(skippedMax, valueOf(samples, 'codearts_exporter_change_feed_skipped_jobs') ?? 0);
      lateBuilds.push(...late(sim, samples));
    }
    return { skippedMax, lateBuilds };
  }

  function late(sim: Simulator, samples: Sample[]): string[] {
    const limit = sim.now() - (INTERVAL + PERIOD);
    const found: string[] = [];
    for (const job of sim.groundTruth()) {
      const cursor = valueOf(samples, 'codearts_build_last_number', { job_id: job.id }) ?? 0;
      for (const build of job.finished)
        if (build.createdAt <= limit && build.buildNo > cursor) found.push(`${job.name} #${build.buildNo} at ${sim.now()}`);
    }
    return found;
  }

  /**
   * Before the list catches up: every finished build up to each cursor counted exactly. Then the
   * list catches up and the world stands still (no time passes, so no build is created or changes
   * while the exporter catches up): everything counted exactly, histograms included.
   */
  async function settle(exp: Exporter, sim: Simulator): Promise<Sample[]> {
    const before = await scrape(exp);
    for (const job of sim.groundTruth()) {
      const cursor = valueOf(before, 'codearts_build_last_number', { job_id: job.id }) ?? 0;
      expect(
        compareCounters(
          before,
          job,
          job.finished.filter((b) => b.buildNo <= cursor),
        ),
      ).toEqual([]);
    }
    sim.setJobFeed({ lagSeconds: 0, jobLagSeconds: {}, hiddenJobs: [] });
    for (let i = 0; i < 30 && compareAll(await scrape(exp), sim.groundTruth()).length > 0; i++) await exp.runCycle();
    return scrape(exp);
  }

  it('list on, with faults and two restarts: exact counts, and most jobs skipped in most cycles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbe-feed-'));
    const { simulator: sim, exporter: firstExporter } = await start({}, { start_at: 1 }, dir);
    let exp = firstExporter;
    await exp.runCycle();
    sim.resetRequests();
    let first = await runChecked(sim, exp, 60);
    for (let restart = 0; restart < 2; restart++) {
      sim.inject('500', { probability: 0.05, endpoint: 'record-info-v4' });
      sim.inject('429', { probability: 0.05, endpoint: 'job-list-all' });
      sim.inject('reset', { probability: 0.03 });
      const during = await runChecked(sim, exp, 40);
      sim.clearFaults();
      await exp.stop();
      ({ exporter: exp } = await start({}, { start_at: 1 }, dir));
      first = { skippedMax: Math.max(first.skippedMax, during.skippedMax), lateBuilds: [...first.lateBuilds, ...during.lateBuilds] };
    }
    const last = await runChecked(sim, exp, 40);
    expect([...first.lateBuilds, ...last.lateBuilds]).toEqual([]);
    expect(first.skippedMax).toBeGreaterThanOrEqual(4);
    const samples = await settle(exp, sim);
    expect(compareAll(samples, sim.groundTruth())).toEqual([]);
    expect(sim.groundTruth().reduce((sum, job) => sum + job.finished.length, 0)).toBeGreaterThan(80);
    expect(valueOf(samples, 'codearts_exporter_change_feed_available')).toBe(1);
  }, 120_000);

  it('a lagging list (every job 5 minutes late, one never showing a new build): each build seen within full_probe_interval + one cycle', async () => {
    const { simulator: sim, exporter: exp, logs } = await start({ lagSeconds: 300, jobLagSeconds: { [API]: 1e9 } });
    await exp.runCycle();
    const { lateBuilds } = await runChecked(sim, exp, 80);
    expect(lateBuilds).toEqual([]);
    const samples = await settle(exp, sim);
    expect(compareAll(samples, sim.groundTruth())).toEqual([]);
    // API's builds are found only by its safety probe; the others' often before the list shows them.
    const found = logs.lines.filter((line) => line.event === 'safety_probe_found');
    expect(found.some((line) => line.job_id === API)).toBe(true);
    expect(valueOf(samples, 'codearts_exporter_safety_probe_builds_total')).toBeGreaterThanOrEqual(found.length);
  }, 120_000);

  it('jobs missing from the list are probed every cycle, as without it', async () => {
    const { simulator: sim, exporter: exp } = await start({ hiddenJobs: [WEB] });
    await exp.runCycle();
    for (let i = 0; i < 40; i++) {
      sim.advance(PERIOD);
      sim.resetRequests();
      await exp.runCycle();
      // A probe, or a running-status gap check standing in for it, as without the list.
      const probed = sim.requests().log.filter((entry) => entry.jobId === WEB && entry.endpoint !== 'job-list-all');
      expect(probed.length, `cycle ${i}`).toBeGreaterThanOrEqual(1);
      // Seen within a cycle, as without the list.
      const samples = await scrape(exp);
      const web = sim.groundTruth().find((job) => job.id === WEB)!;
      const cursor = valueOf(samples, 'codearts_build_last_number', { job_id: WEB }) ?? 0;
      expect(web.finished.filter((b) => b.createdAt <= sim.now() - PERIOD && b.buildNo > cursor)).toEqual([]);
    }
    expect(compareAll(await settle(exp, sim), sim.groundTruth())).toEqual([]);
  }, 120_000);
});

/** The same world polled twice: once with change_feed off, once with auto and the list failing. */
async function pollTwice(mode: RunningStatusMode): Promise<{ off: Run; auto: Run; logs: LogCapture }> {
  const off = await pollRun('off', 'ok');
  const auto = await pollRun('auto', mode);
  return { off: off.run, auto: auto.run, logs: auto.logs };
}

/** The build metrics of an exposition (not the exporter's own). */
const buildSeries = (samples: Sample[]) => samples.filter((s) => s.name.startsWith('codearts_build'));

interface Run {
  recordInfo: number;
  runningStatus: number;
  jobList: number;
  samples: Sample[];
}

async function pollRun(changeFeed: 'off' | 'auto', mode: RunningStatusMode): Promise<{ run: Run; logs: LogCapture }> {
  const simulator = await createSimulator({ seed: 19, jobs: JOBS, gapProbability: 0.05, jobFeed: { mode } });
  const sim = simulator;
  const config = testConfig(sim, { poll: { change_feed: changeFeed, start_at: 'latest' }, log: { level: 'info' } });
  const { exporter, logs } = await createTestExporter(config, { clock: simulatorClock(sim) });
  try {
    await exporter.runCycle();
    for (let i = 0; i < 120; i++) {
      sim.advance(PERIOD);
      await exporter.runCycle();
    }
    const requests = sim.requests();
    const run: Run = {
      recordInfo: requests.recordInfo,
      runningStatus: requests.byEndpoint['running-status'] ?? 0,
      jobList: requests.byEndpoint['job-list-all'] ?? 0,
      samples: await scrape(exporter),
    };
    return { run, logs };
  } finally {
    await exporter.stop();
    await simulator.close();
  }
}

describe('change feed: the list unavailable', () => {
  it.each([
    ['route-not-found', '404 APIGW.0101'],
    ['forbidden', '403'],
    ['server-error', '500'],
  ] as Array<[RunningStatusMode, string]>)(
    'list answering %s (%s): the same requests and counts as change_feed off, logged once',
    async (mode) => {
      const { off, auto, logs } = await pollTwice(mode);
      console.log(
        `list ${mode}: record-info ${auto.recordInfo} (off: ${off.recordInfo}), running-status ${auto.runningStatus} (off: ${off.runningStatus}), list requests ${auto.jobList}`,
      );
      expect(auto.recordInfo).toBe(off.recordInfo);
      expect(auto.runningStatus).toBe(off.runningStatus);
      expect(off.jobList).toBe(0);
      // One hour of cycles: asked at start, then after 5, 10, 20 and 40 minutes (a 5xx with its retries).
      expect(auto.jobList).toBeLessThanOrEqual(mode === 'server-error' ? 4 * 4 : 4);
      expect(buildSeries(auto.samples)).toEqual(buildSeries(off.samples));
      expect(buildSeries(auto.samples).length).toBeGreaterThan(50);
      const warnings = logs.lines.filter((line) => line.event === 'change_feed' && line.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(valueOf(auto.samples, 'codearts_exporter_change_feed_available')).toBe(0);
      expect(valueOf(auto.samples, 'codearts_exporter_change_feed_skipped_jobs')).toBe(0);
    },
    120_000,
  );
});
