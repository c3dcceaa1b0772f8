/**
 * Issue 15, acceptance 5: after an exporter restart, `increase()` over a window containing the first
 * post-restart build of a known (job, result) counts it, histograms included.
 *
 * A real Prometheus scrapes the built exporter every second. The job has one successful build; the
 * exporter is SIGKILLed, a second successful build finishes while it is down, and the restarted
 * exporter counts it in its first cycle. Had its counters restarted from zero, Prometheus would
 * see 1 before and 1 after (no decrease, so no reset): `increase()` would say 0. The store keeps
 * the counts, so it sees 1 then 2.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { findBinary, itWithBinary } from '../helpers/binaries.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';
import { freePort, PrometheusServer, resultSamples, type Sample } from '../helpers/prometheus.js';

const it = itWithBinary('prometheus');
const JOB = { id: 'e2e5000000000000000000000000000a', name: 'restarted' };
const WHERE = `job_id="${JOB.id}",result="success"`;

describe('a restart between two builds of the same result, seen by a real Prometheus', () => {
  let simulator: Simulator | undefined;
  let prometheus: PrometheusServer | undefined;
  const exporters: ExporterProcess[] = [];
  let dir = '';
  let configPath = '';

  beforeAll(async () => {
    if (!findBinary('prometheus')) return;
    simulator = await createSimulator({ seed: 15, jobs: [{ ...JOB, history: 0, buildEverySeconds: 0 }] });
    simulator.triggerBuild(JOB.id, { status: 'SUCCESS', queueSeconds: 2, durationSeconds: 45 });
    simulator.advance(100);
    dir = mkdtempSync(join(tmpdir(), 'cbe-e2e-restart-'));
    const port = await freePort();
    configPath = writeConfig(dir, {
      codearts: { endpoint: simulator.url, auth: { token: 'sim-token-NOT-A-SECRET' }, retry: { min_delay: '10ms', max_delay: '50ms' } },
      poll: { schedule: '* * * * * *', start_at: 1 },
      jobs: [JOB],
      server: { host: '127.0.0.1', port },
      state: { path: join(dir, 'state.json') },
      log: { level: 'info' },
    });
    prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${port}`] });
  }, 60_000);

  afterAll(async () => {
    for (const exporter of exporters) exporter.kill('SIGKILL');
    await prometheus?.stop();
    await simulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const value = (samples: Sample[]) => Number(samples[0]?.value?.[1] ?? Number.NaN);
  const query = async (expr: string) => value(resultSamples(await prometheus!.query(expr)));
  const start = async () => {
    const { process } = await ExporterProcess.run(configPath);
    exporters.push(process);
    return process;
  };

  it('counts the first build after the restart in increase() of the counter and of the histogram', async () => {
    const first = await start();
    await prometheus!.waitFor(`codearts_builds_total{${WHERE}}`, (samples) => value(samples) === 1, 30_000);
    // A few more scrapes of the first lifetime, then a hard kill.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    first.kill('SIGKILL');
    await first.exit();
    await prometheus!.waitFor(`up{instance=~".+"}`, (samples) => value(samples) === 0, 30_000);

    // While it is down, the job's second successful build finishes; the next lifetime counts it first thing.
    simulator!.triggerBuild(JOB.id, { status: 'SUCCESS', queueSeconds: 3, durationSeconds: 50 });
    simulator!.advance(100);
    await start();
    await prometheus!.waitFor(`codearts_builds_total{${WHERE}}`, (samples) => value(samples) === 2, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));

    // The whole test fits in the window: it holds samples from both lifetimes.
    expect(await query(`resets(codearts_builds_total{${WHERE}}[10m])`)).toBe(0);
    expect(Math.round(await query(`increase(codearts_builds_total{${WHERE}}[10m])`))).toBe(1);
    expect(Math.round(await query(`increase(codearts_build_duration_seconds_count{${WHERE}}[10m])`))).toBe(1);
    // Prometheus negotiates OpenMetrics, whose le values are canonical numbers: "60.0", not "60".
    expect(Math.round(await query(`increase(codearts_build_duration_seconds_bucket{${WHERE},le="60.0"}[10m])`))).toBe(1);
    expect(Math.round(await query(`increase(codearts_build_queue_duration_seconds_count{job_id="${JOB.id}"}[10m])`))).toBe(1);
    // increase() extrapolates to the window's edges; the mean of what increased does not: the 50 s build.
    const increase = (family: string) => `increase(codearts_build_duration_seconds_${family}{${WHERE}}[10m])`;
    expect(Math.round(await query(`${increase('sum')} / ${increase('count')}`))).toBe(50);
    expect(await query(`codearts_build_duration_seconds_sum{${WHERE}}`)).toBe(95);
  }, 120_000);
});
