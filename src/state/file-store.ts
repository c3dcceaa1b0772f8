import { renameSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CounterLayout, CycleDelta } from '../domain/counters.js';
import { NO_EVENTS, type Events } from '../support/events.js';
import { encodeStoredJob, parseStateFile, stateFileHeader } from './state-schema.js';
import { lockStateFile } from './state-lock.js';
import { StateSerializer } from './state-serializer.js';
import { nextStored, type JobStart, type Store, type StoredJob, type StoreEvent } from './store.js';

export interface FileStoreOptions {
  /** The metrics layout the counters are kept in (config `metrics`); saved counters in another one are adapted. */
  layout: CounterLayout;
  events?: Events<StoreEvent>;
}

function applyTo(jobs: Map<string, StoredJob>, waiter: Waiter): void {
  if (waiter.stored) jobs.set(waiter.jobId, waiter.stored);
  else jobs.delete(waiter.jobId);
}

/** The state file exists but cannot be used; start-up stops and the file is left untouched. */
export class StateFileError extends Error {
  override readonly name = 'StateFileError';
  constructor(path: string, reason: string) {
    super(
      `state file ${path} cannot be used: ${reason}. It was left unchanged. To recover, restore it from a ` +
        `backup, or move it aside (mv ${path} ${path}.broken) to start afresh: jobs then start per poll.start_at ` +
        `and builds counted before are not counted again only with start_at: latest.`,
    );
  }
}

interface Waiter {
  jobId: string;
  /** null: forget the job. */
  stored: StoredJob | null;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded store: one JSON file holding every job's state and counters, replaced atomically
 * (temp file, fsync, rename, fsync dir), held by one process at a time (an exclusive lock beside
 * it). Commits that arrive together share one write (group commit), so a cycle over 1,000 jobs
 * costs one or two file writes, not 1,000.
 */
export class FileStore implements Store {
  private readonly durable = new Map<string, StoredJob>();
  private queued: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private release: (() => Promise<void>) | undefined;
  private lockLost: Error | undefined;
  private readonly layout: CounterLayout;
  private readonly events: Events<StoreEvent>;
  private readonly serializer: StateSerializer;

  private constructor(
    readonly path: string,
    options: FileStoreOptions,
  ) {
    this.layout = options.layout;
    this.events = options.events ?? NO_EVENTS;
    const layout = this.layout;
    this.serializer = new StateSerializer((stored) => encodeStoredJob(stored, layout));
  }

  /** Locks the file (StateLockedError when another process holds it), then reads it. */
  static async open(path: string, options: FileStoreOptions): Promise<FileStore> {
    const store = new FileStore(path, options);
    store.release = await lockStateFile(path, (error) => {
      // Another process took the file over (or the lock vanished): never write again.
      store.lockLost = new Error(`lock of state file ${path} lost (${error.message}); no further commits`, { cause: error });
      store.saveFailed(store.lockLost);
    });
    try {
      await store.read();
    } catch (error) {
      await store.release();
      throw error;
    }
    return store;
  }

  /** The jobs saved in a state file, read without locking it (`once` works on such a copy). */
  static async readSnapshot(path: string, options: FileStoreOptions): Promise<Map<string, StoredJob>> {
    const store = new FileStore(path, options);
    await store.read();
    return store.durable;
  }

  load(): Promise<Map<string, StoredJob>> {
    return Promise.resolve(new Map(this.durable));
  }

  begin(jobId: string): Promise<JobStart | undefined> {
    return Promise.resolve(this.durable.get(jobId));
  }

  commit(jobId: string, expectedVersion: number, delta: CycleDelta): Promise<StoredJob> {
    if (this.lockLost) return Promise.reject(this.lockLost);
    let stored: StoredJob;
    try {
      stored = nextStored(jobId, this.latest(jobId), expectedVersion, delta, this.layout);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise((resolve, reject) => {
      this.queued.push({ jobId, stored, resolve: () => resolve(stored), reject });
      this.flushing ??= new Promise((done) => setImmediate(done)).then(() => this.flushQueued());
    });
  }

  forget(jobId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ jobId, stored: null, resolve: () => resolve(), reject });
      this.flushing ??= new Promise((done) => setImmediate(done)).then(() => this.flushQueued());
    });
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.release?.();
    this.release = undefined;
  }

  /** The job as its last commit leaves it, queued or durable. */
  private latest(jobId: string): StoredJob | undefined {
    for (let i = this.queued.length - 1; i >= 0; i--) {
      const waiter = this.queued[i];
      if (waiter?.jobId === jobId) return waiter.stored ?? undefined;
    }
    return this.durable.get(jobId);
  }

  private saveFailed(error: unknown): void {
    this.events.emit({ type: 'state_save_failed', path: this.path, error });
  }

  private async flushQueued(): Promise<void> {
    while (this.queued.length > 0) {
      const batch = this.queued;
      this.queued = [];
      const snapshot = new Map(this.durable);
      for (const waiter of batch) applyTo(snapshot, waiter);
      try {
        const temp = await this.writeTemp(snapshot);
        this.replaceWith(temp);
      } catch (error) {
        this.saveFailed(error);
        // Later commits of the same jobs were validated against these versions; fail them too.
        for (const waiter of [...batch, ...this.queued.splice(0)]) waiter.reject(error);
        continue;
      }
      for (const waiter of batch) applyTo(this.durable, waiter);
      // The rename is the commit point for a crash of this process; callers count the builds only
      // once the directory is synced too, so a power loss cannot take back a counted commit. A sync
      // that fails is reported, and the commit still stands: the rename is visible.
      await this.syncDirectory().catch((error: unknown) => this.saveFailed(error));
      for (const waiter of batch) waiter.resolve();
    }
    this.flushing = undefined;
  }

  private async read(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StateFileError(this.path, `it cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new StateFileError(this.path, 'it is not valid JSON (truncated or corrupted)');
    }
    const parsed = parseStateFile(data, this.layout);
    if ('problem' in parsed) throw new StateFileError(this.path, parsed.problem);
    for (const [jobId, stored] of parsed.jobs) this.durable.set(jobId, stored);
    if (parsed.reset) this.events.emit({ type: 'counters_reset', ...parsed.reset, to: this.layout, jobs: parsed.jobs.size });
  }

  /** Writes and fsyncs the new content to a temp file beside the state file; returns its path. */
  private async writeTemp(jobs: Map<string, StoredJob>): Promise<string> {
    const body = this.serializer.serialize(stateFileHeader(this.layout), jobs);
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        const { bytesWritten } = await handle.writev(body);
        const length = body.reduce((sum, buffer) => sum + buffer.length, 0);
        if (bytesWritten !== length) throw new Error(`short write to ${temp}: ${bytesWritten} of ${length} bytes`);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    return temp;
  }

  private replaceWith(temp: string): void {
    try {
      renameSync(temp, this.path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
  }

  /** Makes the rename itself survive a power loss. */
  private async syncDirectory(): Promise<void> {
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
