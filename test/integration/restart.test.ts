import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';
import { parseExposition, type Sample } from '../helpers/exposition.js';
import { compareAll, RESULTS } from '../helpers/ground-truth.js';
import { compareFailures, compareHealth, compareSteps, expectedHealth, stepObservations } from '../helpers/steps-truth.js';

const JOBS = [
  { id: 'b2000000000000000000000000000001', name: 'api', buildEverySeconds: 40, history: 25 },
  { id: 'b2000000000000000000000000000002', name: 'web', buildEverySeconds: 60, history: 15 },
  { id: 'b2000000000000000000000000000003', name: 'batch', buildEverySeconds: 90, history: 10 },
];

/**
 * Kills and restarts the built exporter on one state file while builds keep finishing. The store
 * holds the counters with the cursors, so the last process serves every build of every lifetime:
 * its exposition must equal the simulator's ground truth exactly (nothing lost, nothing twice).
 */
describe('restarts (the change feed on): nothing counted twice, nothing lost, counts survive', () => {
  let simulator: Simulator;
  let configPath: string;
  let statePath: string;
  let clock: NodeJS.Timeout;
  const running: ExporterProcess[] = [];

  beforeAll(async () => {
    simulator = await createSimulator({ seed: 11, jobs: JOBS, latencyMs: 15, gapProbability: 0.05 });
    const dir = mkdtempSync(join(tmpdir(), 'cbe-restart-'));
    statePath = join(dir, 'state.json');
    configPath = writeConfig(dir, {
      codearts: {
        endpoint: simulator.url,
        auth: { token: 'sim-token-NOT-A-SECRET' },
        max_requests_per_second: 200,
        retry: { min_delay: '20ms', max_delay: '100ms' },
      },
      poll: { schedule: '* * * * * *', start_at: 1 },
      jobs: JOBS.map(({ id, name }) => ({ id, name })),
      metrics: { steps: { enabled: true }, failures: { enabled: true }, recovery: { enabled: true } },
      server: { host: '127.0.0.1', port: 0 },
      state: { path: statePath },
      log: { level: 'debug' },
    });
    clock = setInterval(() => simulator.advance(30), 100);
  });

  afterAll(async () => {
    clearInterval(clock);
    for (const process of running) process.kill('SIGKILL');
    await simulator?.close();
  });

  const scrape = async (url: string): Promise<Sample[]> => parseExposition(await (await fetch(`${url}/metrics`)).text());
  const builds = (samples: Sample[]) => samples.filter((s) => s.name === 'codearts_builds_total').reduce((sum, s) => sum + s.value, 0);

  it('survives SIGKILL in the middle of a cycle and SIGTERM, several times; counts never go back', async () => {
    const totals: number[] = [];
    for (const signal of ['SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGKILL', 'SIGTERM'] as const) {
      const { process: exporter, url } = await ExporterProcess.run(configPath);
      running.push(exporter);
      // What the process serves at once: what the previous lifetimes committed.
      totals.push(builds(await scrape(url)));
      // Let it commit a few builds, then strike right after a commit, while other jobs are in flight.
      await exporter.waitForLog(() => exporter.lines.filter((l) => l.event === 'build_counted').length >= 3, 15_000);
      totals.push(builds(await scrape(url)));
      exporter.kill(signal);
      const exit = await exporter.exit();
      if (signal === 'SIGTERM') expect(exit.code).toBe(0);
      else expect(exit.signal).toBe('SIGKILL');
    }
    // Each lifetime starts from where the last one's commits left off: never from zero.
    for (let i = 1; i < totals.length; i++)
      expect(totals[i], `scrape ${i}: ${totals.join(', ')}`).toBeGreaterThanOrEqual(totals[i - 1] ?? 0);
    // The second lifetime served, before its first cycle, the builds the first one had committed.
    expect(totals[2]).toBeGreaterThanOrEqual(3);
    // With the change feed on (the default), the job list was read: every job builds every few cycles
    // here, so builds are found by the listed numbers (the safety probe's interval never elapses).
    const listed = running.flatMap((p) => p.lines).filter((line) => line.event === 'cycle_finished').length;
    console.log(`restart: ${simulator.requests().byEndpoint['job-list-all'] ?? 0} list requests over ${listed} cycles`);
    expect(simulator.requests().byEndpoint['job-list-all'] ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('the last process serves every build of every lifetime, exactly as the ground truth', async () => {
    clearInterval(clock);
    const { process: exporter, url } = await ExporterProcess.run(configPath);
    running.push(exporter);
    const differences = async () => {
      const samples = await scrape(url);
      const truth = simulator.groundTruth();
      return [...compareAll(samples, truth), ...truth.flatMap((job) => [...compareSteps(samples, job), ...compareFailures(samples, job)])];
    };
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && (await differences()).length > 0) await new Promise((r) => setTimeout(r, 200));

    // Builds, histograms, every step and every failure cause of every build: each observed once across the kills.
    expect(await differences()).toEqual([]);
    expect(stepObservations(simulator.groundTruth())).toBeGreaterThan(200);
    const health = simulator.groundTruth().map((job) => expectedHealth(job));
    expect(health.reduce((n, h) => n + h.recoveries.length, 0)).toBeGreaterThan(3);
    expect(health.reduce((n, h) => n + h.flaky, 0)).toBeGreaterThan(0);
    // 50 builds of history plus builds that finished while processes were being killed.
    expect(builds(await scrape(url))).toBeGreaterThan(55);
    exporter.kill('SIGKILL');
    await exporter.exit();
  }, 70_000);

  it('a process started on the saved state serves the same counts before it counts anything', async () => {
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as {
      jobs: Record<string, { counters: { series: Array<{ result: string; builds: number }> } }>;
    };
    const { process: exporter, url } = await ExporterProcess.run(configPath);
    running.push(exporter);
    const samples = await scrape(url);
    expect(compareAll(samples, simulator.groundTruth())).toEqual([]);
    expect(
      simulator
        .groundTruth()
        .flatMap((job) => [...compareSteps(samples, job), ...compareFailures(samples, job), ...compareHealth(samples, job)]),
    ).toEqual([]);
    for (const job of JOBS) {
      for (const result of RESULTS) {
        const series = saved.jobs[job.id]?.counters.series.find((s) => s.result === result);
        const value = samples.find(
          (s) => s.name === 'codearts_builds_total' && s.labels.job_id === job.id && s.labels.result === result,
        )?.value;
        expect(value, `${job.name} ${result}`).toBe(series?.builds ?? 0);
      }
    }
    // Its first cycle found nothing new to count.
    const first = await exporter.waitForLog((l) => l.event === 'cycle_finished', 15_000);
    expect(first.builds_counted).toBe(0);
    exporter.kill('SIGTERM');
    expect((await exporter.exit()).code).toBe(0);
  });
});
