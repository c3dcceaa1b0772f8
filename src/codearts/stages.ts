import { z } from 'zod';
import { MAX_PLAUSIBLE_SECONDS } from '../domain/build.js';
import { normaliseStepName, type StepObservation } from '../domain/steps.js';
import { parseRecordTime } from '../domain/time.js';
import { looseNumber } from './record.js';

/**
 * The steps of a build from `ShowBuildRecordFullStages` (`result.build_stages`, a map of
 * BuildStageRecord) or its documented fallback `ShowHistoryDetails` (`build_steps[{name, status,
 * build_time}]`); field names from the official SDK's models (test/fixtures/codearts-sdk-models.json).
 */

const text = z.string().nullish();

const StageSchema = z.looseObject({
  display_name: text,
  execution_stage_name: text,
  status: text,
  create_time: text,
  queued_time: text,
  start_time: text,
  finish_time: text,
  build_duration: looseNumber,
  pending_duration: looseNumber,
  sequence: looseNumber,
});
type Stage = z.infer<typeof StageSchema>;

const FullStagesSchema = z.looseObject({ build_stages: z.record(z.string(), StageSchema).nullish() });
const HistoryDetailsSchema = z.looseObject({
  build_steps: z.array(z.looseObject({ name: text, status: text, build_time: looseNumber })).nullish(),
});

export class InvalidStagesError extends Error {
  override readonly name = 'InvalidStagesError';
}

/**
 * The steps of a full-stages result, in `sequence` order; only steps that ran (a start time or a
 * positive duration). An empty map (seen for failed builds) gives no steps.
 */
export function parseFullStages(result: unknown): StepObservation[] {
  const parsed = FullStagesSchema.safeParse(result);
  if (!parsed.success) throw new InvalidStagesError(`unexpected full-stages answer: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const stages = Object.values(parsed.data.build_stages ?? {}).sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0));
  const ran = stages.filter((stage) => stage.start_time || (stage.build_duration ?? 0) > 0);
  const unit = stageUnit(ran);
  return ran.map((stage) => {
    const span = between(stage.start_time, stage.finish_time);
    const waited = between(stage.queued_time ?? stage.create_time, stage.start_time);
    return {
      step: normaliseStepName(stage.display_name ?? stage.execution_stage_name ?? ''),
      durationSeconds: seconds(stage.build_duration, unit) ?? span,
      pendingSeconds: seconds(stage.pending_duration, unit) ?? waited,
    };
  });
}

/** The steps of a history-details result; `build_time` in milliseconds, like record-info's `duration`. */
export function parseHistorySteps(result: unknown): StepObservation[] {
  const parsed = HistoryDetailsSchema.safeParse(result);
  if (!parsed.success) throw new InvalidStagesError(`unexpected history-details answer: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return (parsed.data.build_steps ?? []).map((step) => ({
    step: normaliseStepName(step.name ?? ''),
    durationSeconds: seconds(step.build_time, 'ms'),
  }));
}

/**
 * The unit of `build_duration` and `pending_duration`, which no document states: of milliseconds
 * and seconds, the one that brings more durations closer to their own start and finish times.
 * Without such evidence, milliseconds (the unit of record-info's `duration`).
 */
export function stageUnit(stages: readonly Stage[]): 'ms' | 's' {
  let votes = 0;
  for (const stage of stages) {
    const span = between(stage.start_time, stage.finish_time);
    const value = stage.build_duration;
    if (span === undefined || typeof value !== 'number' || value <= 0) continue;
    votes += Math.abs(value - span) < Math.abs(value / 1000 - span) ? 1 : -1;
  }
  return votes > 0 ? 's' : 'ms';
}

function seconds(value: number | null | undefined, unit: 'ms' | 's'): number | undefined {
  if (typeof value !== 'number' || value < 0) return undefined;
  return plausible(unit === 'ms' ? value / 1000 : value);
}

function between(from: string | null | undefined, to: string | null | undefined): number | undefined {
  if (!from || !to) return undefined;
  const start = parseRecordTime(from);
  const end = parseRecordTime(to);
  return start === undefined || end === undefined ? undefined : plausible(end - start);
}

function plausible(value: number): number | undefined {
  return Number.isFinite(value) && value >= 0 && value <= MAX_PLAUSIBLE_SECONDS ? Math.round(value * 1000) / 1000 : undefined;
}
