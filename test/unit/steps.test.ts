import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAnalysis } from '../../src/codearts/analysis.js';
import { parseFullStages, parseHistorySteps } from '../../src/codearts/stages.js';
import { OTHER_ERROR_CODE, type BuildFailures } from '../../src/domain/failures.js';
import { countDelta, emptyCounters, type CounterLayout, type JobCounters } from '../../src/domain/counters.js';
import { emptyJobState } from '../../src/domain/job.js';
import { normaliseStepName, OTHER_STEP, type BuildSteps } from '../../src/domain/steps.js';
import { BuildMetrics } from '../../src/metrics/build-metrics.js';
import { parseExposition, select } from '../helpers/exposition.js';
import { partsText } from '../helpers/exposition.js';

// The official SDK's models (copied from the reference, see test/fixtures/README.md).
const MODELS = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'codearts-sdk-models.json'), 'utf8')) as {
  models: Record<string, Record<string, string>>;
};

const stage = (overrides: Record<string, unknown>) => ({
  id: 'stage-id',
  status: 'COMPLETED',
  status_code: 0,
  log_status: 'finished',
  create_time: '2026-01-01T08:00:00.000+08:00',
  schedule_time: '2026-01-01T08:00:00.000+08:00',
  queued_time: '2026-01-01T08:00:00.000+08:00',
  start_time: '2026-01-01T08:00:04.000+08:00',
  finish_time: '2026-01-01T08:01:34.000+08:00',
  duration: 94_000,
  build_duration: 90_000,
  pending_duration: 4_000,
  build_record_id: 'rec',
  execution_id: 'j_1',
  execution_stage_name: 'stage_1',
  display_name: 'Compile',
  node_id: 1,
  sequence: 0,
  ...overrides,
});

describe('step answers', () => {
  it('the simulated answer shapes use exactly the SDK fields', () => {
    expect(Object.keys(stage({})).sort()).toEqual(Object.keys(MODELS.models.BuildStageRecord ?? {}).sort());
  });

  it('reads durations in milliseconds, or in seconds when the times say so, or from the times alone', () => {
    expect(parseFullStages({ build_stages: { a: stage({}) } })).toEqual([{ step: 'Compile', durationSeconds: 90, pendingSeconds: 4 }]);
    const seconds = stage({ duration: 94, build_duration: 90, pending_duration: 4 });
    expect(parseFullStages({ build_stages: { a: seconds } })).toEqual([{ step: 'Compile', durationSeconds: 90, pendingSeconds: 4 }]);
    const timesOnly = stage({ duration: null, build_duration: null, pending_duration: null });
    expect(parseFullStages({ build_stages: { a: timesOnly } })).toEqual([{ step: 'Compile', durationSeconds: 90, pendingSeconds: 4 }]);
    // Numbers as strings, as some deployments send them.
    expect(parseFullStages({ build_stages: { a: stage({ build_duration: '90000', pending_duration: '4000' }) } })).toEqual([
      { step: 'Compile', durationSeconds: 90, pendingSeconds: 4 },
    ]);
  });

  it('orders steps by sequence, leaves out steps that never ran, and reads an empty map as no steps', () => {
    const stages = {
      b: stage({ display_name: 'Test', sequence: 2 }),
      a: stage({ display_name: 'Checkout', sequence: 1 }),
      c: stage({ display_name: 'Deploy', sequence: 3, status: 'INIT', start_time: null, finish_time: null, build_duration: 0 }),
    };
    expect(parseFullStages({ build_stages: stages }).map((s) => s.step)).toEqual(['Checkout', 'Test']);
    expect(parseFullStages({ build_stages: {} })).toEqual([]);
    expect(() => parseFullStages({ build_stages: 'nope' })).toThrow(/full-stages/);
  });

  it('reads history-details steps, build_time in milliseconds', () => {
    const answer = { job_name: 'x', build_number: 3, build_steps: [{ name: 'Compile', status: 'FAILED', build_time: 12_500 }] };
    expect(Object.keys(MODELS.models.BuildStep ?? {}).sort()).toEqual(['build_time', 'name', 'status']);
    expect(parseHistorySteps(answer)).toEqual([{ step: 'Compile', durationSeconds: 12.5 }]);
  });

  it('normalises step names: white space collapsed, control characters dropped, long names cut', () => {
    expect(normaliseStepName('  Unit\n\ttests  ')).toBe('Unit tests');
    expect(normaliseStepName('')).toBe('unnamed');
    expect(normaliseStepName('x'.repeat(300))).toHaveLength(64);
  });
});

describe('step cardinality', () => {
  const layout: CounterLayout = { recordLabels: [], durationBuckets: [60], queueBuckets: [60], stepBuckets: [10, 60], maxStepsPerJob: 30 };

  it('a job with 200 distinct step names keeps 30 of them and counts the rest as other, nothing lost', () => {
    let counters: JobCounters = emptyCounters();
    for (let build = 1; build <= 20; build++) {
      const steps: BuildSteps = {
        buildNo: build,
        steps: Array.from({ length: 10 }, (_, i) => ({ step: `step-${(build - 1) * 10 + i}`, durationSeconds: 5, pendingSeconds: 1 })),
      };
      counters = countDelta(counters, { counted: [], queued: [], steps: [steps] }, layout);
    }
    const names = (counters.steps ?? []).map((s) => s.step);
    expect(names).toHaveLength(31);
    expect(names.slice(0, 30)).toEqual(Array.from({ length: 30 }, (_, i) => `step-${i}`));
    expect(names[30]).toBe(OTHER_STEP);
    const total = (counters.steps ?? []).reduce((sum, s) => sum + (s.duration?.count ?? 0), 0);
    expect(total).toBe(200);
    expect(counters.steps?.find((s) => s.step === OTHER_STEP)?.duration?.count).toBe(170);

    const metrics = new BuildMetrics({ ...layout, jobHistograms: true });
    metrics.setJob({ id: 'j1', name: 'job' });
    metrics.show('j1', { counters, state: emptyJobState() });
    const samples = parseExposition(partsText(metrics.parts()));
    const steps = new Set(select(samples, 'codearts_build_step_duration_seconds_count').map((s) => s.labels.step));
    expect(steps.size).toBe(31);
    // Worst case per job: (max_per_job + 1) steps x (buckets + 3 lines) x 2 histograms.
    const lines = samples.filter((s) => s.name.startsWith('codearts_build_step_'));
    expect(lines).toHaveLength(31 * (2 + 1 + 2) * 2);
  });

  it('a commit without steps leaves the step histograms the same object (nothing re-rendered)', () => {
    const counters = countDelta(
      emptyCounters(),
      { counted: [], queued: [], steps: [{ buildNo: 1, steps: [{ step: 'a', durationSeconds: 1 }] }] },
      layout,
    );
    const after = countDelta(counters, { counted: [], queued: [{ buildNo: 2, seconds: 3 }] }, layout);
    expect(after.steps).toBe(counters.steps);
  });
});

describe('failure causes', () => {
  const node = (step: unknown, code: unknown, analyzed: unknown = true) => ({
    node_id: 3,
    step,
    analyzed_success: analyzed,
    error_info: code === undefined ? null : { error_code: code, error_message: 'x', faq: '' },
  });

  it('reads one cause per error node; unknown when the analysis failed, names no code, or has no node', () => {
    expect(parseAnalysis({ error_nodes: [node('Unit tests', 'CB.00090002'), node('Unit tests', 'CB.1', false)] })).toEqual([
      { step: 'Unit tests', errorCode: 'CB.00090002' },
      { step: 'Unit tests', errorCode: 'unknown' },
    ]);
    expect(parseAnalysis({ error_nodes: [node(null, undefined)] })).toEqual([{ step: 'unknown', errorCode: 'unknown' }]);
    expect(parseAnalysis({ error_nodes: [node('Build', 'has spaces and {braces}')] })).toEqual([{ step: 'Build', errorCode: 'unknown' }]);
    expect(parseAnalysis({ error_nodes: [node('Build', 42)] })).toEqual([{ step: 'Build', errorCode: '42' }]);
    expect(parseAnalysis({ error_nodes: [] })).toEqual([{ step: 'unknown', errorCode: 'unknown' }]);
    expect(parseAnalysis({})).toEqual([{ step: 'unknown', errorCode: 'unknown' }]);
    expect(() => parseAnalysis({ error_nodes: 'nope' })).toThrow(/log analysis/);
  });

  it('a job with 100 error codes and 200 failing steps keeps the configured numbers, the rest other, nothing lost', () => {
    const layout: CounterLayout = {
      recordLabels: [],
      durationBuckets: [60],
      queueBuckets: [60],
      maxStepsPerJob: 30,
      maxErrorCodesPerJob: 20,
    };
    let counters: JobCounters = emptyCounters();
    const builds: BuildFailures[] = Array.from({ length: 200 }, (_, i) => ({
      buildNo: i + 1,
      causes: [{ step: `step-${i}`, errorCode: `CB.${i % 100}` }],
    }));
    for (let i = 0; i < builds.length; i += 10)
      counters = countDelta(counters, { counted: [], queued: [], failures: builds.slice(i, i + 10) }, layout);
    const failures = counters.failures ?? [];
    expect(new Set(failures.map((f) => f.step)).size).toBe(31);
    expect(new Set(failures.map((f) => f.errorCode)).size).toBe(21);
    expect(failures.some((f) => f.errorCode === OTHER_ERROR_CODE && f.step === OTHER_STEP)).toBe(true);
    expect(failures.reduce((sum, f) => sum + f.count, 0)).toBe(200);

    const metrics = new BuildMetrics({ ...layout, jobHistograms: true });
    metrics.setJob({ id: 'j1', name: 'job' });
    metrics.show('j1', { counters, state: emptyJobState() });
    const series = select(parseExposition(partsText(metrics.parts())), 'codearts_build_failures_total');
    expect(series.length).toBe(failures.length);
    expect(series.length).toBeLessThanOrEqual(31 * 21);
  });
});
