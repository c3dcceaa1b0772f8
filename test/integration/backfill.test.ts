/**
 * Issue 16, acceptance 2: `backfill` against the simulator on loopback, run in-process as the CLI.
 * A month of history per job; the jobs' start points recorded first by `once`.
 *
 * - An interrupted run, run again, writes the same file byte for byte as a run never interrupted,
 *   and asks only for what the interrupted run had not had answered (a few requests in flight at
 *   the interruption aside).
 * - A clean run's requests are the listing pages plus one record-info per build the listing cannot
 *   describe; the series it writes from the listing are those it writes from record-info.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../../src/commands/io.js';
import { runCli } from '../../src/commands/program.js';
import { createSimulator, type SimJobSpec, type Simulator } from '../../src/simulator/index.js';
import { writeConfig } from '../helpers/exporter-process.js';

const JOBS: SimJobSpec[] = Array.from({ length: 6 }, (_, i) => ({
  id: (0xbf0000 + i).toString(16).padStart(32, '0'),
  name: `backfill-${i}`,
  history: 240,
  historyEverySeconds: 3 * 3600,
  buildEverySeconds: 0,
}));
const MAX_CONCURRENCY = 4;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Requests the simulator answered during the run, by endpoint. */
  requests: Record<string, number>;
}

describe('backfill (in-process CLI against the simulator)', () => {
  let simulator: Simulator;
  let dir: string;
  const since = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 19) + 'Z';

  const config = (name: string, metrics: Record<string, unknown> = {}): string =>
    writeConfig(
      dir,
      {
        codearts: {
          endpoint: simulator.url,
          auth: { token: 'sim-token-NOT-A-SECRET' },
          max_concurrency: MAX_CONCURRENCY,
          max_requests_per_second: 500,
        },
        // A 1 s period caps a request's retries at 1 s (half the period): the failing listing gives up fast.
        poll: { start_at: 'latest', schedule: '* * * * * *' },
        jobs: JOBS.map(({ id, name }) => ({ id, name })),
        state: { path: join(dir, `${name}.state.json`) },
        metrics,
        log: { level: 'silent' },
      },
      `${name}.yml`,
    );

  const cli = async (args: string[], stop?: AbortSignal): Promise<Run> => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const io: CommandIo = { env: {}, stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line) };
    simulator.resetRequests();
    const code = await runCli(args, { io, ...(stop ? { stop } : {}) });
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n'), requests: { ...simulator.requests().byEndpoint } };
  };
  const backfill = (configPath: string, out: string, extra: string[] = [], stop?: AbortSignal) =>
    cli(
      [
        'backfill',
        '--config',
        configPath,
        '--out',
        join(dir, out),
        '--since',
        since,
        '--step',
        '2h',
        '--label',
        'job=ci',
        '--label',
        'instance=exporter:1',
        ...extra,
      ],
      stop,
    );
  const startPoints = async (configPath: string) => {
    const result = await cli(['once', '--config', configPath, '--state', configPath.replace(/\.yml$/, '.state.json')]);
    expect(result.code, result.stderr).toBe(0);
  };
  const summaryOf = (run: Run) => {
    const match = /, (\d+) builds finished since .* \((\d+) looked up with record-info\), (\d+) samples, (\d+) requests/.exec(run.stdout);
    expect(match, `${run.stdout}\n${run.stderr}`).not.toBeNull();
    return { builds: Number(match![1]), byRecordInfo: Number(match![2]), requests: Number(match![4]) };
  };

  beforeAll(async () => {
    simulator = await createSimulator({ seed: 1616, jobs: JOBS, startTime: Math.floor(Date.now() / 1000) });
    dir = mkdtempSync(join(tmpdir(), 'cbe-backfill-'));
  });
  afterAll(async () => {
    await simulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes an interrupted run into the same bytes, without asking again what it had', async () => {
    const plain = config('plain');
    await startPoints(plain);

    const clean = await backfill(plain, 'clean.om');
    expect(clean.code, clean.stderr).toBe(0);
    const summary = summaryOf(clean);
    const cleanRequests = (clean.requests['record-list'] ?? 0) + (clean.requests['record-info-v4'] ?? 0);
    expect(summary.requests).toBe(cleanRequests);
    expect(clean.requests['record-info-v4'] ?? 0).toBe(summary.byRecordInfo);
    expect(Object.keys(clean.requests).sort()).toEqual(summary.byRecordInfo > 0 ? ['record-info-v4', 'record-list'] : ['record-list']);
    expect(summary.builds).toBeGreaterThan(JOBS.length * 200);

    const stop = new AbortController();
    const watch = setInterval(() => {
      if ((simulator.requests().byEndpoint['record-list'] ?? 0) >= 5) stop.abort();
    }, 1);
    const interrupted = await backfill(plain, 'resumed.om', [], stop.signal);
    clearInterval(watch);
    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toMatch(/run the same command again to continue/);
    expect(existsSync(join(dir, 'resumed.om'))).toBe(false);
    expect(existsSync(join(dir, 'resumed.om.progress'))).toBe(true);

    const resumed = await backfill(plain, 'resumed.om');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/, resumed$/);
    expect(readFileSync(join(dir, 'resumed.om')).equals(readFileSync(join(dir, 'clean.om')))).toBe(true);
    expect(existsSync(join(dir, 'resumed.om.progress'))).toBe(false);
    const asked = (run: Run) => (run.requests['record-list'] ?? 0) + (run.requests['record-info-v4'] ?? 0);
    expect(asked(interrupted)).toBeGreaterThanOrEqual(5);
    expect(asked(interrupted) + asked(resumed)).toBeLessThanOrEqual(cleanRequests + MAX_CONCURRENCY);
  }, 120_000);

  it('writes from the listing the same series as from record-info, and with record labels looks up only what the listing lacks', async () => {
    const plain = config('plain');
    const fromListing = await backfill(plain, 'listing.om');
    const fromRecords = await backfill(plain, 'records.om', ['--queue-times']);
    expect(fromListing.code, fromListing.stderr).toBe(0);
    expect(fromRecords.code, fromRecords.stderr).toBe(0);
    expect(summaryOf(fromRecords).byRecordInfo).toBeGreaterThanOrEqual(summaryOf(fromRecords).builds);
    expect(summaryOf(fromListing).byRecordInfo).toBeLessThan(summaryOf(fromListing).builds / 10);
    const withoutQueue = (file: string) =>
      readFileSync(join(dir, file), 'utf8')
        .split('\n')
        .filter((line) => !line.includes('codearts_build_queue_duration_seconds'));
    expect(withoutQueue('listing.om')).toEqual(withoutQueue('records.om'));
    expect(readFileSync(join(dir, 'records.om'), 'utf8')).toContain('codearts_build_queue_duration_seconds_bucket{job="ci"');

    // Fleet-wide histograms (job_histograms: false) are sums over every job's live counts: not backfilled.
    const fleet = config('fleet', { job_histograms: false });
    await startPoints(fleet);
    const summed = await backfill(fleet, 'fleet.om');
    expect(summed.code, summed.stderr).toBe(0);
    const fleetText = readFileSync(join(dir, 'fleet.om'), 'utf8');
    expect(fleetText).toContain('codearts_builds_total{job="ci"');
    expect(fleetText).not.toContain('codearts_build_duration_seconds');

    const branches = config('branches', { record_labels: ['branch', 'build_type'] });
    await startPoints(branches);
    const labelled = await backfill(branches, 'branches.om');
    expect(labelled.code, labelled.stderr).toBe(0);
    const { builds, byRecordInfo } = summaryOf(labelled);
    // Tag builds (about one in ten) are looked up: the listing's code_branch names the tag.
    expect(byRecordInfo).toBeGreaterThan(0);
    expect(byRecordInfo).toBeLessThan(builds / 4);
    expect(readFileSync(join(dir, 'branches.om'), 'utf8')).toMatch(
      /codearts_builds_total\{job="ci",instance="exporter:1",job_id="[0-9a-f]+",job_name="backfill-\d",result="\w+",branch="[^"]+",build_type="branch"\} \d+ \d+/,
    );
  }, 120_000);

  it('without the listing (not published in the region) walks record-info into the same file; fails naming the job when the listing answers nonsense', async () => {
    const plain = config('plain');
    simulator.setRecordList(false);
    try {
      const walked = await backfill(plain, 'walked.om');
      expect(walked.code, walked.stderr).toBe(0);
      expect(walked.stderr).toContain(`job ${JOBS[0]!.id}: the build listing is not available`);
      expect(readFileSync(join(dir, 'walked.om')).equals(readFileSync(join(dir, 'clean.om')))).toBe(true);
      const { builds, byRecordInfo } = summaryOf(walked);
      // One record-info per build, a few more below --since where the walk stops, one listing attempt per job.
      expect(walked.requests['record-info-v4']).toBe(byRecordInfo);
      expect(byRecordInfo).toBeLessThan(builds + JOBS.length * 30);
      expect(walked.requests['record-list']).toBe(JOBS.length);

      simulator.setRecordList('malformed');
      const failed = await backfill(plain, 'failed.om');
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(new RegExp(`job ${JOBS[0]!.id}: .*record-list`));
      expect(failed.stderr).toMatch(/run the same command again to continue/);
      expect(existsSync(join(dir, 'failed.om'))).toBe(false);
    } finally {
      simulator.setRecordList(true);
    }
  }, 120_000);
});
