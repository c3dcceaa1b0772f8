import type { CounterLayout, CycleDelta } from '../domain/counters.js';
import { nextStored, type JobStart, type Store, type StoredJob } from './store.js';

/** A Store that keeps everything in memory: for benchmarks, tests and `once` on a copy of the state file. */
export class MemoryStore implements Store {
  private readonly jobs: Map<string, StoredJob>;

  /** Optionally seeded with saved jobs (already in `layout`). */
  constructor(
    private readonly layout: CounterLayout,
    seed: ReadonlyMap<string, StoredJob> = new Map(),
  ) {
    this.jobs = new Map(seed);
  }

  load(): Promise<Map<string, StoredJob>> {
    return Promise.resolve(new Map(this.jobs));
  }

  begin(jobId: string): Promise<JobStart | undefined> {
    return Promise.resolve(this.jobs.get(jobId));
  }

  commit(jobId: string, expectedVersion: number, delta: CycleDelta): Promise<StoredJob> {
    try {
      const stored = nextStored(jobId, this.jobs.get(jobId), expectedVersion, delta, this.layout);
      this.jobs.set(jobId, stored);
      return Promise.resolve(stored);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  forget(jobId: string): Promise<void> {
    this.jobs.delete(jobId);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
