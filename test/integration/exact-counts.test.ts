import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import type { Exporter } from '../../src/exporter.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig } from '../helpers/exporter-harness.js';
import { compareCounters, histogramCount, histogramSumMs, latestFinished, RESULTS, TRIGGERS } from '../helpers/ground-truth.js';

const JOBS = [
  { id: 'a1000000000000000000000000000001', name: 'backend-ci', notFound: '422-devcb' as const, buildEverySeconds: 150 },
  { id: 'a1000000000000000000000000000002', name: 'frontend-ci', notFound: '404' as const, buildEverySeconds: 200 },
  { id: 'a1000000000000000000000000000003', name: 'nightly', notFound: '403-cb' as const, buildEverySeconds: 400 },
  { id: 'a1000000000000000000000000000004', name: 'release', notFound: '200-fail' as const, buildEverySeconds: 300 },
];

describe('exact counts against the simulator', () => {
  let simulator: Simulator;
  let exporter: Exporter;

  beforeAll(async () => {
    simulator = await createSimulator({ seed: 7, jobs: JOBS, gapProbability: 0.08 });
    ({ exporter } = await createTestExporter(testConfig(simulator)));
    await exporter.runCycle();
    // Three virtual hours at one cycle per minute, builds overlapping and finishing out of order.
    for (let minute = 0; minute < 180; minute++) {
      simulator.advance(60);
      await exporter.runCycle();
    }
    // Let the exporter catch up with the frozen world (gap checks need quiet cycles).
    for (let i = 0; i < 60 && !(await caughtUp()); i++) await exporter.runCycle();
  }, 120_000);

  afterAll(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  async function caughtUp(): Promise<boolean> {
    const samples = await scrape(exporter);
    return simulator
      .groundTruth()
      .every(
        (job) =>
          compareCounters(samples, job).length === 0 && valueOf(samples, 'codearts_build_last_number', { job_id: job.id }) === job.highest,
      );
  }

  it('exercises what it claims: gaps, out-of-order completion, every status', () => {
    const truth = simulator.groundTruth();
    const all = truth.flatMap((job) => job.finished);
    const statuses = new Set(all.map((b) => b.rawStatus.toUpperCase()));
    for (const status of [
      'SUCCESS',
      'FAILURE',
      'FAILED',
      'ERROR',
      'SCHEDULE_FAILURE',
      'ABORTED',
      'CANCELED',
      'CANCELLED',
      'TIMEOUT',
      'PARTIAL_SUCCESS',
    ]) {
      expect(statuses, status).toContain(status);
    }
    const gaps = truth.some((job) => job.existing.some((n, i) => i > 0 && n !== (job.existing[i - 1] ?? 0) + 1));
    expect(gaps).toBe(true);
    const outOfOrder = truth.some((job) => job.finished.some((b, i) => i > 0 && b.finishedAt < (job.finished[i - 1]?.finishedAt ?? 0)));
    expect(outOfOrder).toBe(true);
  });

  it('counts every finished build exactly once per result and trigger, all series from zero', async () => {
    const samples = await scrape(exporter);
    for (const job of simulator.groundTruth()) {
      expect(compareCounters(samples, job)).toEqual([]);
      for (const result of RESULTS) expect(valueOf(samples, 'codearts_builds_total', { job_id: job.id, result })).toBeDefined();
      for (const trigger of TRIGGERS)
        expect(valueOf(samples, 'codearts_build_triggers_total', { job_id: job.id, trigger_type: trigger })).toBeDefined();
      expect(valueOf(samples, 'codearts_builds_total', { job_id: job.id, result: 'success' })).toBeGreaterThan(0);
    }
  });

  it('observes each finished build once in the duration histogram, sums to the millisecond', async () => {
    const samples = await scrape(exporter);
    for (const job of simulator.groundTruth()) {
      for (const result of RESULTS) {
        const builds = job.finished.filter((b) => b.result === result);
        const where = { job_id: job.id, result };
        expect(histogramCount(samples, 'codearts_build_duration_seconds', where)).toBe(valueOf(samples, 'codearts_builds_total', where));
        expect(histogramSumMs(samples, 'codearts_build_duration_seconds', where)).toBe(builds.reduce((sum, b) => sum + b.durationMs, 0));
      }
    }
  });

  it('observes each started build once in the queue histogram', async () => {
    const samples = await scrape(exporter);
    for (const job of simulator.groundTruth()) {
      const running = job.inProgress.filter((n) => !job.queued.includes(n));
      const runningQueueMs = await Promise.all(running.map((n) => queueMsFromApi(job.id, n)));
      const where = { job_id: job.id };
      expect(histogramCount(samples, 'codearts_build_queue_duration_seconds', where)).toBe(job.finished.length + running.length);
      const wantMs =
        job.finished.reduce((sum, b) => sum + Math.round(b.queueSeconds * 1000), 0) + runningQueueMs.reduce((a, b) => a + b, 0);
      expect(histogramSumMs(samples, 'codearts_build_queue_duration_seconds', where)).toBe(wantMs);
    }
  });

  it('sets every last_* gauge and builds_in_progress from the ground truth', async () => {
    const samples = await scrape(exporter);
    for (const job of simulator.groundTruth()) {
      const where = { job_id: job.id };
      const latest = latestFinished(job.finished);
      const latestSuccess = latestFinished(job.finished.filter((b) => b.result === 'success'));
      expect(valueOf(samples, 'codearts_builds_in_progress', where)).toBe(job.inProgress.length);
      expect(valueOf(samples, 'codearts_build_last_number', where)).toBe(job.highest);
      expect(valueOf(samples, 'codearts_build_last_status', { ...where, result: latest?.result ?? '' })).toBe(1);
      expect(valueOf(samples, 'codearts_build_last_duration_seconds', where)).toBeCloseTo((latest?.durationMs ?? 0) / 1000, 3);
      expect(valueOf(samples, 'codearts_build_last_finished_timestamp_seconds', where)).toBeCloseTo(latest?.finishedAt ?? 0, 3);
      expect(valueOf(samples, 'codearts_build_last_success_timestamp_seconds', where)).toBeCloseTo(latestSuccess?.finishedAt ?? 0, 3);
    }
  });

  async function queueMsFromApi(jobId: string, buildNo: number): Promise<number> {
    const response = await fetch(`${simulator.url}/v4/jobs/${jobId}/${buildNo}/record-info`, {
      headers: { 'X-Auth-Token': 'sim-token-NOT-A-SECRET' },
    });
    const body = (await response.json()) as { result: { create_time: string; start_time: string } };
    return Date.parse(body.result.start_time) - Date.parse(body.result.create_time);
  }
});
