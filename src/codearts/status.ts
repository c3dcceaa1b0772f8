/** The closed set of `result` label values (docs/design.md, "Talking to CodeArts"). */
export const BUILD_RESULTS = ['success', 'failure', 'aborted', 'timeout', 'unknown'] as const;
export type BuildResult = (typeof BUILD_RESULTS)[number];

/** Trigger types every job starts with at zero, so `increase()` sees the first build of each kind. */
export const KNOWN_TRIGGER_TYPES = ['manual', 'timed_execution', 'codehub_trigger', 'pipeline_trigger'] as const;

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

export type BuildPhase =
  | { finished: true; result: BuildResult; recognised: boolean }
  | { finished: false; recognised: boolean };

/**
 * Maps a record's raw status to finished/in progress and a result label. An unrecognised status
 * counts as finished (`unknown`) only when the record has a finish time.
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
