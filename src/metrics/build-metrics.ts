import { BUILD_RESULTS, KNOWN_TRIGGER_TYPES } from '../domain/build.js';
import type { ConsoleLink } from '../domain/console-link.js';
import {
  type BuildSeries,
  type CountedBuild,
  type CounterLayout,
  type HistogramCounts,
  type JobCounters,
  type QueueObservation,
} from '../domain/counters.js';
import type { JobRef, JobState, LastBuild } from '../domain/job.js';
import { DEFAULT_RECOVERY_BUCKETS } from '../domain/health.js';
import { DEFAULT_STEP_BUCKETS, type StepSeries } from '../domain/steps.js';
import { BUILD_FAMILIES, BUILD_FAMILY_ORDER, type BuildFamilyKey } from './catalog.js';
import { escapeLabelValue, familyHeader, formatValue, jobLabelText, type ExpositionFormat } from './exposition.js';
import { textPart, type ExpositionPart } from './exposition-part.js';
import { BucketExemplars, canonicalNumber, exemplarLabels, exemplarSuffix, openMetricsHeader, type Exemplar } from './openmetrics.js';

export interface BuildMetricsOptions extends CounterLayout {
  /** false: histograms carry no job labels (fleets of thousands of jobs). */
  jobHistograms: boolean;
  /** metrics.recovery on: every job shows its failing-streak gauges and flaky counter (at zero until set). */
  recovery?: boolean;
  /** codearts.console_url: a job's link (`codearts_job_console_link_info`); without it the family is not shown at all. */
  consoleLink?: ((job: JobRef) => ConsoleLink | undefined) | undefined;
}

/** What a commit observed, for the exemplars of the duration and queue histograms (OpenMetrics only). */
export interface CommitObservations {
  counted: readonly CountedBuild[];
  queued?: readonly QueueObservation[] | undefined;
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
  failingSince?: number | undefined;
  consecutiveFailures?: number | undefined;
}

/** Family positions in a job's chunk cache (the exposition order of the catalog). */
const F = Object.fromEntries(BUILD_FAMILY_ORDER.map((key, index) => [key, index])) as Record<BuildFamilyKey, number>;
const FAMILY_COUNT = BUILD_FAMILY_ORDER.length;
/** Families whose OpenMetrics text differs from the text format beyond the header (canonical `le`, exemplars). */
const HISTOGRAM_FAMILIES: ReadonlySet<number> = new Set(
  BUILD_FAMILY_ORDER.flatMap((key, index) => (BUILD_FAMILIES[key].type === 'histogram' ? [index] : [])),
);
/** The rows of segment parts a format reads for a family: OpenMetrics shares the text format's parts of every non-histogram family. */
const rowFormat = (format: ExpositionFormat, family: number): ExpositionFormat =>
  format === 'openmetrics' && HISTOGRAM_FAMILIES.has(family) ? 'openmetrics' : 'text';
/** Families rendered from the counters (the others are gauges of the job's state). */
const COUNTER_FAMILIES: ReadonlySet<number> = new Set([
  F.builds,
  F.triggers,
  F.duration,
  F.queue,
  F.stepDuration,
  F.stepPending,
  F.failures,
  F.recovery,
  F.flaky,
]);
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
  /** The same in OpenMetrics: `le` as a canonical number (`60.0`). */
  private readonly canonicalSuffixes: string[];

  constructor(
    readonly bounds: readonly number[],
    labelled: boolean,
  ) {
    const comma = labelled ? ',' : '';
    this.suffixes = [...bounds.map((bound) => `${comma}le="${formatValue(bound)}"} `), `${comma}le="+Inf"} `];
    this.canonicalSuffixes = [...bounds.map((bound) => `${comma}le="${canonicalNumber(bound)}"} `), `${comma}le="+Inf"} `];
  }

  /** The histogram in either format; in OpenMetrics each bucket with an exemplar carries it. */
  renderAs(format: ExpositionFormat, name: string, labels: string, histogram: HistogramCounts, exemplars?: BucketExemplars): string {
    return format === 'text' ? this.render(name, labels, histogram) : this.renderOpenMetrics(name, labels, histogram, exemplars);
  }

  private renderOpenMetrics(name: string, labels: string, histogram: HistogramCounts, exemplars: BucketExemplars | undefined): string {
    const lines: string[] = [];
    const open = `${name}_bucket{${labels}`;
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative = i < this.bounds.length ? cumulative + (histogram.buckets[i] ?? 0) : histogram.count;
      lines.push(`${open}${this.canonicalSuffixes[i] ?? ''}${cumulative}${exemplarSuffix(exemplars?.at(i))}`);
    }
    const braces = labels ? `{${labels}}` : '';
    lines.push(`${name}_sum${braces} ${formatValue(histogram.sumMs / 1000)}`, `${name}_count${braces} ${histogram.count}`, '');
    return lines.join('\n');
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
  /** `,url_prefix="…",url_suffix="…"` of `codearts_job_console_link_info`; undefined: no link. */
  link: string | undefined;
  /** Exemplars of the duration histograms, by the series' own labels (`result="success"`); of the queue histogram. */
  readonly durationExemplars = new Map<string, BucketExemplars>();
  queueExemplars: BucketExemplars | undefined;
  /** Rendered text per family; undefined until rendered or after a change of that family. */
  private readonly chunks: Array<string | undefined> = new Array<string | undefined>(FAMILY_COUNT);
  /** The OpenMetrics text of the histogram families (the others are the same as `chunks`). */
  private readonly canonicalChunks: Array<string | undefined> = new Array<string | undefined>(FAMILY_COUNT);

  constructor(
    readonly labels: string,
    private readonly owner: BuildMetrics,
  ) {}

  invalidate(families: readonly number[], formats: readonly ExpositionFormat[] = ['text', 'openmetrics']): void {
    for (const family of families) {
      if (formats.includes('text')) this.chunks[family] = undefined;
      if (formats.includes('openmetrics')) this.canonicalChunks[family] = undefined;
    }
  }

  chunk(family: number, format: ExpositionFormat = 'text'): string {
    const cache = rowFormat(format, family) === 'openmetrics' ? this.canonicalChunks : this.chunks;
    let text = cache[family];
    if (text === undefined) {
      text = COUNTER_FAMILIES.has(family) ? this.owner.renderCounters(this, family, format) : this.renderGauge(family);
      cache[family] = text;
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
      case F.failingSince:
        return gauge(f.failingSince.name, this.gauges.failingSince);
      case F.consecutiveFailures:
        return gauge(f.consecutiveFailures.name, this.gauges.consecutiveFailures);
      case F.consoleLink:
        return this.link === undefined ? '' : gauge(f.consoleLink.name, 1, this.link);
      default:
        return '';
    }
  }
}

function gaugesOf(state: JobState, recovery: boolean): JobGauges {
  const gauges: JobGauges = {
    inProgress: state.pending.length,
    lastNumber: state.cursor,
    last: state.last,
    lastSuccessAt: state.lastSuccessAt,
  };
  if (!recovery) return gauges;
  return { ...gauges, failingSince: state.health?.failingSince ?? 0, consecutiveFailures: state.health?.failures ?? 0 };
}

/** Which gauge families differ between two sets of gauges. */
function changedGauges(before: JobGauges, after: JobGauges): number[] {
  const changed: number[] = [];
  if (before.inProgress !== after.inProgress) changed.push(F.inProgress);
  if (before.lastNumber !== after.lastNumber) changed.push(F.lastNumber);
  if (before.lastSuccessAt !== after.lastSuccessAt) changed.push(F.lastSuccess);
  if (before.failingSince !== after.failingSince) changed.push(F.failingSince);
  if (before.consecutiveFailures !== after.consecutiveFailures) changed.push(F.consecutiveFailures);
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
  if (before.steps !== after.steps) changed.push(F.stepDuration, F.stepPending);
  if (before.failures !== after.failures) changed.push(F.failures);
  if (before.recovery !== after.recovery) changed.push(F.recovery);
  if (before.flaky !== after.flaky) changed.push(F.flaky);
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
  /** segmentParts[format][family][segment]; undefined after a change, created again by parts(). OpenMetrics rows: histogram families only (rowFormat). */
  private segmentParts: Record<ExpositionFormat, Array<Array<ExpositionPart | undefined>>> = {
    text: emptyRows(),
    openmetrics: emptyRows(),
  };
  private readonly fleetParts: Record<ExpositionFormat, Array<ExpositionPart | undefined>> = { text: [], openmetrics: [] };
  /** Counters of removed jobs, still inside the fleet-wide histograms: a job that comes back continues from them. */
  private readonly retired = new Map<string, JobCounters>();
  private readonly fleetDurations = new Map<string, { labels: string; histogram: FleetHistogram }>();
  private readonly fleetQueue = new FleetHistogram();
  /** Exemplars of the fleet-wide histograms (`job_histograms: false`): duration by the series' labels, queue. */
  private readonly fleetDurationExemplars = new Map<string, BucketExemplars>();
  private readonly fleetQueueExemplars: BucketExemplars;
  private readonly duration: BucketLayout;
  private readonly queue: BucketLayout;
  private readonly fleetQueueLayout: BucketLayout;
  private readonly steps: BucketLayout;
  private readonly recoveryLayout: BucketLayout;
  private readonly headers: Record<ExpositionFormat, ExpositionPart[]>;
  private changes = 0;

  constructor(private readonly options: BuildMetricsOptions) {
    this.duration = new BucketLayout(options.durationBuckets, true);
    this.queue = new BucketLayout(options.queueBuckets, true);
    // Fleet-wide duration histograms keep the result label; only the fleet queue histogram has none.
    this.fleetQueueLayout = new BucketLayout(options.queueBuckets, false);
    this.steps = new BucketLayout(options.stepBuckets ?? DEFAULT_STEP_BUCKETS, true);
    this.recoveryLayout = new BucketLayout(options.recoveryBuckets ?? DEFAULT_RECOVERY_BUCKETS, true);
    this.fleetQueueExemplars = new BucketExemplars(options.queueBuckets);
    this.headers = {
      text: BUILD_FAMILY_ORDER.map((key) =>
        textPart(familyHeader(BUILD_FAMILIES[key].name, BUILD_FAMILIES[key].type, BUILD_FAMILIES[key].help)),
      ),
      openmetrics: BUILD_FAMILY_ORDER.map((key) => {
        const { name, type, help } = BUILD_FAMILIES[key];
        return textPart(openMetricsHeader(name, key === 'consoleLink' ? 'info' : type, help));
      }),
    };
  }

  /** Grows with every change of a value, a job, a label or an exemplar; equal versions mean equal text. */
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
    series.link = this.linkLabels(job);
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
    this.segmentParts = { text: emptyRows(), openmetrics: emptyRows() };
    this.changes += 1;
  }

  /** Shows what the store holds for a job: only the families that changed are rendered again. */
  show(jobId: string, view: JobView): void {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`job ${jobId} has no metrics; setJob() first`);
    const gauges = gaugesOf(view.state, this.options.recovery ?? false);
    const changed = [...changedCounters(job.counters, view.counters), ...changedGauges(job.gauges, gauges)];
    if (!this.options.jobHistograms) this.moveFleet(job.counters, view.counters);
    job.counters = view.counters;
    job.gauges = gauges;
    if (changed.length > 0) this.changed(job, changed);
  }

  /**
   * The exemplars of what a commit of this job observed (after show() of that commit): each build's
   * duration and queue time in the bucket it fell in, labelled with its build number and record id,
   * stamped with its finish time (duration) or the end of its wait (queue). Kept in memory only;
   * shown in OpenMetrics only. An observation without a time gives no exemplar.
   */
  observe(jobId: string, observations: CommitObservations): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    const fleet = !this.options.jobHistograms;
    const labelsOf = (buildNo: number, recordId: string | undefined) =>
      exemplarLabels([
        ['build_no', String(buildNo)],
        ['job_id', fleet ? jobId : undefined],
        ['build_record_id', recordId],
      ]);
    let duration = false;
    let queue = false;
    for (const build of observations.counted) {
      const labels = labelsOf(build.buildNo, build.recordId);
      if (!labels) continue;
      if (build.durationSeconds !== undefined && build.finishedAt !== undefined) {
        const key = this.seriesLabels({ result: build.result, labels: this.options.recordLabels.map((name) => build.labels[name]) });
        const exemplar = { labels, value: build.durationSeconds, timestamp: build.finishedAt };
        duration = this.durationExemplars(fleet ? this.fleetDurationExemplars : job.durationExemplars, key).offer(exemplar) || duration;
      }
      const waitEnded = build.startedAt ?? build.finishedAt;
      if (build.queueSeconds !== undefined && waitEnded !== undefined)
        queue = this.offerQueue(job, fleet, { labels, value: build.queueSeconds, timestamp: waitEnded }) || queue;
    }
    for (const observed of observations.queued ?? []) {
      const labels = labelsOf(observed.buildNo, observed.recordId);
      if (labels && observed.at !== undefined)
        queue = this.offerQueue(job, fleet, { labels, value: observed.seconds, timestamp: observed.at }) || queue;
    }
    const families = [...(duration ? [F.duration] : []), ...(queue ? [F.queue] : [])];
    if (families.length === 0) return;
    if (fleet) for (const family of families) this.fleetChanged(family, ['openmetrics']);
    else this.changed(job, families, ['openmetrics']);
  }

  /**
   * The body in order: per family its header, one part per segment of jobs, the fleet-wide
   * histograms. Parts of unchanged segments are the same objects as last time; OpenMetrics shares
   * the text format's parts of every family but the histograms.
   */
  parts(format: ExpositionFormat = 'text'): ExpositionPart[] {
    const parts: ExpositionPart[] = [];
    for (let family = 0; family < FAMILY_COUNT; family++) {
      if (family === F.consoleLink && !this.options.consoleLink) continue;
      parts.push(this.headers[format][family] as ExpositionPart);
      const segments = Math.ceil(this.order.length / (SEGMENT_JOBS[family] as number));
      const rowIn = rowFormat(format, family);
      const row = this.segmentParts[rowIn][family] as Array<ExpositionPart | undefined>;
      for (let segment = 0; segment < segments; segment++) {
        let part = row[segment];
        if (!part) {
          part = this.segmentPart(family, segment, rowIn);
          row[segment] = part;
        }
        parts.push(part);
      }
      const fleet = this.fleetPart(family, format);
      if (fleet) parts.push(fleet);
    }
    return parts;
  }

  /** A job's text for one of the counter families (builds, triggers, histograms, steps, failures, recovery). */
  renderCounters(job: JobSeries, family: number, format: ExpositionFormat = 'text'): string {
    const f = BUILD_FAMILIES;
    const { series, triggers, queue, steps, failures, recovery, flaky } = job.counters;
    switch (family) {
      case F.recovery:
        return recovery ? this.recoveryLayout.renderAs(format, f.recovery.name, job.labels, recovery) : '';
      case F.flaky:
        return this.options.recovery ? `${f.flaky.name}{${job.labels}} ${flaky ?? 0}\n` : '';
      case F.failures:
        return (failures ?? [])
          .map(
            (entry) =>
              `${f.failures.name}{${job.labels},step="${escapeLabelValue(entry.step)}",error_code="${escapeLabelValue(entry.errorCode)}"} ${entry.count}\n`,
          )
          .join('');
      case F.stepDuration:
        return this.renderSteps(format, f.stepDuration.name, job.labels, steps, 'duration');
      case F.stepPending:
        return this.renderSteps(format, f.stepPending.name, job.labels, steps, 'pending');
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
          .map((entry) => {
            if (!entry.duration) return '';
            const own = this.seriesLabels(entry);
            return this.duration.renderAs(format, f.duration.name, `${job.labels},${own}`, entry.duration, job.durationExemplars.get(own));
          })
          .join('');
      default:
        return this.options.jobHistograms && queue ? this.queue.renderAs(format, f.queue.name, job.labels, queue, job.queueExemplars) : '';
    }
  }

  /** Step histograms are per job whatever `job_histograms` says: they are capped per job and switched off as a whole. */
  private renderSteps(
    format: ExpositionFormat,
    name: string,
    labels: string,
    steps: readonly StepSeries[] | undefined,
    which: 'duration' | 'pending',
  ): string {
    return (steps ?? [])
      .map((entry) => {
        const histogram = entry[which];
        return histogram ? this.steps.renderAs(format, name, `${labels},step="${escapeLabelValue(entry.step)}"`, histogram) : '';
      })
      .join('');
  }

  /** Without record labels every result is shown (at zero until counted); with them, the series counted so far. */
  private buildSeries(series: readonly BuildSeries[]): BuildSeries[] {
    if (this.options.recordLabels.length > 0) return [...series];
    return BUILD_RESULTS.map((result) => series.find((entry) => entry.result === result) ?? { result, labels: [], builds: 0 });
  }

  /** `result="success",branch="main"`: the series' own labels. */
  private seriesLabels(entry: Pick<BuildSeries, 'result' | 'labels'>): string {
    let text = `result="${entry.result}"`;
    this.options.recordLabels.forEach((name, i) => (text += `,${name}="${escapeLabelValue(entry.labels[i] ?? '')}"`));
    return text;
  }

  /** `,url_prefix="…",url_suffix="…"` of a job's console link, or undefined. */
  private linkLabels(job: JobRef): string | undefined {
    const link = this.options.consoleLink?.(job);
    if (!link) return undefined;
    return `,url_prefix="${escapeLabelValue(link.prefix)}",url_suffix="${escapeLabelValue(link.suffix)}"`;
  }

  private durationExemplars(exemplars: Map<string, BucketExemplars>, key: string): BucketExemplars {
    let kept = exemplars.get(key);
    if (!kept) {
      kept = new BucketExemplars(this.options.durationBuckets);
      exemplars.set(key, kept);
    }
    return kept;
  }

  private offerQueue(job: JobSeries, fleet: boolean, exemplar: Exemplar): boolean {
    if (fleet) return this.fleetQueueExemplars.offer(exemplar);
    job.queueExemplars ??= new BucketExemplars(this.options.queueBuckets);
    return job.queueExemplars.offer(exemplar);
  }

  private segmentPart(family: number, segment: number, format: ExpositionFormat): ExpositionPart {
    const size = SEGMENT_JOBS[family] as number;
    return {
      text: () => {
        const end = Math.min(this.order.length, (segment + 1) * size);
        let text = '';
        for (let i = segment * size; i < end; i++) text += (this.order[i] as JobSeries).chunk(family, format);
        return text;
      },
    };
  }

  /** Fleet-wide histograms (`job_histograms: false`); undefined when the family has none. */
  private fleetPart(family: number, format: ExpositionFormat): ExpositionPart | undefined {
    if (this.options.jobHistograms) return undefined;
    const cache = this.fleetParts[format];
    if (family === F.duration && this.fleetDurations.size > 0) {
      cache[family] ??= textPart(
        [...this.fleetDurations.values()]
          .map(({ labels, histogram }) =>
            this.duration.renderAs(
              format,
              BUILD_FAMILIES.duration.name,
              labels,
              histogram.counts(),
              this.fleetDurationExemplars.get(labels),
            ),
          )
          .join(''),
      );
    } else if (family === F.queue && this.fleetQueue.counts().count > 0) {
      cache[family] ??= textPart(
        this.fleetQueueLayout.renderAs(format, BUILD_FAMILIES.queue.name, '', this.fleetQueue.counts(), this.fleetQueueExemplars),
      );
    }
    return cache[family];
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

  private changed(job: JobSeries, families: readonly number[], formats: readonly ExpositionFormat[] = ['text', 'openmetrics']): void {
    job.invalidate(families, formats);
    for (const family of families) {
      const segment = Math.floor(job.position / (SEGMENT_JOBS[family] as number));
      for (const format of formats) {
        // A format whose parts of this family are the other's (rowFormat) has no row of its own to clear.
        if (rowFormat(format, family) === format)
          (this.segmentParts[format][family] as Array<ExpositionPart | undefined>)[segment] = undefined;
      }
    }
    this.changes += 1;
  }

  private fleetChanged(family: number, formats: readonly ExpositionFormat[] = ['text', 'openmetrics']): void {
    for (const format of formats) this.fleetParts[format][family] = undefined;
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
