import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Events } from '../support/events.js';
import { ACQUIRE, RELEASE, RENEW } from './redis-scripts.js';
import type { ClaimAnswer, StoreEvent } from './store.js';

/** Where a job's keys live. */
export interface JobKeys {
  lease: string;
  job: string;
}

export interface LeaseOptions {
  leaseMs: number;
  /**
   * The schedule slot of a cycle that started at the given time: the poll period's number on this
   * replica's clock (rounded, so clocks apart by less than half a period agree). A job polled in
   * this slot is 'done'.
   */
  slot: (cycleStartedAt: number) => number;
  /** Names this replica in its tokens (the tokens are unique anyway). */
  replica: string;
  events: Events<StoreEvent>;
}

/**
 * The per-job leases of this replica: taken on its own tick (`SET NX PX` in a script that also
 * says whether the job was polled in this slot already), renewed every third of the lease while held, given back by
 * compare-and-delete. A lease only saves API calls: the commit is fenced by it and by the version.
 */
export class Leases {
  /** Token and the slot it was claimed in, per job this replica holds. */
  private readonly held = new Map<string, { token: string; slot: number }>();
  private readonly renewal: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly keys: (jobId: string) => JobKeys,
    private readonly options: LeaseOptions,
  ) {
    this.renewal = setInterval(() => void this.renewAll(), Math.max(50, Math.floor(options.leaseMs / 3)));
    this.renewal.unref();
  }

  /** The token this replica holds for the job ('' when none: a commit is then fenced). */
  token(jobId: string): string {
    return this.held.get(jobId)?.token ?? '';
  }

  async claim(jobId: string, cycleStartedAt: number): Promise<ClaimAnswer> {
    const { lease, job } = this.keys(jobId);
    const token = `${this.options.replica}:${randomUUID()}`;
    const slot = this.options.slot(cycleStartedAt);
    const answer = (await this.redis.eval(ACQUIRE, 2, lease, job, token, this.options.leaseMs, slot)) as ClaimAnswer;
    if (answer === 'ok') this.held.set(jobId, { token, slot });
    else if (answer === 'busy') this.options.events.emit({ type: 'lease_conflict', jobId, reason: 'busy' });
    return answer;
  }

  async release(jobId: string, polled: boolean): Promise<void> {
    const held = this.held.get(jobId);
    if (held === undefined) return;
    this.held.delete(jobId);
    const { lease, job } = this.keys(jobId);
    await this.redis.eval(RELEASE, 2, lease, job, held.token, polled ? held.slot : '');
  }

  /** Renews every held lease; one that was lost is dropped (its commit would be fenced anyway). */
  async renewAll(): Promise<void> {
    for (const [jobId, held] of [...this.held]) {
      try {
        const kept = await this.redis.eval(RENEW, 1, this.keys(jobId).lease, held.token, this.options.leaseMs);
        if (kept === 0 && this.held.get(jobId) === held) {
          this.held.delete(jobId);
          this.options.events.emit({ type: 'lease_conflict', jobId, reason: 'lost' });
        }
      } catch {
        // Redis unreachable: the next renewal tries again; the commit stays fenced if the lease lapsed.
      }
    }
  }

  /** Gives back every held lease unpolled, so another replica takes the jobs at its next tick (SIGTERM). */
  async close(): Promise<void> {
    clearInterval(this.renewal);
    await Promise.all([...this.held.keys()].map((jobId) => this.release(jobId, false).catch(() => undefined)));
  }
}
