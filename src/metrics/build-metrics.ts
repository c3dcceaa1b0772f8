import { BUILD_RESULTS, KNOWN_TRIGGER_TYPES, type BuildRecord, type BuildResult, type RecordLabelName } from '../domain/build.js';
import type { LastBuild } from '../domain/job.js';
import { BUILD_FAMILIES, BUILD_FAMILY_ORDER, type BuildFamilyKey } from './catalog.js';
import { escapeLabelValue, familyHeader, formatValue } from './exposition.js';

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
/** Rendering yields to the event loop after this much work, so /healthz answers during a big scrape. */
const SLICE_MS = 10;

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
  readonly builds = new Map<string, { labels: string; value: number }>();
  readonly triggers = new Map<string, number>();
  readonly durations = new Map<string, Histogram>();
  queue: Histogram | undefined;
  snapshot: JobSnapshot = { inProgress: 0, lastNumber: 0 };
  /** Rendered text per family; undefined until rendered or after a change of that family. */
  private readonly chunks: Array<string | undefined> = new Array<string | undefined>(FAMILY_COUNT);

  constructor(readonly labels: string) {}

  invalidate(...families: number[]): void {
    if (families.length === 0) this.chunks.fill(undefined);
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
 * jobs is mostly string joins. `renderAsync` yields to the event loop every few milliseconds.
 */
export class BuildMetrics {
  private readonly jobs = new Map<string, JobSeries>();
  private readonly fleetDurations = new Map<string, Histogram>();
  private fleetQueue: Histogram | undefined;
  private readonly durationSuffixes: string[];
  private readonly queueSuffixes: string[];
  private readonly fleetQueueSuffixes: string[];
  private readonly headers: string[];

  constructor(private readonly options: BuildMetricsOptions) {
    this.durationSuffixes = bucketSuffixes(options.durationBuckets, true);
    this.queueSuffixes = bucketSuffixes(options.queueBuckets, true);
    // Fleet-wide duration histograms keep the result label; only the fleet queue histogram has none.
    this.fleetQueueSuffixes = bucketSuffixes(options.queueBuckets, false);
    this.headers = BUILD_FAMILY_ORDER.map((key) => {
      const family = BUILD_FAMILIES[key];
      return familyHeader(family.name, family.type, family.help);
    });
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
    if (existing) this.carryOver(existing, series);
    this.jobs.set(jobId, series);
  }

  removeJob(jobId: string): void {
    this.jobs.delete(jobId);
  }

  jobIds(): string[] {
    return [...this.jobs.keys()];
  }

  /** Counts one finished build: result and trigger counters, and the duration histogram. */
  countFinished(jobId: string, record: BuildRecord, result: BuildResult): void {
    const job = this.job(jobId);
    const extra = this.recordLabelText(record);
    const key = `${result}${extra}`;
    const series = job.builds.get(key) ?? { labels: `${job.labels},result="${result}"${extra}`, value: 0 };
    series.value += 1;
    job.builds.set(key, series);
    job.triggers.set(record.triggerType, (job.triggers.get(record.triggerType) ?? 0) + 1);
    job.invalidate(F.builds, F.triggers);
    if (record.durationSeconds !== undefined) {
      const owner = this.options.jobHistograms ? job.durations : this.fleetDurations;
      const labels = this.options.jobHistograms ? `${job.labels},result="${result}"${extra}` : `result="${result}"${extra}`;
      let histogram = owner.get(key);
      if (!histogram) {
        histogram = new Histogram(labels, this.options.durationBuckets, this.durationSuffixes);
        owner.set(key, histogram);
      }
      histogram.observe(record.durationSeconds);
      if (this.options.jobHistograms) job.invalidate(F.duration);
    }
  }

  observeQueue(jobId: string, seconds: number): void {
    const job = this.job(jobId);
    if (this.options.jobHistograms) {
      job.queue ??= new Histogram(job.labels, this.options.queueBuckets, this.queueSuffixes);
      job.queue.observe(seconds);
      job.invalidate(F.queue);
    } else {
      this.fleetQueue ??= new Histogram('', this.options.queueBuckets, this.fleetQueueSuffixes);
      this.fleetQueue.observe(seconds);
    }
  }

  /** Replaces the job's gauges; only gauges whose value changed are rendered again. */
  setSnapshot(jobId: string, snapshot: JobSnapshot): void {
    const job = this.job(jobId);
    const changed = changedGauges(job.snapshot, snapshot);
    job.snapshot = { ...snapshot, ...(snapshot.last ? { last: { ...snapshot.last } } : {}) };
    if (changed.length > 0) job.invalidate(...changed);
  }

  /** The whole text at once (blocks the event loop for the duration; see renderAsync). */
  render(): string {
    const parts: string[] = [];
    const jobs = [...this.jobs.values()];
    for (let family = 0; family < FAMILY_COUNT; family++) {
      parts.push(this.headers[family] ?? '');
      for (const job of jobs) parts.push(job.chunk(family));
      parts.push(this.fleetText(family));
    }
    return parts.join('');
  }

  /**
   * The same text as `render()`, produced in slices of about 10 ms with the event loop let through
   * in between. Jobs removed meanwhile are still rendered; changes made meanwhile may or may not
   * show, each job's family chunk being consistent in itself.
   */
  async renderAsync(): Promise<string> {
    const parts: string[] = [];
    const jobs = [...this.jobs.values()];
    let sliceStart = performance.now();
    for (let family = 0; family < FAMILY_COUNT; family++) {
      parts.push(this.headers[family] ?? '');
      for (let i = 0; i < jobs.length; i++) {
        parts.push((jobs[i] as JobSeries).chunk(family));
        if ((i & 255) === 255 && performance.now() - sliceStart > SLICE_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
      parts.push(this.fleetText(family));
    }
    return parts.join('');
  }

  /** Fleet-wide histograms (`job_histograms: false`). */
  private fleetText(family: number): string {
    if (family === F.duration && this.fleetDurations.size > 0) {
      return [...this.fleetDurations.values()].map((histogram) => histogram.render(BUILD_FAMILIES.duration.name)).join('');
    }
    if (family === F.queue && this.fleetQueue) return this.fleetQueue.render(BUILD_FAMILIES.queue.name);
    return '';
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
