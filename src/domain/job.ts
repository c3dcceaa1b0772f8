import type { BuildResult } from './build.js';

/** A polled build job: its CodeArts id and the name shown in the `job_name` label. */
export interface JobRef {
  id: string;
  name: string;
}

/** A CodeArts project as the global job list names it (`project_id`, `project_name`; the name may be ''). */
export interface JobProject {
  id: string;
  name: string;
}

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

/** Why a pending build was given up after `poll.max_pending_age` (the `reason` of `codearts_exporter_abandoned_builds_total`). */
export const ABANDON_REASONS = ['unknown_status', 'still_in_progress', 'invalid_record'] as const;
export type AbandonReason = (typeof ABANDON_REASONS)[number];

export function emptyJobState(): JobState {
  return { cursor: 0, pending: [], queueObserved: [], skipped: [], unconfirmed: [], notFoundOnce: [], firstSeen: {} };
}
