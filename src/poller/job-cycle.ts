import type { CodeArtsClient, RecordLookup } from '../codearts/client.js';
import { isCodeArtsError, type CodeArtsError } from '../codearts/errors.js';
import { InvalidRecordError } from '../codearts/record.js';
import type { BuildRecord } from '../domain/build.js';
import { countedBuild, type CountedBuild, type QueueObservation } from '../domain/counters.js';
import type { BuildFailures } from '../domain/failures.js';
import { foldHealth, type HealthEntry } from '../domain/health.js';
import type { BuildSteps } from '../domain/steps.js';
import type { AbandonReason, JobState } from '../domain/job.js';
import type { GapMemory } from './gap-policy.js';

/** Everything one job's cycle learned; nothing of it is visible before it is committed. */
export interface JobCycleResult {
  next: JobState;
  memory: GapMemory;
  /** Finished builds to count, each with the observations its commit makes. */
  counted: CountedBuild[];
  /** Queue times first known this cycle for builds still pending. */
  queued: QueueObservation[];
  /** Steps fetched this cycle, of builds counted now or earlier (details.ts). */
  steps: BuildSteps[];
  /** Causes of failed builds fetched this cycle (log analysis), of builds counted now or earlier. */
  failures: BuildFailures[];
  /** Times to restore observed this cycle (metrics.recovery), seconds. */
  recoveries: number[];
  /** Flaky builds found this cycle. */
  flaky: number;
  /** Builds whose details were given up this cycle (not found, or still failing after `metrics.details_retry_for`). */
  detailsMissing: DetailMissing[];
  /** Records that failed validation: the job is reported failing. */
  invalid: InvalidRecordError[];
  /** Records counted with implausible values left out. */
  implausible: Array<{ buildNo: number; problems: string[] }>;
  /** API failures; empty when every call reached CodeArts. */
  errors: CodeArtsError[];
  /** Pending builds CodeArts said twice in a row do not exist (deleted records). */
  vanished: number[];
  /** Unconfirmed numbers (invalid answers earlier) that turned out not to exist. */
  dropped: number[];
  /** Builds given up after max_pending_age. */
  abandoned: Array<{ buildNo: number; reason: AbandonReason; ageSeconds: number }>;
  /** Builds whose status nobody recognises: counted as `unknown` when finished, else kept pending. */
  unknownStatus: Array<{ buildNo: number; status: string; finished: boolean }>;
  newBuilds: number;
  /** The build numbers the cursor moved to this cycle (new builds, counted or pending). */
  advanced: number[];
  gapsSkipped: Array<{ from: number; to: number }>;
  /** A gap check ran this cycle (running-status asked or a look ahead). */
  gapChecked: boolean;
  farProbed: boolean;
}

export interface DetailMissing {
  buildNo: number;
  kind: 'steps' | 'analysis';
  reason: 'not_found' | 'gave_up';
}

/** A record-info answer as the cycle sees it: found, not found, an invalid record, or a failed call. */
export type Lookup = RecordLookup | 'failed' | 'invalid';

export interface JobCycleOptions {
  maxBuildsPerCycle: number;
  maxPendingAgeSeconds: number;
  /** Unix seconds, the cycle's clock. */
  now: number;
  signal?: AbortSignal;
  /** metrics.recovery on: fold counted builds into the job's health. */
  health?: { flakyWindowSeconds: number } | undefined;
}

/**
 * The working state of one job's cycle: the sets it changes, the record-info lookups it makes and
 * the forward budget they draw on. `finish()` writes it all back into `next`.
 */
export class JobCycle {
  readonly next: JobState;
  readonly result: JobCycleResult;
  readonly pending: Set<number>;
  readonly unconfirmed: Set<number>;
  readonly notFoundOnce: Set<number>;
  private readonly queueObserved: Set<number>;
  private readonly firstSeen: Map<number, number>;
  /** The records of the builds counted this cycle, for the last-build gauges. */
  private readonly finishedRecords: BuildRecord[] = [];
  /** Requests left this cycle for the forward probe and gap searches. */
  budget: number;
  /** The newest build the change feed listed: a forward probe stops there instead of probing past it. */
  ceiling: number | undefined = undefined;

  constructor(
    private readonly client: CodeArtsClient,
    readonly jobId: string,
    state: JobState,
    memory: GapMemory,
    readonly options: JobCycleOptions,
  ) {
    this.next = structuredClone(state);
    this.pending = new Set(state.pending);
    this.unconfirmed = new Set(state.unconfirmed);
    this.notFoundOnce = new Set(state.notFoundOnce);
    this.queueObserved = new Set(state.queueObserved);
    this.firstSeen = new Map(Object.entries(state.firstSeen).map(([n, at]) => [Number(n), at]));
    this.budget = options.maxBuildsPerCycle;
    this.result = {
      next: this.next,
      memory: { ...memory },
      counted: [],
      queued: [],
      steps: [],
      failures: [],
      recoveries: [],
      flaky: 0,
      detailsMissing: [],
      invalid: [],
      implausible: [],
      errors: [],
      vanished: [],
      dropped: [],
      abandoned: [],
      unknownStatus: [],
      newBuilds: 0,
      advanced: [],
      gapsSkipped: [],
      gapChecked: false,
      farProbed: false,
    };
  }

  get now(): number {
    return this.options.now;
  }

  async fetch(buildNo: number): Promise<Lookup> {
    const { signal } = this.options;
    try {
      return await this.client.getRecord(this.jobId, buildNo, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof InvalidRecordError) {
        this.result.invalid.push(error);
        return 'invalid';
      }
      if (!isCodeArtsError(error)) throw error;
      this.result.errors.push(error);
      return 'failed';
    }
  }

  /** A lookup paid from the forward budget (probe, gap search, look ahead). */
  async forwardFetch(buildNo: number): Promise<Lookup> {
    this.budget -= 1;
    return this.fetch(buildNo);
  }

  /** Applies a fetched record: a finished build is counted, any other (re)joins the pending set. */
  absorb(record: BuildRecord): void {
    const { buildNo, phase } = record;
    this.unconfirmed.delete(buildNo);
    this.notFoundOnce.delete(buildNo);
    // Observed once per build: while it waits, or when it finished without having been seen waiting.
    const queueSeconds = this.queueObserved.has(buildNo) ? undefined : record.queueSeconds;
    if (!phase.recognised) this.result.unknownStatus.push({ buildNo, status: record.rawStatus, finished: phase.finished });
    if (phase.finished) {
      this.result.counted.push(countedBuild(record, phase.result, queueSeconds));
      this.finishedRecords.push(record);
      if (record.problems.length > 0) this.result.implausible.push({ buildNo, problems: record.problems });
      this.forget(buildNo);
      return;
    }
    this.pending.add(buildNo);
    this.noteFirstSeen(buildNo);
    if (queueSeconds !== undefined) {
      this.result.queued.push({ buildNo, seconds: queueSeconds, recordId: record.recordId, at: record.startedAt ?? record.finishedAt });
      this.queueObserved.add(buildNo);
    }
  }

  /** A number whose answer was an invalid record, below a confirmed build: re-fetched until it makes sense. */
  addUnconfirmed(buildNo: number): void {
    this.unconfirmed.add(buildNo);
    this.noteFirstSeen(buildNo);
  }

  /**
   * Age of a pending or unconfirmed build: seconds since this exporter first saw it, on its own
   * clock (the record's create_time is on CodeArts' clock, and a build first seen late still gets
   * its full max_pending_age of attention).
   */
  ageOf(buildNo: number): number {
    return this.now - (this.firstSeen.get(buildNo) ?? this.now);
  }

  /** Drops every trace of a build number from the sets (it was counted, vanished or abandoned). */
  forget(buildNo: number): void {
    this.pending.delete(buildNo);
    this.unconfirmed.delete(buildNo);
    this.notFoundOnce.delete(buildNo);
    this.queueObserved.delete(buildNo);
    this.firstSeen.delete(buildNo);
  }

  advanceTo(record: BuildRecord): void {
    this.absorb(record);
    this.next.cursor = record.buildNo;
    this.result.newBuilds += 1;
    this.result.advanced.push(record.buildNo);
  }

  finish(): JobCycleResult {
    const sorted = (set: Set<number>) => [...set].sort((a, b) => a - b);
    this.next.pending = sorted(this.pending);
    this.next.unconfirmed = sorted(this.unconfirmed);
    this.next.notFoundOnce = sorted(this.notFoundOnce);
    this.next.queueObserved = sorted(this.queueObserved).filter((n) => this.pending.has(n));
    const tracked = new Set([...this.pending, ...this.unconfirmed]);
    this.next.firstSeen = Object.fromEntries(
      [...this.firstSeen]
        .filter(([n]) => tracked.has(n))
        .sort((a, b) => a[0] - b[0])
        .map(([n, at]) => [String(n), at]),
    );
    for (const record of this.finishedRecords) updateLast(this.next, record);
    if (this.options.health) foldCounted(this.next, this.result, this.options.health.flakyWindowSeconds);
    return this.result;
  }

  private noteFirstSeen(buildNo: number): void {
    if (!this.firstSeen.has(buildNo)) this.firstSeen.set(buildNo, this.now);
  }
}

/**
 * Queues the builds counted this cycle and folds, in build-number order, those below every build
 * still pending or unconfirmed: a build that finishes late is folded in its place, never skipped.
 */
function foldCounted(state: JobState, result: JobCycleResult, flakyWindowSeconds: number): void {
  const queued: HealthEntry[] = [
    ...(state.healthQueue ?? []),
    ...result.counted.map(({ buildNo, result: outcome, finishedAt, commit }) => ({
      buildNo,
      result: outcome,
      ...(finishedAt !== undefined ? { finishedAt } : {}),
      ...(commit ? { commit } : {}),
    })),
  ].sort((a, b) => a.buildNo - b.buildNo);
  const open = Math.min(...state.pending, ...state.unconfirmed);
  const ready = queued.filter((entry) => entry.buildNo < open);
  const waiting = queued.filter((entry) => entry.buildNo >= open);
  if (waiting.length > 0) state.healthQueue = waiting;
  else delete state.healthQueue;
  if (ready.length === 0) return;
  const fold = foldHealth(state.health ?? { failures: 0 }, ready, flakyWindowSeconds);
  state.health = fold.health;
  result.recoveries.push(...fold.recoveries);
  result.flaky += fold.flaky;
}

/** The latest finished build is the one that finished last (ties: the higher number). */
function updateLast(state: JobState, record: BuildRecord): void {
  const { finishedAt, phase } = record;
  if (finishedAt === undefined || !phase.finished) return;
  const result = phase.result;
  const last = state.last;
  if (!last || finishedAt > last.finishedAt || (finishedAt === last.finishedAt && record.buildNo > last.buildNo)) {
    state.last = { buildNo: record.buildNo, result, finishedAt };
    if (record.durationSeconds !== undefined) state.last.durationSeconds = record.durationSeconds;
  }
  if (result === 'success' && (state.lastSuccessAt === undefined || finishedAt > state.lastSuccessAt)) {
    state.lastSuccessAt = finishedAt;
  }
}
