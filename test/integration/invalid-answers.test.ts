import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type NotFoundShape, type Simulator } from '../../src/simulator/index.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, type LogCapture, simulatorClock } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';

const JOB = { id: 'b4d00000000000000000000000000001', name: 'broken-answers', history: 12, buildEverySeconds: 0 };
const OTHER = { id: 'b4d00000000000000000000000000002', name: 'healthy', history: 5, buildEverySeconds: 600 };

interface SavedJob {
  state: { cursor: number; pending: number[]; unconfirmed: number[] };
}

/**
 * A 200 whose result is empty or invalid for numbers past the cursor (a broken gateway or release)
 * once moved the cursor 50 numbers and grew pending by 50 every cycle while the job counted as
 * reached. Now an invalid answer advances nothing it cannot confirm.
 */
describe('invalid 200 answers past the cursor', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  it.each(['200-empty', '200-invalid'] as NotFoundShape[])(
    '%s for 10 cycles: cursor and pending unchanged, job failing, bounded; exact after recovery',
    async (shape) => {
      simulator = await createSimulator({ seed: 9, jobs: [JOB, OTHER], gapProbability: 0 });
      const sim = simulator;
      const config = testConfig(simulator, { poll: { start_at: 1 }, log: { level: 'warn' } });
      let logs: LogCapture;
      ({ exporter, logs } = await createTestExporter(config, { clock: simulatorClock(sim) }));
      await exporter.runCycle();
      const saved = (): SavedJob =>
        (JSON.parse(readFileSync(config.state.path, 'utf8')) as { jobs: Record<string, SavedJob> }).jobs[JOB.id] as SavedJob;
      const before = saved().state;
      expect(before.cursor).toBe(12);
      let reachedBefore = valueOf(await scrape(exporter), 'codearts_exporter_last_successful_poll_timestamp_seconds', { job_id: JOB.id });

      simulator.setNotFoundShape(JOB.id, shape);
      let failingCycles = 0;
      let invalidAnswers = 0;
      for (let cycle = 1; cycle <= 10; cycle++) {
        simulator.advance(30);
        simulator.resetRequests();
        await exporter.runCycle();
        const requests = simulator.requests().log.filter((entry) => entry.jobId === JOB.id);
        const probed = requests.filter((entry) => entry.endpoint === 'record-info-v4').map((entry) => entry.buildNo);
        if (probed.length === 0) {
          // A gap-check cycle: running-status said nothing exists past 12, which stands in for the probe.
          expect(requests.map((entry) => entry.endpoint)).toEqual(['running-status']);
        } else {
          // The probe looks at most three numbers past the cursor, then stops for the cycle.
          expect(probed).toEqual([13, 14, 15]);
          failingCycles += 1;
          invalidAnswers += 3;
        }
        const state = saved().state;
        expect(state.cursor).toBe(before.cursor);
        expect(state.pending).toEqual(before.pending);
        expect(state.unconfirmed).toEqual([]);
        const samples = await scrape(exporter);
        expect(valueOf(samples, 'codearts_exporter_up')).toBe(probed.length === 0 ? 1 : 0);
        expect(valueOf(samples, 'codearts_exporter_invalid_records_total', { job_id: JOB.id })).toBe(invalidAnswers);
        expect(valueOf(samples, 'codearts_exporter_invalid_records_total', { job_id: OTHER.id })).toBe(0);
        expect(valueOf(samples, 'codearts_builds_in_progress', { job_id: JOB.id })).toBe(0);
        expect(valueOf(samples, 'codearts_build_last_number', { job_id: JOB.id })).toBe(12);
        const reached = valueOf(samples, 'codearts_exporter_last_successful_poll_timestamp_seconds', { job_id: JOB.id });
        if (probed.length > 0) expect(reached).toBe(reachedBefore);
        reachedBefore = reached;
      }
      expect(failingCycles).toBeGreaterThanOrEqual(9);
      expect(logs.lines.filter((line) => line.msg === 'invalid build record; will fetch it again' && line.job_id === JOB.id)).toHaveLength(
        invalidAnswers,
      );

      // Recovery: real answers again, and real builds after the broken period.
      simulator.setNotFoundShape(JOB.id, '422-devcb');
      const first = simulator.triggerBuild(JOB.id, { queueSeconds: 5, durationSeconds: 60 });
      simulator.triggerBuild(JOB.id, { queueSeconds: 5, durationSeconds: 90 });
      expect(first).toBe(13);
      for (let cycle = 0; cycle < 6; cycle++) {
        simulator.advance(30);
        await exporter.runCycle();
      }
      const samples = await scrape(exporter);
      expect(valueOf(samples, 'codearts_exporter_up')).toBe(1);
      for (const job of simulator.groundTruth()) expect(compareCounters(samples, job)).toEqual([]);
      expect(valueOf(samples, 'codearts_build_last_number', { job_id: JOB.id })).toBe(14);
    },
    30_000,
  );

  it('a real build whose record stays invalid does not stall the job: later builds are counted, it is retried, then given up', async () => {
    simulator = await createSimulator({ seed: 9, jobs: [JOB], gapProbability: 0 });
    const sim = simulator;
    const config = testConfig(simulator, { poll: { start_at: 1, max_pending_age: '1h' }, log: { level: 'warn' } });
    let logs: LogCapture;
    ({ exporter, logs } = await createTestExporter(config, { clock: simulatorClock(sim) }));
    await exporter.runCycle();
    for (let i = 0; i < 3; i++) simulator.triggerBuild(JOB.id, { queueSeconds: 1, durationSeconds: 20 });
    simulator.overrideBuild(JOB.id, 13, { kind: 'invalid-record' });
    simulator.advance(60);
    await exporter.runCycle();
    const saved = () => (JSON.parse(readFileSync(config.state.path, 'utf8')) as { jobs: Record<string, SavedJob> }).jobs[JOB.id]?.state;
    let samples = await scrape(exporter);
    // 14 confirms that 13 is a real build: the cursor moves on, 13 is re-fetched as unconfirmed.
    expect(valueOf(samples, 'codearts_build_last_number', { job_id: JOB.id })).toBe(15);
    expect(saved()?.unconfirmed).toEqual([13]);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
    const truth = simulator.groundTruth()[0];
    if (!truth) throw new Error('no job');
    expect(
      compareCounters(
        samples,
        truth,
        truth.finished.filter((b) => b.buildNo !== 13),
      ),
    ).toEqual([]);

    // An hour of cycles: 13 is asked every cycle, then given up with a counted, logged reason.
    let cycles = 0;
    for (; cycles < 150 && saved()?.unconfirmed.length; cycles++) {
      simulator.advance(30);
      await exporter.runCycle();
    }
    expect(cycles).toBeGreaterThanOrEqual(119);
    expect(cycles).toBeLessThanOrEqual(122);
    samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_abandoned_builds_total', { job_id: JOB.id, reason: 'invalid_record' })).toBe(1);
    expect(logs.lines.find((line) => line.msg.startsWith('pending build given up'))).toMatchObject({
      build_no: 13,
      reason: 'invalid_record',
    });
    simulator.resetRequests();
    for (let i = 0; i < 5; i++) {
      simulator.advance(30);
      await exporter.runCycle();
    }
    expect(simulator.requests().log.filter((entry) => entry.buildNo === 13)).toEqual([]);
    expect(valueOf(await scrape(exporter), 'codearts_exporter_up')).toBe(1);
  });
});
