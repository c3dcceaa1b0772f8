import type { BuildResult } from './build.js';
import type { HealthEntry, JobHealth } from './health.js';

/** A polled build job: its CodeArts id, the name shown in the `job_name` label and its project. */
export interface JobRef {
  id: string;
  name: string;
  /**
   * The id of the CodeArts project the job belongs to (the `project` label of the build metrics):
   * the project discovery listed it from, or the static job's `project`; absent when unknown.
   */
  project?: string | undefined;
}

/**
 * The labels that identify a job on every build series, in exposition order. `job_id` is the key;
 * `job_name` is for display; `project` (the CodeArts project id, not its name: ids never change
 * and never repeat) is left out when unknown, so a series keeps the identity it had without it.
 */
export function jobLabelPairs(job: JobRef): Array<[string, string]> {
  const pairs: Array<[string, string]> = [
    ['job_id', job.id],
    ['job_name', job.name],
  ];
  if (job.project) pairs.push(['project', job.project]);
  return pairs;
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

/**
 * A counted build whose details (its steps) could not be fetched yet: asked again every cycle until
 * they come or `metrics.details_retry_for` has passed since `since` (Unix seconds, the exporter's clock).
 */
export type DetailKind = 'steps' | 'analysis';

export interface DetailsWanted {
  buildNo: number;
  /** What is still to be fetched. */
  kinds: DetailKind[];
  /** `build_record_id` of its record-info, the key of full-stages; absent when the record had none. */
  recordId?: string;
  /** The build failed: an empty full-stages map is then asked again of history-details. */
  failed: boolean;
  since: number;
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
  /** Counted builds whose details are still to be fetched; absent when none. */
  details?: DetailsWanted[];
  /** Failing streak and the last decisive build (metrics.recovery); absent until a build was folded. */
  health?: JobHealth;
  /** Counted builds not folded into `health` yet: a lower build number is still pending. */
  healthQueue?: HealthEntry[];
  /**
   * The first build number this state counts (cursor + 1 when the start point was chosen): builds
   * below it are history, which `backfill` may write; absent in states saved before it was recorded.
   */
  countingFrom?: number;
  /** When counting began (Unix seconds, the exporter's clock): backfilled samples end before it. */
  countingSince?: number;
}

/** Why a pending build was given up after `poll.max_pending_age` (the `reason` of `codearts_exporter_abandoned_builds_total`). */
export const ABANDON_REASONS = ['unknown_status', 'still_in_progress', 'invalid_record'] as const;
export type AbandonReason = (typeof ABANDON_REASONS)[number];

export function emptyJobState(): JobState {
  return { cursor: 0, pending: [], queueObserved: [], skipped: [], unconfirmed: [], notFoundOnce: [], firstSeen: {} };
}
