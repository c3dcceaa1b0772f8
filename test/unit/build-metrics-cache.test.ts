import { describe, expect, it } from 'vitest';
import { benchJobs, SyntheticFleet } from '../../src/bench/mix.js';
import { BuildMetrics, type BuildMetricsOptions } from '../../src/metrics/build-metrics.js';
import { parseExposition } from '../helpers/exposition.js';

/**
 * The per-job, per-family text cache must never serve stale text: metrics rendered after every
 * change equal metrics fed the same calls and rendered once, at the end.
 */
describe('build metrics render cache', () => {
  for (const jobHistograms of [true, false]) {
    for (const recordLabels of [[], ['branch', 'executor']] as Array<BuildMetricsOptions['recordLabels']>) {
      it(`re-renders exactly what changed (job_histograms ${jobHistograms}, ${recordLabels.length} record labels)`, async () => {
        const options: BuildMetricsOptions = { durationBuckets: [30, 60, 120.5, 300], queueBuckets: [1, 5, 15], jobHistograms, recordLabels };
        const cached = new BuildMetrics(options);
        const fresh = new BuildMetrics(options);
        const jobs = benchJobs(40);
        for (const job of jobs) {
          cached.setJob(job.id, job.name);
          fresh.setJob(job.id, job.name);
        }
        const fleet = new SyntheticFleet(jobs, [cached, fresh]);
        fleet.fill();
        expect(cached.render()).toBe(fresh.render());
        for (let round = 0; round < 6; round++) {
          fleet.change(0.1, round);
          expect(await cached.renderAsync()).toBe(fresh.render());
        }
        const renamed = jobs[3]?.id ?? '';
        cached.setJob(renamed, 'renamed "job" \\ with\nnewline');
        fresh.setJob(renamed, 'renamed "job" \\ with\nnewline');
        cached.setSnapshot(renamed, { inProgress: 2, lastNumber: 99 });
        fresh.setSnapshot(renamed, { inProgress: 2, lastNumber: 99 });
        fleet.change(0.3, 9);
        expect(cached.render()).toBe(fresh.render());
        cached.removeJob(jobs[4]?.id ?? '');
        fresh.removeJob(jobs[4]?.id ?? '');
        const text = await cached.renderAsync();
        expect(text).toBe(cached.render());
        expect(text).toBe(fresh.render());
        expect(() => parseExposition(text)).not.toThrow();
      });
    }
  }

  it('setSnapshot with unchanged values keeps the cached text', () => {
    const metrics = new BuildMetrics({ durationBuckets: [30], queueBuckets: [1], jobHistograms: true, recordLabels: [] });
    metrics.setJob('a', 'job-a');
    const snapshot = { inProgress: 1, lastNumber: 7, last: { buildNo: 6, result: 'success' as const, finishedAt: 1000, durationSeconds: 12 }, lastSuccessAt: 1000 };
    metrics.setSnapshot('a', snapshot);
    const before = metrics.render();
    metrics.setSnapshot('a', { ...snapshot, last: { ...snapshot.last } });
    expect(metrics.render()).toBe(before);
    metrics.setSnapshot('a', { ...snapshot, last: { ...snapshot.last, result: 'failure' } });
    expect(metrics.render()).toContain('codearts_build_last_status{job_id="a",job_name="job-a",result="failure"} 1');
    expect(metrics.render()).not.toContain('result="success"} 1\ncodearts_build_last_duration');
  });
});
