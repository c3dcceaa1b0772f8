import pLimit from 'p-limit';
import type { CounterLayout } from '../domain/counters.js';
import type { JobRef } from '../domain/job.js';
import type { ExpositionFormat } from '../metrics/exposition.js';
import { readJobHistory, type HistoryClient, type JobHistoryOptions } from './job-history.js';
import type { BackfillJournal } from './journal.js';
import { listingWindows, START_MARGIN_MS } from './listing-windows.js';
import { writeOpenMetricsFile } from './openmetrics-file.js';
import type { PastBuild } from './past-build.js';
import type { BackfillProgress, ProgressCounts } from './progress.js';
import { sampleGrid } from './sample-grid.js';
import { jobTimeline, type BackfillFamily } from './series-timeline.js';

/** Jobs read side by side; each one's requests still go through the client's concurrency limit and request budget. */
const JOB_CONCURRENCY = 4;

/** A job to backfill: where and when its live counting began (from its saved state). */
export interface BackfillJob {
  ref: JobRef;
  countingFrom: number;
  /** Unix seconds. */
  countingSince: number;
}

export interface BackfillOptions {
  client: HistoryClient;
  jobs: readonly BackfillJob[];
  out: string;
  stepMs: number;
  /** `job="…",instance="…"`. */
  targetLabels: string;
  layout: CounterLayout;
  families: readonly BackfillFamily[];
  /** The format the live exporter serves Prometheus (its `le` values are part of the bucket series). */
  format: ExpositionFormat;
  listing: { maxWindowMs: number; pageSize: number; firstPage: number };
  describe: JobHistoryOptions['describe'];
  fromRecord: JobHistoryOptions['fromRecord'];
  journal: BackfillJournal;
  progress: BackfillProgress;
  signal?: AbortSignal;
}

export interface BackfillSummary {
  jobs: number;
  builds: number;
  /** Builds the listing could not describe, looked up with record-info (some may then prove older than `since`). */
  lookedUp: number;
  samples: number;
  /** Requests this run made (a resumed run: only its own). */
  requests: number;
  sinceMs: number;
  resumed: boolean;
}

export class BackfillInterruptedError extends Error {
  override readonly name = 'BackfillInterruptedError';
  constructor(readonly journalPath: string) {
    super(`interrupted: what was read so far is kept in ${journalPath}; run the same command again to continue`);
  }
}

export class BackfillJobsFailedError extends Error {
  override readonly name = 'BackfillJobsFailedError';
  constructor(
    readonly failures: ReadonlyArray<{ jobId: string; error: Error }>,
    readonly journalPath: string,
  ) {
    super(
      `${failures.length} job(s) could not be read: ${failures.map(({ jobId, error }) => `job ${jobId}: ${error.message}`).join('; ')}. ` +
        `What was read is kept in ${journalPath}; run the same command again to continue`,
    );
  }
}

/**
 * Reads each job's builds between `since` and its start point and writes them as the series the
 * live exporter would have shown (docs/backfill.md). Fails without writing the file when a job
 * cannot be read; the journal keeps every answer had, so the next run goes on from there.
 */
export async function runBackfill(options: BackfillOptions): Promise<BackfillSummary> {
  const { journal, jobs } = options;
  const { sinceMs } = journal.header;
  const read = await readHistories(options);
  const endMs = Math.max(...jobs.map((job) => job.countingSince * 1000));
  const grid = sampleGrid(sinceMs, endMs, options.stepMs);
  const timelines = jobs.map((job) =>
    jobTimeline(job.ref, read.histories.get(job.ref.id) ?? [], grid, job.countingSince * 1000, {
      layout: options.layout,
      families: options.families,
      format: options.format,
    }),
  );
  const samples = await writeOpenMetricsFile(options.out, {
    grid,
    timelines,
    families: options.families,
    targetLabels: options.targetLabels,
  });
  await journal.remove();
  return {
    jobs: jobs.length,
    builds: [...read.histories.values()].reduce((sum, builds) => sum + builds.length, 0),
    lookedUp: read.lookedUp,
    samples,
    requests: read.requests,
    sinceMs,
    resumed: journal.resumed,
  };
}

/** Every job's past builds, JOB_CONCURRENCY jobs at a time; throws when interrupted or when a job could not be read. */
async function readHistories(
  options: BackfillOptions,
): Promise<{ histories: Map<string, PastBuild[]>; lookedUp: number; requests: number }> {
  const { journal, progress, jobs, signal } = options;
  const { sinceMs, startedAtMs } = journal.header;
  const counts: ProgressCounts = { jobsDone: 0, jobs: jobs.length, builds: 0, requests: 0 };
  const limit = pLimit(JOB_CONCURRENCY);
  const histories = new Map<string, PastBuild[]>();
  let lookedUpInAll = 0;
  const readJob = async (job: BackfillJob): Promise<void> => {
    const endMs = Math.min(job.countingSince * 1000 + START_MARGIN_MS, startedAtMs);
    const { builds, lookedUp } = await readJobHistory({
      client: options.client,
      jobId: job.ref.id,
      windows: listingWindows(sinceMs, endMs, options.listing.maxWindowMs),
      countingFrom: job.countingFrom,
      sinceS: sinceMs / 1000,
      pageSize: options.listing.pageSize,
      firstPage: options.listing.firstPage,
      describe: options.describe,
      fromRecord: options.fromRecord,
      journal,
      onRequest: () => {
        counts.requests += 1;
        progress.update(counts);
      },
      onListingUnavailable: (error) =>
        progress.note(
          `job ${job.ref.id}: the build listing is not available (${error.message}): reading its builds one by one with record-info`,
        ),
      ...(signal ? { signal } : {}),
    });
    histories.set(job.ref.id, builds);
    lookedUpInAll += lookedUp;
    counts.jobsDone += 1;
    counts.builds += builds.length;
    progress.jobDone(job.ref.id, builds.length, counts);
  };
  const settled = await Promise.allSettled(jobs.map((job) => limit(() => readJob(job))));
  progress.finish();
  if (signal?.aborted) throw new BackfillInterruptedError(journal.path);
  const failures = settled.flatMap((result, i) =>
    result.status === 'rejected' ? [{ jobId: (jobs[i] as BackfillJob).ref.id, error: result.reason as Error }] : [],
  );
  if (failures.length > 0) throw new BackfillJobsFailedError(failures, journal.path);
  return { histories, lookedUp: lookedUpInAll, requests: counts.requests };
}
