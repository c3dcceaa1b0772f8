import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type GroundTruthJob, type Simulator } from '../../src/simulator/index.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, simulatorClock, testConfig, type LogCapture } from '../helpers/exporter-harness.js';
import { compareAll } from '../helpers/ground-truth.js';
import { compareFailures, compareSteps } from '../helpers/steps-truth.js';

const JOBS = [
  { id: 'c1210000000000000000000000000001', name: 'api', buildEverySeconds: 120 },
  { id: 'c1210000000000000000000000000002', name: 'web', buildEverySeconds: 180 },
];
const RETRY_FOR_MINUTES = 10;

/**
 * Detail requests that fail: the builds are counted in the cycle they finish whatever happens to
 * their steps; a failure that passes is retried on later cycles and its steps observed once; one
 * that lasts past metrics.details_retry_for is given up and counted as missing, once.
 */
describe('step details that fail', () => {
  let simulator: Simulator;
  let exporter: Exporter;
  let logs: LogCapture;
  /** After every cycle of a failing phase: differences of the build counters from the truth (must stay empty). */
  const lateBuilds: string[] = [];

  const cycle = async () => {
    simulator.advance(60);
    await exporter.runCycle();
    lateBuilds.push(...compareAll(await scrape(exporter), simulator.groundTruth()));
  };
  const missingLogs = () => logs.lines.filter((l) => l.event === 'details_missing');
  const missingTotal = async (kind: string) => valueOf(await scrape(exporter), 'codearts_exporter_detail_missing_total', { kind }) ?? 0;
  const failAll = () => {
    for (const endpoint of ['full-stages', 'history-details', 'log-analysis'] as const)
      simulator.inject('500', { probability: 1, endpoint });
  };

  beforeAll(async () => {
    simulator = await createSimulator({ seed: 21, jobs: JOBS, gapProbability: 0 });
    const config = testConfig(simulator, {
      metrics: { steps: { enabled: true }, failures: { enabled: true }, details_retry_for: `${RETRY_FOR_MINUTES}m` },
    });
    ({ exporter, logs } = await createTestExporter(config, { clock: simulatorClock(simulator) }));
    await exporter.runCycle();
  }, 60_000);

  afterAll(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  it('a failure that passes within the retry time: builds counted at once, steps observed later, exactly once', async () => {
    for (let i = 0; i < 10; i++) await cycle();
    failAll();
    for (let i = 0; i < RETRY_FOR_MINUTES - 3; i++) await cycle();
    const waiting = simulator.groundTruth().flatMap((job) => job.finished.filter((b) => b.finishedAt > simulator.now() - 7 * 60));
    expect(waiting.length).toBeGreaterThan(2);
    simulator.clearFaults();
    await cycle();
    expect(lateBuilds).toEqual([]);
    const samples = await scrape(exporter);
    expect(simulator.groundTruth().flatMap((job) => [...compareSteps(samples, job), ...compareFailures(samples, job)])).toEqual([]);
    expect(await missingTotal('steps')).toBe(0);
    expect(await missingTotal('analysis')).toBe(0);
    // The client retried each failed call within the cycle before leaving it to the next one.
    expect(valueOf(samples, 'codearts_exporter_api_retries_total', { endpoint: 'full-stages', reason: 'server_error' })).toBeGreaterThan(0);
  }, 60_000);

  it('a failure that lasts: builds still counted on time; details given up after the retry time, counted missing once', async () => {
    const faultFrom = simulator.now();
    failAll();
    for (let i = 0; i < 3 * RETRY_FOR_MINUTES; i++) await cycle();
    const faultTo = simulator.now();
    simulator.clearFaults();
    await cycle();
    expect(lateBuilds).toEqual([]);

    const given = missingLogs();
    const key = (jobId: unknown, buildNo: unknown, kind: unknown) => `${String(jobId)}:${String(buildNo)}:${String(kind)}`;
    const missing = new Set(given.map((l) => key(l.job_id, l.build_no, l.kind)));
    expect(missing.size).toBe(given.length);
    expect(await missingTotal('steps')).toBe(given.filter((l) => l.kind === 'steps').length);
    expect(await missingTotal('analysis')).toBe(given.filter((l) => l.kind === 'analysis').length);
    const truth = simulator.groundTruth();
    const finishedBetween = (from: number, to: number) =>
      truth.flatMap((job) =>
        job.finished
          .filter((b) => b.finishedAt > from && b.finishedAt <= to)
          .flatMap((b) => [key(job.id, b.buildNo, 'steps'), ...(b.result === 'failure' ? [key(job.id, b.buildNo, 'analysis')] : [])]),
      );
    // Cycles run on the minute: a build is first asked for its steps in the cycle after it finished,
    // and given up in the first cycle at least the retry time later; so were those that finished
    // up to the retry time before the failure ended...
    const gaveUp = finishedBetween(faultFrom, faultTo - RETRY_FOR_MINUTES * 60);
    expect(gaveUp.length).toBeGreaterThan(5);
    expect(gaveUp.some((k) => k.endsWith(':analysis'))).toBe(true);
    expect([...missing].sort()).toEqual(gaveUp.sort());
    // ...the others were fetched once it ended, and every observed step equals the truth.
    expect(finishedBetween(faultTo - RETRY_FOR_MINUTES * 60, faultTo).length).toBeGreaterThan(2);
    const observed: GroundTruthJob[] = truth.map((job) => ({
      ...job,
      finished: job.finished.map((b) => ({
        ...b,
        steps: missing.has(key(job.id, b.buildNo, 'steps')) ? [] : b.steps,
        failureCauses: missing.has(key(job.id, b.buildNo, 'analysis')) ? [] : b.failureCauses,
      })),
    }));
    const samples = await scrape(exporter);
    expect(observed.flatMap((job) => [...compareSteps(samples, job), ...compareFailures(samples, job)])).toEqual([]);
  }, 90_000);
});
