/**
 * OpenMetrics 1.0 text for tests: a strict parser that checks what Prometheus' own parser does not
 * (metadata order and uniqueness, families not interleaved, counter `_total` and info `_info`
 * samples, UNIT a suffix of the name, canonical and cumulative buckets ending in +Inf, exemplars
 * only on buckets and counters, inside their bucket, within 128 code points, `# EOF` last), and
 * promtool, which parses it with Prometheus' OpenMetrics parser.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OmExemplar {
  labels: Record<string, string>;
  value: number;
  timestamp: number | undefined;
}

export interface OmSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  exemplar?: OmExemplar;
}

export interface OmFamily {
  name: string;
  type: string;
  unit?: string;
  help?: string;
  samples: OmSample[];
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity)$|^nan$/i;

function parseNumber(text: string, what: string): number {
  if (!NUMBER.test(text)) throw new Error(`${what}: not a number: ${JSON.stringify(text)}`);
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower.includes('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Reads `{a="b",…}` at `at`; returns the labels (in order) and the index after the brace. */
function readLabels(line: string, at: number): { labels: Array<[string, string]>; end: number } {
  if (line[at] !== '{') throw new Error(`expected "{" in ${line}`);
  const labels: Array<[string, string]> = [];
  let i = at + 1;
  while (line[i] !== '}') {
    const match = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
    if (!match?.[1]) throw new Error(`bad label at ${i} in ${line}`);
    let j = i + match[0].length;
    let value = '';
    while (line[j] !== '"') {
      if (j >= line.length) throw new Error(`unterminated label value in ${line}`);
      if (line[j] === '\\') {
        const next = line[j + 1];
        if (next !== 'n' && next !== '"' && next !== '\\') throw new Error(`undefined escape \\${next} in ${line}`);
        value += line.slice(j, j + 2);
        j += 2;
      } else {
        value += line.charAt(j);
        j += 1;
      }
    }
    labels.push([match[1], unescape(value)]);
    i = j + 1;
    if (line[i] === ',') i += 1;
    else if (line[i] !== '}') throw new Error(`expected "," or "}" at ${i} in ${line}`);
  }
  return { labels, end: i + 1 };
}

/** One sample line (either format), its exemplar included. */
export function parseSampleLine(line: string): OmSample & { timestamp: number | undefined } {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (!name) throw new Error(`bad sample line: ${line}`);
  let rest = line.slice(name.length);
  let labels: Array<[string, string]> = [];
  if (rest.startsWith('{')) {
    const read = readLabels(rest, 0);
    labels = read.labels;
    rest = rest.slice(read.end);
  }
  const names = labels.map(([label]) => label);
  if (new Set(names).size !== names.length) throw new Error(`duplicate label in ${line}`);
  const hash = rest.indexOf(' # ');
  const head = (hash < 0 ? rest : rest.slice(0, hash)).split(' ');
  if (head[0] !== '' || head.length < 2 || head.length > 3) throw new Error(`bad value/timestamp in ${line}`);
  const sample: OmSample & { timestamp: number | undefined } = {
    name,
    labels: Object.fromEntries(labels),
    value: parseNumber(head[1] ?? '', line),
    timestamp: head[2] === undefined ? undefined : parseNumber(head[2], line),
  };
  if (hash >= 0) {
    const ex = rest.slice(hash + 3);
    const read = readLabels(ex, 0);
    const tail = ex.slice(read.end).split(' ');
    if (tail[0] !== '' || tail.length < 2 || tail.length > 3) throw new Error(`bad exemplar in ${line}`);
    sample.exemplar = {
      labels: Object.fromEntries(read.labels),
      value: parseNumber(tail[1] ?? '', line),
      timestamp: tail[2] === undefined ? undefined : parseNumber(tail[2], line),
    };
    // Code points: Array.from iterates a string by them.
    const length = read.labels.reduce((sum, [k, v]) => sum + Array.from(k).length + Array.from(v).length, 0);
    if (length > 128) throw new Error(`exemplar label set of ${length} code points (> 128) in ${line}`);
  }
  return sample;
}

const SUFFIXES: Record<string, readonly string[]> = {
  counter: ['_total', '_created'],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  info: ['_info'],
  unknown: [''],
  summary: ['', '_sum', '_count', '_created'],
};

/** Parses an OpenMetrics body and checks it (see the file comment); throws with the reason. */
export function parseOpenMetrics(text: string): OmFamily[] {
  if (!text.endsWith('# EOF\n')) throw new Error('the body does not end with "# EOF\\n"');
  const lines = text.slice(0, -'# EOF\n'.length).split('\n');
  if (lines.pop() !== '') throw new Error('the line before # EOF does not end with a line feed');
  const families: OmFamily[] = [];
  const seen = new Set<string>();
  let current: OmFamily | undefined;
  let samplesStarted = false;
  for (const line of lines) {
    if (line === '') throw new Error('empty line');
    if (line.startsWith('#')) {
      const match = /^# (TYPE|UNIT|HELP) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
      if (!match) throw new Error(`bad comment line: ${line}`);
      const [, kind = '', name = '', value = ''] = match;
      if (current?.name !== name || samplesStarted) {
        if (seen.has(name)) throw new Error(`family ${name} appears twice (interleaved)`);
        seen.add(name);
        current = { name, type: 'unknown', samples: [] };
        families.push(current);
        samplesStarted = false;
      }
      if (kind === 'TYPE') {
        if (current.unit !== undefined || current.help !== undefined) throw new Error(`TYPE of ${name} after its UNIT or HELP`);
        if (!(value in SUFFIXES)) throw new Error(`unknown type ${value} of ${name}`);
        current.type = value;
      } else if (kind === 'UNIT') {
        if (current.unit !== undefined) throw new Error(`two UNIT lines for ${name}`);
        if (!name.endsWith(`_${value}`)) throw new Error(`UNIT ${value} is not a suffix of ${name}`);
        if (current.type === 'info') throw new Error(`info family ${name} with a unit`);
        current.unit = value;
      } else {
        if (current.help !== undefined) throw new Error(`two HELP lines for ${name}`);
        if (/\\[^n"\\]/.test(value.replace(/\\\\/g, ''))) throw new Error(`HELP of ${name} has an undefined escape`);
        current.help = unescape(value);
      }
      continue;
    }
    const sample = parseSampleLine(line);
    if (sample.timestamp !== undefined) throw new Error(`sample with a timestamp: ${line}`);
    if (!current) throw new Error(`sample before any metadata: ${line}`);
    const suffix = sample.name.slice(current.name.length);
    if (!sample.name.startsWith(current.name) || !(SUFFIXES[current.type] ?? []).includes(suffix)) {
      throw new Error(`sample ${sample.name} does not belong to ${current.type} family ${current.name}`);
    }
    if (sample.exemplar && !(suffix === '_bucket' || (current.type === 'counter' && suffix === '_total'))) {
      throw new Error(`exemplar on ${sample.name}, which is neither a bucket nor a counter total`);
    }
    if (current.type === 'info' && sample.value !== 1) throw new Error(`info sample ${sample.name} is not 1`);
    samplesStarted = true;
    current.samples.push(sample);
  }
  for (const family of families) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** Buckets: canonical `le`, cumulative, ending in +Inf equal to _count; exemplars inside their bucket. */
function checkHistogram(family: OmFamily): void {
  const byMetric = new Map<string, OmSample[]>();
  for (const sample of family.samples) {
    const { le: _le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    byMetric.set(key, [...(byMetric.get(key) ?? []), sample]);
  }
  for (const samples of byMetric.values()) {
    const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
    let previous = -Infinity;
    let previousCount = 0;
    for (const bucket of buckets) {
      const le = bucket.labels.le ?? '';
      const bound = le === '+Inf' ? Infinity : Number(le);
      if (le !== '+Inf' && !/[.e]/.test(le)) throw new Error(`le="${le}" of ${family.name} is not canonical (no "." or exponent)`);
      if (!(bound > previous)) throw new Error(`buckets of ${family.name} not in increasing order at le="${le}"`);
      if (bucket.value < previousCount) throw new Error(`buckets of ${family.name} not cumulative at le="${le}"`);
      if (bucket.exemplar && !(bucket.exemplar.value <= bound && bucket.exemplar.value > previous)) {
        throw new Error(`exemplar value ${bucket.exemplar.value} outside bucket (${previous}, ${le}] of ${family.name}`);
      }
      previous = bound;
      previousCount = bucket.value;
    }
    if (previous !== Infinity) throw new Error(`a ${family.name} metric has no +Inf bucket`);
    const count = samples.find((s) => s.name.endsWith('_count'));
    if (count && count.value !== previousCount) throw new Error(`${family.name}_count differs from its +Inf bucket`);
  }
}

/** Every sample of an OpenMetrics body, with its exemplar. */
export function openMetricsSamples(text: string): OmSample[] {
  return parseOpenMetrics(text).flatMap((family) => family.samples);
}

/**
 * Runs `promtool tsdb create-blocks-from openmetrics` on the body, which parses it with
 * Prometheus' OpenMetrics parser (the one a scrape uses). That command needs a timestamp on every
 * sample: one is inserted after each value, before any exemplar. Throws with promtool's output.
 */
export function promtoolParse(text: string, timestamp = 1_700_000_000): void {
  const stamped = text
    .split('\n')
    .map((line) => {
      if (line === '' || line.startsWith('#')) return line;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
      const labelsEnd = line[name.length] === '{' ? name.length + readLabels(line.slice(name.length), 0).end : name.length;
      const hash = line.indexOf(' # ', labelsEnd);
      return hash < 0 ? `${line} ${timestamp}` : `${line.slice(0, hash)} ${timestamp}${line.slice(hash)}`;
    })
    .join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'cbe-om-'));
  try {
    writeFileSync(join(dir, 'body.om'), stamped);
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'body.om'), join(dir, 'blocks')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool rejected the OpenMetrics body: ${stderr ?? ''}${stdout ?? ''}`, { cause: error });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
