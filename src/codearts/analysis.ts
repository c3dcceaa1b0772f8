import { z } from 'zod';
import { normaliseErrorCode, UNKNOWN_CAUSE, type FailureCause } from '../domain/failures.js';
import { normaliseStepName } from '../domain/steps.js';

/**
 * A failed build's causes from ShowLogAnalysis (`GET /v1/log/{job_id}/{build_no}/analysis`,
 * documented by Huawei but not in the SDK): `result.error_nodes[{node_id, step, analyzed_success,
 * error_info{error_code, error_message, faq}}]`.
 */

const text = z.string().nullish();
const AnalysisSchema = z.looseObject({
  error_nodes: z
    .array(
      z.looseObject({
        step: text,
        analyzed_success: z.union([z.boolean(), z.string()]).nullish(),
        error_info: z.looseObject({ error_code: z.union([z.string(), z.number()]).nullish() }).nullish(),
      }),
    )
    .nullish(),
});

export class InvalidAnalysisError extends Error {
  override readonly name = 'InvalidAnalysisError';
}

/**
 * One cause per error node: its step and error code (`unknown` when the analysis did not succeed or
 * names none). A failed build whose analysis has no error node is one cause, `unknown` in both.
 */
export function parseAnalysis(result: unknown): FailureCause[] {
  const parsed = AnalysisSchema.safeParse(result);
  if (!parsed.success) throw new InvalidAnalysisError(`unexpected log analysis answer: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const nodes = parsed.data.error_nodes ?? [];
  if (nodes.length === 0) return [{ step: UNKNOWN_CAUSE, errorCode: UNKNOWN_CAUSE }];
  return nodes.map((node) => {
    const analysed = node.analyzed_success !== false && node.analyzed_success !== 'false';
    const code = node.error_info?.error_code;
    return {
      step: node.step ? normaliseStepName(node.step) : UNKNOWN_CAUSE,
      errorCode: analysed ? normaliseErrorCode(code === null || code === undefined ? undefined : String(code)) : UNKNOWN_CAUSE,
    };
  });
}
