/**
 * OpenMetrics 1.0 rendering: canonical numbers, the exemplar label limit, which exemplar a bucket
 * keeps, and the whole body of a representative store (test/helpers/golden-store.ts) and of the
 * self-metrics: valid per a strict checker and per Prometheus' own parser (promtool), the same
 * samples as the text format, the exemplars of the builds that fell in each bucket. The text
 * format stays as the golden files say, exemplars or not.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CountedBuild } from '../../src/domain/counters.js';
import { BuildMetrics, type BuildMetricsOptions } from '../../src/metrics/build-metrics.js';
import {
  BucketExemplars,
  canonicalNumber,
  EXEMPLAR_LABELS_MAX,
  exemplarLabels,
  registryToOpenMetrics,
  wholeBody,
} from '../../src/metrics/openmetrics.js';
import { SelfMetrics } from '../../src/metrics/self-metrics.js';
import { itWithBinary } from '../helpers/binaries.js';
import { parseExposition, partsText, type Sample } from '../helpers/exposition.js';
import { GOLDEN_EPOCH, GOLDEN_OPTIONS, goldenBuildMetrics } from '../helpers/golden-store.js';
import { openMetricsSamples, parseOpenMetrics, promtoolParse, type OmSample } from '../helpers/openmetrics.js';

const itPromtool = itWithBinary('promtool');
const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'golden');
const BUSY = 'a0000000000000000000000000000001';
const AWKWARD = 'a0000000000000000000000000000002';

const om = (metrics: BuildMetrics) => partsText(wholeBody(metrics.parts('openmetrics'), 'openmetrics'));

/** A sample as the other format would write it: OpenMetrics `le` values are canonical numbers. */
const key = (name: string, labels: Record<string, string>, value: number) => {
  const le = labels.le;
  const canonical = le === undefined || le === '+Inf' ? le : canonicalNumber(Number(le));
  return JSON.stringify([name, Object.entries({ ...labels, ...(le === undefined ? {} : { le: canonical }) }).sort(), value]);
};

function bucket(samples: OmSample[], name: string, where: Record<string, string>): OmSample | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
  expect(found.length, `${name} ${JSON.stringify(where)}`).toBeLessThanOrEqual(1);
  return found[0];
}

describe('canonical numbers (le)', () => {
  it('renders the spec examples as the spec does', () => {
    const spec = ['0.0', '0.001', '0.002', '0.01', '0.1', '0.9', '0.95', '0.99', '0.999', '1.0', '1.7', '10.0'];
    expect(spec.map((text) => canonicalNumber(Number(text)))).toEqual(spec);
    const powers = ['1e-10', '1e-09', '1e-05', '0.0001', '0.1', '1.0', '100000.0', '1e+06', '1e+10'];
    expect(powers.map((text) => canonicalNumber(Number(text)))).toEqual(powers);
  });

  it('writes the default buckets and other values like Go %g with .0', () => {
    expect([30, 60, 7200, 604800, 1.5, 2.5e6, 123456789, 0.00012, 1e21, Infinity].map(canonicalNumber)).toEqual([
      '30.0',
      '60.0',
      '7200.0',
      '604800.0',
      '1.5',
      '2.5e+06',
      '1.23456789e+08',
      '0.00012',
      '1e+21',
      '+Inf',
    ]);
  });
});

describe('exemplar labels: at most 128 code points of names and values', () => {
  const id = (length: number) => 'r'.repeat(length);

  it('keeps build_no and build_record_id while they fit, up to exactly 128', () => {
    // build_no (8) + "42" (2) + build_record_id (15) = 25: a record id of 103 fills the 128.
    expect(
      exemplarLabels([
        ['build_no', '42'],
        ['build_record_id', id(103)],
      ]),
    ).toBe(`build_no="42",build_record_id="${id(103)}"`);
    expect(EXEMPLAR_LABELS_MAX).toBe(128);
  });

  it('drops a pair that would pass the limit whole, never cutting it; the build number stays', () => {
    expect(
      exemplarLabels([
        ['build_no', '42'],
        ['build_record_id', id(104)],
      ]),
    ).toBe('build_no="42"');
    // Fleet-wide histograms: the job id goes before the record id, which is the one dropped.
    const jobId = 'a'.repeat(32);
    expect(
      exemplarLabels([
        ['build_no', '7'],
        ['job_id', jobId],
        ['build_record_id', id(80)],
      ]),
    ).toBe(`build_no="7",job_id="${jobId}"`);
  });

  it('counts code points, not UTF-16 units or bytes', () => {
    // 102 astral characters: 204 UTF-16 units, 408 bytes, 102 code points: 8 + 2 + 15 + 102 = 127.
    const astral = '😀'.repeat(102);
    expect(
      exemplarLabels([
        ['build_no', '42'],
        ['build_record_id', astral],
      ]),
    ).toBe(`build_no="42",build_record_id="${astral}"`);
  });

  it('leaves out empty values, and gives nothing when the first pair does not fit', () => {
    expect(
      exemplarLabels([
        ['build_no', '1'],
        ['build_record_id', undefined],
      ]),
    ).toBe('build_no="1"');
    expect(exemplarLabels([['build_no', '1'.repeat(121)]])).toBeUndefined();
  });
});

describe('the exemplar a bucket keeps', () => {
  it('is the newest observation that fell in it (the smallest bound it does not exceed; +Inf above the last)', () => {
    const kept = new BucketExemplars([30, 60]);
    expect(kept.offer({ labels: 'build_no="1"', value: 30, timestamp: 100 })).toBe(true);
    expect(kept.offer({ labels: 'build_no="2"', value: 45, timestamp: 200 })).toBe(true);
    expect(kept.offer({ labels: 'build_no="3"', value: 61, timestamp: 50 })).toBe(true);
    // Older than the one kept: Prometheus would refuse it as out of order.
    expect(kept.offer({ labels: 'build_no="4"', value: 20, timestamp: 99 })).toBe(false);
    expect(kept.offer({ labels: 'build_no="5"', value: 20, timestamp: 100 })).toBe(false);
    expect(kept.offer({ labels: 'build_no="6"', value: 0.5, timestamp: 101 })).toBe(true);
    expect([0, 1, 2].map((i) => kept.at(i)?.labels)).toEqual(['build_no="6"', 'build_no="2"', 'build_no="3"']);
  });
});

describe('the golden store in OpenMetrics', () => {
  for (const layout of ['per-job', 'fleet'] as const) {
    describe(layout, () => {
      const metrics = goldenBuildMetrics(GOLDEN_OPTIONS[layout], { exemplars: true });
      const body = om(metrics);

      it('is valid OpenMetrics with # EOF, canonical le, cumulative buckets and exemplars inside them', () => {
        const families = parseOpenMetrics(body);
        expect(families.find((f) => f.name === 'codearts_builds')).toMatchObject({ type: 'counter' });
        expect(families.find((f) => f.name === 'codearts_build_duration_seconds')).toMatchObject({ type: 'histogram', unit: 'seconds' });
        expect(families.find((f) => f.name === 'codearts_build_last_finished_timestamp_seconds')).toMatchObject({ unit: 'seconds' });
        expect(body).toMatch(/^# TYPE codearts_builds counter\n# HELP codearts_builds Finished builds by result\./);
      });

      itPromtool('parses with Prometheus’ OpenMetrics parser (promtool tsdb create-blocks-from openmetrics)', () => {
        expect(() => promtoolParse(body)).not.toThrow();
      });

      it('holds exactly the samples of the text format, le written canonically', () => {
        const text = partsText(metrics.parts());
        const fromText = parseExposition(text).map((s: Sample) => key(s.name, s.labels, s.value));
        const fromOm = openMetricsSamples(body).map((s) => key(s.name, s.labels, s.value));
        expect(fromOm.sort()).toEqual(fromText.sort());
      });

      it('leaves the text format byte for byte as the golden file says', () => {
        expect(partsText(metrics.parts())).toBe(readFileSync(join(GOLDEN, `text-${layout}.txt`), 'utf8'));
      });
    });
  }

  it('per-job histograms: each bucket carries the newest build that fell in it, with its build number, record id, value and time', () => {
    const samples = openMetricsSamples(om(goldenBuildMetrics(GOLDEN_OPTIONS['per-job'], { exemplars: true })));
    const duration = (result: string, le: string) =>
      bucket(samples, 'codearts_build_duration_seconds_bucket', { job_id: BUSY, result, le })?.exemplar;
    const record = (buildNo: number) => `rec-${buildNo.toString().padStart(4, '0')}-0000-0000-0000-000000000000`;
    expect(duration('success', '30.0')).toEqual({
      labels: { build_no: '1', build_record_id: record(1) },
      value: 12.5,
      timestamp: GOLDEN_EPOCH + 600,
    });
    expect(duration('success', '60.0')?.labels.build_no).toBe('2');
    expect(duration('success', '120.0')?.labels.build_no).toBe('4');
    expect(duration('success', '+Inf')).toMatchObject({ labels: { build_no: '7' }, value: 9000.75 });
    expect(duration('success', '300.0')).toBeUndefined();
    expect(duration('failure', '60.0')).toMatchObject({ labels: { build_no: '3' }, value: 59.999 });
    expect(duration('timeout', '7200.0')).toMatchObject({ labels: { build_no: '6' }, value: 7200 });
    const queue = (le: string) => bucket(samples, 'codearts_build_queue_duration_seconds_bucket', { job_id: BUSY, le })?.exemplar;
    // Builds 1, 3 and 9 waited at most 1 s: the newest (9) is kept.
    expect(queue('1.0')).toEqual({ labels: { build_no: '9', build_record_id: record(9) }, value: 0, timestamp: GOLDEN_EPOCH + 5400 });
    // A pending build's wait, stamped with the end of its wait.
    expect(queue('5.0')).toEqual({ labels: { build_no: '10', build_record_id: record(10) }, value: 2.5, timestamp: GOLDEN_EPOCH + 6002.5 });
    expect(queue('60.0')?.labels.build_no).toBe('11');
    // Steps and recovery histograms have no exemplars.
    expect(samples.filter((s) => s.exemplar && !/^codearts_build_(queue_)?duration_seconds_bucket$/.test(s.name))).toEqual([]);
  });

  it('fleet-wide histograms: exemplars name the job too', () => {
    const samples = openMetricsSamples(om(goldenBuildMetrics(GOLDEN_OPTIONS.fleet, { exemplars: true })));
    const fast = bucket(samples, 'codearts_build_duration_seconds_bucket', { result: 'success', branch: 'release/1.0', le: '0.5' });
    expect(fast?.labels.job_id).toBeUndefined();
    expect(fast?.exemplar).toMatchObject({ labels: { build_no: '1', job_id: AWKWARD }, value: 0.001 });
    const slow = bucket(samples, 'codearts_build_duration_seconds_bucket', { result: 'success', branch: 'release/1.0', le: '1e+06' });
    expect(slow?.exemplar).toMatchObject({ labels: { build_no: '7', job_id: BUSY }, value: 9000.75 });
  });
});

describe('exemplars and the rest of the body', () => {
  const options: BuildMetricsOptions = {
    ...GOLDEN_OPTIONS['per-job'],
    consoleLink: (job) => ({ prefix: `https://c.example/${job.id}/`, suffix: '' }),
  };
  const build = (buildNo: number, extra: Partial<CountedBuild> = {}): CountedBuild => ({
    buildNo,
    result: 'success',
    triggerType: 'manual',
    durationSeconds: 50,
    queueSeconds: 2,
    labels: { branch: '', repo_name: '', build_type: '', build_config_type: '', executor: '' },
    recordId: 'r'.repeat(36),
    finishedAt: GOLDEN_EPOCH + buildNo,
    startedAt: GOLDEN_EPOCH + buildNo - 50,
    ...extra,
  });

  it('a record id that would pass 128 code points is left out; a build without a time gives no exemplar', () => {
    const metrics = new BuildMetrics(options);
    metrics.setJob({ id: BUSY, name: 'job' });
    metrics.observe(BUSY, {
      counted: [build(1, { recordId: 'x'.repeat(200) }), build(2, { durationSeconds: 100, finishedAt: undefined, startedAt: undefined })],
    });
    const samples = openMetricsSamples(om(metrics));
    expect(bucket(samples, 'codearts_build_duration_seconds_bucket', { result: 'success', le: '60.0' })).toBeUndefined();
    // The job has no histogram series yet (nothing shown): exemplars wait for the counts, but are kept.
    metrics.show(BUSY, {
      counters: {
        series: [{ result: 'success', labels: [], builds: 2, duration: { buckets: [0, 1, 1], sumMs: 150_000, count: 2 } }],
        triggers: {},
      },
      state: { cursor: 2, pending: [], queueObserved: [], skipped: [], unconfirmed: [], notFoundOnce: [], firstSeen: {} },
    });
    const shown = openMetricsSamples(om(metrics));
    expect(bucket(shown, 'codearts_build_duration_seconds_bucket', { result: 'success', le: '60.0' })?.exemplar).toEqual({
      labels: { build_no: '1' },
      value: 50,
      timestamp: GOLDEN_EPOCH + 1,
    });
    expect(bucket(shown, 'codearts_build_duration_seconds_bucket', { result: 'success', le: '120.0' })?.exemplar).toBeUndefined();
  });

  it('an exemplar change re-renders OpenMetrics only; an older observation changes nothing', () => {
    const metrics = new BuildMetrics(options);
    metrics.setJob({ id: BUSY, name: 'job' });
    metrics.observe(BUSY, { counted: [build(10)] });
    const text = partsText(metrics.parts());
    const textParts = metrics.parts();
    const version = metrics.version;
    metrics.observe(BUSY, { counted: [build(5)] });
    expect(metrics.version).toBe(version);
    metrics.observe(BUSY, { counted: [build(20)] });
    expect(metrics.version).toBeGreaterThan(version);
    expect(metrics.parts()).toEqual(textParts);
    expect(metrics.parts().every((part, i) => part === textParts[i])).toBe(true);
    expect(partsText(metrics.parts())).toBe(text);
  });

  it('the console link is a gauge in the text format and an info family in OpenMetrics', () => {
    const metrics = new BuildMetrics(options);
    metrics.setJob({ id: BUSY, name: 'job', project: 'f0000000000000000000000000000001' });
    const line = `codearts_job_console_link_info{job_id="${BUSY}",job_name="job",project="f0000000000000000000000000000001",url_prefix="https://c.example/${BUSY}/",url_suffix=""} 1`;
    expect(partsText(metrics.parts())).toContain(`# TYPE codearts_job_console_link_info gauge\n${line}\n`);
    const body = om(metrics);
    expect(body).toContain(`# TYPE codearts_job_console_link info\n# HELP codearts_job_console_link Link to the job's builds`);
    expect(body).toContain(`\n${line}\n`);
    expect(parseOpenMetrics(body).find((f) => f.name === 'codearts_job_console_link')?.samples).toHaveLength(1);
  });

  itPromtool('self and process metrics (prom-client) convert to OpenMetrics Prometheus parses', async () => {
    const self = new SelfMetrics('1.2.3');
    self.addJob(BUSY, 'job "one"');
    self.polls.inc({ outcome: 'success' });
    self.apiRequestDuration.observe({ endpoint: 'record-info' }, 0.3);
    self.lastSuccessfulPoll.set({ job_id: BUSY, job_name: 'job "one"' }, GOLDEN_EPOCH);
    const metrics = goldenBuildMetrics(GOLDEN_OPTIONS['per-job'], { exemplars: true });
    const body = partsText(wholeBody([...metrics.parts('openmetrics'), ...(await self.parts(0, 'openmetrics'))], 'openmetrics'));
    const families = parseOpenMetrics(body);
    expect(families.find((f) => f.name === 'codearts_exporter_polls')).toMatchObject({ type: 'counter' });
    expect(families.find((f) => f.name === 'codearts_exporter_invalid_records')?.samples[0]?.name).toBe(
      'codearts_exporter_invalid_records_total',
    );
    expect(families.find((f) => f.name === 'process_cpu_seconds')).toMatchObject({ type: 'counter', unit: 'seconds' });
    expect(families.find((f) => f.name === 'codearts_exporter_api_request_duration_seconds')?.samples[0]?.labels.le).toBe('0.05');
    expect(body).toContain('codearts_exporter_api_request_duration_seconds_bucket{le="1.0",endpoint="record-info"} 1\n');
    expect(() => promtoolParse(body)).not.toThrow();
    // The registry itself is untouched: its text format keeps every counter's _total.
    expect(await self.registry.metrics()).toContain('# TYPE codearts_exporter_polls_total counter');
  });

  it('converts HELP escaping, counters without _total and le values of a registry text', () => {
    const text = [
      '# HELP a_total Said "hi" \\\\ twice\\nand more',
      '# TYPE a_total counter',
      'a_total{x="y"} 1',
      '',
      '# HELP b Counts.',
      '# TYPE b counter',
      'b{l="le=\\"1\\""} 2',
      '',
      '# HELP c_bytes Sizes.',
      '# TYPE c_bytes histogram',
      'c_bytes_bucket{le="1024",x="a,le=\\"3\\""} 1',
      'c_bytes_bucket{le="+Inf",x="a,le=\\"3\\""} 1',
      'c_bytes_sum{x="a,le=\\"3\\""} 10',
      'c_bytes_count{x="a,le=\\"3\\""} 1',
      '',
    ].join('\n');
    expect(registryToOpenMetrics(text)).toBe(
      [
        '# TYPE a counter',
        '# HELP a Said \\"hi\\" \\\\ twice\\nand more',
        'a_total{x="y"} 1',
        '# TYPE b counter',
        '# HELP b Counts.',
        'b_total{l="le=\\"1\\""} 2',
        '# TYPE c_bytes histogram',
        '# UNIT c_bytes bytes',
        '# HELP c_bytes Sizes.',
        'c_bytes_bucket{le="1024.0",x="a,le=\\"3\\""} 1',
        'c_bytes_bucket{le="+Inf",x="a,le=\\"3\\""} 1',
        'c_bytes_sum{x="a,le=\\"3\\""} 10',
        'c_bytes_count{x="a,le=\\"3\\""} 1',
        '',
      ].join('\n'),
    );
  });
});
