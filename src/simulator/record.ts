import { classifyPhase, type JobTimeline, type SimBuild } from './timeline.js';

/** Placeholder tenant values shared by every record; obviously fake. */
const DOMAIN_ID = '0000000000000000000000000000d0a1';
const REGION = 'sim-region-1';

/** ISO-8601 with milliseconds and an explicit offset, e.g. `2026-01-01T08:00:00.000+08:00`. */
export function formatTime(ms: number, offsetMinutes: number): string {
  const shifted = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, -1);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${shifted}${sign}${hh}:${mm}`;
}

/** The raw status a record shows at nowMs. */
export function showStatus(build: SimBuild, nowMs: number): string {
  const phase = classifyPhase(build, nowMs);
  if (phase === 'queued') return build.queuedStatus;
  return phase === 'running' ? build.runningStatus : build.final.raw;
}

/** The build's number of the day (`daily_build_num`, the listing's `daily_build_number`). */
export function dailyBuildNumber(build: SimBuild): string {
  return `${formatTime(build.createdMs, build.offsetMinutes).slice(0, 10).replaceAll('-', '')}.${build.buildNo}`;
}

/** The `result` object of a record-info answer (v4 and v1 share the model), as it looks at nowMs. */
export function renderRecord(job: JobTimeline, build: SimBuild, nowMs: number): Record<string, unknown> {
  const phase = classifyPhase(build, nowMs);
  const time = (ms: number): string => formatTime(ms, build.offsetMinutes);
  const started = phase !== 'queued' && build.neverStarted !== true;
  const finished = phase === 'finished';
  const dispatchedMs = build.createdMs + Math.min(2_000, build.startedMs - build.createdMs);
  const failed = finished && build.final.result === 'failure';

  const result: Record<string, unknown> = {
    id: build.infoId,
    build_project_id: job.profile.buildProjectId,
    build_record_id: build.recordId,
    parent_record_id: null,
    devcloud_project_id: job.spec.projectId,
    codeci_job_id: job.spec.id,
    user_id: build.userId,
    build_no: build.buildNo,
    daily_build_num: dailyBuildNumber(build),
    execution_id: build.executionId,
    repo_name: job.profile.repoName,
    repo_id: job.profile.repoId,
    branch: build.tag === null ? build.branch : null,
    tag: build.tag,
    commit: build.commit,
    commit_message: build.commitMessage,
    commit_create_time: time(build.createdMs - build.runnableLeadMs),
    trigger_type: build.trigger.raw,
    build_type: build.tag === null ? 'branch' : 'tag',
    status: showStatus(build, nowMs),
    domain_id: DOMAIN_ID,
    create_time: time(build.createdMs),
    schedule_time: time(dispatchedMs),
    queued_time: time(dispatchedMs),
    start_time: started ? time(build.startedMs) : null,
    runnable_time: started ? time(build.createdMs - build.runnableLeadMs) : null,
    finish_time: finished ? time(build.finishedMs) : null,
    duration: finished ? build.durationField : build.pendingDuration,
    record_status: null,
    use_private_slave: job.profile.privateSlave,
    region: REGION,
    err_msg: failed ? `build step exited with code ${1 + (build.buildNo % 127)}` : null,
    build_config_type: job.profile.buildConfigType,
  };
  if (build.trigger.raw === undefined) delete result.trigger_type;
  return result;
}
