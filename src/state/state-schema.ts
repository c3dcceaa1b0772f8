import { z } from 'zod';
import { BUILD_RESULTS, RECORD_LABEL_NAMES } from '../domain/build.js';
import {
  adaptCounters,
  bucketsByLe,
  bucketsFromLe,
  emptyCounters,
  type BuildSeries,
  type CounterFamily,
  type CounterLayout,
  type HistogramCounts,
  type JobCounters,
} from '../domain/counters.js';
import type { JobState, SkippedRange } from '../domain/job.js';
import { DEFAULT_RECOVERY_BUCKETS } from '../domain/health.js';
import { DEFAULT_STEP_BUCKETS, type StepSeries } from '../domain/steps.js';
import type { StoredJob } from './store.js';

export const STATE_FORMAT = 'codearts-build-exporter/state';
/**
 * 4: step histograms and failure causes per job (in the counters, step bounds in
 *    counters_layout.step_buckets) and the builds still waiting for their details (state.details).
 *    A version 3 file is read with no steps and no failure causes.
 * 3: each job's counters and histograms (counts survive a restart), with the metrics layout they were kept in.
 * 2: passed-over numbers as ranges; unconfirmed, not-found-once and first-seen bookkeeping.
 */
export const STATE_SCHEMA_VERSION = 4;

const count = z.number().int().nonnegative();
const buildNo = z.number().int().positive();
const last = z
  .object({
    buildNo,
    result: z.enum(BUILD_RESULTS),
    finishedAt: z.number(),
    durationSeconds: z.number().optional(),
  })
  .optional();

const JobStateV2 = z.object({
  cursor: count,
  pending: z.array(buildNo),
  queueObserved: z.array(buildNo),
  skipped: z.array(z.object({ from: buildNo, to: buildNo, checksLeft: count }).refine((r) => r.from <= r.to, 'from must be <= to')),
  unconfirmed: z.array(buildNo),
  notFoundOnce: z.array(buildNo),
  firstSeen: z.record(z.string().regex(/^\d+$/), z.number()),
  last,
  lastSuccessAt: z.number().optional(),
});

const DetailsWanted = z.object({
  buildNo,
  kinds: z.array(z.enum(['steps', 'analysis'])).min(1),
  recordId: z.string().min(1).optional(),
  failed: z.boolean(),
  since: z.number(),
});
const HealthEntry = z.object({ buildNo, result: z.enum(BUILD_RESULTS), finishedAt: z.number().optional(), commit: z.string().optional() });
const Health = z.object({
  failingSince: z.number().optional(),
  failures: count,
  previous: z.object({ failed: z.boolean(), finishedAt: z.number().optional(), commit: z.string().optional() }).optional(),
});
const JobStateV4 = JobStateV2.extend({
  details: z.array(DetailsWanted).optional(),
  health: Health.optional(),
  healthQueue: z.array(HealthEntry).optional(),
  countingFrom: buildNo.optional(),
  countingSince: z.number().optional(),
});

/** Version 1 kept one entry per passed-over number and none of the newer bookkeeping. */
const JobStateV1 = z.object({
  cursor: count,
  pending: z.array(buildNo),
  queueObserved: z.array(buildNo),
  skipped: z.array(z.object({ buildNo, checksLeft: count })),
  last,
  lastSuccessAt: z.number().optional(),
});

const Histogram = z.object({ buckets: z.record(z.string(), count), sumMs: count, count });
const Counters = z.object({
  series: z.array(z.object({ result: z.enum(BUILD_RESULTS), labels: z.array(z.string()), builds: count, duration: Histogram.optional() })),
  triggers: z.record(z.string(), count),
  queue: Histogram.optional(),
});
const CountersV4 = Counters.extend({
  steps: z.array(z.object({ step: z.string().min(1), duration: Histogram.optional(), pending: Histogram.optional() })).optional(),
  failures: z.array(z.object({ step: z.string().min(1), errorCode: z.string().min(1), count })).optional(),
  recovery: Histogram.optional(),
  flaky: count.optional(),
});
const bounds = z.array(z.number().positive());
const Layout = z.object({ record_labels: z.array(z.enum(RECORD_LABEL_NAMES)), duration_buckets: bounds, queue_buckets: bounds });
const LayoutV4 = Layout.extend({ step_buckets: bounds, recovery_buckets: bounds });

const stored = <T extends z.ZodType>(state: T) => z.object({ version: count, state });
const header = { format: z.literal(STATE_FORMAT), saved_at: z.string() };

type StateFile = z.infer<typeof StateFileSchema>;
const StateFileSchema = z.discriminatedUnion('schema_version', [
  z.object({
    ...header,
    schema_version: z.literal(4),
    counters_layout: LayoutV4,
    jobs: z.record(z.string(), z.object({ version: count, state: JobStateV4, counters: CountersV4 })),
  }),
  z.object({
    ...header,
    schema_version: z.literal(3),
    counters_layout: Layout,
    jobs: z.record(z.string(), z.object({ version: count, state: JobStateV2, counters: Counters })),
  }),
  z.object({ ...header, schema_version: z.literal(2), jobs: z.record(z.string(), stored(JobStateV2)) }),
  z.object({ ...header, schema_version: z.literal(1), jobs: z.record(z.string(), stored(JobStateV1)) }),
]);

/** The jobs of a state file in `layout`, and the counter families that had to restart because the file kept them in another one. */
export interface ParsedStateFile {
  jobs: Map<string, StoredJob>;
  reset: { families: CounterFamily[]; from: CounterLayout } | undefined;
}

/**
 * The jobs of a state file, migrated to the current schema and the current metrics layout; a
 * message saying what is wrong otherwise. Versions 1 and 2 had no counters: they start at zero.
 */
export function parseStateFile(data: unknown, layout: CounterLayout): ParsedStateFile | { problem: string } {
  const parsed = StateFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'top level';
    return { problem: `unexpected content at ${where} (${issue?.message ?? 'invalid'})` };
  }
  const file = parsed.data;
  const jobs = new Map<string, StoredJob>();
  if (file.schema_version === 1) {
    for (const [jobId, job] of Object.entries(file.jobs))
      jobs.set(jobId, { version: job.version, state: migrateV1(job.state), counters: emptyCounters() });
    return { jobs, reset: undefined };
  }
  if (file.schema_version === 2) {
    for (const [jobId, job] of Object.entries(file.jobs))
      jobs.set(jobId, { version: job.version, state: job.state, counters: emptyCounters() });
    return { jobs, reset: undefined };
  }
  return parseCounted(file, layout);
}

/**
 * Versions 3 and 4: the jobs with their counters, read in the layout the file kept them in and moved
 * to `layout`. Version 3 kept no steps: they start at zero in the configured step buckets.
 */
function parseCounted(file: Extract<StateFile, { schema_version: 3 | 4 }>, layout: CounterLayout): ParsedStateFile | { problem: string } {
  const saved = file.counters_layout;
  const from: CounterLayout = {
    recordLabels: saved.record_labels,
    durationBuckets: saved.duration_buckets,
    queueBuckets: saved.queue_buckets,
    stepBuckets: 'step_buckets' in saved ? saved.step_buckets : (layout.stepBuckets ?? DEFAULT_STEP_BUCKETS),
    recoveryBuckets: 'recovery_buckets' in saved ? saved.recovery_buckets : (layout.recoveryBuckets ?? DEFAULT_RECOVERY_BUCKETS),
  };
  const jobs = new Map<string, StoredJob>();
  let families: CounterFamily[] = [];
  for (const [jobId, job] of Object.entries(file.jobs)) {
    if (job.counters.series.some((s) => s.labels.length !== from.recordLabels.length))
      return { problem: `unexpected content at jobs.${jobId}.counters.series (labels do not match counters_layout.record_labels)` };
    const counters = fromSaved(job.counters, from);
    if (!counters) return { problem: `unexpected content at jobs.${jobId}.counters (a bucket that is none of counters_layout's bounds)` };
    const adapted = adaptCounters(counters, from, layout);
    families = adapted.reset;
    jobs.set(jobId, { version: job.version, state: job.state, counters: adapted.counters });
  }
  return { jobs, reset: families.length > 0 ? { families, from } : undefined };
}

/** What the state file holds for a job: its version, state and counters, histogram buckets keyed by `le` (non-zero only). */
export function encodeStoredJob(stored: StoredJob, layout: CounterLayout): unknown {
  const { series, triggers, queue, steps, failures, recovery, flaky } = stored.counters;
  const stepBounds = layout.stepBuckets ?? DEFAULT_STEP_BUCKETS;
  const saved: SavedCounters = {
    series: series.map(({ duration, ...entry }) => ({
      ...entry,
      labels: [...entry.labels],
      ...(duration ? { duration: saveHistogram(duration, layout.durationBuckets) } : {}),
    })),
    triggers,
    ...(queue ? { queue: saveHistogram(queue, layout.queueBuckets) } : {}),
    ...(steps
      ? {
          steps: steps.map(({ step, duration, pending }) => ({
            step,
            ...(duration ? { duration: saveHistogram(duration, stepBounds) } : {}),
            ...(pending ? { pending: saveHistogram(pending, stepBounds) } : {}),
          })),
        }
      : {}),
    ...(failures ? { failures: failures.map((entry) => ({ ...entry })) } : {}),
    ...(recovery ? { recovery: saveHistogram(recovery, layout.recoveryBuckets ?? DEFAULT_RECOVERY_BUCKETS) } : {}),
    ...(flaky !== undefined ? { flaky } : {}),
  };
  return { version: stored.version, state: stored.state, counters: saved };
}

type SavedCounters = z.infer<typeof CountersV4>;
type SavedHistogram = z.infer<typeof Histogram>;

function saveHistogram(histogram: HistogramCounts, bounds: readonly number[]): SavedHistogram {
  return { buckets: bucketsByLe(histogram, bounds), sumMs: histogram.sumMs, count: histogram.count };
}

/** Saved counters in positions of `layout`'s bounds; undefined when a saved bucket is none of them. */
function fromSaved(saved: SavedCounters, layout: CounterLayout): JobCounters | undefined {
  const load = (histogram: SavedHistogram, bounds: readonly number[]): HistogramCounts | undefined => {
    const buckets = bucketsFromLe(histogram.buckets, bounds);
    return buckets && { buckets, sumMs: histogram.sumMs, count: histogram.count };
  };
  const series: BuildSeries[] = [];
  for (const { duration, ...entry } of saved.series) {
    const histogram = duration && load(duration, layout.durationBuckets);
    if (duration && !histogram) return undefined;
    series.push({ ...entry, ...(histogram ? { duration: histogram } : {}) });
  }
  const queue = saved.queue && load(saved.queue, layout.queueBuckets);
  if (saved.queue && !queue) return undefined;
  const steps = saved.steps && loadSteps(saved.steps, layout.stepBuckets ?? DEFAULT_STEP_BUCKETS);
  if (saved.steps && !steps) return undefined;
  const failures = saved.failures && { failures: saved.failures };
  const recovery = saved.recovery && load(saved.recovery, layout.recoveryBuckets ?? DEFAULT_RECOVERY_BUCKETS);
  if (saved.recovery && !recovery) return undefined;
  const health = { ...(recovery ? { recovery } : {}), ...(saved.flaky !== undefined ? { flaky: saved.flaky } : {}) };
  return { series, triggers: saved.triggers, ...(queue ? { queue } : {}), ...(steps ? { steps } : {}), ...failures, ...health };
}

function loadSteps(saved: NonNullable<SavedCounters['steps']>, bounds: readonly number[]): StepSeries[] | undefined {
  const load = (histogram: SavedHistogram): HistogramCounts | undefined => {
    const buckets = bucketsFromLe(histogram.buckets, bounds);
    return buckets && { buckets, sumMs: histogram.sumMs, count: histogram.count };
  };
  const steps: StepSeries[] = [];
  for (const { step, duration, pending } of saved) {
    const entry: StepSeries = { step };
    if (duration) {
      const histogram = load(duration);
      if (!histogram) return undefined;
      entry.duration = histogram;
    }
    if (pending) {
      const histogram = load(pending);
      if (!histogram) return undefined;
      entry.pending = histogram;
    }
    steps.push(entry);
  }
  return steps;
}

/** Everything in the state file but `jobs`, which the file store's serializer appends per job. */
export function stateFileHeader(layout: CounterLayout): Record<string, unknown> {
  return {
    format: STATE_FORMAT,
    schema_version: STATE_SCHEMA_VERSION,
    saved_at: new Date().toISOString(),
    counters_layout: {
      record_labels: layout.recordLabels,
      duration_buckets: layout.durationBuckets,
      queue_buckets: layout.queueBuckets,
      step_buckets: layout.stepBuckets ?? DEFAULT_STEP_BUCKETS,
      recovery_buckets: layout.recoveryBuckets ?? DEFAULT_RECOVERY_BUCKETS,
    },
  };
}

/** Version 1 -> 2: one entry per skipped number becomes ranges of consecutive numbers. */
function migrateV1(state: z.infer<typeof JobStateV1>): JobState {
  const { skipped, ...rest } = state;
  return { ...rest, skipped: toRanges(skipped), unconfirmed: [], notFoundOnce: [], firstSeen: {} };
}

function toRanges(entries: ReadonlyArray<{ buildNo: number; checksLeft: number }>): SkippedRange[] {
  const ranges: SkippedRange[] = [];
  for (const { buildNo: n, checksLeft } of [...entries].sort((a, b) => a.buildNo - b.buildNo)) {
    const previous = ranges.at(-1);
    if (previous && previous.to + 1 === n) {
      previous.to = n;
      previous.checksLeft = Math.max(previous.checksLeft, checksLeft);
    } else {
      ranges.push({ from: n, to: n, checksLeft });
    }
  }
  return ranges;
}
