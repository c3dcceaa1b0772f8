import type { StoredJob } from './store.js';

/**
 * The state file's JSON, built from one cached fragment per job. A group commit rewrites the whole
 * file, but only the jobs it changed have new StoredJob objects (stored jobs are never mutated):
 * the others reuse their `"id":{...}` text, so a write at 10,000 jobs serialises a handful of jobs
 * and joins strings, instead of turning 10,000 objects into JSON again.
 */
export class StateSerializer {
  private readonly fragments = new WeakMap<StoredJob, string>();

  /** `{...header, "jobs": {id: stored, ...}}`, equal to JSON.stringify of that object. */
  serialize(header: Record<string, unknown>, jobs: ReadonlyMap<string, StoredJob>): string {
    const parts: string[] = [];
    for (const [jobId, stored] of jobs) {
      let fragment = this.fragments.get(stored);
      if (fragment === undefined) {
        fragment = `${JSON.stringify(jobId)}:${JSON.stringify(stored)}`;
        this.fragments.set(stored, fragment);
      }
      parts.push(fragment);
    }
    const head = JSON.stringify(header);
    return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"jobs":{${parts.join(',')}}}`;
  }
}
