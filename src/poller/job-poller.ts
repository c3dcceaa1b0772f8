import type { CodeArtsClient, RecordLookup } from '../codearts/client.js';
import { isCodeArtsError, type CodeArtsError } from '../codearts/errors.js';
import { InvalidRecordError, type BuildRecord } from '../codearts/record.js';
import type { BuildResult } from '../codearts/status.js';
import type { CountedBuild, JobState } from '../state/store.js';
import { isGapCheckDue, SKIPPED_RECHECKS } from './gap-policy.js';

/** A finished build found this cycle, to be counted once its commit is durable. */
export interface FinishedBuild {
  record: BuildRecord;
  result: BuildResult;
}

/** Everything one job's cycle learned; nothing of it is visible before `next` is committed. */
export interface JobCycleResult {
  next: JobState;
  finished: FinishedBuild[];
  /** Queue times first known this cycle (seconds). */
  queueTimes: number[];
  /** Records that failed validation or carried implausible values. */
  invalid: InvalidRecordError[];
  problems: Array<{ buildNo: number; problems: string[] }>;
  /** API failures; empty when every call reached CodeArts. */
  errors: CodeArtsError[];
  /** Pending builds CodeArts no longer knows (deleted records). */
  vanished: number[];
  newBuilds: number;
  gapsSkipped: number[];
  /** Highest build number CodeArts reported via running-status (kept in memory only). */
  knownHighest: number;
}

export interface JobPollOptions {
  maxBuildsPerCycle: number;
  /** Quiet cycles so far (no new build found); drives the gap-check backoff. */
  quietCycles: number;
  /** Highest build number known to exist from an earlier hint: a missing number below it is a gap. */
  knownHighest: number;
  signal?: AbortSignal;
}

/**
 * One cycle for one job (docs/design.md, "Polling semantics"): re-fetch pending builds, re-check numbers passed over as
 * gaps, probe forward from the cursor, and look past a gap with backoff while the job is quiet.
 * Pure with respect to state: it returns the next state instead of saving it.
 */
export async function pollJob(
  client: CodeArtsClient,
  jobId: string,
  state: JobState,
  options: JobPollOptions,
): Promise<JobCycleResult> {
  const { signal } = options;
  const next: JobState = structuredClone(state);
  const result: JobCycleResult = {
    next,
    finished: [],
    queueTimes: [],
    invalid: [],
    problems: [],
    errors: [],
    vanished: [],
    newBuilds: 0,
    gapsSkipped: [],
    knownHighest: options.knownHighest,
  };
  const pending = new Set(next.pending);
  const queueObserved = new Set(next.queueObserved);

  const fetch = async (buildNo: number): Promise<RecordLookup | 'failed'> => {
    try {
      return await client.getRecord(jobId, buildNo, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof InvalidRecordError) result.invalid.push(error);
      else if (isCodeArtsError(error)) result.errors.push(error);
      else throw error;
      return 'failed';
    }
  };

  /** Applies a fetched record: finished builds are counted, others (re)join the pending set. */
  const absorb = (record: BuildRecord) => {
    const { buildNo } = record;
    const queueKnown = record.queueSeconds !== undefined && !queueObserved.has(buildNo);
    if (record.phase.finished) {
      result.finished.push({ record, result: record.phase.result });
      if (queueKnown) result.queueTimes.push(record.queueSeconds ?? 0);
      if (record.problems.length > 0) result.problems.push({ buildNo, problems: record.problems });
      pending.delete(buildNo);
      queueObserved.delete(buildNo);
      return;
    }
    pending.add(buildNo);
    if (queueKnown) {
      result.queueTimes.push(record.queueSeconds ?? 0);
      queueObserved.add(buildNo);
    }
  };

  // 1. Pending builds, all at once: the client bounds concurrency and rate.
  const pendingLookups = await Promise.all([...pending].map(async (buildNo) => [buildNo, await fetch(buildNo)] as const));
  for (const [buildNo, lookup] of pendingLookups) {
    if (lookup === 'failed') continue;
    if (lookup.found) absorb(lookup.record);
    else {
      pending.delete(buildNo);
      queueObserved.delete(buildNo);
      result.vanished.push(buildNo);
    }
  }
  // A vanished build at the top of the cursor may never have existed: the probe took a 200 with an
  // invalid record for it (a broken answer to a build not created yet). Hand those numbers back to
  // the forward probe, or the real build that later gets the number would never be fetched.
  const vanished = new Set(result.vanished);
  while (next.cursor > 0 && vanished.has(next.cursor)) next.cursor -= 1;

  // 2. Numbers passed over as gaps: a late record is absorbed; otherwise one check fewer.
  const skipped: JobState['skipped'] = [];
  for (const entry of next.skipped) {
    const lookup = await fetch(entry.buildNo);
    if (lookup !== 'failed' && lookup.found) absorb(lookup.record);
    else if (lookup === 'failed') skipped.push(entry);
    else if (entry.checksLeft > 1) skipped.push({ buildNo: entry.buildNo, checksLeft: entry.checksLeft - 1 });
  }
  next.skipped = skipped;

  // 3. Forward probe from the cursor, bounded per cycle so one busy job cannot starve the others.
  const probeForward = async (): Promise<'not_found' | 'failed' | 'bounded'> => {
    while (result.newBuilds < options.maxBuildsPerCycle) {
      const buildNo = next.cursor + 1;
      const lookup = await fetch(buildNo);
      if (lookup === 'failed') {
        // A record that exists but fails validation is seen: keep it pending and move on.
        if (result.invalid.some((error) => error.buildNo === buildNo)) {
          pending.add(buildNo);
          next.cursor = buildNo;
          result.newBuilds += 1;
          continue;
        }
        return 'failed';
      }
      if (!lookup.found) return 'not_found';
      absorb(lookup.record);
      next.cursor = buildNo;
      result.newBuilds += 1;
    }
    return 'bounded';
  };

  // A gap check (with backoff while the job stays quiet) asks running-status before the probe:
  // when it reports nothing past the cursor, that answer stands in for this cycle's probe, so a quiet
  // job pays nothing extra for gap detection; when it reports more, the gap below is known.
  const gapCheckDue = isGapCheckDue(options.quietCycles + 1);
  let hinted = false;
  let quietByHint = false;
  if (gapCheckDue && result.knownHighest <= next.cursor) {
    const hint = await client.getLastBuildNumber(jobId, signal).catch(() => undefined);
    if (hint !== undefined) {
      hinted = true;
      result.knownHighest = Math.max(result.knownHighest, hint);
      quietByHint = hint <= next.cursor;
    }
  }

  let probe = quietByHint ? 'quiet' : await probeForward();

  // 4. A missing number: a gap when a later build is known to exist, or, when the check is due and
  // running-status gave no answer, possibly one: look one number further ahead.
  while (probe === 'not_found') {
    const knownGap = next.cursor + 1 < result.knownHighest;
    if (!knownGap) {
      if (result.newBuilds > 0 || !gapCheckDue || hinted) break;
      result.knownHighest = Math.max(result.knownHighest, next.cursor + 2);
    }
    const beyond = await findBuildBeyondGap(next.cursor, result.knownHighest, fetch);
    if (!beyond) break;
    for (let missing = next.cursor + 1; missing < beyond.buildNo; missing++) {
      next.skipped.push({ buildNo: missing, checksLeft: SKIPPED_RECHECKS });
      result.gapsSkipped.push(missing);
    }
    absorb(beyond);
    next.cursor = beyond.buildNo;
    result.newBuilds += 1;
    probe = await probeForward();
  }

  next.pending = [...pending].sort((a, b) => a - b);
  next.queueObserved = [...queueObserved].filter((buildNo) => pending.has(buildNo)).sort((a, b) => a - b);
  for (const { record, result: buildResult } of result.finished) updateLast(next, record, buildResult);
  return result;
}

/** The first existing build in (cursor + 1, last]. */
async function findBuildBeyondGap(
  cursor: number,
  last: number,
  fetch: (buildNo: number) => Promise<RecordLookup | 'failed'>,
): Promise<BuildRecord | undefined> {
  for (let buildNo = cursor + 2; buildNo <= last; buildNo++) {
    const lookup = await fetch(buildNo);
    if (lookup === 'failed') return undefined;
    if (lookup.found) return lookup.record;
  }
  return undefined;
}

/** The latest finished build is the one that finished last (ties: the higher number). */
function updateLast(state: JobState, record: BuildRecord, result: BuildResult): void {
  const finishedAt = record.finishedAt;
  if (finishedAt === undefined) return;
  const last = state.last;
  if (!last || finishedAt > last.finishedAt || (finishedAt === last.finishedAt && record.buildNo > last.buildNo)) {
    state.last = { buildNo: record.buildNo, result, finishedAt };
    if (record.durationSeconds !== undefined) state.last.durationSeconds = record.durationSeconds;
  }
  if (result === 'success' && (state.lastSuccessAt === undefined || finishedAt > state.lastSuccessAt)) {
    state.lastSuccessAt = finishedAt;
  }
}

/** What a commit records as counted. */
export function toCounted(finished: readonly FinishedBuild[]): CountedBuild[] {
  return finished.map(({ record, result }) => ({ buildNo: record.buildNo, result, triggerType: record.triggerType }));
}
