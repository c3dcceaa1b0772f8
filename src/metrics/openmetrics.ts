/**
 * OpenMetrics 1.0 text format (docs/metrics.md, "OpenMetrics and exemplars"): what differs from the
 * Prometheus text format 0.0.4. Family metadata is TYPE, UNIT, HELP (a counter family is named
 * without `_total`, an info family without `_info`; HELP escapes `"` too); `le` label values are
 * canonical numbers (`60.0`, `1e+06`); bucket samples may carry an exemplar; the body ends with
 * `# EOF`. Sample lines of counters and gauges are the same in both formats.
 */

import { escapeLabelValue, formatValue } from './exposition.js';
import { textPart, type ExpositionPart } from './exposition-part.js';

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** The last line of every OpenMetrics body; one object, so its gzip piece is made once. */
export const OPENMETRICS_EOF: ExpositionPart = textPart('# EOF\n');

/** Units a family name may end in (the UNIT line); the name is the unit's only source. */
const UNITS = ['seconds', 'bytes'] as const;

export type OpenMetricsType = 'counter' | 'gauge' | 'histogram' | 'info' | 'summary' | 'unknown';

/** Escaping of HELP text and label values (OpenMetrics ABNF `escaped-string`): backslash, line feed, double quote. */
export function escapeOpenMetrics(text: string): string {
  return escapeLabelValue(text);
}

/** The family name OpenMetrics metadata uses: a counter without its `_total`, an info without its `_info`. */
export function openMetricsFamilyName(name: string, type: OpenMetricsType): string {
  if (type === 'counter') return name.replace(/_total$/, '');
  if (type === 'info') return name.replace(/_info$/, '');
  return name;
}

/** `# TYPE`, `# UNIT` (when the name ends in a unit) and `# HELP` of a family, in the order the spec asks. */
export function openMetricsHeader(name: string, type: OpenMetricsType, help: string): string {
  const family = openMetricsFamilyName(name, type);
  const unit = type === 'info' || type === 'unknown' ? undefined : UNITS.find((candidate) => family.endsWith(`_${candidate}`));
  const unitLine = unit ? `# UNIT ${family} ${unit}\n` : '';
  return `# TYPE ${family} ${type}\n${unitLine}# HELP ${family} ${escapeOpenMetrics(help)}\n`;
}

/**
 * A number as OpenMetrics wants `le` label values ("Canonical Numbers"): Go's shortest `%g` (an
 * exponent from 1e+06 up and below 1e-04, at least two exponent digits) with `.0` appended to an
 * integer, and `+Inf`. 60 is `60.0`, 0.5 is `0.5`, 1000000 is `1e+06`, 0.00001 is `1e-05`.
 */
export function canonicalNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  // toExponential() without digits: the shortest mantissa that reads back as the same double, as Go's 'g' with precision -1.
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const fixed = String(value);
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

/** One exemplar of a histogram bucket: the rendered label set, the observed value, Unix seconds. */
export interface Exemplar {
  /** `build_no="12",build_record_id="…"`: at most EXEMPLAR_LABELS_MAX code points of names and values. */
  labels: string;
  value: number;
  timestamp: number;
}

/** OpenMetrics 1.0: the label names and values of an exemplar together hold at most this many UTF-8 code points. */
export const EXEMPLAR_LABELS_MAX = 128;

const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

/**
 * An exemplar's label set within EXEMPLAR_LABELS_MAX: the pairs are taken in the order given (the
 * most important first) and a pair that would pass the limit is left out whole, never cut (a cut
 * id would point at another build or at nothing). Pairs without a value are left out. Undefined
 * when not even the first pair fits.
 */
export function exemplarLabels(pairs: ReadonlyArray<readonly [string, string | undefined]>): string | undefined {
  let used = 0;
  const kept: string[] = [];
  for (const [name, value] of pairs) {
    if (value === undefined || value === '') continue;
    const length = codePoints(name) + codePoints(value);
    if (used + length > EXEMPLAR_LABELS_MAX) {
      if (kept.length === 0) return undefined;
      continue;
    }
    used += length;
    kept.push(`${name}="${escapeLabelValue(value)}"`);
  }
  return kept.length > 0 ? kept.join(',') : undefined;
}

/** ` # {labels} value timestamp`: what follows a bucket sample that has an exemplar. */
export function exemplarSuffix(exemplar: Exemplar | undefined): string {
  if (!exemplar) return '';
  return ` # {${exemplar.labels}} ${formatValue(exemplar.value)} ${formatValue(Math.round(exemplar.timestamp * 1000) / 1000)}`;
}

/**
 * The exemplars of one histogram series, one per bucket (the bounds' buckets, then +Inf): the
 * observation with the newest timestamp that fell in the bucket (the smallest bound it does not
 * exceed). Older ones never replace newer ones, so Prometheus, which refuses an exemplar older than
 * the last it stored for a series, sees them in order.
 */
export class BucketExemplars {
  private readonly slots: Array<Exemplar | undefined>;

  constructor(private readonly bounds: readonly number[]) {
    this.slots = new Array<Exemplar | undefined>(bounds.length + 1);
  }

  /** Keeps the exemplar if it is the newest of its bucket; says whether it was kept. */
  offer(exemplar: Exemplar): boolean {
    let index = this.bounds.findIndex((bound) => exemplar.value <= bound);
    if (index < 0) index = this.bounds.length;
    const current = this.slots[index];
    if (current && current.timestamp >= exemplar.timestamp) return false;
    this.slots[index] = exemplar;
    return true;
  }

  /** The exemplar of bucket `index` (`bounds.length`: +Inf). */
  at(index: number): Exemplar | undefined {
    return this.slots[index];
  }
}

interface Sample {
  name: string;
  /** Label names and values as written (escaped). */
  labels: Array<[string, string]>;
  /** Everything after the closing brace (or the name): ` value[ timestamp]`. */
  rest: string;
}

/** A text format sample line split into name, labels and the rest; undefined when it is not one. */
function parseSample(line: string): Sample | undefined {
  const nameEnd = line.search(/[{ ]/);
  if (nameEnd <= 0) return undefined;
  const name = line.slice(0, nameEnd);
  if (line[nameEnd] === ' ') return { name, labels: [], rest: line.slice(nameEnd) };
  const labels: Array<[string, string]> = [];
  let i = nameEnd + 1;
  while (line[i] !== '}') {
    const eq = line.indexOf('="', i);
    if (eq < 0) return undefined;
    const label = line.slice(i, eq);
    let j = eq + 2;
    while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
    if (j >= line.length) return undefined;
    labels.push([label, line.slice(eq + 2, j)]);
    i = j + 1;
    if (line[i] === ',') i += 1;
    if (i >= line.length) return undefined;
  }
  return { name, labels, rest: line.slice(i + 1) };
}

/** HELP text of the text format 0.0.4 (backslash and line feed escaped) as plain text. */
function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/**
 * The text format 0.0.4 of a prom-client registry as OpenMetrics (without `# EOF`): metadata
 * rewritten (TYPE, UNIT, HELP; counters named without `_total`), blank lines dropped, counter
 * samples given their `_total`, `le` values made canonical. prom-client's own OpenMetrics mode is
 * not used: it renames the registry's counters for good and writes `le` as in the text format.
 */
export function registryToOpenMetrics(text: string): string {
  const out: string[] = [];
  const help = new Map<string, string>();
  let counter: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const space = line.indexOf(' ', 7);
      help.set(line.slice(7, space < 0 ? undefined : space), space < 0 ? '' : unescapeHelp(line.slice(space + 1)));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name = '', type = 'untyped'] = line.split(' ');
      counter = type === 'counter' ? name : undefined;
      const omType = (type === 'untyped' ? 'unknown' : type) as OpenMetricsType;
      out.push(openMetricsHeader(name, omType, help.get(name) ?? '').slice(0, -1));
      continue;
    }
    if (line.startsWith('#')) continue;
    out.push(convertSample(line, counter));
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

function convertSample(line: string, counter: string | undefined): string {
  const sample = parseSample(line);
  if (!sample) return line;
  const name = counter !== undefined && !sample.name.endsWith('_total') ? `${sample.name}_total` : sample.name;
  const bucket = name.endsWith('_bucket');
  if (name === sample.name && !bucket) return line;
  const labels = sample.labels.map(([label, value]) => (bucket && label === 'le' ? `le="${canonicalLe(value)}"` : `${label}="${value}"`));
  return `${name}${labels.length > 0 ? `{${labels.join(',')}}` : ''}${sample.rest}`;
}

/** An `le` value of the text format as a canonical number (left alone when it is not a number). */
function canonicalLe(value: string): string {
  const bound = value === '+Inf' ? Infinity : Number(value);
  return value === '' || Number.isNaN(bound) ? value : canonicalNumber(bound);
}

/** A whole body's parts: in OpenMetrics, followed by `# EOF`. */
export function wholeBody(parts: ExpositionPart[], format: 'text' | 'openmetrics'): ExpositionPart[] {
  return format === 'openmetrics' ? [...parts, OPENMETRICS_EOF] : parts;
}
