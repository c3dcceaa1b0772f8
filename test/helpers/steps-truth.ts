import { DEFAULT_RECOVERY_BUCKETS } from '../../src/domain/health.js';
import { DEFAULT_STEP_BUCKETS, OTHER_STEP } from '../../src/domain/steps.js';
import type { GroundTruthJob } from '../../src/simulator/index.js';
import { select, type Sample } from './exposition.js';
import { histogramCount, histogramSumMs } from './ground-truth.js';

interface Expected {
  count: number;
  sumMs: number;
  /** Cumulative, by bound. */
  buckets: number[];
}

/**
 * What the step histograms of a job must hold: every step of every finished build observed once
 * (its run time always, its wait when full-stages told it). Past `maxPerJob` names, steps count as
 * `other`, first names first in build-number order (use it only where that is the exporter's order).
 */
export function expectedSteps(job: GroundTruthJob, bounds: readonly number[] = DEFAULT_STEP_BUCKETS, maxPerJob = Infinity) {
  const named: string[] = [];
  const label = (step: string) => {
    if (named.includes(step)) return step;
    if (named.length < maxPerJob) {
      named.push(step);
      return step;
    }
    return OTHER_STEP;
  };
  const duration = new Map<string, Expected>();
  const pending = new Map<string, Expected>();
  const observe = (map: Map<string, Expected>, step: string, seconds: number) => {
    const entry = map.get(step) ?? { count: 0, sumMs: 0, buckets: bounds.map(() => 0) };
    entry.count += 1;
    entry.sumMs += Math.round(seconds * 1000);
    bounds.forEach((bound, i) => {
      if (seconds <= bound) entry.buckets[i] = (entry.buckets[i] ?? 0) + 1;
    });
    map.set(step, entry);
  };
  for (const build of job.finished) {
    for (const step of build.steps) {
      const name = label(step.step);
      observe(duration, name, step.durationSeconds);
      if (step.pendingSeconds !== undefined) observe(pending, name, step.pendingSeconds);
    }
  }
  return { duration, pending };
}

/** Differences between the exporter's step histograms of a job and the truth (empty = exact): count, sum (ms) and every bucket. */
export function compareSteps(samples: Sample[], job: GroundTruthJob, bounds: readonly number[] = DEFAULT_STEP_BUCKETS): string[] {
  const diffs: string[] = [];
  const want = expectedSteps(job, bounds);
  for (const [family, expected] of [
    ['codearts_build_step_duration_seconds', want.duration],
    ['codearts_build_step_pending_seconds', want.pending],
  ] as const) {
    const shown = new Set(select(samples, `${family}_count`, { job_id: job.id }).map((s) => s.labels.step ?? ''));
    for (const step of shown) if (!expected.has(step)) diffs.push(`${job.name} ${family}{step=${step}}: not in the truth`);
    for (const [step, entry] of expected) {
      const where = { job_id: job.id, step };
      const count = histogramCount(samples, family, where);
      if (count !== entry.count) diffs.push(`${job.name} ${family}_count{step=${step}}: got ${count}, want ${entry.count}`);
      const sum = histogramSumMs(samples, family, where);
      if (sum !== entry.sumMs) diffs.push(`${job.name} ${family}_sum{step=${step}}: got ${sum}, want ${entry.sumMs}`);
      bounds.forEach((bound, i) => {
        const got = select(samples, `${family}_bucket`, { ...where, le: String(bound) })[0]?.value;
        if (got !== entry.buckets[i])
          diffs.push(`${job.name} ${family}_bucket{step=${step},le=${bound}}: got ${got}, want ${entry.buckets[i]}`);
      });
    }
  }
  return diffs;
}

/** Step observations in the truth (durations), to show a test exercised something. */
export function stepObservations(jobs: readonly GroundTruthJob[]): number {
  return jobs.reduce((sum, job) => sum + job.finished.reduce((n, build) => n + build.steps.length, 0), 0);
}

/** Differences between the exporter's failure counters of a job and the truth (empty = exact): every step and error code. */
export function compareFailures(samples: Sample[], job: GroundTruthJob): string[] {
  const want = new Map<string, number>();
  for (const build of job.finished) {
    for (const cause of build.failureCauses) {
      const key = `${cause.step}\u0000${cause.errorCode}`;
      want.set(key, (want.get(key) ?? 0) + 1);
    }
  }
  const got = new Map(
    select(samples, 'codearts_build_failures_total', { job_id: job.id }).map((s) => [
      `${s.labels.step ?? ''}\u0000${s.labels.error_code ?? ''}`,
      s.value,
    ]),
  );
  const diffs: string[] = [];
  for (const key of new Set([...want.keys(), ...got.keys()])) {
    if (want.get(key) !== got.get(key))
      diffs.push(`${job.name} failures_total{${key.replace('\u0000', ', ')}}: got ${got.get(key)}, want ${want.get(key)}`);
  }
  return diffs;
}

/** Failure causes in the truth, to show a test exercised something. */
export function failureObservations(jobs: readonly GroundTruthJob[]): number {
  return jobs.reduce((sum, job) => sum + job.finished.reduce((n, build) => n + build.failureCauses.length, 0), 0);
}

/**
 * What the recovery families of a job must show, computed here independently of the exporter's
 * code: the job's finished builds in build-number order, up to the first build still in progress;
 * failure and timeout break the job, success restores it (the time from the first failure of the
 * streak, when not negative), aborted and unknown change nothing; a success is flaky when the
 * decisive build just before it failed on the same commit within `windowSeconds`.
 */
export function expectedHealth(job: GroundTruthJob, windowSeconds = 86_400) {
  const open = Math.min(...job.inProgress);
  let failingSince: number | undefined;
  let failures = 0;
  let previous: { failed: boolean; at: number; commit?: string } | undefined;
  const recoveries: number[] = [];
  let flaky = 0;
  for (const build of job.finished.filter((b) => b.buildNo < open)) {
    const failed = build.result === 'failure' || build.result === 'timeout';
    if (!failed && build.result !== 'success') continue;
    if (failed) {
      failures += 1;
      failingSince ??= build.finishedAt;
    } else {
      if (failingSince !== undefined && build.finishedAt >= failingSince) recoveries.push(build.finishedAt - failingSince);
      if (previous?.failed && previous.commit && previous.commit === build.commit && build.finishedAt - previous.at <= windowSeconds)
        flaky += 1;
      failures = 0;
      failingSince = undefined;
    }
    previous = { failed, at: build.finishedAt, ...(build.commit ? { commit: build.commit } : {}) };
  }
  return { recoveries, flaky, failures, failingSince: failingSince ?? 0 };
}

/** Differences between the exporter's recovery families of a job and expectedHealth (empty = exact). */
export function compareHealth(samples: Sample[], job: GroundTruthJob, bounds: readonly number[] = DEFAULT_RECOVERY_BUCKETS): string[] {
  const want = expectedHealth(job);
  const where = { job_id: job.id };
  const diffs: string[] = [];
  const check = (what: string, got: number | undefined, expected: number) => {
    if (got !== expected) diffs.push(`${job.name} ${what}: got ${got}, want ${expected}`);
  };
  check('recovery_count', histogramCount(samples, 'codearts_job_recovery_seconds', where), want.recoveries.length);
  check(
    'recovery_sum_ms',
    histogramSumMs(samples, 'codearts_job_recovery_seconds', where),
    want.recoveries.reduce((s, r) => s + Math.round(r * 1000), 0),
  );
  for (const bound of want.recoveries.length > 0 ? bounds : []) {
    const got = select(samples, 'codearts_job_recovery_seconds_bucket', { ...where, le: String(bound) })[0]?.value;
    check(`recovery_bucket{le=${bound}}`, got, want.recoveries.filter((r) => r <= bound).length);
  }
  check('flaky_total', select(samples, 'codearts_flaky_builds_total', where)[0]?.value, want.flaky);
  check('consecutive_failures', select(samples, 'codearts_job_consecutive_failures', where)[0]?.value, want.failures);
  check('failing_since', select(samples, 'codearts_job_failing_since_timestamp_seconds', where)[0]?.value, want.failingSince);
  return diffs;
}
