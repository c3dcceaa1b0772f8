import type { CodeArtsError } from '../codearts/errors.js';
import type { InvalidRecordError } from '../codearts/record.js';
import type { CountedBuild, QueueObservation } from '../domain/counters.js';
import type { AbandonReason, JobProject, JobRef } from '../domain/job.js';
import type { StoredJob } from '../state/store.js';
import type { DetailMissing } from './job-cycle.js';
import type { StartPointUnknownError } from './start-point.js';

/** A poll cycle over every job: reached all, some or none. */
export type CycleOutcome = 'success' | 'partial' | 'failure';

export interface CycleSummary {
  outcome: CycleOutcome;
  jobsReached: number;
  jobsFailed: number;
  buildsCounted: number;
  /** Jobs not probed at all because the change feed said nothing moved (0 without it). */
  jobsSkipped: number;
  seconds: number;
}

/** What one job's cycle found that is worth telling (the build counts themselves go to the store). */
export interface JobFindings {
  /** Records that failed validation: the job is reported failing, the build fetched again. */
  invalid: readonly InvalidRecordError[];
  /** Records counted with implausible values left out. */
  implausible: ReadonlyArray<{ buildNo: number; problems: readonly string[] }>;
  /** Pending builds CodeArts said twice in a row do not exist (deleted records). */
  vanished: readonly number[];
  /** Unconfirmed numbers (invalid answers earlier) that turned out not to exist. */
  dropped: readonly number[];
  abandoned: ReadonlyArray<{ buildNo: number; reason: AbandonReason; ageSeconds: number }>;
  /** Builds whose status nobody recognises: counted as `unknown` when finished, else kept pending. */
  unknownStatus: ReadonlyArray<{ buildNo: number; status: string; finished: boolean }>;
  gapsSkipped: ReadonlyArray<{ from: number; to: number }>;
}

/** A job as events name it; `lastReachedAt` (Unix seconds) once a cycle reached CodeArts for it. */
export interface ReportedJob extends JobRef {
  lastReachedAt?: number;
}

/** What the poller, its job set, discovery and the running-status hint report (see src/support/events.ts). */
export type PollerEvent =
  | { type: 'cycle_finished'; summary: CycleSummary; aborted: boolean }
  /** A scheduled tick found the previous cycle still running. */
  | { type: 'cycle_skipped'; reason: 'schedule' | 'startup' }
  /** A cycle ended with an error nothing else caught. */
  | { type: 'cycle_failed'; error: unknown }
  /**
   * A job is polled: at start-up, newly discovered, or back within `state.keep_removed_jobs`. Its
   * series are shown, from what the store holds for it when it has history.
   */
  | { type: 'job_added'; job: ReportedJob; stored: StoredJob | undefined; reason: 'start' | 'new' | 'back' }
  | { type: 'job_renamed'; job: ReportedJob; oldName: string }
  /** No longer listed: it stops being polled; its build series stay for the grace period. */
  | { type: 'job_left'; job: JobRef }
  /** The grace period passed: its series go. */
  | { type: 'job_expired'; job: JobRef }
  | { type: 'job_findings'; job: JobRef; findings: JobFindings }
  /**
   * A commit became durable: `stored` is what the store now holds (the build metrics show it);
   * `counted` and `queued` are its observations (the exemplars of `/metrics` in OpenMetrics).
   */
  | { type: 'job_committed'; job: JobRef; stored: StoredJob; counted: readonly CountedBuild[]; queued?: readonly QueueObservation[] }
  /** Builds whose details were given up, reported once the commit that gave them up is durable. */
  | { type: 'details_missing'; job: JobRef; missing: readonly DetailMissing[] }
  /** Every call of the job's cycle reached CodeArts; `at` in Unix seconds. */
  | { type: 'job_reached'; job: JobRef; at: number }
  /** Some calls failed; what they missed is fetched next cycle. */
  | { type: 'job_unreached'; job: JobRef; errors: readonly CodeArtsError[] }
  /** The cycle itself failed (a failed commit, an unexpected error): state unchanged. */
  | { type: 'job_failed'; job: JobRef; error: unknown }
  | { type: 'start_chosen'; job: JobRef; startAt: 'latest' | number; cursor: number }
  | { type: 'start_unknown'; job: JobRef; error: StartPointUnknownError; retryInSeconds: number; first: boolean }
  | { type: 'start_confirmed'; job: JobRef; cursor: number }
  | { type: 'start_found'; job: JobRef; cursor: number }
  | { type: 'running_status'; available: true; recovered: boolean }
  | { type: 'running_status'; available: false; jobId: string; reason: string; retryInSeconds: number; first: boolean }
  /** The global job list answered (every cycle it is read); `incomplete` the first time it stops short for a new reason. */
  | { type: 'change_feed'; available: true; recovered: boolean; pages: number; listed: number; total: number; incomplete?: string }
  /** It did not: the cycle probes every job; asked again in `retryInSeconds`. `first`: the first failure since it answered. */
  | { type: 'change_feed'; available: false; reason: string; retryInSeconds: number; first: boolean }
  /** A listed job's full probe found builds the list did not show (it lagged, or left them out): counted all the same. */
  | { type: 'safety_probe_found'; job: JobRef; builds: readonly number[]; listed: number }
  /** The list named the job's project for the first time, or another one. */
  | { type: 'job_project'; job: JobRef; project: JobProject; previous: JobProject | undefined }
  | { type: 'project_listed'; projectId: string; jobs: number; incomplete?: { listed: number; total: number; reason: string } }
  | { type: 'project_failed'; projectId: string; keptJobs: number; error: unknown };
