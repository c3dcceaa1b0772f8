import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type FaultKind, type Simulator } from '../../src/simulator/index.js';
import type { Exporter } from '../../src/exporter.js';
import { valueOf, select } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, type LogCapture } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';

const JOBS = [
  { id: 'e5000000000000000000000000000001', name: 'alpha', buildEverySeconds: 120, history: 5 },
  { id: 'e5000000000000000000000000000002', name: 'beta', buildEverySeconds: 150, history: 5 },
  { id: 'e5000000000000000000000000000003', name: 'gamma', buildEverySeconds: 200, history: 5 },
];

describe('faults: retried within budget, reported, nothing lost', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  let logs: LogCapture;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  async function setup(overrides: Record<string, unknown> = {}) {
    simulator = await createSimulator({ seed: 9, jobs: JOBS, gapProbability: 0 });
    ({ exporter, logs } = await createTestExporter(testConfig(simulator, overrides)));
    await exporter.runCycle();
    return { simulator, exporter };
  }

  const transient: FaultKind[] = [
    '500',
    '429',
    'apig-0308',
    'cb-00060211',
    'cb-00060100',
    'reset',
    'malformed',
    'truncated',
    'string-json',
  ];
  for (const fault of transient) {
    it(`retries ${fault} and the cycle still reaches every job`, async () => {
      const { simulator, exporter } = await setup();
      simulator.advance(600);
      simulator.resetRequests();
      simulator.inject(fault, { count: 2, endpoint: 'record-info-v4' });
      const summary = await exporter.runCycle();
      expect(summary.outcome).toBe('success');
      const requests = simulator.requests();
      if (!['malformed', 'truncated'].includes(fault)) {
        expect(requests.log.filter((entry) => entry.status !== 200 && entry.status !== 422).length).toBe(2);
      }
      const samples = await scrape(exporter);
      const retries = select(samples, 'codearts_exporter_api_retries_total').reduce((sum, s) => sum + s.value, 0);
      expect(retries).toBe(2);
      const attempts = select(samples, 'codearts_exporter_api_requests_total', { endpoint: 'record-info' }).reduce(
        (sum, s) => sum + s.value,
        0,
      );
      expect(attempts).toBeGreaterThanOrEqual(requests.recordInfo);
      for (const job of simulator.groundTruth()) expect(compareCounters(samples, job)).toEqual([]);
    });
  }

  it('honours Retry-After before retrying a 429', async () => {
    const { simulator, exporter } = await setup();
    simulator.inject('429', { count: 1, endpoint: 'record-info-v4' });
    const started = performance.now();
    await exporter.runCycle();
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('gives up after the configured retries and leaves the build for the next cycle', async () => {
    const { simulator, exporter } = await setup({ codearts: { retry: { retries: 2 } } });
    simulator.advance(600);
    simulator.resetRequests();
    simulator.inject('500', { probability: 1, endpoint: 'record-info-v4', jobId: JOBS[0]?.id });
    const summary = await exporter.runCycle();
    expect(summary.outcome).toBe('partial');
    const alpha = simulator.requests().log.filter((entry) => entry.jobId === JOBS[0]?.id);
    // Pending builds and the probe each get 1 + 2 attempts, never more.
    expect(alpha.length % 3).toBe(0);
    expect(alpha.every((entry) => entry.status === 500)).toBe(true);
  });

  it('does not retry permanent errors (a rejected token) and says why', async () => {
    const { simulator, exporter } = await setup({ codearts: { auth: { token: 'SENTINEL-WRONG-TOKEN-777' } } });
    simulator.resetRequests();
    const summary = await exporter.runCycle();
    expect(summary.outcome).toBe('failure');
    // One request per job (the first call of each job fails and is not retried).
    expect(simulator.requests().log.length).toBe(JOBS.length);
    const warnings = logs.lines.filter((line) => line.msg.includes('polling job failed'));
    expect(warnings.length).toBeGreaterThan(0);
    expect(logs.raw).toContain('401');
    expect(logs.raw).not.toContain('SENTINEL-WRONG-TOKEN-777');
    const samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
  });

  it('reports a failing job while the others keep counting, and catches up after recovery', async () => {
    const { simulator, exporter } = await setup({ poll: { start_at: 1 }, codearts: { request_timeout: '300ms', retry: { retries: 1 } } });
    const broken = JOBS[1]?.id ?? '';
    const reachedBefore = valueOf(await scrape(exporter), 'codearts_exporter_last_successful_poll_timestamp_seconds', { job_id: broken });
    simulator.inject('timeout', { probability: 1, jobId: broken });
    for (let i = 0; i < 5; i++) {
      simulator.advance(300);
      await exporter.runCycle();
    }
    let samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
    expect(valueOf(samples, 'codearts_exporter_last_successful_poll_timestamp_seconds', { job_id: broken })).toBe(reachedBefore);
    const truth = simulator.groundTruth();
    for (const job of truth.filter((j) => j.id !== broken)) expect(compareCounters(samples, job)).toEqual([]);

    simulator.clearFaults();
    await exporter.runCycle();
    samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(1);
    for (const job of simulator.groundTruth()) expect(compareCounters(samples, job)).toEqual([]);
  }, 60_000);
});
