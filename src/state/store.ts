import type { BuildResult } from '../codearts/status.js';

/** The latest finished build of a job, for the `codearts_build_last_*` gauges. */
export interface LastBuild {
  buildNo: number;
  result: BuildResult;
  finishedAt: number;
  durationSeconds?: number;
}

/** Build numbers passed over (a gap, a retention hole), from..to inclusive. */
export interface SkippedRange {
  from: number;
  to: number;
  /** Re-checks left for the top of the range, in case a record there shows up late. */
  checksLeft: number;
}

/** What the exporter remembers about one job between cycles and across restarts (docs/design.md, "Polling semantics"). */
export interface JobState {
  /** Highest build number seen; the forward probe continues at cursor + 1. */
  cursor: number;
  /** Build numbers seen but not finished, re-fetched every cycle. */
  pending: number[];
  /** Pending builds whose queue time has already been observed. */
  queueObserved: number[];
  /** Numbers passed over as a gap or a hole, as ranges. */
  skipped: SkippedRange[];
  /** Numbers below the cursor that answered with an invalid record: re-fetched until they make sense. */
  unconfirmed: number[];
  /** Pending or unconfirmed builds that answered "does not exist" last cycle: dropped if they do again. */
  notFoundOnce: number[];
  /** When the exporter first saw each pending or unconfirmed build (Unix seconds, its own clock), by build number. */
  firstSeen: Record<string, number>;
  last?: LastBuild;
  /** Finish time of the latest successful build (Unix seconds). */
  lastSuccessAt?: number;
}

export interface StoredJob {
  state: JobState;
  /** Increases by one with every commit; a commit against an older version is rejected. */
  version: number;
}

/** A finished build that a commit records as counted. */
export interface CountedBuild {
  buildNo: number;
  result: BuildResult;
  triggerType: string;
}

/**
 * Durable per-job state. `commit` is the exactly-once boundary: it atomically replaces a job's
 * state and records what was counted; metrics change only after it resolves.
 */
export interface Store {
  /** Every saved job, keyed by job id. */
  load(): Promise<Map<string, StoredJob>>;
  /** Resolves with the new version once durable; rejects on a stale version or a failed save. */
  commit(jobId: string, expectedVersion: number, next: JobState, counted: readonly CountedBuild[]): Promise<number>;
  /** Drops a job's saved state (a job removed long ago); it would start afresh if it came back. */
  forget(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export class StaleVersionError extends Error {
  override readonly name = 'StaleVersionError';
  constructor(jobId: string, expected: number, actual: number) {
    super(`state of job ${jobId} changed underneath: expected version ${expected}, found ${actual}`);
  }
}

export function emptyJobState(): JobState {
  return { cursor: 0, pending: [], queueObserved: [], skipped: [], unconfirmed: [], notFoundOnce: [], firstSeen: {} };
}
