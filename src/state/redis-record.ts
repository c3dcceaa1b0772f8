import type { CounterLayout } from '../domain/counters.js';
import { encodeStoredJob, parseStateFile, stateFileHeader } from './state-schema.js';
import type { StoredJob } from './store.js';

/**
 * A job's record in Redis: the state file's own format holding that one job (header with the
 * counters layout, then the job as `encodeStoredJob` writes it). One encoder for both stores, so a
 * counter family added to `JobCounters` reaches Redis with no change here, and a record kept in
 * another metrics layout is adapted exactly as a state file would be.
 */
export function encodeRecord(jobId: string, stored: StoredJob, layout: CounterLayout): string {
  return JSON.stringify({ ...stateFileHeader(layout), jobs: { [jobId]: encodeStoredJob(stored, layout) } });
}

/** A record that cannot be read: start-up or the poll of that job stops, naming the key. */
export class RedisRecordError extends Error {
  override readonly name = 'RedisRecordError';
  constructor(key: string, reason: string) {
    super(`Redis record ${key} cannot be used: ${reason}. It was left unchanged; delete the key to start the job afresh.`);
  }
}

export function decodeRecord(key: string, jobId: string, text: string, layout: CounterLayout): StoredJob {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new RedisRecordError(key, 'it is not valid JSON');
  }
  const parsed = parseStateFile(data, layout);
  if ('problem' in parsed) throw new RedisRecordError(key, parsed.problem);
  const stored = parsed.jobs.get(jobId);
  if (!stored) throw new RedisRecordError(key, `it holds no job ${jobId}`);
  return stored;
}
