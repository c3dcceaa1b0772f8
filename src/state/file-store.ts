import { renameSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { BUILD_RESULTS } from '../codearts/status.js';
import { StateSerializer } from './state-serializer.js';
import { StaleVersionError, type JobState, type Store, type StoredJob } from './store.js';

const STATE_FORMAT = 'codearts-build-exporter/state';
const STATE_SCHEMA_VERSION = 1;

const buildNo = z.number().int().positive();
const JobStateSchema = z.object({
  cursor: z.number().int().nonnegative(),
  pending: z.array(buildNo),
  queueObserved: z.array(buildNo),
  skipped: z.array(z.object({ buildNo, checksLeft: z.number().int().nonnegative() })),
  last: z
    .object({
      buildNo,
      result: z.enum(BUILD_RESULTS),
      finishedAt: z.number(),
      durationSeconds: z.number().optional(),
    })
    .optional(),
  lastSuccessAt: z.number().optional(),
});
const StateFileSchema = z.object({
  format: z.literal(STATE_FORMAT),
  schema_version: z.literal(STATE_SCHEMA_VERSION),
  saved_at: z.string(),
  jobs: z.record(z.string(), z.object({ version: z.number().int().nonnegative(), state: JobStateSchema })),
});

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
 * The embedded store: one JSON file, replaced atomically (temp file, fsync, rename, fsync dir).
 * Commits that arrive together share one write (group commit), so a cycle over 1,000 jobs costs
 * one or two file writes, not 1,000.
 */
export class FileStore implements Store {
  private readonly durable = new Map<string, StoredJob>();
  private queued: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private readonly serializer = new StateSerializer();

  private constructor(
    readonly path: string,
    private readonly onSaveError: (error: unknown) => void,
  ) {}

  static async open(path: string, onSaveError: (error: unknown) => void = () => undefined): Promise<FileStore> {
    const store = new FileStore(path, onSaveError);
    await store.read();
    return store;
  }

  async load(): Promise<Map<string, StoredJob>> {
    return new Map([...this.durable].map(([id, stored]) => [id, structuredClone(stored)]));
  }

  commit(jobId: string, expectedVersion: number, next: JobState): Promise<number> {
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
        // Rename and resolve in one synchronous step: the commit point and the moment callers
        // count the builds (and log the ledger) are separated by no I/O a crash could fall into.
        this.replaceWith(temp);
        for (const waiter of batch) applyTo(this.durable, waiter);
        for (const waiter of batch) waiter.resolve(waiter.stored?.version ?? 0);
      } catch (error) {
        this.onSaveError(error);
        // Later commits of the same jobs were validated against these versions; fail them too.
        for (const waiter of [...batch, ...this.queued.splice(0)]) waiter.reject(error);
        continue;
      }
      await this.syncDirectory().catch((error: unknown) => this.onSaveError(error));
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
    const parsed = StateFileSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new StateFileError(this.path, `unexpected content at ${issue?.path.join('.') || 'top level'} (${issue?.message ?? 'invalid'})`);
    }
    for (const [jobId, stored] of Object.entries(parsed.data.jobs)) this.durable.set(jobId, stored as StoredJob);
  }

  /** Writes and fsyncs the new content to a temp file beside the state file; returns its path. */
  private async writeTemp(jobs: Map<string, StoredJob>): Promise<string> {
    const body = this.serializer.serialize({ format: STATE_FORMAT, schema_version: STATE_SCHEMA_VERSION, saved_at: new Date().toISOString() }, jobs);
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
