/** Helpers for the Prometheus text format 0.0.4. */

import { jobLabelPairs, type JobRef } from '../domain/job.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The formats `/metrics` is rendered in: the Prometheus text format 0.0.4, or OpenMetrics 1.0 when
 * the scraper asks for it (src/metrics/openmetrics.ts, src/server/negotiation.ts).
 */
export type ExpositionFormat = 'text' | 'openmetrics';
export const EXPOSITION_FORMATS: readonly ExpositionFormat[] = ['text', 'openmetrics'];

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A job's identifying labels (`jobLabelPairs`) as exposition text: `job_id="…",job_name="…"[,project="…"]`. */
export function jobLabelText(job: JobRef): string {
  return jobLabelPairs(job)
    .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
    .join(',');
}

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export function familyHeader(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}
