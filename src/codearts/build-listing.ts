import { z } from 'zod';
import { classifyStatus, MAX_PLAUSIBLE_SECONDS, triggerLabel, type BuildPhase } from '../domain/build.js';
import { isCodeArtsError } from './errors.js';
import { looseNumber } from './record.js';

/**
 * A job's builds in a time window from ListBuildInfoRecordByJobId
 * (`GET /v1/record/{job_id}/list?start_time=&end_time=&page_index=&page_size=`), read per the
 * official SDK's ListBuildInfoRecordBodyResult and BuildInfoRecord (test/fixtures/codearts-sdk-models.json).
 *
 * Documented by Huawei: times as `yyyy-MM-dd HH:mm:ss`; page_index from 0 (default 0); page_size
 * 1-100 (default 10). Not documented, assumed here (docs/design.md, "Talking to CodeArts"): the
 * times are Beijing time (UTC+8, the console's zone; the format has no zone); a window is at most
 * 30 days long (the documented limit of the sibling period-history and success-ratio endpoints); a
 * build is in the window when its start, to the second, lies within [start_time, end_time], both
 * ends included; `start_time` of an item is Unix milliseconds; `build_time` is the run time and
 * `cost_time` the service's duration (record-info's `duration`), both milliseconds.
 */

/** The largest page_size CodeArts accepts (documented). */
export const MAX_LISTING_PAGE_SIZE = 100;
/** The longest window asked for (an assumption: see above). */
export const MAX_LISTING_WINDOW_MS = 30 * 24 * 3600 * 1000;
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

/**
 * A time window in Unix milliseconds, both ends included and cut to the whole second (the API's
 * precision): windows [a, b − 1 s] and [b, c] share no build and leave none out.
 */
export interface ListingWindow {
  fromMs: number;
  toMs: number;
}

/** Which page: `index` from 0, `size` 1..MAX_LISTING_PAGE_SIZE. */
export interface ListingPageRequest {
  index: number;
  size: number;
}

/** A build as the listing shows it. */
export interface ListedBuild {
  buildNo: number;
  /** `state` as CodeArts wrote it (record-info's `status`). */
  rawStatus: string;
  /** `job_running_status` as CodeArts wrote it (`Running`, `Finished`), when present. */
  runningStatus?: string;
  /**
   * Finished with a result, or not finished (yet): `state` classified as record-info's `status`
   * is, with `job_running_status: Finished` standing for a finish time. A build whose
   * `job_running_status` says it is still running or queued is not finished, whatever its state.
   */
  phase: BuildPhase;
  /** The trigger label (`triggerLabel` of `trigger_type`; `unknown` when missing). */
  triggerType: string;
  /** `start_time`, when positive. */
  startedAtMs?: number;
  /** Finished builds: `cost_time` when positive, else `build_time` when positive; within 31 days. */
  durationMs?: number;
  /** Finished builds with a start: start + `build_time` (else + the duration). */
  finishedAtMs?: number;
  /** `commit_id`, when not empty. */
  commit?: string;
  /** `code_branch` (a branch or a tag), when not empty. */
  branch?: string;
  /** `build_type` (`branch` or `tag`), when not empty. */
  buildType?: string;
}

/** One page of a listing, as the answer states it. */
export interface BuildListingPage {
  builds: ListedBuild[];
  pageIndex: number;
  totalPages: number;
  totalRecords: number;
}

/** A window longer than MAX_LISTING_WINDOW_MS: refused before anything is sent. */
export class ListingWindowTooLongError extends RangeError {
  override readonly name = 'ListingWindowTooLongError';
}

export class InvalidListingError extends Error {
  override readonly name = 'InvalidListingError';
  constructor(
    readonly jobId: string,
    readonly issues: string[],
  ) {
    super(`invalid build listing for job ${jobId}: ${issues.join('; ')}`);
  }
}

/** A listing time: `yyyy-MM-dd HH:mm:ss` in Beijing time, the milliseconds dropped. */
export function formatListingTime(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${ms}`);
  return new Date(Math.floor(ms / 1000) * 1000 + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** Throws for a window or page CodeArts would refuse (a too long window: ListingWindowTooLongError). */
export function checkListingRequest(window: ListingWindow, page: ListingPageRequest): void {
  const { fromMs, toMs } = window;
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs < 0 || toMs < fromMs) {
    throw new RangeError(`invalid listing window: from ${fromMs} to ${toMs} (Unix ms, from <= to)`);
  }
  if (toMs - fromMs > MAX_LISTING_WINDOW_MS) {
    throw new ListingWindowTooLongError(`listing window of ${Math.round((toMs - fromMs) / 1000)} s is longer than 30 days`);
  }
  if (!Number.isInteger(page.index) || page.index < 0)
    throw new RangeError(`listing page index must be an integer >= 0, got ${page.index}`);
  if (!Number.isInteger(page.size) || page.size < 1 || page.size > MAX_LISTING_PAGE_SIZE) {
    throw new RangeError(`listing page size must be an integer within 1..${MAX_LISTING_PAGE_SIZE}, got ${page.size}`);
  }
}

const count = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\s*\d{1,9}\s*$/)
    .transform(Number),
]);
const text = z.string().nullish();

/** The fields of a BuildInfoRecord this exporter reads; `number` is a number in the SDK and a string in the API reference. */
const ItemSchema = z.looseObject({
  number: z.union([
    z.number().int().positive(),
    z
      .string()
      .regex(/^\d{1,9}$/)
      .transform(Number),
  ]),
  state: z.string().min(1),
  job_running_status: text,
  trigger_type: text,
  start_time: looseNumber,
  build_time: looseNumber,
  cost_time: looseNumber,
  commit_id: text,
  code_branch: text,
  build_type: text,
});
type Item = z.infer<typeof ItemSchema>;

/** ListBuildInfoRecordBodyResult: the counts are strings in the SDK; numbers are accepted too. */
const ListingSchema = z.looseObject({
  page_index: count,
  total_page: count,
  total_record: count,
  job_build_states: z.array(ItemSchema).nullish(),
});

/** Validates a listing's `result` (the envelope already taken off); throws InvalidListingError naming the job. */
export function parseBuildListing(jobId: string, result: unknown): BuildListingPage {
  const parsed = ListingSchema.safeParse(result);
  if (!parsed.success) {
    throw new InvalidListingError(
      jobId,
      parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || 'result'}: ${issue.message}`),
    );
  }
  const { page_index, total_page, total_record, job_build_states } = parsed.data;
  return {
    builds: (job_build_states ?? []).map(toListedBuild),
    pageIndex: page_index,
    totalPages: total_page,
    totalRecords: total_record,
  };
}

function toListedBuild(item: Item): ListedBuild {
  const phase = phaseOf(item.state, item.job_running_status ?? undefined);
  const build: ListedBuild = { buildNo: item.number, rawStatus: item.state, phase, triggerType: triggerLabel(item.trigger_type) };
  if (item.job_running_status) build.runningStatus = item.job_running_status;
  const startedAtMs = positive(item.start_time);
  if (startedAtMs !== undefined) build.startedAtMs = startedAtMs;
  if (item.commit_id) build.commit = item.commit_id;
  if (item.code_branch) build.branch = item.code_branch;
  if (item.build_type) build.buildType = item.build_type;
  if (!phase.finished) return build;
  const runMs = plausible(item.build_time);
  const durationMs = plausible(item.cost_time) ?? runMs;
  if (durationMs !== undefined) build.durationMs = durationMs;
  const toFinishMs = runMs ?? durationMs;
  if (startedAtMs !== undefined && toFinishMs !== undefined) build.finishedAtMs = startedAtMs + toFinishMs;
  return build;
}

function phaseOf(state: string, runningStatus: string | undefined): BuildPhase {
  const running = runningStatus ? classifyStatus(runningStatus, false) : undefined;
  if (running && running.recognised && !running.finished) return { finished: false, recognised: classifyStatus(state, false).recognised };
  return classifyStatus(state, runningStatus?.trim().toLowerCase() === 'finished');
}

function positive(value: number | null | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** A duration in milliseconds that could be one (positive, within MAX_PLAUSIBLE_SECONDS). */
function plausible(value: number | null | undefined): number | undefined {
  const ms = positive(value);
  return ms !== undefined && ms <= MAX_PLAUSIBLE_SECONDS * 1000 ? ms : undefined;
}

/** What a failed listing means to its caller. */
export type ListingFailure = 'job-not-found' | 'unavailable' | 'window-too-long' | 'other';

/**
 * - `job-not-found`: CodeArts says the job does not exist (the not-found answers of record-info);
 * - `unavailable`: the listing cannot be had here: the route is not published (404 APIGW.0101), a
 *   404 that is not CodeArts', 403 (no permission), 405 or 501; fall back to record-info;
 * - `window-too-long`: the window was refused as too long, by the client (ListingWindowTooLongError)
 *   or by CodeArts (a 400 or 422 whose message speaks of the time range): ask for shorter windows;
 * - `other`: anything else (throttling, 5xx, timeouts, an open circuit, credentials, an invalid
 *   answer, an abort): worth asking again later.
 */
export function classifyListingFailure(error: unknown): ListingFailure {
  if (error instanceof ListingWindowTooLongError) return 'window-too-long';
  if (!isCodeArtsError(error)) return 'other';
  if (error.kind === 'not_found') return 'job-not-found';
  const { status } = error;
  if (error.code === 'APIGW.0101' || status === 404 || status === 403 || status === 405 || status === 501) return 'unavailable';
  if ((status === 400 || status === 422) && WINDOW_REFUSAL.test(error.detail)) return 'window-too-long';
  return 'other';
}

/** How a refused window is worded: no code for it is documented. */
const WINDOW_REFUSAL = /exceed|too long|longer than|time range|interval|\bdays?\b/i;
