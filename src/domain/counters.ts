import type { BuildRecord, BuildResult, RecordLabelName } from './build.js';
import type { JobState } from './job.js';
import { DEFAULT_RECOVERY_BUCKETS } from './health.js';
import { countFailures, DEFAULT_MAX_ERROR_CODES_PER_JOB, type BuildFailures, type FailureSeries } from './failures.js';
import { DEFAULT_MAX_STEPS_PER_JOB, DEFAULT_STEP_BUCKETS, stepLabel, type BuildSteps, type StepSeries } from './steps.js';

/**
 * What a job has counted, as the store holds it (docs/design.md, "State and the commit point"): the
 * build and trigger counters and both histograms, per job. A commit changes them together with the
 * job's state; `/metrics` renders them. Values are never changed in place: a commit replaces the
 * parts it changes (copy-on-write), so a renderer can tell what changed by identity.
 */

/** One histogram's observations. */
export interface HistogramCounts {
  /**
   * Observations per bucket of the layout's bounds, in the bounds' order, non-cumulative;
   * observations above the largest bound are only in `count`. Positional in memory (a small array
   * of integers: an object keyed by "30", "3600" would give V8 a holey array of 3,601 slots);
   * keyed by `le` wherever it leaves the process (see bucketsByLe), so counts saved under other
   * bounds are seen and never misfiled.
   */
  buckets: readonly number[];
  /** Sum of the observations in milliseconds: an integer, so sums never drift. */
  sumMs: number;
  count: number;
}

/** The builds of one `result` (and one set of record label values, when `metrics.record_labels` is set). */
export interface BuildSeries {
  result: BuildResult;
  /** Values of the layout's record labels, in the layout's order; empty without record labels. */
  labels: readonly string[];
  builds: number;
  /** Durations of the series' builds that had a plausible one. */
  duration?: HistogramCounts;
}

export interface JobCounters {
  series: readonly BuildSeries[];
  /** Builds by `trigger_type`. */
  triggers: Readonly<Record<string, number>>;
  /** Queue times, each build observed once (while pending or when it finished). */
  queue?: HistogramCounts;
  /** Step durations and waits by step (at most the layout's maxStepsPerJob named steps, then `other`). */
  steps?: readonly StepSeries[];
  /** Failed builds by step and error code (log analysis), capped like the steps. */
  failures?: readonly FailureSeries[];
  /** Times to restore (metrics.recovery). */
  recovery?: HistogramCounts;
  /** Flaky builds (metrics.recovery). */
  flaky?: number;
}

/** The metrics settings the counters are kept in; a change of one of them resets what it shapes. */
export interface CounterLayout {
  recordLabels: readonly RecordLabelName[];
  durationBuckets: readonly number[];
  queueBuckets: readonly number[];
  /** Bounds of both step histograms. @default DEFAULT_STEP_BUCKETS */
  stepBuckets?: readonly number[];
  /** Distinct step names kept per job; the rest are `other`. Lowering it keeps the series a job has. @default DEFAULT_MAX_STEPS_PER_JOB */
  maxStepsPerJob?: number;
  /** Distinct error codes kept per job; the rest are `other`. @default DEFAULT_MAX_ERROR_CODES_PER_JOB */
  maxErrorCodesPerJob?: number;
  /** Bounds of the recovery histogram. @default DEFAULT_RECOVERY_BUCKETS */
  recoveryBuckets?: readonly number[];
}

/** A finished build counted by a commit, with everything its counters and histograms need. */
export interface CountedBuild {
  buildNo: number;
  result: BuildResult;
  triggerType: string;
  durationSeconds?: number | undefined;
  /** Set when this commit observes the build's queue time (it was not observed while the build was pending). */
  queueSeconds?: number | undefined;
  labels: Readonly<Record<RecordLabelName, string>>;
  /** `build_record_id`, to fetch the build's steps. */
  recordId?: string | undefined;
  /** Unix seconds (recovery, the duration exemplar's timestamp). */
  finishedAt?: number | undefined;
  /** Unix seconds: when the build left the queue (the queue exemplar's timestamp). */
  startedAt?: number | undefined;
  /** The commit built (flaky builds). */
  commit?: string | undefined;
}

/** What counting a finished build records of it; `queueSeconds` when this count observes its queue time. */
export function countedBuild(record: BuildRecord, result: BuildResult, queueSeconds: number | undefined): CountedBuild {
  const { buildNo, triggerType, durationSeconds, labels, recordId, finishedAt, startedAt, commit } = record;
  return { buildNo, result, triggerType, durationSeconds, queueSeconds, labels, recordId, finishedAt, startedAt, commit };
}

/** A queue time first known for a build that is still pending. */
export interface QueueObservation {
  buildNo: number;
  seconds: number;
  /** `build_record_id` of the build (the queue exemplar's label). */
  recordId?: string | undefined;
  /** Unix seconds: when the wait ended (the build's start time; its finish time when it never started); the queue exemplar's timestamp. */
  at?: number | undefined;
}

/** What one job's cycle hands to the store: its observations and its next state (cursor, pending, gaps, last-build gauges). */
export interface CycleDelta {
  counted: readonly CountedBuild[];
  queued: readonly QueueObservation[];
  /** Steps of finished builds: of builds counted by this commit, or of builds counted earlier whose steps came late. */
  steps?: readonly BuildSteps[];
  /** Causes of failed builds (log analysis), of builds counted by this commit or earlier. */
  failures?: readonly BuildFailures[];
  /** Times to restore observed by this commit (seconds). */
  recoveries?: readonly number[];
  /** Flaky builds found by this commit. */
  flaky?: number;
  next: JobState;
}

export type CounterFamily = 'builds' | 'duration' | 'queue' | 'steps' | 'recovery';

export function emptyCounters(): JobCounters {
  return { series: [], triggers: {} };
}

/** The counters with a delta's observations added; parts the delta does not touch are the same objects. */
export function countDelta(
  counters: JobCounters,
  delta: Pick<CycleDelta, 'counted' | 'queued' | 'steps' | 'failures' | 'recoveries' | 'flaky'>,
  layout: CounterLayout,
): JobCounters {
  const stepped = delta.steps ?? [];
  const failed = delta.failures ?? [];
  const recovered = delta.recoveries ?? [];
  const details = stepped.length + failed.length + recovered.length + (delta.flaky ?? 0);
  if (delta.counted.length === 0 && delta.queued.length === 0 && details === 0) return counters;
  let { series, triggers, queue } = counters;
  if (delta.counted.length > 0) {
    series = series.map((entry) => ({ ...entry }));
    const copy = { ...triggers };
    for (const build of delta.counted) {
      countBuild(series as BuildSeries[], build, layout);
      copy[build.triggerType] = (copy[build.triggerType] ?? 0) + 1;
    }
    triggers = copy;
  }
  const queueTimes = [
    ...delta.counted.flatMap((build) => (build.queueSeconds === undefined ? [] : [build.queueSeconds])),
    ...delta.queued.map((q) => q.seconds),
  ];
  if (queueTimes.length > 0) queue = observeAll(queue, layout.queueBuckets, queueTimes);
  const steps = stepped.length > 0 ? countSteps(counters.steps ?? [], stepped, layout) : counters.steps;
  const caps = {
    maxSteps: layout.maxStepsPerJob ?? DEFAULT_MAX_STEPS_PER_JOB,
    maxErrorCodes: layout.maxErrorCodesPerJob ?? DEFAULT_MAX_ERROR_CODES_PER_JOB,
  };
  const failures = failed.length > 0 ? countFailures(counters.failures ?? [], failed, caps) : counters.failures;
  const recovery =
    recovered.length > 0 ? observeAll(counters.recovery, layout.recoveryBuckets ?? DEFAULT_RECOVERY_BUCKETS, recovered) : counters.recovery;
  const flaky = (counters.flaky ?? 0) + (delta.flaky ?? 0);
  return {
    series,
    triggers,
    ...(queue ? { queue } : {}),
    ...(steps ? { steps } : {}),
    ...(failures ? { failures } : {}),
    ...(recovery ? { recovery } : {}),
    ...(flaky > 0 || counters.flaky !== undefined ? { flaky } : {}),
  };
}

/** The step histograms with the builds' steps added (a new array; untouched entries are the same objects). */
function countSteps(before: readonly StepSeries[], builds: readonly BuildSteps[], layout: CounterLayout): StepSeries[] {
  const bounds = layout.stepBuckets ?? DEFAULT_STEP_BUCKETS;
  const max = layout.maxStepsPerJob ?? DEFAULT_MAX_STEPS_PER_JOB;
  const series = [...before];
  for (const { steps } of builds) {
    for (const { step, durationSeconds, pendingSeconds } of steps) {
      const label = stepLabel(series, step, max);
      let index = series.findIndex((entry) => entry.step === label);
      if (index < 0) index = series.push({ step: label }) - 1;
      const entry = { ...(series[index] as StepSeries) };
      if (durationSeconds !== undefined) entry.duration = observeAll(entry.duration, bounds, [durationSeconds]);
      if (pendingSeconds !== undefined) entry.pending = observeAll(entry.pending, bounds, [pendingSeconds]);
      series[index] = entry;
    }
  }
  return series;
}

function countBuild(series: BuildSeries[], build: CountedBuild, layout: CounterLayout): void {
  const labels = layout.recordLabels.map((name) => build.labels[name]);
  let index = series.findIndex((entry) => entry.result === build.result && sameValues(entry.labels, labels));
  if (index < 0) index = series.push({ result: build.result, labels, builds: 0 }) - 1;
  const entry = series[index] as BuildSeries;
  entry.builds += 1;
  if (build.durationSeconds !== undefined) entry.duration = observeAll(entry.duration, layout.durationBuckets, [build.durationSeconds]);
}

/** A histogram with the observations added (a new object). */
export function observeAll(histogram: HistogramCounts | undefined, bounds: readonly number[], seconds: readonly number[]): HistogramCounts {
  const buckets = histogram ? [...histogram.buckets] : bounds.map(() => 0);
  let { sumMs, count } = histogram ?? { sumMs: 0, count: 0 };
  for (const value of seconds) {
    const index = bounds.findIndex((bound) => value <= bound);
    if (index >= 0) buckets[index] = (buckets[index] ?? 0) + 1;
    sumMs += Math.round(value * 1000);
    count += 1;
  }
  return { buckets, sumMs, count };
}

/** The `le` text of a bucket bound. */
export function bucketKey(bound: number): string {
  return String(bound);
}

/** A histogram's buckets keyed by `le`, zero buckets left out: how they are saved. */
export function bucketsByLe(histogram: HistogramCounts, bounds: readonly number[]): Record<string, number> {
  const keyed: Record<string, number> = {};
  bounds.forEach((bound, i) => {
    const value = histogram.buckets[i] ?? 0;
    if (value > 0) keyed[bucketKey(bound)] = value;
  });
  return keyed;
}

/** Saved buckets (keyed by `le`) back in positions of `bounds`; undefined when a key is none of the bounds. */
export function bucketsFromLe(keyed: Readonly<Record<string, number>>, bounds: readonly number[]): number[] | undefined {
  const keys = bounds.map(bucketKey);
  const buckets = bounds.map(() => 0);
  for (const [le, value] of Object.entries(keyed)) {
    const index = keys.indexOf(le);
    if (index < 0) return undefined;
    buckets[index] = value;
  }
  return buckets;
}

/**
 * Counters kept in one layout, moved to another: a family whose shape changed (record labels for
 * the build counters and duration histograms, bucket bounds for a histogram) starts again from
 * zero, since its old counts cannot be split into the new series or buckets. Says which families reset.
 */
export function adaptCounters(
  counters: JobCounters,
  from: CounterLayout,
  to: CounterLayout,
): { counters: JobCounters; reset: CounterFamily[] } {
  const reset = changedFamilies(from, to);
  if (reset.length === 0) return { counters, reset };
  let { series, queue, steps } = counters;
  if (reset.includes('builds')) series = [];
  else if (reset.includes('duration')) series = series.map(({ duration: _dropped, ...entry }) => entry);
  if (reset.includes('queue')) queue = undefined;
  if (reset.includes('steps')) steps = undefined;
  const { failures, flaky } = counters;
  const recovery = reset.includes('recovery') ? undefined : counters.recovery;
  const adapted = { series, triggers: counters.triggers, ...(queue ? { queue } : {}), ...(steps ? { steps } : {}) };
  const kept = { ...(failures ? { failures } : {}), ...(recovery ? { recovery } : {}), ...(flaky !== undefined ? { flaky } : {}) };
  return { counters: { ...adapted, ...kept }, reset };
}

/** The families two layouts shape differently. */
export function changedFamilies(from: CounterLayout, to: CounterLayout): CounterFamily[] {
  const families: CounterFamily[] = [];
  if (!sameValues(from.recordLabels, to.recordLabels)) families.push('builds', 'duration');
  else if (!sameValues(from.durationBuckets, to.durationBuckets)) families.push('duration');
  if (!sameValues(from.queueBuckets, to.queueBuckets)) families.push('queue');
  if (!sameValues(from.stepBuckets ?? DEFAULT_STEP_BUCKETS, to.stepBuckets ?? DEFAULT_STEP_BUCKETS)) families.push('steps');
  if (!sameValues(from.recoveryBuckets ?? DEFAULT_RECOVERY_BUCKETS, to.recoveryBuckets ?? DEFAULT_RECOVERY_BUCKETS))
    families.push('recovery');
  return families;
}

function sameValues<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
