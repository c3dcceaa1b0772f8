import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import type { Exporter } from '../../src/exporter.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig } from '../helpers/exporter-harness.js';

/**
 * The request floor (docs/design.md, "Polling semantics"): per cycle, one request per pending build, one per new build and one
 * probe per job. The floor is computed from the exporter's own gauges before the cycle and the
 * simulator's existing build numbers after it; the simulator counts what was really sent.
 */
async function measure(simulator: Simulator, exporter: Exporter, cycles: number, advanceSeconds: number) {
  let floor = 0;
  let sent = 0;
  for (let i = 0; i < cycles; i++) {
    simulator.advance(advanceSeconds);
    const before = await scrape(exporter);
    const jobs = simulator.jobs();
    const cursors = new Map(jobs.map((job) => [job.id, valueOf(before, 'codearts_build_last_number', { job_id: job.id }) ?? 0]));
    const pending = jobs.reduce((sum, job) => sum + (valueOf(before, 'codearts_builds_in_progress', { job_id: job.id }) ?? 0), 0);
    simulator.resetRequests();
    await exporter.runCycle();
    const requests = simulator.requests();
    sent += requests.recordInfo + (requests.byEndpoint['running-status'] ?? 0);
    const after = await scrape(exporter);
    let fresh = 0;
    for (const job of simulator.groundTruth()) {
      const from = cursors.get(job.id) ?? 0;
      const to = valueOf(after, 'codearts_build_last_number', { job_id: job.id }) ?? 0;
      fresh += job.existing.filter((n) => n > from && n <= to).length;
    }
    floor += pending + fresh + jobs.length;
  }
  return { floor, sent, ratio: sent / floor };
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
    ({ exporter } = await createTestExporter(testConfig(simulator, { poll: { start_at: 'latest' }, log: { level: 'warn' } })));
    await exporter.runCycle();
    await measure(simulator, exporter, 40, 30); // warm up: pending sets fill
    const { ratio, floor, sent } = await measure(simulator, exporter, 150, 30);
    console.log(`request floor: sent ${sent}, floor ${floor}, ratio ${ratio.toFixed(4)}`);
    expect(floor).toBeGreaterThan(4000);
    expect(ratio, `sent ${sent} for a floor of ${floor}`).toBeLessThanOrEqual(1.05);
  }, 120_000);

  it('a job idle for days pays for gap detection with exponential backoff, not every cycle', async () => {
    simulator = await createSimulator({ seed: 2, jobs: [{ id: 'd4000000000000000000000000000001', name: 'idle', history: 40, buildEverySeconds: 0 }] });
    ({ exporter } = await createTestExporter(testConfig(simulator, { poll: { start_at: 'latest' }, log: { level: 'warn' } })));
    await exporter.runCycle();
    // 1,000 cycles of 3 minutes: about two days.
    const { sent } = await measure(simulator, exporter, 1000, 180);
    expect(sent).toBeGreaterThanOrEqual(1000);
    expect(sent).toBeLessThanOrEqual(1000 * 1.01);
  }, 120_000);
});
