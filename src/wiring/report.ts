import type { CodeArtsEvent } from '../codearts/events.js';
import type { JobRef } from '../domain/job.js';
import type { Logger } from '../log/logger.js';
import type { BuildMetrics } from '../metrics/build-metrics.js';
import type { SelfMetrics } from '../metrics/self-metrics.js';
import type { PollerEvent } from '../poller/events.js';
import type { StoreEvent } from '../state/store.js';
import type { Events } from '../support/events.js';

/** Every event any part reports. */
export type ExporterEvent = CodeArtsEvent | PollerEvent | StoreEvent;

type Handlers = { [K in ExporterEvent['type']]: (event: Extract<ExporterEvent, { type: K }>) => void };

export interface ReportTargets {
  logger: Logger;
  self: SelfMetrics;
  metrics: BuildMetrics;
  /** `codearts.endpoint`, named in circuit-breaker log lines. */
  endpoint: string;
}

/**
 * What each event becomes: self-metrics, the build metrics' view of a job, and log lines. Every
 * log line written for an event carries `event` (the event type, or a finer one such as
 * `invalid_record`), so tools and tests match structured fields, not message text.
 */
export function createReporter(targets: ReportTargets): Events<ExporterEvent> {
  const handlers: Handlers = {
    ...clientHandlers(targets),
    ...jobSetHandlers(targets),
    ...jobHandlers(targets),
    ...cycleHandlers(targets),
    ...feedHandlers(targets),
    ...discoveryAndStoreHandlers(targets),
  };
  return {
    emit: (event) => {
      (handlers[event.type] as (event: ExporterEvent) => void)(event);
    },
  };
}

const labelsOf = (job: JobRef) => ({ job_id: job.id, job_name: job.name });

function clientHandlers({ logger, self, endpoint }: ReportTargets): Pick<Handlers, CodeArtsEvent['type']> {
  const iamLog = logger.child({ component: 'iam-auth' });
  return {
    api_request: ({ route, code, seconds }) => {
      self.apiRequests.inc({ endpoint: route, code });
      self.apiRequestDuration.observe({ endpoint: route }, seconds);
    },
    api_retry: ({ route, reason }) => self.apiRetries.inc({ endpoint: route, reason }),
    circuit: ({ state, failures, lastError }) => {
      self.circuitOpen.set(state === 'closed' ? 0 : 1);
      const fields = { event: 'circuit', circuit: state };
      if (state === 'open') {
        logger.error(
          { ...fields, failures, err: lastError, endpoint },
          'CodeArts unreachable: circuit open; calls fail without being sent until the next cycle probes',
        );
      } else if (state === 'closed') {
        logger.info({ ...fields, endpoint }, 'CodeArts reachable again: circuit closed');
      } else {
        logger.debug(fields, 'circuit half-open: the next call probes CodeArts');
      }
    },
    iam_token_requested: ({ iam }) => iamLog.debug({ event: 'iam_token_requested', ...iam }, 'requesting iam token'),
    iam_token: (event) => {
      self.authRefreshes.inc({ outcome: event.outcome });
      const fields = { event: 'iam_token', outcome: event.outcome, ...event.iam };
      if (event.outcome === 'success') {
        self.setAuthTokenExpiry(event.expiresAt / 1000);
        iamLog.info({ ...fields, expires_at: new Date(event.expiresAt).toISOString() }, 'iam token obtained');
      } else if (event.outcome === 'failure') {
        iamLog.warn({ ...fields, err: event.error.message, retry_in_ms: event.retryInMs }, 'iam token request failed');
      }
    },
  };
}

type JobSetEvents = 'job_added' | 'job_renamed' | 'job_left' | 'job_expired' | 'job_committed' | 'job_reached';

/** The job set's changes: which series exist, under which name, showing what the store holds. */
function jobSetHandlers({ logger, self, metrics }: ReportTargets): Pick<Handlers, JobSetEvents> {
  const showReached = (job: JobRef & { lastReachedAt?: number }) => {
    if (job.lastReachedAt !== undefined) self.lastSuccessfulPoll.set(labelsOf(job), job.lastReachedAt);
  };
  return {
    job_added: ({ job, stored, reason }) => {
      metrics.setJob(job);
      self.addJob(job.id, job.name);
      if (stored) metrics.show(job.id, stored);
      showReached(job);
      if (reason === 'new') logger.info({ event: 'job_added', ...labelsOf(job) }, 'job added');
      if (reason === 'back') logger.info({ event: 'job_back', ...labelsOf(job) }, 'job is back; continuing from its saved cursor');
    },
    job_renamed: ({ job, oldName }) => {
      self.removeJob(job.id, oldName);
      logger.info({ event: 'job_renamed', job_id: job.id, old_name: oldName, job_name: job.name, project: job.project }, 'job renamed');
      metrics.setJob(job);
      self.addJob(job.id, job.name);
      showReached(job);
    },
    job_left: ({ job }) => {
      // At once, not after the grace period: a job that is no longer polled must not look stale.
      self.lastSuccessfulPoll.remove(labelsOf(job));
      logger.info({ event: 'job_left', ...labelsOf(job) }, 'job no longer listed; stops being polled');
    },
    job_expired: ({ job }) => {
      metrics.removeJob(job.id);
      self.removeJob(job.id, job.name);
    },
    job_committed: ({ job, stored, counted, queued }) => {
      metrics.show(job.id, stored);
      // The commit's exemplars (OpenMetrics), kept in this process only.
      metrics.observe(job.id, { counted, queued });
      if (!logger.isLevelEnabled('debug')) return;
      for (const build of counted) {
        logger.debug(
          { event: 'build_counted', ...labelsOf(job), build_no: build.buildNo, result: build.result, trigger_type: build.triggerType },
          'build counted',
        );
      }
    },
    job_reached: ({ job, at }) => self.lastSuccessfulPoll.set(labelsOf(job), at),
  };
}

type JobEvents =
  | 'job_findings'
  | 'details_missing'
  | 'job_unreached'
  | 'job_failed'
  | 'start_chosen'
  | 'start_unknown'
  | 'start_confirmed'
  | 'start_found';

/** What one job's cycle met: invalid records, vanished and abandoned builds, failures, its starting point. */
function jobHandlers({ logger, self }: ReportTargets): Pick<Handlers, JobEvents> {
  const unknownStatuses = new Set<string>();
  return {
    job_findings: ({ job, findings }) => {
      const labels = labelsOf(job);
      const invalid = findings.invalid.length + findings.implausible.length;
      if (invalid > 0) self.invalidRecords.inc(labels, invalid);
      if (findings.vanished.length > 0) self.vanishedBuilds.inc(labels, findings.vanished.length);
      for (const { reason } of findings.abandoned) self.abandonedBuilds.inc({ ...labels, reason });
      logFindings(logger, labels, findings, unknownStatuses);
    },
    details_missing: ({ job, missing }) => {
      for (const { buildNo, kind, reason } of missing) {
        self.detailMissing.inc({ kind });
        logger.warn(
          { event: 'details_missing', ...labelsOf(job), build_no: buildNo, kind, reason },
          'build details given up; build counted without them',
        );
      }
    },
    job_unreached: ({ job, errors }) =>
      logger.warn(
        { event: 'job_unreached', ...labelsOf(job), err: errors[0], failures: errors.length },
        'polling job failed; will retry next cycle',
      ),
    job_failed: ({ job, error }) =>
      logger.error({ event: 'job_failed', ...labelsOf(job), err: error }, 'polling job failed; state unchanged, will retry next cycle'),
    start_chosen: ({ job, startAt, cursor }) =>
      logger.info({ event: 'start_chosen', ...labelsOf(job), start_at: startAt, cursor }, 'job starting point chosen'),
    start_unknown: ({ job, error, retryInSeconds, first }) => {
      const fields = { event: 'start_unknown', ...labelsOf(job), retry_in_seconds: retryInSeconds };
      if (first) logger.error(fields, error.message);
      else logger.debug(fields, error.message);
    },
    start_confirmed: ({ job, cursor }) =>
      logger.info({ event: 'start_confirmed', ...labelsOf(job), cursor }, 'job starting point confirmed: its builds are numbered from 1'),
    start_found: ({ job, cursor }) => logger.info({ event: 'start_found', ...labelsOf(job), cursor }, 'job starting point found'),
  };
}

function logFindings(
  logger: Logger,
  labels: { job_id: string; job_name: string },
  findings: Extract<PollerEvent, { type: 'job_findings' }>['findings'],
  unknownStatuses: Set<string>,
): void {
  for (const error of findings.invalid)
    logger.warn(
      { event: 'invalid_record', ...labels, build_no: error.buildNo, issues: error.issues },
      'invalid build record; will fetch it again',
    );
  for (const { buildNo, problems } of findings.implausible) {
    logger.warn(
      { event: 'implausible_record', ...labels, build_no: buildNo, problems },
      'build record has implausible values; counted, not observed',
    );
  }
  for (const buildNo of findings.vanished) {
    logger.warn(
      { event: 'vanished_build', ...labels, build_no: buildNo },
      'pending build no longer exists in CodeArts (not found on two cycles); dropped',
    );
  }
  for (const buildNo of findings.dropped) {
    logger.info(
      { event: 'dropped_number', ...labels, build_no: buildNo },
      'number that answered with an invalid record does not exist; dropped',
    );
  }
  for (const { buildNo, reason, ageSeconds } of findings.abandoned) {
    const fields = { event: 'abandoned_build', ...labels, build_no: buildNo, reason, age_seconds: Math.round(ageSeconds) };
    logger.warn(fields, 'pending build given up after poll.max_pending_age; not counted');
  }
  for (const { buildNo, status, finished } of findings.unknownStatus) {
    const what = finished ? 'counted with result "unknown"' : 'no finish_time: kept pending';
    const key = `${what}\u0000${status}`;
    if (unknownStatuses.has(key)) continue;
    unknownStatuses.add(key);
    logger.warn({ event: 'unknown_status', ...labels, build_no: buildNo, status }, `unknown build status; ${what} (logged once per value)`);
  }
  for (const { from, to } of findings.gapsSkipped)
    logger.info({ event: 'gap_skipped', ...labels, from, to, count: to - from + 1 }, 'build numbers passed over as a gap');
}

type CycleEvents = 'cycle_finished' | 'cycle_skipped' | 'cycle_failed' | 'running_status';
type FeedEvents = 'change_feed' | 'safety_probe_found' | 'job_project';
type DiscoveryAndStoreEvents = Exclude<ExporterEvent['type'], CodeArtsEvent['type'] | JobSetEvents | JobEvents | CycleEvents | FeedEvents>;

/** Cycles and the running-status hint. */
function cycleHandlers({ logger, self }: ReportTargets): Pick<Handlers, CycleEvents> {
  return {
    cycle_finished: ({ summary, aborted }) => {
      if (!aborted) {
        self.up.set(summary.outcome === 'success' ? 1 : 0);
        self.pollDuration.set(summary.seconds);
        self.polls.inc({ outcome: summary.outcome });
        self.changeFeedSkippedJobs.set(summary.jobsSkipped);
      }
      const { outcome, jobsReached, jobsFailed, buildsCounted, jobsSkipped, seconds } = summary;
      const fields = {
        event: 'cycle_finished',
        outcome,
        jobs_reached: jobsReached,
        jobs_failed: jobsFailed,
        jobs_skipped: jobsSkipped,
        builds_counted: buildsCounted,
      };
      logger.info({ ...fields, seconds: Number(seconds.toFixed(3)) }, 'poll cycle finished');
    },
    cycle_skipped: ({ reason }) => {
      self.skippedPolls.inc();
      logger.warn({ event: 'cycle_skipped', reason }, 'poll cycle still running; skipping this tick');
    },
    cycle_failed: ({ error }) => logger.error({ event: 'cycle_failed', err: error }, 'poll cycle failed'),
    running_status: (event) => {
      self.runningStatusAvailable.set(event.available ? 1 : 0);
      if (event.available) {
        if (event.recovered) logger.info({ event: 'running_status' }, 'running-status answers again; gap checks use it');
        return;
      }
      const fields = { event: 'running_status', job_id: event.jobId, reason: event.reason, retry_in_seconds: event.retryInSeconds };
      if (!event.first) logger.debug(fields, 'running-status still unavailable');
      else
        logger.warn(
          fields,
          'running-status unavailable; gap checks look ahead by probing record-info instead (one request per check) until it answers again',
        );
    },
  };
}

/** The change feed: whether the job list answers, what the safety probes found that it did not show, projects. */
function feedHandlers({ logger, self }: ReportTargets): Pick<Handlers, FeedEvents> {
  return {
    change_feed: (event) => {
      self.changeFeedAvailable.set(event.available ? 1 : 0);
      if (event.available) {
        const fields = { event: 'change_feed', pages: event.pages, listed: event.listed, total: event.total };
        if (event.recovered) logger.info(fields, 'job list answers again; jobs are probed when it shows a change');
        if (event.incomplete)
          logger.warn({ ...fields, reason: event.incomplete }, 'job list ended before its total; unlisted jobs are probed');
        return;
      }
      const fields = { event: 'change_feed', reason: event.reason, retry_in_seconds: event.retryInSeconds };
      if (event.first) logger.warn(fields, 'job list (GET /v1/job/list) unavailable; probing every job until it answers again');
      else logger.debug(fields, 'job list still unavailable');
    },
    safety_probe_found: ({ job, builds, listed }) => {
      self.safetyProbeBuilds.inc(builds.length);
      logger.info(
        { event: 'safety_probe_found', ...labelsOf(job), builds, listed },
        'full probe found builds the job list did not show (a lagging list); counted',
      );
    },
    job_project: ({ job, project, previous }) =>
      logger.debug(
        { event: 'job_project', ...labelsOf(job), project_id: project.id, project_name: project.name, previous_project_id: previous?.id },
        "job list names the job's project",
      ),
  };
}

/** Discovery and the store. */
function discoveryAndStoreHandlers({ logger, self }: ReportTargets): Pick<Handlers, DiscoveryAndStoreEvents> {
  return {
    project_listed: ({ projectId, jobs, incomplete }) => {
      self.discoveredJobs.set({ project_id: projectId }, jobs);
      if (!incomplete) return;
      self.discoveryErrors.inc({ project_id: projectId });
      const fields = {
        event: 'project_incomplete',
        project_id: projectId,
        listed: incomplete.listed,
        total: incomplete.total,
        kept_jobs: jobs,
        reason: incomplete.reason,
      };
      logger.warn(fields, 'job list ended before its total; keeping the last known jobs as well');
    },
    project_failed: ({ projectId, keptJobs, error }) => {
      self.discoveredJobs.set({ project_id: projectId }, keptJobs);
      self.discoveryErrors.inc({ project_id: projectId });
      logger.warn(
        { event: 'project_failed', err: error, project_id: projectId, kept_jobs: keptJobs },
        'job discovery failed; keeping the last known jobs',
      );
    },
    state_save_failed: ({ path, error }) => {
      self.stateSaveErrors.inc();
      logger.error({ event: 'state_save_failed', err: error, path }, 'saving state failed; counts wait until it can be saved');
    },
    lease_conflict: ({ reason }) => self.leaseConflicts.inc({ reason }),
    redis_connection: ({ up }) => {
      self.stateBackendUp.set(up ? 1 : 0);
      if (up) logger.info({ event: 'redis_connection', up }, 'Redis reachable; polling resumes from what it holds');
      else logger.error({ event: 'redis_connection', up }, 'Redis unreachable; polling pauses and /readyz answers 503 until it is back');
    },
    counters_reset: ({ families, from, to, jobs }) => {
      const layout = (l: typeof from) => ({
        record_labels: l.recordLabels,
        duration_buckets: l.durationBuckets,
        queue_buckets: l.queueBuckets,
      });
      logger.warn(
        { event: 'counters_reset', families, saved: layout(from), configured: layout(to), jobs },
        'saved counts were kept with other metrics settings (record_labels or buckets); these families start again from zero',
      );
    },
  };
}
