import type { Redis } from 'ioredis';
import type { CounterLayout, CycleDelta } from '../domain/counters.js';
import { NO_EVENTS, type Events } from '../support/events.js';
import { createRedisClient, redacted, type RedisConnectionSettings } from './redis-connection.js';
import { Leases, type JobKeys } from './redis-leases.js';
import { decodeRecord, encodeRecord } from './redis-record.js';
import { COMMIT, IMPORT } from './redis-scripts.js';
import { nextStored, StaleVersionError, type ClaimAnswer, type JobStart, type Store, type StoredJob, type StoreEvent } from './store.js';

export interface RedisStoreOptions extends RedisConnectionSettings {
  layout: CounterLayout;
  /** Prefix of every key (config `state.redis.key_prefix`). */
  keyPrefix: string;
  leaseMs: number;
  /** See LeaseOptions.slot. */
  slot: (cycleStartedAt: number) => number;
  replica: string;
  events?: Events<StoreEvent>;
}

/** The commit's lease was lost (expired during a pause, taken by another replica): nothing was applied. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(jobId: string) {
    super(`lease of job ${jobId} lost before its commit (another replica polls it now); nothing was applied`);
  }
}

/**
 * The shared store for several replicas (docs/high-availability.md): each job's whole record in a
 * Redis hash, replaced by one fenced compare-and-set script (lease token + version); per-job leases
 * spread the polling. `/metrics` of every replica reads the same records, re-reading only jobs whose
 * version changed.
 */
export class RedisStore implements Store {
  private readonly leases: Leases;
  private readonly events: Events<StoreEvent>;
  /** The record each job was last read or committed at: what a commit applies its delta to. */
  private readonly known = new Map<string, StoredJob>();
  /** The version of each job that `/metrics` of this replica was given last (load, commit, changes). */
  private readonly mirrored = new Map<string, number>();

  private constructor(
    readonly redis: Redis,
    private readonly options: RedisStoreOptions,
  ) {
    this.events = options.events ?? NO_EVENTS;
    this.leases = new Leases(redis, (jobId) => this.keys(jobId), { ...options, events: this.events });
  }

  /** Connects (rejects when Redis cannot be reached now, naming the URL without credentials). */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const redis = createRedisClient(options);
    redis.on('error', () => undefined);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new Error(`state.redis.url: cannot reach Redis at ${redacted(options.url)} (${(error as Error).message})`, { cause: error });
    }
    const store = new RedisStore(redis, options);
    redis.on('ready', () => store.events.emit({ type: 'redis_connection', up: true }));
    redis.on('close', () => store.events.emit({ type: 'redis_connection', up: false }));
    return store;
  }

  keys(jobId: string): JobKeys {
    const tag = `${this.options.keyPrefix}{j:${jobId}}`;
    return { lease: `${tag}:lease`, job: `${tag}:job` };
  }

  private get versionsKey(): string {
    return `${this.options.keyPrefix}versions`;
  }

  async load(): Promise<Map<string, StoredJob>> {
    const versions = await this.redis.hgetall(this.versionsKey);
    return this.mirror(await this.read(Object.keys(versions)));
  }

  async begin(jobId: string): Promise<JobStart | undefined> {
    return (await this.read([jobId])).get(jobId);
  }

  claim(jobId: string, cycleStartedAt: number): Promise<ClaimAnswer> {
    return this.leases.claim(jobId, cycleStartedAt);
  }

  endClaim(jobId: string, polled: boolean): Promise<void> {
    return this.leases.release(jobId, polled);
  }

  async commit(jobId: string, expectedVersion: number, delta: CycleDelta): Promise<StoredJob> {
    let current = this.known.get(jobId);
    if ((current?.version ?? 0) !== expectedVersion) current = (await this.read([jobId])).get(jobId);
    let stored: StoredJob;
    try {
      stored = nextStored(jobId, current, expectedVersion, delta, this.options.layout);
    } catch (error) {
      this.events.emit({ type: 'lease_conflict', jobId, reason: 'stale' });
      throw error;
    }
    const { lease, job } = this.keys(jobId);
    const record = encodeRecord(jobId, stored, this.options.layout);
    const token = this.leases.token(jobId);
    const answer = await this.redis.eval(COMMIT, 3, lease, job, this.versionsKey, token, expectedVersion, stored.version, record, jobId);
    if (answer === 'fenced' || answer === 'stale') {
      this.events.emit({ type: 'lease_conflict', jobId, reason: answer });
      this.known.delete(jobId);
      if (answer === 'fenced') throw new LeaseLostError(jobId);
      throw new StaleVersionError(jobId, expectedVersion, Number(await this.redis.hget(job, 'ver')));
    }
    this.known.set(jobId, stored);
    this.mirrored.set(jobId, stored.version);
    return stored;
  }

  /** `state import`: writes a job that Redis does not hold yet; false (nothing written) when it does. */
  async importJob(jobId: string, stored: StoredJob): Promise<boolean> {
    const record = encodeRecord(jobId, stored, this.options.layout);
    return (await this.redis.eval(IMPORT, 2, this.keys(jobId).job, this.versionsKey, stored.version, record, jobId)) === 'ok';
  }

  /** The jobs whose version in Redis differs from the one this replica saw last: committed by another replica. */
  async changes(): Promise<Map<string, StoredJob>> {
    const versions = await this.redis.hgetall(this.versionsKey);
    const changed = Object.entries(versions)
      .filter(([jobId, version]) => this.mirrored.get(jobId) !== Number(version))
      .map(([jobId]) => jobId);
    return changed.length === 0 ? new Map() : this.mirror(await this.read(changed));
  }

  private mirror(jobs: Map<string, StoredJob>): Map<string, StoredJob> {
    for (const [jobId, stored] of jobs) this.mirrored.set(jobId, stored.version);
    return jobs;
  }

  health(): { ok: true } | { ok: false; reason: string } {
    return this.redis.status === 'ready' ? { ok: true } : { ok: false, reason: `Redis unreachable (${this.redis.status})` };
  }

  async forget(jobId: string): Promise<void> {
    const { lease, job } = this.keys(jobId);
    await this.redis.multi().del(job, lease).hdel(this.versionsKey, jobId).exec();
    this.known.delete(jobId);
    this.mirrored.delete(jobId);
  }

  async close(): Promise<void> {
    await this.leases.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Reads the records of the given jobs in one pipeline; a job without a record is left out. */
  private async read(jobIds: readonly string[]): Promise<Map<string, StoredJob>> {
    const pipeline = this.redis.pipeline();
    for (const jobId of jobIds) pipeline.hget(this.keys(jobId).job, 'rec');
    const replies = (await pipeline.exec()) ?? [];
    const jobs = new Map<string, StoredJob>();
    jobIds.forEach((jobId, i) => {
      const [error, text] = replies[i] ?? [null, null];
      if (error) throw error;
      if (typeof text !== 'string') {
        this.known.delete(jobId);
        return;
      }
      const stored = decodeRecord(this.keys(jobId).job, jobId, text, this.options.layout);
      this.known.set(jobId, stored);
      jobs.set(jobId, stored);
    });
    return jobs;
  }
}
