import type { StoredJob } from './store.js';

/** Jobs per cached chunk of the file: ~16 KB of JSON, rebuilt when one of its jobs changed. */
const CHUNK_JOBS = 64;

interface Chunk {
  ids: string[];
  jobs: StoredJob[];
  bytes: Buffer;
}

/**
 * The state file's JSON, as buffers built from cached pieces. A group commit rewrites the whole
 * file, but only the jobs it changed have new StoredJob objects (stored jobs are never mutated):
 * each job's `"id":{...}` text is cached by its object, and the file's buffers by runs of
 * CHUNK_JOBS jobs, so a write at 10,000 jobs encodes the few chunks whose jobs changed and hands
 * the rest to the kernel as they are, instead of turning 10,000 objects into one new string.
 */
export class StateSerializer {
  private readonly fragments = new WeakMap<StoredJob, string>();
  private chunks: Chunk[] = [];

  /** `encode` turns a stored job into what the file holds for it (the stored job itself by default). */
  constructor(private readonly encode: (stored: StoredJob) => unknown = (stored) => stored) {}

  /** The buffers of `{...header, "jobs": {id: encode(stored), ...}}`, as JSON.stringify writes it. */
  serialize(header: Record<string, unknown>, jobs: ReadonlyMap<string, StoredJob>): Buffer[] {
    const head = JSON.stringify(header);
    const buffers: Buffer[] = [Buffer.from(`${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"jobs":{`)];
    const chunks: Chunk[] = [];
    let ids: string[] = [];
    let stored: StoredJob[] = [];
    const close = () => {
      const chunk = this.reuse(chunks.length, ids, stored) ?? this.build(chunks.length, ids, stored);
      chunks.push(chunk);
      buffers.push(chunk.bytes);
      ids = [];
      stored = [];
    };
    // forEach: no [key, value] array per job, on a path that runs for every group commit.
    jobs.forEach((job, jobId) => {
      ids.push(jobId);
      stored.push(job);
      if (ids.length === CHUNK_JOBS) close();
    });
    if (ids.length > 0) close();
    this.chunks = chunks;
    buffers.push(Buffer.from('}}'));
    return buffers;
  }

  /** The cached chunk at this place if it holds the same jobs, the same objects. */
  private reuse(index: number, ids: readonly string[], jobs: readonly StoredJob[]): Chunk | undefined {
    const cached = this.chunks[index];
    if (cached?.ids.length !== ids.length) return undefined;
    for (let i = 0; i < ids.length; i++) if (cached.ids[i] !== ids[i] || cached.jobs[i] !== jobs[i]) return undefined;
    return cached;
  }

  private build(index: number, ids: string[], jobs: StoredJob[]): Chunk {
    const texts = jobs.map((job, i) => {
      let fragment = this.fragments.get(job);
      if (fragment === undefined) {
        fragment = `${JSON.stringify(ids[i])}:${JSON.stringify(this.encode(job))}`;
        this.fragments.set(job, fragment);
      }
      return fragment;
    });
    return { ids, jobs, bytes: Buffer.from(`${index > 0 ? ',' : ''}${texts.join(',')}`) };
  }
}
