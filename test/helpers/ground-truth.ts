import type { GroundTruthBuild, GroundTruthJob } from '../../src/simulator/index.js';
import type { Sample } from './exposition.js';
import { select, valueOf } from './exposition.js';

export const RESULTS = ['success', 'failure', 'aborted', 'timeout', 'unknown'] as const;
export const TRIGGERS = ['manual', 'timed_execution', 'codehub_trigger', 'pipeline_trigger'] as const;

export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** The build that finished last (ties: the higher number), as the exporter defines "latest". */
export function latestFinished(builds: readonly GroundTruthBuild[]): GroundTruthBuild | undefined {
  let latest: GroundTruthBuild | undefined;
  for (const build of builds) {
    if (!latest || build.finishedAt > latest.finishedAt || (build.finishedAt === latest.finishedAt && build.buildNo > latest.buildNo))
      latest = build;
  }
  return latest;
}

/** Differences between the exporter's counters and the simulator's finished builds (empty = exact). */
export function compareCounters(samples: Sample[], job: GroundTruthJob, finished: readonly GroundTruthBuild[] = job.finished): string[] {
  const diffs: string[] = [];
  const where = { job_id: job.id };
  const byResult = countBy(finished, (b) => b.result);
  for (const result of RESULTS) {
    const got = valueOf(samples, 'codearts_builds_total', { ...where, result });
    const want = byResult.get(result) ?? 0;
    if (got !== want) diffs.push(`${job.name} builds_total{result=${result}}: got ${got}, want ${want}`);
  }
  const byTrigger = countBy(finished, (b) => b.triggerType);
  for (const trigger of new Set([...TRIGGERS, ...byTrigger.keys()])) {
    const got = valueOf(samples, 'codearts_build_triggers_total', { ...where, trigger_type: trigger });
    const want = byTrigger.get(trigger) ?? 0;
    if (got !== want) diffs.push(`${job.name} triggers_total{trigger_type=${trigger}}: got ${got}, want ${want}`);
  }
  return diffs;
}

export function histogramCount(samples: Sample[], name: string, where: Record<string, string>): number {
  return select(samples, `${name}_count`, where).reduce((sum, s) => sum + s.value, 0);
}

export function histogramSumMs(samples: Sample[], name: string, where: Record<string, string>): number {
  return Math.round(select(samples, `${name}_sum`, where).reduce((sum, s) => sum + s.value, 0) * 1000);
}

/**
 * Differences between the exporter's histograms and the simulator's builds (empty = exact): per
 * result the duration count and sum (to the millisecond), and the queue count: every finished
 * build once, plus every build still running (its queue time is known once it started). The queue
 * sum is compared when no build is running (a running build's queue time is only in its record).
 */
export function compareHistograms(samples: Sample[], job: GroundTruthJob): string[] {
  const diffs: string[] = [];
  for (const result of RESULTS) {
    const builds = job.finished.filter((b) => b.result === result && !b.neverStarted);
    const where = { job_id: job.id, result };
    const count = histogramCount(samples, 'codearts_build_duration_seconds', where);
    if (count !== builds.length) diffs.push(`${job.name} duration_count{result=${result}}: got ${count}, want ${builds.length}`);
    const sum = histogramSumMs(samples, 'codearts_build_duration_seconds', where);
    const want = builds.reduce((total, b) => total + b.durationMs, 0);
    if (sum !== want) diffs.push(`${job.name} duration_sum{result=${result}}: got ${sum} ms, want ${want} ms`);
  }
  const running = job.inProgress.filter((n) => !job.queued.includes(n));
  const queued = histogramCount(samples, 'codearts_build_queue_duration_seconds', { job_id: job.id });
  if (queued !== job.finished.length + running.length)
    diffs.push(`${job.name} queue_count: got ${queued}, want ${job.finished.length + running.length}`);
  if (running.length === 0) {
    const sum = histogramSumMs(samples, 'codearts_build_queue_duration_seconds', { job_id: job.id });
    const want = job.finished.reduce((total, b) => total + Math.round(b.queueSeconds * 1000), 0);
    if (sum !== want) diffs.push(`${job.name} queue_sum: got ${sum} ms, want ${want} ms`);
  }
  return diffs;
}

/** Counters and histograms of every job against the ground truth (empty = exact). */
export function compareAll(samples: Sample[], jobs: readonly GroundTruthJob[]): string[] {
  return jobs.flatMap((job) => [...compareCounters(samples, job), ...compareHistograms(samples, job)]);
}
