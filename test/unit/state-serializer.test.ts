import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StateSerializer } from '../../src/state/state-serializer.js';
import type { StoredJob } from '../../src/state/store.js';

const storedJob: fc.Arbitrary<StoredJob> = fc.record({
  version: fc.nat(),
  state: fc.record(
    {
      cursor: fc.nat(),
      pending: fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 4 }),
      queueObserved: fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 2 }),
      skipped: fc.array(
        fc.record({ from: fc.integer({ min: 1, max: 10_000 }), to: fc.integer({ min: 1, max: 10_000 }), checksLeft: fc.nat(3) }),
        { maxLength: 2 },
      ),
      unconfirmed: fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 2 }),
      notFoundOnce: fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 2 }),
      firstSeen: fc.dictionary(fc.integer({ min: 1, max: 10_000 }).map(String), fc.nat(), { maxKeys: 2 }),
      last: fc.record({
        buildNo: fc.integer({ min: 1 }),
        result: fc.constantFrom('success' as const, 'failure' as const),
        finishedAt: fc.double({ noNaN: true, noDefaultInfinity: true }),
      }),
      lastSuccessAt: fc.double({ noNaN: true, noDefaultInfinity: true }),
    },
    { requiredKeys: ['cursor', 'pending', 'queueObserved', 'skipped', 'unconfirmed', 'notFoundOnce', 'firstSeen'] },
  ),
  counters: fc.record({
    series: fc.array(
      fc.record(
        {
          result: fc.constantFrom('success' as const, 'failure' as const, 'unknown' as const),
          labels: fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }),
          builds: fc.nat(),
          duration: fc.record({ buckets: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }), sumMs: fc.nat(), count: fc.nat() }),
        },
        { requiredKeys: ['result', 'labels', 'builds'] },
      ),
      { maxLength: 3 },
    ),
    triggers: fc.dictionary(fc.constantFrom('manual', 'timed_execution', 'unknown'), fc.nat()),
  }),
});
// Job ids as configured: any string, including quotes, backslashes and non-ASCII.
const jobs = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), storedJob), { selector: ([id]) => id, maxLength: 300 });

describe('StateSerializer', () => {
  it('writes what JSON.stringify writes, through commits that replace, add and forget jobs', () => {
    const change = fc.oneof(
      fc.tuple(fc.constant('commit' as const), fc.nat(), storedJob),
      fc.tuple(fc.constant('add' as const), fc.string({ minLength: 1, maxLength: 40 }), storedJob),
      fc.tuple(fc.constant('forget' as const), fc.nat()),
    );
    fc.assert(
      fc.property(jobs, fc.array(change, { maxLength: 12 }), (initial, changes) => {
        const serializer = new StateSerializer();
        const state = new Map(initial);
        const header = { format: 'codearts-build-exporter/state', schema_version: 1, saved_at: '2026-12-01T00:00:00.000Z' };
        const file = () => Buffer.concat(serializer.serialize(header, state)).toString();
        const expected = () => JSON.stringify({ ...header, jobs: Object.fromEntries(state) });
        // Byte for byte when no id looks like an array index (JSON.stringify puts those first).
        const check = (text: string) => {
          if ([...state.keys()].some((id) => /^(0|[1-9]\d*)$/.test(id))) expect(JSON.parse(text)).toEqual(JSON.parse(expected()));
          else expect(text).toBe(expected());
        };
        check(file());
        for (const [kind, pick, next] of changes) {
          const ids = [...state.keys()];
          // A commit stores a new object for the job (the store never mutates a stored one).
          if (kind === 'commit' && ids.length > 0) state.set(ids[pick % ids.length] as string, next);
          if (kind === 'add') state.set(pick, next);
          if (kind === 'forget' && ids.length > 0) state.delete(ids[pick % ids.length] as string);
          check(file());
        }
      }),
      { numRuns: 100 },
    );
  });
});
