import type { HistogramCounts } from './counters.js';

/**
 * Build steps (docs/metrics.md, "Steps"): what one finished build's steps took, and how a job's
 * step histograms are kept. Step names come from users' build configurations: they are normalised
 * and capped per job, so a job that renames its steps every build cannot flood `/metrics`.
 */

/** The label value every step past a job's cap is counted under. */
export const OTHER_STEP = 'other';
/** `metrics.steps.max_per_job` default: distinct step names per job, `other` not included. */
export const DEFAULT_MAX_STEPS_PER_JOB = 30;
/** `metrics.steps.buckets` default (seconds): CI-scale and few, since every step of every job has its own series. */
export const DEFAULT_STEP_BUCKETS: readonly number[] = [5, 15, 30, 60, 120, 300, 600, 1200, 2400];
/** Longest step name kept (characters); longer ones are cut. */
export const MAX_STEP_NAME_LENGTH = 64;

/** One step of a finished build: how long it ran and how long it waited before, when known (seconds). */
export interface StepObservation {
  step: string;
  durationSeconds?: number | undefined;
  pendingSeconds?: number | undefined;
}

/** The steps of one build, observed by one commit (with the build, or later when the request had to be retried). */
export interface BuildSteps {
  buildNo: number;
  steps: readonly StepObservation[];
}

/** A job's histograms of one step. */
export interface StepSeries {
  step: string;
  duration?: HistogramCounts;
  pending?: HistogramCounts;
}

const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** A step name as a label value: control characters dropped, white space collapsed, at most MAX_STEP_NAME_LENGTH characters. */
export function normaliseStepName(raw: string): string {
  const cleaned = raw
    .normalize('NFC')
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  // Cut at a grapheme boundary, so a name never ends in half a character.
  let name = '';
  for (const { segment } of GRAPHEMES.segment(cleaned)) {
    if (name.length + segment.length > MAX_STEP_NAME_LENGTH) break;
    name += segment;
  }
  name = name.trim();
  return name === '' ? 'unnamed' : name;
}

/**
 * The label a step is counted under in a job that already has `series`: its own name while the job
 * has fewer than `maxPerJob` named steps (or already has this one), `other` past that.
 */
export function stepLabel(series: readonly StepSeries[], step: string, maxPerJob: number): string {
  if (series.some((entry) => entry.step === step)) return step;
  const named = series.filter((entry) => entry.step !== OTHER_STEP).length;
  return named < maxPerJob && step !== OTHER_STEP ? step : OTHER_STEP;
}
