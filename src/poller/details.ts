import type { CodeArtsClient } from '../codearts/client.js';
import { isCodeArtsError } from '../codearts/errors.js';
import type { DetailsWanted } from '../domain/job.js';
import type { StepObservation } from '../domain/steps.js';
import type { DetailMissing, JobCycleResult } from './job-cycle.js';

export interface DetailOptions {
  /** `metrics.steps.enabled`: fetch the steps of every finished build. */
  steps: boolean;
  /** `metrics.details_retry_for`: how long (seconds) a build's details are asked again before they are given up. */
  retryForSeconds: number;
  /** Builds a job may wait for details on; the oldest are given up past it. */
  maxWanted: number;
  /** Unix seconds, the cycle's clock. */
  now: number;
  signal?: AbortSignal | undefined;
}

/** `maxWanted` default: a job whose detail requests fail for an hour at a build a minute. */
export const MAX_DETAILS_WANTED = 200;

type Fetched = { kind: 'steps'; steps: StepObservation[] } | { kind: 'missing' } | { kind: 'failed' };

/**
 * The details of finished builds, fetched before the cycle commits so that they are observed with
 * their build, exactly once: the steps of every build counted this cycle and of every build still
 * waiting for them (`state.details`). A build is counted whatever happens here. A call that fails
 * (after the client's retries) leaves the build waiting in the next state, asked again next cycle
 * until `retryForSeconds` have passed, then given up and reported missing; so is a build whose
 * record CodeArts says does not exist.
 */
export async function collectDetails(client: CodeArtsClient, jobId: string, cycle: JobCycleResult, options: DetailOptions): Promise<void> {
  if (!options.steps) return;
  const wanted: DetailsWanted[] = [
    ...(cycle.next.details ?? []),
    ...cycle.counted.map((build) => ({
      buildNo: build.buildNo,
      ...(build.recordId ? { recordId: build.recordId } : {}),
      failed: build.result === 'failure',
      since: options.now,
    })),
  ];
  if (wanted.length === 0) return;
  const fetched = await Promise.all(wanted.map((entry) => fetchSteps(client, jobId, entry, options.signal)));
  const waiting: DetailsWanted[] = [];
  wanted.forEach((entry, i) => {
    const outcome = fetched[i] as Fetched;
    if (outcome.kind === 'steps') cycle.steps.push({ buildNo: entry.buildNo, steps: outcome.steps });
    else if (outcome.kind === 'missing') cycle.detailsMissing.push(missing(entry, 'not_found'));
    else if (options.now - entry.since >= options.retryForSeconds) cycle.detailsMissing.push(missing(entry, 'gave_up'));
    else waiting.push(entry);
  });
  const overflow = waiting.splice(0, Math.max(0, waiting.length - options.maxWanted));
  cycle.detailsMissing.push(...overflow.map((entry) => missing(entry, 'gave_up')));
  if (waiting.length > 0) cycle.next.details = waiting;
  else delete cycle.next.details;
}

/** full-stages by the record id; history-details when there is none, or when a failed build's map came back empty. */
async function fetchSteps(client: CodeArtsClient, jobId: string, entry: DetailsWanted, signal?: AbortSignal): Promise<Fetched> {
  try {
    const stages = entry.recordId ? await client.getFullStages(entry.recordId, signal) : [];
    if (stages === undefined) return { kind: 'missing' };
    if (stages.length > 0 || (entry.recordId && !entry.failed)) return { kind: 'steps', steps: stages };
    const steps = await client.getHistorySteps(jobId, entry.buildNo, signal);
    return steps === undefined ? { kind: 'missing' } : { kind: 'steps', steps };
  } catch (error) {
    if (signal?.aborted || !isCodeArtsError(error)) throw error;
    return { kind: 'failed' };
  }
}

function missing(entry: DetailsWanted, reason: DetailMissing['reason']): DetailMissing {
  return { buildNo: entry.buildNo, kind: 'steps', reason };
}
