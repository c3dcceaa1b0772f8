import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOpenMetricsFile } from '../../src/backfill/openmetrics-file.js';
import type { PastBuild } from '../../src/backfill/past-build.js';
import { sampleGrid, sampleTime } from '../../src/backfill/sample-grid.js';
import { BACKFILL_FAMILIES, jobTimeline } from '../../src/backfill/series-timeline.js';
import { countDelta, emptyCounters, type CounterLayout } from '../../src/domain/counters.js';
import { emptyJobState, type JobRef } from '../../src/domain/job.js';
import { BuildMetrics } from '../../src/metrics/build-metrics.js';
import { itWithBinary } from '../helpers/binaries.js';

/** The backfill file (src/backfill/openmetrics-file.ts): the live series, sampled on a grid, read by promtool. */
const LAYOUT: CounterLayout = { recordLabels: [], durationBuckets: [60, 300, 900], queueBuckets: [10, 60] };
const STEP_MS = 600_000;
const SINCE_MS = Date.UTC(2026, 10, 1);
const LIVE_FROM_MS = SINCE_MS + 6 * 3600_000 + 12_345;
const JOBS: JobRef[] = [
  { id: 'job-a', name: 'Job A', project: 'p1' },
  { id: 'job-b', name: 'Job "B"\\n', project: 'p1' },
];
const TARGET = 'job="codearts",instance="exporter:10987"';
const labels = { branch: 'main', repo_name: '', build_type: '', build_config_type: '', executor: '' };

function past(
  buildNo: number,
  finishedAtMs: number,
  result: 'success' | 'failure',
  durationSeconds: number,
  queueSeconds?: number,
): PastBuild {
  return {
    buildNo,
    finishedAt: finishedAtMs / 1000,
    counted: { buildNo, result, triggerType: buildNo % 2 ? 'manual' : 'codehub_trigger', durationSeconds, queueSeconds, labels },
    source: 'listing',
  };
}

const HISTORY: Record<string, PastBuild[]> = {
  'job-a': [
    past(1, SINCE_MS + 60_000, 'success', 100, 5),
    past(2, SINCE_MS + STEP_MS, 'failure', 400, 30),
    past(3, SINCE_MS + 2 * 3600_000 + 1, 'success', 1000, 90),
    // Finished after live counting began but numbered below its start point: shown at the last sample.
    past(4, LIVE_FROM_MS + 3600_000, 'success', 50, 1),
  ],
  'job-b': [past(7, SINCE_MS + 5 * 3600_000, 'success', 20)],
};

describe('backfill OpenMetrics file', () => {
  let dir: string;
  let file: string;
  let text: string;
  const grid = sampleGrid(SINCE_MS, LIVE_FROM_MS, STEP_MS);
  const timelines = JOBS.map((job) =>
    jobTimeline(job, HISTORY[job.id] ?? [], grid, LIVE_FROM_MS, { layout: LAYOUT, families: BACKFILL_FAMILIES, format: 'text' }),
  );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backfill-om-'));
    file = join(dir, 'history.om');
    await writeOpenMetricsFile(file, {
      grid,
      timelines,
      families: BACKFILL_FAMILIES,
      targetLabels: 'job="codearts",instance="exporter:10987"',
    });
    text = await readFile(file, 'utf8');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const format of ['text', 'openmetrics'] as const) {
    it(`ends each series at the live ${format} values of the same counters, same names, labels and le (target labels first)`, async () => {
      const lines =
        format === 'text'
          ? text
          : await (async () => {
              const formatted = JOBS.map((job) =>
                jobTimeline(job, HISTORY[job.id] ?? [], grid, LIVE_FROM_MS, { layout: LAYOUT, families: BACKFILL_FAMILIES, format }),
              );
              const path = join(dir, 'openmetrics.om');
              await writeOpenMetricsFile(path, { grid, timelines: formatted, families: BACKFILL_FAMILIES, targetLabels: TARGET });
              return readFile(path, 'utf8');
            })();
      for (const job of JOBS) {
        const live = new BuildMetrics({ ...LAYOUT, jobHistograms: true });
        live.setJob(job);
        const counters = countDelta(emptyCounters(), { counted: (HISTORY[job.id] ?? []).map((b) => b.counted), queued: [] }, LAYOUT);
        live.show(job.id, { counters, state: emptyJobState() });
        const liveLines = live
          .parts(format)
          .map((part) => part.text())
          .join('')
          .split('\n')
          .filter((line) => /^codearts_(builds_total|build_triggers_total|build_duration_seconds|build_queue_duration_seconds)/.test(line));
        expect(liveLines.length).toBeGreaterThan(10);
        if (format === 'openmetrics') expect(liveLines.some((line) => line.includes('le="60.0"'))).toBe(true);
        const lastSample = String(sampleTime(grid, timelines[0]?.lastIndex ?? 0) / 1000);
        for (const line of liveLines) {
          const [series, value] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)];
          const backfilled = series.replace('{', `{${TARGET},`);
          expect(lines).toContain(`${backfilled} ${value} ${lastSample}\n`);
        }
      }
    });
  }

  it('starts every series at 0 one step before --since, shows a build at the first sample after it finished, and drops to 0 before live counting', () => {
    const series =
      'codearts_builds_total{job="codearts",instance="exporter:10987",job_id="job-a",job_name="Job A",project="p1",result="success"}';
    const samples = text
      .split('\n')
      .filter((line) => line.startsWith(`${series} `))
      .map((line) => line.split(' ').slice(-2).map(Number) as [number, number]);
    expect(samples[0]).toEqual([0, (Math.floor(SINCE_MS / STEP_MS) * STEP_MS - STEP_MS) / 1000]);
    const valueAt = (ms: number) => samples.find(([, seconds]) => seconds * 1000 === ms)?.[0];
    expect(valueAt(SINCE_MS)).toBe(0);
    expect(valueAt(SINCE_MS + STEP_MS)).toBe(1);
    expect(valueAt(SINCE_MS + 2 * 3600_000)).toBe(1);
    expect(valueAt(SINCE_MS + 2 * 3600_000 + STEP_MS)).toBe(2);
    expect(samples.at(-2)).toEqual([3, sampleTime(grid, timelines[0]?.lastIndex ?? 0) / 1000]);
    expect(samples.at(-1)).toEqual([0, (LIVE_FROM_MS - 500) / 1000]);
    expect(sampleTime(grid, timelines[0]?.lastIndex ?? 0)).toBeLessThan(LIVE_FROM_MS - 1000);
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE codearts_builds counter\n');
  });

  itWithBinary('promtool')('is turned into blocks by promtool tsdb create-blocks-from openmetrics, holding every sample', () => {
    const blocks = join(dir, 'data');
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=24h', file, blocks], { stdio: 'pipe' });
    // dump opens the directory as a TSDB, which needs a write-ahead log directory.
    mkdirSync(join(blocks, 'wal'), { recursive: true });
    const dump = execFileSync('promtool', ['tsdb', 'dump', blocks], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const dumped = dump.split('\n').filter((line) => line.startsWith('{'));
    const written = text.split('\n').filter((line) => line.startsWith('codearts_'));
    expect(dumped).toHaveLength(written.length);
    expect(dump).toContain('job_name="Job \\"B\\"\\\\n"');
  });
});
