import type { BuildResult } from './build.js';

/**
 * How long a broken job stays broken, and which builds are flaky (docs/metrics.md, "Recovery and
 * flaky builds"). Builds are folded in build-number order, each once, after every lower number has
 * been counted (or dropped): the same sequence whatever order they finished or were fetched in,
 * across restarts. `failure` and `timeout` break a job, `success` restores it; `aborted` and
 * `unknown` change nothing.
 */

/** `metrics.recovery.buckets` default (seconds): 5 minutes to a week. */
export const DEFAULT_RECOVERY_BUCKETS: readonly number[] = [300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800];
/** `metrics.recovery.flaky_window` default: a failure and the success of the same commit within a day. */
export const DEFAULT_FLAKY_WINDOW_SECONDS = 86_400;

/** A counted build waiting to be folded (a lower number is still pending). */
export interface HealthEntry {
  buildNo: number;
  result: BuildResult;
  /** Unix seconds. */
  finishedAt?: number;
  commit?: string;
}

export interface JobHealth {
  /** Finish time of the first failed build after the last success; absent while the job is not failing. */
  failingSince?: number;
  /** Failed builds since the last success. */
  failures: number;
  /** The last failed or successful build folded. */
  previous?: { failed: boolean; finishedAt?: number; commit?: string };
}

export interface HealthFold {
  health: JobHealth;
  /** Seconds from a failing streak's first failure to the success that ended it. */
  recoveries: number[];
  /** Successes of the commit whose build failed just before, within the flaky window. */
  flaky: number;
}

/** Folds builds (already in build-number order) into a job's health. */
export function foldHealth(health: JobHealth, entries: readonly HealthEntry[], flakyWindowSeconds: number): HealthFold {
  let current: JobHealth = { ...health };
  const recoveries: number[] = [];
  let flaky = 0;
  for (const entry of entries) {
    const failed = entry.result === 'failure' || entry.result === 'timeout';
    if (!failed && entry.result !== 'success') continue;
    const { previous } = current;
    if (failed) {
      current = { failures: current.failures + 1, failingSince: current.failingSince ?? entry.finishedAt ?? 0 };
    } else {
      if (current.failingSince !== undefined && entry.finishedAt !== undefined && entry.finishedAt >= current.failingSince)
        recoveries.push(entry.finishedAt - current.failingSince);
      if (isFlaky(previous, entry, flakyWindowSeconds)) flaky += 1;
      current = { failures: 0 };
    }
    current.previous = {
      failed,
      ...(entry.finishedAt !== undefined ? { finishedAt: entry.finishedAt } : {}),
      ...(entry.commit ? { commit: entry.commit } : {}),
    };
  }
  return { health: current, recoveries, flaky };
}

function isFlaky(previous: JobHealth['previous'], success: HealthEntry, windowSeconds: number): boolean {
  if (!previous?.failed || !previous.commit || previous.commit !== success.commit) return false;
  if (previous.finishedAt === undefined || success.finishedAt === undefined) return false;
  return success.finishedAt - previous.finishedAt <= windowSeconds;
}
