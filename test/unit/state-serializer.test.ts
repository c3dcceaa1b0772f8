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
      skipped: fc.array(fc.record({ buildNo: fc.integer({ min: 1, max: 10_000 }), checksLeft: fc.nat(3) }), { maxLength: 2 }),
      last: fc.record({ buildNo: fc.integer({ min: 1 }), result: fc.constantFrom('success' as const, 'failure' as const), finishedAt: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
      lastSuccessAt: fc.double({ noNaN: true, noDefaultInfinity: true }),
    },
    { requiredKeys: ['cursor', 'pending', 'queueObserved', 'skipped'] },
  ),
});
// Job ids as configured: any string, including quotes, backslashes and non-ASCII.
const jobs = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), storedJob), { selector: ([id]) => id, maxLength: 30 });

describe('StateSerializer', () => {
  it('writes what JSON.stringify writes, through many commits that replace a few jobs each', () => {
    fc.assert(
      fc.property(jobs, fc.array(fc.tuple(fc.nat(), storedJob), { maxLength: 20 }), (initial, commits) => {
        const serializer = new StateSerializer();
        const state = new Map(initial);
        const header = { format: 'codearts-build-exporter/state', schema_version: 1, saved_at: '2026-12-01T00:00:00.000Z' };
        // Through JSON, as the file is read back (-0 is written as 0).
        const expected = () => JSON.parse(JSON.stringify({ ...header, jobs: Object.fromEntries(state) })) as unknown;
        expect(JSON.parse(serializer.serialize(header, state))).toEqual(expected());
        const ids = [...state.keys()];
        for (const [pick, next] of commits) {
          if (ids.length === 0) break;
          // A commit stores a new object for the job (the store never mutates a stored one).
          state.set(ids[pick % ids.length] as string, next);
          const text = serializer.serialize(header, state);
          expect(JSON.parse(text)).toEqual(expected());
          // Byte for byte when no id looks like an array index (JSON.stringify puts those first).
          if (ids.every((id) => !/^(0|[1-9]\d*)$/.test(id))) expect(text).toBe(JSON.stringify({ ...header, jobs: Object.fromEntries(state) }));
        }
      }),
      { numRuns: 200 },
    );
  });
});
