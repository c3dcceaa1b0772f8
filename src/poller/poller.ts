import pLimit, { type LimitFunction } from 'p-limit';
import type { CodeArtsClient } from '../codearts/client.js';
import type { JobStart, Store } from '../state/store.js';
import { systemClock, unixSeconds, type Clock } from '../support/clock.js';
import type { Events } from '../support/events.js';
import { commitDelta, toDelta } from './commit.js';
import type { CycleSummary, JobFindings, PollerEvent } from './events.js';
import type { JobCycleResult } from './job-cycle.js';
import { pollJob } from './job-poller.js';
import type { JobSet, PolledJob } from './job-set.js';
import { RunningStatusHint } from './running-status-hint.js';
import { StartPoints } from './start-point.js';

export type { CycleOutcome, CycleSummary } from './events.js';

export interface PollerOptions {
  client: CodeArtsClient;
  store: Store;
  jobs: JobSet;
  events: Events<PollerEvent>;
  startAt: 'latest' | number;
  maxBuildsPerJobPerCycle: number;
  /** A build pending longer than this (seconds) is given up. */
  maxPendingAgeSeconds: number;
  /** Jobs worked on at once; requests are bounded separately by the client. */
  jobConcurrency: number;
  /** Wall time for ages, gap checks and start retries; tests drive it from the simulator's virtual clock. @default systemClock */
  clock?: Clock;
}

/** One job's part in a cycle. */
interface JobOutcome {
  reached: boolean;
  counted: number;
  /** Polled by another replica this period (shared store): neither reached nor failed here. */
  skipped?: true;
}

const UNREACHED: JobOutcome = { reached: false, counted: 0 };
const SKIPPED: JobOutcome = { reached: false, counted: 0, skipped: true };

/**
 * Runs poll cycles over the job set: per job, what the store holds is the start, the job's cycle
 * (job-poller.ts) computes a delta, and the store commits it; the build metrics show only what was
 * committed. A failed job keeps its old state and is retried next cycle, so nothing is lost and
 * nothing is counted twice. Problems are reported as events, never logged or counted here.
 */
export class Poller {
  private readonly clock: Clock;
  private readonly hint: RunningStatusHint;
  private readonly starts: StartPoints;

  constructor(private readonly options: PollerOptions) {
    this.clock = options.clock ?? systemClock;
    this.hint = new RunningStatusHint(options.client, options.events, this.clock);
    const { client, store, events, startAt } = options;
    this.starts = new StartPoints({ client, store, events, startAt, hint: this.hint, clock: this.clock });
  }

  /** Polls every job once, `jobConcurrency` at a time. */
  async runCycle(signal?: AbortSignal): Promise<CycleSummary> {
    const started = this.clock.monotonic();
    const limit = pLimit(this.options.jobConcurrency);
    const startedAt = this.clock.now();
    const all = await Promise.all(this.options.jobs.jobs().map((job) => this.claimed(job, startedAt, limit, signal)));
    const outcomes = all.filter((o) => !o.skipped);
    const reached = outcomes.filter((o) => o.reached).length;
    return {
      outcome: reached === outcomes.length ? 'success' : reached === 0 ? 'failure' : 'partial',
      jobsReached: reached,
      jobsFailed: outcomes.length - reached,
      buildsCounted: outcomes.reduce((sum, o) => sum + o.counted, 0),
      seconds: (this.clock.monotonic() - started) / 1000,
    };
  }

  /** With a shared store, a job is polled only under its lease; its cycle gives the lease back however it ends. */
  private async claimed(job: PolledJob, startedAt: number, limit: LimitFunction, signal?: AbortSignal): Promise<JobOutcome> {
    const { store, events } = this.options;
    if (!store.claim) return this.pollOne(job, limit, signal);
    let outcome = UNREACHED;
    try {
      if ((await store.claim(job.id, startedAt)) !== 'ok') return SKIPPED;
      outcome = await this.pollOne(job, limit, signal);
      return outcome;
    } catch (error) {
      events.emit({ type: 'job_failed', job, error });
      return UNREACHED;
    } finally {
      await store.endClaim?.(job.id, !signal?.aborted && outcome !== UNREACHED).catch(() => undefined);
    }
  }

  /**
   * One job's cycle. Only the talking to CodeArts holds one of the `jobConcurrency` slots: waiting
   * for a commit to become durable does not, so commits from many jobs share one state-file write
   * instead of a write per few jobs (a write costs O(all jobs), which at 10,000 jobs made the cycle
   * wait for the disk, not the API).
   */
  private async pollOne(job: PolledJob, limit: LimitFunction, signal?: AbortSignal): Promise<JobOutcome> {
    try {
      const from = (await this.options.store.begin(job.id)) ?? (await this.starts.start(job, limit, signal));
      if (!from) return UNREACHED;
      const cycle = await limit(() => this.pollJob(job, from, signal));
      if (signal?.aborted) return UNREACHED;
      this.report(job, cycle);
      const committed = await commitDelta(this.options.store, this.options.events, job, from, toDelta(cycle));
      if (committed) job.stored = committed;
      job.memory = cycle.memory;
      // After the probe: a first build found from 1 confirms the start before any new search.
      if (job.unsure) await this.starts.confirm(job, committed ?? from, limit, signal);
      return this.settle(job, cycle);
    } catch (error) {
      if (!signal?.aborted) this.options.events.emit({ type: 'job_failed', job, error });
      return UNREACHED;
    }
  }

  private pollJob(job: PolledJob, from: JobStart, signal?: AbortSignal): Promise<JobCycleResult> {
    return pollJob(this.options.client, job.id, from.state, {
      maxBuildsPerCycle: this.options.maxBuildsPerJobPerCycle,
      maxPendingAgeSeconds: this.options.maxPendingAgeSeconds,
      now: unixSeconds(this.clock),
      memory: job.memory,
      hint: this.hint,
      signal,
    });
  }

  /** Reached: every call of the cycle reached CodeArts with a valid answer, and the start is known. */
  private settle(job: PolledJob, cycle: JobCycleResult): JobOutcome {
    const reached = cycle.errors.length === 0 && cycle.invalid.length === 0 && !job.unsure;
    if (reached) {
      job.lastReachedAt = unixSeconds(this.clock);
      this.options.events.emit({ type: 'job_reached', job, at: job.lastReachedAt });
    } else if (cycle.errors.length > 0) {
      this.options.events.emit({ type: 'job_unreached', job, errors: cycle.errors });
    }
    return { reached, counted: cycle.counted.length };
  }

  private report(job: PolledJob, cycle: JobCycleResult): void {
    const findings: JobFindings = {
      invalid: cycle.invalid,
      implausible: cycle.implausible,
      vanished: cycle.vanished,
      dropped: cycle.dropped,
      abandoned: cycle.abandoned,
      unknownStatus: cycle.unknownStatus,
      gapsSkipped: cycle.gapsSkipped,
    };
    if (Object.values(findings).some((list: readonly unknown[]) => list.length > 0))
      this.options.events.emit({ type: 'job_findings', job, findings });
  }
}
