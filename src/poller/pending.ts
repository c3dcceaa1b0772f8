import type { SkippedRange } from '../domain/job.js';
import type { AbandonReason } from '../domain/job.js';
import type { JobCycle, Lookup } from './job-cycle.js';
import { RECHECKS_PER_CYCLE, recheckTargets, withoutNumber } from './skipped-ranges.js';

/**
 * Re-fetches every pending and unconfirmed build, all at once (the client bounds concurrency and
 * rate). A build that finished is counted; one CodeArts says twice in a row does not exist is
 * dropped; one still in progress, or still invalid, past `max_pending_age` is given up. A failed
 * call changes nothing: what could not be fetched is fetched next cycle.
 */
export async function refetchPending(cycle: JobCycle): Promise<void> {
  const numbers = [...cycle.pending, ...cycle.unconfirmed];
  const lookups = await Promise.all(numbers.map(async (buildNo) => [buildNo, await cycle.fetch(buildNo)] as const));
  for (const [buildNo, lookup] of lookups) settle(cycle, buildNo, lookup);
}

function settle(cycle: JobCycle, buildNo: number, lookup: Lookup): void {
  if (lookup === 'failed') return;
  if (lookup === 'invalid') {
    abandonIfOld(cycle, buildNo, 'invalid_record');
    return;
  }
  if (!lookup.found) {
    if (!cycle.notFoundOnce.has(buildNo)) {
      // Once may be a gateway hiccup (or a 403 CB.00031059 by mistake): ask again next cycle.
      cycle.notFoundOnce.add(buildNo);
      return;
    }
    const wasPending = cycle.pending.has(buildNo);
    cycle.forget(buildNo);
    (wasPending ? cycle.result.vanished : cycle.result.dropped).push(buildNo);
    return;
  }
  cycle.absorb(lookup.record);
  const { phase } = lookup.record;
  if (!phase.finished) abandonIfOld(cycle, buildNo, phase.recognised ? 'still_in_progress' : 'unknown_status');
}

function abandonIfOld(cycle: JobCycle, buildNo: number, reason: AbandonReason): void {
  const ageSeconds = cycle.ageOf(buildNo);
  if (ageSeconds <= cycle.options.maxPendingAgeSeconds) return;
  cycle.forget(buildNo);
  cycle.result.abandoned.push({ buildNo, reason, ageSeconds });
}

/**
 * Re-checks the top of passed-over ranges, at most RECHECKS_PER_CYCLE numbers a cycle, oldest
 * range first: a late record is absorbed; a range that answered not-found uses up one re-check.
 */
export async function recheckSkipped(cycle: JobCycle): Promise<void> {
  let quota = RECHECKS_PER_CYCLE;
  const kept: SkippedRange[] = [];
  for (const range of cycle.next.skipped) {
    const targets = recheckTargets(range);
    if (targets.length > quota) {
      kept.push(range);
      continue;
    }
    quota -= targets.length;
    kept.push(...(await recheck(cycle, range, targets)));
  }
  cycle.next.skipped = kept;
}

async function recheck(cycle: JobCycle, range: SkippedRange, targets: number[]): Promise<SkippedRange[]> {
  let parts = [range];
  let answered = true;
  for (const buildNo of targets) {
    const lookup = await cycle.fetch(buildNo);
    if (lookup === 'failed' || lookup === 'invalid') answered = false;
    else if (lookup.found) {
      cycle.absorb(lookup.record);
      parts = parts.flatMap((part) => withoutNumber(part, buildNo));
    }
  }
  if (!answered) return parts;
  return parts.map((part) => ({ ...part, checksLeft: part.checksLeft - 1 })).filter((part) => part.checksLeft > 0);
}
