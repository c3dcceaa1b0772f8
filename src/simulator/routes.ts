import { renderRecord, showStatus } from './record.js';
import {
  respondError,
  respondInvalidParameter,
  respondJson,
  respondMalformed,
  respondNotFound,
  respondSuccess,
  respondUnknownRoute,
  type SimResponse,
} from './responses.js';
import { classifyPhase, type JobTimeline, type SimBuild } from './timeline.js';
import type { ResolvedJobFeed } from './options.js';
import { answerRecordList } from './record-list.js';
import { renderAnalysis, renderFullStages, renderHistoryDetails, type StageUnit } from './stages.js';
import type { Endpoint, JobListShape, RunningStatusMode } from './types.js';
import type { World } from './world.js';

/** A request, classified before anything else happens so that faults and counts can use it. */
export interface Route {
  endpoint: Endpoint;
  jobId?: string;
  /** Set when the path's build number is a number. */
  buildNo?: number;
  /** The raw path segment (record-info) or project id (job-list). */
  param?: string;
  query: URLSearchParams;
}

const RECORD_V4 = /^\/v4\/jobs\/([^/]+)\/([^/]+)\/record-info\/?$/;
const RECORD_V1 = /^\/v1\/record\/([^/]+)\/([^/]+)\/record-info\/?$/;
const RUNNING_STATUS = /^\/v1\/job\/([^/]+)\/running-status\/?$/;
const JOB_LIST = /^\/v1\/job\/([^/]+)\/list\/?$/;
const JOB_LIST_ALL = /^\/v1\/job\/list\/?$/;
const IAM_TOKENS = /^\/v3\/auth\/tokens\/?$/;
const FULL_STAGES = /^\/v1\/record\/([^/]+)\/full-stages\/?$/;
const HISTORY_DETAILS = /^\/v3\/jobs\/([^/]+)\/([^/]+)\/history-details\/?$/;
const LOG_ANALYSIS = /^\/v1\/log\/([^/]+)\/([^/]+)\/analysis\/?$/;
const RECORD_LIST = /^\/v1\/record\/([^/]+)\/list\/?$/;

export function classifyRoute(method: string, rawUrl: string): Route {
  const url = new URL(rawUrl, 'http://simulator.invalid');
  const path = url.pathname;
  const query = url.searchParams;
  if (method === 'POST' && IAM_TOKENS.test(path)) return { endpoint: 'iam-token', query };
  if (method !== 'GET') return { endpoint: 'other', query };

  const record = RECORD_V4.exec(path) ?? RECORD_V1.exec(path);
  if (record) {
    const [, jobId = '', buildParam = ''] = record;
    const route: Route = {
      endpoint: path.startsWith('/v4/') ? 'record-info-v4' : 'record-info-v1',
      jobId: decodeSegment(jobId),
      param: buildParam,
      query,
    };
    if (/^\d{1,9}$/.test(buildParam)) route.buildNo = Number(buildParam);
    return route;
  }
  if (JOB_LIST_ALL.test(path)) return { endpoint: 'job-list-all', query };
  const listing = RECORD_LIST.exec(path);
  if (listing) return { endpoint: 'record-list', jobId: decodeSegment(listing[1] ?? ''), query };
  const stages = FULL_STAGES.exec(path);
  if (stages) return { endpoint: 'full-stages', param: decodeSegment(stages[1] ?? ''), query };
  const history = HISTORY_DETAILS.exec(path);
  const analysis = history ? undefined : LOG_ANALYSIS.exec(path);
  const perBuild = history ?? analysis;
  if (perBuild) {
    const [, jobId = '', buildParam = ''] = perBuild;
    const endpoint = history ? 'history-details' : 'log-analysis';
    const route: Route = { endpoint, jobId: decodeSegment(jobId), param: buildParam, query };
    if (/^\d{1,9}$/.test(buildParam)) route.buildNo = Number(buildParam);
    return route;
  }
  const running = RUNNING_STATUS.exec(path);
  if (running) return { endpoint: 'running-status', jobId: decodeSegment(running[1] ?? ''), query };
  const list = JOB_LIST.exec(path);
  if (list) return { endpoint: 'job-list', param: decodeSegment(list[1] ?? ''), query };
  return { endpoint: 'other', query };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface RouteContext {
  world: World;
  nowMs: number;
  runningStatus: RunningStatusMode;
  jobListShape: JobListShape;
  jobListQuirks?: { pageCap?: number; totalOffset?: number };
  jobFeed: ResolvedJobFeed;
  stageUnit?: StageUnit;
  /** How the build listing answers. @default 'ok' */
  recordList?: RunningStatusMode;
}

/** The normal (unfaulted, authorised) answer to a GET route. IAM is handled separately. */
export function answerRoute(route: Route, context: RouteContext): SimResponse {
  switch (route.endpoint) {
    case 'record-info-v4':
    case 'record-info-v1':
      return answerRecordInfo(route, context);
    case 'running-status':
      return answerRunningStatus(route, context);
    case 'job-list':
      return answerJobList(route, context);
    case 'job-list-all':
      return answerJobListAll(route, context);
    case 'full-stages':
      return answerFullStages(route, context);
    case 'history-details':
      return answerHistoryDetails(route, context);
    case 'log-analysis':
      return answerLogAnalysis(route, context);
    case 'record-list':
      return answerBuildListing(route, context);
    default:
      return respondUnknownRoute();
  }
}

function answerRecordInfo(route: Route, { world, nowMs }: RouteContext): SimResponse {
  if (route.buildNo === undefined) return respondInvalidParameter(`build_no '${route.param ?? ''}'`);
  const job = world.job(route.jobId ?? '');
  if (!job) return respondNotFound('422-devcb');
  const build = job.find(route.buildNo, nowMs);
  if (build?.hiddenAnswers) {
    build.hiddenAnswers -= 1;
    return respondNotFound(build.hiddenShape ?? '403-cb');
  }
  if (build?.invalidRecord) return respondNotFound('200-invalid');
  return build ? respondSuccess(renderRecord(job, build, nowMs)) : respondNotFound(job.spec.notFound);
}

/** ShowBuildRecordFullStages by `build_record_id`; 422 DEVCB.00031006 for a record nobody knows (API notes). */
function answerFullStages(route: Route, { world, nowMs, stageUnit = 'ms' }: RouteContext): SimResponse {
  const found = world.findRecord(route.param ?? '', nowMs);
  if (!found) return respondNotFound('422-devcb');
  return respondSuccess(renderFullStages(world.stagesOf(found.job, found.build), found.build, stageUnit));
}

/** ShowHistoryDetails, bare as the SDK models it; 403 CB.00031059 for a build with no history (API notes). */
function answerHistoryDetails(route: Route, { world, nowMs }: RouteContext): SimResponse {
  if (route.buildNo === undefined) return respondInvalidParameter(`build_number '${route.param ?? ''}'`);
  const job = world.job(route.jobId ?? '');
  if (!job) return respondNotFound('422-cb');
  const build = job.find(route.buildNo, nowMs);
  if (!build || classifyPhase(build, nowMs) !== 'finished') return respondNotFound('403-cb');
  return respondJson(200, renderHistoryDetails(world.stagesOf(job, build), build, job.spec.name, job.spec.projectId));
}

/** ShowLogAnalysis of a finished build; 422 DEVCB.00031006 (the v1 routes' not-found, API notes) otherwise. */
function answerLogAnalysis(route: Route, { world, nowMs }: RouteContext): SimResponse {
  if (route.buildNo === undefined) return respondInvalidParameter(`build_no '${route.param ?? ''}'`);
  const job = world.job(route.jobId ?? '');
  const build = job?.find(route.buildNo, nowMs);
  if (!job || !build || classifyPhase(build, nowMs) !== 'finished') return respondNotFound('422-devcb');
  return respondSuccess(renderAnalysis(world.analysisOf(job, build)));
}

/** ListBuildInfoRecordByJobId (src/simulator/record-list.ts); an unknown job is answered as record-info answers it. */
function answerBuildListing(route: Route, { world, nowMs, recordList = 'ok' }: RouteContext): SimResponse {
  const down = unavailable(recordList);
  if (down) return down;
  const page = pageOf(route);
  if ('status' in page) return page;
  const job = world.job(route.jobId ?? '');
  if (!job) return respondNotFound('422-devcb');
  return answerRecordList(route.query, job, page, nowMs);
}

/** How an optional endpoint answers when it is not `ok`; undefined when it is. */
function unavailable(mode: RunningStatusMode): SimResponse | undefined {
  switch (mode) {
    case 'route-not-found':
      return respondUnknownRoute();
    case 'forbidden':
      return respondError(403, 'CB.00060001', 'The user has no permission to view the job');
    case 'server-error':
      return respondError(500, 'CB.00060101', 'Internal server error');
    case 'malformed':
      return respondMalformed();
    case 'ok':
      return undefined;
  }
}

/** ShowRunningStatusResponse: `{ result: ShowRunningStatusResult, error, status }`, or unavailable. */
function answerRunningStatus(route: Route, { world, nowMs, runningStatus }: RouteContext): SimResponse {
  const down = unavailable(runningStatus);
  if (down) return down;
  const job = world.job(route.jobId ?? '');
  if (!job) return respondNotFound('422-devcb');
  const builds = job.visible(nowMs);
  const latest = builds.at(-1);
  return respondSuccess({
    last_job_id: job.spec.id,
    last_build_no: latest ? String(latest.buildNo) : '',
    last_build_status: latest ? showStatus(latest, nowMs) : '',
    is_running: builds.some((build) => classifyPhase(build, nowMs) !== 'finished'),
  });
}

/**
 * ListProjectJobs. `sdk`: the bare `{ total, jobs: [Job] }` of the official SDK's
 * ListProjectJobsResponse; `enveloped`: `{ status, result: { total, job_list } }` with the items of
 * the global job list (ListJobResponse), the shape the API notes saw live for that endpoint.
 */
function answerJobList(route: Route, { world, nowMs, jobListShape, jobListQuirks = {} }: RouteContext): SimResponse {
  const asked = pageOf(route);
  if ('status' in asked) return asked;
  const { pageIndex } = asked;
  const pageSize = Math.min(asked.pageSize, jobListQuirks.pageCap ?? asked.pageSize);
  const jobs = world.jobsInProject(route.param ?? '');
  const page = jobs.slice(pageIndex * pageSize, (pageIndex + 1) * pageSize);
  const total = jobs.length + (jobListQuirks.totalOffset ?? 0);
  if (jobListShape === 'sdk') return respondJson(200, { total, jobs: page.map((job) => describeJob(job, nowMs)) });
  return respondJson(200, { status: 'success', result: { total, job_list: page.map((job) => describeListedJob(job, nowMs)) } });
}

/** The page's query parameters, or the answer to bad ones (page_index 0-based, page_size 1..100, default 10). */
function pageOf(route: Route): { pageIndex: number; pageSize: number } | SimResponse {
  const pageIndex = Number(route.query.get('page_index') ?? '0');
  const pageSize = Number(route.query.get('page_size') ?? '10');
  if (!Number.isInteger(pageIndex) || pageIndex < 0) return respondInvalidParameter('page_index');
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) return respondInvalidParameter('page_size');
  return { pageIndex, pageSize };
}

/**
 * ListJob, `GET /v1/job/list`: every job the caller can see, in creation order, as the SDK's
 * ListJobResponse `{ status, result: { total, job_list: [ListJobResultJobList] } }` (or bare, with
 * numbers as strings). Each job is shown as it was `lag` seconds ago; hidden jobs are left out.
 */
function answerJobListAll(route: Route, { world, nowMs, jobFeed }: RouteContext): SimResponse {
  const down = unavailable(jobFeed.mode);
  if (down) return down;
  const page = pageOf(route);
  if ('status' in page) return page;
  const hidden = new Set(jobFeed.hiddenJobs);
  const jobs = world.allJobs().filter((job) => !hidden.has(job.spec.id));
  const items = jobs.slice(page.pageIndex * page.pageSize, (page.pageIndex + 1) * page.pageSize).map((job) => {
    const lag = jobFeed.jobLagSeconds[job.spec.id] ?? jobFeed.lagSeconds;
    return describeListedJob(job, nowMs - lag * 1000);
  });
  if (jobFeed.shape === 'enveloped') return respondJson(200, { status: 'success', result: { total: jobs.length, job_list: items } });
  const stringly = items.map((item) => ({ ...item, last_build_time: String(item.last_build_time as number) }));
  return respondJson(200, { total: String(jobs.length), job_list: stringly });
}

/** The newest build created by `atMs` (a lagging list looks at an earlier time than now). */
function latestAt(job: JobTimeline, atMs: number): SimBuild | undefined {
  return job
    .visible(atMs)
    .filter((build) => build.createdMs <= atMs)
    .at(-1);
}

/** The SDK's `Job` model, as the job was at `nowMs`. */
function describeJob(job: JobTimeline, nowMs: number): Record<string, unknown> {
  const latest = latestAt(job, nowMs);
  const phase = latest ? classifyPhase(latest, nowMs) : undefined;
  const user = job.profile.userIds[0] ?? '';
  return {
    id: job.spec.id,
    job_name: job.spec.name,
    job_creator: 'sim-user',
    user_name: 'sim-user',
    last_build_time: latest ? latest.createdMs : 0,
    health_score: 80,
    source_code: job.profile.repoName,
    last_build_status: latest ? statusColour(latest, nowMs) : 'none',
    is_finished: phase === undefined || phase === 'finished',
    disabled: false,
    favorite: false,
    is_modify: true,
    is_delete: true,
    is_execute: true,
    is_copy: true,
    is_forbidden: false,
    is_view: true,
    last_build_user: latest ? 'sim-user' : '',
    trigger_type: latest?.trigger.raw ?? '',
    build_time: latest && phase === 'finished' ? latest.finishedMs - latest.startedMs : 0,
    scm_web_url: `https://codehub.example.invalid/${job.profile.repoName}`,
    scm_type: 'codehub',
    repo_id: job.profile.repoId,
    build_project_id: job.profile.buildProjectId,
    last_job_running_status: phase === undefined ? '' : phase === 'finished' ? 'Finished' : 'Running',
    last_build_user_id: latest ? user : '',
  };
}

/** The global job list's `ListJobResultJobList` model, as the job was at `atMs`. */
function describeListedJob(job: JobTimeline, atMs: number): Record<string, unknown> {
  const latest = latestAt(job, atMs);
  const { source_code: _source, ...common } = describeJob(job, atMs);
  return {
    ...common,
    project_id: job.spec.projectId,
    project_name: `project-${job.spec.projectId.slice(0, 8)}`,
    build_number: latest ? String(latest.buildNo) : '',
  };
}

/** The colour vocabulary of job lists (API notes §2.3). */
function statusColour(latest: SimBuild, nowMs: number): string {
  if (classifyPhase(latest, nowMs) !== 'finished') return 'building';
  const colours: Record<string, string> = { success: 'blue', failure: 'red', aborted: 'aborted', timeout: 'timeout', unknown: 'red' };
  return colours[latest.final.result] ?? 'red';
}
