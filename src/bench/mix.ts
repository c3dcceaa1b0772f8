import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BUILD_RESULTS, KNOWN_TRIGGER_TYPES, type BuildRecord, type BuildResult } from '../domain/build.js';
import { BUILD_FAMILIES } from '../metrics/catalog.js';
import type { JobSnapshot } from '../metrics/build-metrics.js';
import { createRandom, type Random } from '../simulator/random.js';

/** What the synthetic mix feeds: the exporter's BuildMetrics and the prom-client mirror below. */
export interface BuildSink {
  countFinished(jobId: string, record: BuildRecord, result: BuildResult): void;
  observeQueue(jobId: string, seconds: number): void;
  setSnapshot(jobId: string, snapshot: JobSnapshot): void;
}

export interface BenchJob {
  id: string;
  name: string;
}

export function benchJobs(count: number): BenchJob[] {
  const names = ['backend-ci', 'frontend-build', 'mobile-release', 'payments-service', 'search-indexer', 'docs-site'];
  return Array.from({ length: count }, (_, i) => ({
    id: (0xbe00_0000 + i).toString(16).padStart(32, '0'),
    name: `${names[i % names.length] ?? 'job'}-${Math.floor(i / names.length)}`,
  }));
}

const OTHER_RESULTS: BuildResult[] = BUILD_RESULTS.filter((result) => result !== 'success');

interface JobMix {
  results: BuildResult[];
  builds: number;
  lastSuccessAt?: number;
  snapshot?: JobSnapshot;
}

/**
 * The realistic mix of docs/performance.md: every job has finished builds with 2-3 distinct results, every
 * trigger type, and both histograms populated. Deterministic for a seed; the same calls go to every
 * sink, so the exporter and prom-client hold identical series and values.
 */
export class SyntheticFleet {
  private readonly random: Random;
  private readonly mixes = new Map<string, JobMix>();
  private clock = 1_767_225_600;

  constructor(
    readonly jobs: readonly BenchJob[],
    private readonly sinks: readonly BuildSink[],
    seed = 11,
  ) {
    this.random = createRandom(seed);
  }

  /** 12-30 finished builds per job. */
  fill(): void {
    const r = this.random;
    for (const job of this.jobs) {
      const others = [...OTHER_RESULTS].sort(() => r.next() - 0.5).slice(0, r.chance(0.5) ? 1 : 2);
      const mix: JobMix = { results: ['success', ...others], builds: 0 };
      this.mixes.set(job.id, mix);
      const count = r.int(12, 30);
      for (let i = 0; i < count; i++) this.build(job, mix, i < mix.results.length ? mix.results[i] : undefined, i < KNOWN_TRIGGER_TYPES.length ? KNOWN_TRIGGER_TYPES[i] : undefined);
    }
  }

  /**
   * A poll cycle in which `fraction` of the jobs (a different slice each round) finished one more
   * build. Like the poller, it publishes every job's gauges again, changed or not.
   */
  change(fraction: number, round: number): number {
    const count = Math.max(1, Math.round(this.jobs.length * fraction));
    const start = (round * count) % this.jobs.length;
    const changed = new Set<string>();
    for (let i = 0; i < count; i++) {
      const job = this.jobs[(start + i) % this.jobs.length];
      const mix = job ? this.mixes.get(job.id) : undefined;
      if (job && mix) {
        this.build(job, mix);
        changed.add(job.id);
      }
    }
    for (const job of this.jobs) {
      const snapshot = this.mixes.get(job.id)?.snapshot;
      if (snapshot && !changed.has(job.id)) for (const sink of this.sinks) sink.setSnapshot(job.id, { ...snapshot });
    }
    return changed.size;
  }

  private build(job: BenchJob, mix: JobMix, forcedResult?: BuildResult, forcedTrigger?: string): void {
    const r = this.random;
    this.clock += r.int(1, 30);
    const result = forcedResult ?? (r.chance(0.7) ? 'success' : (mix.results[r.int(1, mix.results.length - 1)] ?? 'success'));
    const trigger = forcedTrigger ?? (r.chance(0.03) ? 'unknown' : (KNOWN_TRIGGER_TYPES[r.int(0, KNOWN_TRIGGER_TYPES.length - 1)] ?? 'manual'));
    const durationSeconds = Math.round(Math.exp(Math.log(20) + r.next() * (Math.log(2400) - Math.log(20))) * 1000) / 1000;
    const queueSeconds = r.int(0, 120_000) / 1000;
    mix.builds += 1;
    const finishedAt = this.clock;
    if (result === 'success') mix.lastSuccessAt = finishedAt;
    const record: BuildRecord = {
      buildNo: mix.builds,
      rawStatus: result.toUpperCase(),
      phase: { finished: true, result, recognised: true },
      triggerType: trigger,
      finishedAt,
      durationSeconds,
      queueSeconds,
      labels: { branch: 'main', repo_name: job.name, build_type: '', build_config_type: 'YAML', executor: 'builtin' },
      problems: [],
    };
    const snapshot: JobSnapshot = {
      inProgress: r.int(0, 2),
      lastNumber: mix.builds + 1,
      last: { buildNo: mix.builds, result, finishedAt, durationSeconds },
      lastSuccessAt: mix.lastSuccessAt,
    };
    mix.snapshot = snapshot;
    for (const sink of this.sinks) {
      sink.countFinished(job.id, record, result);
      sink.observeQueue(job.id, queueSeconds);
      sink.setSnapshot(job.id, snapshot);
    }
  }
}

/**
 * The same build series kept by prom-client alone: the baseline of docs/performance.md ("prom-client
 * serialising the same series on its own").
 */
export class PromClientBuildMetrics implements BuildSink {
  private readonly names = new Map<string, string>();
  private readonly lastResult = new Map<string, BuildResult>();
  private readonly builds: Counter<string>;
  private readonly triggers: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly queue: Histogram<string>;
  private readonly inProgress: Gauge<string>;
  private readonly lastStatus: Gauge<string>;
  private readonly lastDuration: Gauge<string>;
  private readonly lastNumber: Gauge<string>;
  private readonly lastFinished: Gauge<string>;
  private readonly lastSuccess: Gauge<string>;

  constructor(
    registry: Registry,
    private readonly options: { jobHistograms: boolean; durationBuckets: readonly number[]; queueBuckets: readonly number[] },
  ) {
    const registers = [registry];
    const f = BUILD_FAMILIES;
    const job = ['job_id', 'job_name'];
    this.builds = new Counter({ name: f.builds.name, help: f.builds.help, labelNames: [...job, 'result'], registers });
    this.triggers = new Counter({ name: f.triggers.name, help: f.triggers.help, labelNames: [...job, 'trigger_type'], registers });
    this.duration = new Histogram({
      name: f.duration.name,
      help: f.duration.help,
      labelNames: options.jobHistograms ? [...job, 'result'] : ['result'],
      buckets: [...options.durationBuckets],
      registers,
    });
    this.queue = new Histogram({
      name: f.queue.name,
      help: f.queue.help,
      labelNames: options.jobHistograms ? job : [],
      buckets: [...options.queueBuckets],
      registers,
    });
    this.inProgress = new Gauge({ name: f.inProgress.name, help: f.inProgress.help, labelNames: job, registers });
    this.lastStatus = new Gauge({ name: f.lastStatus.name, help: f.lastStatus.help, labelNames: [...job, 'result'], registers });
    this.lastDuration = new Gauge({ name: f.lastDuration.name, help: f.lastDuration.help, labelNames: job, registers });
    this.lastNumber = new Gauge({ name: f.lastNumber.name, help: f.lastNumber.help, labelNames: job, registers });
    this.lastFinished = new Gauge({ name: f.lastFinished.name, help: f.lastFinished.help, labelNames: job, registers });
    this.lastSuccess = new Gauge({ name: f.lastSuccess.name, help: f.lastSuccess.help, labelNames: job, registers });
  }

  setJob(jobId: string, jobName: string): void {
    this.names.set(jobId, jobName);
    const labels = { job_id: jobId, job_name: jobName };
    for (const result of BUILD_RESULTS) this.builds.inc({ ...labels, result }, 0);
    for (const trigger_type of KNOWN_TRIGGER_TYPES) this.triggers.inc({ ...labels, trigger_type }, 0);
    this.inProgress.set(labels, 0);
    this.lastNumber.set(labels, 0);
  }

  countFinished(jobId: string, record: BuildRecord, result: BuildResult): void {
    const labels = this.labels(jobId);
    this.builds.inc({ ...labels, result });
    this.triggers.inc({ ...labels, trigger_type: record.triggerType });
    if (record.durationSeconds !== undefined) {
      this.duration.observe(this.options.jobHistograms ? { ...labels, result } : { result }, record.durationSeconds);
    }
  }

  observeQueue(jobId: string, seconds: number): void {
    if (this.options.jobHistograms) this.queue.observe(this.labels(jobId), seconds);
    else this.queue.observe(seconds);
  }

  setSnapshot(jobId: string, snapshot: JobSnapshot): void {
    const labels = this.labels(jobId);
    this.inProgress.set(labels, snapshot.inProgress);
    this.lastNumber.set(labels, snapshot.lastNumber);
    const { last } = snapshot;
    if (last) {
      const previous = this.lastResult.get(jobId);
      if (previous !== undefined && previous !== last.result) this.lastStatus.remove({ ...labels, result: previous });
      this.lastResult.set(jobId, last.result);
      this.lastStatus.set({ ...labels, result: last.result }, 1);
      if (last.durationSeconds !== undefined) this.lastDuration.set(labels, last.durationSeconds);
      this.lastFinished.set(labels, last.finishedAt);
    }
    if (snapshot.lastSuccessAt !== undefined) this.lastSuccess.set(labels, snapshot.lastSuccessAt);
  }

  private labels(jobId: string): { job_id: string; job_name: string } {
    return { job_id: jobId, job_name: this.names.get(jobId) ?? jobId };
  }
}
