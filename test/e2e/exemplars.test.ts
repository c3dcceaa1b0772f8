/**
 * Issue 16: exemplars end to end. The simulator runs builds of known durations and queue times;
 * the built exporter (`node dist/cli.js run`) counts them; a real Prometheus started with
 * `--enable-feature=exemplar-storage` scrapes it (negotiating OpenMetrics, as it does by default).
 * `/api/v1/query_exemplars` must then return, for every bucket a build fell in, the newest such
 * build: its build number, its `build_record_id` as CodeArts (the simulator) answers it, its
 * duration or queue time, and its finish time (duration) or the end of its wait (queue). A build
 * still running has its queue exemplar already.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { DEFAULT_DURATION_BUCKETS, DEFAULT_QUEUE_BUCKETS } from '../../src/config/schema.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { findBinary, itWithBinary } from '../helpers/binaries.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';
import { freePort, PrometheusServer, resultSamples, type ExemplarResponse } from '../helpers/prometheus.js';

const it = itWithBinary('prometheus');
const TOKEN = 'sim-token-NOT-A-SECRET';
const JOB_A = { id: 'e2e16000000000000000000000000001', name: 'exemplars-a' };
const JOB_B = { id: 'e2e16000000000000000000000000002', name: 'exemplars-b' };
/** Builds as triggered: job, queue seconds, duration seconds, final status; 100 s apart. */
const BUILDS: Array<[typeof JOB_A, number, number, string]> = [
  [JOB_A, 2, 45, 'SUCCESS'],
  [JOB_A, 20, 200, 'FAILED'],
  // Same buckets as the first (duration le 60, queue le 5), finishing later: it replaces it.
  [JOB_A, 3, 50, 'SUCCESS'],
  [JOB_B, 400, 3000, 'SUCCESS'],
  [JOB_B, 1, 8000, 'TIMEOUT'],
];
/** Still running when Prometheus scrapes: its queue time (le 15) is known, its duration is not. */
const RUNNING: [typeof JOB_A, number, number] = [JOB_A, 7, 1_000_000];

interface Expected {
  family: 'duration' | 'queue';
  jobId: string;
  result?: string;
  le: string;
  buildNo: number;
  value: number;
  timestamp: number;
}

/** The `le` (canonical, as in OpenMetrics) of the bucket a value falls in. */
function bucketOf(value: number, bounds: readonly number[]): string {
  const bound = bounds.find((b) => value <= b);
  return bound === undefined ? '+Inf' : Number.isInteger(bound) ? `${bound}.0` : String(bound);
}

/** Per bucket, the observation with the newest timestamp. */
function newestPerBucket(observations: Expected[]): Map<string, Expected> {
  const kept = new Map<string, Expected>();
  for (const observation of observations) {
    const key = `${observation.family}|${observation.jobId}|${observation.result ?? ''}|${observation.le}`;
    const current = kept.get(key);
    if (!current || observation.timestamp > current.timestamp) kept.set(key, observation);
  }
  return kept;
}

describe('exemplars of the duration and queue histograms, seen by a real Prometheus', () => {
  let simulator: Simulator | undefined;
  let prometheus: PrometheusServer | undefined;
  let exporter: ExporterProcess | undefined;
  let dir = '';
  let runningBuild = 0;
  let runningStartedAt = 0;

  beforeAll(async () => {
    if (!findBinary('prometheus')) return;
    simulator = await createSimulator({
      seed: 16,
      startTime: Math.floor(Date.now() / 1000) - 86_400,
      jobs: [JOB_A, JOB_B].map((job) => ({ ...job, history: 0, buildEverySeconds: 0 })),
    });
    for (const [job, queueSeconds, durationSeconds, status] of BUILDS) {
      simulator.triggerBuild(job.id, { status, queueSeconds, durationSeconds });
      simulator.advance(100);
    }
    simulator.advance(10_000);
    const [job, queueSeconds, durationSeconds] = RUNNING;
    runningStartedAt = simulator.now() + queueSeconds;
    runningBuild = simulator.triggerBuild(job.id, { status: 'SUCCESS', queueSeconds, durationSeconds });
    simulator.advance(60);
    dir = mkdtempSync(join(tmpdir(), 'cbe-e2e-exemplars-'));
    const port = await freePort();
    const config = writeConfig(dir, {
      codearts: { endpoint: simulator.url, auth: { token: TOKEN }, retry: { min_delay: '10ms', max_delay: '50ms' } },
      poll: { schedule: '* * * * * *', start_at: 1 },
      jobs: [JOB_A, JOB_B],
      server: { host: '127.0.0.1', port },
      state: { path: join(dir, 'state.json') },
      // info: ExporterProcess.run waits for the "exporter listening" line.
      log: { level: 'info' },
    });
    ({ process: exporter } = await ExporterProcess.run(config));
    prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${port}`], extraArgs: ['--enable-feature=exemplar-storage'] });
  }, 60_000);

  afterAll(async () => {
    exporter?.kill('SIGKILL');
    await prometheus?.stop();
    await simulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** build_record_id of a build, as record-info answers it. */
  async function recordId(jobId: string, buildNo: number): Promise<string> {
    const response = await fetch(`${simulator!.url}/v4/jobs/${jobId}/${buildNo}/record-info`, { headers: { 'X-Auth-Token': TOKEN } });
    const body = (await response.json()) as { result: { build_record_id: string } };
    return body.result.build_record_id;
  }

  it('returns, for every bucket a build fell in, the newest such build with its number, record id, value and time', async () => {
    const p = prometheus!;
    const sim = simulator!;
    await p.waitFor('sum(codearts_builds_total{job="codearts-build-exporter"})', (s) => Number(s[0]?.value?.[1]) === BUILDS.length, 30_000);
    // The scrape negotiated OpenMetrics: bucket series carry canonical le values.
    expect(resultSamples(await p.query('codearts_build_duration_seconds_bucket{le="60.0"}')).length).toBeGreaterThan(0);
    expect(resultSamples(await p.query('codearts_build_duration_seconds_bucket{le="60"}'))).toEqual([]);

    const truth = sim.groundTruth();
    const observations: Expected[] = [];
    for (const job of truth) {
      for (const build of job.finished) {
        const duration = build.durationMs / 1000;
        observations.push({
          family: 'duration',
          jobId: job.id,
          result: build.result,
          le: bucketOf(duration, DEFAULT_DURATION_BUCKETS),
          buildNo: build.buildNo,
          value: duration,
          timestamp: build.finishedAt,
        });
        const waitEnded = build.neverStarted ? build.finishedAt : build.startedAt;
        const queue = { le: bucketOf(build.queueSeconds, DEFAULT_QUEUE_BUCKETS), value: build.queueSeconds, timestamp: waitEnded };
        observations.push({ family: 'queue', jobId: job.id, buildNo: build.buildNo, ...queue });
      }
    }
    const [runningJob, runningQueue] = RUNNING;
    const le = bucketOf(runningQueue, DEFAULT_QUEUE_BUCKETS);
    observations.push({
      family: 'queue',
      jobId: runningJob.id,
      le,
      buildNo: runningBuild,
      value: runningQueue,
      timestamp: runningStartedAt,
    });
    const expected = newestPerBucket(observations);
    // The later of two builds in the same buckets replaced the first.
    expect(expected.get(`duration|${JOB_A.id}|success|60.0`)?.buildNo).toBe(3);
    expect(expected.get(`queue|${JOB_A.id}||5.0`)?.buildNo).toBe(3);

    const window = { start: sim.now() - 86_400 * 2, end: Math.ceil(Date.now() / 1000) + 86_400 };
    const exemplars = async (family: string): Promise<ExemplarResponse> =>
      p.queryExemplars(`codearts_${family}_seconds_bucket{job="codearts-build-exporter"}`, window.start, window.end);
    // Exemplars arrive with the scrapes after the builds were committed.
    const deadline = Date.now() + 30_000;
    let seen: Array<Expected & { recordId: string | undefined }>;
    for (;;) {
      seen = [];
      for (const [family, metric] of [
        ['duration', 'build_duration'],
        ['queue', 'build_queue_duration'],
      ] as const) {
        const answer = await exemplars(metric);
        expect(answer.status, answer.error).toBe('success');
        for (const series of answer.data ?? []) {
          for (const exemplar of series.exemplars) {
            seen.push({
              family,
              jobId: series.seriesLabels.job_id ?? '',
              ...(family === 'duration' ? { result: series.seriesLabels.result ?? '' } : {}),
              le: series.seriesLabels.le ?? '',
              buildNo: Number(exemplar.labels.build_no),
              value: Number(exemplar.value),
              timestamp: exemplar.timestamp,
              recordId: exemplar.labels.build_record_id,
            });
          }
        }
      }
      if (seen.length >= expected.size || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    // One exemplar per bucket series (Prometheus keeps each distinct one; the exporter never sends an older one).
    const key = (e: Expected) => `${e.family}|${e.jobId}|${e.result ?? ''}|${e.le}`;
    expect(seen.map(key).sort()).toEqual([...expected.keys()].sort());
    for (const exemplar of seen) {
      const want = expected.get(key(exemplar));
      expect(exemplar.buildNo, key(exemplar)).toBe(want?.buildNo);
      expect(exemplar.value, key(exemplar)).toBeCloseTo(want?.value ?? Number.NaN, 3);
      expect(exemplar.timestamp, key(exemplar)).toBeCloseTo(want?.timestamp ?? Number.NaN, 3);
      expect(exemplar.recordId, key(exemplar)).toBe(await recordId(exemplar.jobId, exemplar.buildNo));
    }
    expect(seen.some((e) => e.family === 'queue' && e.buildNo === runningBuild)).toBe(true);

    // The console link series the dashboards join to build numbers.
    const links = resultSamples(await p.query('codearts_job_console_link_info'));
    expect(links.map((s) => s.metric.url_prefix).sort()).toEqual(
      [JOB_A.id, JOB_B.id].map((id) => `https://devcloud.cn-north-4.huaweicloud.com/cloudbuild/index.html#/job/${id}/build/`),
    );
  }, 120_000);
});
