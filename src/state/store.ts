import {
  countDelta,
  emptyCounters,
  type CounterFamily,
  type CounterLayout,
  type CycleDelta,
  type JobCounters,
} from '../domain/counters.js';
import type { JobState } from '../domain/job.js';

/** A job as the store holds it; never changed in place (a commit replaces it). */
export interface StoredJob {
  /** Increases by one with every commit; a commit against an older version is rejected. */
  version: number;
  state: JobState;
  /** What the job has counted: the build metrics are rendered from it. */
  counters: JobCounters;
}

/** What a job's cycle starts from. */
export interface JobStart {
  version: number;
  state: JobState;
}

/**
 * Durable per-job state and counters (docs/design.md, "State and the commit point"). `commit` is
 * the exactly-once boundary: it applies a cycle's delta (the builds it counted, the queue times it
 * observed, the next state) atomically; the build metrics show a commit only once it resolved.
 * Nothing here assumes a file system, so a shared store for several replicas fits the same seam.
 */
export interface Store {
  /** Every saved job, keyed by job id: what is shown before the first cycle. */
  load(): Promise<Map<string, StoredJob>>;
  /** The job's committed state and version for a cycle to start from; undefined when it was never committed. */
  begin(jobId: string): Promise<JobStart | undefined>;
  /** Resolves with the job as committed once durable; rejects on a stale version or a failed save (nothing applied). */
  commit(jobId: string, expectedVersion: number, delta: CycleDelta): Promise<StoredJob>;
  /** Drops a job's saved state (a job removed long ago); it would start afresh if it came back. */
  forget(jobId: string): Promise<void>;
  close(): Promise<void>;
  /**
   * Shared stores only (several replicas): takes the job's lease for this cycle. 'busy': another
   * replica polls it now; 'done': a replica polled it in this cycle's period (the cycle's start, ms
   * of the poller's clock, names it). Either skips it.
   */
  claim?(jobId: string, cycleStartedAt: number): Promise<ClaimAnswer>;
  /** Gives the lease back; `polled` when the cycle ran to its end (the job is then not due again this period). */
  endClaim?(jobId: string, polled: boolean): Promise<void>;
  /** Shared stores: the jobs committed by other replicas since this one last looked, to show in `/metrics`. */
  changes?(): Promise<Map<string, StoredJob>>;
  /** Shared stores: whether the store can be reached now (`/readyz`). */
  health?(): { ok: true } | { ok: false; reason: string };
}

export type ClaimAnswer = 'ok' | 'busy' | 'done';

/** Why a shared store refused a job to this replica: busy (taken), done (polled), fenced or lost (lease gone), stale (committed meanwhile). */
export type LeaseConflict = 'busy' | 'fenced' | 'stale' | 'lost';

export type StoreEvent =
  /** A save failed: the exporter keeps serving; what it could not commit is fetched and counted again later. */
  | { type: 'state_save_failed'; path: string; error: unknown }
  /** Saved counters were kept in another metrics layout: these families restart from zero (every job). */
  | { type: 'counters_reset'; families: CounterFamily[]; from: CounterLayout; to: CounterLayout; jobs: number }
  /** A shared store refused this replica a job or a commit (nothing applied; another replica has it). */
  | { type: 'lease_conflict'; jobId: string; reason: LeaseConflict }
  /** The shared store's connection went down or came back. */
  | { type: 'redis_connection'; up: boolean };

/**
 * The job after a commit of `delta` on top of `current` (undefined: never committed): the next
 * version, the delta's state, the counters with its observations. Throws StaleVersionError when
 * `current` is not at `expectedVersion`. Every store applies a commit this way.
 */
export function nextStored(
  jobId: string,
  current: StoredJob | undefined,
  expectedVersion: number,
  delta: CycleDelta,
  layout: CounterLayout,
): StoredJob {
  const version = current?.version ?? 0;
  if (version !== expectedVersion) throw new StaleVersionError(jobId, expectedVersion, version);
  return {
    version: version + 1,
    state: structuredClone(delta.next),
    counters: countDelta(current?.counters ?? emptyCounters(), delta, layout),
  };
}

export class StaleVersionError extends Error {
  override readonly name = 'StaleVersionError';
  constructor(jobId: string, expected: number, actual: number) {
    super(`state of job ${jobId} changed underneath: expected version ${expected}, found ${actual}`);
  }
}
