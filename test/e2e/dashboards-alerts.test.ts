/**
 * Issue 4, acceptance 1: the shipped dashboards and alert rules against a real Prometheus.
 *
 * The simulator (realtime, 60x, frequent builds, 429/500 faults for a while, IAM auth, the jobs
 * also discoverable from a project) feeds the built exporter (`node dist/cli.js run`, polling every second); the Debian `prometheus` scrapes it every
 * second with config/alerts.yml loaded. Then every dashboard target expression (variables and
 * Grafana macros substituted with windows that cover the data the test produced), every variable
 * query, every annotation, every alert and recording rule are run through the HTTP API.
 *
 * Issue 15, acceptance 4: two jobs named `backend-ci` in two projects stay separate in every panel.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { findBinary, itWithBinary } from '../helpers/binaries.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';
import { EXPORTER_JOB, PrometheusServer, resultSamples, type QueryResponse, type Sample } from '../helpers/prometheus.js';
import {
  ALERTS_FILE,
  allRules,
  dashboardAnnotations,
  dashboardQueries,
  escapeRegex,
  extractMetricNames,
  extractSelectors,
  loadDashboards,
  ANNOTATION_PROCESS_METRICS,
  PROMETHEUS_SYNTHETIC_METRICS,
  SERIES_ON_FIRST_USE,
  substituteGrafanaMacros,
  variableQueryMetricNames,
  type DashboardQuery,
  type GrafanaVariable,
} from '../helpers/promql.js';

const it = itWithBinary('prometheus');

/** The jobs are listed statically and discovered from these projects too (discovery alerts need its series; the project label). */
const PROJECT_ID = 'e2e0000000000000000000000000000f';
const OTHER_PROJECT_ID = 'e2e000000000000000000000000000ff';
/** IAM auth, so that the token-expiry series the auth alerts read exists. Not a credential. */
const IAM_USER = { domain: 'e2e-domain', user: 'e2e-exporter', password: 'e2e-password-NOT-A-SECRET' };

const JOBS = [
  { id: 'e2e00000000000000000000000000001', name: 'backend-ci' },
  { id: 'e2e00000000000000000000000000002', name: 'frontend-ci' },
  { id: 'e2e00000000000000000000000000003', name: 'nightly' },
  { id: 'e2e00000000000000000000000000004', name: 'release' },
  { id: 'e2e00000000000000000000000000005', name: 'docs-build' },
  // Acceptance 4: the same name as the first job, in another project.
  { id: 'e2e00000000000000000000000000006', name: 'backend-ci', projectId: OTHER_PROJECT_ID },
].map((job) => ({ projectId: PROJECT_ID, ...job, history: 25, buildEverySeconds: 90 }));

/** The two jobs named backend-ci (one per project); the job-detail dashboard's `job_id` variable selects the first. */
const SAME_NAME = 'backend-ci';
const PAIR = JOBS.filter((job) => job.name === SAME_NAME).map((job) => job.id);
const SELECTED_JOB_ID = PAIR[0] ?? '';
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
      jobs: JOBS.map((job) => ({ id: job.id, name: job.name, project: job.projectId })),
      projects: [{ id: PROJECT_ID }, { id: OTHER_PROJECT_ID }],
      server: { host: '127.0.0.1', port: 0 },
      state: { path: join(dir, 'data', 'state.json') },
    });
    ({ process: exporter, url: exporterUrl } = await ExporterProcess.run(config, { IAM_PASSWORD: IAM_USER.password }));
    prometheus = await PrometheusServer.start({ targets: [new URL(exporterUrl).host], ruleFiles: [everySecond(ALERTS_FILE, dir)] });
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
    await p.waitFor(`sum by (job_id) (increase(codearts_build_duration_seconds_count{${job}}[10m]))`, everyJob, 30_000);
    await p.waitFor(`sum by (job_id) (increase(codearts_build_queue_duration_seconds_count{${job}}[10m]))`, everyJob, 30_000);
    await p.waitFor(`sum by (job_id) (increase(codearts_build_triggers_total{${job}}[10m]))`, everyJob, 30_000);
    await p.waitFor('job_name:codearts_no_success_threshold_seconds:config', nonEmpty, 10_000);
    // Series that exist only with IAM auth and with discovery, read by the auth and discovery alerts.
    await p.waitFor(`codearts_exporter_auth_token_expiry_timestamp_seconds{${job}}`, nonEmpty, 10_000);
    await p.waitFor(`sum(codearts_exporter_discovered_jobs{${job}}) == ${JOBS.length}`, nonEmpty, 10_000);
    // The rolling 1-day recording rules have evaluated over the builds (their panels need them).
    await p.waitFor(`sum(job_id:codearts_builds:increase1d{${job}}) > 0`, nonEmpty, 10_000);
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

  /** Grafana's values of the variables: every project (`.*`, the All value), one job of the same-named pair on the job detail. */
  const variables = {
    datasource: 'irrelevant',
    job: escapeRegex(EXPORTER_JOB),
    instance: '.+',
    project: '.*',
    job_id: escapeRegex(SELECTED_JOB_ID),
  };

  async function runPanelQuery(query: DashboardQuery, values: Record<string, string> = variables): Promise<QueryResponse> {
    const expr = substituteGrafanaMacros(query.expr, { variables: values, macros: macrosFor(query) });
    expect(expr).not.toMatch(/\$|\[\[/);
    const now = Date.now() / 1000;
    return query.instant ? server().query(expr, now) : server().queryRange(expr, scrapeStart, now, 1);
  }

  /**
   * What Grafana offers for a query variable: `label_values(metric{...}, label)` (as the query it
   * amounts to), or `query_result(expr)` lines (`{label="value",...} value timestamp`, labels in
   * Prometheus' order) through the variable's regex with its `text`/`value` capture groups.
   */
  async function variableOptions(variable: GrafanaVariable): Promise<Array<{ text: string; value: string }>> {
    const query = typeof variable.query === 'string' ? variable.query : ((variable.query as { query?: string } | undefined)?.query ?? '');
    const labelValues = /^\s*label_values\(\s*(.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(query);
    if (labelValues?.[1] && labelValues[2]) {
      const label = labelValues[2];
      const expr = `group by (${label}) (${substituteGrafanaMacros(labelValues[1], { variables })})`;
      return resultSamples(await server().query(expr)).map((s) => ({ text: s.metric[label] ?? '', value: s.metric[label] ?? '' }));
    }
    const queryResult = /^\s*query_result\((.*)\)\s*$/s.exec(query);
    if (!queryResult?.[1]) throw new Error(`variable ${variable.name}: unsupported query ${query}`);
    const samples = resultSamples(await server().query(substituteGrafanaMacros(queryResult[1], { variables })));
    const source = /^\/(.*)\/([a-z]*)$/s.exec(typeof variable.regex === 'string' ? variable.regex : '');
    if (!source?.[1]) throw new Error(`variable ${variable.name}: query_result needs a /regex/`);
    const regex = new RegExp(source[1], source[2]);
    return samples.flatMap((sample) => {
      const { __name__: name = '', ...labels } = sample.metric;
      const line = `${name}{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')}} ${sample.value?.[1] ?? ''} ${(sample.value?.[0] ?? 0) * 1000}`;
      const groups = regex.exec(line)?.groups;
      return groups ? [{ text: groups.text ?? groups.value ?? '', value: groups.value ?? groups.text ?? '' }] : [];
    });
  }

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
      const response = await runPanelQuery(query);
      const where = `${query.dashboardUid} #${query.panelId} "${query.panelTitle}" ${query.refId}: ${query.expr}`;
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
        const options = await variableOptions(variable);
        const values = options.map((o) => o.value);
        if (values.length === 0) failures.push(`${dashboard.uid} $${variable.name}: no values`);
        if (variable.name === 'job' && !values.includes(EXPORTER_JOB)) failures.push(`$job lacks ${EXPORTER_JOB}: ${values.join(', ')}`);
        if (variable.name === 'project' && !(values.includes(PROJECT_ID) && values.includes(OTHER_PROJECT_ID)))
          failures.push(`$project lacks a project: ${values.join(', ')}`);
        if (variable.name === 'job_id') {
          // Keyed by id, shown by name: both backend-ci jobs are offered, as two entries with the same text.
          const pair = options.filter((o) => o.text === SAME_NAME).map((o) => o.value);
          if (pair.sort().join() !== [...PAIR].sort().join()) failures.push(`$job_id offers ${JSON.stringify(options)}`);
          if (values.length !== JOBS.length) failures.push(`$job_id offers ${values.length} of ${JOBS.length} jobs`);
        }
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

  it('Prometheus evaluates every rule without error and the threshold rule produced a series per job name', async () => {
    // The per-job threshold of CodeArtsNoRecentSuccess is set by job name (one for both backend-ci jobs).
    const names = [...new Set(JOBS.map((j) => j.name))].sort();
    const samples = await server().waitFor(
      'job_name:codearts_no_success_threshold_seconds:config',
      (s) => s.length === names.length,
      10_000,
    );
    expect(samples.map((s) => s.metric.job_name).sort()).toEqual(names);
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

  it('every annotation query evaluates; version changes mark the exporter version that appeared; the series they read exist', async () => {
    const annotations = dashboardAnnotations();
    expect(annotations.length).toBe(3 * loadDashboards().length);
    const failures: string[] = [];
    for (const annotation of annotations) {
      const expr = substituteGrafanaMacros(annotation.expr, { variables });
      const response = await server().queryRange(expr, scrapeStart - 60, Date.now() / 1000, 1);
      const where = `${annotation.dashboardUid} "${annotation.name}": ${expr}`;
      if (response.status !== 'success') failures.push(`${where} -> ${describeAnswer(response)}`);
      if (annotation.name === 'Version changes' && !nonEmpty(resultSamples(response))) failures.push(`${where} -> no version appeared`);
      for (const selector of extractSelectors(expr).filter((sel) => !sel.startsWith('ALERTS'))) {
        if (!nonEmpty(resultSamples(await server().query(selector)))) failures.push(`${where}: ${selector} has no data`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('acceptance 4: the two backend-ci jobs (two projects) stay separate in every panel, each series keyed by job_id', async () => {
    const failures: string[] = [];
    let perJobPanels = 0;
    for (const query of dashboardQueries()) {
      // The job detail with both jobs of the pair selected, every other dashboard as it is.
      const values = query.dashboardUid === 'codearts-build-job-detail' ? { ...variables, job_id: PAIR.join('|') } : variables;
      const samples = resultSamples(await runPanelQuery(query, values));
      const where = `${query.dashboardUid} #${query.panelId} "${query.panelTitle}" ${query.refId}`;
      const named = samples.filter((s) => s.metric.job_name !== undefined);
      for (const sample of named) if (!sample.metric.job_id) failures.push(`${where}: a series with job_name but no job_id`);
      const pairSeries = named.filter((s) => s.metric.job_name === SAME_NAME);
      if (pairSeries.length === 0) continue;
      perJobPanels++;
      // Each series is one job: its project is the job's own (never a mix of the two).
      for (const sample of pairSeries) {
        const job = JOBS.find((j) => j.id === sample.metric.job_id);
        if (!job) failures.push(`${where}: backend-ci series with job_id ${sample.metric.job_id}`);
        else if (sample.metric.project !== undefined && sample.metric.project !== job.projectId)
          failures.push(`${where}: job ${job.id} shown with project ${sample.metric.project}`);
      }
      // Both jobs show up, as separate series, unless the panel keeps only some jobs (top 10 of a filter that one may miss).
      const ids = new Set(pairSeries.map((s) => s.metric.job_id));
      const filtered = /> 0\)?\s*$/.test(query.expr) || /\b(topk|bottomk)\(/.test(query.expr);
      if (!filtered && ids.size !== 2) failures.push(`${where}: shows ${[...ids].join(', ')} of ${PAIR.join(', ')}`);
    }
    expect(perJobPanels).toBeGreaterThan(15);
    expect(failures).toEqual([]);
  });

  it('acceptance 4: the job detail of one backend-ci job counts that job only, not its namesake', async () => {
    const builds = dashboardQueries().find((q) => q.dashboardUid === 'codearts-build-job-detail' && q.panelTitle === 'Builds finished');
    if (!builds) throw new Error('job detail has no "Builds finished" panel');
    const count = async (jobIds: string) => {
      const [sample] = resultSamples(await runPanelQuery(builds, { ...variables, job_id: jobIds }));
      return Number(sample?.value?.[1]);
    };
    const [first, second, both] = [await count(PAIR[0] ?? ''), await count(PAIR[1] ?? ''), await count(PAIR.join('|'))];
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(0);
    // The three instant queries run a few milliseconds apart, over a growing $__range: equal within 1 %.
    expect(Math.abs(first + second - both)).toBeLessThan(both * 0.01);
    expect(first).toBeLessThan(both * 0.99);
    const direct = (id: string) => `sum(increase(codearts_builds_total{job_id="${id}"}[${macrosFor(builds).__range}]))`;
    const [directFirst] = resultSamples(await server().query(direct(PAIR[0] ?? '')));
    expect(Math.abs(Number(directFirst?.value?.[1]) - first)).toBeLessThan(first * 0.01);
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
    for (const annotation of dashboardAnnotations())
      for (const name of extractMetricNames(annotation.expr)) used.set(name, `${annotation.dashboardUid} ${annotation.name}`);
    expect(used.size).toBeGreaterThan(15);
    for (const name of ANNOTATION_PROCESS_METRICS) expect(exposed.has(name), name).toBe(true);
    // Families whose series appear on first use: the family is served (HELP and TYPE), no series yet.
    for (const name of SERIES_ON_FIRST_USE) expect(text).toContain(`# TYPE ${name} counter`);
    const missing = [...used].filter(
      ([name]) =>
        !exposed.has(name) &&
        !PROMETHEUS_SYNTHETIC_METRICS.includes(name) &&
        name !== 'ALERTS' &&
        !recorded.includes(name) &&
        !SERIES_ON_FIRST_USE.includes(name),
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

/**
 * The rule file as Prometheus loads it here: every group evaluated at the global 1 s interval
 * (the shipped rolling 1-day group runs once a minute, longer than this test waits).
 */
function everySecond(file: string, dir: string): string {
  const rules = parseYaml(readFileSync(file, 'utf8')) as { groups: Array<{ interval?: string }> };
  for (const group of rules.groups) delete group.interval;
  const copy = join(dir, 'rules-every-second.yml');
  writeFileSync(copy, stringifyYaml(rules));
  return copy;
}
