import { describe, expect, it } from 'vitest';
import { InvalidRecordError } from '../../src/codearts/record.js';
import { emptyCounters } from '../../src/domain/counters.js';
import { emptyJobState } from '../../src/domain/job.js';
import { createLogger } from '../../src/log/logger.js';
import { BuildMetrics } from '../../src/metrics/build-metrics.js';
import { SelfMetrics } from '../../src/metrics/self-metrics.js';
import { createReporter, type ExporterEvent } from '../../src/wiring/report.js';
import { parseExposition, partsText, select, valueOf } from '../helpers/exposition.js';

/** What each event becomes (src/wiring/report.ts): self-metrics, the build metrics' view and log lines with an `event` field. */
const JOB = { id: 'e0000000000000000000000000000001', name: 'reported' };
const LAYOUT = { recordLabels: [], durationBuckets: [60], queueBuckets: [60] };

function reporter() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('debug', { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const self = new SelfMetrics('test');
  const metrics = new BuildMetrics({ ...LAYOUT, jobHistograms: true });
  const events = createReporter({ logger, self, metrics, endpoint: 'https://codearts.example.invalid' });
  const emit = (...list: ExporterEvent[]) => list.forEach((event) => events.emit(event));
  const scrape = async () => parseExposition(partsText(metrics.parts()) + partsText(await self.parts()));
  return { lines, emit, scrape };
}

describe('reporting the change feed', () => {
  it('an unavailable list warns once, then debug; an answer again is info; skipped jobs and safety-probe builds are counted', async () => {
    const { lines, emit, scrape } = reporter();
    const down = { type: 'change_feed' as const, available: false as const, reason: '404 APIGW.0101', retryInSeconds: 300 };
    emit({ ...down, first: true }, { ...down, first: false, retryInSeconds: 600 });
    expect(valueOf(await scrape(), 'codearts_exporter_change_feed_available')).toBe(0);
    emit({ type: 'change_feed', available: true, recovered: true, pages: 2, listed: 150, total: 150 });
    emit({ type: 'change_feed', available: true, recovered: false, pages: 2, listed: 149, total: 150, incomplete: 'page 1 was empty' });
    emit({ type: 'safety_probe_found', job: JOB, builds: [7, 8], listed: 6 });
    emit({ type: 'job_project', job: JOB, project: { id: 'p1', name: 'shop' }, previous: undefined });
    const summary = { outcome: 'success' as const, jobsReached: 3, jobsFailed: 0, jobsSkipped: 2, buildsCounted: 0, seconds: 0.1 };
    emit({ type: 'cycle_finished', summary, aborted: false });
    const samples = await scrape();
    expect(valueOf(samples, 'codearts_exporter_change_feed_available')).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_change_feed_skipped_jobs')).toBe(2);
    expect(valueOf(samples, 'codearts_exporter_safety_probe_builds_total')).toBe(2);
    expect(lines.map((line) => [line.event, line.level])).toEqual([
      ['change_feed', 'warn'],
      ['change_feed', 'debug'],
      ['change_feed', 'info'],
      ['change_feed', 'warn'],
      ['safety_probe_found', 'info'],
      ['job_project', 'debug'],
      ['cycle_finished', 'info'],
    ]);
    expect(lines[4]).toMatchObject({ job_id: JOB.id, builds: [7, 8], listed: 6 });
    expect(lines[5]).toMatchObject({ project_id: 'p1', project_name: 'shop' });
    expect(lines[6]).toMatchObject({ jobs_skipped: 2 });
  });
});

describe('reporting', () => {
  it('a job added, committed, renamed and expired: its series follow, and so do the log lines', async () => {
    const { lines, emit, scrape } = reporter();
    const stored = { version: 1, state: { ...emptyJobState(), cursor: 5 }, counters: emptyCounters() };
    emit({ type: 'job_added', job: JOB, stored, reason: 'new' }, { type: 'job_reached', job: JOB, at: 1000 });
    let samples = await scrape();
    expect(valueOf(samples, 'codearts_build_last_number', { job_id: JOB.id, job_name: 'reported' })).toBe(5);
    expect(valueOf(samples, 'codearts_exporter_last_successful_poll_timestamp_seconds', { job_id: JOB.id })).toBe(1000);
    const renamed = { ...JOB, name: 'renamed', lastReachedAt: 1000 };
    emit({ type: 'job_renamed', job: renamed, oldName: 'reported' });
    samples = await scrape();
    expect(select(samples, 'codearts_builds_total', { job_name: 'reported' })).toEqual([]);
    expect(select(samples, 'codearts_builds_total', { job_name: 'renamed' })).toHaveLength(5);
    expect(valueOf(samples, 'codearts_exporter_last_successful_poll_timestamp_seconds', { job_name: 'renamed' })).toBe(1000);
    emit({ type: 'job_left', job: renamed });
    expect(select(await scrape(), 'codearts_exporter_last_successful_poll_timestamp_seconds', { job_id: JOB.id })).toEqual([]);
    emit({ type: 'job_expired', job: renamed });
    expect(select(await scrape(), 'codearts_builds_total', { job_id: JOB.id })).toEqual([]);
    expect(lines.map((line) => line.event)).toEqual(['job_added', 'job_renamed', 'job_left']);
  });

  it('findings count in self-metrics and log once each; an unknown status is logged once per value', async () => {
    const { lines, emit, scrape } = reporter();
    emit({ type: 'job_added', job: JOB, stored: undefined, reason: 'start' });
    const findings = {
      invalid: [new InvalidRecordError(JOB.id, 7, ['status: required'])],
      implausible: [{ buildNo: 8, problems: ['duration: implausible value -1s'] }],
      vanished: [9],
      dropped: [10],
      abandoned: [{ buildNo: 11, reason: 'still_in_progress' as const, ageSeconds: 200_000.4 }],
      unknownStatus: [{ buildNo: 12, status: 'LIMBO', finished: false }],
      gapsSkipped: [{ from: 13, to: 15 }],
    };
    emit({ type: 'job_findings', job: JOB, findings }, { type: 'job_findings', job: JOB, findings });
    const samples = await scrape();
    expect(valueOf(samples, 'codearts_exporter_invalid_records_total', { job_id: JOB.id })).toBe(4);
    expect(valueOf(samples, 'codearts_exporter_vanished_builds_total', { job_id: JOB.id })).toBe(2);
    expect(valueOf(samples, 'codearts_exporter_abandoned_builds_total', { job_id: JOB.id, reason: 'still_in_progress' })).toBe(2);
    const events = lines.map((line) => line.event);
    for (const event of ['invalid_record', 'implausible_record', 'vanished_build', 'dropped_number', 'abandoned_build', 'gap_skipped']) {
      expect(
        events.filter((e) => e === event),
        event,
      ).toHaveLength(2);
    }
    expect(events.filter((e) => e === 'unknown_status')).toHaveLength(1);
    expect(lines.find((line) => line.event === 'abandoned_build')).toMatchObject({
      job_id: JOB.id,
      job_name: 'reported',
      build_no: 11,
      age_seconds: 200_000,
    });
    expect(lines.find((line) => line.event === 'gap_skipped')).toMatchObject({ from: 13, to: 15, count: 3 });
  });

  it('a cycle cut short by shutdown is logged but does not count as a cycle', async () => {
    const { lines, emit, scrape } = reporter();
    const summary = { outcome: 'partial' as const, jobsReached: 1, jobsFailed: 1, jobsSkipped: 0, buildsCounted: 3, seconds: 1.23456 };
    emit({ type: 'cycle_finished', summary, aborted: true });
    expect(valueOf(await scrape(), 'codearts_exporter_polls_total', { outcome: 'partial' })).toBe(0);
    emit({ type: 'cycle_finished', summary, aborted: false });
    const samples = await scrape();
    expect(valueOf(samples, 'codearts_exporter_polls_total', { outcome: 'partial' })).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
    expect(lines.at(-1)).toMatchObject({ event: 'cycle_finished', msg: 'poll cycle finished', builds_counted: 3, seconds: 1.235 });
  });

  it('the client, the store and discovery report into self-metrics', async () => {
    const { lines, emit, scrape } = reporter();
    const iam = { endpoint: 'https://iam.example.invalid/v3/auth/tokens', user: 'u', domain: 'd' };
    emit(
      { type: 'api_request', route: 'record-info', code: '200', seconds: 0.02 },
      { type: 'api_retry', route: 'record-info', reason: 'throttled', attempt: 1 },
      { type: 'circuit', state: 'open', failures: 10, lastError: 'timeout' },
      { type: 'iam_token', outcome: 'success', iam, expiresAt: 1_900_000_000_000 },
      { type: 'state_save_failed', path: '/data/state.json', error: new Error('EACCES') },
      { type: 'project_listed', projectId: 'p', jobs: 3, incomplete: { listed: 3, total: 5, reason: 'page 1 was empty' } },
      { type: 'running_status', available: false, jobId: JOB.id, reason: 'HTTP 403', retryInSeconds: 600, first: true },
    );
    const samples = await scrape();
    expect(valueOf(samples, 'codearts_exporter_api_requests_total', { endpoint: 'record-info', code: '200' })).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_api_retries_total', { endpoint: 'record-info', reason: 'throttled' })).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_circuit_open')).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_auth_refreshes_total', { outcome: 'success' })).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_auth_token_expiry_timestamp_seconds')).toBe(1_900_000_000);
    expect(valueOf(samples, 'codearts_exporter_state_save_errors_total')).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_discovered_jobs', { project_id: 'p' })).toBe(3);
    expect(valueOf(samples, 'codearts_exporter_discovery_errors_total', { project_id: 'p' })).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_running_status_available')).toBe(0);
    expect(lines.map((line) => [line.event, line.level])).toEqual([
      ['circuit', 'error'],
      ['iam_token', 'info'],
      ['state_save_failed', 'error'],
      ['project_incomplete', 'warn'],
      ['running_status', 'warn'],
    ]);
  });
});
