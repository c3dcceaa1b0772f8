import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_NOT_FOUND_CODES, interpretResponse } from '../../src/codearts/envelope.js';
import { InvalidRecordError, parseRecord } from '../../src/codearts/record.js';
import { BUILD_RESULTS, MAX_PLAUSIBLE_SECONDS, RECORD_LABEL_NAMES, type BuildRecord } from '../../src/domain/build.js';
import { countDelta, emptyCounters, type CountedBuild } from '../../src/domain/counters.js';
import { emptyJobState } from '../../src/domain/job.js';
import { parseConfigText } from '../../src/config/load.js';
import { Exporter } from '../../src/exporter.js';
import { createLogger } from '../../src/log/logger.js';
import { BuildMetrics } from '../../src/metrics/build-metrics.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { select } from '../helpers/exposition.js';
import { parseExposition, partsText } from '../helpers/exposition.js';

/**
 * Acceptance 2 of issue 5 (record fuzzing). Random and mutated record-info bodies, starting from
 * the documented example, through the envelope and record parser: nothing but InvalidRecordError
 * ever escapes, and a record that is accepted has only plausible values. Then the same bodies from
 * a loopback server through a whole exporter cycle: the cycle never fails, each invalid body is
 * counted in codearts_exporter_invalid_records_total, and once the build answers properly it is
 * counted exactly once.
 */
const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/record-info-example.json', import.meta.url), 'utf8')) as {
  status: string;
  result: Record<string, unknown>;
};
const BUILD_NO = FIXTURE.result.build_no as number;
const NOT_FOUND = new Set<string>(DEFAULT_NOT_FOUND_CODES);
const PURE_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const HTTP_RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 200);
/** Fixed for a reproducible CI run; FUZZ_SEED explores further. */
const SEED = Number(process.env.FUZZ_SEED ?? 20260105);

// ---------------------------------------------------------------------------------------------
// Generators

const nastyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom('\\', '"', '\n', '\r', '\t', '\u2028', '\u0000', '{', '}', '=', ',', 'é', '🙂', 'a', ' '),
    maxLength: 30,
  }),
  fc.constantFrom('', ' ', 'null', 'undefined', 'NaN', '-1', '1e400', 'SUCCESS', 'ＳＵＣＣＥＳＳ', '\u200bSUCCESS', 'x'.repeat(10_000)),
);
const nastyNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, -1, 1, 0.5, 2 ** 31, 2 ** 53 + 1, 1e21, -1e21, 1e308, -1e308, 5e-324, MAX_PLAUSIBLE_SECONDS * 1000 + 1),
);
const nastyDate = fc.oneof(
  fc.date({ noInvalidDate: false }).map((date) => (Number.isNaN(date.getTime()) ? 'Invalid Date' : date.toISOString())),
  fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms).toISOString()),
  fc.constantFrom(
    '2022-10-11T08:28:42.000+00:00',
    '2022-10-11T08:28:42.000+14:00',
    '2022-10-11T08:28:42.000-12:00',
    '2022-10-11 08:28:42',
    '2022-13-45T99:99:99Z',
    '0000-00-00T00:00:00Z',
    '+275760-09-13T00:00:00.000Z',
    '-271821-04-20T00:00:00.000Z',
    '1970-01-01',
    '1665476922000',
    'yesterday',
    '',
  ),
  nastyText,
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const anyValue = fc.oneof(anyJson, nastyText, nastyNumber, nastyDate, fc.constant(null), fc.boolean(), fc.array(anyJson, { maxLength: 3 }));

const STATUSES = [
  'SUCCESS',
  'FAILURE',
  'FAILED',
  'ERROR',
  'SCHEDULE_FAILURE',
  'ABORTED',
  'CANCELED',
  'CANCELLED',
  'TIMEOUT',
  'RUNNING',
  'INQUEUE',
  'QUEUED',
  'PARTIAL_SUCCESS',
  'success',
  ' Running ',
  'unknown',
];
const FIELDS = Object.keys(FIXTURE.result);

/** A value of the kind a field is meant to hold, but possibly absurd. */
function typedValue(field: string): fc.Arbitrary<unknown> {
  if (field.endsWith('_time')) return nastyDate;
  if (field === 'status') return fc.oneof(fc.constantFrom(...STATUSES), nastyText);
  if (field === 'build_no')
    return fc.oneof(fc.constant(BUILD_NO), fc.constant(String(BUILD_NO)), nastyNumber, nastyText, fc.constant(`${BUILD_NO}.0`));
  if (field === 'duration' || field === 'use_private_slave') return nastyNumber;
  return nastyText;
}

type Mutation = { field: string; action: 'delete' } | { field: string; action: 'set'; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.constantFrom(...FIELDS, '__proto__', 'constructor', 'extra_junk').chain((field) =>
  fc.oneof(
    fc.constant<Mutation>({ field, action: 'delete' }),
    typedValue(field).map((value): Mutation => ({ field, action: 'set', value })),
    anyValue.map((value): Mutation => ({ field, action: 'set', value })),
  ),
);

function mutate(record: Record<string, unknown>, mutations: readonly Mutation[]): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(record);
  for (const m of mutations) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- fuzzing removes arbitrary fields on purpose
    if (m.action === 'delete') delete out[m.field];
    else Object.defineProperty(out, m.field, { value: m.value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The envelope around a (mutated) result. */
const envelope = (result: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: result.map((r) => ({ status: 'success', error: null, result: r })) },
    { weight: 1, arbitrary: result.map((r) => ({ status: 'success', result: r })) },
    {
      weight: 2,
      arbitrary: fc.record(
        { status: anyValue, error: anyValue, result, success: anyValue, error_code: anyValue, err_code: anyValue, error_msg: anyValue },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: anyValue },
  );

const mutatedBody = fc
  .tuple(fc.array(mutation, { maxLength: 4 }), fc.boolean())
  .chain(([mutations, nest]) =>
    envelope(fc.constant(mutate(FIXTURE.result, mutations)).map((r) => (nest ? { ...r, nested: { deeper: [r, { junk: r }] } } : r))),
  );

/** Text-level damage: truncation, numbers JSON cannot hold, double encoding, stray bytes. */
type Damage = 'none' | 'truncate' | 'huge-number' | 'string-json' | 'bom' | 'garbage-tail' | 'replace-char';
const damaged = (body: unknown) =>
  fc
    .tuple(
      fc.constantFrom<Damage>(
        'none',
        'none',
        'none',
        'none',
        'none',
        'none',
        'truncate',
        'huge-number',
        'string-json',
        'bom',
        'garbage-tail',
        'replace-char',
      ),
      fc.nat(),
      nastyText,
    )
    .map(([damage, n, junk]) => {
      const text = JSON.stringify(body) ?? 'undefined';
      switch (damage) {
        case 'none':
          return text;
        case 'truncate':
          return text.slice(0, n % (text.length + 1));
        case 'huge-number':
          return text
            .replace(/"duration":\s*[^,}]+/, '"duration":1e400')
            .replace(/"build_no":\s*[^,}]+/, n % 2 ? '"build_no":1e400' : `"build_no":${BUILD_NO}e0`);
        case 'string-json':
          return JSON.stringify(text);
        case 'bom':
          return `\ufeff${text}`;
        case 'garbage-tail':
          return text + junk;
        case 'replace-char': {
          const at = n % Math.max(1, text.length);
          return text.slice(0, at) + junk + text.slice(at + 1);
        }
      }
    });

const bodyText = fc.oneof(
  { weight: 8, arbitrary: mutatedBody.chain(damaged) },
  { weight: 1, arbitrary: envelope(anyValue).chain(damaged) },
  { weight: 1, arbitrary: nastyText },
);
const httpStatus = fc.oneof(
  { weight: 8, arbitrary: fc.constant(200) },
  { weight: 2, arbitrary: fc.constantFrom(201, 204, 301, 400, 401, 403, 404, 408, 422, 429, 500, 502, 503) },
);
/** Over HTTP a 204 carries no body at all, whatever the server writes. */
const httpStatusWithBody = httpStatus.filter((status) => status !== 204);

// ---------------------------------------------------------------------------------------------
// Invariants

const TRIGGER = /^[a-z][a-z0-9_]{0,39}$/;

/** What an accepted record must look like, whatever the body was. */
function checkRecord(record: BuildRecord, requested: number): void {
  expect(record.buildNo).toBe(requested);
  expect(typeof record.rawStatus).toBe('string');
  for (const seconds of [record.durationSeconds, record.queueSeconds]) {
    if (seconds === undefined) continue;
    expect(Number.isFinite(seconds) && seconds >= 0 && seconds <= MAX_PLAUSIBLE_SECONDS).toBe(true);
  }
  for (const at of [record.createdAt, record.startedAt, record.finishedAt]) if (at !== undefined) expect(Number.isFinite(at)).toBe(true);
  if (record.phase.finished) expect(BUILD_RESULTS).toContain(record.phase.result);
  expect(record.triggerType === 'unknown' || TRIGGER.test(record.triggerType)).toBe(true);
  for (const name of RECORD_LABEL_NAMES) expect(typeof record.labels[name]).toBe('string');
}

/** Why one exposition sample line is malformed (text-format escaping checked by hand), or undefined. */
function sampleLineProblem(line: string): string | undefined {
  const brace = line.indexOf('{');
  if (brace < 0) return /^[a-zA-Z_:][a-zA-Z0-9_:]* \S+$/.test(line) ? undefined : 'bad unlabelled sample';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(line.slice(0, brace))) return 'bad metric name';
  let i = brace + 1;
  for (;;) {
    const eq = line.indexOf('="', i);
    if (eq <= i || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(line.slice(i, eq))) return `bad label name at ${i}`;
    i = eq + 2;
    while (line[i] !== '"') {
      if (i >= line.length) return 'unterminated label value';
      if (line[i] === '\\') {
        if (!['\\', '"', 'n'].includes(line[i + 1] ?? '')) return `bad escape at ${i}`;
        i += 2;
      } else if (line[i] === '\n') return 'raw line break in a label value';
      else i += 1;
    }
    i += 1;
    if (line[i] === ',') {
      i += 1;
      continue;
    }
    if (line[i] !== '}') return `expected } at ${i}`;
    break;
  }
  return /^ \S+$/.test(line.slice(i + 1)) ? undefined : 'bad value';
}

// ---------------------------------------------------------------------------------------------

describe('record fuzzing: envelope + parser', () => {
  it(`never throws anything but InvalidRecordError, and accepted records are plausible (${PURE_RUNS} runs)`, () => {
    const tally = { notOk: 0, invalid: 0, accepted: 0, finished: 0, problems: 0 };
    fc.assert(
      fc.property(
        httpStatus,
        bodyText,
        fc.oneof(fc.constant(BUILD_NO), fc.integer({ min: 1, max: 2 ** 30 })),
        (status, text, requested) => {
          const envelope = interpretResponse(status, text, NOT_FOUND);
          if (!envelope.ok) {
            tally.notOk++;
            expect(['not_found', 'transient', 'permanent', 'unauthorized']).toContain(envelope.kind);
            expect(typeof envelope.detail).toBe('string');
            expect(envelope.detail.length).toBeLessThanOrEqual(201);
            return;
          }
          let record: BuildRecord;
          try {
            record = parseRecord('0123456789abcdef0123456789abcdef', requested, envelope.result);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidRecordError);
            expect((error as InvalidRecordError).issues.length).toBeGreaterThan(0);
            tally.invalid++;
            return;
          }
          tally.accepted++;
          if (record.phase.finished) tally.finished++;
          if (record.problems.length > 0) tally.problems++;
          checkRecord(record, requested);
        },
      ),
      { numRuns: PURE_RUNS, seed: SEED },
    );
    console.log(`fuzz-record (pure): ${PURE_RUNS} bodies: ${JSON.stringify(tally)}`);
    // The generators reach every outcome, not just the first guard.
    expect(tally.notOk).toBeGreaterThan(PURE_RUNS / 20);
    expect(tally.invalid).toBeGreaterThan(PURE_RUNS / 20);
    expect(tally.accepted).toBeGreaterThan(PURE_RUNS / 20);
    expect(tally.problems).toBeGreaterThan(0);
  });

  it(`accepted records render valid exposition text with every opt-in label (${PURE_RUNS / 2} runs)`, () => {
    fc.assert(
      fc.property(fc.array(mutatedBody, { minLength: 1, maxLength: 5 }), (bodies) => {
        const layout = { durationBuckets: [1, 60], queueBuckets: [1, 60], recordLabels: [...RECORD_LABEL_NAMES] };
        const metrics = new BuildMetrics({ ...layout, jobHistograms: true });
        metrics.setJob({ id: '0123456789abcdef0123456789abcdef', name: 'fuzz "job"\n\\' });
        const builds: CountedBuild[] = [];
        for (const body of bodies) {
          const envelope = interpretResponse(200, JSON.stringify(body), NOT_FOUND);
          if (!envelope.ok) continue;
          try {
            const record = parseRecord('0123456789abcdef0123456789abcdef', BUILD_NO, envelope.result);
            if (!record.phase.finished) continue;
            const { triggerType, durationSeconds, queueSeconds, labels } = record;
            builds.push({ buildNo: record.buildNo, result: record.phase.result, triggerType, durationSeconds, queueSeconds, labels });
          } catch (error) {
            if (!(error instanceof InvalidRecordError)) throw error;
          }
        }
        const counters = countDelta(emptyCounters(), { counted: builds, queued: [] }, layout);
        metrics.show('0123456789abcdef0123456789abcdef', { counters, state: emptyJobState() });
        const counted = builds.length;
        const text = partsText(metrics.parts());
        const problems = text
          .split('\n')
          .filter((line) => line !== '' && !line.startsWith('#'))
          .map((line) => [sampleLineProblem(line), line] as const)
          .filter(([problem]) => problem !== undefined);
        expect(problems).toEqual([]);
        const total = text
          .split('\n')
          .filter((line) => line.startsWith('codearts_builds_total{'))
          .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
        expect(total).toBe(counted);
      }),
      { numRuns: PURE_RUNS / 2, seed: SEED + 1 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Whole exporter against a loopback server serving the fuzzed bodies.

const JOB_ID = 'f0220000000000000000000000000001';

describe('record fuzzing: a whole exporter cycle against a server answering fuzzed bodies', () => {
  let server: Server;
  let url: string;
  /** What build BUILD_NO answers now; every other build does not exist. */
  let answer: { status: number; body: string } = { status: 200, body: '' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const match = /^\/v4\/jobs\/[^/]+\/(\d+)\/record-info$/.exec(req.url ?? '');
      const notFound = JSON.stringify({ error_code: 'DEVCB.00031006', error_msg: 'The build task does not exist or has been deleted' });
      if (match && Number(match[1]) === BUILD_NO) {
        res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(answer.body);
      } else if (req.url?.endsWith('/running-status')) {
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ status: 'success', error: null, result: { last_build_no: String(BUILD_NO) } }));
      } else {
        res.writeHead(422, { 'Content-Type': 'application/json' }).end(notFound);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const config = () =>
    parseConfigText(
      stringify({
        codearts: {
          endpoint: url,
          auth: { token: 'fuzz-token-NOT-A-SECRET' },
          request_timeout: '2s',
          max_requests_per_second: 1000,
          retry: { retries: 0 },
        },
        poll: { start_at: BUILD_NO },
        jobs: [{ id: JOB_ID, name: 'fuzz' }],
        server: { host: '127.0.0.1', port: 0 },
        state: { path: '/nonexistent/unused.json' },
        log: { level: 'silent' },
      }),
      { env: {} },
    );
  const sum = (text: string, name: string) => select(parseExposition(text), name).reduce((total, s) => total + s.value, 0);

  it(`never fails a cycle, counts every invalid body, then counts the build exactly once (${HTTP_RUNS} runs)`, async () => {
    const tally = { invalid: 0, counted: 0, other: 0 };
    await fc.assert(
      fc.asyncProperty(httpStatusWithBody, bodyText, async (status, body) => {
        // The oracle: what the pure functions make of the body (as decoded over HTTP: without a BOM).
        const envelope = interpretResponse(status, body.replace(/^\ufeff/, ''), NOT_FOUND);
        let expectedInvalid = 0;
        if (envelope.ok) {
          try {
            const record = parseRecord(JOB_ID, BUILD_NO, envelope.result);
            if (record.phase.finished && record.problems.length > 0) expectedInvalid = 1;
            tally.counted++;
          } catch {
            expectedInvalid = 1;
            tally.invalid++;
          }
        } else tally.other++;

        const exporter = await Exporter.create({
          config: config(),
          logger: createLogger('silent'),
          openStore: (layout) => Promise.resolve(new MemoryStore(layout)),
        });
        answer = { status, body };
        const first = await exporter.runCycle();
        expect(['success', 'partial', 'failure']).toContain(first.outcome);
        const afterFirst = await exporter.renderMetrics();
        expect(sum(afterFirst, 'codearts_exporter_invalid_records_total')).toBe(expectedInvalid);

        // The build now answers properly: whatever came before, it is counted exactly once.
        answer = { status: 200, body: JSON.stringify(FIXTURE) };
        await exporter.runCycle();
        await exporter.runCycle();
        const final = await exporter.renderMetrics();
        expect(sum(final, 'codearts_builds_total')).toBe(1);
        expect(sum(final, 'codearts_build_triggers_total')).toBe(1);
        await exporter.stop();
      }),
      { numRuns: HTTP_RUNS, seed: SEED + 2 },
    );
    console.log(`fuzz-record (exporter): ${HTTP_RUNS} bodies through runCycle: ${JSON.stringify(tally)}`);
    expect(tally.invalid).toBeGreaterThan(HTTP_RUNS / 20);
  }, 120_000);
});
