import type { BuildResult } from '../domain/build.js';
import type { JobState } from '../domain/job.js';

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
