import pLimit, { type LimitFunction } from 'p-limit';
import type { CodeArtsClient } from '../codearts/client.js';
import type { Logger } from '../log/logger.js';
import type { BuildMetrics } from '../metrics/build-metrics.js';
import type { SelfMetrics } from '../metrics/self-metrics.js';
import { emptyJobState, type JobRef, type JobState } from '../domain/job.js';
import type { Store, StoredJob } from '../state/store.js';
import { systemClock, unixSeconds, type Clock } from '../support/clock.js';
import { freshGapMemory, type GapMemory } from './gap-policy.js';
import { pollJob, toCounted, type JobCycleResult } from './job-poller.js';
import { RunningStatusHint } from './running-status-hint.js';
import { findLatestStart, StartPointUnknownError } from './start-point.js';

export interface PollerOptions {
  client: CodeArtsClient;
  store: Store;
  metrics: BuildMetrics;
  self: SelfMetrics;
  logger: Logger;
  startAt: 'latest' | number;
  maxBuildsPerJobPerCycle: number;
  /** A build pending longer than this (seconds) is given up. */
  maxPendingAgeSeconds: number;
  /** Jobs worked on at once; requests are bounded separately by the client. */
  jobConcurrency: number;
  /** Wall time for ages, gap checks and start retries; tests drive it from the simulator's virtual clock. @default systemClock */
  clock?: Clock;
}

export type CycleOutcome = 'success' | 'partial' | 'failure';

export interface CycleSummary {
  outcome: CycleOutcome;
  jobsReached: number;
  jobsFailed: number;
  buildsCounted: number;
  seconds: number;
}

interface JobRuntime extends JobRef {
  stored: StoredJob | undefined;
  memory: GapMemory;
  lastReachedAt?: number;
  /** Started at 0 because its newest build could not be found: looked for again from `retryAt`. */
  unsure?: { retryAt: number; failures: number };
}

/** A job whose start point cannot be found is looked at again after 10 minutes, doubling up to 6 hours. */
const START_RETRY_SECONDS = 600;
const MAX_START_RETRY_SECONDS = 6 * 3600;

/**
 * Runs poll cycles over all jobs. A job's findings reach the metrics only after its commit is
 * durable; a failed job keeps its old state and is retried next cycle, so nothing is lost and
 * nothing is counted twice.
 */
export class Poller {
  private readonly jobs = new Map<string, JobRuntime>();
  /** Saved state of every job, for jobs that appear after start-up (discovery). */
  private saved = new Map<string, StoredJob>();
  /** Jobs no longer wanted: not polled; series kept for a grace period, state kept longer. */
  private readonly departed = new Map<string, { runtime: JobRuntime; since: number; seriesRemoved: boolean }>();
  private readonly unknownStatuses = new Set<string>();
  private readonly clock: Clock;
  /** Unix seconds on the clock's wall time. */
  private readonly now: () => number;
  private readonly hint: RunningStatusHint;
  private cycles = 0;

  constructor(private readonly options: PollerOptions) {
    this.clock = options.clock ?? systemClock;
    this.now = () => unixSeconds(this.clock);
    this.hint = new RunningStatusHint(options.client, options.logger, this.clock, (available) => options.self.runningStatusAvailable.set(available ? 1 : 0));
  }

  /** Loads saved state and shows the saved gauges before the first cycle. */
  async init(jobs: readonly JobRef[]): Promise<void> {
    this.saved = await this.options.store.load();
    for (const job of jobs) this.addJob(job, this.saved.get(job.id));
  }

  /**
   * Makes the polled set equal `wanted` (static plus discovered jobs): new jobs start from their
   * saved state or per start_at; a renamed job keeps its counts; a job that left stops being
   * polled, its series go after `graceMs`, and its saved cursor after `keepMs`, so a job that comes
   * back in between does not count its history again.
   */
  async reconcile(wanted: readonly JobRef[], graceMs: number, keepMs: number): Promise<void> {
    const now = this.now() * 1000;
    const wantedIds = new Set(wanted.map((job) => job.id));
    for (const job of wanted) {
      const active = this.jobs.get(job.id);
      if (active) {
        if (active.name !== job.name) this.rename(active, job.name);
        continue;
      }
      const back = this.departed.get(job.id);
      if (back) {
        this.departed.delete(job.id);
        this.jobs.set(job.id, back.runtime);
        if (back.seriesRemoved) this.showJob(back.runtime);
        if (back.runtime.name !== job.name) this.rename(back.runtime, job.name);
        else this.showLastReached(back.runtime);
        this.options.logger.info({ job_id: job.id, job_name: job.name }, 'job is back; continuing from its saved cursor');
        continue;
      }
      this.addJob(job, this.saved.get(job.id));
      this.options.logger.info({ job_id: job.id, job_name: job.name }, 'job added');
    }
    for (const [id, runtime] of this.jobs) {
      if (wantedIds.has(id)) continue;
      this.jobs.delete(id);
      this.departed.set(id, { runtime, since: now, seriesRemoved: false });
      // At once, not after the grace period: a job that is no longer polled must not look stale.
      this.options.self.lastSuccessfulPoll.remove({ job_id: id, job_name: runtime.name });
      this.options.logger.info({ job_id: id, job_name: runtime.name }, 'job no longer listed; stops being polled');
    }
    for (const [id, entry] of this.departed) {
      if (!entry.seriesRemoved && now - entry.since >= graceMs) {
        entry.seriesRemoved = true;
        this.options.metrics.removeJob(id);
        this.options.self.removeJob(id, entry.runtime.name);
      }
      if (now - entry.since >= keepMs) {
        this.departed.delete(id);
        this.saved.delete(id);
        await this.options.store.forget(id);
      }
    }
  }

  addJob(job: JobRef, stored?: StoredJob): void {
    const runtime: JobRuntime = { ...job, stored, memory: freshGapMemory(this.now()) };
    this.jobs.set(job.id, runtime);
    this.showJob(runtime);
  }

  /** Creates the job's series (at zero) and shows its saved gauges. */
  private showJob(job: JobRuntime): void {
    this.options.metrics.setJob(job.id, job.name);
    this.options.self.addJob(job.id, job.name);
    if (job.stored) this.publishSnapshot(job.id, job.stored.state);
  }

  /** A job renamed in CodeArts keeps its counts under the new `job_name`. */
  private rename(job: JobRuntime, name: string): void {
    this.options.self.removeJob(job.id, job.name);
    this.options.logger.info({ job_id: job.id, old_name: job.name, job_name: name }, 'job renamed');
    job.name = name;
    this.options.metrics.setJob(job.id, name);
    this.options.self.addJob(job.id, name);
    this.showLastReached(job);
  }

  private showLastReached(job: JobRuntime): void {
    if (job.lastReachedAt !== undefined) this.options.self.lastSuccessfulPoll.set({ job_id: job.id, job_name: job.name }, job.lastReachedAt);
  }

  /** Per-job view for the landing page. */
  describeJobs(): Array<{ id: string; name: string; state: JobState | undefined; lastReachedAt: number | undefined }> {
    return [...this.jobs.values()].map((job) => ({ id: job.id, name: job.name, state: job.stored?.state, lastReachedAt: job.lastReachedAt }));
  }

  cycleCount(): number {
    return this.cycles;
  }

  async runCycle(signal?: AbortSignal): Promise<CycleSummary> {
    const started = this.clock.monotonic();
    const limit = pLimit(this.options.jobConcurrency);
    const outcomes = await Promise.all([...this.jobs.values()].map((job) => this.pollOne(job, limit, signal)));
    const reached = outcomes.filter((o) => o.reached).length;
    const summary: CycleSummary = {
      outcome: reached === outcomes.length ? 'success' : reached === 0 ? 'failure' : 'partial',
      jobsReached: reached,
      jobsFailed: outcomes.length - reached,
      buildsCounted: outcomes.reduce((sum, o) => sum + o.counted, 0),
      seconds: (this.clock.monotonic() - started) / 1000,
    };
    if (signal?.aborted) return summary;
    this.cycles += 1;
    const { self } = this.options;
    self.up.set(summary.outcome === 'success' ? 1 : 0);
    self.pollDuration.set(summary.seconds);
    self.polls.inc({ outcome: summary.outcome });
    return summary;
  }

  /**
   * One job's cycle. Only the talking to CodeArts holds one of the `jobConcurrency` slots: waiting
   * for a commit to become durable does not, so commits from many jobs share one state-file write
   * instead of a write per few jobs (a write costs O(all jobs), which at 10,000 jobs made the cycle
   * wait for the disk, not the API).
   */
  private async pollOne(job: JobRuntime, limit: LimitFunction, signal?: AbortSignal): Promise<{ reached: boolean; counted: number }> {
    const log = this.options.logger.child({ job_id: job.id, job_name: job.name });
    try {
      if (!job.stored) await this.start(job, limit, log, signal);
      const stored = job.stored;
      if (!stored) return { reached: false, counted: 0 };
      const cycle = await limit(() =>
        pollJob(this.options.client, job.id, stored.state, {
          maxBuildsPerCycle: this.options.maxBuildsPerJobPerCycle,
          maxPendingAgeSeconds: this.options.maxPendingAgeSeconds,
          now: this.now(),
          memory: job.memory,
          hint: this.hint,
          ...(signal ? { signal } : {}),
        }),
      );
      if (signal?.aborted) return { reached: false, counted: 0 };
      this.reportProblems(job, cycle, log);
      await this.commit(job, stored, cycle);
      job.memory = cycle.memory;
      // After the probe: a first build found from 1 confirms the start before any new search.
      if (job.unsure && job.stored) job.stored = await this.confirmStart(job, job.stored, limit, log, signal);
      const reached = cycle.errors.length === 0 && cycle.invalid.length === 0 && !job.unsure;
      if (reached) {
        job.lastReachedAt = this.now();
        this.options.self.lastSuccessfulPoll.set({ job_id: job.id, job_name: job.name }, job.lastReachedAt);
      } else if (cycle.errors.length > 0) {
        log.warn({ err: cycle.errors[0], failures: cycle.errors.length }, 'polling job failed; will retry next cycle');
      }
      return { reached, counted: cycle.finished.length };
    } catch (error) {
      if (signal?.aborted) return { reached: false, counted: 0 };
      log.error({ err: error }, 'polling job failed; state unchanged, will retry next cycle');
      return { reached: false, counted: 0 };
    }
  }

  /** First sight of a job with no saved state: choose the starting point and commit it. */
  private async start(job: JobRuntime, limit: LimitFunction, log: Logger, signal?: AbortSignal): Promise<void> {
    const { startAt } = this.options;
    const state = startAt === 'latest' ? ((await this.findStart(job, limit, log, signal)) ?? emptyJobState()) : { ...emptyJobState(), cursor: startAt - 1 };
    if (signal?.aborted) return;
    const version = await this.options.store.commit(job.id, 0, state, []);
    job.stored = { state, version };
    this.publishSnapshot(job.id, state);
    log.info({ start_at: startAt, cursor: state.cursor }, 'job starting point chosen');
  }

  /**
   * The newest build per `start_at: latest`; undefined when it cannot be found (no running-status
   * answer and no probe hit): the job then starts at 0, so a job that never ran counts its first
   * build, and is reported failing until its start is confirmed (see confirmStart).
   */
  private async findStart(job: JobRuntime, limit: LimitFunction, log: Logger, signal?: AbortSignal): Promise<JobState | undefined> {
    try {
      // Once a search found nothing, later attempts ask running-status only; the gap checks' far
      // look keeps probing ahead of 0 meanwhile.
      const hintOnly = job.unsure !== undefined;
      const state = await limit(() => findLatestStart(this.options.client, this.hint, job.id, signal, hintOnly));
      delete job.unsure;
      return state;
    } catch (error) {
      if (!(error instanceof StartPointUnknownError)) throw error;
      const failures = (job.unsure?.failures ?? 0) + 1;
      const wait = Math.min(START_RETRY_SECONDS * 2 ** (failures - 1), MAX_START_RETRY_SECONDS);
      job.unsure = { retryAt: this.now() + wait, failures };
      if (failures === 1) log.error({ retry_in_seconds: wait }, error.message);
      else log.debug({ retry_in_seconds: wait }, error.message);
      return undefined;
    }
  }

  /**
   * A job started at 0 without knowing its newest build: confirmed once the probe finds its builds
   * from 1 on; otherwise searched again on a backoff, and moved to the newest build when found (build
   * 1 does not exist then, so what the search finds lies past a retention hole: history).
   */
  private async confirmStart(job: JobRuntime, stored: StoredJob, limit: LimitFunction, log: Logger, signal?: AbortSignal): Promise<StoredJob> {
    const { state } = stored;
    if (state.cursor > 0 || state.pending.length > 0) {
      delete job.unsure;
      log.info({ cursor: state.cursor }, 'job starting point confirmed: its builds are numbered from 1');
      return stored;
    }
    if (this.now() < (job.unsure?.retryAt ?? 0)) return stored;
    const found = await this.findStart(job, limit, log, signal);
    if (!found || found.cursor === 0 || signal?.aborted) return stored;
    const version = await this.options.store.commit(job.id, stored.version, found, []);
    this.publishSnapshot(job.id, found);
    log.info({ cursor: found.cursor }, 'job starting point found');
    return { state: found, version };
  }

  /** The exactly-once boundary: metrics change only after the commit is durable. */
  private async commit(job: JobRuntime, stored: StoredJob, cycle: JobCycleResult): Promise<void> {
    if (JSON.stringify(cycle.next) !== JSON.stringify(stored.state)) {
      // Read with the state file's job versions, this shows what a process killed after the commit
      // became durable but before `build_counted` was logged had counted.
      if (cycle.finished.length > 0) {
        this.options.logger.debug(
          { event: 'build_commit', job_id: job.id, version: stored.version + 1, build_nos: cycle.finished.map(({ record }) => record.buildNo) },
          'committing counted builds',
        );
      }
      const version = await this.options.store.commit(job.id, stored.version, cycle.next, toCounted(cycle.finished));
      job.stored = { state: cycle.next, version };
    }
    const { metrics, logger } = this.options;
    for (const { record, result } of cycle.finished) {
      metrics.countFinished(job.id, record, result);
      logger.debug({ event: 'build_counted', job_id: job.id, build_no: record.buildNo, result, trigger_type: record.triggerType }, 'build counted');
    }
    for (const seconds of cycle.queueTimes) metrics.observeQueue(job.id, seconds);
    this.publishSnapshot(job.id, cycle.next);
  }

  private publishSnapshot(jobId: string, state: JobState): void {
    this.options.metrics.setSnapshot(jobId, {
      inProgress: state.pending.length,
      lastNumber: state.cursor,
      last: state.last,
      lastSuccessAt: state.lastSuccessAt,
    });
  }

  private reportProblems(job: JobRuntime, cycle: JobCycleResult, log: Logger): void {
    const labels = { job_id: job.id, job_name: job.name };
    const invalid = cycle.invalid.length + cycle.problems.length;
    if (invalid > 0) this.options.self.invalidRecords.inc(labels, invalid);
    for (const error of cycle.invalid) log.warn({ build_no: error.buildNo, issues: error.issues }, 'invalid build record; will fetch it again');
    for (const { buildNo, problems } of cycle.problems) log.warn({ build_no: buildNo, problems }, 'build record has implausible values; counted, not observed');
    if (cycle.vanished.length > 0) this.options.self.vanishedBuilds.inc(labels, cycle.vanished.length);
    for (const buildNo of cycle.vanished) log.warn({ build_no: buildNo }, 'pending build no longer exists in CodeArts (not found on two cycles); dropped');
    for (const buildNo of cycle.dropped) log.info({ build_no: buildNo }, 'number that answered with an invalid record does not exist; dropped');
    for (const { buildNo, reason, ageSeconds } of cycle.abandoned) {
      this.options.self.abandonedBuilds.inc({ ...labels, reason });
      log.warn({ build_no: buildNo, reason, age_seconds: Math.round(ageSeconds) }, 'pending build given up after poll.max_pending_age; not counted');
    }
    for (const { record } of cycle.finished) this.noteUnknownStatus(log, record.buildNo, record.rawStatus, record.phase.recognised, 'counted with result "unknown"');
    for (const { buildNo, status } of cycle.unknownStatus) this.noteUnknownStatus(log, buildNo, status, false, 'no finish_time: kept pending');
    for (const { from, to } of cycle.gapsSkipped) log.info({ from, to, count: to - from + 1 }, 'build numbers passed over as a gap');
  }

  /** Unknown status values are logged once per value. */
  private noteUnknownStatus(log: Logger, buildNo: number, status: string, recognised: boolean, what: string): void {
    const key = `${what}\u0000${status}`;
    if (recognised || this.unknownStatuses.has(key)) return;
    this.unknownStatuses.add(key);
    log.warn({ build_no: buildNo, status }, `unknown build status; ${what} (logged once per value)`);
  }
}
