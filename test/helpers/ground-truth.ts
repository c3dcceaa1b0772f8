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
    if (!latest || build.finishedAt > latest.finishedAt || (build.finishedAt === latest.finishedAt && build.buildNo > latest.buildNo)) latest = build;
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
