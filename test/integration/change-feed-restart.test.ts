import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';
import { parseExposition, type Sample } from '../helpers/exposition.js';
import { compareAll } from '../helpers/ground-truth.js';

const JOBS = [
  { id: 'f1810000000000000000000000000001', name: 'api', buildEverySeconds: 900, history: 8 },
  { id: 'f1810000000000000000000000000002', name: 'web', buildEverySeconds: 1200, history: 5 },
  { id: 'f1810000000000000000000000000003', name: 'batch', buildEverySeconds: 2400, history: 3 },
  { id: 'f1810000000000000000000000000004', name: 'docs', buildEverySeconds: 1800, history: 2 },
  { id: 'f1810000000000000000000000000005', name: 'hidden', buildEverySeconds: 900, history: 4 },
];

/**
 * The built exporter with the change feed on (the default), SIGKILLed and restarted on one state
 * file while builds keep coming, with faults, a list that lags a minute behind and a job it never
 * shows: the last process must serve exactly the simulator's ground truth.
 */
describe('change feed: SIGKILL restarts of the built exporter, a lagging list, faults', () => {
  let simulator: Simulator;
  let clock: NodeJS.Timeout | undefined;
  const running: ExporterProcess[] = [];

  afterAll(async () => {
    clearInterval(clock);
    for (const process of running) process.kill('SIGKILL');
    await simulator?.close();
  });

  const scrape = async (url: string): Promise<Sample[]> => parseExposition(await (await fetch(`${url}/metrics`)).text());

  it('counts every build exactly once, and cycles skip jobs the list shows unchanged', async () => {
    simulator = await createSimulator({
      seed: 181,
      jobs: JOBS,
      latencyMs: 3,
      gapProbability: 0.05,
      jobFeed: { lagSeconds: 60, hiddenJobs: [JOBS[4]!.id] },
    });
    const dir = mkdtempSync(join(tmpdir(), 'cbe-feed-restart-'));
    const configPath = writeConfig(dir, {
      codearts: {
        endpoint: simulator.url,
        auth: { token: 'sim-token-NOT-A-SECRET' },
        max_requests_per_second: 200,
        retry: { min_delay: '20ms', max_delay: '100ms' },
      },
      poll: { schedule: '* * * * * *', start_at: 1, change_feed: 'auto', full_probe_interval: '1m' },
      jobs: JOBS.map(({ id, name }) => ({ id, name })),
      server: { host: '127.0.0.1', port: 0 },
      state: { path: join(dir, 'state.json') },
      log: { level: 'info' },
    });
    simulator.inject('500', { probability: 0.05 });
    simulator.inject('reset', { probability: 0.02 });
    // 10 virtual seconds every 100 ms: 100 per one-second cycle, so most jobs are quiet in a cycle.
    clock = setInterval(() => simulator.advance(10), 100);
    for (let lifetime = 0; lifetime < 4; lifetime++) {
      const { process: exporter } = await ExporterProcess.run(configPath);
      running.push(exporter);
      await exporter.waitForLog(() => exporter.lines.filter((l) => l.event === 'cycle_finished').length >= 4, 30_000);
      exporter.kill('SIGKILL');
      await exporter.exit();
    }
    const cycles = running.flatMap((p) => p.lines).filter((line) => line.event === 'cycle_finished');
    expect(cycles.some((line) => Number(line.jobs_skipped) > 0)).toBe(true);
    expect(simulator.requests().byEndpoint['job-list-all'] ?? 0).toBeGreaterThan(4);

    // The world stands still, without faults, and the list catches up; the hidden job stays hidden.
    clearInterval(clock);
    simulator.clearFaults();
    simulator.setJobFeed({ lagSeconds: 0 });
    const { process: exporter, url } = await ExporterProcess.run(configPath);
    running.push(exporter);
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && compareAll(await scrape(url), simulator.groundTruth()).length > 0)
      await new Promise((r) => setTimeout(r, 200));
    expect(compareAll(await scrape(url), simulator.groundTruth())).toEqual([]);
    expect(simulator.groundTruth().reduce((sum, job) => sum + job.finished.length, 0)).toBeGreaterThan(15);
  }, 120_000);
});
