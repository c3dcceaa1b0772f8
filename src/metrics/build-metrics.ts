import { BUILD_RESULTS, KNOWN_TRIGGER_TYPES, type BuildResult } from '../codearts/status.js';
import type { BuildRecord, RecordLabelName } from '../codearts/record.js';
import type { LastBuild } from '../state/store.js';
import { BUILD_FAMILIES, BUILD_FAMILY_ORDER, type BuildFamilyKey } from './catalog.js';
import { escapeLabelValue, familyHeader, formatValue } from './exposition.js';
import { joinParts, textPart, type ExpositionPart } from './exposition-part.js';

export interface BuildMetricsOptions {
  durationBuckets: readonly number[];
  queueBuckets: readonly number[];
  /** false: histograms carry no job labels (fleets of thousands of jobs). */
  jobHistograms: boolean;
  recordLabels: readonly RecordLabelName[];
}

/** The gauges of a job, replaced as a whole after each commit. */
export interface JobSnapshot {
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

/** `,le="30"} ` etc. for one bucket layout, computed once; without the comma for unlabelled histograms. */
function bucketSuffixes(bounds: readonly number[], labelled: boolean): string[] {
  const comma = labelled ? ',' : '';
  return [...bounds.map((bound) => `${comma}le="${formatValue(bound)}"} `), `${comma}le="+Inf"} `];
}

class Histogram {
  readonly counts: number[];
  sumMs = 0;
  count = 0;

  constructor(
    readonly labels: string,
    private readonly bounds: readonly number[],
    private readonly suffixes: readonly string[],
  ) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(seconds: number): void {
    const index = this.bounds.findIndex((bound) => seconds <= bound);
    if (index >= 0) this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.sumMs += Math.round(seconds * 1000);
    this.count += 1;
  }

  copyFrom(other: Histogram): void {
    this.counts.splice(0, this.counts.length, ...other.counts);
    this.sumMs = other.sumMs;
    this.count = other.count;
  }

  render(name: string): string {
    const lines: string[] = [];
    const open = `${name}_bucket{${this.labels}`;
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i] ?? 0;
      lines.push(`${open}${this.suffixes[i] ?? ''}${cumulative}`);
    }
    lines.push(`${open}${this.suffixes[this.bounds.length] ?? ''}${this.count}`);
    const braces = this.labels ? `{${this.labels}}` : '';
    lines.push(`${name}_sum${braces} ${formatValue(this.sumMs / 1000)}`, `${name}_count${braces} ${this.count}`, '');
    return lines.join('\n');
  }
}

class JobSeries {
  /** Place in the exposition order. */
  position = 0;
  readonly builds = new Map<string, { labels: string; value: number }>();
  readonly triggers = new Map<string, number>();
  readonly durations = new Map<string, Histogram>();
  queue: Histogram | undefined;
  snapshot: JobSnapshot = { inProgress: 0, lastNumber: 0 };
  /** Rendered text per family; undefined until rendered or after a change of that family. */
  private readonly chunks: Array<string | undefined> = new Array<string | undefined>(FAMILY_COUNT);

  constructor(readonly labels: string) {}

  invalidate(families: readonly number[]): void {
    for (const family of families) this.chunks[family] = undefined;
  }

  chunk(family: number): string {
    let text = this.chunks[family];
    if (text === undefined) {
      text = this.renderFamily(family);
      this.chunks[family] = text;
    }
    return text;
  }

  private renderFamily(family: number): string {
    const f = BUILD_FAMILIES;
    const lines: string[] = [];
    switch (family) {
      case F.builds:
        for (const series of this.builds.values()) lines.push(`${f.builds.name}{${series.labels}} ${series.value}\n`);
        return lines.join('');
      case F.triggers:
        for (const [trigger, value] of this.triggers) {
          lines.push(`${f.triggers.name}{${this.labels},trigger_type="${escapeLabelValue(trigger)}"} ${value}\n`);
        }
        return lines.join('');
      case F.duration:
        for (const histogram of this.durations.values()) lines.push(histogram.render(f.duration.name));
        return lines.join('');
      case F.queue:
        return this.queue?.render(f.queue.name) ?? '';
    }
    const { inProgress, lastNumber, last, lastSuccessAt } = this.snapshot;
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

/** Which gauge families differ between two snapshots. */
function changedGauges(before: JobSnapshot, after: JobSnapshot): number[] {
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

/**
 * Build metrics kept as plain data and rendered by hand. Each job's text is cached per family and
 * re-rendered only after that family of that job changed, so a scrape of thousands of mostly idle
 * jobs is mostly string joins. The body is offered as parts (`parts()`): per family a header, one
 * part per segment of jobs (SEGMENT_JOBS) and the fleet-wide histograms; a part object is replaced
 * when a job of its segment changes that family, so the gzip pieces of unchanged parts are reused.
 */
export class BuildMetrics {
  private readonly jobs = new Map<string, JobSeries>();
  /** The jobs in exposition order (the order they were added). */
  private readonly order: JobSeries[] = [];
  /** segmentParts[family][segment]; undefined after a change, created again by parts(). */
  private segmentParts: Array<Array<ExpositionPart | undefined>> = emptyRows();
  private readonly fleetParts: Array<ExpositionPart | undefined> = new Array<ExpositionPart | undefined>(FAMILY_COUNT);
  private readonly fleetDurations = new Map<string, Histogram>();
  private fleetQueue: Histogram | undefined;
  private readonly durationSuffixes: string[];
  private readonly queueSuffixes: string[];
  private readonly fleetQueueSuffixes: string[];
  private readonly headers: ExpositionPart[];
  private changes = 0;

  constructor(private readonly options: BuildMetricsOptions) {
    this.durationSuffixes = bucketSuffixes(options.durationBuckets, true);
    this.queueSuffixes = bucketSuffixes(options.queueBuckets, true);
    // Fleet-wide duration histograms keep the result label; only the fleet queue histogram has none.
    this.fleetQueueSuffixes = bucketSuffixes(options.queueBuckets, false);
    this.headers = BUILD_FAMILY_ORDER.map((key) => {
      const family = BUILD_FAMILIES[key];
      return textPart(familyHeader(family.name, family.type, family.help));
    });
  }

  /** Grows with every change of a value, a job or a label; equal versions mean equal text. */
  get version(): number {
    return this.changes;
  }

  /** Adds a job (or renames it) with every result and trigger series at zero. */
  setJob(jobId: string, jobName: string): void {
    const labels = `job_id="${escapeLabelValue(jobId)}",job_name="${escapeLabelValue(jobName)}"`;
    const existing = this.jobs.get(jobId);
    if (existing?.labels === labels) return;
    const series = new JobSeries(labels);
    if (this.options.recordLabels.length === 0) {
      for (const result of BUILD_RESULTS) series.builds.set(result, { labels: `${labels},result="${result}"`, value: 0 });
    }
    for (const trigger of KNOWN_TRIGGER_TYPES) series.triggers.set(trigger, 0);
    if (existing) {
      this.carryOver(existing, series);
      series.position = existing.position;
      this.order[series.position] = series;
    } else {
      series.position = this.order.length;
      this.order.push(series);
    }
    // Map.set keeps an existing key's place, like the order array.
    this.jobs.set(jobId, series);
    this.changed(series, ALL_FAMILIES);
  }

  removeJob(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.jobs.delete(jobId);
    this.order.splice(job.position, 1);
    for (let i = job.position; i < this.order.length; i++) (this.order[i] as JobSeries).position = i;
    // Every later job moved to another segment: rare enough (discovery) to start over.
    this.segmentParts = emptyRows();
    this.changes += 1;
  }

  jobIds(): string[] {
    return [...this.jobs.keys()];
  }

  /** Counts one finished build: result and trigger counters, and the duration histogram. */
  countFinished(jobId: string, record: BuildRecord, result: BuildResult): void {
    const job = this.job(jobId);
    const extra = this.recordLabelText(record);
    const key = extra ? `${result}${extra}` : result;
    let series = job.builds.get(key);
    if (!series) {
      series = { labels: `${job.labels},result="${result}"${extra}`, value: 0 };
      job.builds.set(key, series);
    }
    series.value += 1;
    job.triggers.set(record.triggerType, (job.triggers.get(record.triggerType) ?? 0) + 1);
    this.changed(job, COUNTER_FAMILIES);
    if (record.durationSeconds === undefined) return;
    const perJob = this.options.jobHistograms;
    const owner = perJob ? job.durations : this.fleetDurations;
    let histogram = owner.get(key);
    if (!histogram) {
      const labels = perJob ? `${job.labels},result="${result}"${extra}` : `result="${result}"${extra}`;
      histogram = new Histogram(labels, this.options.durationBuckets, this.durationSuffixes);
      owner.set(key, histogram);
    }
    histogram.observe(record.durationSeconds);
    if (perJob) this.changed(job, DURATION_FAMILY);
    else this.fleetChanged(F.duration);
  }

  observeQueue(jobId: string, seconds: number): void {
    const job = this.job(jobId);
    if (this.options.jobHistograms) {
      job.queue ??= new Histogram(job.labels, this.options.queueBuckets, this.queueSuffixes);
      job.queue.observe(seconds);
      this.changed(job, QUEUE_FAMILY);
    } else {
      this.fleetQueue ??= new Histogram('', this.options.queueBuckets, this.fleetQueueSuffixes);
      this.fleetQueue.observe(seconds);
      this.fleetChanged(F.queue);
    }
  }

  /** Replaces the job's gauges; only gauges whose value changed are rendered again. */
  setSnapshot(jobId: string, snapshot: JobSnapshot): void {
    const job = this.job(jobId);
    const changed = changedGauges(job.snapshot, snapshot);
    if (changed.length === 0) return;
    job.snapshot = { ...snapshot, ...(snapshot.last ? { last: { ...snapshot.last } } : {}) };
    this.changed(job, changed);
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

  /** The whole text at once (blocks the event loop for the duration; see renderAsync). */
  render(): string {
    return this.parts()
      .map((part) => part.text())
      .join('');
  }

  /**
   * The same text as `render()`, produced in slices of about 10 ms with the event loop let through
   * in between. Changes made meanwhile may or may not show, each segment being consistent in itself.
   */
  renderAsync(): Promise<string> {
    return joinParts(this.parts());
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
    if (family === F.duration && this.fleetDurations.size > 0) {
      this.fleetParts[family] ??= textPart([...this.fleetDurations.values()].map((h) => h.render(BUILD_FAMILIES.duration.name)).join(''));
    } else if (family === F.queue && this.fleetQueue) {
      this.fleetParts[family] ??= textPart(this.fleetQueue.render(BUILD_FAMILIES.queue.name));
    }
    return this.fleetParts[family];
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

  private job(jobId: string): JobSeries {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`job ${jobId} has no metrics; setJob() first`);
    return job;
  }

  private recordLabelText(record: BuildRecord): string {
    let text = '';
    for (const name of this.options.recordLabels) text += `,${name}="${escapeLabelValue(record.labels[name])}"`;
    return text;
  }

  /** A renamed job keeps its counts; only the job_name label changes. */
  private carryOver(from: JobSeries, to: JobSeries): void {
    const oldPrefix = from.labels;
    const relabel = (labels: string) => to.labels + labels.slice(oldPrefix.length);
    for (const [key, series] of from.builds) to.builds.set(key, { labels: relabel(series.labels), value: series.value });
    for (const [trigger, value] of from.triggers) to.triggers.set(trigger, value);
    for (const [key, histogram] of from.durations) {
      const copy = new Histogram(relabel(histogram.labels), this.options.durationBuckets, this.durationSuffixes);
      copy.copyFrom(histogram);
      to.durations.set(key, copy);
    }
    if (from.queue) {
      const copy = new Histogram(to.labels, this.options.queueBuckets, this.queueSuffixes);
      copy.copyFrom(from.queue);
      to.queue = copy;
    }
    to.snapshot = from.snapshot;
  }
}

const ALL_FAMILIES: readonly number[] = BUILD_FAMILY_ORDER.map((_, index) => index);
const COUNTER_FAMILIES: readonly number[] = [F.builds, F.triggers];
const DURATION_FAMILY: readonly number[] = [F.duration];
const QUEUE_FAMILY: readonly number[] = [F.queue];

function emptyRows(): Array<Array<ExpositionPart | undefined>> {
  return Array.from({ length: FAMILY_COUNT }, () => []);
}
