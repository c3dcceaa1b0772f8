import type { BuildRecord } from '../domain/build.js';

/**
 * When a job's next build number does not exist, a later one might (numbers can be skipped, and
 * retention deletes old records). A gap check looks past it: 8 cycles after the job's last new
 * build, then whenever the next cycle would be more than 10 minutes after the last check, never
 * more often than every 8 cycles. So a build after a gap is found within max(8 cycles, 10 minutes)
 * of its creation however long the job was quiet. The check asks running-status first, and its
 * answer replaces that cycle's forward probe, so a quiet job pays nothing extra; without an answer
 * it costs one look further ahead (at a 30 s period, one request per job per 10 minutes: 5% of an
 * idle job's probes).
 */
export const FIRST_GAP_CHECK_AFTER = 8;
export const MAX_GAP_CHECK_SECONDS = 600;
/** Without running-status, every this many fruitless checks also look far ahead (a retention hole). */
export const FAR_PROBE_EVERY = 6;
/** The far look doubles its distance each time, from 2^2 up to 2^24 numbers past the cursor. */
export const FIRST_FAR_EXPONENT = 2;
export const MAX_FAR_EXPONENT = 24;

/** What the poller remembers about one job's gap checks, in memory only (a restart starts afresh). */
export interface GapMemory {
  /** Cycles in a row without a new build. */
  quietCycles: number;
  /** Cycles since the last gap check or new build. */
  cyclesSinceCheck: number;
  /** Unix seconds of the last gap check or new build. */
  lastCheckAt: number;
  /** Unix seconds of the job's previous cycle: the poll period, as the job sees it. */
  lastPolledAt?: number;
  /** Highest build number running-status reported: numbers missing below it are gaps. */
  knownHighest: number;
  /** Gap checks in a row that found nothing, for the far look. */
  fruitlessChecks: number;
  farExponent: number;
  /** A search across a gap that ran out of this cycle's budget continues from here next cycle. */
  search?: GapSearch;
}

/** The search's knowledge: `missing` does not exist; `existing` does (the first build after the gap is in between). */
export interface GapSearch {
  missing: number;
  existing?: number;
  /** The record of `existing`, when fetched this process. */
  record?: BuildRecord;
}

export function freshGapMemory(now: number): GapMemory {
  return { quietCycles: 0, cyclesSinceCheck: 0, lastCheckAt: now, knownHighest: 0, fruitlessChecks: 0, farExponent: FIRST_FAR_EXPONENT };
}

export function isGapCheckDue(memory: GapMemory, now: number): boolean {
  if (memory.cyclesSinceCheck + 1 < FIRST_GAP_CHECK_AFTER) return false;
  if (memory.quietCycles + 1 === FIRST_GAP_CHECK_AFTER) return true;
  const period = memory.lastPolledAt === undefined ? 0 : Math.max(0, now - memory.lastPolledAt);
  return now - memory.lastCheckAt + period > MAX_GAP_CHECK_SECONDS;
}

/** The far look is due on every FAR_PROBE_EVERY-th fruitless check without a running-status answer. */
export function isFarProbeDue(memory: GapMemory): boolean {
  return (memory.fruitlessChecks + 1) % FAR_PROBE_EVERY === 0;
}

/** The memory after a cycle: a new build resets the backoff; a check restarts its clock. */
export function afterCycle(
  memory: GapMemory,
  outcome: { now: number; newBuilds: number; checked: boolean; farProbed: boolean },
): GapMemory {
  const next: GapMemory = { ...memory, lastPolledAt: outcome.now };
  if (outcome.newBuilds > 0) {
    return { ...next, quietCycles: 0, cyclesSinceCheck: 0, lastCheckAt: outcome.now, fruitlessChecks: 0, farExponent: FIRST_FAR_EXPONENT };
  }
  next.quietCycles += 1;
  if (!outcome.checked) return { ...next, cyclesSinceCheck: next.cyclesSinceCheck + 1 };
  next.fruitlessChecks += 1;
  if (outcome.farProbed) next.farExponent = Math.min(next.farExponent + 1, MAX_FAR_EXPONENT);
  return { ...next, cyclesSinceCheck: 0, lastCheckAt: outcome.now };
}
