import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import type { CountedBuild, CounterLayout, CycleDelta } from '../../src/domain/counters.js';
import { emptyJobState, type JobState } from '../../src/domain/job.js';
import { LeaseLostError, RedisStore } from '../../src/state/redis-store.js';
import { StaleVersionError, type StoreEvent } from '../../src/state/store.js';
import { sleep } from '../../src/support/clock.js';
import { itWithRedis, startRedis, type RedisServer } from '../helpers/redis.js';

// Item 1 of issue 11: the fenced commit and the leases against a real redis-server.
const layout: CounterLayout = { recordLabels: [], durationBuckets: [30, 60, 300], queueBuckets: [5, 60] };
const JOB = 'a'.repeat(32);

function build(buildNo: number, extra: Partial<CountedBuild> = {}): CountedBuild {
  return { buildNo, result: 'success', triggerType: 'manual', durationSeconds: 40, labels: {} as CountedBuild['labels'], ...extra };
}

function state(cursor: number, more: Partial<JobState> = {}): JobState {
  return { ...emptyJobState(), cursor, ...more };
}

function delta(counted: CountedBuild[], next: JobState, queued: CycleDelta['queued'] = []): CycleDelta {
  return { counted, queued, next };
}

describe('Redis store: fenced commit and leases on a real redis-server', () => {
  let redis: RedisServer | undefined;
  const stores: RedisStore[] = [];
  let prefix = 0;

  beforeAll(async () => {
    redis = await startRedis().catch(() => undefined);
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** A replica's store; every test gets its own key prefix. */
  async function replica(name: string, options: { leaseMs?: number; slot?: number; events?: StoreEvent[] } = {}) {
    if (!redis) throw new Error('redis-server did not start');
    const events = options.events ?? [];
    const store = await RedisStore.open({
      url: redis.url,
      keyPrefix: `t${prefix}:`,
      leaseMs: options.leaseMs ?? 5000,
      slot: () => options.slot ?? 1,
      replica: name,
      layout,
      events: { emit: (event) => events.push(event) },
    });
    stores.push(store);
    return store;
  }

  function next(): void {
    prefix += 1;
  }

  /** Gives `store` the token that holds the job's lease now, as if its lease check passed: only the version check is left. */
  async function shareLease(store: RedisStore, holder: RedisStore): Promise<void> {
    const token = await redis?.client().get(holder.keys(JOB).lease);
    if (!token) throw new Error('no lease held');
    (store as unknown as { leases: { held: Map<string, { token: string; slot: number }> } }).leases.held.set(JOB, { token, slot: 1 });
  }

  itWithRedis('commits the whole record under the lease; another replica reads the same counters and state', async () => {
    next();
    const a = await replica('a');
    const b = await replica('b');
    expect(await a.claim(JOB, 0)).toBe('ok');
    expect(await a.begin(JOB)).toBeUndefined();
    await a.commit(JOB, 0, delta([], state(10)));
    const committed = await a.commit(JOB, 1, delta([build(11), build(12, { result: 'failure', triggerType: 'timer' })], state(12)));
    expect(committed.version).toBe(2);
    const seen = await b.begin(JOB);
    expect(seen).toEqual({ version: 2, state: state(12), counters: committed.counters });
    expect((await b.load()).get(JOB)?.counters.triggers).toEqual({ manual: 1, timer: 1 });
  });

  itWithRedis('fenced: a commit after the lease lapsed and another replica took the job changes nothing', async () => {
    next();
    const events: StoreEvent[] = [];
    const a = await replica('a', { leaseMs: 150, events });
    const b = await replica('b', { leaseMs: 5000 });
    expect(await a.claim(JOB, 0)).toBe('ok');
    await a.commit(JOB, 0, delta([], state(10)));
    // a pauses past its lease (no renewal: its store is stopped from renewing by the pause itself).
    (a as unknown as { leases: { renewAll: () => Promise<void> } }).leases.renewAll = () => Promise.resolve();
    await sleep(300);
    expect(await b.claim(JOB, 0)).toBe('ok');
    await expect(a.commit(JOB, 1, delta([build(11)], state(11)))).rejects.toBeInstanceOf(LeaseLostError);
    expect(events).toContainEqual({ type: 'lease_conflict', jobId: JOB, reason: 'fenced' });
    const after = (await b.load()).get(JOB);
    expect(after?.version).toBe(1);
    expect(after?.counters.series).toEqual([]);
  });

  itWithRedis('stale and already counted: a commit computed from an older version is refused, the build is counted once', async () => {
    next();
    const a = await replica('a');
    expect(await a.claim(JOB, 0)).toBe('ok');
    await a.commit(JOB, 0, delta([], state(10)));
    const events: StoreEvent[] = [];
    const late = await replica('late', { events });
    expect((await late.begin(JOB))?.version).toBe(1);
    // Build 11 counted by a commit from version 1 ...
    await a.commit(JOB, 1, delta([build(11)], state(11)));
    // ... and again by one computed from the same version 1 (a replica whose read predates it).
    await shareLease(late, a);
    await expect(late.commit(JOB, 1, delta([build(11)], state(11)))).rejects.toBeInstanceOf(StaleVersionError);
    expect(events).toContainEqual({ type: 'lease_conflict', jobId: JOB, reason: 'stale' });
    const after = (await a.load()).get(JOB);
    expect(after?.version).toBe(2);
    expect(after?.counters.series).toEqual([expect.objectContaining({ result: 'success', builds: 1 })]);
  });

  itWithRedis('queue time observed once: observed while pending, not again when the build finishes', async () => {
    next();
    const a = await replica('a');
    expect(await a.claim(JOB, 0)).toBe('ok');
    await a.commit(JOB, 0, delta([], state(10)));
    await a.commit(JOB, 1, delta([], state(11, { pending: [11], queueObserved: [11] }), [{ buildNo: 11, seconds: 3 }]));
    // A second cycle from version 1 (before the observation) would observe it again: stale.
    await expect(
      a.commit(JOB, 1, delta([], state(11, { pending: [11], queueObserved: [11] }), [{ buildNo: 11, seconds: 3 }])),
    ).rejects.toThrow(StaleVersionError);
    await a.commit(JOB, 2, delta([build(11)], state(11)));
    const after = (await a.load()).get(JOB);
    expect(after?.counters.queue).toEqual({ buckets: [1, 0], sumMs: 3000, count: 1 });
    expect(after?.counters.series[0]?.builds).toBe(1);
  });

  itWithRedis('first-start race: of two replicas starting a job at once, one takes it and initialises it', async () => {
    next();
    const a = await replica('a');
    const b = await replica('b');
    const answers = await Promise.all([a.claim(JOB, 0), b.claim(JOB, 0)]);
    expect([...answers].sort()).toEqual(['busy', 'ok']);
    const winner = answers[0] === 'ok' ? a : b;
    const loser = winner === a ? b : a;
    await winner.commit(JOB, 0, delta([], state(100)));
    // Even a loser past the lease check (given the winner's token) cannot initialise it again: stale against version 0.
    await shareLease(loser, winner);
    await expect(loser.commit(JOB, 0, delta([], state(5)))).rejects.toBeInstanceOf(StaleVersionError);
    expect((await loser.load()).get(JOB)?.state.cursor).toBe(100);
  });

  itWithRedis('done: a job polled by one replica in this period is not polled again by another; it is due in the next', async () => {
    next();
    const a = await replica('a', { slot: 7 });
    const b = await replica('b', { slot: 7 });
    expect(await a.claim(JOB, 0)).toBe('ok');
    await a.endClaim(JOB, true);
    expect(await b.claim(JOB, 0)).toBe('done');
    const later = await replica('c', { slot: 8 });
    expect(await later.claim(JOB, 0)).toBe('ok');
    // A poll that did not run to its end leaves the job due in the same period.
    await later.endClaim(JOB, false);
    const again = await replica('d', { slot: 8 });
    expect(await again.claim(JOB, 0)).toBe('ok');
  });

  itWithRedis(
    'lease renewal lost: renewal keeps a lease past its length; once taken over, renewal reports it lost and the commit is fenced',
    async () => {
      next();
      const events: StoreEvent[] = [];
      const a = await replica('a', { leaseMs: 300, events });
      const b = await replica('b', { leaseMs: 300 });
      expect(await a.claim(JOB, 0)).toBe('ok');
      await sleep(700);
      expect(await b.claim(JOB, 0)).toBe('busy');
      // Someone deletes the lease (as an expiry during a pause would) and b takes the job.
      await redis?.client().del(a.keys(JOB).lease);
      expect(await b.claim(JOB, 0)).toBe('ok');
      await sleep(250);
      expect(events).toContainEqual({ type: 'lease_conflict', jobId: JOB, reason: 'lost' });
      await expect(a.commit(JOB, 0, delta([], state(1)))).rejects.toBeInstanceOf(LeaseLostError);
    },
  );

  itWithRedis('changes(): a replica sees only the jobs another one committed since it last looked', async () => {
    next();
    const a = await replica('a');
    const b = await replica('b');
    expect(await a.claim(JOB, 0)).toBe('ok');
    await a.commit(JOB, 0, delta([], state(3)));
    expect([...(await b.changes()).keys()]).toEqual([JOB]);
    expect((await b.changes()).size).toBe(0);
    await a.commit(JOB, 1, delta([build(4)], state(4)));
    expect((await b.changes()).get(JOB)?.version).toBe(2);
  });
});
