import { countDelta, emptyCounters, type CounterLayout, type JobCounters } from '../domain/counters.js';
import { emptyJobState, type JobRef } from '../domain/job.js';
import { BuildMetrics } from '../metrics/build-metrics.js';
import type { ExpositionFormat } from '../metrics/exposition.js';
import { BUILD_FAMILIES } from '../metrics/catalog.js';
import type { PastBuild } from './past-build.js';
import { lastSampleBefore, sampleIndexAtOrAfter, type SampleGrid } from './sample-grid.js';

/** The families `backfill` writes: those the builds' own records decide (not steps, failures, recovery or gauges). */
export const BACKFILL_FAMILIES = ['builds', 'triggers', 'duration', 'queue'] as const;
export type BackfillFamily = (typeof BACKFILL_FAMILIES)[number];

/** A value a series takes from sample `index` on. */
export interface ValueChange {
  index: number;
  value: number;
}

/** One series of a job, exactly as the live `/metrics` names it, and the values it took over the grid. */
export interface SeriesHistory {
  family: BackfillFamily;
  /** The sample name: `codearts_builds_total`, `codearts_build_duration_seconds_bucket`, ... */
  name: string;
  /** The label text inside the braces, as the live exposition writes it. */
  labels: string;
  /** Value changes in index order; the value is 0 before the first one. */
  changes: ValueChange[];
}

/** What a job's series did between `since` and the moment it started counting live. */
export interface JobTimeline {
  job: JobRef;
  series: SeriesHistory[];
  /** The job's last sample: the last of the grid before it started counting live. */
  lastIndex: number;
  /** Unix milliseconds the live counting began (the series reset to 0 just before). */
  liveFromMs: number;
}

export interface TimelineOptions {
  layout: CounterLayout;
  families: readonly BackfillFamily[];
  /**
   * The format the live exporter serves Prometheus (`openmetrics` unless `server.openmetrics` is
   * false): the bucket bounds are written as that format writes them (`le="60.0"` or `le="60"`),
   * which Prometheus 2 keeps as part of the series' identity.
   */
  format: ExpositionFormat;
}

const FAMILY_OF_NAME = new Map<string, BackfillFamily>(
  BACKFILL_FAMILIES.flatMap((family) => {
    const { name, type } = BUILD_FAMILIES[family];
    const names = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
    return names.map((sample) => [sample, family] as [string, BackfillFamily]);
  }),
);

/**
 * Plays a job's past builds through the live renderer (BuildMetrics, the same counters the store
 * keeps), so the backfilled series are the live ones: same names, labels, buckets and values. A
 * build shows from the first sample at or after its finish; one that finished after live counting
 * began (it was running then, below the start point) shows at the job's last sample.
 */
export function jobTimeline(
  job: JobRef,
  builds: readonly PastBuild[],
  grid: SampleGrid,
  liveFromMs: number,
  options: TimelineOptions,
): JobTimeline {
  const lastIndex = lastSampleBefore(grid, liveFromMs - 1000);
  const byIndex = new Map<number, PastBuild[]>();
  for (const build of builds) {
    const index = Math.min(sampleIndexAtOrAfter(grid, build.finishedAt * 1000), lastIndex);
    if (index < 1) continue;
    byIndex.set(index, [...(byIndex.get(index) ?? []), build]);
  }
  const metrics = new BuildMetrics({ ...options.layout, jobHistograms: true });
  metrics.setJob(job);
  const wanted = new Set(options.families);
  const series = new Map<string, SeriesHistory>();
  const observe = (index: number, counters: JobCounters): void => {
    metrics.show(job.id, { counters, state: emptyJobState() });
    for (const line of metrics
      .parts(options.format)
      .map((part) => part.text())
      .join('')
      .split('\n')) {
      const sample = parseSampleLine(line);
      const family = sample && FAMILY_OF_NAME.get(sample.name);
      if (!sample || !family || !wanted.has(family)) continue;
      const key = `${sample.name}{${sample.labels}}`;
      let history = series.get(key);
      if (!history) {
        history = { family, name: sample.name, labels: sample.labels, changes: [] };
        series.set(key, history);
      }
      const current = history.changes.at(-1)?.value ?? 0;
      if (sample.value !== current) history.changes.push({ index, value: sample.value });
    }
  };
  let counters = emptyCounters();
  observe(0, counters);
  for (const index of [...byIndex.keys()].sort((a, b) => a - b)) {
    const counted = (byIndex.get(index) ?? []).sort((a, b) => a.buildNo - b.buildNo).map((build) => build.counted);
    counters = countDelta(counters, { counted, queued: [] }, options.layout);
    observe(index, counters);
  }
  return { job, series: [...series.values()], lastIndex, liveFromMs };
}

/** `name{labels} value` of either exposition (an exemplar after ` # ` is dropped); undefined for comments and blank lines. */
function parseSampleLine(text: string): { name: string; labels: string; value: number } | undefined {
  if (text === '' || text.startsWith('#')) return undefined;
  const exemplar = text.indexOf('} # {');
  const line = exemplar < 0 ? text : text.slice(0, text.indexOf(' # ', exemplar));
  const open = line.indexOf('{');
  const close = line.lastIndexOf('} ');
  if (open < 0 || close < open) return undefined;
  return { name: line.slice(0, open), labels: line.slice(open + 1, close), value: Number(line.slice(close + 2)) };
}
