import { describe, expect, it } from 'vitest';
import { emptyJobState } from '../../src/domain/job.js';
import { commitDelta, isEmptyDelta, toDelta } from '../../src/poller/commit.js';
import type { PollerEvent } from '../../src/poller/events.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { StaleVersionError } from '../../src/state/store.js';

/** The exactly-once boundary (src/poller/commit.ts): a cycle's delta is committed, then shown, or neither. */
const JOB = { id: 'c0000000000000000000000000000001', name: 'commit' };
const LAYOUT = { recordLabels: [], durationBuckets: [60], queueBuckets: [60] };
const LABELS = { branch: '', repo_name: '', build_type: '', build_config_type: '', executor: '' };

describe('commit', () => {
  it('commits a delta with builds, then reports what the store now holds', async () => {
    const store = new MemoryStore(LAYOUT);
    const events: PollerEvent[] = [];
    const counted = [{ buildNo: 1, result: 'success' as const, triggerType: 'manual', durationSeconds: 5, labels: LABELS }];
    const delta = toDelta({ counted, queued: [], next: { ...emptyJobState(), cursor: 1 } });
    const stored = await commitDelta(store, { emit: (event) => events.push(event) }, JOB, { version: 0, state: emptyJobState() }, delta);
    expect(stored?.version).toBe(1);
    expect(stored?.counters.series).toEqual([
      { result: 'success', labels: [], builds: 1, duration: { buckets: [1], sumMs: 5000, count: 1 } },
    ]);
    expect(events).toEqual([{ type: 'job_committed', job: JOB, stored, counted }]);
  });

  it('writes nothing for a cycle that found nothing new', async () => {
    const store = new MemoryStore(LAYOUT);
    const events: PollerEvent[] = [];
    const state = { ...emptyJobState(), cursor: 4, pending: [4] };
    expect(isEmptyDelta(toDelta({ counted: [], queued: [], next: structuredClone(state) }), state)).toBe(true);
    expect(isEmptyDelta(toDelta({ counted: [], queued: [{ buildNo: 4, seconds: 1 }], next: state }), state)).toBe(false);
    expect(
      await commitDelta(
        store,
        { emit: (event) => events.push(event) },
        JOB,
        { version: 3, state },
        toDelta({ counted: [], queued: [], next: state }),
      ),
    ).toBeUndefined();
    expect(events).toEqual([]);
    expect((await store.load()).size).toBe(0);
  });

  it('a commit against a stale version is refused and reports nothing: the builds are counted by a later cycle', async () => {
    const store = new MemoryStore(LAYOUT);
    await store.commit(JOB.id, 0, toDelta({ counted: [], queued: [], next: emptyJobState() }));
    const events: PollerEvent[] = [];
    const delta = toDelta({ counted: [], queued: [], next: { ...emptyJobState(), cursor: 9 } });
    await expect(
      commitDelta(store, { emit: (event) => events.push(event) }, JOB, { version: 0, state: emptyJobState() }, delta),
    ).rejects.toBeInstanceOf(StaleVersionError);
    expect(events).toEqual([]);
  });
});
