import type { ExpositionPart } from '../../src/metrics/exposition-part.js';
import { parseSampleLine } from './openmetrics.js';

/** A parsed sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses exposition text into samples (comments skipped); throws on a malformed line. Reads
 * OpenMetrics too (`# EOF`, UNIT lines, exemplars, which are left out of the samples).
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.includes(' # {')) {
      const { name, labels, value } = parseSampleLine(line);
      samples.push({ name, labels, value });
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`malformed exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[3] ?? '';
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const label of body.matchAll(labelPattern)) {
      labels[label[1] ?? ''] = (label[2] ?? '').replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const raw = match[4] ?? '';
    samples.push({ name: match[1] ?? '', labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return samples;
}

/** Samples of one metric whose labels include all of `where`. */
export function select(samples: Sample[], name: string, where: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
}

/** The value of the single sample matching, or undefined when there is none. */
export function valueOf(samples: Sample[], name: string, where: Record<string, string> = {}): number | undefined {
  const found = select(samples, name, where);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(where)}`);
  return found[0]?.value;
}

/** The text of exposition parts, as the exporter joins them for a scrape (BuildMetrics.parts(), SelfMetrics.parts(), ...). */
export function partsText(parts: readonly ExpositionPart[]): string {
  return parts.map((part) => part.text()).join('');
}
