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
import { classifyPhase, type JobTimeline } from './timeline.js';
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
const IAM_TOKENS = /^\/v3\/auth\/tokens\/?$/;
const FULL_STAGES = /^\/v1\/record\/([^/]+)\/full-stages\/?$/;
const HISTORY_DETAILS = /^\/v3\/jobs\/([^/]+)\/([^/]+)\/history-details\/?$/;
const LOG_ANALYSIS = /^\/v1\/log\/([^/]+)\/([^/]+)\/analysis\/?$/;

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
  stageUnit?: StageUnit;
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
    case 'full-stages':
      return answerFullStages(route, context);
    case 'history-details':
      return answerHistoryDetails(route, context);
    case 'log-analysis':
      return answerLogAnalysis(route, context);
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

/** ShowRunningStatusResponse: `{ result: ShowRunningStatusResult, error, status }`, or unavailable. */
function answerRunningStatus(route: Route, { world, nowMs, runningStatus }: RouteContext): SimResponse {
  switch (runningStatus) {
    case 'route-not-found':
      return respondUnknownRoute();
    case 'forbidden':
      return respondError(403, 'CB.00060001', 'The user has no permission to view the job');
    case 'server-error':
      return respondError(500, 'CB.00060101', 'Internal server error');
    case 'malformed':
      return respondMalformed();
    case 'ok':
      break;
  }
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
  const pageIndex = Number(route.query.get('page_index') ?? '0');
  const asked = Number(route.query.get('page_size') ?? '10');
  if (!Number.isInteger(pageIndex) || pageIndex < 0) return respondInvalidParameter('page_index');
  if (!Number.isInteger(asked) || asked < 1 || asked > 100) return respondInvalidParameter('page_size');
  const pageSize = Math.min(asked, jobListQuirks.pageCap ?? asked);
  const jobs = world.jobsInProject(route.param ?? '');
  const page = jobs.slice(pageIndex * pageSize, (pageIndex + 1) * pageSize);
  const total = jobs.length + (jobListQuirks.totalOffset ?? 0);
  if (jobListShape === 'sdk') return respondJson(200, { total, jobs: page.map((job) => describeJob(job, nowMs)) });
  return respondJson(200, { status: 'success', result: { total, job_list: page.map((job) => describeListedJob(job, nowMs)) } });
}

/** The SDK's `Job` model. */
function describeJob(job: JobTimeline, nowMs: number): Record<string, unknown> {
  const latest = job.visible(nowMs).at(-1);
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
    last_build_status: latest ? statusColour(job, nowMs) : 'none',
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

/** The global job list's `ListJobResultJobList` model. */
function describeListedJob(job: JobTimeline, nowMs: number): Record<string, unknown> {
  const latest = job.visible(nowMs).at(-1);
  const { source_code: _source, ...common } = describeJob(job, nowMs);
  return {
    ...common,
    project_id: job.spec.projectId,
    project_name: 'simulated-project',
    build_number: latest ? String(latest.buildNo) : '',
  };
}

/** The colour vocabulary of job lists (API notes §2.3). */
function statusColour(job: JobTimeline, nowMs: number): string {
  const latest = job.visible(nowMs).at(-1);
  if (!latest) return 'none';
  if (classifyPhase(latest, nowMs) !== 'finished') return 'building';
  const colours: Record<string, string> = { success: 'blue', failure: 'red', aborted: 'aborted', timeout: 'timeout', unknown: 'red' };
  return colours[latest.final.result] ?? 'red';
}
