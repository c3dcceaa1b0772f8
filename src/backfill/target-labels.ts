import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { RECORD_LABEL_NAMES } from '../domain/build.js';
import { escapeLabelValue } from '../metrics/exposition.js';

/** Labels of the build series themselves: a target label of the same name would replace or shadow them. */
const SERIES_LABELS: readonly string[] = ['job_id', 'job_name', 'project', 'result', 'trigger_type', 'le', ...RECORD_LABEL_NAMES];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class TargetLabelError extends Error {
  override readonly name = 'TargetLabelError';
}

/** `--label name=value` options, in order; a repeated or invalid name is an error naming it. */
export function parseLabelOptions(options: readonly string[]): Map<string, string> {
  const labels = new Map<string, string>();
  for (const option of options) {
    const equals = option.indexOf('=');
    const name = equals < 0 ? option : option.slice(0, equals);
    if (equals < 0) throw new TargetLabelError(`--label ${option}: expected name=value (e.g. --label job=codearts-build-exporter)`);
    if (!LABEL_NAME.test(name) || name.startsWith('__'))
      throw new TargetLabelError(
        `--label ${option}: '${name}' is not a label name Prometheus keeps ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`,
      );
    if (SERIES_LABELS.includes(name)) throw new TargetLabelError(`--label ${option}: '${name}' is a label of the build series themselves`);
    if (labels.has(name)) throw new TargetLabelError(`--label ${option}: '${name}' is given twice`);
    labels.set(name, option.slice(equals + 1));
  }
  return labels;
}

interface ScrapeConfig {
  job_name?: unknown;
  static_configs?: Array<{ targets?: unknown; labels?: unknown }>;
}

/**
 * The target labels Prometheus gives the exporter's series: `job` (the scrape config's job_name),
 * `instance` (the target's address) and the static config's own labels, from the scrape config
 * whose static target has the exporter's port. Undefined when no target has that port.
 */
export async function targetLabelsFromPrometheusConfig(path: string, port: number): Promise<Map<string, string> | undefined> {
  let config: { scrape_configs?: ScrapeConfig[] } | null;
  try {
    config = parse(await readFile(path, 'utf8')) as { scrape_configs?: ScrapeConfig[] } | null;
  } catch (error) {
    throw new TargetLabelError(`--prometheus-config ${path}: ${(error as Error).message}`);
  }
  for (const scrape of config?.scrape_configs ?? []) {
    for (const group of scrape.static_configs ?? []) {
      const targets = Array.isArray(group.targets) ? group.targets.filter((t): t is string => typeof t === 'string') : [];
      const target = targets.find((address) => address.endsWith(`:${port}`));
      if (!target || typeof scrape.job_name !== 'string') continue;
      const labels = new Map<string, string>([
        ['job', scrape.job_name],
        ['instance', target],
      ]);
      if (group.labels && typeof group.labels === 'object')
        for (const [name, value] of Object.entries(group.labels)) if (typeof value === 'string') labels.set(name, value);
      return labels;
    }
  }
  return undefined;
}

/** The labels in exposition text, `job="…",instance="…"`. */
export function labelText(labels: ReadonlyMap<string, string>): string {
  return [...labels].map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',');
}
