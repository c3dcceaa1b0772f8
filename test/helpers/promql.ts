/**
 * PromQL helpers shared by the dashboard/alert tests and the end-to-end test against a real
 * Prometheus: the metric catalog (docs/metrics.md), a small PromQL scanner that finds the metric names
 * an expression reads, and substitution of Grafana's macros and template variables.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface CatalogEntry {
  readonly name: string;
  readonly type: MetricType;
  /** Labels set by the exporter (never `job`/`instance`: those are Prometheus target labels). */
  readonly labels: readonly string[];
}

/**
 * Every series family the exporter serves (docs/metrics.md). With `metrics.job_histograms: false` the two
 * build histograms lose `job_id`/`job_name`; the names stay the same.
 */
export const METRIC_CATALOG: readonly CatalogEntry[] = [
  { name: 'codearts_builds_total', type: 'counter', labels: ['job_id', 'job_name', 'project', 'result'] },
  { name: 'codearts_build_triggers_total', type: 'counter', labels: ['job_id', 'job_name', 'project', 'trigger_type'] },
  { name: 'codearts_build_duration_seconds', type: 'histogram', labels: ['job_id', 'job_name', 'project', 'result'] },
  { name: 'codearts_build_queue_duration_seconds', type: 'histogram', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_builds_in_progress', type: 'gauge', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_build_last_status', type: 'gauge', labels: ['job_id', 'job_name', 'project', 'result'] },
  { name: 'codearts_build_last_duration_seconds', type: 'gauge', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_build_last_number', type: 'gauge', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_job_console_link_info', type: 'gauge', labels: ['job_id', 'job_name', 'project', 'url_prefix', 'url_suffix'] },
  { name: 'codearts_build_last_finished_timestamp_seconds', type: 'gauge', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_build_last_success_timestamp_seconds', type: 'gauge', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_build_step_duration_seconds', type: 'histogram', labels: ['job_id', 'job_name', 'project', 'step'] },
  { name: 'codearts_build_step_pending_seconds', type: 'histogram', labels: ['job_id', 'job_name', 'project', 'step'] },
  { name: 'codearts_build_failures_total', type: 'counter', labels: ['job_id', 'job_name', 'project', 'step', 'error_code'] },
  { name: 'codearts_job_recovery_seconds', type: 'histogram', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_flaky_builds_total', type: 'counter', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_job_failing_since_timestamp_seconds', type: 'gauge', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_job_consecutive_failures', type: 'gauge', labels: ['job_id', 'job_name', 'project'] },
  { name: 'codearts_exporter_up', type: 'gauge', labels: [] },
  { name: 'codearts_exporter_last_successful_poll_timestamp_seconds', type: 'gauge', labels: ['job_id', 'job_name'] },
  { name: 'codearts_exporter_poll_duration_seconds', type: 'gauge', labels: [] },
  { name: 'codearts_exporter_polls_total', type: 'counter', labels: ['outcome'] },
  { name: 'codearts_exporter_skipped_polls_total', type: 'counter', labels: [] },
  { name: 'codearts_exporter_api_requests_total', type: 'counter', labels: ['endpoint', 'code'] },
  { name: 'codearts_exporter_api_request_duration_seconds', type: 'histogram', labels: ['endpoint'] },
  { name: 'codearts_exporter_api_retries_total', type: 'counter', labels: ['endpoint', 'reason'] },
  { name: 'codearts_exporter_invalid_records_total', type: 'counter', labels: ['job_id', 'job_name'] },
  { name: 'codearts_exporter_state_save_errors_total', type: 'counter', labels: [] },
  { name: 'codearts_exporter_build_info', type: 'gauge', labels: ['version'] },
  { name: 'codearts_exporter_auth_refreshes_total', type: 'counter', labels: ['outcome'] },
  { name: 'codearts_exporter_auth_token_expiry_timestamp_seconds', type: 'gauge', labels: [] },
  { name: 'codearts_exporter_discovered_jobs', type: 'gauge', labels: ['project_id'] },
  { name: 'codearts_exporter_discovery_errors_total', type: 'counter', labels: ['project_id'] },
  { name: 'codearts_exporter_circuit_open', type: 'gauge', labels: [] },
  { name: 'codearts_exporter_running_status_available', type: 'gauge', labels: [] },
  { name: 'codearts_exporter_vanished_builds_total', type: 'counter', labels: ['job_id', 'job_name'] },
  { name: 'codearts_exporter_abandoned_builds_total', type: 'counter', labels: ['job_id', 'job_name', 'reason'] },
  { name: 'codearts_exporter_detail_missing_total', type: 'counter', labels: ['kind'] },
];

/** Catalog families whose series appear on first use: /metrics serves only their HELP and TYPE lines until then. */
export const SERIES_ON_FIRST_USE: readonly string[] = ['codearts_exporter_abandoned_builds_total'];

/**
 * prom-client default metrics (collectDefaultMetrics, no prefix) that the dashboards read
 * (docs/metrics.md: "plus prom-client's default process metrics").
 */
export const PROCESS_METRICS: readonly string[] = [
  'process_resident_memory_bytes',
  'process_cpu_seconds_total',
  'nodejs_eventloop_lag_p99_seconds',
];

/** Series Prometheus itself writes for every scrape target; they are not in the exporter's output. */
export const PROMETHEUS_SYNTHETIC_METRICS: readonly string[] = ['up', 'scrape_duration_seconds'];

/** Series Prometheus writes for its alerting rules (read by the dashboards' "Firing alerts" annotation). */
export const PROMETHEUS_ALERT_SERIES = 'ALERTS';

/** prom-client default metrics read only by the dashboards' "Exporter restarts" annotation. */
export const ANNOTATION_PROCESS_METRICS: readonly string[] = ['process_start_time_seconds'];

/** Every series name the exporter exposes: histograms expand to `_bucket`, `_count` and `_sum`. */
export function exporterSeriesNames(): Set<string> {
  const names = new Set<string>(PROCESS_METRICS);
  for (const entry of METRIC_CATALOG) {
    if (entry.type === 'histogram') {
      for (const suffix of ['_bucket', '_count', '_sum']) names.add(entry.name + suffix);
    } else {
      names.add(entry.name);
    }
  }
  return names;
}

/** Catalog family of a series name (`x_seconds_bucket` -> `x_seconds`), or undefined. */
export function catalogEntryFor(seriesName: string): CatalogEntry | undefined {
  for (const entry of METRIC_CATALOG) {
    if (entry.name === seriesName) return entry.type === 'histogram' ? undefined : entry;
    if (entry.type === 'histogram' && [`${entry.name}_bucket`, `${entry.name}_count`, `${entry.name}_sum`].includes(seriesName)) {
      return entry;
    }
  }
  return undefined;
}

const AGGREGATORS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
/** Keywords followed by a parenthesised list of label names. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

/**
 * Metric names read by a PromQL expression (vector selectors), in order of first appearance.
 * A scanner, not a parser: it skips strings, comments, label matchers `{...}`, range/subquery
 * brackets `[...]`, label lists of by/without/on/ignoring/group_left/group_right, function and
 * aggregator names, keywords and numbers. `{__name__="x"}` selectors are reported as `x`.
 * Run it on substituted expressions or on raw ones alike: `$var` tokens are skipped.
 */
export function extractMetricNames(expr: string): string[] {
  const names: string[] = [];
  const add = (name: string): void => {
    if (!names.includes(name)) names.push(name);
  };
  const s = expr;
  let i = 0;
  const skipSpace = (from: number): number => {
    let j = from;
    while (j < s.length && /\s/.test(s[j] as string)) j++;
    return j;
  };
  const skipString = (from: number): number => {
    const quote = s[from];
    let j = from + 1;
    while (j < s.length && s[j] !== quote) j += s[j] === '\\' && quote !== '`' ? 2 : 1;
    return j + 1;
  };
  /** Skips a balanced block starting at `from` (an opening bracket); returns the index after it. */
  const skipBlock = (from: number, open: string, close: string, onText?: (text: string) => void): number => {
    let depth = 0;
    let j = from;
    const start = from;
    while (j < s.length) {
      const c = s[j] as string;
      if (c === '"' || c === "'" || c === '`') {
        j = skipString(j);
        continue;
      }
      if (c === open) depth++;
      if (c === close) {
        depth--;
        if (depth === 0) {
          onText?.(s.slice(start + 1, j));
          return j + 1;
        }
      }
      j++;
    }
    return j;
  };
  let afterOffset = false;
  while (i < s.length) {
    const c = s[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(i);
      continue;
    }
    if (c === '#') {
      while (i < s.length && s[i] !== '\n') i++;
      continue;
    }
    if (c === '[') {
      i = skipBlock(i, '[', ']');
      continue;
    }
    if (c === '{') {
      i = skipBlock(i, '{', '}', (text) => {
        const named = /__name__\s*=\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"/.exec(text);
        if (named?.[1]) add(named[1]);
      });
      continue;
    }
    if (c === '$') {
      // A Grafana variable left in the expression: $name or ${name...}.
      i++;
      if (s[i] === '{') i = skipBlock(i, '{', '}');
      else while (i < s.length && /[a-zA-Z0-9_]/.test(s[i] as string)) i++;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      // Numbers (1, 0.5, 1e3, 0x1f) and durations (5m, 1h30m) after `offset`/`@`.
      while (i < s.length && /[0-9a-zA-Z_.]/.test(s[i] as string)) {
        if ((s[i] === 'e' || s[i] === 'E') && (s[i + 1] === '+' || s[i + 1] === '-')) i++;
        i++;
      }
      afterOffset = false;
      continue;
    }
    if (/[a-zA-Z_:]/.test(c)) {
      let j = i;
      while (j < s.length && /[a-zA-Z0-9_:]/.test(s[j] as string)) j++;
      const word = s.slice(i, j);
      const next = skipSpace(j);
      i = j;
      const lower = word.toLowerCase();
      if (afterOffset) {
        afterOffset = false;
        continue;
      }
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (s[next] === '(') i = skipBlock(next, '(', ')');
        continue;
      }
      if (KEYWORDS.has(lower)) {
        if (lower === 'offset') afterOffset = true;
        continue;
      }
      if (AGGREGATORS.has(word)) continue;
      if (s[next] === '(') continue; // a function call
      add(word);
      continue;
    }
    i++;
  }
  return names;
}

/** Values used for Grafana's built-in macros when an expression is evaluated outside Grafana. */
export const MACRO_VALUES: Readonly<Record<string, string>> = {
  __rate_interval: '5m',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
  __interval: '1m',
  __interval_ms: '60000',
};

/**
 * Escapes a value for use inside a double-quoted PromQL regex matcher (`=~"..."`), exactly as
 * Grafana's Prometheus data source does for multi-value variables: regex metacharacters get a
 * backslash, and every backslash is doubled for the PromQL string literal (`a.b` -> `a\\.b`).
 */
export function escapeRegex(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

export interface SubstituteOptions {
  /**
   * Template variable values, already in their final (regex) form. Defaults: every variable is
   * `.+` (Grafana's "All" for the dashboards' `job`, `instance` and `job_name` variables). Pass
   * e.g. `{ job_name: escapeRegex('backend-ci') }` to select one job.
   */
  variables?: Readonly<Record<string, string>>;
  /** Override the macro values (`__range`, `__rate_interval`, `__interval`, ...). */
  macros?: Readonly<Record<string, string>>;
}

/**
 * Replaces Grafana macros (`$__range` -> 1h, `$__rate_interval` -> 5m, `$__interval` -> 1m, plus
 * their `_s`/`_ms` forms) and template variables (`$name`, `${name}`, `${name:format}`,
 * `[[name]]`) so the expression can be sent to Prometheus directly. Unknown variables become `.+`,
 * which fits every `=~"$var"` matcher the dashboards use. `$datasource` never appears in an expr.
 */
export function substituteGrafanaMacros(expr: string, options: SubstituteOptions = {}): string {
  const macros = { ...MACRO_VALUES, ...options.macros };
  const variables = options.variables ?? {};
  const valueOf = (name: string): string => macros[name] ?? variables[name] ?? '.+';
  return expr
    .replace(/\$\{([a-zA-Z0-9_]+)(?::[^}]*)?\}/g, (_m, name: string) => valueOf(name))
    .replace(/\[\[([a-zA-Z0-9_]+)(?::[^\]]*)?\]\]/g, (_m, name: string) => valueOf(name))
    .replace(/\$([a-zA-Z0-9_]+)/g, (_m, name: string) => valueOf(name));
}

/**
 * Vector selectors of an expression (`name{matchers}` or bare `name`), for checking that each one
 * returns data against a live Prometheus: an alert expression as a whole is usually empty (its
 * threshold is not crossed), but every series it reads must exist.
 */
export function extractSelectors(expr: string): string[] {
  const selectors: string[] = [];
  for (const name of extractMetricNames(expr)) {
    const pattern = new RegExp(`(?<![a-zA-Z0-9_:$])${name}(?![a-zA-Z0-9_:])\\s*(\\{[^}]*\\})?`, 'g');
    for (const match of expr.matchAll(pattern)) {
      const selector = `${name}${match[1] ?? ''}`;
      if (!selectors.includes(selector)) selectors.push(selector);
    }
  }
  return selectors;
}

// ------------------------------------------------------------------------------------------------
// The repository's dashboards and rules, as the e2e test and the unit tests read them.

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DASHBOARDS_DIR = join(REPO_ROOT, 'grafana', 'dashboards');
export const ALERTS_FILE = join(REPO_ROOT, 'config', 'alerts.yml');

/** The part of Grafana's classic dashboard model the tests look at. */
export interface GrafanaTarget {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
  [key: string]: unknown;
}
export interface GrafanaPanel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  interval?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string } | string | null;
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  fieldConfig?: { defaults?: { unit?: string; [key: string]: unknown }; overrides?: unknown[] };
  [key: string]: unknown;
}
export interface GrafanaVariable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: { type?: string; uid?: string } | string | null;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  [key: string]: unknown;
}
export interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
  [key: string]: unknown;
}

/** A Prometheus annotation query of a dashboard (Grafana's classic `expr` form). */
export interface GrafanaAnnotation {
  name: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
  builtIn?: number;
  [key: string]: unknown;
}

/** The Prometheus annotation queries of the dashboards (the built-in "Annotations & Alerts" left out). */
export function dashboardAnnotations(
  dashboards: LoadedDashboard[] = loadDashboards(),
): Array<{ dashboardUid: string; name: string; expr: string }> {
  return dashboards.flatMap(({ dashboard }) =>
    ((dashboard.annotations as { list?: GrafanaAnnotation[] } | undefined)?.list ?? [])
      .filter((a) => a.builtIn !== 1)
      .map((a) => ({ dashboardUid: dashboard.uid, name: a.name, expr: a.expr ?? '' })),
  );
}

export interface LoadedDashboard {
  file: string;
  raw: string;
  dashboard: GrafanaDashboard;
}

export function loadDashboards(dir: string = DASHBOARDS_DIR): LoadedDashboard[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const raw = readFileSync(join(dir, name), 'utf8');
      return { file: name, raw, dashboard: JSON.parse(raw) as GrafanaDashboard };
    });
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  const out: GrafanaPanel[] = [];
  for (const panel of dashboard.panels) {
    out.push(panel);
    for (const nested of panel.panels ?? []) out.push(nested);
  }
  return out;
}

export interface DashboardQuery {
  dashboardUid: string;
  panelId: number | undefined;
  panelTitle: string;
  panelInterval: string | undefined;
  refId: string;
  /** Instant query in Grafana (stat, table, bar gauge, pie chart). */
  instant: boolean;
  expr: string;
}

/** Every target expression of every dashboard, raw (macros and variables not substituted). */
export function dashboardQueries(dashboards: LoadedDashboard[] = loadDashboards()): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const { dashboard } of dashboards) {
    for (const panel of allPanels(dashboard)) {
      for (const target of panel.targets ?? []) {
        out.push({
          dashboardUid: dashboard.uid,
          panelId: panel.id,
          panelTitle: panel.title ?? '',
          panelInterval: panel.interval,
          refId: target.refId ?? '',
          instant: target.instant === true,
          expr: target.expr ?? '',
        });
      }
    }
  }
  return out;
}

/** Metric names in `label_values(metric{...}, label)` / `query_result(...)` variable queries. */
export function variableQueryMetricNames(variable: GrafanaVariable): string[] {
  const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query?: string } | undefined)?.query;
  if (variable.type !== 'query' || !query) return [];
  const labelValues = /^\s*label_values\(\s*(.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/s.exec(query);
  if (labelValues?.[1]) return extractMetricNames(labelValues[1]);
  const queryResult = /^\s*query_result\((.*)\)\s*$/s.exec(query);
  if (queryResult?.[1]) return extractMetricNames(queryResult[1]);
  return [];
}

export interface RuleFile {
  groups: Array<{ name: string; interval?: string; rules: Rule[] }>;
}
export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function loadRules(file: string = ALERTS_FILE): RuleFile {
  return parseYaml(readFileSync(file, 'utf8')) as RuleFile;
}

export function allRules(file: string = ALERTS_FILE): Rule[] {
  return loadRules(file).groups.flatMap((group) => group.rules);
}
