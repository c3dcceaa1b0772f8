/**
 * Issue 16, acceptance 1 and 4: a month of history of 20 jobs, backfilled by the procedure of
 * docs/backfill.md run exactly as written (bash, the built CLI, the real promtool), into a real
 * Prometheus that also scrapes the live exporter: `increase(codearts_builds_total[30d])` per
 * (job, result) is every build that finished since --since, backfilled and live, each once.
 *
 * The live exporter starts on a simulator with 30 days of history (a build an hour per job), one
 * build running at that moment (below the start point, finishing later: backfilled, never live);
 * then every job runs two builds, counted live. Prometheus starts after that, so its first sample
 * of each series already holds the live counts. A 21st job with two builds before the start and
 * four after it has a first live sample (4) above its last backfilled one (2): only the backfill's
 * drop to 0 before live counting makes increase() see 6 there.
 */

import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createSimulator, type SimJobSpec, type Simulator } from '../../src/simulator/index.js';
import { findBinary, itWithBinary } from '../helpers/binaries.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';
import { countBy, RESULTS } from '../helpers/ground-truth.js';
import { freePort, PrometheusServer, resultSamples } from '../helpers/prometheus.js';

const it = itWithBinary('promtool');
const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');
const JOBS: SimJobSpec[] = Array.from({ length: 20 }, (_, i) => ({
  id: (0xb00000 + i).toString(16).padStart(32, '0'),
  name: `history-${String(i).padStart(2, '0')}`,
  history: 30 * 24,
  historyEverySeconds: 3600,
  buildEverySeconds: 0,
}));
/**
 * A job with only two builds before the start and four after it: its first live sample (4) is
 * above its last backfilled one (2), so only the backfill's drop to 0 makes increase() see 6.
 */
const FRESH: SimJobSpec = { id: 'b000ff00000000000000000000000000', name: 'fresh', history: 0, buildEverySeconds: 0 };
const ALL = [...JOBS, FRESH];

/** The bash block after the `backfill-procedure` marker of docs/backfill.md, as written. */
function documentedProcedure(): string {
  const doc = readFileSync(join(REPO, 'docs', 'backfill.md'), 'utf8');
  const marker = doc.indexOf('<!-- backfill-procedure');
  const block = /```bash\n([\s\S]*?)```/.exec(doc.slice(marker));
  if (marker < 0 || !block?.[1]) throw new Error('docs/backfill.md has no backfill-procedure block');
  return block[1];
}

interface Saved {
  jobs?: Record<string, { state: { countingFrom?: number } }>;
}

describe('backfill into a real Prometheus, next to the live exporter', () => {
  let simulator: Simulator | undefined;
  let prometheus: PrometheusServer | undefined;
  let exporter: ExporterProcess | undefined;
  let dir = '';
  let exporterUrl = '';

  beforeAll(async () => {
    if (!findBinary('prometheus') || !findBinary('promtool')) return;
    simulator = await createSimulator({ seed: 16, clock: 'realtime', jobs: ALL });
    dir = mkdtempSync(join(tmpdir(), 'cbe-e2e-backfill-'));
    const port = await freePort();
    writeConfig(dir, {
      codearts: { endpoint: simulator.url, auth: { token: 'sim-token-NOT-A-SECRET' }, max_requests_per_second: 200, max_concurrency: 8 },
      poll: { schedule: '* * * * * *', start_at: 'latest' },
      jobs: ALL.map(({ id, name }) => ({ id, name })),
      server: { host: '127.0.0.1', port },
      state: { path: join(dir, 'state.json') },
      log: { level: 'info' },
    });
  }, 60_000);

  afterAll(async () => {
    exporter?.kill('SIGKILL');
    await prometheus?.stop();
    await simulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const exporterTotal = async (): Promise<number> => {
    const text = await (await fetch(`${exporterUrl}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('codearts_builds_total{'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  };
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };

  it('answers increase(codearts_builds_total[30d]) per job and result with every build since --since, each once', async () => {
    const sim = simulator!;
    for (let i = 0; i < 2; i++) sim.triggerBuild(FRESH.id, { status: 'SUCCESS', queueSeconds: 0, durationSeconds: 1 });
    await until("the fresh job's builds finished", () => Promise.resolve(sim.groundTruth().at(-1)!.finished.length === 2), 10_000);
    const straddling = sim.triggerBuild(JOBS[0]!.id, { status: 'SUCCESS', queueSeconds: 1, durationSeconds: 20 });
    const started = await ExporterProcess.run(join(dir, 'exporter.yml'));
    exporter = started.process;
    exporterUrl = started.url;
    const saved = (): Saved => {
      try {
        return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Saved;
      } catch {
        return {};
      }
    };
    await until(
      'every job started',
      () => Promise.resolve(Object.values(saved().jobs ?? {}).filter((job) => job.state.countingFrom).length === ALL.length),
      60_000,
    );
    expect(saved().jobs?.[JOBS[0]!.id]?.state.countingFrom).toBe(straddling + 1);

    for (const job of JOBS)
      for (const status of ['SUCCESS', 'FAILED'] as const) sim.triggerBuild(job.id, { status, queueSeconds: 1, durationSeconds: 2 });
    for (let i = 0; i < 4; i++) sim.triggerBuild(FRESH.id, { status: 'SUCCESS', queueSeconds: 1, durationSeconds: 2 });
    const live = 2 * JOBS.length + 4;
    await until('the live builds counted', async () => (await exporterTotal()) === live, 60_000);
    await until(
      'the running build finished',
      () => Promise.resolve(sim.groundTruth()[0]!.finished.some((b) => b.buildNo === straddling)),
      40_000,
    );

    prometheus = await PrometheusServer.start({
      targets: [`127.0.0.1:${new URL(exporterUrl).port}`],
      extraArgs: ['--storage.tsdb.retention.time=60d'],
    });
    await prometheus.waitFor('sum(codearts_builds_total)', (samples) => Number(samples[0]?.value?.[1]) === live, 30_000);

    // The documented procedure, with the target labels from the Prometheus config next to it.
    const work = join(dir, 'work');
    mkdirSync(join(work, 'config'), { recursive: true });
    copyFileSync(join(prometheus.dir, 'prometheus.yml'), join(work, 'config', 'prometheus.yml'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'codearts-build-exporter'), `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, 'dist', 'cli.js')}" "$@"\n`);
    chmodSync(join(bin, 'codearts-build-exporter'), 0o755);
    const { stdout } = await run('bash', ['-c', documentedProcedure()], {
      cwd: work,
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        CONFIG: join(dir, 'exporter.yml'),
        PROMETHEUS_DATA: join(prometheus.dir, 'tsdb'),
        SINCE: '29d',
        STEP: '1h',
      },
      maxBuffer: 1 << 24,
    });
    const summary =
      /wrote history\.om: 21 jobs, (\d+) builds finished since \S+ \((\d+(?:\.\d+)?)\) \((\d+) looked up with record-info\), (\d+) samples, (\d+) requests/.exec(
        stdout,
      );
    expect(summary, stdout).not.toBeNull();
    console.info(`backfill e2e: ${stdout.trim()}`);
    const sinceS = Number(summary![2]);

    const truth = sim.groundTruth().map((job) => ({
      id: job.id,
      byResult: countBy(
        job.finished.filter((b) => b.finishedAt >= sinceS),
        (b) => b.result,
      ),
    }));
    const backfilled = truth.reduce((sum, job) => sum + [...job.byResult.values()].reduce((a, b) => a + b, 0), 0) - live;
    expect(Number(summary![1])).toBe(backfilled);
    expect(backfilled).toBeGreaterThan(20 * 29 * 20);

    // Prometheus loads new blocks at its next reload (about a minute), no restart.
    await prometheus.waitFor(
      'count(count_over_time(codearts_builds_total[1d] offset 10d))',
      (samples) => Number(samples[0]?.value?.[1]) > 0,
      180_000,
      2000,
    );
    const answer = resultSamples(await prometheus.query('round(increase(codearts_builds_total[30d]))'));
    const got = new Map(answer.map((s) => [`${s.metric.job_id} ${s.metric.result}`, Number(s.value?.[1])]));
    const diffs: string[] = [];
    for (const job of truth)
      for (const result of RESULTS) {
        const want = job.byResult.get(result) ?? 0;
        const have = got.get(`${job.id} ${result}`);
        if (have !== want) diffs.push(`${job.id} ${result}: got ${have}, want ${want}`);
      }
    expect(diffs).toEqual([]);
    expect(got.get(`${FRESH.id} success`)).toBe(6);
    // The backfilled buckets carry the bounds the live OpenMetrics scrape gives them (le="60.0"): one series per bound, not two.
    const bounds = resultSamples(await prometheus.query('count by (le) (last_over_time(codearts_build_duration_seconds_bucket[30d]))'));
    expect(bounds.map((s) => s.metric.le).sort()).toEqual([
      '+Inf',
      '120.0',
      '1800.0',
      '30.0',
      '300.0',
      '3600.0',
      '60.0',
      '600.0',
      '7200.0',
      '900.0',
    ]);
    expect(
      answer.every((s) => s.metric.job === 'codearts-build-exporter' && s.metric.instance === `127.0.0.1:${new URL(exporterUrl).port}`),
    ).toBe(true);
  }, 420_000);
});
