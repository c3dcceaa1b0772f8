import type { BuildRecord } from '../domain/build.js';
import { isFarProbeDue, isGapCheckDue, type GapSearch } from './gap-policy.js';
import type { JobCycle } from './job-cycle.js';
import type { NewestBuildHint } from './running-status-hint.js';
import { passOver } from './skipped-ranges.js';

/** Invalid answers in a row past the cursor after which the probe stops for the cycle. */
export const MAX_INVALID_RUN = 3;
/** Unconfirmed numbers (invalid answers below a real build) a job may hold. */
export const MAX_UNCONFIRMED = 10;

/** `ceiling`: the probe reached the newest build the change feed listed and asked no further. */
export type ProbeOutcome = 'not_found' | 'failed' | 'bounded' | 'invalid' | 'ceiling';

/**
 * The forward work of a cycle, all of it paid from the job's budget of `max_builds_per_job_per_cycle`
 * requests: probe from the cursor; when the next number is missing and a later build is known (from
 * running-status) or may exist (gap check due), cross the gap with a search; then probe on.
 */
export async function pollForward(cycle: JobCycle, hint: NewestBuildHint): Promise<void> {
  const due = isGapCheckDue(cycle.result.memory, cycle.now);
  cycle.result.gapChecked = due;
  const hinted = due ? await consultHint(cycle, hint) : 'no_answer';
  if (hinted === 'nothing_new') return;
  await probeAndCross(cycle, () => due && hinted === 'no_answer' && cycle.result.newBuilds === 0);
}

/**
 * The forward work of a job the change feed lists with a newest build past its cursor: probe from
 * the cursor up to `listed` and no further, crossing gaps below it with a search (the listed
 * number is the gap hint: neither running-status nor a look ahead is asked).
 */
export async function pollForwardListed(cycle: JobCycle, listed: number): Promise<void> {
  const memory = cycle.result.memory;
  memory.knownHighest = Math.max(memory.knownHighest, listed);
  cycle.ceiling = listed;
  await probeAndCross(cycle, () => false);
}

/**
 * A listed job's safety probe, its periodic check that does not trust the list: a gap check
 * always (running-status, whose answer stands in for the probe when nothing is new, else a look
 * ahead), then the forward probe from the cursor until a number does not exist, crossing gaps
 * below the listed number or running-status' answer. A lagging list costs time, never a build.
 */
export async function pollForwardSafety(cycle: JobCycle, hint: NewestBuildHint, listed: number): Promise<void> {
  const memory = cycle.result.memory;
  memory.knownHighest = Math.max(memory.knownHighest, listed);
  cycle.result.gapChecked = true;
  const hinted = await consultHint(cycle, hint);
  if (hinted === 'nothing_new') return;
  await probeAndCross(cycle, () => hinted === 'no_answer' && cycle.result.newBuilds === 0);
}

/** Probes forward, and past each missing number when a later build is known (or `lookAhead()` allows a look). */
async function probeAndCross(cycle: JobCycle, lookAhead: () => boolean): Promise<void> {
  let outcome = await probeForward(cycle);
  while (outcome === 'not_found' && cycle.budget > 0) {
    const beyond = await lookPastGap(cycle, lookAhead());
    if (!beyond) return;
    crossGap(cycle, beyond);
    outcome = await probeForward(cycle);
  }
}

/**
 * A due gap check asks running-status for the newest build (unless a newer one is known already).
 * `nothing_new`: it answered, and nothing is past the cursor: that answer stands in for this
 * cycle's probe. `answered`: a later build exists, remembered as `knownHighest` for the search.
 */
export async function consultHint(cycle: JobCycle, hint: NewestBuildHint): Promise<'nothing_new' | 'answered' | 'no_answer'> {
  const memory = cycle.result.memory;
  if (memory.knownHighest > cycle.next.cursor) return 'no_answer';
  const newest = await hint.newest(cycle.jobId, cycle.options.signal);
  if (newest === undefined) return 'no_answer';
  memory.knownHighest = Math.max(memory.knownHighest, newest);
  return newest <= cycle.next.cursor ? 'nothing_new' : 'answered';
}

/** Passes over the missing numbers below `beyond` (re-checked later) and counts or keeps `beyond`. */
export function crossGap(cycle: JobCycle, beyond: BuildRecord): void {
  const from = cycle.next.cursor + 1;
  cycle.next.skipped = passOver(cycle.next.skipped, from, beyond.buildNo - 1);
  if (from < beyond.buildNo) cycle.result.gapsSkipped.push({ from, to: beyond.buildNo - 1 });
  cycle.advanceTo(beyond);
}

/**
 * cursor + 1, + 2, ... until a number does not exist or the budget is spent. An invalid answer is
 * not a build: the probe looks a little further, and only a valid build after it confirms the
 * invalid numbers below as real (unconfirmed, re-fetched); otherwise nothing moves.
 */
export async function probeForward(cycle: JobCycle): Promise<ProbeOutcome> {
  const invalidRun: number[] = [];
  while (cycle.budget > 0) {
    const buildNo = cycle.next.cursor + invalidRun.length + 1;
    if (cycle.ceiling !== undefined && buildNo > cycle.ceiling) return invalidRun.length > 0 ? 'invalid' : 'ceiling';
    const lookup = await cycle.forwardFetch(buildNo);
    if (lookup === 'failed') return 'failed';
    if (lookup === 'invalid') {
      invalidRun.push(buildNo);
      if (invalidRun.length >= MAX_INVALID_RUN || cycle.unconfirmed.size + invalidRun.length > MAX_UNCONFIRMED) return 'invalid';
      continue;
    }
    if (!lookup.found) return invalidRun.length > 0 ? 'invalid' : 'not_found';
    for (const unconfirmed of invalidRun.splice(0)) cycle.addUnconfirmed(unconfirmed);
    cycle.advanceTo(lookup.record);
  }
  return 'bounded';
}

/**
 * The first existing build past a missing cursor + 1: up to the newest build running-status named;
 * else, on a gap check without its answer, one look ahead (cursor + 2) and, every few fruitless
 * checks, one far look (cursor + 1 + 2^k, k growing) that can find a retention hole's end.
 */
export async function lookPastGap(cycle: JobCycle, lookAhead: boolean): Promise<BuildRecord | undefined> {
  const memory = cycle.result.memory;
  const cursor = cycle.next.cursor;
  const paused = memory.search;
  if (paused?.existing !== undefined && paused.missing > cursor) {
    // A search that ran out of budget last cycle, with a build beyond the gap already known.
    const found = await searchBeyond(cycle, paused.existing);
    return found === 'none' ? undefined : found;
  }
  if (memory.knownHighest > cursor + 1) {
    const found = await searchBeyond(cycle, memory.knownHighest);
    // The search reached running-status' number and found nothing: that hint is spent.
    if (found === 'none') memory.knownHighest = cursor;
    return found === 'none' ? undefined : found;
  }
  if (!lookAhead) return undefined;
  const near = await searchBeyond(cycle, cursor + 2);
  if (near !== 'none' || !isFarProbeDue(memory) || cycle.budget <= 0) return near === 'none' ? undefined : near;
  cycle.result.farProbed = true;
  const far = cursor + 1 + 2 ** memory.farExponent;
  const lookup = await cycle.forwardFetch(far);
  if (lookup === 'failed' || lookup === 'invalid' || !lookup.found) return undefined;
  memory.search = { missing: cursor + 2, existing: far, record: lookup.record };
  const found = await searchBeyond(cycle, far);
  return found === 'none' ? undefined : found;
}

/**
 * The first existing build in (cursor + 1, ceiling], cursor + 1 being missing: steps of 1, 2, 4, ...
 * past the cursor until one exists, then a binary search below it. Costs about 2*log2(gap)
 * requests; a search that runs out of budget (or meets a failure) continues next cycle from what it
 * learned. 'none': nothing exists up to the ceiling. Between the last missing number seen and the
 * build found, numbers are assumed missing (retention deletes from the bottom; a lone survivor in a
 * hole would be passed over, and its top neighbours are re-checked).
 */
export async function searchBeyond(cycle: JobCycle, ceiling: number): Promise<BuildRecord | 'none' | undefined> {
  const memory = cycle.result.memory;
  const cursor = cycle.next.cursor;
  const resumed = memory.search;
  let search: GapSearch = resumed && resumed.missing > cursor && resumed.missing < ceiling ? resumed : { missing: cursor + 1 };
  memory.search = undefined;
  while (search.existing === undefined || search.existing - search.missing > 1) {
    if (search.existing === undefined && search.missing >= ceiling) return 'none';
    if (cycle.budget <= 0) {
      pause(cycle, search);
      return undefined;
    }
    const probe =
      search.existing === undefined
        ? Math.min(cursor + 2 * (search.missing - cursor), ceiling)
        : Math.floor((search.missing + search.existing) / 2);
    const lookup = await cycle.forwardFetch(probe);
    if (lookup === 'failed' || lookup === 'invalid') {
      pause(cycle, search);
      return undefined;
    }
    search = lookup.found ? { missing: search.missing, existing: probe, record: lookup.record } : { ...search, missing: probe };
  }
  if (search.record) return search.record;
  // Resumed after a restart of the search without the record in hand: fetch it now.
  if (cycle.budget <= 0) {
    pause(cycle, search);
    return undefined;
  }
  const lookup = await cycle.forwardFetch(search.existing);
  return lookup !== 'failed' && lookup !== 'invalid' && lookup.found ? lookup.record : undefined;
}

/** Keeps what the search learned for the next cycle; the search ends without a build for now. */
function pause(cycle: JobCycle, search: GapSearch): void {
  cycle.result.memory.search = search;
}
