import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { select, valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, type LogCapture, simulatorClock } from '../helpers/exporter-harness.js';
import { compareCounters, histogramCount, histogramSumMs } from '../helpers/ground-truth.js';

const JOB = { id: 'be0d0000000000000000000000000001', name: 'pending', history: 3, buildEverySeconds: 0 };

/** Nothing dropped on one answer; nothing pending for ever. */
describe('pending builds', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  async function setup(poll: Record<string, unknown> = {}): Promise<{ sim: Simulator; ex: Exporter; logs: LogCapture }> {
    simulator = await createSimulator({ seed: 12, jobs: [JOB], gapProbability: 0 });
    const sim = simulator;
    const created = await createTestExporter(testConfig(simulator, { poll: { start_at: 1, ...poll }, log: { level: 'info' } }), {
      clock: simulatorClock(sim),
    });
    exporter = created.exporter;
    await created.exporter.runCycle();
    return { sim, ex: created.exporter, logs: created.logs };
  }

  async function cycles(sim: Simulator, ex: Exporter, n: number, seconds = 30): Promise<void> {
    for (let i = 0; i < n; i++) {
      sim.advance(seconds);
      await ex.runCycle();
    }
  }

  it('a pending build that answers not-found once (403 CB.00031059, 404) is still counted when it finishes', async () => {
    const { sim, ex } = await setup();
    const a = sim.triggerBuild(JOB.id, { queueSeconds: 5, durationSeconds: 600 });
    const b = sim.triggerBuild(JOB.id, { queueSeconds: 5, durationSeconds: 600 });
    await cycles(sim, ex, 1);
    expect(valueOf(await scrape(ex), 'codearts_builds_in_progress', { job_id: JOB.id })).toBe(2);
    sim.overrideBuild(JOB.id, a, { kind: 'not-found', times: 1 });
    sim.overrideBuild(JOB.id, b, { kind: 'not-found', times: 1, shape: '404' });
    await cycles(sim, ex, 1);
    expect(valueOf(await scrape(ex), 'codearts_builds_in_progress', { job_id: JOB.id })).toBe(2);
    await cycles(sim, ex, 25);
    const samples = await scrape(ex);
    const truth = sim.groundTruth()[0];
    if (!truth) throw new Error('no job');
    expect(truth.finished.map((build) => build.buildNo)).toEqual([1, 2, 3, a, b]);
    expect(compareCounters(samples, truth)).toEqual([]);
    expect(valueOf(samples, 'codearts_exporter_vanished_builds_total', { job_id: JOB.id })).toBe(0);
  });

  it('a pending build not found on two cycles in a row is dropped and counted as vanished', async () => {
    const { sim, ex, logs } = await setup();
    const gone = sim.triggerBuild(JOB.id, { queueSeconds: 5, durationSeconds: 600 });
    await cycles(sim, ex, 1);
    sim.overrideBuild(JOB.id, gone, { kind: 'not-found', times: 1000 });
    await cycles(sim, ex, 1);
    expect(valueOf(await scrape(ex), 'codearts_builds_in_progress', { job_id: JOB.id })).toBe(1);
    await cycles(sim, ex, 1);
    const samples = await scrape(ex);
    expect(valueOf(samples, 'codearts_builds_in_progress', { job_id: JOB.id })).toBe(0);
    expect(valueOf(samples, 'codearts_exporter_vanished_builds_total', { job_id: JOB.id })).toBe(1);
    expect(logs.lines.filter((line) => line.msg.startsWith('pending build no longer exists'))).toMatchObject([{ build_no: gone }]);
  });

  it('an unknown status without finish_time stays pending, logged once, and stops costing requests after max_pending_age', async () => {
    const { sim, ex, logs } = await setup({ max_pending_age: '2h' });
    const stuck = sim.triggerBuild(JOB.id, { queueSeconds: 5, durationSeconds: 60 });
    sim.overrideBuild(JOB.id, stuck, { kind: 'unknown-status', status: 'SUSPENDED' });
    await cycles(sim, ex, 1);
    const firstSeen = sim.now();
    let samples = await scrape(ex);
    expect(valueOf(samples, 'codearts_builds_in_progress', { job_id: JOB.id })).toBe(1);
    // Two hours of 5-minute cycles: asked every cycle, then given up.
    await cycles(sim, ex, 23, 300);
    expect(valueOf(await scrape(ex), 'codearts_builds_in_progress', { job_id: JOB.id })).toBe(1);
    sim.resetRequests();
    await cycles(sim, ex, 2, 300);
    expect(sim.now() - firstSeen).toBeGreaterThan(7200);
    samples = await scrape(ex);
    expect(valueOf(samples, 'codearts_builds_in_progress', { job_id: JOB.id })).toBe(0);
    expect(select(samples, 'codearts_exporter_abandoned_builds_total', { job_id: JOB.id })).toMatchObject([
      { labels: { reason: 'unknown_status' }, value: 1 },
    ]);
    const abandonedAt = sim.requests().log.filter((entry) => entry.buildNo === stuck).length;
    expect(abandonedAt).toBeGreaterThanOrEqual(1);
    sim.resetRequests();
    await cycles(sim, ex, 20, 300);
    expect(sim.requests().log.filter((entry) => entry.buildNo === stuck)).toEqual([]);
    expect(logs.lines.filter((line) => line.status === 'SUSPENDED')).toHaveLength(1);
    expect(logs.lines.find((line) => line.msg.startsWith('pending build given up'))).toMatchObject({
      build_no: stuck,
      reason: 'unknown_status',
    });
    expect(select(samples, 'codearts_builds_total', { job_id: JOB.id }).reduce((sum, s) => sum + s.value, 0)).toBe(3);
  });

  it('a build aborted while queued is an aborted build with its queue time, not an invalid record', async () => {
    const { sim, ex } = await setup();
    const queued = sim.triggerBuild(JOB.id, { queueSeconds: 900, durationSeconds: 60 });
    sim.overrideBuild(JOB.id, queued, { kind: 'aborted-in-queue', afterSeconds: 75 });
    await cycles(sim, ex, 4);
    const samples = await scrape(ex);
    const truth = sim.groundTruth()[0];
    if (!truth) throw new Error('no job');
    expect(truth.finished.find((b) => b.buildNo === queued)).toMatchObject({ result: 'aborted', neverStarted: true, queueSeconds: 75 });
    expect(compareCounters(samples, truth)).toEqual([]);
    expect(valueOf(samples, 'codearts_exporter_invalid_records_total', { job_id: JOB.id })).toBe(0);
    const where = { job_id: JOB.id };
    expect(histogramCount(samples, 'codearts_build_queue_duration_seconds', where)).toBe(4);
    const historyQueueMs = truth.finished
      .filter((b) => b.buildNo !== queued)
      .reduce((sum, b) => sum + Math.round(b.queueSeconds * 1000), 0);
    expect(histogramSumMs(samples, 'codearts_build_queue_duration_seconds', where)).toBe(historyQueueMs + 75_000);
    // Three durations (the history), none for the build that never started.
    expect(histogramCount(samples, 'codearts_build_duration_seconds', where)).toBe(3);
  });
});
