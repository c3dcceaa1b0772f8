import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ABANDON_REASONS } from '../domain/job.js';
import { trackChanges } from './change-tracking.js';
import type { ExpositionFormat } from './exposition.js';
import { textPart, type ExpositionPart } from './exposition-part.js';
import { JobFamily } from './job-family.js';
import { registryToOpenMetrics } from './openmetrics.js';

const AUTH_TOKEN_EXPIRY = 'codearts_exporter_auth_token_expiry_timestamp_seconds';

/**
 * The exporter's own series (prefix `codearts_exporter_`), plus Node's process metrics. The two
 * per-job families are rendered by hand (see JobFamily); everything else is prom-client.
 *
 * `version` grows when a series changes that a cached `/metrics` body must not hide: everything
 * set once per cycle or less often (up, polls, skipped polls, durations, discovery, auth, state
 * errors, the per-job families). It does not follow the series that change with every request or
 * all the time (api_requests_total, the request duration histogram, api_retries_total, process
 * and Node.js metrics): a cached body shows those as of its render, at most the cache's maximum
 * age ago.
 */
export class SelfMetrics {
  readonly registry = new Registry();
  private readonly registers = [this.registry];
  private trackedChanges = 0;
  /** The registry's text of the last parts(), with the tracked version and time it was collected at; its OpenMetrics once asked for. */
  private registryText: { part: ExpositionPart; version: number; collectedAt: number; openmetrics?: ExpositionPart } | undefined;
  /** Counts the changes of a metric whose changes a cached body must show. */
  private readonly tracked = <M extends object>(metric: M): M => trackChanges(metric, () => (this.trackedChanges += 1));
  readonly up = this.tracked(
    new Gauge({
      name: 'codearts_exporter_up',
      help: '1 when the last poll cycle reached CodeArts for every job, else 0.',
      registers: this.registers,
    }),
  );
  readonly lastSuccessfulPoll = new JobFamily(
    'codearts_exporter_last_successful_poll_timestamp_seconds',
    'gauge',
    'Time of the last poll cycle that reached CodeArts for this job (Unix seconds).',
  );
  readonly pollDuration = this.tracked(
    new Gauge({
      name: 'codearts_exporter_poll_duration_seconds',
      help: 'Wall time of the last poll cycle in seconds.',
      registers: this.registers,
    }),
  );
  readonly polls = this.tracked(
    new Counter({
      name: 'codearts_exporter_polls_total',
      help: 'Poll cycles completed, by outcome: success (every job reached), partial, failure (no job reached).',
      labelNames: ['outcome'] as const,
      registers: this.registers,
    }),
  );
  readonly skippedPolls = this.tracked(
    new Counter({
      name: 'codearts_exporter_skipped_polls_total',
      help: 'Scheduled poll ticks skipped because the previous cycle was still running.',
      registers: this.registers,
    }),
  );
  readonly apiRequests = new Counter({
    name: 'codearts_exporter_api_requests_total',
    help: 'HTTP requests sent to CodeArts and IAM, retries included, by endpoint and HTTP status (or timeout/network).',
    labelNames: ['endpoint', 'code'] as const,
    registers: this.registers,
  });
  readonly apiRequestDuration = new Histogram({
    name: 'codearts_exporter_api_request_duration_seconds',
    help: 'Duration of HTTP requests to CodeArts and IAM in seconds.',
    labelNames: ['endpoint'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: this.registers,
  });
  readonly apiRetries = new Counter({
    name: 'codearts_exporter_api_retries_total',
    help: 'Retries of failed CodeArts requests, by endpoint and reason.',
    labelNames: ['endpoint', 'reason'] as const,
    registers: this.registers,
  });
  readonly invalidRecords = new JobFamily(
    'codearts_exporter_invalid_records_total',
    'counter',
    'Build records that failed validation or carried implausible times.',
  );
  readonly vanishedBuilds = new JobFamily(
    'codearts_exporter_vanished_builds_total',
    'counter',
    'Pending builds dropped because CodeArts said on two cycles in a row that they no longer exist.',
  );
  // Rare: created on the first build given up, not pre-set for every job and reason.
  readonly abandonedBuilds = this.tracked(
    new Counter({
      name: 'codearts_exporter_abandoned_builds_total',
      help: 'Pending builds given up after poll.max_pending_age, by reason (unknown_status, still_in_progress, invalid_record); never counted as builds.',
      labelNames: ['job_id', 'job_name', 'reason'] as const,
      registers: this.registers,
    }),
  );
  readonly detailMissing = this.tracked(
    new Counter({
      name: 'codearts_exporter_detail_missing_total',
      help: 'Counted builds whose details (kind: steps) were given up: not found, or still failing after metrics.details_retry_for.',
      labelNames: ['kind'] as const,
      registers: this.registers,
    }),
  );
  readonly runningStatusAvailable = this.tracked(
    new Gauge({
      name: 'codearts_exporter_running_status_available',
      help: '1 while GET running-status answers (gap checks use it), 0 while it is not asked after repeated failures.',
      registers: this.registers,
    }),
  );
  readonly changeFeedAvailable = this.tracked(
    new Gauge({
      name: 'codearts_exporter_change_feed_available',
      help: '1 while the global job list (GET /v1/job/list, poll.change_feed: auto) answers, 0 while every job is probed instead.',
      registers: this.registers,
    }),
  );
  readonly changeFeedSkippedJobs = this.tracked(
    new Gauge({
      name: 'codearts_exporter_change_feed_skipped_jobs',
      help: 'Jobs the last poll cycle did not probe because the global job list showed nothing new for them.',
      registers: this.registers,
    }),
  );
  readonly safetyProbeBuilds = this.tracked(
    new Counter({
      name: 'codearts_exporter_safety_probe_builds_total',
      help: "Builds first seen by a listed job's periodic full probe, beyond the newest build the job list showed (a lagging or incomplete list).",
      registers: this.registers,
    }),
  );
  readonly stateSaveErrors = this.tracked(
    new Counter({
      name: 'codearts_exporter_state_save_errors_total',
      help: 'Failed attempts to save the state file.',
      registers: this.registers,
    }),
  );
  readonly leaseConflicts = this.tracked(
    new Counter({
      name: 'codearts_exporter_lease_conflicts_total',
      help: 'Redis backend: jobs or commits this replica was refused, by reason (busy: another replica polls it; fenced, lost: its lease lapsed; stale: committed meanwhile).',
      labelNames: ['reason'] as const,
      registers: this.registers,
    }),
  );
  readonly stateBackendUp = this.tracked(
    new Gauge({
      name: 'codearts_exporter_state_backend_up',
      help: 'Redis backend: 1 while Redis is reachable, 0 while not (polling pauses).',
      registers: this.registers,
    }),
  );
  readonly discoveredJobs = this.tracked(
    new Gauge({
      name: 'codearts_exporter_discovered_jobs',
      help: 'Build jobs discovered in a CodeArts project after include/exclude filters (last known set on errors).',
      labelNames: ['project_id'] as const,
      registers: this.registers,
    }),
  );
  readonly discoveryErrors = this.tracked(
    new Counter({
      name: 'codearts_exporter_discovery_errors_total',
      help: 'Failed job listings of a CodeArts project.',
      labelNames: ['project_id'] as const,
      registers: this.registers,
    }),
  );
  readonly buildInfo = this.tracked(
    new Gauge({
      name: 'codearts_exporter_build_info',
      help: 'Version of the exporter; always 1.',
      labelNames: ['version'] as const,
      registers: this.registers,
    }),
  );
  readonly authRefreshes = this.tracked(
    new Counter({
      name: 'codearts_exporter_auth_refreshes_total',
      help: 'IAM token requests by outcome (success, failure), and 401s from CodeArts answered without a new token because one would not help yet (rejected); stays 0 with a static token or AK/SK signing.',
      labelNames: ['outcome'] as const,
      registers: this.registers,
    }),
  );
  readonly circuitOpen = this.tracked(
    new Gauge({
      name: 'codearts_exporter_circuit_open',
      help: '1 while the circuit breaker is open or probing (CodeArts unreachable: calls fail without being sent), 0 when closed.',
      registers: this.registers,
    }),
  );
  // Registered on the first token: an unset gauge would read 0, an expiry in 1970.
  private readonly authTokenExpiry = this.tracked(
    new Gauge({
      name: AUTH_TOKEN_EXPIRY,
      help: 'Expiry of the current IAM token (Unix seconds); absent with a static token or AK/SK signing.',
      registers: [],
    }),
  );

  constructor(version: string) {
    for (const outcome of ['success', 'partial', 'failure']) this.polls.inc({ outcome }, 0);
    for (const outcome of ['success', 'failure', 'rejected']) this.authRefreshes.inc({ outcome }, 0);
    this.runningStatusAvailable.set(1);
    this.circuitOpen.set(0);
    this.buildInfo.set({ version }, 1);
    collectDefaultMetrics({ register: this.registry });
  }

  /** See the class comment: equal versions mean equal text, except for the untracked series. */
  get version(): number {
    return this.trackedChanges + this.lastSuccessfulPoll.version + this.invalidRecords.version + this.vanishedBuilds.version;
  }

  /**
   * The same text as parts: the per-job families (cached while unchanged) and the registry's text,
   * collected again when a tracked series changed or the last collection is `maxAgeMs` old (0:
   * always). Collecting runs every default metric's collector (process, memory, event loop lag),
   * which is not worth doing again for a scrape that follows a commit of build metrics alone.
   */
  async parts(maxAgeMs = 0, format: ExpositionFormat = 'text'): Promise<ExpositionPart[]> {
    let cached = this.registryText;
    const version = this.trackedChanges;
    const now = performance.now();
    if (cached?.version !== version || now - cached.collectedAt >= maxAgeMs) {
      cached = { part: textPart(await this.registry.metrics()), version, collectedAt: now };
      this.registryText = cached;
    }
    let registry = cached.part;
    if (format === 'openmetrics') {
      cached.openmetrics ??= textPart(registryToOpenMetrics(cached.part.text()));
      registry = cached.openmetrics;
    }
    return [...this.lastSuccessfulPoll.parts(format), ...this.invalidRecords.parts(format), ...this.vanishedBuilds.parts(format), registry];
  }

  setAuthTokenExpiry(unixSeconds: number): void {
    if (!this.registry.getSingleMetric(AUTH_TOKEN_EXPIRY)) {
      this.registry.registerMetric(this.authTokenExpiry);
      this.trackedChanges += 1;
    }
    this.authTokenExpiry.set(unixSeconds);
  }

  /** Creates a project's discovery series at zero. */
  addProject(projectId: string): void {
    this.discoveryErrors.inc({ project_id: projectId }, 0);
  }

  /** Creates the per-job series at zero so `increase()` sees their first change. */
  addJob(jobId: string, jobName: string): void {
    this.invalidRecords.inc({ job_id: jobId, job_name: jobName }, 0);
    this.vanishedBuilds.inc({ job_id: jobId, job_name: jobName }, 0);
  }

  removeJob(jobId: string, jobName: string): void {
    this.invalidRecords.remove({ job_id: jobId, job_name: jobName });
    this.vanishedBuilds.remove({ job_id: jobId, job_name: jobName });
    for (const reason of ABANDON_REASONS) this.abandonedBuilds.remove({ job_id: jobId, job_name: jobName, reason });
    this.lastSuccessfulPoll.remove({ job_id: jobId, job_name: jobName });
  }
}
