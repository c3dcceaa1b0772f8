import type { GroundTruthResult } from './types.js';

/*
 * The simulator's own ground truth for status values. Deliberately independent of the exporter's
 * mapping (src/codearts/status.ts) so that tests comparing the two can catch mapping bugs.
 */

export interface FinishedStatus {
  raw: string;
  result: GroundTruthResult;
  weight: number;
}

export const FINISHED_STATUSES: readonly FinishedStatus[] = [
  { raw: 'SUCCESS', result: 'success', weight: 62 },
  { raw: 'FAILURE', result: 'failure', weight: 9 },
  { raw: 'FAILED', result: 'failure', weight: 3 },
  { raw: 'ERROR', result: 'failure', weight: 3 },
  { raw: 'SCHEDULE_FAILURE', result: 'failure', weight: 2 },
  { raw: 'ABORTED', result: 'aborted', weight: 5 },
  { raw: 'CANCELED', result: 'aborted', weight: 3 },
  { raw: 'CANCELLED', result: 'aborted', weight: 3 },
  { raw: 'TIMEOUT', result: 'timeout', weight: 3 },
  // The v1 build-info docs spell it in lower case.
  { raw: 'timeout', result: 'timeout', weight: 3 },
  // Not a documented value: a finished build whose status nobody recognises.
  { raw: 'PARTIAL_SUCCESS', result: 'unknown', weight: 4 },
];

/** A finished status by its raw value (what `triggerBuild` may ask for). */
export function finishedStatus(raw: string): FinishedStatus {
  const status = FINISHED_STATUSES.find((candidate) => candidate.raw === raw);
  if (!status) throw new TypeError(`status must be one of ${FINISHED_STATUSES.map((s) => s.raw).join(', ')}, got '${raw}'`);
  return status;
}

export interface WeightedValue {
  raw: string;
  weight: number;
}

/** Before start: start_time and finish_time are null. */
export const QUEUED_STATUSES: readonly WeightedValue[] = [
  { raw: 'QUEUED', weight: 3 },
  { raw: 'INQUEUE', weight: 2 },
  { raw: 'InQueue', weight: 2 },
  { raw: 'PENDING', weight: 2 },
  { raw: 'INIT', weight: 1 },
  { raw: 'WAITING', weight: 1 },
  { raw: 'Waiting', weight: 1 },
];

/** Started, not finished: start_time set, finish_time null. */
export const RUNNING_STATUSES: readonly WeightedValue[] = [
  { raw: 'RUNNING', weight: 4 },
  { raw: 'Running', weight: 2 },
  { raw: 'BUILDING', weight: 2 },
  { raw: 'STARTING', weight: 1 },
  { raw: 'Starting', weight: 1 },
];

export interface TriggerValue {
  /** undefined: the record has no `trigger_type` key at all. */
  raw: string | null | undefined;
  label: string;
  weight: number;
}

export const TRIGGER_TYPES: readonly TriggerValue[] = [
  { raw: 'MANUAL', label: 'manual', weight: 30 },
  { raw: 'TIMED_EXECUTION', label: 'timed_execution', weight: 15 },
  { raw: 'CODEHUB_TRIGGER', label: 'codehub_trigger', weight: 35 },
  { raw: 'PIPELINE_TRIGGER', label: 'pipeline_trigger', weight: 15 },
  { raw: null, label: 'unknown', weight: 3 },
  { raw: undefined, label: 'unknown', weight: 2 },
];
