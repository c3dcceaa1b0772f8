import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BUILD_RESULTS, KNOWN_TRIGGER_TYPES, type BuildResult } from '../domain/build.js';
import { countDelta, emptyCounters, type CountedBuild, type CounterLayout, type JobCounters } from '../domain/counters.js';
import { emptyJobState, type JobRef, type JobState, type LastBuild } from '../domain/job.js';
import type { BuildMetrics } from '../metrics/build-metrics.js';
import { BUILD_FAMILIES } from '../metrics/catalog.js';
import type { Store } from '../state/store.js';
import type { Events } from '../support/events.js';
import type { ExporterEvent } from '../wiring/report.js';
import { createRandom, type Random } from '../simulator/random.js';

/** A job's latest-build gauges after a batch of synthetic builds. */
export interface SyntheticGauges {
  last: LastBuild;
  lastSuccessAt: number | undefined;
}

/** Where the synthetic mix goes: the exporter (through its store or straight into its view) and the prom-client mirror below. */
export interface BuildSink {
  /** A batch of finished builds of one job (each with its queue time), and the job's gauges after them. */
  commit(job: JobRef, builds: readonly CountedBuild[], gauges: SyntheticGauges): void | Promise<void>;
}

export function benchJobs(count: number): JobRef[] {
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
}

/**
 * The realistic mix of docs/performance.md: every job has finished builds with 2-3 distinct results, every
 * trigger type, and both histograms populated. Deterministic for a seed; the same builds go to every
 * sink, so the exporter and prom-client hold identical series and values.
 */
export class SyntheticFleet {
  private readonly random: Random;
  private readonly mixes = new Map<string, JobMix>();
  private clock = 1_767_225_600;

  constructor(
    readonly jobs: readonly JobRef[],
    private readonly sinks: readonly BuildSink[],
    seed = 11,
  ) {
    this.random = createRandom(seed);
  }

  /** 12-30 finished builds per job. */
  async fill(): Promise<void> {
    const r = this.random;
    for (const job of this.jobs) {
      const others = [...OTHER_RESULTS].sort(() => r.next() - 0.5).slice(0, r.chance(0.5) ? 1 : 2);
      const mix: JobMix = { results: ['success', ...others], builds: 0 };
      this.mixes.set(job.id, mix);
      const count = r.int(12, 30);
      const builds = Array.from({ length: count }, (_, i) => this.build(mix, mix.results[i], KNOWN_TRIGGER_TYPES[i]));
      await this.send(job, mix, builds);
    }
  }

  /** A poll cycle in which `fraction` of the jobs (a different slice each round) finished one more build. */
  async change(fraction: number, round: number): Promise<number> {
    const count = Math.max(1, Math.round(this.jobs.length * fraction));
    const start = (round * count) % this.jobs.length;
    const changed = new Set<string>();
    for (let i = 0; i < count; i++) {
      const job = this.jobs[(start + i) % this.jobs.length];
      const mix = job ? this.mixes.get(job.id) : undefined;
      if (!job || !mix) continue;
      await this.send(job, mix, [this.build(mix)]);
      changed.add(job.id);
    }
    return changed.size;
  }

  private async send(job: JobRef, mix: JobMix, builds: CountedBuild[]): Promise<void> {
    const latest = builds.at(-1) as CountedBuild;
    const last: LastBuild = {
      buildNo: latest.buildNo,
      result: latest.result,
      finishedAt: this.clock,
      durationSeconds: latest.durationSeconds ?? 0,
    };
    for (const sink of this.sinks) await sink.commit(job, builds, { last, lastSuccessAt: mix.lastSuccessAt });
  }

  private build(mix: JobMix, forcedResult?: BuildResult, forcedTrigger?: string): CountedBuild {
    const r = this.random;
    this.clock += r.int(1, 30);
    const result = forcedResult ?? (r.chance(0.7) ? 'success' : (mix.results[r.int(1, mix.results.length - 1)] ?? 'success'));
    const triggerType =
      forcedTrigger ?? (r.chance(0.03) ? 'unknown' : (KNOWN_TRIGGER_TYPES[r.int(0, KNOWN_TRIGGER_TYPES.length - 1)] ?? 'manual'));
    const durationSeconds = Math.round(Math.exp(Math.log(20) + r.next() * (Math.log(2400) - Math.log(20))) * 1000) / 1000;
    const queueSeconds = r.int(0, 120_000) / 1000;
    mix.builds += 1;
    if (result === 'success') mix.lastSuccessAt = this.clock;
    const labels = { branch: 'main', repo_name: `repo-${mix.builds % 3}`, build_type: '', build_config_type: 'YAML', executor: 'builtin' };
    // A record id of CodeArts' shape and the times: what the exemplars of /metrics (OpenMetrics) carry.
    const recordId = `${mix.builds.toString(16).padStart(8, '0')}-0000-4000-8000-${r.int(0, 0xffffff).toString(16).padStart(12, '0')}`;
    const finishedAt = this.clock;
    const startedAt = finishedAt - durationSeconds;
    return { buildNo: mix.builds, result, triggerType, durationSeconds, queueSeconds, labels, recordId, finishedAt, startedAt };
  }
}

/** The exporter's own path: a commit to its store, then `job_committed` (which shows the job in /metrics). */
export class StoreSink implements BuildSink {
  constructor(
    private readonly store: Store,
    private readonly events: Events<ExporterEvent>,
  ) {}

  async commit(job: JobRef, builds: readonly CountedBuild[], gauges: SyntheticGauges): Promise<void> {
    const from = (await this.store.begin(job.id)) ?? { version: 0, state: emptyJobState() };
    const next: JobState = {
      ...from.state,
      last: gauges.last,
      ...(gauges.lastSuccessAt !== undefined ? { lastSuccessAt: gauges.lastSuccessAt } : {}),
    };
    const stored = await this.store.commit(job.id, from.version, { counted: builds, queued: [], next });
    this.events.emit({ type: 'job_committed', job, stored, counted: builds });
  }

  /** The jobs as if a cycle had reached CodeArts for them at `at` (Unix seconds). */
  reached(jobs: readonly JobRef[], at: number): void {
    for (const job of jobs) this.events.emit({ type: 'job_reached', job, at });
  }
}

/** Build metrics fed directly, as the composition root feeds them after a commit (tests of the render cache). */
export class ViewSink implements BuildSink {
  private readonly jobs = new Map<string, { counters: JobCounters; state: JobState }>();

  constructor(
    private readonly views: readonly BuildMetrics[],
    private readonly layout: CounterLayout,
  ) {}

  commit(job: JobRef, builds: readonly CountedBuild[], gauges: SyntheticGauges): void {
    const before = this.jobs.get(job.id) ?? { counters: emptyCounters(), state: emptyJobState() };
    const state: JobState = {
      ...before.state,
      cursor: gauges.last.buildNo,
      last: gauges.last,
      ...(gauges.lastSuccessAt !== undefined ? { lastSuccessAt: gauges.lastSuccessAt } : {}),
    };
    const after = { counters: countDelta(before.counters, { counted: builds, queued: [] }, this.layout), state };
    this.jobs.set(job.id, after);
    for (const view of this.views) view.show(job.id, after);
  }

  /** What every job shows now. */
  current(): ReadonlyMap<string, { counters: JobCounters; state: JobState }> {
    return this.jobs;
  }
}

/**
 * The same build series kept by prom-client alone: the baseline of docs/performance.md ("prom-client
 * serialising the same series on its own").
 */
export class PromClientBuildMetrics implements BuildSink {
  private readonly names = new Map<string, string>();
  private readonly lastResult = new Map<string, BuildResult>();
  private readonly builds: Counter;
  private readonly triggers: Counter;
  private readonly duration: Histogram;
  private readonly queue: Histogram;
  private readonly gauges: Record<'inProgress' | 'lastStatus' | 'lastDuration' | 'lastNumber' | 'lastFinished' | 'lastSuccess', Gauge>;

  constructor(
    registry: Registry,
    private readonly options: { jobHistograms: boolean; durationBuckets: readonly number[]; queueBuckets: readonly number[] },
  ) {
    const registers = [registry];
    const f = BUILD_FAMILIES;
    const job = ['job_id', 'job_name'];
    const histogramLabels = options.jobHistograms ? job : [];
    this.builds = new Counter({ name: f.builds.name, help: f.builds.help, labelNames: [...job, 'result'], registers });
    this.triggers = new Counter({ name: f.triggers.name, help: f.triggers.help, labelNames: [...job, 'trigger_type'], registers });
    this.duration = new Histogram({
      name: f.duration.name,
      help: f.duration.help,
      labelNames: [...histogramLabels, 'result'],
      buckets: [...options.durationBuckets],
      registers,
    });
    this.queue = new Histogram({
      name: f.queue.name,
      help: f.queue.help,
      labelNames: histogramLabels,
      buckets: [...options.queueBuckets],
      registers,
    });
    const gauge = (key: keyof typeof f, extra: string[] = []) =>
      new Gauge({ name: f[key].name, help: f[key].help, labelNames: [...job, ...extra], registers });
    this.gauges = {
      inProgress: gauge('inProgress'),
      lastStatus: gauge('lastStatus', ['result']),
      lastDuration: gauge('lastDuration'),
      lastNumber: gauge('lastNumber'),
      lastFinished: gauge('lastFinished'),
      lastSuccess: gauge('lastSuccess'),
    };
  }

  setJob(jobId: string, jobName: string): void {
    this.names.set(jobId, jobName);
    const labels = { job_id: jobId, job_name: jobName };
    for (const result of BUILD_RESULTS) this.builds.inc({ ...labels, result }, 0);
    for (const trigger_type of KNOWN_TRIGGER_TYPES) this.triggers.inc({ ...labels, trigger_type }, 0);
    this.gauges.inProgress.set(labels, 0);
    this.gauges.lastNumber.set(labels, 0);
  }

  commit(job: JobRef, builds: readonly CountedBuild[], gauges: SyntheticGauges): void {
    const labels = { job_id: job.id, job_name: this.names.get(job.id) ?? job.name };
    for (const build of builds) {
      this.builds.inc({ ...labels, result: build.result });
      this.triggers.inc({ ...labels, trigger_type: build.triggerType });
      if (build.durationSeconds !== undefined)
        this.duration.observe(
          this.options.jobHistograms ? { ...labels, result: build.result } : { result: build.result },
          build.durationSeconds,
        );
      if (build.queueSeconds !== undefined) {
        if (this.options.jobHistograms) this.queue.observe(labels, build.queueSeconds);
        else this.queue.observe(build.queueSeconds);
      }
    }
    this.setGauges(job.id, labels, gauges);
  }

  private setGauges(jobId: string, labels: { job_id: string; job_name: string }, { last, lastSuccessAt }: SyntheticGauges): void {
    this.gauges.lastNumber.set(labels, last.buildNo);
    const previous = this.lastResult.get(jobId);
    if (previous !== undefined && previous !== last.result) this.gauges.lastStatus.remove({ ...labels, result: previous });
    this.lastResult.set(jobId, last.result);
    this.gauges.lastStatus.set({ ...labels, result: last.result }, 1);
    if (last.durationSeconds !== undefined) this.gauges.lastDuration.set(labels, last.durationSeconds);
    this.gauges.lastFinished.set(labels, last.finishedAt);
    if (lastSuccessAt !== undefined) this.gauges.lastSuccess.set(labels, lastSuccessAt);
  }
}
