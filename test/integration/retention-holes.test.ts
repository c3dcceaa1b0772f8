import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type RunningStatusMode, type Simulator } from '../../src/simulator/index.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, simulatorClock } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';
import { STATE_SCHEMA_VERSION } from '../../src/state/state-schema.js';

const HOLE_JOB = { id: 'b01e0000000000000000000000000001', name: 'holey', history: 650, deletedBelow: 601, buildEverySeconds: 0 };
const QUIET_JOB = { id: 'b01e0000000000000000000000000002', name: 'quiet', history: 20, buildEverySeconds: 0 };
const PERIOD = 30;

interface Saved {
  state: { cursor: number; skipped: Array<{ from: number; to: number; checksLeft: number }> };
}

/**
 * Retention deletes old records. A job resumed below such a hole once paid 512 sequential requests
 * to cross 500 deleted numbers, and 501 on each of the next three cycles to re-check them; a job
 * quiet for 300 cycles took 212 cycles to see a build after a skipped number.
 */
describe('retention holes and long gaps, bounded', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  async function setup(
    jobs: Array<typeof HOLE_JOB | typeof QUIET_JOB>,
    poll: Record<string, unknown>,
    runningStatus: RunningStatusMode = 'ok',
  ) {
    simulator = await createSimulator({ seed: 31, jobs, gapProbability: 0, runningStatus });
    const sim = simulator;
    const config = testConfig(simulator, { poll, log: { level: 'info' } });
    const created = await createTestExporter(config, { clock: simulatorClock(sim) });
    exporter = created.exporter;
    return { simulator: sim, exporter: created.exporter, logs: created.logs, statePath: config.state.path };
  }

  /** One cycle: its requests for `jobId` (record-info and running-status). */
  async function cycle(sim: Simulator, ex: Exporter, jobId: string): Promise<number> {
    sim.advance(PERIOD);
    sim.resetRequests();
    await ex.runCycle();
    return sim.requests().log.filter((entry) => entry.jobId === jobId).length;
  }

  it.each([10, 50])(
    'a 500-number hole (max_builds_per_job_per_cycle %i): at most the bound + 3 requests a cycle; the build after it within 10 minutes',
    async (max) => {
      const {
        simulator: sim,
        exporter: ex,
        statePath,
        logs,
      } = await setup([HOLE_JOB], { start_at: 101, max_builds_per_job_per_cycle: max });
      const started = sim.now();
      let foundAt: number | undefined;
      const perCycle: number[] = [];
      for (let i = 0; i < 40; i++) {
        perCycle.push(await cycle(sim, ex, HOLE_JOB.id));
        const cursor = valueOf(await scrape(ex), 'codearts_build_last_number', { job_id: HOLE_JOB.id }) ?? 0;
        if (foundAt === undefined && cursor >= 601) foundAt = sim.now();
      }
      expect(Math.max(...perCycle), perCycle.join(',')).toBeLessThanOrEqual(max + 3);
      expect(foundAt).toBeDefined();
      expect((foundAt ?? Infinity) - started).toBeLessThanOrEqual(600);
      const samples = await scrape(ex);
      const truth = sim.groundTruth()[0];
      if (!truth) throw new Error('no job');
      expect(valueOf(samples, 'codearts_build_last_number', { job_id: HOLE_JOB.id })).toBe(650);
      expect(compareCounters(samples, truth)).toEqual([]);
      // The hole is one range in the state, logged once, and its re-checks ran out.
      const gapLines = logs.lines.filter((line) => line.msg === 'build numbers passed over as a gap');
      expect(gapLines.map((line) => [line.from, line.to])).toEqual([[101, 600]]);
      const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { schema_version: number; jobs: Record<string, Saved> };
      expect(saved.schema_version).toBe(STATE_SCHEMA_VERSION);
      expect(saved.jobs[HOLE_JOB.id]?.state.skipped).toEqual([]);

      // The next real build after the hole is counted within 10 minutes of its creation.
      const next = sim.triggerBuild(HOLE_JOB.id, { queueSeconds: 2, durationSeconds: 40 });
      const createdAt = sim.now();
      let countedAt: number | undefined;
      for (let i = 0; i < 40 && countedAt === undefined; i++) {
        perCycle.push(await cycle(sim, ex, HOLE_JOB.id));
        const total = (await scrape(ex))
          .filter((s) => s.name === 'codearts_builds_total' && s.labels.job_id === HOLE_JOB.id)
          .reduce((sum, s) => sum + s.value, 0);
        if (total === 51) countedAt = sim.now();
      }
      expect(next).toBe(651);
      expect((countedAt ?? Infinity) - createdAt).toBeLessThanOrEqual(600);
      expect(Math.max(...perCycle)).toBeLessThanOrEqual(max + 3);
    },
  );

  it('a hole past the cursor without running-status: bounded every cycle, and crossed by the far look', async () => {
    const { simulator: sim, exporter: ex } = await setup(
      [HOLE_JOB],
      { start_at: 101, max_builds_per_job_per_cycle: 10 },
      'route-not-found',
    );
    const perCycle: number[] = [];
    let cycles = 0;
    for (; cycles < 3000; cycles++) {
      perCycle.push(await cycle(sim, ex, HOLE_JOB.id));
      if ((valueOf(await scrape(ex), 'codearts_build_last_number', { job_id: HOLE_JOB.id }) ?? 0) >= 650) break;
    }
    console.log(
      `hole of 500 without running-status: crossed after ${cycles} cycles (${((cycles * PERIOD) / 3600).toFixed(1)} h), at most ${Math.max(...perCycle)} requests a cycle`,
    );
    expect(cycles).toBeLessThan(3000);
    expect(Math.max(...perCycle)).toBeLessThanOrEqual(10 + 3);
    // One probe a cycle, one look ahead per 10-minute check, one far look per hour: about 1.1 a cycle.
    expect(perCycle.reduce((sum, n) => sum + n, 0) / cycles).toBeLessThan(1.15);
    const truth = sim.groundTruth()[0];
    if (!truth) throw new Error('no job');
    expect(compareCounters(await scrape(ex), truth)).toEqual([]);
  }, 60_000);

  it.each(['ok', 'route-not-found'] as RunningStatusMode[])(
    'running-status %s: a job quiet for 300 cycles that skips a number counts the build after it within 10 minutes',
    async (mode) => {
      const { simulator: sim, exporter: ex } = await setup([QUIET_JOB], { start_at: 'latest' }, mode);
      await ex.runCycle();
      for (let i = 0; i < 300; i++) await cycle(sim, ex, QUIET_JOB.id);
      const delays: number[] = [];
      // Three times: a build after a skipped number, at different points of the check schedule.
      for (const wait of [0, 7, 13]) {
        for (let i = 0; i < wait; i++) await cycle(sim, ex, QUIET_JOB.id);
        const buildNo = sim.triggerBuild(QUIET_JOB.id, { skipNumbers: 1, queueSeconds: 1, durationSeconds: 10 });
        const createdAt = sim.now();
        for (let i = 0; i < 40; i++) {
          await cycle(sim, ex, QUIET_JOB.id);
          const samples = await scrape(ex);
          if (valueOf(samples, 'codearts_build_last_number', { job_id: QUIET_JOB.id }) === buildNo) break;
        }
        delays.push(sim.now() - createdAt);
      }
      console.log(`quiet job, running-status ${mode}: builds after a skipped number counted after ${delays.join(', ')} s`);
      for (const delay of delays) expect(delay).toBeLessThanOrEqual(600);
      const truth = sim.groundTruth()[0];
      if (!truth) throw new Error('no job');
      expect(
        compareCounters(
          await scrape(ex),
          truth,
          truth.finished.filter((b) => b.buildNo > 20),
        ),
      ).toEqual([]);
    },
    60_000,
  );
});
