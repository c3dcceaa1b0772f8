import { BUILD_RESULTS, KNOWN_TRIGGER_TYPES } from '../domain/build.js';
import { type BuildSeries, type CounterLayout, type HistogramCounts, type JobCounters } from '../domain/counters.js';
import type { JobRef, JobState, LastBuild } from '../domain/job.js';
import { BUILD_FAMILIES, BUILD_FAMILY_ORDER, type BuildFamilyKey } from './catalog.js';
import { escapeLabelValue, familyHeader, formatValue, jobLabelText } from './exposition.js';
import { textPart, type ExpositionPart } from './exposition-part.js';

export interface BuildMetricsOptions extends CounterLayout {
  /** false: histograms carry no job labels (fleets of thousands of jobs). */
  jobHistograms: boolean;
}

/** What a job's series are rendered from: what the store holds for it. */
export interface JobView {
  counters: JobCounters;
  state: JobState;
}

/** The gauges of a job. */
interface JobGauges {
  inProgress: number;
  lastNumber: number;
  last?: LastBuild | undefined;
  lastSuccessAt?: number | undefined;
}

/** Family positions in a job's chunk cache (the exposition order of the catalog). */
const F = Object.fromEntries(BUILD_FAMILY_ORDER.map((key, index) => [key, index])) as Record<BuildFamilyKey, number>;
const FAMILY_COUNT = BUILD_FAMILY_ORDER.length;
/**
 * Jobs per exposition part (and so per gzip piece) of each family: about 16-64 KB of text for the
 * realistic mix, enough for deflate to find the repetition between jobs (the body compresses to
 * about 6% in such pieces, 5% in one piece) and few enough jobs that a cycle in which a few jobs
 * changed compresses a small share of the body again. A gauge line is ~110 bytes, a job's
 * counters ~600 bytes, its histograms 1.5-4 KB.
 */
const SEGMENT_JOBS: readonly number[] = BUILD_FAMILY_ORDER.map((key) => {
  const type = BUILD_FAMILIES[key].type;
  return type === 'histogram' ? 16 : type === 'counter' ? 64 : 256;
});

/** How one histogram layout is written: the `,le="30"} ` texts, computed once. */
class BucketLayout {
  readonly suffixes: string[];

  constructor(
    readonly bounds: readonly number[],
    labelled: boolean,
  ) {
    const comma = labelled ? ',' : '';
    this.suffixes = [...bounds.map((bound) => `${comma}le="${formatValue(bound)}"} `), `${comma}le="+Inf"} `];
  }

  render(name: string, labels: string, histogram: HistogramCounts): string {
    const lines: string[] = [];
    const open = `${name}_bucket{${labels}`;
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += histogram.buckets[i] ?? 0;
      lines.push(`${open}${this.suffixes[i] ?? ''}${cumulative}`);
    }
    lines.push(`${open}${this.suffixes[this.bounds.length] ?? ''}${histogram.count}`);
    const braces = labels ? `{${labels}}` : '';
    lines.push(`${name}_sum${braces} ${formatValue(histogram.sumMs / 1000)}`, `${name}_count${braces} ${histogram.count}`, '');
    return lines.join('\n');
  }
}

/** A histogram summed over jobs (`job_histograms: false`), changed by the difference of a job's old and new counts. */
class FleetHistogram {
  private readonly buckets: number[] = [];
  private sumMs = 0;
  private count = 0;

  add(histogram: HistogramCounts, sign: 1 | -1): void {
    histogram.buckets.forEach((value, i) => {
      this.buckets[i] = (this.buckets[i] ?? 0) + sign * value;
    });
    this.sumMs += sign * histogram.sumMs;
    this.count += sign * histogram.count;
  }

  counts(): HistogramCounts {
    return { buckets: this.buckets, sumMs: this.sumMs, count: this.count };
  }
}

class JobSeries {
  /** Place in the exposition order. */
  position = 0;
  counters: JobCounters = { series: [], triggers: {} };
  gauges: JobGauges = { inProgress: 0, lastNumber: 0 };
  /** Rendered text per family; undefined until rendered or after a change of that family. */
  private readonly chunks: Array<string | undefined> = new Array<string | undefined>(FAMILY_COUNT);

  constructor(
    readonly labels: string,
    private readonly owner: BuildMetrics,
  ) {}

  invalidate(families: readonly number[]): void {
    for (const family of families) this.chunks[family] = undefined;
  }

  chunk(family: number): string {
    let text = this.chunks[family];
    if (text === undefined) {
      text = family <= F.queue ? this.owner.renderCounters(this, family) : this.renderGauge(family);
      this.chunks[family] = text;
    }
    return text;
  }

  private renderGauge(family: number): string {
    const f = BUILD_FAMILIES;
    const { inProgress, lastNumber, last, lastSuccessAt } = this.gauges;
    const gauge = (name: string, value: number | undefined, extra = '') =>
      value === undefined ? '' : `${name}{${this.labels}${extra}} ${formatValue(value)}\n`;
    switch (family) {
      case F.inProgress:
        return gauge(f.inProgress.name, inProgress);
      case F.lastStatus:
        return last ? gauge(f.lastStatus.name, 1, `,result="${last.result}"`) : '';
      case F.lastDuration:
        return gauge(f.lastDuration.name, last?.durationSeconds);
      case F.lastNumber:
        return gauge(f.lastNumber.name, lastNumber);
      case F.lastFinished:
        return gauge(f.lastFinished.name, last?.finishedAt);
      case F.lastSuccess:
        return gauge(f.lastSuccess.name, lastSuccessAt);
      default:
        return '';
    }
  }
}

function gaugesOf(state: JobState): JobGauges {
  return { inProgress: state.pending.length, lastNumber: state.cursor, last: state.last, lastSuccessAt: state.lastSuccessAt };
}

/** Which gauge families differ between two sets of gauges. */
function changedGauges(before: JobGauges, after: JobGauges): number[] {
  const changed: number[] = [];
  if (before.inProgress !== after.inProgress) changed.push(F.inProgress);
  if (before.lastNumber !== after.lastNumber) changed.push(F.lastNumber);
  if (before.lastSuccessAt !== after.lastSuccessAt) changed.push(F.lastSuccess);
  const a = before.last;
  const b = after.last;
  if (a?.result !== b?.result || (a === undefined) !== (b === undefined)) changed.push(F.lastStatus);
  if (a?.durationSeconds !== b?.durationSeconds) changed.push(F.lastDuration);
  if (a?.finishedAt !== b?.finishedAt) changed.push(F.lastFinished);
  return changed;
}

/** Which counter families differ between two counters (by identity: the store replaces what a commit changes). */
function changedCounters(before: JobCounters, after: JobCounters): number[] {
  const changed: number[] = [];
  if (before.series !== after.series) changed.push(F.builds, F.duration);
  if (before.triggers !== after.triggers) changed.push(F.triggers);
  if (before.queue !== after.queue) changed.push(F.queue);
  return changed;
}

/**
 * The build families of `/metrics`, rendered by hand from what the store holds for each job (its
 * counters and its state's gauges). Each job's text is cached per family and re-rendered only
 * after that family of that job changed, so a scrape of thousands of mostly idle jobs is mostly
 * string joins. The body is offered as parts (`parts()`): per family a header, one part per
 * segment of jobs (SEGMENT_JOBS) and the fleet-wide histograms; a part object is replaced when a
 * job of its segment changes that family, so the gzip pieces of unchanged parts are reused.
 */
export class BuildMetrics {
  private readonly jobs = new Map<string, JobSeries>();
  /** The jobs in exposition order (the order they were added). */
  private readonly order: JobSeries[] = [];
  /** segmentParts[family][segment]; undefined after a change, created again by parts(). */
  private segmentParts: Array<Array<ExpositionPart | undefined>> = emptyRows();
  private readonly fleetParts: Array<ExpositionPart | undefined> = new Array<ExpositionPart | undefined>(FAMILY_COUNT);
  /** Counters of removed jobs, still inside the fleet-wide histograms: a job that comes back continues from them. */
  private readonly retired = new Map<string, JobCounters>();
  private readonly fleetDurations = new Map<string, { labels: string; histogram: FleetHistogram }>();
  private readonly fleetQueue = new FleetHistogram();
  private readonly duration: BucketLayout;
  private readonly queue: BucketLayout;
  private readonly fleetQueueLayout: BucketLayout;
  private readonly headers: ExpositionPart[];
  private changes = 0;

  constructor(private readonly options: BuildMetricsOptions) {
    this.duration = new BucketLayout(options.durationBuckets, true);
    this.queue = new BucketLayout(options.queueBuckets, true);
    // Fleet-wide duration histograms keep the result label; only the fleet queue histogram has none.
    this.fleetQueueLayout = new BucketLayout(options.queueBuckets, false);
    this.headers = BUILD_FAMILY_ORDER.map((key) => {
      const family = BUILD_FAMILIES[key];
      return textPart(familyHeader(family.name, family.type, family.help));
    });
  }

  /** Grows with every change of a value, a job or a label; equal versions mean equal text. */
  get version(): number {
    return this.changes;
  }

  /** Adds a job (or renames it or moves it to its project, keeping what it shows) with every result and trigger series at zero. */
  setJob(job: JobRef): void {
    const jobId = job.id;
    const labels = jobLabelText(job);
    const existing = this.jobs.get(jobId);
    if (existing?.labels === labels) return;
    const series = new JobSeries(labels, this);
    if (existing) {
      series.gauges = existing.gauges;
      series.position = existing.position;
      this.order[series.position] = series;
    } else {
      series.position = this.order.length;
      this.order.push(series);
    }
    series.counters = existing?.counters ?? this.retired.get(jobId) ?? series.counters;
    this.retired.delete(jobId);
    // Map.set keeps an existing key's place, like the order array.
    this.jobs.set(jobId, series);
    this.changed(series, ALL_FAMILIES);
  }

  /** The job's series leave `/metrics`; what it added to fleet-wide histograms stays there. */
  removeJob(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.jobs.delete(jobId);
    if (!this.options.jobHistograms) this.retired.set(jobId, job.counters);
    this.order.splice(job.position, 1);
    for (let i = job.position; i < this.order.length; i++) (this.order[i] as JobSeries).position = i;
    // Every later job moved to another segment: rare enough (discovery) to start over.
    this.segmentParts = emptyRows();
    this.changes += 1;
  }

  /** Shows what the store holds for a job: only the families that changed are rendered again. */
  show(jobId: string, view: JobView): void {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`job ${jobId} has no metrics; setJob() first`);
    const gauges = gaugesOf(view.state);
    const changed = [...changedCounters(job.counters, view.counters), ...changedGauges(job.gauges, gauges)];
    if (!this.options.jobHistograms) this.moveFleet(job.counters, view.counters);
    job.counters = view.counters;
    job.gauges = gauges;
    if (changed.length > 0) this.changed(job, changed);
  }

  /**
   * The body in order: per family its header, one part per segment of jobs, the fleet-wide
   * histograms. Parts of unchanged segments are the same objects as last time.
   */
  parts(): ExpositionPart[] {
    const parts: ExpositionPart[] = [];
    for (let family = 0; family < FAMILY_COUNT; family++) {
      parts.push(this.headers[family] as ExpositionPart);
      const segments = Math.ceil(this.order.length / (SEGMENT_JOBS[family] as number));
      const row = this.segmentParts[family] as Array<ExpositionPart | undefined>;
      for (let segment = 0; segment < segments; segment++) {
        let part = row[segment];
        if (!part) {
          part = this.segmentPart(family, segment);
          row[segment] = part;
        }
        parts.push(part);
      }
      const fleet = this.fleetPart(family);
      if (fleet) parts.push(fleet);
    }
    return parts;
  }

  /** A job's text for one of the counter families (builds, triggers, duration, queue). */
  renderCounters(job: JobSeries, family: number): string {
    const f = BUILD_FAMILIES;
    const { series, triggers, queue } = job.counters;
    switch (family) {
      case F.builds:
        return this.buildSeries(series)
          .map((entry) => `${f.builds.name}{${job.labels},${this.seriesLabels(entry)}} ${entry.builds}\n`)
          .join('');
      case F.triggers:
        return triggerOrder(triggers)
          .map((trigger) => `${f.triggers.name}{${job.labels},trigger_type="${escapeLabelValue(trigger)}"} ${triggers[trigger] ?? 0}\n`)
          .join('');
      case F.duration:
        if (!this.options.jobHistograms) return '';
        return series
          .map((entry) =>
            entry.duration ? this.duration.render(f.duration.name, `${job.labels},${this.seriesLabels(entry)}`, entry.duration) : '',
          )
          .join('');
      default:
        return this.options.jobHistograms && queue ? this.queue.render(f.queue.name, job.labels, queue) : '';
    }
  }

  /** Without record labels every result is shown (at zero until counted); with them, the series counted so far. */
  private buildSeries(series: readonly BuildSeries[]): BuildSeries[] {
    if (this.options.recordLabels.length > 0) return [...series];
    return BUILD_RESULTS.map((result) => series.find((entry) => entry.result === result) ?? { result, labels: [], builds: 0 });
  }

  /** `result="success",branch="main"`: the series' own labels. */
  private seriesLabels(entry: BuildSeries): string {
    let text = `result="${entry.result}"`;
    this.options.recordLabels.forEach((name, i) => (text += `,${name}="${escapeLabelValue(entry.labels[i] ?? '')}"`));
    return text;
  }

  private segmentPart(family: number, segment: number): ExpositionPart {
    const size = SEGMENT_JOBS[family] as number;
    return {
      text: () => {
        const end = Math.min(this.order.length, (segment + 1) * size);
        let text = '';
        for (let i = segment * size; i < end; i++) text += (this.order[i] as JobSeries).chunk(family);
        return text;
      },
    };
  }

  /** Fleet-wide histograms (`job_histograms: false`); undefined when the family has none. */
  private fleetPart(family: number): ExpositionPart | undefined {
    if (this.options.jobHistograms) return undefined;
    if (family === F.duration && this.fleetDurations.size > 0) {
      this.fleetParts[family] ??= textPart(
        [...this.fleetDurations.values()]
          .map(({ labels, histogram }) => this.duration.render(BUILD_FAMILIES.duration.name, labels, histogram.counts()))
          .join(''),
      );
    } else if (family === F.queue && this.fleetQueue.counts().count > 0) {
      this.fleetParts[family] ??= textPart(this.fleetQueueLayout.render(BUILD_FAMILIES.queue.name, '', this.fleetQueue.counts()));
    }
    return this.fleetParts[family];
  }

  /** A job's counters moved from `before` to `after`: the fleet-wide histograms follow. */
  private moveFleet(before: JobCounters, after: JobCounters): void {
    if (before.series !== after.series) {
      for (const entry of before.series) if (entry.duration) this.fleetDuration(entry).add(entry.duration, -1);
      for (const entry of after.series) if (entry.duration) this.fleetDuration(entry).add(entry.duration, 1);
      this.fleetChanged(F.duration);
    }
    if (before.queue !== after.queue) {
      if (before.queue) this.fleetQueue.add(before.queue, -1);
      if (after.queue) this.fleetQueue.add(after.queue, 1);
      this.fleetChanged(F.queue);
    }
  }

  private fleetDuration(entry: BuildSeries): FleetHistogram {
    const labels = this.seriesLabels(entry);
    let fleet = this.fleetDurations.get(labels);
    if (!fleet) {
      fleet = { labels, histogram: new FleetHistogram() };
      this.fleetDurations.set(labels, fleet);
    }
    return fleet.histogram;
  }

  private changed(job: JobSeries, families: readonly number[]): void {
    job.invalidate(families);
    for (const family of families) {
      const segment = Math.floor(job.position / (SEGMENT_JOBS[family] as number));
      (this.segmentParts[family] as Array<ExpositionPart | undefined>)[segment] = undefined;
    }
    this.changes += 1;
  }

  private fleetChanged(family: number): void {
    this.fleetParts[family] = undefined;
    this.changes += 1;
  }
}

const ALL_FAMILIES: readonly number[] = BUILD_FAMILY_ORDER.map((_, index) => index);

function emptyRows(): Array<Array<ExpositionPart | undefined>> {
  return Array.from({ length: FAMILY_COUNT }, () => []);
}

/** The known trigger types first (always shown), then the others in the order they were first counted. */
function triggerOrder(triggers: Readonly<Record<string, number>>): string[] {
  const known: readonly string[] = KNOWN_TRIGGER_TYPES;
  return [...known, ...Object.keys(triggers).filter((trigger) => !known.includes(trigger))];
}
