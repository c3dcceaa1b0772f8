/** What a finished build is, in the exporter's terms: result, trigger, times (docs/design.md, "Talking to CodeArts"). */

/** The closed set of `result` label values. */
export const BUILD_RESULTS = ['success', 'failure', 'aborted', 'timeout', 'unknown'] as const;
export type BuildResult = (typeof BUILD_RESULTS)[number];

/** Trigger types every job starts with at zero, so `increase()` sees the first build of each kind. */
export const KNOWN_TRIGGER_TYPES = ['manual', 'timed_execution', 'codehub_trigger', 'pipeline_trigger'] as const;

/** Labels a user may opt into (`metrics.record_labels`, docs/metrics.md). */
export const RECORD_LABEL_NAMES = ['branch', 'repo_name', 'build_type', 'build_config_type', 'executor'] as const;
export type RecordLabelName = (typeof RECORD_LABEL_NAMES)[number];

/** Longer than any real build or queue: such a value is a data error, not an observation. */
export const MAX_PLAUSIBLE_SECONDS = 31 * 24 * 3600;

export type BuildPhase = { finished: true; result: BuildResult; recognised: boolean } | { finished: false; recognised: boolean };

/** A record-info result, validated and reduced to what the metrics need. Times are Unix seconds. */
export interface BuildRecord {
  buildNo: number;
  /** `build_record_id`: the key of the build's full-stages. */
  recordId?: string;
  /** The commit built (recovery and flaky builds). */
  commit?: string;
  rawStatus: string;
  phase: BuildPhase;
  triggerType: string;
  createdAt?: number;
  startedAt?: number;
  finishedAt?: number;
  /** Set for finished builds with a plausible duration. */
  durationSeconds?: number;
  /** Set once the start time is known and plausible. */
  queueSeconds?: number;
  labels: Record<RecordLabelName, string>;
  /** Values that were present but implausible (negative or absurd durations, unparsable times). */
  problems: string[];
}

const FINISHED: Record<string, BuildResult> = {
  SUCCESS: 'success',
  FAILURE: 'failure',
  FAILED: 'failure',
  ERROR: 'failure',
  SCHEDULE_FAILURE: 'failure',
  ABORTED: 'aborted',
  CANCELED: 'aborted',
  CANCELLED: 'aborted',
  TIMEOUT: 'timeout',
};

const IN_PROGRESS = new Set(['RUNNING', 'INQUEUE', 'QUEUED', 'STARTING', 'INIT', 'PENDING', 'WAITING', 'BUILDING']);

/**
 * Maps a record's raw status to finished/in progress and a result label (case-insensitive). An
 * unrecognised status counts as finished (`unknown`) only when the record has a finish time.
 */
export function classifyStatus(rawStatus: string, hasFinishTime: boolean): BuildPhase {
  const status = rawStatus.trim().toUpperCase();
  const result = FINISHED[status];
  if (result) return { finished: true, result, recognised: true };
  if (IN_PROGRESS.has(status)) return { finished: false, recognised: true };
  return hasFinishTime ? { finished: true, result: 'unknown', recognised: false } : { finished: false, recognised: false };
}

/** Trigger label value: the record's value lower-cased, `unknown` when missing or not label-safe. */
export function triggerLabel(raw: string | null | undefined): string {
  if (!raw) return 'unknown';
  const value = raw.trim().toLowerCase();
  return /^[a-z][a-z0-9_]{0,39}$/.test(value) ? value : 'unknown';
}
