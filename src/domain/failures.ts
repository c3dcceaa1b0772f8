import { stepLabel, type StepSeries } from './steps.js';

/**
 * Why builds fail (docs/metrics.md, "Failure causes"): the step and error code of each error node
 * of a failed build's log analysis, counted per job with the step names and error codes capped.
 */

/** `metrics.failures.max_error_codes_per_job` default; codes first seen past it are `other`. */
export const DEFAULT_MAX_ERROR_CODES_PER_JOB = 20;
/** Step or error code of a failure the analysis could not place. */
export const UNKNOWN_CAUSE = 'unknown';
export const OTHER_ERROR_CODE = 'other';

/** One error node of a failed build: the step it failed in and its error code. */
export interface FailureCause {
  step: string;
  errorCode: string;
}

/** The causes of one failed build, observed by one commit. */
export interface BuildFailures {
  buildNo: number;
  causes: readonly FailureCause[];
}

/** Failed builds of a job by step and error code. */
export interface FailureSeries {
  step: string;
  errorCode: string;
  count: number;
}

/** An error code as a label value: letters, digits, `.`, `_`, `-`, at most 64; anything else is `unknown`. */
export function normaliseErrorCode(raw: string | null | undefined): string {
  const code = (raw ?? '').trim();
  return /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : UNKNOWN_CAUSE;
}

/** The failure counters with the builds' causes added, step names and error codes capped per job (a new array). */
export function countFailures(
  before: readonly FailureSeries[],
  builds: readonly BuildFailures[],
  caps: { maxSteps: number; maxErrorCodes: number },
): FailureSeries[] {
  const series = [...before];
  for (const { causes } of builds) {
    for (const cause of causes) {
      const step = stepLabel(distinct(series, 'step'), cause.step, caps.maxSteps);
      const errorCode = codeLabel(series, cause.errorCode, caps.maxErrorCodes);
      const index = series.findIndex((entry) => entry.step === step && entry.errorCode === errorCode);
      if (index < 0) series.push({ step, errorCode, count: 1 });
      else series[index] = { ...(series[index] as FailureSeries), count: (series[index] as FailureSeries).count + 1 };
    }
  }
  return series;
}

function distinct(series: readonly FailureSeries[], key: 'step'): StepSeries[] {
  return [...new Set(series.map((entry) => entry[key]))].map((step) => ({ step }));
}

function codeLabel(series: readonly FailureSeries[], code: string, max: number): string {
  const codes = new Set(series.map((entry) => entry.errorCode));
  if (codes.has(code)) return code;
  codes.delete(OTHER_ERROR_CODE);
  return codes.size < max && code !== OTHER_ERROR_CODE ? code : OTHER_ERROR_CODE;
}
