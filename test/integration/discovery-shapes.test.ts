import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type SimJobSpec, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { select, valueOf, type Sample } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, type LogCapture } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';

const PROJECT = 'f1000000000000000000000000000001';
const hex = (n: number) => n.toString(16).padStart(32, '0');

function fleet(size: number): SimJobSpec[] {
  return Array.from({ length: size }, (_, i) => ({
    id: hex(0x5d0000 + i),
    name: `svc-${i}`,
    projectId: PROJECT,
    history: 4,
    buildEverySeconds: 240 + (i % 7) * 120,
  }));
}

const jobNames = (samples: Sample[]) =>
  new Map(select(samples, 'codearts_build_last_number').map((s) => [s.labels.job_id, s.labels.job_name]));

/** ListProjectJobs as the official SDK models it (bare `{ total, jobs }`), and the enveloped variant. */
describe('discovery against the job list shapes CodeArts answers with', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  async function setup(options: SimulatorOptions): Promise<{ simulator: Simulator; exporter: Exporter; logs: LogCapture }> {
    simulator = await createSimulator({ seed: 17, jobs: fleet(250), gapProbability: 0, ...options });
    const config = testConfig(simulator, { jobs: [], projects: [{ id: PROJECT }], poll: { start_at: 1 }, log: { level: 'info' } });
    let logs: LogCapture;
    ({ exporter, logs } = await createTestExporter(config));
    return { simulator, exporter, logs };
  }

  it('SDK shape: 250 jobs found, named, and their builds counted exactly', async () => {
    const { simulator, exporter } = await setup({ jobListShape: 'sdk' });
    for (let cycle = 0; cycle < 15; cycle++) {
      await exporter.runCycle();
      simulator.advance(240);
    }
    await exporter.runCycle();
    const samples = await scrape(exporter);
    const names = jobNames(samples);
    expect(names.size).toBe(250);
    for (const job of simulator.jobs()) expect(names.get(job.id)).toBe(job.name);
    expect(valueOf(samples, 'codearts_exporter_discovered_jobs', { project_id: PROJECT })).toBe(250);
    expect(valueOf(samples, 'codearts_exporter_discovery_errors_total', { project_id: PROJECT })).toBe(0);
    const truth = simulator.groundTruth();
    expect(truth.reduce((sum, job) => sum + job.finished.length, 0)).toBeGreaterThan(250 * 5);
    for (const job of truth) expect(valueOf(samples, 'codearts_build_last_number', { job_id: job.id })).toBe(job.highest);
    expect(truth.flatMap((job) => compareCounters(samples, job))).toEqual([]);
    expect(simulator.requests().log.filter((entry) => entry.endpoint === 'job-list' && entry.status !== 200)).toEqual([]);
  }, 60_000);

  it('enveloped variant ({ status, result: { total, job_list } }): 250 jobs found and named', async () => {
    const { simulator, exporter } = await setup({ jobListShape: 'enveloped' });
    await exporter.runCycle();
    const samples = await scrape(exporter);
    const names = jobNames(samples);
    expect(names.size).toBe(250);
    for (const job of simulator.jobs()) expect(names.get(job.id)).toBe(job.name);
    expect(valueOf(samples, 'codearts_exporter_discovered_jobs', { project_id: PROJECT })).toBe(250);
  });

  it('a short page before the total does not end the listing', async () => {
    const { simulator, exporter } = await setup({ jobListQuirks: { pageCap: 30 } });
    simulator.resetRequests();
    await exporter.runCycle();
    expect(jobNames(await scrape(exporter)).size).toBe(250);
    expect(simulator.requests().log.filter((entry) => entry.endpoint === 'job-list')).toHaveLength(Math.ceil(250 / 30));
  });

  it('a total the pages never reach: the listing stops at the empty page, keeps the jobs it read, and says so', async () => {
    const { simulator, exporter, logs } = await setup({ jobListQuirks: { totalOffset: 7 } });
    simulator.resetRequests();
    await exporter.runCycle();
    const samples = await scrape(exporter);
    expect(jobNames(samples).size).toBe(250);
    // Pages 0..2 hold the jobs, page 3 is empty.
    expect(simulator.requests().log.filter((entry) => entry.endpoint === 'job-list')).toHaveLength(4);
    expect(valueOf(samples, 'codearts_exporter_discovery_errors_total', { project_id: PROJECT })).toBe(1);
    const warning = logs.lines.find((line) => line.msg === 'job list ended before its total; keeping the last known jobs as well');
    expect(warning).toMatchObject({ project_id: PROJECT, listed: 250, total: 257, reason: 'page 3 was empty after 250 of 257 jobs' });
  });
});
