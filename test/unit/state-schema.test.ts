import { describe, expect, it } from 'vitest';
import { StateSerializer } from '../../src/state/state-serializer.js';
import { parseStateFile, stateFileHeader, STATE_SCHEMA_VERSION } from '../../src/state/state-schema.js';
import { emptyJobState } from '../../src/state/store.js';

const JOB = 'a5c00000000000000000000000000001';

describe('state file schema', () => {
  it('loads a version 1 file: one entry per skipped number becomes ranges, the new bookkeeping starts empty', () => {
    const skipped = [...Array.from({ length: 500 }, (_, i) => ({ buildNo: 101 + i, checksLeft: 3 })), { buildNo: 700, checksLeft: 1 }];
    const v1 = {
      format: 'codearts-build-exporter/state',
      schema_version: 1,
      saved_at: '2026-01-01T00:00:00.000Z',
      jobs: { [JOB]: { version: 7, state: { cursor: 720, pending: [719], queueObserved: [719], skipped, lastSuccessAt: 5 } } },
    };
    const jobs = parseStateFile(v1);
    if ('problem' in jobs) throw new Error(jobs.problem);
    expect(jobs.get(JOB)).toEqual({
      version: 7,
      state: {
        cursor: 720,
        pending: [719],
        queueObserved: [719],
        skipped: [
          { from: 101, to: 600, checksLeft: 3 },
          { from: 700, to: 700, checksLeft: 1 },
        ],
        unconfirmed: [],
        notFoundOnce: [],
        firstSeen: {},
        lastSuccessAt: 5,
      },
    });
  });

  it('writes the current version and reads it back unchanged', () => {
    const state = { ...emptyJobState(), cursor: 9, pending: [8], skipped: [{ from: 3, to: 4, checksLeft: 2 }], notFoundOnce: [8], firstSeen: { '8': 1_767_225_600 } };
    const text = Buffer.concat(new StateSerializer().serialize(stateFileHeader(), new Map([[JOB, { version: 2, state }]]))).toString('utf8');
    expect(JSON.parse(text).schema_version).toBe(STATE_SCHEMA_VERSION);
    expect(parseStateFile(JSON.parse(text))).toEqual(new Map([[JOB, { version: 2, state }]]));
  });

  it('names what is wrong: an unknown version, a range upside down', () => {
    expect(parseStateFile({ format: 'codearts-build-exporter/state', schema_version: 3, saved_at: 'x', jobs: {} })).toMatchObject({
      problem: expect.stringContaining('schema_version'),
    });
    const upsideDown = { ...emptyJobState(), skipped: [{ from: 5, to: 4, checksLeft: 1 }] };
    expect(parseStateFile({ format: 'codearts-build-exporter/state', schema_version: 2, saved_at: 'x', jobs: { [JOB]: { version: 1, state: upsideDown } } })).toMatchObject({
      problem: expect.stringContaining(`jobs.${JOB}.state.skipped.0`),
    });
  });
});
