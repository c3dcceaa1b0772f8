import { dailyBuildNumber, formatTime, showStatus } from './record.js';
import { respondInvalidParameter, respondSuccess, type SimResponse } from './responses.js';
import { classifyPhase, type JobTimeline, type SimBuild } from './timeline.js';

/**
 * ListBuildInfoRecordByJobId, `GET /v1/record/{job_id}/list?start_time=&end_time=&page_index=&page_size=`:
 * the builds of a job that started within a time window, newest first, as the SDK's
 * ListBuildInfoRecordByJobIdResponse `{ status, error, result: ListBuildInfoRecordBodyResult }`.
 *
 * Huawei documents the times as `yyyy-MM-dd HH:mm:ss` and the pages (page_index from 0, page_size
 * 1-100, default 10), not the zone, the order, the window's limit or which time the window
 * selects by. Assumed here: Beijing time (UTC+8, the console's zone); newest first; at most 30 days
 * (the limit of the sibling period-history and success-ratio endpoints); a build is in the window
 * when its start, to the second, is within [start_time, end_time], both ends included.
 */

const BEIJING_OFFSET_MS = 8 * 3600_000;
const MAX_WINDOW_MS = 30 * 86_400_000;
const LISTING_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

export interface ListingPage {
  pageIndex: number;
  pageSize: number;
}

/** The listing of one job; the caller has checked that the route is available, the page parameters and the job. */
export function answerRecordList(query: URLSearchParams, job: JobTimeline, page: ListingPage, nowMs: number): SimResponse {
  const window = windowOf(query);
  if ('status' in window) return window;
  const listed = job
    .visible(nowMs)
    .filter((build) => build.startedMs <= nowMs && build.startedMs >= window.fromMs && build.startedMs < window.toMs + 1000)
    .sort((a, b) => b.buildNo - a.buildNo);
  const items = listed.slice(page.pageIndex * page.pageSize, (page.pageIndex + 1) * page.pageSize);
  return respondSuccess({
    health_score: healthScore(listed, nowMs),
    page_index: String(page.pageIndex),
    total_page: String(Math.ceil(listed.length / page.pageSize)),
    total_record: String(listed.length),
    job_build_states: items.map((build) => describeListedBuild(job, build, nowMs)),
  });
}

/** The window's ends in Unix milliseconds (whole seconds), or the answer to a missing, malformed or too long one. */
function windowOf(query: URLSearchParams): { fromMs: number; toMs: number } | SimResponse {
  const fromMs = parseListingTime(query.get('start_time'));
  if (fromMs === undefined) return respondInvalidParameter('start_time (expected yyyy-MM-dd HH:mm:ss)');
  const toMs = parseListingTime(query.get('end_time'));
  if (toMs === undefined) return respondInvalidParameter('end_time (expected yyyy-MM-dd HH:mm:ss)');
  if (toMs < fromMs) return respondInvalidParameter('end_time is before start_time');
  if (toMs - fromMs > MAX_WINDOW_MS) return respondInvalidParameter('the time range between start_time and end_time cannot exceed 30 days');
  return { fromMs, toMs };
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time as Unix milliseconds; undefined when it is not such a time. */
export function parseListingTime(value: string | null): number | undefined {
  const match = LISTING_TIME.exec(value ?? '');
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2026-02-31 over into March: such a date is not a time.
  const back = new Date(ms);
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return ms - BEIJING_OFFSET_MS;
}

/** The share of the window's finished builds that succeeded, in percent (the listing's `health_score`). */
function healthScore(builds: SimBuild[], nowMs: number): string {
  const finished = builds.filter((build) => classifyPhase(build, nowMs) === 'finished');
  if (finished.length === 0) return '100';
  return String(Math.round((100 * finished.filter((build) => build.final.result === 'success').length) / finished.length));
}

/**
 * The SDK's BuildInfoRecord, consistent with the build's record-info: `state` is its `status`,
 * `cost_time` its `duration` (or finish − start where the record has none), `build_time` its run
 * time finish − start, both in milliseconds and 0 until it finishes; `start_time` Unix
 * milliseconds. A build aborted in the queue is listed from the moment it was aborted, with no run time.
 */
function describeListedBuild(job: JobTimeline, build: SimBuild, nowMs: number): Record<string, unknown> {
  const finished = classifyPhase(build, nowMs) === 'finished';
  const runMs = build.finishedMs - build.startedMs;
  const scmWebUrl = `https://codehub.example.invalid/${job.profile.repoName}`;
  const item: Record<string, unknown> = {
    number: build.buildNo,
    build_time: finished ? runMs : 0,
    start_time: build.startedMs,
    job_running_status: finished ? 'Finished' : 'Running',
    state: showStatus(build, nowMs),
    user_id: build.userId,
    executor: 'sim-user',
    nickname: 'sim-user',
    daily_build_number: dailyBuildNumber(build),
    trigger_type: build.trigger.raw,
    cost_time: finished ? (build.durationField ?? runMs) : 0,
    commit_id: build.commit,
    commit_info: build.commit
      ? { commit_id: build.commit, created_at: formatTime(build.createdMs - build.runnableLeadMs, build.offsetMinutes) }
      : null,
    build_type: build.tag === null ? 'branch' : 'tag',
    code_branch: build.tag ?? build.branch,
    scm_type: 'codehub',
    scm_web_url: scmWebUrl,
    commit_detail_url: build.commit ? `${scmWebUrl}/commit/${build.commit}` : null,
  };
  if (build.trigger.raw === undefined) delete item.trigger_type;
  return item;
}
