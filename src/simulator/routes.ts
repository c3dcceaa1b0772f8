import { renderRecord, showStatus } from './record.js';
import {
  respondInvalidParameter,
  respondNotFound,
  respondSuccess,
  respondUnknownRoute,
  type SimResponse,
} from './responses.js';
import { classifyPhase } from './timeline.js';
import type { Endpoint } from './types.js';
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
  runningStatus: boolean;
}

/** The normal (unfaulted, authorised) answer to a GET route. IAM is handled separately. */
export function answerRoute(route: Route, context: RouteContext): SimResponse {
  switch (route.endpoint) {
    case 'record-info-v4':
    case 'record-info-v1':
      return answerRecordInfo(route, context);
    case 'running-status':
      return context.runningStatus ? answerRunningStatus(route, context) : respondUnknownRoute();
    case 'job-list':
      return answerJobList(route, context);
    default:
      return respondUnknownRoute();
  }
}

function answerRecordInfo(route: Route, { world, nowMs }: RouteContext): SimResponse {
  if (route.buildNo === undefined) return respondInvalidParameter(`build_no '${route.param ?? ''}'`);
  const job = world.job(route.jobId ?? '');
  if (!job) return respondNotFound('422-devcb');
  const build = job.find(route.buildNo, nowMs);
  return build ? respondSuccess(renderRecord(job, build, nowMs)) : respondNotFound(job.spec.notFound);
}

function answerRunningStatus(route: Route, { world, nowMs }: RouteContext): SimResponse {
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

function answerJobList(route: Route, { world, nowMs }: RouteContext): SimResponse {
  const pageIndex = Number(route.query.get('page_index') ?? '0');
  const pageSize = Number(route.query.get('page_size') ?? '10');
  if (!Number.isInteger(pageIndex) || pageIndex < 0) return respondInvalidParameter('page_index');
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) return respondInvalidParameter('page_size');
  const jobs = world.jobsInProject(route.param ?? '');
  const page = jobs.slice(pageIndex * pageSize, (pageIndex + 1) * pageSize);
  return respondSuccess({
    total: jobs.length,
    job_list: page.map((job) => {
      const latest = job.visible(nowMs).at(-1);
      return {
        id: job.spec.id,
        job_name: job.spec.name,
        project_id: job.spec.projectId,
        project_name: 'simulated-project',
        build_project_id: job.profile.buildProjectId,
        build_number: latest ? String(latest.buildNo) : '',
        last_build_status: latest ? showStatus(latest, nowMs) : '',
        last_build_time: latest ? latest.createdMs : 0,
        is_finished: latest ? classifyPhase(latest, nowMs) === 'finished' : true,
        disabled: false,
      };
    }),
  });
}
