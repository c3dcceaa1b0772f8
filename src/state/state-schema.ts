import { z } from 'zod';
import { BUILD_RESULTS } from '../codearts/status.js';
import type { JobState, SkippedRange, StoredJob } from './store.js';

export const STATE_FORMAT = 'codearts-build-exporter/state';
/** 2: passed-over numbers as ranges; unconfirmed, not-found-once and first-seen bookkeeping. */
export const STATE_SCHEMA_VERSION = 2;

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
  cursor: z.number().int().nonnegative(),
  pending: z.array(buildNo),
  queueObserved: z.array(buildNo),
  skipped: z.array(z.object({ from: buildNo, to: buildNo, checksLeft: z.number().int().nonnegative() }).refine((r) => r.from <= r.to, 'from must be <= to')),
  unconfirmed: z.array(buildNo),
  notFoundOnce: z.array(buildNo),
  firstSeen: z.record(z.string().regex(/^\d+$/), z.number()),
  last,
  lastSuccessAt: z.number().optional(),
});

/** Version 1 kept one entry per passed-over number and none of the newer bookkeeping. */
const JobStateV1 = z.object({
  cursor: z.number().int().nonnegative(),
  pending: z.array(buildNo),
  queueObserved: z.array(buildNo),
  skipped: z.array(z.object({ buildNo, checksLeft: z.number().int().nonnegative() })),
  last,
  lastSuccessAt: z.number().optional(),
});

const stored = <T extends z.ZodType>(state: T) => z.object({ version: z.number().int().nonnegative(), state });
const header = { format: z.literal(STATE_FORMAT), saved_at: z.string() };

const StateFileSchema = z.discriminatedUnion('schema_version', [
  z.object({ ...header, schema_version: z.literal(2), jobs: z.record(z.string(), stored(JobStateV2)) }),
  z.object({ ...header, schema_version: z.literal(1), jobs: z.record(z.string(), stored(JobStateV1)) }),
]);

/** The jobs of a state file, migrated to the current schema; a message saying what is wrong otherwise. */
export function parseStateFile(data: unknown): Map<string, StoredJob> | { problem: string } {
  const parsed = StateFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: `unexpected content at ${issue?.path.join('.') || 'top level'} (${issue?.message ?? 'invalid'})` };
  }
  const jobs = new Map<string, StoredJob>();
  const file = parsed.data;
  if (file.schema_version === 1) {
    for (const [jobId, job] of Object.entries(file.jobs)) jobs.set(jobId, { version: job.version, state: migrateV1(job.state) });
  } else {
    for (const [jobId, job] of Object.entries(file.jobs)) jobs.set(jobId, { version: job.version, state: job.state as JobState });
  }
  return jobs;
}

/** Everything in the state file but `jobs`, which the file store's serializer appends per job. */
export function stateFileHeader(): { format: string; schema_version: number; saved_at: string } {
  return { format: STATE_FORMAT, schema_version: STATE_SCHEMA_VERSION, saved_at: new Date().toISOString() };
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
