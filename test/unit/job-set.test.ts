import { describe, expect, it } from 'vitest';
import { emptyCounters } from '../../src/domain/counters.js';
import { emptyJobState } from '../../src/domain/job.js';
import type { PollerEvent } from '../../src/poller/events.js';
import { JobSet, mergeJobs } from '../../src/poller/job-set.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { ManualClock } from '../helpers/clock.js';

/** The job set's lifecycle (src/poller/job-set.ts): which jobs are polled, shown, renamed, expired and forgotten. */
const LAYOUT = { recordLabels: [], durationBuckets: [60], queueBuckets: [60] };
const A = { id: 'a0000000000000000000000000000001', name: 'alpha' };
const B = { id: 'b0000000000000000000000000000002', name: 'beta' };
const C = { id: 'c0000000000000000000000000000003', name: 'gamma' };

function jobSet(staticJobs: Array<{ id: string; name?: string }> = [A]) {
  const saved = { version: 3, state: { ...emptyJobState(), cursor: 42 }, counters: emptyCounters() };
  const store = new MemoryStore(LAYOUT, new Map([[C.id, saved]]));
  const events: PollerEvent[] = [];
  const clock = new ManualClock();
  const set = new JobSet({ store, clock, staticJobs, graceMs: 60_000, keepMs: 3_600_000, events: { emit: (event) => events.push(event) } });
  const types = () =>
    events
      .splice(0)
      .map((event) => `${event.type}${'job' in event ? ` ${event.job.name}` : ''}${'reason' in event ? ` (${event.reason})` : ''}`);
  return { set, store, clock, types, saved };
}

describe('job set', () => {
  it('starts with the static jobs, each shown with what the store holds', async () => {
    const { set, types } = jobSet([A, { id: C.id }]);
    await set.init();
    expect(set.jobs().map((job) => job.name)).toEqual(['alpha', C.id]);
    expect(set.jobs()[1]?.stored?.state.cursor).toBe(42);
    expect(types()).toEqual(['job_added alpha (start)', `job_added ${C.id} (start)`]);
  });

  it('adds, renames and lets go of jobs; series go after the grace period, saved state after keep', async () => {
    const { set, store, clock, types } = jobSet();
    await set.init();
    types();
    await set.reconcile([A, B, C]);
    expect(types()).toEqual(['job_added beta (new)', 'job_added gamma (new)']);
    await set.reconcile([{ ...A, name: 'alpha-2' }, C]);
    expect(types()).toEqual(['job_renamed alpha-2', 'job_left beta']);
    clock.advance(60_000);
    await set.reconcile([{ ...A, name: 'alpha-2' }]);
    expect(types()).toEqual(['job_left gamma', 'job_expired beta']);
    clock.advance(3_600_000);
    await set.reconcile([{ ...A, name: 'alpha-2' }]);
    expect(types()).toEqual(['job_expired gamma']);
    // Past keep_removed_jobs: its saved state is gone, a return starts afresh.
    expect(await store.begin(C.id)).toBeUndefined();
    expect(set.jobs().map((job) => job.name)).toEqual(['alpha-2']);
  });

  it('a job back within keep_removed_jobs continues with what it had, under its new name', async () => {
    const { set, clock, types, saved } = jobSet([]);
    await set.init();
    await set.reconcile([C]);
    types();
    await set.reconcile([]);
    clock.advance(120_000);
    await set.reconcile([]);
    expect(types()).toEqual(['job_left gamma', 'job_expired gamma']);
    await set.reconcile([{ ...C, name: 'gamma-2' }]);
    const back = set.jobs()[0];
    expect(back?.stored).toEqual(saved);
    expect(types()).toEqual(['job_added gamma-2 (back)', 'job_renamed gamma-2']);
  });

  it('static names win over discovered ones; a static job without one takes the discovered name', () => {
    expect(mergeJobs([{ id: A.id }, { id: B.id, name: 'mine' }], [{ ...A, name: 'listed-a' }, { ...B, name: 'listed-b' }, C])).toEqual([
      { id: A.id, name: 'listed-a' },
      { id: B.id, name: 'mine' },
      C,
    ]);
    expect(mergeJobs([{ id: A.id }], [])).toEqual([{ id: A.id, name: A.id }]);
  });

  it('a static job keeps its own project (or none) even when discovery lists it in one: its labels never depend on a listing', () => {
    const P1 = 'e1000000000000000000000000000001';
    const P2 = 'e2000000000000000000000000000002';
    const merged = mergeJobs(
      [{ id: A.id }, { id: B.id, project: P2 }, { id: C.id }],
      [
        { ...A, project: P1 },
        { ...B, project: P1 },
      ],
    );
    expect(merged.map((job) => [job.name, job.project])).toEqual([
      ['alpha', undefined],
      ['beta', P2],
      [C.id, undefined],
    ]);
  });

  it('a job first seen in its project (or moved to another) is renamed: same id, same counts, new project label', async () => {
    const P1 = 'e1000000000000000000000000000001';
    const { set, types } = jobSet([A]);
    await set.init();
    types();
    await set.reconcile([{ ...A, project: P1 }]);
    expect(types()).toEqual(['job_renamed alpha']);
    expect(set.jobs()[0]?.project).toBe(P1);
    await set.reconcile([{ ...A, project: P1 }]);
    expect(types()).toEqual([]);
  });
});
