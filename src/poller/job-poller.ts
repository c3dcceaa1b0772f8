import type { CodeArtsClient } from '../codearts/client.js';
import type { JobState } from '../domain/job.js';
import { pollForward, pollForwardListed, pollForwardSafety } from './forward.js';
import { afterCycle, type GapMemory } from './gap-policy.js';
import { JobCycle, type JobCycleResult } from './job-cycle.js';
import { recheckSkipped, refetchPending } from './pending.js';
import type { ProbePlan } from './probe-plan.js';
import type { NewestBuildHint } from './running-status-hint.js';

export type { JobCycleResult } from './job-cycle.js';

export interface JobPollOptions {
  maxBuildsPerCycle: number;
  maxPendingAgeSeconds: number;
  /** Unix seconds: the cycle's clock (ages, gap-check timing). */
  now: number;
  memory: GapMemory;
  hint: NewestBuildHint;
  /** What the change feed decided for this job (probe-plan.ts). @default { kind: 'full' } */
  plan?: Exclude<ProbePlan, { kind: 'skip' }>;
  signal?: AbortSignal | undefined;
  health?: { flakyWindowSeconds: number } | undefined;
}

/**
 * One cycle for one job (docs/design.md, "Polling semantics"): re-fetch pending and unconfirmed
 * builds, re-check the top of passed-over ranges, probe forward from the cursor, and look past a
 * gap when one is known or a check is due. A listed job (the change feed) probes forward only up
 * to its listed newest build, or not at all when that is not past the cursor. Pure with respect
 * to state: it returns what the cycle counted and the next state (and gap memory) instead of saving them.
 */
export async function pollJob(client: CodeArtsClient, jobId: string, state: JobState, options: JobPollOptions): Promise<JobCycleResult> {
  const { memory, hint, signal, plan = { kind: 'full' }, ...cycleOptions } = options;
  const cycle = new JobCycle(client, jobId, state, memory, { ...cycleOptions, ...(signal ? { signal } : {}) });
  await refetchPending(cycle);
  await recheckSkipped(cycle);
  if (plan.kind === 'full') await pollForward(cycle, hint);
  else if (plan.kind === 'safety') await pollForwardSafety(cycle, hint, plan.listed);
  else if (plan.ceiling !== undefined) await pollForwardListed(cycle, plan.ceiling);
  const result = cycle.finish();
  result.memory = afterCycle(result.memory, {
    now: options.now,
    newBuilds: result.newBuilds,
    checked: result.gapChecked,
    farProbed: result.farProbed,
  });
  return result;
}
