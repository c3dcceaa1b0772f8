import pLimit, { type LimitFunction } from 'p-limit';
import type { CodeArtsClient } from '../codearts/client.js';
import type { JobStart, Store } from '../state/store.js';
import { systemClock, unixSeconds, type Clock } from '../support/clock.js';
import type { Events } from '../support/events.js';
import { ChangeFeed, type FeedSnapshot } from './change-feed.js';
import { commitDelta, toDelta } from './commit.js';
import { collectDetails, MAX_DETAILS_WANTED } from './details.js';
import type { CycleSummary, JobFindings, PollerEvent } from './events.js';
import type { JobCycleResult } from './job-cycle.js';
import { pollJob } from './job-poller.js';
import { FeedPlanner } from './feed-planner.js';
import type { JobSet, PolledJob } from './job-set.js';
import type { ProbePlan } from './probe-plan.js';
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
  /** `poll.change_feed`: read the global job list first each cycle (`auto`), or probe every job (`off`). @default 'off' */
  changeFeed?: 'auto' | 'off';
  /** `poll.full_probe_interval`, seconds: every listed job is probed fully at least this often. @default 600 */
  fullProbeIntervalSeconds?: number;
  /** Build details fetched before each commit (details.ts). @default none */
  details?: { steps: boolean; failures: boolean; retryForSeconds: number };
  /** metrics.recovery: fold counted builds into each job's health. @default off */
  health?: { flakyWindowSeconds: number } | undefined;
}

/** One job's part in a cycle. */
interface JobOutcome {
  reached: boolean;
  counted: number;
  /** Not probed: the change feed said nothing moved. */
  skipped?: boolean;
  /** Polled by another replica this period (shared store): neither reached nor failed here. */
  elsewhere?: true;
}

const UNREACHED: JobOutcome = { reached: false, counted: 0 };
const ELSEWHERE: JobOutcome = { reached: false, counted: 0, elsewhere: true };
type ProbedPlan = Exclude<ProbePlan, { kind: 'skip' }>;

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
  private readonly feed: ChangeFeed | undefined;
  private readonly planner: FeedPlanner;

  constructor(private readonly options: PollerOptions) {
    this.clock = options.clock ?? systemClock;
    this.hint = new RunningStatusHint(options.client, options.events, this.clock);
    const { client, store, events, startAt } = options;
    this.starts = new StartPoints({ client, store, events, startAt, hint: this.hint, clock: this.clock });
    this.feed = options.changeFeed === 'auto' ? new ChangeFeed(client, events, this.clock) : undefined;
    this.planner = new FeedPlanner(events, this.clock, options.fullProbeIntervalSeconds ?? 600);
  }

  /** Polls every job once, `jobConcurrency` at a time. */
  async runCycle(signal?: AbortSignal): Promise<CycleSummary> {
    const started = this.clock.monotonic();
    const snapshot = await this.feed?.read(signal);
    const limit = pLimit(this.options.jobConcurrency);
    const startedAt = this.clock.now();
    const all = await Promise.all(this.options.jobs.jobs().map((job) => this.claimed(job, startedAt, limit, snapshot, signal)));
    const outcomes = all.filter((o) => !o.elsewhere);
    const reached = outcomes.filter((o) => o.reached).length;
    return {
      outcome: reached === outcomes.length ? 'success' : reached === 0 ? 'failure' : 'partial',
      jobsReached: reached,
      jobsFailed: outcomes.length - reached,
      buildsCounted: outcomes.reduce((sum, o) => sum + o.counted, 0),
      jobsSkipped: outcomes.filter((o) => o.skipped).length,
      seconds: (this.clock.monotonic() - started) / 1000,
    };
  }

  /** With a shared store, a job is polled only under its lease; its cycle gives the lease back however it ends. */
  private async claimed(
    job: PolledJob,
    startedAt: number,
    limit: LimitFunction,
    snapshot: FeedSnapshot | undefined,
    signal?: AbortSignal,
  ): Promise<JobOutcome> {
    const { store, events } = this.options;
    if (!store.claim) return this.pollOne(job, limit, snapshot, signal);
    let outcome = UNREACHED;
    try {
      if ((await store.claim(job.id, startedAt)) !== 'ok') return ELSEWHERE;
      outcome = await this.pollOne(job, limit, snapshot, signal);
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
  private async pollOne(
    job: PolledJob,
    limit: LimitFunction,
    snapshot: FeedSnapshot | undefined,
    signal?: AbortSignal,
  ): Promise<JobOutcome> {
    try {
      const from = (await this.options.store.begin(job.id)) ?? (await this.starts.start(job, limit, signal));
      if (!from) return UNREACHED;
      const plan = this.planner.plan(job, from.state, snapshot);
      if (plan.kind === 'skip') return this.skip(job);
      const cycle = await limit(() => this.pollJob(job, from, plan, signal));
      if (signal?.aborted) return UNREACHED;
      this.planner.after(job, plan, from.state.cursor, cycle);
      this.report(job, cycle);
      const committed = await commitDelta(this.options.store, this.options.events, job, from, toDelta(cycle));
      if (committed) job.stored = committed;
      if (committed && cycle.detailsMissing.length > 0)
        this.options.events.emit({ type: 'details_missing', job, missing: cycle.detailsMissing });
      job.memory = cycle.memory;
      // After the probe: a first build found from 1 confirms the start before any new search.
      if (job.unsure) await this.starts.confirm(job, committed ?? from, limit, signal);
      return this.settle(job, cycle);
    } catch (error) {
      if (!signal?.aborted) this.options.events.emit({ type: 'job_failed', job, error });
      return UNREACHED;
    }
  }

  /** The list answered for the job and nothing moved: it counts as reached, with nothing to commit. */
  private skip(job: PolledJob): JobOutcome {
    job.lastReachedAt = unixSeconds(this.clock);
    this.options.events.emit({ type: 'job_reached', job, at: job.lastReachedAt });
    return { reached: true, counted: 0, skipped: true };
  }

  /** The job's record-info lookups, then the details of what they counted (and of builds still waiting for theirs). */
  private async pollJob(job: PolledJob, from: JobStart, plan: ProbedPlan, signal?: AbortSignal): Promise<JobCycleResult> {
    const now = unixSeconds(this.clock);
    const cycle = await pollJob(this.options.client, job.id, from.state, {
      plan,
      maxBuildsPerCycle: this.options.maxBuildsPerJobPerCycle,
      maxPendingAgeSeconds: this.options.maxPendingAgeSeconds,
      now,
      memory: job.memory,
      hint: this.hint,
      signal,
      health: this.options.health,
    });
    const details = this.options.details;
    if (details && (details.steps || details.failures))
      await collectDetails(this.options.client, job.id, cycle, { ...details, maxWanted: MAX_DETAILS_WANTED, now, signal });
    return cycle;
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
