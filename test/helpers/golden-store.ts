/**
 * A representative store for exposition tests: a few jobs with every build family the exporter
 * renders (results, triggers known and custom, both histograms with values in every bucket and
 * past the last, steps, failure causes, recovery, flaky builds, every gauge), awkward label values
 * (quotes, backslashes, line breaks, non-ASCII), a job without a project, a job with nothing
 * counted, and a removed job. Deterministic: no clock, no randomness.
 */

import type { RecordLabelName } from '../../src/domain/build.js';
import { countDelta, emptyCounters, type CountedBuild, type CounterLayout, type JobCounters } from '../../src/domain/counters.js';
import type { BuildFailures } from '../../src/domain/failures.js';
import { emptyJobState, type JobRef, type JobState } from '../../src/domain/job.js';
import type { BuildSteps } from '../../src/domain/steps.js';
import { BuildMetrics, type BuildMetricsOptions } from '../../src/metrics/build-metrics.js';

/** Unix seconds every build time of the store is counted from. */
export const GOLDEN_EPOCH = 1_700_000_000;

const NO_LABELS: Record<RecordLabelName, string> = { branch: '', repo_name: '', build_type: '', build_config_type: '', executor: '' };

export interface GoldenJob {
  job: JobRef;
  counted: CountedBuild[];
  /** Queue times of builds still pending (seconds). */
  queued: Array<{ buildNo: number; seconds: number; recordId?: string; at?: number }>;
  steps?: BuildSteps[];
  failures?: BuildFailures[];
  recoveries?: number[];
  flaky?: number;
  state: JobState;
}

function build(
  buildNo: number,
  result: CountedBuild['result'],
  durationSeconds: number | undefined,
  queueSeconds: number | undefined,
  extra: Partial<CountedBuild> = {},
): CountedBuild {
  const finishedAt = GOLDEN_EPOCH + buildNo * 600;
  return {
    buildNo,
    result,
    triggerType: 'manual',
    durationSeconds,
    queueSeconds,
    labels: { ...NO_LABELS, branch: buildNo % 2 === 0 ? 'main' : 'release/1.0' },
    recordId: `rec-${buildNo.toString().padStart(4, '0')}-0000-0000-0000-000000000000`,
    finishedAt,
    ...extra,
  };
}

/** The jobs of the store, in the order they are added. */
export function goldenJobs(): GoldenJob[] {
  const busy: GoldenJob = {
    job: { id: 'a0000000000000000000000000000001', name: 'backend-ci', project: 'f0000000000000000000000000000001' },
    counted: [
      build(1, 'success', 12.5, 0.4, { triggerType: 'codehub_trigger' }),
      build(2, 'success', 45, 3, { triggerType: 'timed_execution' }),
      build(3, 'failure', 59.999, 1),
      build(4, 'success', 61.25, 17.125, { triggerType: 'api_call' }),
      build(5, 'aborted', undefined, 130),
      build(6, 'timeout', 7200, 600),
      build(7, 'success', 9000.75, 4000),
      build(8, 'unknown', 301, undefined, { triggerType: 'unknown' }),
      build(9, 'failure', 899.5, 0, { triggerType: 'pipeline_trigger' }),
    ],
    queued: [
      { buildNo: 10, seconds: 2.5, recordId: 'rec-0010-0000-0000-0000-000000000000', at: GOLDEN_EPOCH + 6002.5 },
      { buildNo: 11, seconds: 31, recordId: 'rec-0011-0000-0000-0000-000000000000', at: GOLDEN_EPOCH + 6631 },
    ],
    steps: [
      {
        buildNo: 1,
        steps: [
          { step: 'Checkout', durationSeconds: 3, pendingSeconds: 0.5 },
          { step: 'Build "all"', durationSeconds: 250.5, pendingSeconds: 12 },
        ],
      },
      { buildNo: 3, steps: [{ step: 'Unit tests', durationSeconds: 2500 }] },
    ],
    failures: [
      { buildNo: 3, causes: [{ step: 'Unit tests', errorCode: 'DEV.CB.0001' }] },
      {
        buildNo: 9,
        causes: [
          { step: 'Unit tests', errorCode: 'DEV.CB.0001' },
          { step: 'unknown', errorCode: 'unknown' },
        ],
      },
    ],
    recoveries: [1200, 700_000],
    flaky: 1,
    state: {
      ...emptyJobState(),
      cursor: 11,
      pending: [10, 11],
      queueObserved: [10, 11],
      last: { buildNo: 9, result: 'failure', finishedAt: GOLDEN_EPOCH + 5400, durationSeconds: 899.5 },
      lastSuccessAt: GOLDEN_EPOCH + 4200.5,
      health: { failingSince: GOLDEN_EPOCH + 5400, failures: 1 },
    },
  };
  const awkward: GoldenJob = {
    job: { id: 'a0000000000000000000000000000002', name: 'nightly "full" \\ build\nsecond line – ünïcödé' },
    counted: [build(1, 'success', 0.001, 0.5), build(2, 'failure', 1e6, 1e5, { triggerType: 'webhook_v2' })],
    queued: [],
    state: {
      ...emptyJobState(),
      cursor: 2,
      last: { buildNo: 2, result: 'failure', finishedAt: GOLDEN_EPOCH + 1200 },
      lastSuccessAt: GOLDEN_EPOCH + 600,
    },
  };
  const idle: GoldenJob = {
    job: { id: 'a0000000000000000000000000000003', name: 'idle', project: 'f0000000000000000000000000000002' },
    counted: [],
    queued: [],
    state: emptyJobState(),
  };
  const removed: GoldenJob = {
    job: { id: 'a0000000000000000000000000000004', name: 'removed', project: 'f0000000000000000000000000000002' },
    counted: [build(1, 'success', 100, 5), build(2, 'success', 200, 50)],
    queued: [],
    state: {
      ...emptyJobState(),
      cursor: 2,
      last: { buildNo: 2, result: 'success', finishedAt: GOLDEN_EPOCH + 1200, durationSeconds: 200 },
    },
  };
  return [busy, awkward, idle, removed];
}

/** The job id removed from the store after everything was shown. */
export const GOLDEN_REMOVED_JOB = 'a0000000000000000000000000000004';

/** The counters a job's builds add up to, counted in one commit per build (as cycles would). */
export function goldenCounters(job: GoldenJob, layout: CounterLayout): JobCounters {
  let counters = emptyCounters();
  for (const counted of job.counted) counters = countDelta(counters, { counted: [counted], queued: [] }, layout);
  counters = countDelta(
    counters,
    {
      counted: [],
      queued: job.queued.map(({ buildNo, seconds }) => ({ buildNo, seconds })),
      ...(job.steps ? { steps: job.steps } : {}),
      ...(job.failures ? { failures: job.failures } : {}),
      ...(job.recoveries ? { recoveries: job.recoveries } : {}),
      ...(job.flaky ? { flaky: job.flaky } : {}),
    },
    layout,
  );
  return counters;
}

/** The two layouts the golden files are rendered in: the defaults with recovery on, and a fleet layout with a record label. */
export const GOLDEN_OPTIONS: Record<'per-job' | 'fleet', BuildMetricsOptions> = {
  'per-job': {
    recordLabels: [],
    durationBuckets: [30, 60, 120, 300, 600, 900, 1800, 3600, 7200],
    queueBuckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
    jobHistograms: true,
    recovery: true,
  },
  fleet: {
    recordLabels: ['branch'],
    durationBuckets: [0.5, 2.5, 60, 1e6],
    queueBuckets: [0.25, 1, 1e-3 * 1500],
    stepBuckets: [10, 100, 1000],
    recoveryBuckets: [3600],
    jobHistograms: false,
  },
};

/**
 * BuildMetrics showing the golden store in `options` (the removed job removed); with `exemplars`,
 * also given each job's observations, as a commit reports them (build by build, then the queue
 * times of the pending builds).
 */
export function goldenBuildMetrics(options: BuildMetricsOptions, { exemplars = false } = {}): BuildMetrics {
  const metrics = new BuildMetrics(options);
  for (const golden of goldenJobs()) {
    metrics.setJob(golden.job);
    metrics.show(golden.job.id, { counters: goldenCounters(golden, options), state: golden.state });
    if (!exemplars) continue;
    for (const counted of golden.counted) metrics.observe(golden.job.id, { counted: [counted] });
    metrics.observe(golden.job.id, { counted: [], queued: golden.queued });
  }
  metrics.removeJob(GOLDEN_REMOVED_JOB);
  return metrics;
}
