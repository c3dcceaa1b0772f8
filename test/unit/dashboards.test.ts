import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { itWithBinary } from '../helpers/binaries.js';
import {
  METRIC_CATALOG,
  ANNOTATION_PROCESS_METRICS,
  PROMETHEUS_ALERT_SERIES,
  dashboardAnnotations,
  PROCESS_METRICS,
  PROMETHEUS_SYNTHETIC_METRICS,
  REPO_ROOT,
  allPanels,
  allRules,
  catalogEntryFor,
  dashboardQueries,
  escapeRegex,
  exporterSeriesNames,
  extractMetricNames,
  extractSelectors,
  loadDashboards,
  substituteGrafanaMacros,
  variableQueryMetricNames,
  type GrafanaPanel,
} from '../helpers/promql.js';

const DASHBOARDS = loadDashboards();
const DS_REF = { type: 'prometheus', uid: '${datasource}' };
const EXPECTED_UIDS = ['codearts-build-fleet', 'codearts-build-overview', 'codearts-build-job-detail', 'codearts-exporter-health'];
/** The dashboards of build jobs: a `project` variable, build selectors filtered on it. */
const BUILD_UIDS = ['codearts-build-fleet', 'codearts-build-overview', 'codearts-build-job-detail'];
/** Build series and the recording rules made from them (`job_id:codearts_build…`). */
const isBuildSelector = (selector: string): boolean => /^(job_id:)?codearts_build/.test(selector);
const GRAFANA_MACROS = new Set(['__range', '__range_s', '__range_ms', '__rate_interval', '__interval', '__interval_ms']);

/** Seconds of a Prometheus duration such as 90s, 5m, 1h30m, 1d. */
function durationSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  let rest = text;
  while (rest.length > 0) {
    const match = /^(\d+)(ms|s|m|h|d|w|y)/.exec(rest);
    if (!match) throw new Error(`not a duration: ${text}`);
    total += Number(match[1]) * (units[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return total;
}

function panelsOf(uid: string): GrafanaPanel[] {
  const loaded = DASHBOARDS.find((d) => d.dashboard.uid === uid);
  if (!loaded) throw new Error(`no dashboard ${uid}`);
  return allPanels(loaded.dashboard);
}

const isRow = (panel: GrafanaPanel): boolean => panel.type === 'row';
const where = (uid: string, panel: GrafanaPanel): string => `${uid} panel ${panel.id} "${panel.title}"`;

describe('dashboards: structure', () => {
  it('ships the four dashboards with stable, unique uids and titles', () => {
    const uids = DASHBOARDS.map((d) => d.dashboard.uid);
    expect([...uids].sort()).toEqual([...EXPECTED_UIDS].sort());
    expect(new Set(uids).size).toBe(uids.length);
    const titles = DASHBOARDS.map((d) => d.dashboard.title);
    expect(new Set(titles).size).toBe(titles.length);
    for (const uid of uids) {
      expect(uid.length).toBeGreaterThanOrEqual(8);
      expect(uid.length).toBeLessThanOrEqual(40);
      expect(uid).toMatch(/^[a-zA-Z0-9_-]+$/);
    }
  });

  it('are provisionable files: id null, no __inputs and no ${DS_...} placeholders', () => {
    for (const { file, raw, dashboard } of DASHBOARDS) {
      expect(raw, file).not.toContain('${DS_');
      expect(raw, file).not.toContain('__inputs');
      expect(dashboard.id ?? null, file).toBeNull();
      expect(typeof dashboard.schemaVersion, file).toBe('number');
    }
  });

  it('have a `datasource` variable of type datasource for Prometheus', () => {
    for (const { dashboard } of DASHBOARDS) {
      const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
      expect(variable, dashboard.uid).toBeDefined();
      expect(variable?.type).toBe('datasource');
      expect(variable?.query).toBe('prometheus');
    }
  });

  it('use the datasource variable in every panel, target and query variable', () => {
    for (const { dashboard } of DASHBOARDS) {
      for (const panel of allPanels(dashboard)) {
        if (isRow(panel)) continue;
        expect(panel.datasource, where(dashboard.uid, panel)).toEqual(DS_REF);
        expect(panel.targets?.length ?? 0, where(dashboard.uid, panel)).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expect(target.datasource, `${where(dashboard.uid, panel)} ${target.refId}`).toEqual(DS_REF);
        }
      }
      for (const variable of dashboard.templating.list) {
        if (variable.type === 'query') expect(variable.datasource, `${dashboard.uid} $${variable.name}`).toEqual(DS_REF);
      }
    }
  });

  it('give every panel a title, a description and a unit', () => {
    for (const { dashboard } of DASHBOARDS) {
      for (const panel of allPanels(dashboard)) {
        expect(panel.title?.trim(), where(dashboard.uid, panel)).toBeTruthy();
        if (isRow(panel)) continue;
        expect(panel.description?.trim().length ?? 0, where(dashboard.uid, panel)).toBeGreaterThan(20);
        expect(panel.fieldConfig?.defaults?.unit, where(dashboard.uid, panel)).toMatch(/^\S+$/);
      }
    }
  });

  it('have unique panel ids and gridPos inside 24 columns without overlaps', () => {
    for (const { dashboard } of DASHBOARDS) {
      const panels = allPanels(dashboard);
      const ids = panels.map((p) => p.id);
      expect(
        ids.every((id) => Number.isInteger(id)),
        dashboard.uid,
      ).toBe(true);
      expect(new Set(ids).size, dashboard.uid).toBe(ids.length);
      for (const panel of panels) {
        const pos = panel.gridPos;
        expect(pos, where(dashboard.uid, panel)).toBeDefined();
        if (!pos) continue;
        expect(pos.x, where(dashboard.uid, panel)).toBeGreaterThanOrEqual(0);
        expect(pos.y, where(dashboard.uid, panel)).toBeGreaterThanOrEqual(0);
        expect(pos.w, where(dashboard.uid, panel)).toBeGreaterThanOrEqual(1);
        expect(pos.h, where(dashboard.uid, panel)).toBeGreaterThanOrEqual(1);
        expect(pos.x + pos.w, where(dashboard.uid, panel)).toBeLessThanOrEqual(24);
      }
      for (let i = 0; i < panels.length; i++) {
        for (let j = i + 1; j < panels.length; j++) {
          const a = panels[i]?.gridPos;
          const b = panels[j]?.gridPos;
          if (!a || !b) continue;
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap, `${dashboard.uid}: panels ${panels[i]?.id} and ${panels[j]?.id} overlap`).toBe(false);
        }
      }
    }
  });

  it('give every target an expr and a refId unique within its panel', () => {
    for (const { dashboard } of DASHBOARDS) {
      for (const panel of allPanels(dashboard)) {
        const refIds = (panel.targets ?? []).map((t) => t.refId);
        expect(new Set(refIds).size, where(dashboard.uid, panel)).toBe(refIds.length);
        for (const target of panel.targets ?? []) {
          expect(target.refId, where(dashboard.uid, panel)).toMatch(/^[A-Z]$/);
          expect(target.expr?.trim(), `${where(dashboard.uid, panel)} ${target.refId}`).toBeTruthy();
        }
      }
    }
  });

  it('use only defined variables and Grafana macros in expressions', () => {
    for (const { dashboard } of DASHBOARDS) {
      const defined = new Set(dashboard.templating.list.map((v) => v.name));
      for (const query of dashboardQueries([{ file: '', raw: '', dashboard }])) {
        for (const match of query.expr.matchAll(/\$\{?([a-zA-Z0-9_]+)/g)) {
          const name = match[1] as string;
          expect(defined.has(name) || GRAFANA_MACROS.has(name), `${dashboard.uid} "${query.panelTitle}": $${name}`).toBe(true);
        }
      }
    }
  });

  it('filter every selector on the job and instance variables, build series on the project (and job_id on the job detail)', () => {
    for (const { dashboard } of DASHBOARDS) {
      const has = (name: string) => dashboard.templating.list.some((v) => v.name === name);
      expect(has('project'), dashboard.uid).toBe(BUILD_UIDS.includes(dashboard.uid));
      for (const query of dashboardQueries([{ file: '', raw: '', dashboard }])) {
        for (const selector of extractSelectors(query.expr)) {
          const label = `${dashboard.uid} "${query.panelTitle}" ${query.refId}: ${selector}`;
          expect(selector, label).toContain('job=~"$job"');
          expect(selector, label).toContain('instance=~"$instance"');
          expect(selector, label).not.toContain('$job_name');
          if (has('project') && isBuildSelector(selector)) expect(selector, label).toContain('project=~"$project"');
          if (has('job_id') && isBuildSelector(selector)) expect(selector, label).toContain('job_id=~"$job_id"');
        }
      }
    }
  });

  it('key every per-job aggregation on job_id (names repeat across projects), and show jobs by name', () => {
    for (const query of dashboardQueries(DASHBOARDS)) {
      const label = `${query.dashboardUid} "${query.panelTitle}" ${query.refId}: ${query.expr}`;
      for (const match of query.expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
        const labels = (match[1] as string).split(',').map((l) => l.trim());
        if (labels.includes('job_name')) expect(labels, label).toContain('job_id');
      }
    }
    const legends = DASHBOARDS.flatMap(({ dashboard }) => allPanels(dashboard).flatMap((p) => p.targets ?? []))
      .map((t) => (typeof t.legendFormat === 'string' ? t.legendFormat : ''))
      .filter((l) => l.includes('{{job_'));
    expect(legends.length).toBeGreaterThan(10);
    for (const legend of legends) expect(legend).not.toContain('{{job_id}}');
  });

  it('keep per-job time series readable at 500 jobs: limited to 10 jobs (topk/bottomk) with a table legend', () => {
    for (const { dashboard } of DASHBOARDS) {
      if (dashboard.uid === 'codearts-build-job-detail') continue; // a few jobs picked by hand
      for (const panel of allPanels(dashboard)) {
        if (panel.type !== 'timeseries' && panel.type !== 'bargauge') continue;
        for (const target of panel.targets ?? []) {
          const perJob =
            /by \([^)]*job_id/.test(target.expr ?? '') || (target.expr ?? '').includes('codearts_exporter_last_successful_poll');
          if (!perJob) continue;
          expect(target.expr, where(dashboard.uid, panel)).toMatch(/^(topk|bottomk)\(10, /);
          const legend = (panel.options as { legend?: { displayMode?: string } } | undefined)?.legend;
          if (panel.type === 'timeseries') expect(legend?.displayMode, where(dashboard.uid, panel)).toBe('table');
        }
      }
    }
  });

  it('annotate exporter restarts, version changes and firing alerts on every dashboard', () => {
    for (const { dashboard } of DASHBOARDS) {
      const annotations = dashboardAnnotations([{ file: '', raw: '', dashboard }]);
      expect(annotations.map((a) => a.name).sort(), dashboard.uid).toEqual(['Exporter restarts', 'Firing alerts', 'Version changes']);
      for (const annotation of annotations) {
        const names = extractMetricNames(annotation.expr);
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) {
          expect([...ANNOTATION_PROCESS_METRICS, PROMETHEUS_ALERT_SERIES, 'codearts_exporter_build_info'], annotation.name).toContain(name);
        }
        if (!names.includes(PROMETHEUS_ALERT_SERIES)) expect(annotation.expr).toContain('job=~"$job", instance=~"$instance"');
      }
    }
  });

  it('offer job/instance/job_name variables that match every value and are regex-escaped', () => {
    for (const { dashboard } of DASHBOARDS) {
      for (const variable of dashboard.templating.list) {
        if (variable.type !== 'query') continue;
        // multi or includeAll makes Grafana regex-escape the values, which the =~ matchers need.
        expect(variable.multi === true || variable.includeAll === true, `${dashboard.uid} $${variable.name}`).toBe(true);
        // project: `.*` also matches jobs without a project label (static jobs without `project`).
        if (variable.includeAll)
          expect(variable.allValue, `${dashboard.uid} $${variable.name}`).toBe(variable.name === 'project' ? '.*' : '.+');
      }
    }
    const detail = DASHBOARDS.find((d) => d.dashboard.uid === 'codearts-build-job-detail')?.dashboard;
    // Keyed by job_id, shown by name: query_result with Grafana's text/value capture groups.
    const jobId = detail?.templating.list.find((v) => v.name === 'job_id');
    expect(jobId?.type).toBe('query');
    expect(variableQueryMetricNames(jobId!)).toEqual(['codearts_build_last_number']);
    expect(jobId?.regex).toContain('job_id="(?<value>');
    expect(jobId?.regex).toContain('job_name="(?<text>');
    expect(detail?.templating.list.some((v) => v.name === 'job_name')).toBe(false);
  });

  it('read builds (rare events) over wide windows, and $__interval only with a minimum interval', () => {
    const buildFamilies = METRIC_CATALOG.filter((m) => m.name.startsWith('codearts_build') && m.type !== 'gauge').map((m) => m.name);
    for (const query of dashboardQueries(DASHBOARDS)) {
      const label = `${query.dashboardUid} "${query.panelTitle}" ${query.refId}`;
      const readsBuilds = extractMetricNames(query.expr).some((name) => buildFamilies.some((family) => name.startsWith(family)));
      for (const match of query.expr.matchAll(/\[([^\]]+)\]/g)) {
        const window = (match[1] as string).trim();
        if (window === '$__interval') {
          expect(query.panelInterval, `${label}: $__interval needs a panel min interval`).toBeDefined();
          if (readsBuilds) expect(durationSeconds(query.panelInterval!), label).toBeGreaterThanOrEqual(3600);
        } else if (window === '$__range') {
          // the whole selected time range
        } else if (window === '$__rate_interval') {
          expect(readsBuilds, `${label}: builds are rare, $__rate_interval is too short`).toBe(false);
        } else {
          expect(window, label).toMatch(/^\d+[smhdwy]$/);
          if (readsBuilds) expect(durationSeconds(window), label).toBeGreaterThanOrEqual(3600);
        }
      }
    }
  });

  it('compute time since the last success from the timestamp gauge, in seconds', () => {
    const queries = dashboardQueries(DASHBOARDS).filter((q) => q.expr.includes('codearts_build_last_success_timestamp_seconds'));
    expect(queries.length).toBeGreaterThan(0);
    for (const query of queries) expect(query.expr).toMatch(/time\(\) - \(codearts_build_last_success_timestamp_seconds\{[^}]*\} > 0\)/);
    for (const panel of [...panelsOf('codearts-build-overview'), ...panelsOf('codearts-build-job-detail')]) {
      if (panel.targets?.some((t) => t.expr?.includes('time() -')) && panel.type !== 'table') {
        expect(panel.fieldConfig?.defaults?.unit, panel.title).toBe('s');
      }
    }
  });

  it('build percentiles with histogram_quantile over sum by (le, ...) of the buckets', () => {
    for (const query of dashboardQueries(DASHBOARDS)) {
      if (!query.expr.includes('histogram_quantile')) continue;
      expect(query.expr, query.panelTitle).toMatch(
        /histogram_quantile\(0\.\d+, sum by \(le(, [a-z_]+)*\) \(((increase|rate)\([a-z_]+_bucket\{|job_id:[a-z_]+_bucket:increase1d\{)/,
      );
    }
  });
});

describe('dashboards: panels per issue 4', () => {
  const titles = (uid: string): string[] =>
    panelsOf(uid)
      .filter((p) => !isRow(p))
      .map((p) => p.title ?? '');
  const exprs = (uid: string): string =>
    dashboardQueries(DASHBOARDS)
      .filter((q) => q.dashboardUid === uid)
      .map((q) => q.expr)
      .join('\n');

  it('overview: builds by result, lowest success rate, slowest jobs, longest queues (rolling 24 h), in progress, jobs table', () => {
    const t = titles('codearts-build-overview');
    expect(t).toEqual(
      expect.arrayContaining([
        'Builds by result',
        'Lowest success rate (rolling 24 h, 10 jobs)',
        'Slowest jobs: duration p95 (rolling 24 h, 10 jobs)',
        'Longest queue time: p95 (rolling 24 h, 10 jobs)',
        'Queue time p95',
        'Builds in progress (10 busiest jobs)',
        'Jobs',
      ]),
    );
    const table = panelsOf('codearts-build-overview').find((p) => p.type === 'table');
    const tableExprs = (table?.targets ?? []).map((target) => target.expr).join('\n');
    for (const metric of [
      'codearts_build_last_status',
      'codearts_build_last_duration_seconds',
      'codearts_build_last_success_timestamp_seconds',
    ]) {
      expect(tableExprs).toContain(metric);
    }
    // The rolling 1-day panels read the recording rules.
    expect(exprs('codearts-build-overview')).toContain(
      'sum by (le, job_id, job_name, project) (job_id:codearts_build_duration_seconds_bucket:increase1d{',
    );
    expect(exprs('codearts-build-overview')).toContain('job_id:codearts_builds:increase1d{');
    expect(exprs('codearts-build-overview')).not.toMatch(/codearts_build[a-z_]*\{[^}]*\}\[1d\]/);
    const links = JSON.stringify(table?.fieldConfig?.overrides);
    expect(links).toContain('var-job_id=${__data.fields.job_id}');
  });

  it('fleet: builds per day, top 10 slowest / most failing / lowest success rate / longest since success, status wall, projects', () => {
    const panels = panelsOf('codearts-build-fleet');
    const byTitle = new Map(panels.map((p) => [p.title ?? '', p]));
    expect(byTitle.get('Builds per day by result')?.interval).toBe('1d');
    for (const title of ['Slowest jobs: duration p95', 'Most failing jobs', 'Lowest success rate', 'Longest since last success']) {
      const panel = byTitle.get(title);
      expect(panel?.type, title).toBe('bargauge');
      expect(panel?.targets?.[0]?.expr, title).toMatch(/^(topk|bottomk)\(10, /);
    }
    const wall = panels.find((p) => p.type === 'state-timeline');
    expect(wall?.targets?.[0]?.expr).toContain('codearts_build_last_status');
    expect(JSON.stringify(wall?.fieldConfig)).toContain('"text":"failure"');
    expect(exprs('codearts-build-fleet')).toContain('sum by (project) (increase(codearts_builds_total');
  });

  it('job detail: results and trigger types over time for the selected job (by job_id)', () => {
    const all = exprs('codearts-build-job-detail');
    expect(all).toContain('codearts_build_triggers_total');
    expect(all).toContain('sum by (result) (increase(codearts_builds_total');
    expect(titles('codearts-build-job-detail')).toEqual(expect.arrayContaining(['Builds by trigger type', 'Builds by result']));
  });

  it('exporter health: up, poll duration, skipped polls, API requests and errors, retries, invalid records, poll age', () => {
    const all = exprs('codearts-exporter-health');
    for (const metric of [
      'up{',
      'codearts_exporter_up',
      'codearts_exporter_poll_duration_seconds',
      'codearts_exporter_skipped_polls_total',
      'codearts_exporter_api_requests_total',
      'code=~"429|5..|timeout|network"',
      'codearts_exporter_api_retries_total',
      'codearts_exporter_invalid_records_total',
      'time() - codearts_exporter_last_successful_poll_timestamp_seconds',
      'codearts_exporter_auth_refreshes_total',
      'codearts_exporter_auth_token_expiry_timestamp_seconds',
      'codearts_exporter_discovered_jobs',
      'codearts_exporter_discovery_errors_total',
      'codearts_exporter_circuit_open',
      'codearts_exporter_running_status_available',
      'codearts_exporter_vanished_builds_total',
      'codearts_exporter_abandoned_builds_total',
    ]) {
      expect(all).toContain(metric);
    }
  });
});

describe('dashboards and alerts: metric names', () => {
  const known = new Set([...exporterSeriesNames(), ...PROMETHEUS_SYNTHETIC_METRICS]);
  const recorded = new Set(allRules().flatMap((rule) => (rule.record ? [rule.record] : [])));

  it('read only metrics of the catalog in docs/metrics.md (plus up, scrape_duration_seconds, process metrics)', () => {
    for (const query of dashboardQueries(DASHBOARDS)) {
      const names = extractMetricNames(query.expr);
      expect(names.length, `${query.dashboardUid} "${query.panelTitle}"`).toBeGreaterThan(0);
      for (const name of names)
        expect(known.has(name) || recorded.has(name), `${query.dashboardUid} "${query.panelTitle}" ${query.refId}: ${name}`).toBe(true);
    }
    for (const { dashboard } of DASHBOARDS) {
      for (const variable of dashboard.templating.list) {
        for (const name of variableQueryMetricNames(variable))
          expect(known.has(name), `${dashboard.uid} $${variable.name}: ${name}`).toBe(true);
      }
    }
    for (const rule of allRules()) {
      for (const name of extractMetricNames(rule.expr)) {
        expect(known.has(name) || recorded.has(name), `rule ${rule.alert ?? rule.record}: ${name}`).toBe(true);
      }
    }
  });

  it('never use a `job` label from the exporter in place of job_name, and no label outside the catalog', () => {
    for (const query of dashboardQueries(DASHBOARDS)) {
      for (const selector of extractSelectors(query.expr)) {
        const name = selector.replace(/\{.*$/, '');
        const entry = catalogEntryFor(name);
        if (!entry) continue;
        const labels = [...selector.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1] as string);
        for (const label of labels) {
          expect(
            ['job', 'instance', ...entry.labels, ...(entry.type === 'histogram' ? ['le'] : [])],
            `${query.panelTitle}: ${selector}`,
          ).toContain(label);
        }
      }
    }
  });

  it('cover every metric family of the catalog in at least one dashboard', () => {
    const used = new Set(dashboardQueries(DASHBOARDS).flatMap((q) => extractMetricNames(q.expr)));
    for (const entry of METRIC_CATALOG) {
      const names = entry.type === 'histogram' ? [`${entry.name}_bucket`, `${entry.name}_count`, `${entry.name}_sum`] : [entry.name];
      expect(
        names.some((n) => used.has(n)),
        entry.name,
      ).toBe(true);
    }
    for (const name of PROCESS_METRICS) expect(used.has(name), name).toBe(true);
  });
});

describe('promql helpers', () => {
  it('extract metric names, skipping functions, aggregations, label lists, strings and durations', () => {
    expect(
      extractMetricNames(
        'histogram_quantile(0.95, sum by (le, job_name) (increase(codearts_build_duration_seconds_bucket{job=~"$job", result="success"}[$__range])))',
      ),
    ).toEqual(['codearts_build_duration_seconds_bucket']);
    expect(extractMetricNames('sum without (instance) (rate(a_total[5m] offset 1h)) / on (job) group_left (version) b_info')).toEqual([
      'a_total',
      'b_info',
    ]);
    expect(extractMetricNames('time() - max(x_seconds > 0) or vector(0) and absent(up{job="a"}) unless 1e3 > bool y')).toEqual([
      'x_seconds',
      'up',
      'y',
    ]);
    expect(extractMetricNames('{__name__="named_metric", job="x"} + label_replace(z, "dst", "$1", "src", "(.*)")')).toEqual([
      'named_metric',
      'z',
    ]);
    expect(extractMetricNames('job_name:codearts_no_success_threshold_seconds:config')).toEqual([
      'job_name:codearts_no_success_threshold_seconds:config',
    ]);
  });

  it('substitute Grafana macros and variables', () => {
    expect(
      substituteGrafanaMacros('increase(x{job=~"$job", job_name=~"${job_name}"}[$__range]) / rate(y[$__rate_interval]) + z[$__interval]'),
    ).toBe('increase(x{job=~".+", job_name=~".+"}[1h]) / rate(y[5m]) + z[1m]');
    // Grafana's escaping: a regex backslash, doubled inside the PromQL string literal.
    expect(substituteGrafanaMacros('x{job_name=~"$job_name", job=~"$job"}', { variables: { job_name: escapeRegex('a.b+c') } })).toBe(
      'x{job_name=~"a\\\\.b\\\\+c", job=~".+"}',
    );
    expect(escapeRegex('back\\slash')).toBe('back\\\\\\\\slash');
    expect(substituteGrafanaMacros('$__range_s + ${__interval_ms} + [[instance]]')).toBe('3600 + 60000 + .+');
  });

  it('extract selectors with their matchers', () => {
    expect(extractSelectors('sum(rate(a_total{x="1"}[5m])) / sum(rate(a_total[5m])) + a_total_bucket{le="1"}')).toEqual([
      'a_total{x="1"}',
      'a_total',
      'a_total_bucket{le="1"}',
    ]);
  });
});

describe('dashboards: every expression parses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'codearts-dashboards-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  itWithBinary('promtool')('promtool check rules accepts every substituted panel and annotation expression', () => {
    const queries = [
      ...dashboardQueries(DASHBOARDS).map((q) => ({ ...q, name: `panel_${q.panelId}_${q.refId}` })),
      ...dashboardAnnotations(DASHBOARDS).map((a) => ({ ...a, panelTitle: a.name, name: `annotation_${a.name.replace(/\W/g, '_')}` })),
    ];
    const rules = queries.map((query) => {
      // Values full of regex metacharacters: the escaped value must still be a valid PromQL string.
      const variables = { job_id: escapeRegex('web.app+(v2)|[x]'), project: escapeRegex('p.(1)') };
      const expr = substituteGrafanaMacros(query.expr, { variables });
      expect(expr, `${query.dashboardUid} "${query.panelTitle}"`).not.toContain('$');
      return { record: `check:${query.dashboardUid.replace(/-/g, '_')}:${query.name}`, expr };
    });
    const file = join(dir, 'dashboard-exprs.yml');
    writeFileSync(file, stringifyYaml({ groups: [{ name: 'dashboard-exprs', rules }] }));
    let output: string;
    try {
      output = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`promtool rejected a dashboard expression:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: error });
    }
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});

describe('grafana provisioning', () => {
  const compose = parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { volumes?: Array<string | { source?: string; target?: string }>; ports?: string[] }>;
  };
  const grafanaMounts = (compose.services.grafana?.volumes ?? []).map((v) =>
    typeof v === 'string'
      ? { source: v.split(':')[0] ?? '', target: v.split(':')[1] ?? '' }
      : { source: v.source ?? '', target: v.target ?? '' },
  );
  const mountTarget = (source: string): string | undefined => grafanaMounts.find((m) => m.source.replace(/\/$/, '') === source)?.target;

  const datasources = parseYaml(readFileSync(join(REPO_ROOT, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
    apiVersion: number;
    datasources: Array<{ name: string; type: string; uid: string; url: string; isDefault?: boolean; jsonData?: { timeInterval?: string } }>;
  };
  const providers = parseYaml(readFileSync(join(REPO_ROOT, 'grafana/provisioning/dashboards/codearts.yml'), 'utf8')) as {
    apiVersion: number;
    providers: Array<{ name: string; type: string; folder: string; options: { path: string } }>;
  };

  it('mounts the provisioning folder where Grafana reads it', () => {
    expect(mountTarget('./grafana/provisioning')).toBe('/etc/grafana/provisioning');
  });

  it('loads the dashboards from the folder docker-compose.yml mounts them into', () => {
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers).toHaveLength(1);
    const provider = providers.providers[0]!;
    expect(provider.type).toBe('file');
    expect(provider.folder).toBe('CodeArts Build');
    expect(provider.options.path).toBe('/var/lib/grafana/dashboards/codearts');
    expect(mountTarget('./grafana/dashboards')).toBe(provider.options.path);
  });

  it("provides a default Prometheus data source the dashboards' datasource variable can pick", () => {
    expect(datasources.apiVersion).toBe(1);
    const prometheus = datasources.datasources.find((d) => d.type === 'prometheus');
    expect(prometheus?.uid).toBe('prometheus');
    expect(prometheus?.isDefault).toBe(true);
    // The datasource variable offers every data source of this type.
    for (const { dashboard } of DASHBOARDS) {
      expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.query).toBe(prometheus?.type);
    }
    // The URL points at the compose service of Prometheus and its port.
    const url = new URL(prometheus!.url);
    expect(url.hostname).toBe('prometheus');
    expect(compose.services[url.hostname]).toBeDefined();
    expect(compose.services.prometheus?.ports?.map(String).some((p) => p.endsWith(`:${url.port}`) || p === url.port)).toBe(true);
  });

  it("sets the data source scrape interval to the exporter's scrape interval", () => {
    const prom = parseYaml(readFileSync(join(REPO_ROOT, 'config/prometheus.yml'), 'utf8')) as {
      global?: { scrape_interval?: string };
      scrape_configs: Array<{ job_name: string; scrape_interval?: string }>;
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'codearts-build-exporter');
    const interval = job?.scrape_interval ?? prom.global?.scrape_interval;
    expect(datasources.datasources[0]?.jsonData?.timeInterval).toBe(interval);
  });
});
