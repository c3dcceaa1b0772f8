import type { CodeArtsClient } from '../codearts/client.js';
import { isCodeArtsError } from '../codearts/errors.js';
import type { CountedBuild } from '../domain/counters.js';
import type { FailureCause } from '../domain/failures.js';
import type { DetailKind, DetailsWanted } from '../domain/job.js';
import type { StepObservation } from '../domain/steps.js';
import type { DetailMissing, JobCycleResult } from './job-cycle.js';

export interface DetailOptions {
  /** `metrics.steps.enabled`: fetch the steps of every finished build. */
  steps: boolean;
  /** `metrics.failures.enabled`: fetch the log analysis of every failed build. */
  failures: boolean;
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

type Fetched<T> = { kind: 'found'; value: T } | { kind: 'missing' } | { kind: 'failed' };

/**
 * The details of finished builds, fetched before the cycle commits so that they are observed with
 * their build, exactly once: the steps of every build counted this cycle (and the log analysis of
 * every failed one), and whatever builds counted earlier still wait for (`state.details`). A build
 * is counted whatever happens here. A call that fails (after the client's retries) leaves that
 * detail waiting in the next state, asked again next cycle until `retryForSeconds` have passed,
 * then given up and reported missing; so is a detail CodeArts says does not exist.
 */
export async function collectDetails(client: CodeArtsClient, jobId: string, cycle: JobCycleResult, options: DetailOptions): Promise<void> {
  const wanted = [...(cycle.next.details ?? []), ...cycle.counted.flatMap((build) => wantedFor(build, options))];
  if (wanted.length === 0) return;
  const remaining = await Promise.all(wanted.map((entry) => fetchWanted(client, jobId, cycle, entry, options)));
  const waiting: DetailsWanted[] = [];
  wanted.forEach((entry, i) => {
    const kinds = remaining[i] ?? [];
    if (kinds.length === 0) return;
    if (options.now - entry.since >= options.retryForSeconds) cycle.detailsMissing.push(...missing(entry, kinds, 'gave_up'));
    else waiting.push({ ...entry, kinds });
  });
  for (const entry of waiting.splice(0, Math.max(0, waiting.length - options.maxWanted)))
    cycle.detailsMissing.push(...missing(entry, entry.kinds, 'gave_up'));
  if (waiting.length > 0) cycle.next.details = waiting;
  else delete cycle.next.details;
}

function wantedFor(build: CountedBuild, options: DetailOptions): DetailsWanted[] {
  const failed = build.result === 'failure';
  const kinds: DetailKind[] = [...(options.steps ? ['steps' as const] : []), ...(options.failures && failed ? ['analysis' as const] : [])];
  if (kinds.length === 0) return [];
  return [{ buildNo: build.buildNo, kinds, ...(build.recordId ? { recordId: build.recordId } : {}), failed, since: options.now }];
}

/** Fetches what an entry waits for; resolves with the kinds that failed and are to be asked again. */
async function fetchWanted(
  client: CodeArtsClient,
  jobId: string,
  cycle: JobCycleResult,
  entry: DetailsWanted,
  options: DetailOptions,
): Promise<DetailKind[]> {
  const again: DetailKind[] = [];
  const settle = <T>(kind: DetailKind, fetched: Fetched<T>, found: (value: T) => void) => {
    if (fetched.kind === 'found') found(fetched.value);
    else if (fetched.kind === 'missing') cycle.detailsMissing.push(...missing(entry, [kind], 'not_found'));
    else again.push(kind);
  };
  const [steps, analysis] = await Promise.all([
    entry.kinds.includes('steps') ? guarded(() => fetchSteps(client, jobId, entry, options.signal), options.signal) : undefined,
    entry.kinds.includes('analysis')
      ? guarded(() => client.getLogAnalysis(jobId, entry.buildNo, options.signal), options.signal)
      : undefined,
  ]);
  if (steps) settle<StepObservation[]>('steps', steps, (value) => cycle.steps.push({ buildNo: entry.buildNo, steps: value }));
  if (analysis) settle<FailureCause[]>('analysis', analysis, (value) => cycle.failures.push({ buildNo: entry.buildNo, causes: value }));
  return again;
}

/** full-stages by the record id; history-details when there is none, or when a failed build's map came back empty. */
async function fetchSteps(
  client: CodeArtsClient,
  jobId: string,
  entry: DetailsWanted,
  signal?: AbortSignal,
): Promise<StepObservation[] | undefined> {
  const stages = entry.recordId ? await client.getFullStages(entry.recordId, signal) : [];
  if (stages === undefined) return undefined;
  if (stages.length > 0 || (entry.recordId && !entry.failed)) return stages;
  return client.getHistorySteps(jobId, entry.buildNo, signal);
}

/** A detail request: found, not found (undefined), or failed (a CodeArts error after the client's retries). */
async function guarded<T>(fetch: () => Promise<T | undefined>, signal?: AbortSignal): Promise<Fetched<T>> {
  try {
    const value = await fetch();
    return value === undefined ? { kind: 'missing' } : { kind: 'found', value };
  } catch (error) {
    if (signal?.aborted || !isCodeArtsError(error)) throw error;
    return { kind: 'failed' };
  }
}

function missing(entry: DetailsWanted, kinds: readonly DetailKind[], reason: DetailMissing['reason']): DetailMissing[] {
  return kinds.map((kind) => ({ buildNo: entry.buildNo, kind, reason }));
}
