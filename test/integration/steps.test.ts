import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig } from '../helpers/exporter-harness.js';
import { compareAll } from '../helpers/ground-truth.js';
import {
  compareFailures,
  compareHealth,
  compareSteps,
  expectedHealth,
  failureObservations,
  stepObservations,
} from '../helpers/steps-truth.js';

const JOBS = [
  { id: 'c1200000000000000000000000000001', name: 'backend-ci', buildEverySeconds: 150 },
  { id: 'c1200000000000000000000000000002', name: 'frontend-ci', buildEverySeconds: 200, history: 12 },
  { id: 'c1200000000000000000000000000003', name: 'nightly', buildEverySeconds: 400 },
];

/**
 * Step timings against the simulator's ground truth: every step of every finished build observed
 * exactly once, from full-stages, or from history-details when full-stages answers an empty map
 * (failed builds); durations stated in milliseconds or in seconds (no document says which), or
 * only by the step's times.
 */
describe.each(['ms', 's'] as const)('step timings, durations stated in %s', (stageUnit) => {
  let simulator: Simulator;
  let exporter: Exporter;

  beforeAll(async () => {
    simulator = await createSimulator({ seed: 12, jobs: JOBS, gapProbability: 0.05, stageUnit });
    ({ exporter } = await createTestExporter(
      testConfig(simulator, { metrics: { steps: { enabled: true }, failures: { enabled: true }, recovery: { enabled: true } } }),
    ));
    for (let minute = 0; minute < 150; minute++) {
      simulator.advance(60);
      await exporter.runCycle();
    }
    for (let i = 0; i < 40 && !(await caughtUp()); i++) await exporter.runCycle();
  }, 120_000);

  afterAll(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  async function caughtUp(): Promise<boolean> {
    const samples = await scrape(exporter);
    return simulator.groundTruth().every((job) => valueOf(samples, 'codearts_build_last_number', { job_id: job.id }) === job.highest);
  }

  it('observes every step of every finished build exactly once, run times and waits, to the millisecond', async () => {
    const truth = simulator.groundTruth();
    const samples = await scrape(exporter);
    expect(compareAll(samples, truth)).toEqual([]);
    expect(truth.flatMap((job) => compareSteps(samples, job))).toEqual([]);
    expect(stepObservations(truth)).toBeGreaterThan(300);
  });

  it('counts every cause of every failed build exactly once, by step and error code (unknown when the analysis has none)', async () => {
    const truth = simulator.groundTruth();
    const samples = await scrape(exporter);
    expect(truth.flatMap((job) => compareFailures(samples, job))).toEqual([]);
    expect(failureObservations(truth)).toBeGreaterThan(10);
    const causes = truth.flatMap((job) => job.finished.flatMap((b) => b.failureCauses));
    expect(causes.some((c) => c.errorCode === 'unknown')).toBe(true);
    expect(truth.some((job) => job.finished.some((b) => b.failureCauses.length > 1))).toBe(true);
  });

  it('observes every time to restore, counts every flaky build, shows the failing streak, exactly as the truth', async () => {
    const truth = simulator.groundTruth();
    const samples = await scrape(exporter);
    expect(truth.flatMap((job) => compareHealth(samples, job))).toEqual([]);
    const expected = truth.map((job) => expectedHealth(job));
    expect(expected.reduce((n, h) => n + h.recoveries.length, 0)).toBeGreaterThan(5);
    expect(expected.reduce((n, h) => n + h.flaky, 0)).toBeGreaterThan(0);
  });

  it('costs one full-stages request per finished build, one log analysis per failed build, and history-details only for failed builds with an empty map', () => {
    const truth = simulator.groundTruth();
    const finished = truth.reduce((sum, job) => sum + job.finished.length, 0);
    const requests = simulator.requests().byEndpoint;
    expect(requests['full-stages']).toBe(finished);
    const emptyMaps = truth
      .flatMap((job) => job.finished)
      .filter((b) => b.result === 'failure' && b.steps.length > 0 && b.steps.every((s) => s.pendingSeconds === undefined));
    expect(emptyMaps.length).toBeGreaterThan(0);
    expect(requests['history-details']).toBe(emptyMaps.length);
    const failed = truth.reduce((sum, job) => sum + job.finished.filter((b) => b.result === 'failure').length, 0);
    expect(requests['log-analysis']).toBe(failed);
  });

  // Last: its own requests would change the counts above.
  it("answers full-stages and history-details in the official SDK's models (test/fixtures/codearts-sdk-models.json)", async () => {
    const models = (
      JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'codearts-sdk-models.json'), 'utf8')) as {
        models: Record<string, Record<string, string>>;
      }
    ).models;
    const headers = { 'x-auth-token': 'sim-token-NOT-A-SECRET' };
    const job = simulator.groundTruth()[0];
    const failed = job?.finished.find((b) => b.result === 'failure');
    if (!job || !failed) throw new Error('no failed build to look at');
    const get = async (path: string) => (await (await fetch(`${simulator.url}${path}`, { headers })).json()) as Record<string, unknown>;
    const record = (await get(`/v4/jobs/${job.id}/${failed.buildNo}/record-info`)).result as { build_record_id: string };
    const stages = await get(`/v1/record/${record.build_record_id}/full-stages?cascade=true`);
    expect(Object.keys(stages).sort()).toEqual(Object.keys(models.ShowBuildRecordFullStagesResponse ?? {}).sort());
    for (const stage of Object.values((stages.result as { build_stages: Record<string, object> }).build_stages))
      expect(Object.keys(stage).sort()).toEqual(Object.keys(models.BuildStageRecord ?? {}).sort());
    const history = await get(`/v3/jobs/${job.id}/${failed.buildNo}/history-details`);
    expect(Object.keys(history).sort()).toEqual(Object.keys(models.ShowHistoryDetailsResponse ?? {}).sort());
    for (const step of history.build_steps as object[])
      expect(Object.keys(step).sort()).toEqual(Object.keys(models.BuildStep ?? {}).sort());
  });
});
