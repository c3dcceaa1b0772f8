import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import type { Exporter } from '../../src/exporter.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, type LogCapture, simulatorClock } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';
import type { RunningStatusMode } from '../../src/simulator/index.js';

/**
 * The request floor (docs/design.md, "Polling semantics"): per cycle, one request per pending build, one per new build and one
 * probe per job. The floor is computed from the exporter's own gauges before the cycle and the
 * simulator's existing build numbers after it; the simulator counts what was really sent.
 */
async function measure(simulator: Simulator, exporter: Exporter, cycles: number, advanceSeconds: number) {
  let floor = 0;
  let recordInfo = 0;
  let runningStatus = 0;
  for (let i = 0; i < cycles; i++) {
    simulator.advance(advanceSeconds);
    const before = await scrape(exporter);
    const jobs = simulator.jobs();
    const cursors = new Map(jobs.map((job) => [job.id, valueOf(before, 'codearts_build_last_number', { job_id: job.id }) ?? 0]));
    const pending = jobs.reduce((sum, job) => sum + (valueOf(before, 'codearts_builds_in_progress', { job_id: job.id }) ?? 0), 0);
    simulator.resetRequests();
    await exporter.runCycle();
    const requests = simulator.requests();
    recordInfo += requests.recordInfo;
    runningStatus += requests.byEndpoint['running-status'] ?? 0;
    const after = await scrape(exporter);
    let fresh = 0;
    for (const job of simulator.groundTruth()) {
      const from = cursors.get(job.id) ?? 0;
      const to = valueOf(after, 'codearts_build_last_number', { job_id: job.id }) ?? 0;
      fresh += job.existing.filter((n) => n > from && n <= to).length;
    }
    floor += pending + fresh + jobs.length;
  }
  const sent = recordInfo + runningStatus;
  return { floor, sent, recordInfo, runningStatus, ratio: sent / floor };
}

async function cursorsOf(simulator: Simulator, exporter: Exporter): Promise<Map<string, number>> {
  const samples = await scrape(exporter);
  return new Map(simulator.jobs().map((job) => [job.id, valueOf(samples, 'codearts_build_last_number', { job_id: job.id }) ?? 0]));
}

/**
 * Every finished build between a job's starting point and its cursor is counted exactly; cursors
 * trail the newest build by at most a gap.
 */
async function expectExactUpToCursors(simulator: Simulator, exporter: Exporter, starts: ReadonlyMap<string, number>): Promise<void> {
  const samples = await scrape(exporter);
  for (const job of simulator.groundTruth()) {
    const cursor = valueOf(samples, 'codearts_build_last_number', { job_id: job.id }) ?? 0;
    const start = starts.get(job.id) ?? 0;
    expect(
      compareCounters(
        samples,
        job,
        job.finished.filter((b) => b.buildNo > start && b.buildNo <= cursor),
      ),
    ).toEqual([]);
    expect(job.existing.filter((n) => n > cursor).length, `${job.name}: builds past the cursor`).toBeLessThanOrEqual(2);
  }
}

/**
 * The floor with the change feed (docs/polling-edge-cases.md, "The change feed"): per cycle, the
 * list's pages, one request per pending build and per new build, and each job's safety probe once
 * per full_probe_interval (jobs x period / interval per cycle).
 */
async function measureWithFeed(simulator: Simulator, exporter: Exporter, cycles: number, intervalSeconds: number) {
  const jobs = simulator.jobs().length;
  const pages = Math.ceil(jobs / 100);
  let floor = 0;
  let sent = 0;
  let list = 0;
  let skipped = 0;
  for (let i = 0; i < cycles; i++) {
    simulator.advance(30);
    const before = await scrape(exporter);
    const cursors = new Map(
      simulator.jobs().map((job) => [job.id, valueOf(before, 'codearts_build_last_number', { job_id: job.id }) ?? 0]),
    );
    const pending = simulator
      .jobs()
      .reduce((sum, job) => sum + (valueOf(before, 'codearts_builds_in_progress', { job_id: job.id }) ?? 0), 0);
    simulator.resetRequests();
    const summary = await exporter.runCycle();
    skipped += summary.jobsSkipped;
    const requests = simulator.requests();
    list += requests.byEndpoint['job-list-all'] ?? 0;
    sent += requests.recordInfo + (requests.byEndpoint['running-status'] ?? 0) + (requests.byEndpoint['job-list-all'] ?? 0);
    const after = await scrape(exporter);
    let fresh = 0;
    for (const job of simulator.groundTruth()) {
      const from = cursors.get(job.id) ?? 0;
      const to = valueOf(after, 'codearts_build_last_number', { job_id: job.id }) ?? 0;
      fresh += job.existing.filter((n) => n > from && n <= to).length;
    }
    floor += pages + pending + fresh + (jobs * 30) / intervalSeconds;
  }
  return { floor, sent, list, skipped, ratio: sent / floor };
}

describe('request floor at steady state', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  it('a fleet with a realistic mix stays within 1.05 x the floor, gap checks included', async () => {
    simulator = await createSimulator({ seed: 21, jobs: 25, buildEverySeconds: 900, gapProbability: 0.02 });
    const sim = simulator;
    ({ exporter } = await createTestExporter(testConfig(simulator, { poll: { start_at: 'latest' }, log: { level: 'warn' } }), {
      clock: simulatorClock(sim),
    }));
    await exporter.runCycle();
    const starts = await cursorsOf(simulator, exporter);
    await measure(simulator, exporter, 40, 30); // warm up: pending sets fill
    const { ratio, floor, sent } = await measure(simulator, exporter, 150, 30);
    console.log(`request floor: sent ${sent}, floor ${floor}, ratio ${ratio.toFixed(4)}`);
    expect(floor).toBeGreaterThan(4000);
    expect(ratio, `sent ${sent} for a floor of ${floor}`).toBeLessThanOrEqual(1.05);
    await expectExactUpToCursors(simulator, exporter, starts);
  }, 120_000);

  it('with the change feed: within 1.05 x (list pages + pending + new + jobs x period / full_probe_interval), counts exact', async () => {
    // 200 jobs, a build every 25 minutes each: 2% of the jobs build in a 30 s cycle.
    simulator = await createSimulator({ seed: 18, jobs: 200, buildEverySeconds: 1500, gapProbability: 0.02 });
    const sim = simulator;
    const config = testConfig(simulator, {
      poll: { start_at: 'latest', change_feed: 'auto', full_probe_interval: '10m' },
      log: { level: 'warn' },
    });
    ({ exporter } = await createTestExporter(config, { clock: simulatorClock(sim) }));
    await exporter.runCycle();
    const starts = await cursorsOf(simulator, exporter);
    // Warm up past one full_probe_interval: the first cycle of a process probes every job fully.
    await measureWithFeed(simulator, exporter, 25, 600);
    const { ratio, floor, sent, list, skipped } = await measureWithFeed(simulator, exporter, 80, 600);
    console.log(
      `request floor with the change feed: sent ${sent} (${list} list pages), floor ${floor}, ratio ${ratio.toFixed(4)}, jobs skipped ${skipped}`,
    );
    expect(list).toBe(80 * 2);
    expect(skipped / 80, 'jobs skipped per cycle').toBeGreaterThan(100);
    expect(ratio, `sent ${sent} for a floor of ${floor}`).toBeLessThanOrEqual(1.05);
    // Less than half of one probe per job per cycle, which the per-job model pays before any pending build.
    expect(sent).toBeLessThan((80 * 200) / 2);
    await expectExactUpToCursors(simulator, exporter, starts);
  }, 120_000);

  it('a job idle for days pays for gap detection with exponential backoff, not every cycle', async () => {
    simulator = await createSimulator({
      seed: 2,
      jobs: [{ id: 'd4000000000000000000000000000001', name: 'idle', history: 40, buildEverySeconds: 0 }],
    });
    ({ exporter } = await createTestExporter(testConfig(simulator, { poll: { start_at: 'latest' }, log: { level: 'warn' } })));
    await exporter.runCycle();
    // 1,000 cycles of 3 minutes: about two days.
    const { sent } = await measure(simulator, exporter, 1000, 180);
    expect(sent).toBeGreaterThanOrEqual(1000);
    expect(sent).toBeLessThanOrEqual(1000 * 1.01);
  }, 120_000);

  // Where running-status is not published (404 APIGW.0101), forbidden to a least-privilege user, or
  // failing, gap checks look ahead with record-info instead: one request per check, never two.
  it.each([
    ['route-not-found', '404 APIGW.0101'],
    ['forbidden', '403'],
    ['server-error', '500'],
  ] as Array<[RunningStatusMode, string]>)(
    'running-status answering %s (%s): record-info within 1.05 x the floor, counts exact',
    async (mode) => {
      simulator = await createSimulator({ seed: 21, jobs: 25, buildEverySeconds: 900, gapProbability: 0.02, runningStatus: mode });
      const sim = simulator;
      let logs: LogCapture;
      ({ exporter, logs } = await createTestExporter(testConfig(simulator, { poll: { start_at: 'latest' }, log: { level: 'warn' } }), {
        clock: simulatorClock(sim),
      }));
      await exporter.runCycle();
      const starts = await cursorsOf(simulator, exporter);
      await measure(simulator, exporter, 40, 30);
      const { recordInfo, runningStatus, floor } = await measure(simulator, exporter, 150, 30);
      const ratio = recordInfo / floor;
      console.log(
        `running-status ${mode}: record-info ${recordInfo}, floor ${floor}, ratio ${ratio.toFixed(4)}, running-status requests ${runningStatus}`,
      );
      expect(floor).toBeGreaterThan(4000);
      expect(ratio, `record-info ${recordInfo} for a floor of ${floor}`).toBeLessThanOrEqual(1.05);
      // Asked again only after each suspension (10 min, 20 min, ... of the 75 measured minutes).
      expect(runningStatus).toBeLessThanOrEqual(3 * 4);
      const warnings = logs.lines.filter((line) => line.msg.startsWith('running-status unavailable'));
      expect(warnings).toHaveLength(1);
      expect(valueOf(await scrape(exporter), 'codearts_exporter_running_status_available')).toBe(0);
      await expectExactUpToCursors(simulator, exporter, starts);
    },
    120_000,
  );
});
