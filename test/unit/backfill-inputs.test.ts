import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackfillJournal, JournalMismatchError } from '../../src/backfill/journal.js';
import { listingWindows, START_MARGIN_MS } from '../../src/backfill/listing-windows.js';
import { BackfillProgress } from '../../src/backfill/progress.js';
import { parseLabelOptions, TargetLabelError, targetLabelsFromPrometheusConfig } from '../../src/backfill/target-labels.js';

/** What a backfill starts from: target labels, the listing windows, the journal of an interrupted run. */
describe('backfill inputs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backfill-inputs-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('takes job and instance from the shipped Prometheus config, by the exporter port', async () => {
    const labels = await targetLabelsFromPrometheusConfig('config/prometheus.yml', 10987);
    expect(labels && Object.fromEntries(labels)).toEqual({ job: 'codearts-build-exporter', instance: 'exporter:10987' });
    expect(await targetLabelsFromPrometheusConfig('config/prometheus.yml', 9999)).toBeUndefined();
  });

  it('rejects a --label that is malformed, repeated or one of the series own labels, naming it', () => {
    expect(Object.fromEntries(parseLabelOptions(['job=ci', 'instance=host:1', 'env=prod=1']))).toEqual({
      job: 'ci',
      instance: 'host:1',
      env: 'prod=1',
    });
    expect(() => parseLabelOptions(['job'])).toThrow(/--label job: expected name=value/);
    expect(() => parseLabelOptions(['9x=1'])).toThrow(TargetLabelError);
    expect(() => parseLabelOptions(['job=a', 'job=b'])).toThrow(/'job' is given twice/);
    expect(() => parseLabelOptions(['job_id=x'])).toThrow(/label of the build series/);
    expect(() => parseLabelOptions(['branch=x'])).toThrow(/label of the build series/);
  });

  it('covers since - 1 day .. end with windows no longer than the longest, each starting where the last ended', () => {
    const since = Date.UTC(2026, 9, 1, 0, 0, 0, 250);
    const end = since + 65 * 24 * 3600_000 + 123;
    const max = 30 * 24 * 3600_000;
    const windows = listingWindows(since, end, max);
    expect(windows[0]?.fromMs).toBe(Math.floor((since - START_MARGIN_MS) / 1000) * 1000);
    expect(windows.at(-1)?.toMs).toBeGreaterThanOrEqual(end);
    windows.forEach((window, i) => {
      expect(window.toMs - window.fromMs).toBeLessThanOrEqual(max);
      expect(window.fromMs % 1000).toBe(0);
      if (i > 0) expect(window.fromMs).toBe(windows[i - 1]?.toMs);
    });
    expect(windows).toHaveLength(3);
    expect(listingWindows(since, end, max)).toEqual(windows);
  });

  it('continues a journal with the same options, refuses other ones naming them, and ignores a cut last line', async () => {
    const out = join(dir, 'history.om');
    const page = { builds: [], pageIndex: 0, totalPages: 1, totalRecords: 0 };
    const first = await BackfillJournal.open(out, { since: '30d', step: '1m' }, { sinceMs: 1000, startedAtMs: 2000 });
    expect(first.resumed).toBe(false);
    await first.recordPage('job-a', 0, 0, page);
    await first.recordLookup('job-a', 7, null);
    await writeFile(first.path, '{"job":"job-a","window":1,"pa', { flag: 'a' });
    const again = await BackfillJournal.open(out, { since: '30d', step: '1m' }, { sinceMs: 5000, startedAtMs: 6000 });
    expect(again.resumed).toBe(true);
    expect(again.header.sinceMs).toBe(1000);
    expect(again.page('job-a', 0, 0)).toEqual(page);
    expect(again.page('job-a', 1, 0)).toBeUndefined();
    expect(again.lookup('job-a', 7)).toBeNull();
    expect(again.lookup('job-a', 8)).toBeUndefined();
    expect(again.answersBefore).toBe(2);
    await again.recordPage('job-a', 1, 0, page);
    const third = await BackfillJournal.open(out, { since: '30d', step: '1m' }, { sinceMs: 1, startedAtMs: 1 });
    expect(third.page('job-a', 1, 0)).toEqual(page);
    const other = BackfillJournal.open(out, { since: '7d', step: '1m' }, { sinceMs: 1, startedAtMs: 1 });
    await expect(other).rejects.toThrow(JournalMismatchError);
    await expect(other).rejects.toThrow(/since: "30d" then, "7d" now/);
  });

  it('draws a bar with jobs, builds, requests and the time left on a terminal; one line per job elsewhere', () => {
    let now = 0;
    const drawn: string[] = [];
    const lines: string[] = [];
    const tty = new BackfillProgress({ line: (text) => lines.push(text), draw: (text) => drawn.push(text), now: () => now });
    now = 30_000;
    tty.jobDone('job-a', 120, { jobsDone: 1, jobs: 4, builds: 120, requests: 7 });
    expect(drawn.at(-1)).toBe('\r[######..................] jobs 1/4, builds 120, requests 7 ETA 1m30s\u001b[K');
    tty.note('a message');
    expect(drawn.at(-1)).toBe('\n');
    expect(lines).toEqual(['a message']);

    const plain: string[] = [];
    const log = new BackfillProgress({ line: (text) => plain.push(text), now: () => now });
    now = 90_000;
    log.update({ jobsDone: 0, jobs: 2, builds: 0, requests: 1 });
    log.jobDone('job-b', 5, { jobsDone: 1, jobs: 2, builds: 5, requests: 2 });
    expect(plain).toEqual(['job job-b: 5 builds (1/2 jobs, 5 builds, 2 requests, 1m left)']);
  });
});
