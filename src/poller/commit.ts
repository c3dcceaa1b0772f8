import type { CycleDelta } from '../domain/counters.js';
import type { JobRef, JobState } from '../domain/job.js';
import type { JobStart, Store, StoredJob } from '../state/store.js';
import type { Events } from '../support/events.js';
import type { PollerEvent } from './events.js';
import type { JobCycleResult } from './job-cycle.js';

/** What a cycle hands to the store: the builds it counted, the queue times it observed, the next state. */
export function toDelta(
  cycle: Pick<JobCycleResult, 'counted' | 'queued' | 'next'> & Partial<Pick<JobCycleResult, 'steps' | 'failures' | 'recoveries' | 'flaky'>>,
): CycleDelta {
  const steps = cycle.steps ?? [];
  const failures = cycle.failures ?? [];
  return {
    counted: cycle.counted,
    queued: cycle.queued,
    ...(steps.length > 0 ? { steps } : {}),
    ...(failures.length > 0 ? { failures } : {}),
    ...(cycle.recoveries && cycle.recoveries.length > 0 ? { recoveries: cycle.recoveries } : {}),
    ...(cycle.flaky ? { flaky: cycle.flaky } : {}),
    next: cycle.next,
  };
}

/** A delta that changes nothing: no observation, and the same state. */
export function isEmptyDelta(delta: CycleDelta, state: JobState): boolean {
  const details = (delta.steps ?? []).length + (delta.failures ?? []).length + (delta.recoveries ?? []).length + (delta.flaky ?? 0);
  const nothingSeen = delta.counted.length === 0 && delta.queued.length === 0 && details === 0;
  return nothingSeen && JSON.stringify(delta.next) === JSON.stringify(state);
}

/**
 * The exactly-once boundary (docs/design.md, "State and the commit point"): the store applies the
 * delta, counters and state together, durably; only then does anyone see it (`job_committed`). A
 * commit that fails (a failed save, a stale version) changes nothing: the same builds are fetched
 * and counted by a later cycle. Resolves with the job as committed; undefined when the delta
 * changed nothing and nothing was written.
 */
export async function commitDelta(
  store: Store,
  events: Events<PollerEvent>,
  job: JobRef,
  from: JobStart,
  delta: CycleDelta,
): Promise<StoredJob | undefined> {
  if (isEmptyDelta(delta, from.state)) return undefined;
  const stored: StoredJob = await store.commit(job.id, from.version, delta);
  const queued = delta.queued.length > 0 ? { queued: delta.queued } : {};
  events.emit({ type: 'job_committed', job, stored, counted: delta.counted, ...queued });
  return stored;
}
