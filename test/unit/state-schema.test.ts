import { describe, expect, it } from 'vitest';
import { emptyCounters, type CounterLayout, type JobCounters } from '../../src/domain/counters.js';
import { emptyJobState } from '../../src/domain/job.js';
import { DEFAULT_RECOVERY_BUCKETS } from '../../src/domain/health.js';
import { DEFAULT_STEP_BUCKETS } from '../../src/domain/steps.js';
import {
  encodeStoredJob,
  parseStateFile,
  stateFileHeader,
  STATE_SCHEMA_VERSION,
  type ParsedStateFile,
} from '../../src/state/state-schema.js';
import { StateSerializer } from '../../src/state/state-serializer.js';
import type { StoredJob } from '../../src/state/store.js';

const JOB = 'a5c00000000000000000000000000001';
const LAYOUT: CounterLayout = { recordLabels: [], durationBuckets: [30, 60, 120], queueBuckets: [1, 5] };
const HEADER = { format: 'codearts-build-exporter/state', saved_at: '2026-01-01T00:00:00.000Z' };

/** The state file's text, as the file store writes it. */
function renderStateFile(jobs: ReadonlyMap<string, StoredJob>, layout: CounterLayout): string {
  return Buffer.concat(new StateSerializer((stored) => encodeStoredJob(stored, layout)).serialize(stateFileHeader(layout), jobs)).toString(
    'utf8',
  );
}

function parsed(data: unknown, layout = LAYOUT): ParsedStateFile {
  const result = parseStateFile(data, layout);
  if ('problem' in result) throw new Error(result.problem);
  return result;
}

const COUNTERS: JobCounters = {
  series: [
    { result: 'success', labels: [], builds: 5, duration: { buckets: [2, 0, 2], sumMs: 300_500, count: 5 } },
    { result: 'failure', labels: [], builds: 1 },
  ],
  triggers: { manual: 4, pipeline_trigger: 2 },
  queue: { buckets: [5, 0], sumMs: 2_000, count: 6 },
};

describe('state file schema', () => {
  it('loads a version 1 file: one entry per skipped number becomes ranges, the new bookkeeping and the counters start empty', () => {
    const skipped = [...Array.from({ length: 500 }, (_, i) => ({ buildNo: 101 + i, checksLeft: 3 })), { buildNo: 700, checksLeft: 1 }];
    const v1 = {
      ...HEADER,
      schema_version: 1,
      jobs: { [JOB]: { version: 7, state: { cursor: 720, pending: [719], queueObserved: [719], skipped, lastSuccessAt: 5 } } },
    };
    const { jobs, reset } = parsed(v1);
    expect(reset).toBeUndefined();
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
      counters: emptyCounters(),
    });
  });

  it('loads a version 2 file: state as saved, counters from zero', () => {
    const state = { ...emptyJobState(), cursor: 42, pending: [41], firstSeen: { '41': 1_767_225_600 } };
    const { jobs } = parsed({ ...HEADER, schema_version: 2, jobs: { [JOB]: { version: 3, state } } });
    expect(jobs.get(JOB)).toEqual({ version: 3, state, counters: emptyCounters() });
  });

  it('writes the current version with the counters and their layout, and reads it back unchanged', () => {
    const state = {
      ...emptyJobState(),
      cursor: 9,
      pending: [8],
      skipped: [{ from: 3, to: 4, checksLeft: 2 }],
      notFoundOnce: [8],
      firstSeen: { '8': 1_767_225_600 },
    };
    const text = renderStateFile(new Map([[JOB, { version: 2, state, counters: COUNTERS }]]), LAYOUT);
    const data = JSON.parse(text) as Record<string, unknown>;
    expect(data.schema_version).toBe(STATE_SCHEMA_VERSION);
    expect(data.counters_layout).toEqual({
      record_labels: [],
      duration_buckets: [30, 60, 120],
      queue_buckets: [1, 5],
      step_buckets: DEFAULT_STEP_BUCKETS,
      recovery_buckets: DEFAULT_RECOVERY_BUCKETS,
    });
    // Saved keyed by `le`, zero buckets left out; in memory by position.
    expect(data.jobs).toMatchObject({
      [JOB]: {
        counters: {
          series: [{ duration: { buckets: { '30': 2, '120': 2 } } }, { result: 'failure' }],
          queue: { buckets: { '1': 5 }, sumMs: 2_000, count: 6 },
        },
      },
    });
    expect(parsed(data)).toEqual({ jobs: new Map([[JOB, { version: 2, state, counters: COUNTERS }]]), reset: undefined });
  });

  it('loads a version 3 file: counters and state as saved, no steps, nothing reset; writes it back as version 4', () => {
    const state = { ...emptyJobState(), cursor: 9, lastSuccessAt: 5 };
    const current = JSON.parse(renderStateFile(new Map([[JOB, { version: 2, state, counters: COUNTERS }]]), LAYOUT)) as {
      counters_layout: Record<string, unknown>;
    };
    const { step_buckets: _absent, ...v3Layout } = current.counters_layout;
    const v3 = { ...current, schema_version: 3, counters_layout: v3Layout };
    const { jobs, reset } = parsed(v3, { ...LAYOUT, stepBuckets: [10, 60] });
    expect(reset).toBeUndefined();
    expect(jobs.get(JOB)).toEqual({ version: 2, state, counters: COUNTERS });
    expect(jobs.get(JOB)?.counters.steps).toBeUndefined();
    // A version 4 file may not leave out the step buckets.
    expect(parseStateFile({ ...v3, schema_version: 4 }, LAYOUT)).toMatchObject({ problem: expect.stringContaining('step_buckets') });
  });

  it('keeps step histograms, failure causes, recovery, flaky counts, the failing streak and builds waiting for details, keyed by le; other step buckets restart only the steps', () => {
    const layout: CounterLayout = { ...LAYOUT, stepBuckets: [10, 60] };
    const steps = [
      { step: 'compile', duration: { buckets: [0, 2], sumMs: 90_000, count: 3 }, pending: { buckets: [3, 0], sumMs: 1_500, count: 3 } },
      { step: 'other', duration: { buckets: [1, 0], sumMs: 4_000, count: 1 } },
    ];
    const details = [{ buildNo: 9, kinds: ['steps' as const, 'analysis' as const], recordId: 'rec-9', failed: true, since: 1_767_225_600 }];
    const health = { failingSince: 1_767_225_000, failures: 2, previous: { failed: true, finishedAt: 1_767_225_500, commit: 'abc' } };
    const healthQueue = [{ buildNo: 9, result: 'failure' as const, finishedAt: 1_767_225_600, commit: 'abc' }];
    const state = { ...emptyJobState(), cursor: 9, pending: [8], details, health, healthQueue };
    const failures = [{ step: 'Unit tests', errorCode: 'CB.00090002', count: 2 }];
    const recovery = { buckets: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0], sumMs: 600_000, count: 1 };
    const counters = { ...COUNTERS, steps, failures, recovery, flaky: 1 };
    const data = JSON.parse(renderStateFile(new Map([[JOB, { version: 3, state, counters }]]), layout)) as unknown;
    expect(data).toMatchObject({
      counters_layout: { step_buckets: [10, 60] },
      jobs: { [JOB]: { counters: { steps: [{ step: 'compile', duration: { buckets: { '60': 2 } } }, { step: 'other' }] } } },
    });
    expect(parsed(data, layout).jobs.get(JOB)).toEqual({ version: 3, state, counters });
    const moved = parsed(data, { ...layout, stepBuckets: [10, 30, 60] });
    expect(moved.reset?.families).toEqual(['steps']);
    expect(moved.jobs.get(JOB)?.counters).toEqual({ ...COUNTERS, failures, recovery, flaky: 1 });
  });

  it('a changed layout restarts exactly the families it shapes, and says which', () => {
    const file = JSON.parse(
      renderStateFile(new Map([[JOB, { version: 2, state: emptyJobState(), counters: COUNTERS }]]), LAYOUT),
    ) as unknown;
    const buckets = parsed(file, { ...LAYOUT, durationBuckets: [30, 90, 120] });
    expect(buckets.reset).toEqual({
      families: ['duration'],
      from: { ...LAYOUT, stepBuckets: DEFAULT_STEP_BUCKETS, recoveryBuckets: DEFAULT_RECOVERY_BUCKETS },
    });
    expect(buckets.jobs.get(JOB)?.counters).toEqual({
      series: [
        { result: 'success', labels: [], builds: 5 },
        { result: 'failure', labels: [], builds: 1 },
      ],
      triggers: COUNTERS.triggers,
      queue: COUNTERS.queue,
    });
    const queue = parsed(file, { ...LAYOUT, queueBuckets: [1, 5, 10] });
    expect(queue.reset?.families).toEqual(['queue']);
    expect(queue.jobs.get(JOB)?.counters).toEqual({ series: COUNTERS.series, triggers: COUNTERS.triggers });
    const labels = parsed(file, { ...LAYOUT, recordLabels: ['branch'] });
    expect(labels.reset?.families).toEqual(['builds', 'duration']);
    expect(labels.jobs.get(JOB)?.counters).toEqual({ series: [], triggers: COUNTERS.triggers, queue: COUNTERS.queue });
  });

  it('names what is wrong: an unknown version, a range upside down, series labels that do not match the layout', () => {
    expect(parseStateFile({ ...HEADER, schema_version: 5, jobs: {} }, LAYOUT)).toMatchObject({
      problem: expect.stringContaining('schema_version'),
    });
    const upsideDown = { ...emptyJobState(), skipped: [{ from: 5, to: 4, checksLeft: 1 }] };
    expect(parseStateFile({ ...HEADER, schema_version: 2, jobs: { [JOB]: { version: 1, state: upsideDown } } }, LAYOUT)).toMatchObject({
      problem: expect.stringContaining(`jobs.${JOB}.state.skipped.0`),
    });
    const file = JSON.parse(
      renderStateFile(new Map([[JOB, { version: 2, state: emptyJobState(), counters: COUNTERS }]]), {
        ...LAYOUT,
        recordLabels: ['branch'],
      }),
    ) as unknown;
    expect(parseStateFile(file, LAYOUT)).toMatchObject({ problem: expect.stringContaining(`jobs.${JOB}.counters.series`) });
    const negative = { version: 1, state: emptyJobState(), counters: { ...COUNTERS, triggers: { manual: -1 } } };
    const bad = JSON.parse(renderStateFile(new Map([[JOB, negative]]), LAYOUT)) as unknown;
    expect(parseStateFile(bad, LAYOUT)).toMatchObject({ problem: expect.stringContaining(`jobs.${JOB}.counters.triggers.manual`) });
    // A bucket that is none of the bounds the file says it kept the counts in.
    const misfiled = JSON.parse(renderStateFile(new Map([[JOB, { version: 1, state: emptyJobState(), counters: COUNTERS }]]), LAYOUT)) as {
      counters_layout: { duration_buckets: number[] };
    };
    misfiled.counters_layout.duration_buckets = [45, 60, 120];
    expect(parseStateFile(misfiled, LAYOUT)).toMatchObject({ problem: expect.stringContaining(`jobs.${JOB}.counters (a bucket`) });
  });
});
