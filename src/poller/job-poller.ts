import type { CodeArtsClient } from '../codearts/client.js';
import type { JobState } from '../domain/job.js';
import { pollForward } from './forward.js';
import { afterCycle, type GapMemory } from './gap-policy.js';
import { JobCycle, type JobCycleResult } from './job-cycle.js';
import { recheckSkipped, refetchPending } from './pending.js';
import type { NewestBuildHint } from './running-status-hint.js';

export type { JobCycleResult } from './job-cycle.js';

export interface JobPollOptions {
  maxBuildsPerCycle: number;
  maxPendingAgeSeconds: number;
  /** Unix seconds: the cycle's clock (ages, gap-check timing). */
  now: number;
  memory: GapMemory;
  hint: NewestBuildHint;
  signal?: AbortSignal | undefined;
  health?: { flakyWindowSeconds: number } | undefined;
}

/**
 * One cycle for one job (docs/design.md, "Polling semantics"): re-fetch pending and unconfirmed
 * builds, re-check the top of passed-over ranges, probe forward from the cursor, and look past a
 * gap when one is known or a check is due. Pure with respect to state: it returns what the cycle
 * counted and the next state (and gap memory) instead of saving them.
 */
export async function pollJob(client: CodeArtsClient, jobId: string, state: JobState, options: JobPollOptions): Promise<JobCycleResult> {
  const { memory, hint, signal, ...cycleOptions } = options;
  const cycle = new JobCycle(client, jobId, state, memory, { ...cycleOptions, ...(signal ? { signal } : {}) });
  await refetchPending(cycle);
  await recheckSkipped(cycle);
  await pollForward(cycle, hint);
  const result = cycle.finish();
  result.memory = afterCycle(result.memory, {
    now: options.now,
    newBuilds: result.newBuilds,
    checked: result.gapChecked,
    farProbed: result.farProbed,
  });
  return result;
}
