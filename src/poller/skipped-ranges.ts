import type { SkippedRange } from '../domain/job.js';

/** How many later cycles re-check the top of a passed-over range, in case a record there was late. */
export const SKIPPED_RECHECKS = 3;
/**
 * Only the top numbers of a range are re-checked: a late record sits next to the build found after
 * it; the rest of a wide range is a retention hole whose records are gone for good.
 */
export const RECHECK_SPAN = 2;
/** Re-checks per job per cycle, so a job with many ranges pays a bounded amount each cycle. */
export const RECHECKS_PER_CYCLE = 2;

export function passOver(ranges: readonly SkippedRange[], from: number, to: number): SkippedRange[] {
  return from > to ? [...ranges] : [...ranges, { from, to, checksLeft: SKIPPED_RECHECKS }];
}

/** The numbers of a range that get re-checked, ascending. */
export function recheckTargets(range: SkippedRange): number[] {
  const targets: number[] = [];
  for (let n = Math.max(range.from, range.to - RECHECK_SPAN + 1); n <= range.to; n++) targets.push(n);
  return targets;
}

/** The range without `buildNo` (a late record that turned up): zero, one or two ranges. */
export function withoutNumber(range: SkippedRange, buildNo: number): SkippedRange[] {
  if (buildNo < range.from || buildNo > range.to) return [range];
  const parts: SkippedRange[] = [];
  if (range.from < buildNo) parts.push({ ...range, to: buildNo - 1 });
  if (buildNo < range.to) parts.push({ ...range, from: buildNo + 1 });
  return parts;
}
