/**
 * The times a backfilled series has samples at, like the scrapes of a Prometheus that had been
 * running all along: every `stepMs` from one step before `since` (where every series is 0, so
 * increase() sees the first build after `since`) to the last step before a job's live counting began.
 */
export interface SampleGrid {
  /** Unix milliseconds of sample 0. */
  startMs: number;
  stepMs: number;
  /** Samples 0 .. count-1. */
  count: number;
}

/** The grid from one step before `sinceMs` (aligned to the step) up to, not including, `endMs`. */
export function sampleGrid(sinceMs: number, endMs: number, stepMs: number): SampleGrid {
  const startMs = Math.floor(sinceMs / stepMs) * stepMs - stepMs;
  const count = Math.max(1, Math.ceil((endMs - startMs) / stepMs));
  return { startMs, stepMs, count };
}

export function sampleTime(grid: SampleGrid, index: number): number {
  return grid.startMs + index * grid.stepMs;
}

/** The first sample at or after `ms`: where a build finished at `ms` first shows. */
export function sampleIndexAtOrAfter(grid: SampleGrid, ms: number): number {
  return Math.max(0, Math.ceil((ms - grid.startMs) / grid.stepMs));
}

/** The last sample strictly before `ms`; -1 when there is none. */
export function lastSampleBefore(grid: SampleGrid, ms: number): number {
  return Math.min(grid.count - 1, Math.ceil((ms - grid.startMs) / grid.stepMs) - 1);
}
