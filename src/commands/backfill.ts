import {
  BackfillInterruptedError,
  BackfillJobsFailedError,
  runBackfill,
  type BackfillJob,
  type BackfillSummary,
} from '../backfill/backfill.js';
import { BackfillJournal, JournalMismatchError } from '../backfill/journal.js';
import { describeListed, LISTING_PAGING, pastBuildFromRecord } from '../backfill/listed-build.js';
import { BackfillProgress } from '../backfill/progress.js';
import { BACKFILL_FAMILIES, type BackfillFamily } from '../backfill/series-timeline.js';
import { labelText, parseLabelOptions, TargetLabelError, targetLabelsFromPrometheusConfig } from '../backfill/target-labels.js';
import { parseDuration } from '../config/duration.js';
import type { Config } from '../config/schema.js';
import { parseRecordTime } from '../domain/time.js';
import { counterLayout, type Exporter, type ExporterOptions } from '../exporter.js';
import { FileStore } from '../state/file-store.js';
import { MemoryStore } from '../state/memory-store.js';
import { StateLockedError } from '../state/state-lock.js';
import { EXIT_INVALID_CONFIG, type CommandIo } from './io.js';
import { prepareExporter } from './start-exporter.js';

/** Exit code of a backfill stopped by SIGINT/SIGTERM (128 + SIGINT): the journal lets the next run continue. */
export const EXIT_INTERRUPTED = 130;
/** The longest `--since` (CodeArts keeps build records for a limited time; a year is beyond any retention). */
const MAX_SINCE_MS = 366 * 24 * 3600 * 1000;

export interface BackfillArgs {
  config?: string;
  out: string;
  since: string;
  step: string;
  label: string[];
  prometheusConfig: string;
  queueTimes?: boolean;
}

interface Settings {
  sinceMs: number;
  stepMs: number;
  labels: Map<string, string>;
}

/**
 * `backfill`: the builds CodeArts still keeps from before each job's start point, written as the
 * live series in an OpenMetrics file for `promtool tsdb create-blocks-from openmetrics`
 * (docs/backfill.md). Exit codes: 0 written, 1 a job or the state could not be read, 2 invalid
 * arguments or config, 130 interrupted (run again to continue).
 */
export async function backfill(args: BackfillArgs, io: CommandIo, stop?: AbortSignal, stderrIsTty = false): Promise<number> {
  const settings = parseSettings(args, io);
  if (!settings) return EXIT_INVALID_CONFIG;
  const access = { readOnly: false };
  const prepared = await prepareExporter(args, io, 'stderr', (config) => openStateForBackfill(config, access));
  if ('exitCode' in prepared) return prepared.exitCode;
  const { exporter, config } = prepared;
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  stop?.addEventListener('abort', abort);
  process.on('SIGINT', abort);
  process.on('SIGTERM', abort);
  try {
    const labels = await targetLabels(settings.labels, args.prometheusConfig, config);
    const journal = await BackfillJournal.open(
      args.out,
      { since: args.since, step: args.step, labels: [...labels], queue_times: args.queueTimes === true, config: args.config ?? null },
      { sinceMs: settings.sinceMs, startedAtMs: Date.now() },
    );
    const jobs = await jobsToBackfill(exporter, journal.header.sinceMs, access.readOnly, io, controller.signal);
    if (jobs.length === 0) {
      io.stderr('backfill: no job to backfill (see the lines above)');
      return 1;
    }
    const progress = new BackfillProgress({ line: io.stderr, draw: stderrIsTty ? (text) => process.stderr.write(text) : undefined });
    if (journal.resumed) progress.note(`continuing the backfill recorded in ${journal.path}`);
    const layout = counterLayout(config);
    const queueTimes = args.queueTimes === true;
    const summary = await runBackfill({
      client: exporter.client,
      jobs,
      out: args.out,
      stepMs: settings.stepMs,
      targetLabels: labelText(labels),
      layout,
      families: backfillFamilies(config, queueTimes),
      format: config.server.openmetrics ? 'openmetrics' : 'text',
      listing: LISTING_PAGING,
      describe: (listed) => describeListed(listed, { recordLabels: layout.recordLabels, queueTimes }),
      fromRecord: pastBuildFromRecord,
      journal,
      progress,
      signal: controller.signal,
    });
    io.stdout(summaryLine(args.out, summary));
    return 0;
  } catch (error) {
    return exitCodeOf(error, controller.signal, io);
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
    stop?.removeEventListener('abort', abort);
    await exporter.stop();
  }
}

/**
 * The file backend's state under its lock; when the exporter holds the lock, a snapshot of what it
 * saved (`access.readOnly`: no job is started and nothing is written). Redis: the configured store.
 */
function openStateForBackfill(config: Config, access: { readOnly: boolean }): ExporterOptions['openStore'] {
  if (config.state.backend !== 'file') return undefined;
  return async (layout, events) => {
    try {
      return await FileStore.open(config.state.path, { layout, events });
    } catch (error) {
      if (!(error instanceof StateLockedError)) throw error;
      access.readOnly = true;
      return new MemoryStore(layout, await FileStore.readSnapshot(config.state.path, { layout, events }));
    }
  };
}

function summaryLine(out: string, summary: BackfillSummary): string {
  const since = new Date(summary.sinceMs).toISOString();
  return (
    `wrote ${out}: ${summary.jobs} jobs, ${summary.builds} builds finished since ${since} (${summary.sinceMs / 1000}) ` +
    `(${summary.lookedUp} looked up with record-info), ${summary.samples} samples, ${summary.requests} requests` +
    (summary.resumed ? ', resumed' : '')
  );
}

/**
 * What is written: builds and triggers; the duration histogram, and the queue-time one with
 * --queue-times, only where the live exporter shows them per job (`metrics.job_histograms`: the
 * fleet-wide sums cannot be pieced together per job without the other jobs' live counts).
 */
function backfillFamilies(config: Config, queueTimes: boolean): BackfillFamily[] {
  return BACKFILL_FAMILIES.filter((family) => {
    if (family === 'builds' || family === 'triggers') return true;
    return config.metrics.job_histograms && (family === 'duration' || queueTimes);
  });
}

/** The exit code of a backfill that threw, its reason on stderr; an unexpected error is thrown on. */
function exitCodeOf(error: unknown, signal: AbortSignal, io: CommandIo): number {
  if (error instanceof TargetLabelError || error instanceof JournalMismatchError) {
    io.stderr(`backfill: ${error.message}`);
    return EXIT_INVALID_CONFIG;
  }
  if (error instanceof BackfillInterruptedError || signal.aborted) {
    io.stderr(`backfill: ${error instanceof BackfillInterruptedError ? error.message : 'interrupted'}`);
    return EXIT_INTERRUPTED;
  }
  if (error instanceof BackfillJobsFailedError) {
    io.stderr(`backfill: ${error.message}`);
    return 1;
  }
  throw error;
}

function parseSettings(args: BackfillArgs, io: CommandIo): Settings | undefined {
  try {
    const sinceMs = parseSince(args.since);
    const stepMs = parseStep(args.step);
    return { sinceMs, stepMs, labels: parseLabelOptions(args.label) };
  } catch (error) {
    if (!(error instanceof RangeError || error instanceof TargetLabelError)) throw error;
    io.stderr(`backfill: ${error.message}`);
    return undefined;
  }
}

function parseStep(value: string): number {
  let stepMs: number;
  try {
    stepMs = parseDuration(value);
  } catch (error) {
    throw new RangeError(`--step ${value}: ${(error as Error).message}`, { cause: error });
  }
  if (stepMs < 1000) throw new RangeError(`--step ${value}: must be at least 1s`);
  return stepMs;
}

/** `--since`: a duration back from now (`30d`), or a time (`2026-11-01`, `2026-11-01T08:00:00+08:00`; UTC without a zone). */
function parseSince(value: string): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
    const trimmed = value.trim();
    const seconds = parseRecordTime(/^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00Z` : trimmed);
    if (seconds === undefined)
      throw new RangeError(`--since ${value}: not a time (e.g. 2026-11-01 or 2026-11-01T08:00:00+08:00) nor a duration (e.g. 30d)`);
    if (seconds * 1000 >= Date.now()) throw new RangeError(`--since ${value}: in the future`);
    return seconds * 1000;
  }
  try {
    return Date.now() - parseDuration(value, MAX_SINCE_MS);
  } catch (error) {
    throw new RangeError(`--since ${value}: ${(error as Error).message}`, { cause: error });
  }
}

/** --label options over what the Prometheus config gives the exporter's target; job and instance are required. */
async function targetLabels(given: Map<string, string>, prometheusConfig: string, config: Config): Promise<Map<string, string>> {
  const fromConfig =
    given.has('job') && given.has('instance') ? undefined : await targetLabelsFromPrometheusConfig(prometheusConfig, config.server.port);
  const labels = new Map([...(fromConfig ?? []), ...given]);
  for (const name of ['job', 'instance'])
    if (!labels.has(name))
      throw new TargetLabelError(
        `no '${name}' target label: no scrape config in ${prometheusConfig} has a static target on port ${config.server.port} ` +
          `(server.port); give the labels Prometheus adds when it scrapes the exporter, e.g. --label job=codearts-build-exporter --label instance=exporter:${config.server.port}`,
      );
  return labels;
}

/**
 * The jobs with a recorded start point. Jobs never polled are started first (one poll cycle, which
 * records where each begins counting) unless the exporter holds the state; a state saved before
 * start points were recorded cannot be backfilled without counting builds twice.
 */
async function jobsToBackfill(
  exporter: Exporter,
  sinceMs: number,
  readOnly: boolean,
  io: CommandIo,
  signal: AbortSignal,
): Promise<BackfillJob[]> {
  let polled = await exporter.polledJobs(signal);
  if (!readOnly && polled.some((job) => job.state === undefined)) {
    await exporter.runCycle(signal);
    polled = await exporter.polledJobs(signal);
  }
  const jobs: BackfillJob[] = [];
  for (const { ref, state } of polled) {
    if (!state) io.stderr(`job ${ref.id} (${ref.name}): not polled yet; the exporter records its start point at its first cycle: left out`);
    else if (state.countingFrom === undefined || state.countingSince === undefined)
      io.stderr(`job ${ref.id} (${ref.name}): its state does not record where counting began (saved by an older version): left out`);
    else if (state.countingSince * 1000 <= sinceMs)
      io.stderr(
        `job ${ref.id} (${ref.name}): counted live since ${new Date(state.countingSince * 1000).toISOString()}, before --since: nothing to backfill`,
      );
    else jobs.push({ ref, countingFrom: state.countingFrom, countingSince: state.countingSince });
  }
  return jobs;
}
