import { describe, expect, it } from 'vitest';
import { benchJobs, SyntheticFleet, ViewSink } from '../../src/bench/mix.js';
import type { CounterLayout } from '../../src/domain/counters.js';
import { emptyJobState } from '../../src/domain/job.js';
import { BuildMetrics, type BuildMetricsOptions } from '../../src/metrics/build-metrics.js';
import { parseExposition, partsText } from '../helpers/exposition.js';

/**
 * The per-job, per-family text cache must never serve stale text: metrics rendered after every
 * change equal metrics built afresh from the final data and rendered once.
 */
describe('build metrics render cache', () => {
  for (const jobHistograms of [true, false]) {
    for (const recordLabels of [[], ['branch', 'repo_name']] as Array<CounterLayout['recordLabels']>) {
      it(`re-renders exactly what changed (job_histograms ${jobHistograms}, ${recordLabels.length} record labels)`, async () => {
        const layout: CounterLayout = { durationBuckets: [30, 60, 120.5, 300], queueBuckets: [1, 5, 15], recordLabels };
        const options: BuildMetricsOptions = { ...layout, jobHistograms };
        const jobs = benchJobs(40);
        const names = new Map(jobs.map((job) => [job.id, job.name]));
        const removed = new Set<string>();
        const cached = new BuildMetrics(options);
        for (const job of jobs) cached.setJob(job);
        const sink = new ViewSink([cached], layout);
        /** The same jobs, names and data, in a view that never rendered before. */
        const fresh = () => {
          const view = new BuildMetrics(options);
          for (const [id, data] of sink.current()) {
            view.setJob({ id, name: names.get(id) ?? id });
            view.show(id, data);
          }
          for (const id of removed) view.removeJob(id);
          return partsText(view.parts());
        };
        const fleet = new SyntheticFleet(jobs, [sink]);
        await fleet.fill();
        expect(partsText(cached.parts())).toBe(fresh());
        for (let round = 0; round < 6; round++) {
          await fleet.change(0.1, round);
          expect(partsText(cached.parts())).toBe(fresh());
        }
        const renamed = jobs[3]?.id ?? '';
        names.set(renamed, 'renamed "job" \\ with\nnewline');
        cached.setJob({ id: renamed, name: 'renamed "job" \\ with\nnewline' });
        await fleet.change(0.3, 9);
        expect(partsText(cached.parts())).toBe(fresh());
        removed.add(jobs[4]?.id ?? '');
        cached.removeJob(jobs[4]?.id ?? '');
        const text = partsText(cached.parts());
        expect(text).toBe(fresh());
        expect(() => parseExposition(text)).not.toThrow();
      });
    }
  }

  it('showing unchanged gauges keeps the cached text; a changed result replaces the status series', () => {
    const metrics = new BuildMetrics({ durationBuckets: [30], queueBuckets: [1], jobHistograms: true, recordLabels: [] });
    metrics.setJob({ id: 'a', name: 'job-a' });
    const counters = { series: [], triggers: {} };
    const state = {
      ...emptyJobState(),
      cursor: 7,
      pending: [7],
      last: { buildNo: 6, result: 'success' as const, finishedAt: 1000, durationSeconds: 12 },
      lastSuccessAt: 1000,
    };
    metrics.show('a', { counters, state });
    const before = partsText(metrics.parts());
    metrics.show('a', { counters, state: structuredClone(state) });
    expect(partsText(metrics.parts())).toBe(before);
    metrics.show('a', { counters, state: { ...state, last: { ...state.last, result: 'failure' } } });
    const after = partsText(metrics.parts());
    expect(after).toContain('codearts_build_last_status{job_id="a",job_name="job-a",result="failure"} 1');
    expect(after).not.toContain('result="success"} 1\ncodearts_build_last_duration');
  });
});
