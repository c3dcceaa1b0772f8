import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import type { LogLine } from '../helpers/exporter-harness.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';
import { parseExposition } from '../helpers/exposition.js';
import { compareCounters } from '../helpers/ground-truth.js';

const JOBS = [
  { id: 'b2000000000000000000000000000001', name: 'api', buildEverySeconds: 40, history: 25 },
  { id: 'b2000000000000000000000000000002', name: 'web', buildEverySeconds: 60, history: 15 },
  { id: 'b2000000000000000000000000000003', name: 'batch', buildEverySeconds: 90, history: 10 },
];

/** Kills and restarts the built exporter on one state file while builds keep finishing. */
describe('restarts: nothing counted twice, nothing lost', () => {
  let simulator: Simulator;
  let configPath: string;
  const ledgers: LogLine[][] = [];
  let finalProcess: ExporterProcess;
  let finalUrl: string;
  let clock: NodeJS.Timeout;

  beforeAll(async () => {
    simulator = await createSimulator({ seed: 11, jobs: JOBS, latencyMs: 15, gapProbability: 0.05 });
    const dir = mkdtempSync(join(tmpdir(), 'cbe-restart-'));
    configPath = writeConfig(dir, {
      codearts: {
        endpoint: simulator.url,
        auth: { token: 'sim-token-NOT-A-SECRET' },
        max_requests_per_second: 200,
        retry: { min_delay: '20ms', max_delay: '100ms' },
      },
      poll: { schedule: '* * * * * *', start_at: 1 },
      jobs: JOBS.map(({ id, name }) => ({ id, name })),
      server: { host: '127.0.0.1', port: 0 },
      state: { path: join(dir, 'state.json') },
      log: { level: 'debug' },
    });
    clock = setInterval(() => simulator.advance(30), 100);
  });

  afterAll(async () => {
    clearInterval(clock);
    finalProcess?.kill('SIGKILL');
    await simulator?.close();
  });

  const counted = (lines: LogLine[]) => lines.filter((l) => l.event === 'build_counted');

  it('survives SIGKILL in the middle of a cycle and SIGTERM, several times', async () => {
    for (const signal of ['SIGKILL', 'SIGTERM', 'SIGKILL', 'SIGKILL', 'SIGTERM'] as const) {
      const { process: exporter } = await ExporterProcess.run(configPath);
      // Let it commit a few builds, then strike right after a commit, while other jobs are in flight.
      await exporter.waitForLog(() => counted(exporter.lines).length >= 3, 15_000);
      exporter.kill(signal);
      const exit = await exporter.exit();
      if (signal === 'SIGTERM') expect(exit.code).toBe(0);
      else expect(exit.signal).toBe('SIGKILL');
      ledgers.push(counted(exporter.lines));
    }
    expect(ledgers.every((ledger) => ledger.length > 0)).toBe(true);
  }, 120_000);

  it('counts the union of all lifetimes exactly once against the ground truth', async () => {
    clearInterval(clock);
    ({ process: finalProcess, url: finalUrl } = await ExporterProcess.run(configPath));
    const truth = () => simulator.groundTruth();
    const expected = () => new Set(truth().flatMap((job) => job.finished.map((b) => `${job.id}#${b.buildNo}`)));
    const keys = () => [...ledgers, counted(finalProcess.lines)].flat().map((l) => `${String(l.job_id)}#${String(l.build_no)}`);
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline && new Set(keys()).size < expected().size) await new Promise((r) => setTimeout(r, 200));

    const all = keys();
    const duplicates = all.filter((key, i) => all.indexOf(key) !== i);
    expect(duplicates).toEqual([]);
    expect(new Set(all)).toEqual(expected());
    // 50 builds of history plus builds that finished while processes were being killed.
    expect(all.length).toBeGreaterThan(55);
  }, 70_000);

  it('the final process counts exactly what it committed since it started', async () => {
    const samples = parseExposition(await (await fetch(`${finalUrl}/metrics`)).text());
    const mine = counted(finalProcess.lines);
    for (const job of simulator.groundTruth()) {
      const numbers = new Set(mine.filter((l) => l.job_id === job.id).map((l) => l.build_no));
      expect(compareCounters(samples, job, job.finished.filter((b) => numbers.has(b.buildNo)))).toEqual([]);
    }
    finalProcess.kill('SIGTERM');
    expect((await finalProcess.exit()).code).toBe(0);
  });
});
