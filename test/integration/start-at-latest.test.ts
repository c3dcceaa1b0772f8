import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import type { Exporter } from '../../src/exporter.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, simulatorClock } from '../helpers/exporter-harness.js';
import { latestFinished, RESULTS } from '../helpers/ground-truth.js';

const JOB = { id: 'c3000000000000000000000000000001', name: 'big', history: 5000, buildEverySeconds: 0 };
const BUDGET = Math.floor(2 * Math.log2(5000) + 4);

describe('start_at: latest', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  async function firstCycle(options: { runningStatus: boolean; deletedBelow?: number }) {
    simulator = await createSimulator({
      seed: 3,
      jobs: [{ ...JOB, deletedBelow: options.deletedBelow ?? 1 }],
      runningStatus: options.runningStatus,
      gapProbability: 0,
    });
    ({ exporter } = await createTestExporter(testConfig(simulator, { poll: { start_at: 'latest' } })));
    simulator.resetRequests();
    await exporter.runCycle();
    return { requests: simulator.requests(), samples: await scrape(exporter), truth: simulator.groundTruth()[0] };
  }

  for (const variant of [
    { label: 'with the running-status hint', runningStatus: true },
    { label: 'by exponential probe and binary search', runningStatus: false },
    { label: 'when retention deleted builds below 3000', runningStatus: false, deletedBelow: 3000 },
  ]) {
    it(`finds build 5000 of 5000 ${variant.label} within 2*log2(n)+4 requests, counting no history`, async () => {
      const { requests, samples, truth } = await firstCycle(variant);
      const total = requests.recordInfo + (requests.byEndpoint['running-status'] ?? 0);
      expect(total).toBeLessThanOrEqual(BUDGET);
      expect(valueOf(samples, 'codearts_build_last_number', { job_id: JOB.id })).toBe(5000);
      // Where counting began, for `backfill`: the builds below 5001 are history.
      const state = exporter!.describeJobs()[0]?.state;
      expect(state?.countingFrom).toBe(5001);
      expect(Math.abs((state?.countingSince ?? 0) - Date.now() / 1000)).toBeLessThan(60);
      for (const result of RESULTS) expect(valueOf(samples, 'codearts_builds_total', { job_id: JOB.id, result })).toBe(0);
      expect(samples.filter((s) => s.name === 'codearts_build_duration_seconds_count')).toEqual([]);
      const latest = latestFinished(truth?.finished ?? []);
      expect(valueOf(samples, 'codearts_build_last_finished_timestamp_seconds', { job_id: JOB.id })).toBeCloseTo(
        latest?.finishedAt ?? 0,
        3,
      );
      expect(valueOf(samples, 'codearts_build_last_status', { job_id: JOB.id, result: latest?.result ?? '' })).toBe(1);
    });
  }

  it('counts only builds created after the start', async () => {
    simulator = await createSimulator({ seed: 5, jobs: [{ ...JOB, history: 300, buildEverySeconds: 120 }], gapProbability: 0 });
    ({ exporter } = await createTestExporter(testConfig(simulator, { poll: { start_at: 'latest' } })));
    await exporter.runCycle();
    for (let i = 0; i < 120; i++) {
      simulator.advance(60);
      await exporter.runCycle();
    }
    const truth = simulator.groundTruth()[0];
    const fresh = (truth?.finished ?? []).filter((b) => b.buildNo > 300);
    const samples = await scrape(exporter);
    const total = RESULTS.reduce((sum, result) => sum + (valueOf(samples, 'codearts_builds_total', { job_id: JOB.id, result }) ?? 0), 0);
    expect(fresh.length).toBeGreaterThan(20);
    expect(total).toBe(fresh.length);
  });

  // Retention deleted every build below 1100 of 1200: no power of two (1024, 2048) and no 1.5 x
  // one (768, 1536) exists, and running-status does not answer. The job must not sit at 0 quietly.
  it('without running-status, a newest build the search cannot see: reported failing, searched again on a backoff, found once running-status answers', async () => {
    simulator = await createSimulator({
      seed: 4,
      jobs: [{ ...JOB, history: 1200, deletedBelow: 1100 }],
      runningStatus: 'route-not-found',
      gapProbability: 0,
    });
    const sim = simulator;
    let logs;
    ({ exporter, logs } = await createTestExporter(testConfig(simulator, { poll: { start_at: 'latest' }, log: { level: 'info' } }), {
      clock: simulatorClock(sim),
    }));
    simulator.resetRequests();
    await exporter.runCycle();
    // 25 powers of two and 23 times 1.5, then the cycle's probe of build 1.
    expect(simulator.requests().recordInfo).toBeLessThanOrEqual(50);
    let samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
    expect(valueOf(samples, 'codearts_build_last_number', { job_id: JOB.id })).toBe(0);
    const error = logs.lines.find((line) => line.level === 'error');
    expect(String(error?.msg)).toContain('cannot find its newest build');
    expect(String(error?.msg)).toContain('poll.start_at');
    // Until the retry (10 minutes), one probe a cycle and no new search.
    simulator.resetRequests();
    for (let i = 0; i < 19; i++) {
      simulator.advance(30);
      await exporter.runCycle();
    }
    expect(simulator.requests().recordInfo).toBeLessThanOrEqual(19 + 3);
    expect(valueOf(await scrape(exporter), 'codearts_exporter_up')).toBe(0);
    // running-status answers again: the next search finds 1200 and counts no history.
    simulator.setRunningStatus('ok');
    for (let i = 0; i < 45; i++) {
      simulator.advance(30);
      await exporter.runCycle();
    }
    samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_build_last_number', { job_id: JOB.id })).toBe(1200);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(1);
    for (const result of RESULTS) expect(valueOf(samples, 'codearts_builds_total', { job_id: JOB.id, result })).toBe(0);
    expect(logs.lines.filter((line) => line.level === 'error')).toHaveLength(1);
  });

  it('without running-status, retention past a power of two: found by the 1.5 x probes', async () => {
    simulator = await createSimulator({
      seed: 4,
      jobs: [{ ...JOB, history: 450, deletedBelow: 300 }],
      runningStatus: false,
      gapProbability: 0,
    });
    ({ exporter } = await createTestExporter(testConfig(simulator, { poll: { start_at: 'latest' } })));
    await exporter.runCycle();
    const samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_build_last_number', { job_id: JOB.id })).toBe(450);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(1);
  });
});
