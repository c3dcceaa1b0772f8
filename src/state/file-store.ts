import { renameSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseStateFile, stateFileHeader } from './state-schema.js';
import { lockStateFile } from './state-lock.js';
import { StateSerializer } from './state-serializer.js';
import { StaleVersionError, type JobState, type Store, type StoredJob } from './store.js';

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
  resolve: (version: number) => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded store: one JSON file, replaced atomically (temp file, fsync, rename, fsync dir), held
 * by one process at a time (an exclusive lock beside it). Commits that arrive together share one
 * write (group commit), so a cycle over 1,000 jobs costs one or two file writes, not 1,000.
 */
export class FileStore implements Store {
  private readonly durable = new Map<string, StoredJob>();
  private queued: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private release: (() => Promise<void>) | undefined;
  private lockLost: Error | undefined;
  private readonly serializer = new StateSerializer();

  private constructor(
    readonly path: string,
    private readonly onSaveError: (error: unknown) => void,
  ) {}

  /** Locks the file (StateLockedError when another process holds it), then reads it. */
  static async open(path: string, onSaveError: (error: unknown) => void = () => undefined): Promise<FileStore> {
    const store = new FileStore(path, onSaveError);
    store.release = await lockStateFile(path, (error) => {
      // Another process took the file over (or the lock vanished): never write again.
      store.lockLost = new Error(`lock of state file ${path} lost (${error.message}); no further commits`);
      onSaveError(store.lockLost);
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
  static async readSnapshot(path: string): Promise<Map<string, StoredJob>> {
    const store = new FileStore(path, () => undefined);
    await store.read();
    return store.durable;
  }

  async load(): Promise<Map<string, StoredJob>> {
    return new Map([...this.durable].map(([id, stored]) => [id, structuredClone(stored)]));
  }

  commit(jobId: string, expectedVersion: number, next: JobState): Promise<number> {
    if (this.lockLost) return Promise.reject(this.lockLost);
    const current = this.latestVersion(jobId);
    if (current !== expectedVersion) return Promise.reject(new StaleVersionError(jobId, expectedVersion, current));
    return new Promise((resolve, reject) => {
      this.queued.push({ jobId, stored: { state: structuredClone(next), version: expectedVersion + 1 }, resolve, reject });
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

  private latestVersion(jobId: string): number {
    for (let i = this.queued.length - 1; i >= 0; i--) {
      const waiter = this.queued[i];
      if (waiter?.jobId === jobId) return waiter.stored?.version ?? 0;
    }
    return this.durable.get(jobId)?.version ?? 0;
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
        this.onSaveError(error);
        // Later commits of the same jobs were validated against these versions; fail them too.
        for (const waiter of [...batch, ...this.queued.splice(0)]) waiter.reject(error);
        continue;
      }
      for (const waiter of batch) applyTo(this.durable, waiter);
      // The rename is the commit point for a crash of this process; callers count the builds only
      // once the directory is synced too, so a power loss cannot take back a counted commit. A sync
      // that fails is reported, and the commit still stands: the rename is visible.
      await this.syncDirectory().catch((error: unknown) => this.onSaveError(error));
      for (const waiter of batch) waiter.resolve(waiter.stored?.version ?? 0);
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
    const jobs = parseStateFile(data);
    if ('problem' in jobs) throw new StateFileError(this.path, jobs.problem);
    for (const [jobId, stored] of jobs) this.durable.set(jobId, stored);
  }

  /** Writes and fsyncs the new content to a temp file beside the state file; returns its path. */
  private async writeTemp(jobs: Map<string, StoredJob>): Promise<string> {
    const body = this.serializer.serialize(stateFileHeader(), jobs);
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
