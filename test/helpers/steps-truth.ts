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
