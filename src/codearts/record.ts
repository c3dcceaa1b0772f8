import { z } from 'zod';
import { classifyStatus, MAX_PLAUSIBLE_SECONDS, triggerLabel, type BuildRecord, type RecordLabelName } from '../domain/build.js';
import { parseRecordTime } from '../domain/time.js';

const optionalText = z.string().nullish();
const buildNumber = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d{1,9}$/)
    .transform(Number),
]);
/** A number the SDK types as number; some deployments send it as a numeric string. */
export const looseNumber = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^-?\d+(?:\.\d+)?$/)
      .transform(Number),
  ])
  .nullish();

/** The fields of a record-info `result` this exporter reads; everything else passes through unread. */
export const RecordInfoSchema = z.looseObject({
  build_no: buildNumber,
  status: z.string().min(1),
  trigger_type: optionalText,
  create_time: optionalText,
  start_time: optionalText,
  finish_time: optionalText,
  duration: looseNumber,
  branch: optionalText,
  repo_name: optionalText,
  build_type: optionalText,
  build_config_type: optionalText,
  use_private_slave: looseNumber,
  build_record_id: optionalText,
  commit: optionalText,
});
export type RecordInfo = z.infer<typeof RecordInfoSchema>;

export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError';
  constructor(
    readonly jobId: string,
    readonly buildNo: number,
    readonly issues: string[],
  ) {
    super(`invalid record for job ${jobId} build ${buildNo}: ${issues.join('; ')}`);
  }
}

/** Validates a record-info `result` object and derives durations (docs/design.md, "Talking to CodeArts"). */
export function parseRecord(jobId: string, requestedBuildNo: number, result: unknown): BuildRecord {
  const parsed = RecordInfoSchema.safeParse(result);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'result'}: ${issue.message}`);
    throw new InvalidRecordError(jobId, requestedBuildNo, issues);
  }
  const info = parsed.data;
  if (info.build_no !== requestedBuildNo) {
    throw new InvalidRecordError(jobId, requestedBuildNo, [`build_no: expected ${requestedBuildNo}, got ${info.build_no}`]);
  }
  const problems: string[] = [];
  const createdAt = parseTime(info.create_time, 'create_time', problems);
  const startedAt = parseTime(info.start_time, 'start_time', problems);
  const finishedAt = parseTime(info.finish_time, 'finish_time', problems);
  const phase = classifyStatus(info.status, finishedAt !== undefined);

  const record: BuildRecord = {
    buildNo: info.build_no,
    rawStatus: info.status,
    phase,
    triggerType: triggerLabel(info.trigger_type),
    labels: recordLabels(info),
    problems,
  };
  if (info.build_record_id) record.recordId = info.build_record_id;
  if (info.commit) record.commit = info.commit;
  if (createdAt !== undefined) record.createdAt = createdAt;
  if (startedAt !== undefined) record.startedAt = startedAt;
  if (finishedAt !== undefined) record.finishedAt = finishedAt;

  if (startedAt !== undefined && createdAt !== undefined) {
    const queue = plausible(startedAt - createdAt, 'queue time (start_time - create_time)', problems);
    if (queue !== undefined) record.queueSeconds = queue;
  }
  if (phase.finished) observeFinished(record, info.duration, problems);
  return record;
}

/**
 * Duration of a finished build: `duration` (ms) when positive, else finish - start. A build aborted
 * (or never scheduled) while queued has no start_time: no duration, and its queue time runs from
 * creation to finish.
 */
function observeFinished(record: BuildRecord, durationMs: number | null | undefined, problems: string[]): void {
  const { startedAt, finishedAt, createdAt } = record;
  const positive = typeof durationMs === 'number' && durationMs > 0;
  if (!positive && startedAt === undefined && endsWithoutStarting(record)) {
    if (finishedAt !== undefined && createdAt !== undefined) {
      const queue = plausible(finishedAt - createdAt, 'queue time (finish_time - create_time)', problems);
      if (queue !== undefined) record.queueSeconds = queue;
    }
    return;
  }
  const duration = positive
    ? plausible(durationMs / 1000, 'duration', problems)
    : startedAt !== undefined && finishedAt !== undefined
      ? plausible(finishedAt - startedAt, 'duration (finish_time - start_time)', problems)
      : undefined;
  if (duration !== undefined) record.durationSeconds = duration;
  else if (!problems.some((p) => p.startsWith('duration'))) problems.push('duration: no duration and no start/finish times');
}

function endsWithoutStarting(record: BuildRecord): boolean {
  return (record.phase.finished && record.phase.result === 'aborted') || record.rawStatus.trim().toUpperCase() === 'SCHEDULE_FAILURE';
}

function parseTime(value: string | null | undefined, field: string, problems: string[]): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const seconds = parseRecordTime(value);
  if (seconds === undefined) problems.push(`${field}: not an ISO-8601 time`);
  return seconds;
}

function plausible(seconds: number, what: string, problems: string[]): number | undefined {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_PLAUSIBLE_SECONDS) {
    problems.push(`${what}: implausible value ${seconds}s`);
    return undefined;
  }
  return Math.round(seconds * 1000) / 1000;
}

function recordLabels(info: RecordInfo): Record<RecordLabelName, string> {
  return {
    branch: info.branch ?? '',
    repo_name: info.repo_name ?? '',
    build_type: info.build_type ?? '',
    build_config_type: info.build_config_type ?? '',
    executor: info.use_private_slave === 1 ? 'custom' : info.use_private_slave === 0 ? 'builtin' : '',
  };
}
