import type { ListedJob } from '../codearts/job-feed.js';
import type { JobState } from '../domain/job.js';
import type { GapMemory } from './gap-policy.js';

/**
 * What a job's cycle does, given what the change feed says (docs/design.md, "The change feed"):
 * - `full`: everything, as without the list (the feed is off or did not answer, the job is not
 *   listed, or its start is not settled): pending builds, re-checks, the forward probe, gap
 *   checks with running-status;
 * - `safety`: the job's periodic full probe although it is listed: the forward probe from the
 *   cursor whatever the list says, the listed number as the gap hint (never running-status);
 * - `listed`: pending builds and re-checks, and a forward probe only up to the listed newest
 *   build when that is past the cursor (`ceiling`);
 * - `skip`: nothing to do: the list says nothing moved, and nothing is pending.
 */
export type ProbePlan =
  | { kind: 'full' }
  | { kind: 'safety'; listed: number }
  | { kind: 'listed'; listed: number; ceiling: number | undefined }
  | { kind: 'skip'; listed: number };

/** Cycles in a row that may end below a listed number before that number is taken for a mistake of the list. */
export const LISTED_MISSES_ALLOWED = 3;

/** A listed newest build that the job's probes did not reach, remembered so that a wrong number costs a bounded amount. */
export interface ListedMiss {
  newest: number;
  misses: number;
}

/** What the poller remembers about a job for the change feed, in memory only (a restart probes every job fully once). */
export interface FeedMemory {
  /** Unix seconds of the job's last full probe (a safety probe, or a cycle without the list). */
  lastFullAt?: number;
  miss?: ListedMiss;
}

export interface PlanInput {
  state: JobState;
  memory: GapMemory;
  /** The job as the list showed it this cycle; undefined when the feed is off, did not answer, or did not show the job. */
  listed: ListedJob | undefined;
  /** Its full probe is due (or its start is not settled). */
  fullProbeDue: boolean;
  unsure: boolean;
  miss: ListedMiss | undefined;
}

export function planProbe({ state, memory, listed, fullProbeDue, unsure, miss }: PlanInput): ProbePlan {
  if (listed?.newest === undefined || unsure) return { kind: 'full' };
  const newest = listed.newest;
  if (fullProbeDue) return { kind: 'safety', listed: newest };
  // A number the probes failed to reach LISTED_MISSES_ALLOWED times is left to the full probe.
  const believed = miss?.newest === newest && miss.misses >= LISTED_MISSES_ALLOWED ? 0 : newest;
  const ceiling = Math.max(believed, memory.search?.existing ?? 0);
  const forward = ceiling > state.cursor;
  if (!forward && !hasWorkBelowCursor(state, memory)) return { kind: 'skip', listed: newest };
  return { kind: 'listed', listed: newest, ceiling: forward ? ceiling : undefined };
}

/**
 * Builds to fetch again whatever the list says: pending, unconfirmed, answered not-found once,
 * passed-over ranges to re-check, counted builds whose details (steps, failure causes) are still due.
 */
export function hasWorkBelowCursor(state: JobState, memory: GapMemory): boolean {
  return (
    state.pending.length > 0 ||
    state.unconfirmed.length > 0 ||
    state.notFoundOnce.length > 0 ||
    state.skipped.length > 0 ||
    (state.details?.length ?? 0) > 0 ||
    memory.search?.existing !== undefined
  );
}

/**
 * After a cycle of a listed job: the miss record for the next plan. A cycle that reached the
 * listed number, or moved the cursor towards it, clears it; one that failed keeps it; one that
 * answered and found nothing up to the listed number is a miss.
 */
export function nextMiss(
  previous: ListedMiss | undefined,
  listed: number,
  cursor: { before: number; after: number },
  failed: boolean,
): ListedMiss | undefined {
  if (cursor.after >= listed || cursor.after > cursor.before) return undefined;
  if (failed) return previous;
  return { newest: listed, misses: previous?.newest === listed ? previous.misses + 1 : 1 };
}

/**
 * Each job's full probe is due once per interval at its own offset (from a hash of its id), so
 * the full probes of a fleet are spread over the interval instead of falling into one cycle.
 * `lastFullAt`: Unix seconds of its last full probe (or of when it started being polled).
 */
export function isFullProbeDue(jobId: string, lastFullAt: number, now: number, intervalSeconds: number): boolean {
  const offset = offsetOf(jobId) * intervalSeconds;
  const latestSlot = offset + Math.floor((now - offset) / intervalSeconds) * intervalSeconds;
  return latestSlot > lastFullAt;
}

/**
 * A fraction in [0, 1) from the job id: FNV-1a, then MurmurHash3's finaliser so that ids that
 * differ in one character (job-1, job-2, ...) land far apart. Stable across restarts and changes
 * of the job set.
 */
export function offsetOf(jobId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < jobId.length; i++) {
    hash ^= jobId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 2 ** 32;
}
