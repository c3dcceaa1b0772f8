/**
 * When a job's next build number does not exist, a later one might (numbers can be skipped). Checking
 * is done with exponential backoff over quiet cycles: after 8, 16, 32, ... quiet cycles, then every
 * 256. The check asks running-status first, and its answer replaces that cycle's forward probe, so
 * a quiet job pays nothing extra; without an answer it costs one look further ahead. A gap stalls a
 * job for at most 8 cycles after its last new build.
 */
export const FIRST_GAP_CHECK_AFTER = 8;
export const MAX_GAP_CHECK_INTERVAL = 256;
/** How many later cycles re-check a number passed over as a gap, in case its record was late. */
export const SKIPPED_RECHECKS = 3;

export function isGapCheckDue(quietCycles: number): boolean {
  if (quietCycles < FIRST_GAP_CHECK_AFTER) return false;
  if (quietCycles >= MAX_GAP_CHECK_INTERVAL) return quietCycles % MAX_GAP_CHECK_INTERVAL === 0;
  return (quietCycles & (quietCycles - 1)) === 0;
}
