import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { itWithBinary } from '../helpers/binaries.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';

/** The built exporter as a service: endpoints, readiness, lint-clean metrics, graceful stop. */
describe('the exporter process', () => {
  let simulator: Simulator;
  let dir: string;
  let exporter: ExporterProcess;
  let url: string;
  let readyzBeforeFirstCycle: number;

  beforeAll(async () => {
    // Slow answers make the first cycle take a while, so /readyz can be seen before it ends.
    simulator = await createSimulator({ seed: 4, jobs: 3, latencyMs: 400, buildEverySeconds: 60 });
    simulator.advance(3600);
    dir = mkdtempSync(join(tmpdir(), 'cbe-service-'));
    const config = writeConfig(dir, {
      codearts: { endpoint: simulator.url, auth: { token: '${CODEARTS_TOKEN}' } },
      poll: { schedule: '*/2 * * * * *', start_at: 'latest' },
      jobs: simulator.jobs().map((job) => ({ id: job.id, name: job.name })),
      server: { host: '127.0.0.1', port: 0 },
      state: { path: join(dir, 'data', 'state.json') },
    });
    ({ process: exporter, url } = await ExporterProcess.run(config, { CODEARTS_TOKEN: 'sim-token-NOT-A-SECRET' }));
    readyzBeforeFirstCycle = (await fetch(`${url}/readyz`)).status;
    await exporter.waitForLog((line) => line.msg === 'poll cycle finished', 20_000);
    simulator.setLatency(0);
  }, 40_000);

  afterAll(async () => {
    exporter?.kill('SIGKILL');
    await simulator?.close();
  });

  it('is not ready before the first cycle and ready after it', async () => {
    expect(readyzBeforeFirstCycle).toBe(503);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('serves /metrics as text format 0.0.4 with build and self metrics', async () => {
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = await response.text();
    expect(body).toContain('# TYPE codearts_builds_total counter');
    expect(body).toContain('codearts_exporter_up 1');
    expect(body).toMatch(/codearts_exporter_build_info\{version="[^"]+"\} 1/);
  });

  it('serves a landing page naming every job, and 404 elsewhere', async () => {
    const page = await (await fetch(`${url}/`)).text();
    for (const job of simulator.jobs()) expect(page).toContain(job.name);
    expect(page).toContain('/metrics');
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });

  itWithBinary('promtool')('passes promtool check metrics for every codearts_ series', async () => {
    const body = await (await fetch(`${url}/metrics`)).text();
    let output: string;
    try {
      output = execFileSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; status?: number };
      // Exit 3 means lint findings; only findings about our own series count (prom-client's
      // default nodejs_* gauges end in _total and are known to trip the linter).
      expect(failed.status).toBe(3);
      output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
    }
    const ours = output.split('\n').filter((line) => line.includes('codearts_'));
    expect(ours).toEqual([]);
  });

  it('stops within 10 s on SIGTERM with its state saved', async () => {
    const started = Date.now();
    exporter.kill('SIGTERM');
    const exit = await exporter.exit(12_000);
    expect(exit.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const state = JSON.parse(readFileSync(join(dir, 'data', 'state.json'), 'utf8')) as {
      jobs: Record<string, { state: { cursor: number } }>;
    };
    for (const job of simulator.groundTruth()) expect(state.jobs[job.id]?.state.cursor).toBe(job.highest);
    expect(exporter.lines.some((line) => line.msg === 'stopped')).toBe(true);
  });
});
