/**
 * Issue 4, acceptance 1: the shipped dashboards and alert rules against a real Prometheus.
 *
 * The simulator (realtime, 60x, frequent builds, 429/500 faults for a while, IAM auth, the jobs
 * also discoverable from a project) feeds the built exporter (`node dist/cli.js run`, polling every second); the Debian `prometheus` scrapes it every
 * second with config/alerts.yml loaded. Then every dashboard target expression (variables and
 * Grafana macros substituted with windows that cover the data the test produced), every variable
 * query, every alert and recording rule are run through the HTTP API.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { findBinary, itWithBinary } from '../helpers/binaries.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';
import { EXPORTER_JOB, PrometheusServer, resultSamples, type QueryResponse, type Sample } from '../helpers/prometheus.js';
import {
  ALERTS_FILE,
  allRules,
  dashboardQueries,
  escapeRegex,
  extractMetricNames,
  extractSelectors,
  loadDashboards,
  PROMETHEUS_SYNTHETIC_METRICS,
  substituteGrafanaMacros,
  variableQueryMetricNames,
  type DashboardQuery,
  type GrafanaVariable,
} from '../helpers/promql.js';

const it = itWithBinary('prometheus');

/** The jobs are listed statically and discovered from this project too (discovery alerts need its series). */
const PROJECT_ID = 'e2e0000000000000000000000000000f';
/** IAM auth, so that the token-expiry series the auth alerts read exists. Not a credential. */
const IAM_USER = { domain: 'e2e-domain', user: 'e2e-exporter', password: 'e2e-password-NOT-A-SECRET' };

const JOBS = [
  { id: 'e2e00000000000000000000000000001', name: 'backend-ci' },
  { id: 'e2e00000000000000000000000000002', name: 'frontend-ci' },
  { id: 'e2e00000000000000000000000000003', name: 'nightly' },
  { id: 'e2e00000000000000000000000000004', name: 'release' },
  { id: 'e2e00000000000000000000000000005', name: 'docs-build' },
].map((job) => ({ ...job, projectId: PROJECT_ID, history: 25, buildEverySeconds: 90 }));

/** The job the job-detail dashboard's `job_name` variable selects. */
const SELECTED_JOB = 'backend-ci';
/** Grafana's $__rate_interval is at least 4 scrape intervals; 1m covers every sample of the test. */
const RATE_INTERVAL = '1m';

const hasFiniteValue = (samples: Sample[]): boolean =>
  samples.some((s) => (s.value ? [s.value] : (s.values ?? [])).some(([, v]) => Number.isFinite(Number(v))));
const nonEmpty = (samples: Sample[]): boolean => samples.length > 0;
const positive = (samples: Sample[]): boolean => samples.some((s) => Number(s.value?.[1]) > 0);

describe('dashboards and alerts against a real Prometheus scraping the exporter', () => {
  let simulator: Simulator | undefined;
  let exporter: ExporterProcess | undefined;
  let exporterUrl = '';
  let prometheus: PrometheusServer | undefined;
  let dir = '';
  /** Unix seconds when Prometheus became ready (no data before). */
  let scrapeStart = 0;
  const checked = { dashboardTargets: 0, variableQueries: 0, alertExprs: 0, recordingExprs: 0, selectors: 0 };

  beforeAll(async () => {
    if (!findBinary('prometheus')) return;
    simulator = await createSimulator({
      seed: 42,
      jobs: JOBS,
      clock: 'realtime',
      speed: 60,
      gapProbability: 0.02,
      auth: { mode: 'iam', tokenLifetimeSeconds: 86_400, users: [IAM_USER] },
    });
    dir = mkdtempSync(join(tmpdir(), 'cbe-e2e-'));
    const config = writeConfig(dir, {
      codearts: {
        endpoint: simulator.url,
        auth: { iam: { endpoint: simulator.url, domain: IAM_USER.domain, user: IAM_USER.user, password: '${IAM_PASSWORD}' } },
        request_timeout: '2s',
        max_requests_per_second: 1000,
        retry: { retries: 3, min_delay: '20ms', max_delay: '200ms' },
      },
      poll: { schedule: '* * * * * *', start_at: 1, discovery_interval: '5s' },
      jobs: JOBS.map((job) => ({ id: job.id, name: job.name })),
      projects: [{ id: PROJECT_ID }],
      metrics: { steps: { enabled: true }, failures: { enabled: true }, recovery: { enabled: true } },
      server: { host: '127.0.0.1', port: 0 },
      state: { path: join(dir, 'data', 'state.json') },
    });
    ({ process: exporter, url: exporterUrl } = await ExporterProcess.run(config, { IAM_PASSWORD: IAM_USER.password }));
    prometheus = await PrometheusServer.start({ targets: [new URL(exporterUrl).host], ruleFiles: [ALERTS_FILE] });
    scrapeStart = Date.now() / 1000;

    const p = prometheus;
    const job = `job="${EXPORTER_JOB}"`;
    await p.waitFor(`up{${job}} == 1`, nonEmpty, 20_000);
    // Throttling and server errors while Prometheus watches, until it has seen both (and retries)
    // increase; then the API recovers.
    simulator.inject('429', { probability: 0.1 });
    simulator.inject('500', { probability: 0.1 });
    await p.waitFor(`sum(increase(codearts_exporter_api_requests_total{${job}, code="429"}[10m]))`, positive, 20_000);
    await p.waitFor(`sum(increase(codearts_exporter_api_requests_total{${job}, code=~"5.."}[10m]))`, positive, 20_000);
    await p.waitFor(`sum(increase(codearts_exporter_api_retries_total{${job}}[10m]))`, positive, 20_000);
    simulator.clearFaults();
    // Builds finished and started while Prometheus watched, for every job (histograms move).
    const everyJob = (samples: Sample[]): boolean => samples.filter((s) => Number(s.value?.[1]) > 0).length === JOBS.length;
    await p.waitFor(`sum by (job_name) (increase(codearts_build_duration_seconds_count{${job}}[10m]))`, everyJob, 30_000);
    await p.waitFor(`sum by (job_name) (increase(codearts_build_queue_duration_seconds_count{${job}}[10m]))`, everyJob, 30_000);
    await p.waitFor(`sum by (job_name) (increase(codearts_build_triggers_total{${job}}[10m]))`, everyJob, 30_000);
    await p.waitFor(`sum by (job_name) (increase(codearts_build_step_duration_seconds_count{${job}}[10m]))`, everyJob, 30_000);
    await p.waitFor(`sum by (job_name) (increase(codearts_build_step_pending_seconds_count{${job}}[10m]))`, everyJob, 30_000);
    await p.waitFor(`sum(increase(codearts_build_failures_total{${job}, job_name="${SELECTED_JOB}"}[10m])) > 0`, positive, 40_000);
    await p.waitFor(`sum(increase(codearts_job_recovery_seconds_count{${job}, job_name="${SELECTED_JOB}"}[10m])) > 0`, positive, 40_000);
    await p.waitFor('job_name:codearts_no_success_threshold_seconds:config', nonEmpty, 10_000);
    // Series that exist only with IAM auth and with discovery, read by the auth and discovery alerts.
    await p.waitFor(`codearts_exporter_auth_token_expiry_timestamp_seconds{${job}}`, nonEmpty, 10_000);
    await p.waitFor(`codearts_exporter_discovered_jobs{${job}, project_id="${PROJECT_ID}"} == ${JOBS.length}`, nonEmpty, 10_000);
  }, 110_000);

  afterAll(async () => {
    console.info(`[e2e] expressions checked: ${JSON.stringify(checked)}`);
    await prometheus?.stop();
    exporter?.kill('SIGKILL');
    await exporter?.exit(5_000);
    await simulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  function server(): PrometheusServer {
    if (!prometheus) throw new Error('prometheus did not start');
    return prometheus;
  }

  /** Grafana's macro values for this run: $__range covers everything Prometheus scraped. */
  function macrosFor(query: Pick<DashboardQuery, 'panelInterval'>): Record<string, string> {
    const rangeSeconds = Math.ceil(Date.now() / 1000 - scrapeStart) + 2;
    // $__interval: the panel's min interval (1h/5m for the per-period bar panels); unused elsewhere.
    const interval = query.panelInterval ?? '15s';
    return {
      __range: `${rangeSeconds}s`,
      __range_s: String(rangeSeconds),
      __range_ms: String(rangeSeconds * 1000),
      __rate_interval: RATE_INTERVAL,
      __interval: interval,
      __interval_ms: String(durationMs(interval)),
    };
  }

  const variables = {
    datasource: 'irrelevant',
    job: escapeRegex(EXPORTER_JOB),
    instance: '.+',
    job_name: escapeRegex(SELECTED_JOB),
  };

  function describeAnswer(response: QueryResponse): string {
    return response.status === 'success' ? JSON.stringify(response.data).slice(0, 300) : `${response.errorType}: ${response.error}`;
  }

  it('the setup produced what the panels need: the target is up and every job built while scraped', async () => {
    const up = await server().query(`up{job="${EXPORTER_JOB}"}`);
    expect(resultSamples(up).map((s) => s.value?.[1])).toEqual(['1']);
  });

  it('every target expr of every dashboard returns data (instant targets as instant queries, the rest as range queries)', async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(40);
    const failures: string[] = [];
    for (const query of queries) {
      expect(query.expr, `${query.dashboardUid} panel ${query.panelId} ${query.refId} has no expr`).not.toBe('');
      const expr = substituteGrafanaMacros(query.expr, { variables, macros: macrosFor(query) });
      expect(expr).not.toMatch(/\$|\[\[/);
      const now = Date.now() / 1000;
      const response = query.instant ? await server().query(expr, now) : await server().queryRange(expr, scrapeStart, now, 1);
      const where = `${query.dashboardUid} #${query.panelId} "${query.panelTitle}" ${query.refId}: ${expr}`;
      if (response.status !== 'success') failures.push(`${where} -> ${describeAnswer(response)}`);
      else if (!hasFiniteValue(resultSamples(response))) failures.push(`${where} -> no data (${describeAnswer(response)})`);
      checked.dashboardTargets++;
      if (process.env.E2E_VERBOSE) console.info(`${where}\n   -> ${describeAnswer(response)}`);
    }
    expect(failures).toEqual([]);
  });

  it('every query variable of every dashboard finds values (label_values as a query)', async () => {
    const failures: string[] = [];
    for (const { dashboard } of loadDashboards()) {
      for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
        const expr = labelValuesQuery(variable, variables);
        const values = resultSamples(await server().query(expr)).map((s) => Object.values(s.metric)[0]);
        if (values.length === 0) failures.push(`${dashboard.uid} $${variable.name}: ${expr} -> no values`);
        if (variable.name === 'job' && !values.includes(EXPORTER_JOB)) failures.push(`$job lacks ${EXPORTER_JOB}: ${values.join(', ')}`);
        if (variable.name === 'job_name' && !values.includes(SELECTED_JOB))
          failures.push(`$job_name lacks ${SELECTED_JOB}: ${values.join(', ')}`);
        checked.variableQueries++;
      }
    }
    expect(failures).toEqual([]);
  });

  it('every alert and recording rule expr evaluates, and every selector in it has data', async () => {
    const rules = allRules();
    expect(rules.filter((r) => r.alert).length).toBeGreaterThanOrEqual(8);
    const failures: string[] = [];
    for (const rule of rules) {
      const name = rule.alert ?? rule.record ?? '?';
      const response = await server().query(rule.expr);
      if (response.status !== 'success') failures.push(`${name}: ${describeAnswer(response)}`);
      if (rule.record) {
        checked.recordingExprs++;
        if (!nonEmpty(resultSamples(response))) failures.push(`recording rule ${name} expr returns nothing`);
      } else {
        checked.alertExprs++;
      }
      // Alerts are filtered by thresholds and normally empty; the series they read must exist.
      for (const selector of extractSelectors(rule.expr)) {
        checked.selectors++;
        try {
          await server().waitFor(selector, nonEmpty, 20_000);
        } catch (error) {
          failures.push(`${name}: selector ${selector}: ${(error as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 60_000);

  it('Prometheus evaluates every rule without error and the recording rule produced a series per job', async () => {
    const samples = await server().waitFor(
      'job_name:codearts_no_success_threshold_seconds:config',
      (s) => s.length === JOBS.length,
      10_000,
    );
    expect(samples.map((s) => s.metric.job_name).sort()).toEqual(JOBS.map((j) => j.name).sort());
    expect(new Set(samples.map((s) => s.value?.[1]))).toEqual(new Set([String(7 * 86400)]));

    const response = await fetch(`${server().url}/api/v1/rules`);
    const body = (await response.json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }> };
    };
    const loaded = body.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(
      allRules()
        .map((r) => r.alert ?? r.record)
        .sort(),
    );
    for (const rule of loaded) {
      expect({ name: rule.name, health: rule.health, lastError: rule.lastError ?? '' }).toEqual({
        name: rule.name,
        health: 'ok',
        lastError: '',
      });
      expect(rule.lastEvaluation).not.toMatch(/^0001-/);
    }
  });

  it("every metric name used by a dashboard or an alert is in the exporter's /metrics (or Prometheus-made)", async () => {
    const text = await (await fetch(`${exporterUrl}/metrics`)).text();
    const exposed = new Set(
      text
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? ''),
    );
    const recorded = allRules().flatMap((r) => (r.record ? [r.record] : []));
    const used = new Map<string, string>();
    for (const query of dashboardQueries())
      for (const name of extractMetricNames(query.expr)) used.set(name, `${query.dashboardUid} #${query.panelId}`);
    for (const { dashboard } of loadDashboards()) {
      for (const variable of dashboard.templating.list)
        for (const name of variableQueryMetricNames(variable)) used.set(name, `${dashboard.uid} $${variable.name}`);
    }
    for (const rule of allRules()) for (const name of extractMetricNames(rule.expr)) used.set(name, rule.alert ?? rule.record ?? '');
    expect(used.size).toBeGreaterThan(15);
    const missing = [...used].filter(
      ([name]) => !exposed.has(name) && !PROMETHEUS_SYNTHETIC_METRICS.includes(name) && !recorded.includes(name),
    );
    expect(missing).toEqual([]);
  });
});

/** Grafana duration (`1h`, `5m`, `15s`) in milliseconds. */
function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`unsupported interval ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** `label_values(metric{...}, label)` as the PromQL query Grafana's variable editor amounts to. */
function labelValuesQuery(variable: GrafanaVariable, values: Record<string, string>): string {
  const query = typeof variable.query === 'string' ? variable.query : ((variable.query as { query?: string } | undefined)?.query ?? '');
  const match = /^\s*label_values\(\s*(.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(query);
  if (!match?.[1] || !match[2]) throw new Error(`variable ${variable.name}: unsupported query ${query}`);
  return `group by (${match[2]}) (${substituteGrafanaMacros(match[1], { variables: values })})`;
}
