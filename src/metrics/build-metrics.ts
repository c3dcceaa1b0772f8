import { BUILD_RESULTS, KNOWN_TRIGGER_TYPES, type BuildResult } from '../codearts/status.js';
import type { BuildRecord, RecordLabelName } from '../codearts/record.js';
import type { LastBuild } from '../state/store.js';
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

class Histogram {
  readonly counts: number[];
  sumMs = 0;
  count = 0;

  constructor(
    readonly labels: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(seconds: number): void {
    const index = this.bounds.findIndex((bound) => seconds <= bound);
    if (index >= 0) this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.sumMs += Math.round(seconds * 1000);
    this.count += 1;
  }

  render(name: string): string {
    let out = '';
    let cumulative = 0;
    const prefix = this.labels ? `${this.labels},` : '';
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i] ?? 0;
      out += `${name}_bucket{${prefix}le="${formatValue(this.bounds[i] ?? 0)}"} ${cumulative}\n`;
    }
    const braces = this.labels ? `{${this.labels}}` : '';
    out += `${name}_bucket{${prefix}le="+Inf"} ${this.count}\n`;
    out += `${name}_sum${braces} ${formatValue(this.sumMs / 1000)}\n`;
    out += `${name}_count${braces} ${this.count}\n`;
    return out;
  }
}

class JobSeries {
  readonly builds = new Map<string, { labels: string; value: number }>();
  readonly triggers = new Map<string, number>();
  readonly durations = new Map<string, Histogram>();
  queue: Histogram | undefined;
  snapshot: JobSnapshot = { inProgress: 0, lastNumber: 0 };
  private chunks: Map<BuildFamilyKey, string> | undefined;

  constructor(readonly labels: string) {}

  invalidate(): void {
    this.chunks = undefined;
  }

  chunk(family: BuildFamilyKey): string {
    this.chunks ??= this.renderAll();
    return this.chunks.get(family) ?? '';
  }

  private renderAll(): Map<BuildFamilyKey, string> {
    const f = BUILD_FAMILIES;
    const chunks = new Map<BuildFamilyKey, string>();
    let builds = '';
    for (const series of this.builds.values()) builds += `${f.builds.name}{${series.labels}} ${series.value}\n`;
    chunks.set('builds', builds);
    let triggers = '';
    for (const [trigger, value] of this.triggers) {
      triggers += `${f.triggers.name}{${this.labels},trigger_type="${escapeLabelValue(trigger)}"} ${value}\n`;
    }
    chunks.set('triggers', triggers);
    let durations = '';
    for (const histogram of this.durations.values()) durations += histogram.render(f.duration.name);
    chunks.set('duration', durations);
    chunks.set('queue', this.queue?.render(f.queue.name) ?? '');

    const { inProgress, lastNumber, last, lastSuccessAt } = this.snapshot;
    const gauge = (name: string, value: number | undefined, extra = '') =>
      value === undefined ? '' : `${name}{${this.labels}${extra}} ${formatValue(value)}\n`;
    chunks.set('inProgress', gauge(f.inProgress.name, inProgress));
    chunks.set('lastStatus', last ? gauge(f.lastStatus.name, 1, `,result="${last.result}"`) : '');
    chunks.set('lastDuration', gauge(f.lastDuration.name, last?.durationSeconds));
    chunks.set('lastNumber', gauge(f.lastNumber.name, lastNumber));
    chunks.set('lastFinished', gauge(f.lastFinished.name, last?.finishedAt));
    chunks.set('lastSuccess', gauge(f.lastSuccess.name, lastSuccessAt));
    return chunks;
  }
}

/**
 * Build metrics kept as plain data and rendered by hand. Each job's text is cached and re-rendered
 * only after that job changed, so a scrape of thousands of mostly idle jobs is mostly string joins.
 */
export class BuildMetrics {
  private readonly jobs = new Map<string, JobSeries>();
  private readonly fleetDurations = new Map<string, Histogram>();
  private fleetQueue: Histogram | undefined;

  constructor(private readonly options: BuildMetricsOptions) {}

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
    if (record.durationSeconds !== undefined) {
      const owner = this.options.jobHistograms ? job.durations : this.fleetDurations;
      const labels = this.options.jobHistograms ? `${job.labels},result="${result}"${extra}` : `result="${result}"${extra}`;
      let histogram = owner.get(key);
      if (!histogram) {
        histogram = new Histogram(labels, this.options.durationBuckets);
        owner.set(key, histogram);
      }
      histogram.observe(record.durationSeconds);
    }
    job.invalidate();
  }

  observeQueue(jobId: string, seconds: number): void {
    const job = this.job(jobId);
    if (this.options.jobHistograms) {
      job.queue ??= new Histogram(job.labels, this.options.queueBuckets);
      job.queue.observe(seconds);
      job.invalidate();
    } else {
      this.fleetQueue ??= new Histogram('', this.options.queueBuckets);
      this.fleetQueue.observe(seconds);
    }
  }

  setSnapshot(jobId: string, snapshot: JobSnapshot): void {
    const job = this.job(jobId);
    job.snapshot = { ...snapshot };
    job.invalidate();
  }

  render(): string {
    const parts: string[] = [];
    for (const key of BUILD_FAMILY_ORDER) {
      const family = BUILD_FAMILIES[key];
      parts.push(familyHeader(family.name, family.type, family.help));
      for (const job of this.jobs.values()) parts.push(job.chunk(key));
      if (key === 'duration') for (const histogram of this.fleetDurations.values()) parts.push(histogram.render(family.name));
      if (key === 'queue' && this.fleetQueue) parts.push(this.fleetQueue.render(family.name));
    }
    return parts.join('');
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
      const copy = new Histogram(relabel(histogram.labels), this.options.durationBuckets);
      copy.counts.splice(0, copy.counts.length, ...histogram.counts);
      copy.sumMs = histogram.sumMs;
      copy.count = histogram.count;
      to.durations.set(key, copy);
    }
    if (from.queue) {
      const copy = new Histogram(to.labels, this.options.queueBuckets);
      copy.counts.splice(0, copy.counts.length, ...from.queue.counts);
      copy.sumMs = from.queue.sumMs;
      copy.count = from.queue.count;
      to.queue = copy;
    }
    to.snapshot = from.snapshot;
  }
}
