import type { CodeArtsClient } from '../codearts/client.js';
import type { BuildRecord } from '../codearts/record.js';
import type { JobState } from '../state/store.js';
import { emptyJobState } from '../state/store.js';

/** Above this no job has builds; stops the search for a job that never ran when no hint answers. */
const SEARCH_CEILING = 1 << 24;
/** How far below the newest build to look for a finished one to fill the `last_*` gauges. */
const LOOKBACK_FOR_FINISHED = 3;

/**
 * `start_at: latest`: find the newest existing build without counting history. A hint from
 * `running-status` confirmed by record-info costs two requests; without it an exponential probe
 * and a binary search cost about 2*log2(n). Build 1 may be gone (retention), so the probe looks for
 * the first existing power of two instead of assuming it.
 */
export async function findLatestStart(client: CodeArtsClient, jobId: string, signal?: AbortSignal): Promise<JobState> {
  const seen = new Map<number, BuildRecord | null>();
  const lookup = async (buildNo: number): Promise<BuildRecord | null> => {
    if (!seen.has(buildNo)) {
      const result = await client.getRecord(jobId, buildNo, signal);
      seen.set(buildNo, result.found ? result.record : null);
    }
    return seen.get(buildNo) ?? null;
  };

  const hint = await client.getLastBuildNumber(jobId, signal).catch(() => undefined);
  let newest: number;
  if (hint === 0) return emptyJobState();
  if (hint !== undefined && (await lookup(hint))) newest = hint;
  else newest = await searchNewest(lookup);
  if (newest === 0) return emptyJobState();

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
  let probe = 1;
  while (!(await exists(probe))) {
    probe *= 2;
    if (probe > SEARCH_CEILING) return 0;
  }
  let low = probe;
  let high = probe * 2;
  while (await exists(high)) {
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await exists(middle)) low = middle;
    else high = middle;
  }
  return low;
}
