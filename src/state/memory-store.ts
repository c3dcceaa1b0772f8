import type { JobState } from '../domain/job.js';
import { StaleVersionError, type Store, type StoredJob } from './store.js';

/** A Store that keeps everything in memory: for benchmarks and tests that need no durability. */
export class MemoryStore implements Store {
  private readonly jobs: Map<string, StoredJob>;

  /** Optionally seeded with saved jobs (`once` works on a copy of the state file). */
  constructor(seed: ReadonlyMap<string, StoredJob> = new Map()) {
    this.jobs = new Map([...seed].map(([id, stored]) => [id, structuredClone(stored)]));
  }

  async load(): Promise<Map<string, StoredJob>> {
    return new Map([...this.jobs].map(([id, stored]) => [id, structuredClone(stored)]));
  }

  async commit(jobId: string, expectedVersion: number, next: JobState): Promise<number> {
    const current = this.jobs.get(jobId)?.version ?? 0;
    if (current !== expectedVersion) throw new StaleVersionError(jobId, expectedVersion, current);
    const version = expectedVersion + 1;
    this.jobs.set(jobId, { state: structuredClone(next), version });
    return version;
  }

  async forget(jobId: string): Promise<void> {
    this.jobs.delete(jobId);
  }

  async close(): Promise<void> {}
}
