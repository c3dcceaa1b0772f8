import type { LimitFunction } from 'p-limit';
import type { CodeArtsClient } from '../codearts/client.js';
import type { BuildRecord } from '../domain/build.js';
import { emptyJobState, type JobState } from '../domain/job.js';
import type { JobStart, Store } from '../state/store.js';
import { unixSeconds, type Clock } from '../support/clock.js';
import type { Events } from '../support/events.js';
import type { PollerEvent } from './events.js';
import type { PolledJob } from './job-set.js';
import type { NewestBuildHint } from './running-status-hint.js';

/** Above this no job has builds; stops the search for a job that never ran when no hint answers. */
const SEARCH_CEILING = 1 << 24;
/** How far below the newest build to look for a finished one to fill the `last_*` gauges. */
const LOOKBACK_FOR_FINISHED = 3;
/** A job whose start point cannot be found is looked at again after 10 minutes, doubling up to 6 hours. */
const START_RETRY_SECONDS = 600;
const MAX_START_RETRY_SECONDS = 6 * 3600;

export interface StartPointOptions {
  client: CodeArtsClient;
  store: Store;
  hint: NewestBuildHint;
  events: Events<PollerEvent>;
  clock: Clock;
  startAt: 'latest' | number;
}

/**
 * Where a job's counting begins (docs/design.md, "First start"): chosen and committed the first time
 * a job without saved state is polled. With `start_at: latest` a job whose newest build cannot be
 * found starts at 0 (a job that never ran then counts its first build), is reported failing until
 * that is confirmed, and is searched for again on a backoff.
 */
export class StartPoints {
  constructor(private readonly options: StartPointOptions) {}

  /** Chooses and commits the job's starting point; undefined when the cycle was aborted meanwhile. */
  async start(job: PolledJob, limit: LimitFunction, signal?: AbortSignal): Promise<JobStart | undefined> {
    const { startAt, store, events } = this.options;
    const found =
      startAt === 'latest' ? ((await this.findStart(job, limit, signal)) ?? emptyJobState()) : { ...emptyJobState(), cursor: startAt - 1 };
    if (signal?.aborted) return undefined;
    const state = this.countingFromHere(found);
    const stored = await store.commit(job.id, 0, { counted: [], queued: [], next: state });
    job.stored = stored;
    events.emit({ type: 'job_committed', job, stored, counted: [] });
    events.emit({ type: 'start_chosen', job, startAt, cursor: state.cursor });
    return stored;
  }

  /**
   * A job started at 0 without knowing its newest build: confirmed once the probe finds its builds
   * from 1 on; otherwise searched again on a backoff, and moved to the newest build when found
   * (build 1 does not exist then, so what the search finds lies past a retention hole: history).
   */
  async confirm(job: PolledJob, from: JobStart, limit: LimitFunction, signal?: AbortSignal): Promise<JobStart> {
    const { state } = from;
    if (state.cursor > 0 || state.pending.length > 0) {
      delete job.unsure;
      this.options.events.emit({ type: 'start_confirmed', job, cursor: state.cursor });
      return from;
    }
    if (unixSeconds(this.options.clock) < (job.unsure?.retryAt ?? 0)) return from;
    const found = await this.findStart(job, limit, signal);
    if (!found || found.cursor === 0 || signal?.aborted) return from;
    const next = this.countingFromHere(found);
    const stored = await this.options.store.commit(job.id, from.version, { counted: [], queued: [], next });
    job.stored = stored;
    this.options.events.emit({ type: 'job_committed', job, stored, counted: [] });
    this.options.events.emit({ type: 'start_found', job, cursor: found.cursor });
    return stored;
  }

  /** The state with its start point recorded: counting begins after its cursor, now (what `backfill` ends at). */
  private countingFromHere(state: JobState): JobState {
    return { ...state, countingFrom: state.cursor + 1, countingSince: unixSeconds(this.options.clock) };
  }

  /** The newest build per `start_at: latest`; undefined when it cannot be found (then `job.unsure` says when to look again). */
  private async findStart(job: PolledJob, limit: LimitFunction, signal?: AbortSignal): Promise<JobState | undefined> {
    try {
      // Once a search found nothing, later attempts ask running-status only; the gap checks' far
      // look keeps probing ahead of 0 meanwhile.
      const hintOnly = job.unsure !== undefined;
      const state = await limit(() => findLatestStart(this.options.client, this.options.hint, job.id, signal, hintOnly));
      delete job.unsure;
      return state;
    } catch (error) {
      if (!(error instanceof StartPointUnknownError)) throw error;
      const failures = (job.unsure?.failures ?? 0) + 1;
      const retryInSeconds = Math.min(START_RETRY_SECONDS * 2 ** (failures - 1), MAX_START_RETRY_SECONDS);
      job.unsure = { retryAt: unixSeconds(this.options.clock) + retryInSeconds, failures };
      this.options.events.emit({ type: 'start_unknown', job, error, retryInSeconds, first: failures === 1 });
      return undefined;
    }
  }
}

/**
 * Without running-status, neither a power of two nor one and a half times one exists: the job never
 * ran, or retention deleted every build up to a number the search cannot see. The poller starts it
 * at 0 (a job that never ran then counts its first build), reports it failing until that is
 * confirmed, and searches again later (never silently sitting below a hole).
 */
export class StartPointUnknownError extends Error {
  override readonly name = 'StartPointUnknownError';
  constructor(
    readonly jobId: string,
    readonly probes: number,
  ) {
    super(
      `job ${jobId}: cannot find its newest build: running-status gave no answer and none of ${probes} record-info ` +
        `probes (1, 2, 3, 4, 6, 8, 12, ... up to 2^24) exists. It starts at 0 and is reported failing until its ` +
        `first build appears or a later search finds its newest build. If retention deleted its builds up to a ` +
        `number the search cannot see, make running-status reachable (permission, region) or set poll.start_at.`,
    );
  }
}

/**
 * `start_at: latest`: find the newest existing build without counting history. A hint from
 * `running-status` confirmed by record-info costs two requests; without it an exponential probe
 * and a binary search cost about 2*log2(n). Build 1 may be gone (retention), so the probe looks for
 * the first existing power of two instead of assuming it, then for the first 1.5 x a power of two.
 */
export async function findLatestStart(
  client: CodeArtsClient,
  hint: NewestBuildHint,
  jobId: string,
  signal?: AbortSignal,
  /** Only running-status: a search that found nothing before is not repeated. */
  hintOnly = false,
): Promise<JobState> {
  const seen = new Map<number, BuildRecord | null>();
  const lookup = async (buildNo: number): Promise<BuildRecord | null> => {
    if (!seen.has(buildNo)) {
      const result = await client.getRecord(jobId, buildNo, signal);
      seen.set(buildNo, result.found ? result.record : null);
    }
    return seen.get(buildNo) ?? null;
  };

  const newestHint = await hint.newest(jobId, signal);
  if (newestHint === 0) return emptyJobState();
  let newest: number;
  if (newestHint !== undefined && (await lookup(newestHint))) newest = newestHint;
  else if (hintOnly) throw new StartPointUnknownError(jobId, seen.size);
  else newest = await searchNewest(lookup);
  if (newest === 0) {
    // With running-status answering, "no build" is believable; without it, it is a guess.
    if (newestHint === undefined) throw new StartPointUnknownError(jobId, seen.size);
    return emptyJobState();
  }

  const state: JobState = { ...emptyJobState(), cursor: newest };
  for (let buildNo = newest; buildNo > 0 && buildNo >= newest - LOOKBACK_FOR_FINISHED; buildNo--) {
    const record = await lookup(buildNo);
    if (record?.phase.finished && record.finishedAt !== undefined) {
      state.last = { buildNo, result: record.phase.result, finishedAt: record.finishedAt };
      if (record.durationSeconds !== undefined) state.last.durationSeconds = record.durationSeconds;
      if (record.phase.result === 'success') state.lastSuccessAt = record.finishedAt;
      break;
    }
  }
  return state;
}

async function searchNewest(exists: (buildNo: number) => Promise<unknown>): Promise<number> {
  const low = (await firstExisting(exists, 1)) ?? (await firstExisting(exists, 3));
  if (low === undefined) return 0;
  let known = low;
  let high = low * 2;
  while (await exists(high)) {
    known = high;
    high *= 2;
  }
  while (high - known > 1) {
    const middle = Math.floor((known + high) / 2);
    if (await exists(middle)) known = middle;
    else high = middle;
  }
  return known;
}

/** The first of start, 2*start, 4*start, ... (up to the ceiling) that exists. */
async function firstExisting(exists: (buildNo: number) => Promise<unknown>, start: number): Promise<number | undefined> {
  for (let probe = start; probe <= SEARCH_CEILING; probe *= 2) if (await exists(probe)) return probe;
  return undefined;
}
