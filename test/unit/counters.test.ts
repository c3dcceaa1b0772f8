import { describe, expect, it } from 'vitest';
import { adaptCounters, countDelta, emptyCounters, type CountedBuild, type CounterLayout } from '../../src/domain/counters.js';

/** What a commit adds to a job's counters (src/domain/counters.ts): pure functions, copy-on-write. */
const LAYOUT: CounterLayout = { recordLabels: ['branch'], durationBuckets: [0.5, 30, 60], queueBuckets: [1, 10] };
const labels = (branch: string) => ({ branch, repo_name: 'r', build_type: '', build_config_type: '', executor: '' });
const build = (buildNo: number, result: CountedBuild['result'], branch: string, extra: Partial<CountedBuild> = {}): CountedBuild => ({
  buildNo,
  result,
  triggerType: 'manual',
  labels: labels(branch),
  ...extra,
});

describe('counters', () => {
  it('counts per result and record label values, triggers, and both histograms by bucket bound', () => {
    const counters = countDelta(
      emptyCounters(),
      {
        counted: [
          build(1, 'success', 'main', { durationSeconds: 0.25, queueSeconds: 2 }),
          build(2, 'success', 'main', { durationSeconds: 45, triggerType: 'codehub_trigger' }),
          build(3, 'success', 'dev', { durationSeconds: 3600 }),
          build(4, 'failure', 'main'),
        ],
        queued: [{ buildNo: 5, seconds: 0.5 }],
      },
      LAYOUT,
    );
    expect(counters.series).toEqual([
      { result: 'success', labels: ['main'], builds: 2, duration: { buckets: [1, 0, 1], sumMs: 45_250, count: 2 } },
      { result: 'success', labels: ['dev'], builds: 1, duration: { buckets: [0, 0, 0], sumMs: 3_600_000, count: 1 } },
      { result: 'failure', labels: ['main'], builds: 1 },
    ]);
    expect(counters.triggers).toEqual({ manual: 3, codehub_trigger: 1 });
    expect(counters.queue).toEqual({ buckets: [1, 1], sumMs: 2500, count: 2 });
  });

  it('leaves what a delta does not touch the same object, and nothing changed by an empty delta', () => {
    const before = countDelta(emptyCounters(), { counted: [build(1, 'success', 'main', { durationSeconds: 1 })], queued: [] }, LAYOUT);
    const queuedOnly = countDelta(before, { counted: [], queued: [{ buildNo: 2, seconds: 3 }] }, LAYOUT);
    expect(queuedOnly.series).toBe(before.series);
    expect(queuedOnly.triggers).toBe(before.triggers);
    expect(queuedOnly.queue).not.toBe(before.queue);
    expect(countDelta(before, { counted: [], queued: [] }, LAYOUT)).toBe(before);
    // The input is never changed in place.
    countDelta(before, { counted: [build(2, 'success', 'main', { durationSeconds: 2 })], queued: [] }, LAYOUT);
    expect(before.series[0]?.builds).toBe(1);
  });

  it('moving to another layout restarts only the families it shapes', () => {
    const counters = countDelta(
      emptyCounters(),
      { counted: [build(1, 'success', 'main', { durationSeconds: 1, queueSeconds: 1 })], queued: [] },
      LAYOUT,
    );
    expect(adaptCounters(counters, LAYOUT, LAYOUT)).toEqual({ counters, reset: [] });
    expect(adaptCounters(counters, LAYOUT, { ...LAYOUT, recordLabels: [] })).toEqual({
      counters: { series: [], triggers: counters.triggers, queue: counters.queue },
      reset: ['builds', 'duration'],
    });
    expect(adaptCounters(counters, LAYOUT, { ...LAYOUT, durationBuckets: [1] }).counters.series).toEqual([
      { result: 'success', labels: ['main'], builds: 1 },
    ]);
    expect(adaptCounters(counters, LAYOUT, { ...LAYOUT, queueBuckets: [5] })).toEqual({
      counters: { series: counters.series, triggers: counters.triggers },
      reset: ['queue'],
    });
  });
});
