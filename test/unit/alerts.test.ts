import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { itWithBinary } from '../helpers/binaries.js';
import { markdownAnchors } from '../helpers/markdown.js';
import { REPO_ROOT, allRules, loadRules } from '../helpers/promql.js';

const CONFIG = join(REPO_ROOT, 'config');
const ALERTS = join(CONFIG, 'alerts.yml');
const ALERT_TESTS = join(CONFIG, 'alerts.test.yml');
const PROMETHEUS = join(CONFIG, 'prometheus.yml');
const TROUBLESHOOTING = join(REPO_ROOT, 'docs', 'troubleshooting.md');

function durationSeconds(text: string): number {
  const match = /^(\d+)([smh])$/.exec(text);
  return match ? Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'] : Number.NaN;
}

interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: Array<{ exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }>;
}
interface TestFile {
  rule_files: string[];
  tests: Array<{ name?: string; alert_rule_test?: AlertRuleTest[] }>;
}

/** Runs promtool; returns its output, or throws with stdout and stderr on a non-zero exit. */
function promtool(args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} exited ${e.status}:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: error });
  }
}

const alerts = allRules(ALERTS).filter((rule) => rule.alert !== undefined);
const tests = parseYaml(readFileSync(ALERT_TESTS, 'utf8')) as TestFile;
const ruleTests = tests.tests.flatMap((group) => group.alert_rule_test ?? []);

describe('alert rules: promtool', () => {
  itWithBinary('promtool')('promtool check rules config/alerts.yml passes', () => {
    expect(promtool(['check', 'rules', ALERTS])).toMatch(/SUCCESS: \d+ rules found/);
  });

  itWithBinary('promtool')('promtool test rules config/alerts.test.yml passes', () => {
    expect(promtool(['test', 'rules', ALERT_TESTS])).toContain('SUCCESS');
  });

  itWithBinary('promtool')('promtool check config config/prometheus.yml passes, rule file included', () => {
    const output = promtool(['check', 'config', PROMETHEUS]);
    expect(output).toContain('SUCCESS: 1 rule files found');
    expect(output).toContain('alerts.yml');
  });
});

describe('alert rules: content', () => {
  it('defines the alerts for the exporter, the API, authentication, discovery, data quality and build jobs', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'CodeArtsExporterDown',
        'CodeArtsExporterPollsStale',
        'CodeArtsExporterApiUnreachable',
        'CodeArtsApiErrorRatioHigh',
        'CodeArtsApiThrottled',
        'CodeArtsBuildFailureRatioHigh',
        'CodeArtsBuildFailingRepeatedly',
        'CodeArtsNoRecentSuccess',
        'CodeArtsBuildQueueTimeHigh',
        'CodeArtsBuildStuck',
        'CodeArtsExporterStateSaveErrors',
        'CodeArtsExporterAuthFailing',
        'CodeArtsExporterAuthTokenExpiring',
        'CodeArtsExporterDiscoveryFailing',
        'CodeArtsExporterInvalidRecords',
      ]),
    );
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives every alert a severity label and summary and runbook-style description annotations', () => {
    for (const alert of alerts) {
      expect(['critical', 'warning', 'info'], alert.alert).toContain(alert.labels?.severity);
      expect(alert.annotations?.summary?.trim().length ?? 0, alert.alert).toBeGreaterThan(10);
      const description = alert.annotations?.description ?? '';
      expect(description.length, alert.alert).toBeGreaterThan(150);
      // Runbook style: what it means, then what to check (at least one "- " step).
      expect(description, alert.alert).toMatch(/\n- /);
    }
  });

  it('gives every alert a `for:` so that one bad evaluation never notifies', () => {
    for (const alert of alerts) {
      expect(alert.for, alert.alert).toMatch(/^\d+[smh]$/);
      expect(durationSeconds(alert.for ?? '0s'), alert.alert).toBeGreaterThanOrEqual(300);
    }
  });

  it('gives every alert a team label (the routing hook): monitoring for the exporter, ci for build jobs', () => {
    for (const group of loadRules(ALERTS).groups) {
      for (const alert of group.rules.filter((rule) => rule.alert)) {
        const expected = group.name === 'codearts-build-exporter' ? 'monitoring' : 'ci';
        expect(alert.labels?.team, alert.alert).toBe(expected);
      }
    }
  });

  it('links every alert to its own section of docs/troubleshooting.md (the anchor exists)', () => {
    const anchors = markdownAnchors(readFileSync(TROUBLESHOOTING, 'utf8'));
    for (const alert of alerts) {
      const url = alert.annotations?.runbook_url ?? '';
      const anchor = (alert.alert ?? '').toLowerCase();
      expect(url, alert.alert).toBe(`docs/troubleshooting.md#${anchor}`);
      expect(anchors.has(anchor), `docs/troubleshooting.md has no section #${anchor}`).toBe(true);
    }
  });

  it('uses the example scrape job name for the target-level alert', () => {
    const prometheus = parseYaml(readFileSync(PROMETHEUS, 'utf8')) as { scrape_configs: Array<{ job_name: string }>; rule_files: string[] };
    const down = alerts.find((a) => a.alert === 'CodeArtsExporterDown');
    expect(prometheus.scrape_configs.map((j) => j.job_name)).toContain('codearts-build-exporter');
    expect(down?.expr).toContain('up{job="codearts-build-exporter"} == 0');
    expect(down?.expr).toContain('absent(up{job="codearts-build-exporter"})');
    expect(prometheus.rule_files).toEqual(['alerts.yml']);
  });

  it('never relies on an exporter label called `job` for build jobs (job_id/job_name only)', () => {
    for (const alert of alerts) {
      for (const match of alert.expr.matchAll(/by \(([^)]*)\)/g)) {
        const labels = (match[1] as string).split(',').map((l) => l.trim());
        if (labels.includes('job_name') || labels.includes('job_id')) expect(labels, alert.alert).not.toContain('job');
      }
    }
  });

  it('keeps the project label on build-job alerts (a routing hook beside team), grouping by job_id, never by name alone', () => {
    const buildJobAlerts = alerts.filter((alert) => alert.labels?.team === 'ci');
    expect(buildJobAlerts.length).toBeGreaterThanOrEqual(5);
    for (const alert of buildJobAlerts) {
      for (const match of alert.expr.matchAll(/\b(?:by|on) \(([^)]*)\)/g)) {
        const labels = (match[1] as string).split(',').map((l) => l.trim());
        if (labels.includes('job_id')) expect(labels, `${alert.alert}: ${match[0]}`).toContain('project');
      }
      for (const match of alert.expr.matchAll(/\bby \(([^)]*)\)/g)) {
        const labels = (match[1] as string).split(',').map((l) => l.trim());
        if (labels.includes('job_name')) expect(labels, `${alert.alert}: ${match[0]}`).toContain('job_id');
      }
    }
  });

  it('has the per-job threshold rule that CodeArtsNoRecentSuccess joins on, defaulting to 7 days', () => {
    const record = 'job_name:codearts_no_success_threshold_seconds:config';
    // The recording rule is evaluated before the alert: same group, earlier position.
    const group = loadRules(ALERTS).groups.find((g) => g.rules.some((r) => r.alert === 'CodeArtsNoRecentSuccess'));
    const rules = group?.rules ?? [];
    const thresholdAt = rules.findIndex((r) => r.record === record);
    const alertAt = rules.findIndex((r) => r.alert === 'CodeArtsNoRecentSuccess');
    expect(thresholdAt).toBeGreaterThanOrEqual(0);
    expect(thresholdAt).toBeLessThan(alertAt);
    expect(rules[thresholdAt]?.expr).toContain('7 * 86400');
    expect(rules[alertAt]?.expr).toContain(record);
  });
});

describe('alert rules: unit tests', () => {
  it('load the shipped rule file', () => {
    expect(tests.rule_files).toEqual(['alerts.yml']);
  });

  it('cover every alert with at least one firing and one quiet case', () => {
    for (const alert of alerts) {
      const cases = ruleTests.filter((t) => t.alertname === alert.alert);
      const firing = cases.filter((t) => (t.exp_alerts ?? []).length > 0);
      const quiet = cases.filter((t) => (t.exp_alerts ?? []).length === 0);
      expect(firing.length, `${alert.alert}: no firing test case`).toBeGreaterThan(0);
      expect(quiet.length, `${alert.alert}: no not-firing test case`).toBeGreaterThan(0);
      // Firing cases check the rendered annotations too (templates render with real values).
      for (const t of firing) {
        for (const expected of t.exp_alerts ?? []) {
          expect(expected.exp_labels?.severity, `${alert.alert} @ ${t.eval_time}`).toBe(alert.labels?.severity);
          expect(Object.keys(expected.exp_annotations ?? {}).sort(), `${alert.alert} @ ${t.eval_time}`).toEqual(
            Object.keys(alert.annotations ?? {}).sort(),
          );
        }
      }
    }
  });

  it('test only alerts that exist', () => {
    const names = new Set(alerts.map((a) => a.alert));
    for (const t of ruleTests) expect(names.has(t.alertname), t.alertname).toBe(true);
  });
});
