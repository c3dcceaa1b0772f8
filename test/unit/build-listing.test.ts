import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkListingRequest,
  classifyListingFailure,
  formatListingTime,
  InvalidListingError,
  ListingWindowTooLongError,
  MAX_LISTING_WINDOW_MS,
  parseBuildListing,
} from '../../src/codearts/build-listing.js';
import { notFoundCodeSet } from '../../src/codearts/envelope.js';
import { readAnswer, readTransportFailure, type CallSite } from '../../src/codearts/error-mapping.js';
import { CodeArtsError } from '../../src/codearts/errors.js';
import { TransportError } from '../../src/codearts/transport.js';
import { parseListingTime } from '../../src/simulator/record-list.js';

/** The build listing read on its own (src/codearts/build-listing.ts): times, requests, answers, failures. */
const JOB = '0123456789abcdef0123456789abcdef';
const SITE: CallSite = { route: 'record-list', target: `job ${JOB} page 0` };
const START = Date.parse('2026-03-01T02:00:00Z');

/** A BuildInfoRecord as the SDK models it, finished successfully unless told otherwise. */
function item(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    number: 7,
    build_time: 61_000,
    start_time: START,
    job_running_status: 'Finished',
    state: 'SUCCESS',
    user_id: 'u',
    trigger_type: 'CODEHUB_TRIGGER',
    cost_time: 61_068,
    commit_id: 'abc123',
    code_branch: 'main',
    ...overrides,
  };
}

function listing(items: unknown[], counts: Record<string, unknown> = {}): Record<string, unknown> {
  return { health_score: '100', page_index: '0', total_page: '1', total_record: String(items.length), job_build_states: items, ...counts };
}

function failure(status: number, body: unknown): CodeArtsError {
  const read = readAnswer(SITE, { status, headers: new Headers(), text: JSON.stringify(body) }, notFoundCodeSet([]), START);
  if (read.ok) throw new Error('expected a failure');
  return read.error;
}

describe('listing times', () => {
  it('are Beijing time to the second, whatever the host zone', () => {
    expect(formatListingTime(Date.parse('2026-01-01T00:00:00.999Z'))).toBe('2026-01-01 08:00:00');
    expect(formatListingTime(Date.parse('2025-12-31T16:00:00Z'))).toBe('2026-01-01 00:00:00');
    expect(formatListingTime(Date.parse('2025-12-31T15:59:59.5Z'))).toBe('2025-12-31 23:59:59');
    expect(() => formatListingTime(Number.NaN)).toThrow(RangeError);
  });

  it('read back by the simulator as the same second (two independent implementations agree)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.parse('2100-01-01T00:00:00Z') }), (ms) => {
        expect(parseListingTime(formatListingTime(ms))).toBe(Math.floor(ms / 1000) * 1000);
      }),
      { numRuns: 2000, seed: 20260601 },
    );
  });
});

describe('a listing request', () => {
  it('is refused before sending when the window is longer than 30 days, reversed, or the page out of range', () => {
    expect(() => checkListingRequest({ fromMs: START, toMs: START + MAX_LISTING_WINDOW_MS }, { index: 0, size: 100 })).not.toThrow();
    const tooLong = () => checkListingRequest({ fromMs: START, toMs: START + MAX_LISTING_WINDOW_MS + 1 }, { index: 0, size: 10 });
    expect(tooLong).toThrow(ListingWindowTooLongError);
    expect(tooLong).toThrow(/longer than 30 days/);
    for (const window of [
      { fromMs: START, toMs: START - 1 },
      { fromMs: Number.NaN, toMs: START },
      { fromMs: -1, toMs: START },
    ]) {
      expect(() => checkListingRequest(window, { index: 0, size: 10 })).toThrow(/invalid listing window/);
    }
    for (const page of [
      { index: -1, size: 10 },
      { index: 0.5, size: 10 },
      { index: 0, size: 0 },
      { index: 0, size: 101 },
    ]) {
      expect(() => checkListingRequest({ fromMs: START, toMs: START }, page)).toThrow(/listing page/);
    }
    expect(MAX_LISTING_WINDOW_MS).toBe(30 * 86_400_000);
  });
});

describe('parseBuildListing', () => {
  it('reads the SDK shape: counts as strings, a finished build with its duration, start and finish', () => {
    const page = parseBuildListing(JOB, listing([item()], { page_index: '2', total_page: '5', total_record: '41' }));
    expect(page).toEqual({
      pageIndex: 2,
      totalPages: 5,
      totalRecords: 41,
      builds: [
        {
          buildNo: 7,
          rawStatus: 'SUCCESS',
          runningStatus: 'Finished',
          phase: { finished: true, result: 'success', recognised: true },
          triggerType: 'codehub_trigger',
          startedAtMs: START,
          durationMs: 61_068,
          finishedAtMs: START + 61_000,
          commit: 'abc123',
          branch: 'main',
        },
      ],
    });
  });

  it('accepts numbers as numeric strings and counts as numbers, and an empty or null build list', () => {
    const page = parseBuildListing(
      JOB,
      listing([item({ number: '12', start_time: String(START), cost_time: '5000', build_time: null })], { total_page: 1 }),
    );
    expect(page.builds[0]).toMatchObject({ buildNo: 12, startedAtMs: START, durationMs: 5000, finishedAtMs: START + 5000 });
    expect(parseBuildListing(JOB, listing([], { total_page: '0' })).builds).toEqual([]);
    expect(parseBuildListing(JOB, { page_index: 0, total_page: 0, total_record: 0, job_build_states: null }).builds).toEqual([]);
    expect(parseBuildListing(JOB, { page_index: '0', total_page: '0', total_record: '0' }).totalRecords).toBe(0);
  });

  it('falls back to build_time for the duration, and leaves out what is missing or implausible', () => {
    const [fallback, none, absurd, unstarted] = parseBuildListing(
      JOB,
      listing([
        item({ cost_time: 0 }),
        item({ cost_time: null, build_time: 0, start_time: 0, commit_id: '', code_branch: null, trigger_type: null }),
        item({ cost_time: 40 * 86_400_000, build_time: -5 }),
        item({ start_time: null }),
      ]),
    ).builds;
    expect(fallback).toMatchObject({ durationMs: 61_000, finishedAtMs: START + 61_000 });
    expect(none).toEqual({
      buildNo: 7,
      rawStatus: 'SUCCESS',
      runningStatus: 'Finished',
      phase: { finished: true, result: 'success', recognised: true },
      triggerType: 'unknown',
    });
    expect(absurd).not.toHaveProperty('durationMs');
    expect(absurd).not.toHaveProperty('finishedAtMs');
    expect(unstarted).toMatchObject({ durationMs: 61_068 });
    expect(unstarted).not.toHaveProperty('finishedAtMs');
  });

  it('recognises unfinished builds: by their state, and by job_running_status whatever the state says', () => {
    const builds = parseBuildListing(
      JOB,
      listing([
        item({ number: 1, state: 'RUNNING', job_running_status: 'Running', cost_time: 0, build_time: 0 }),
        item({ number: 2, state: 'SUCCESS', job_running_status: 'Running' }),
        item({ number: 3, state: 'QUEUED', job_running_status: 'Queued' }),
        item({ number: 4, state: 'SUSPENDED', job_running_status: 'Running' }),
        item({ number: 5, state: 'SUSPENDED', job_running_status: null }),
        item({ number: 6, state: 'PARTIAL_SUCCESS', job_running_status: 'Finished' }),
        item({ number: 7, state: 'aborted', job_running_status: undefined }),
        item({ number: 8, state: 'FAILED', job_running_status: 'Completed' }),
      ]),
    ).builds;
    expect(builds.map((build) => [build.buildNo, build.phase])).toEqual([
      [1, { finished: false, recognised: true }],
      [2, { finished: false, recognised: true }],
      [3, { finished: false, recognised: true }],
      [4, { finished: false, recognised: false }],
      [5, { finished: false, recognised: false }],
      [6, { finished: true, result: 'unknown', recognised: false }],
      [7, { finished: true, result: 'aborted', recognised: true }],
      [8, { finished: true, result: 'failure', recognised: true }],
    ]);
    // Unfinished builds carry no duration and no finish, only their start.
    expect(builds[1]).not.toHaveProperty('durationMs');
    expect(builds[1]).not.toHaveProperty('finishedAtMs');
    expect(builds[1]?.startedAtMs).toBe(START);
  });

  it('rejects an answer that is not a listing, or a build without a number or state, naming the job', () => {
    const invalid: Array<[unknown, RegExp]> = [
      [null, /result: /],
      [{ total: 3, jobs: [] }, /page_index: /],
      [listing([item()], { total_record: 'many' }), /total_record: /],
      [listing([item(), item({ number: undefined })]), /job_build_states\.1\.number: /],
      [listing([item({ number: 'seven' })]), /job_build_states\.0\.number: /],
      [listing([item({ state: '' })]), /job_build_states\.0\.state: /],
      [listing([item({ start_time: 'yesterday' })]), /job_build_states\.0\.start_time: /],
      [listing({ 0: item() } as unknown as unknown[]), /job_build_states: /],
    ];
    for (const [result, message] of invalid) {
      let thrown: unknown;
      try {
        parseBuildListing(JOB, result);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidListingError);
      expect((thrown as InvalidListingError).message).toMatch(new RegExp(`^invalid build listing for job ${JOB}: `));
      expect((thrown as InvalidListingError).message).toMatch(message);
      expect((thrown as InvalidListingError).jobId).toBe(JOB);
    }
  });

  it('never throws anything but InvalidListingError, whatever JSON comes back', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.record({ page_index: fc.jsonValue(), job_build_states: fc.array(fc.jsonValue()) })),
        (value) => {
          try {
            parseBuildListing(JOB, value);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidListingError);
          }
        },
      ),
      { numRuns: 1000, seed: 20260602 },
    );
  });
});

describe('classifyListingFailure', () => {
  it('tells a missing job, an unavailable listing, a refused window and everything else apart', () => {
    const cases: Array<[unknown, string]> = [
      [failure(422, { error_code: 'DEVCB.00031006', error_msg: 'The build task does not exist or has been deleted' }), 'job-not-found'],
      [failure(403, { error_code: 'CB.00031059', error_msg: 'The task has not been built yet' }), 'job-not-found'],
      [failure(200, { status: 'fail', error: { code: 'CB.00031006', message: 'gone' }, result: null }), 'job-not-found'],
      [failure(404, { error_code: 'APIGW.0101', error_msg: 'The API does not exist or has not been published' }), 'unavailable'],
      [failure(404, { message: 'Not Found' }), 'unavailable'],
      [failure(403, { error_code: 'CB.00060001', error_msg: 'The user has no permission to view the job' }), 'unavailable'],
      [failure(501, { error_code: 'X', error_msg: 'not implemented' }), 'unavailable'],
      [
        failure(400, {
          error_code: 'CB.00060200',
          error_msg: 'Invalid parameter: the time range between start_time and end_time cannot exceed 30 days',
        }),
        'window-too-long',
      ],
      [failure(400, { error_code: 'CB.00060200', error_msg: 'Invalid parameter: page_size' }), 'other'],
      [failure(500, { error_code: 'CB.00060101', error_msg: 'Internal server error' }), 'other'],
      [failure(429, { error_code: 'APIG.0308', error_msg: 'throttled' }), 'other'],
      [failure(401, { error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information' }), 'other'],
      [
        readTransportFailure(
          SITE,
          new TransportError({
            kind: 'timeout',
            url: new URL('https://cloudbuild.example.invalid/v1/record/x/list'),
            detail: 'no answer within 2000 ms',
          }),
        ).error,
        'other',
      ],
      [new CodeArtsError({ ...SITE, kind: 'permanent', status: 'circuit_open', detail: 'open' }), 'other'],
      [new CodeArtsError({ ...SITE, kind: 'permanent', status: 200, detail: new InvalidListingError(JOB, ['x']).message }), 'other'],
      [new ListingWindowTooLongError('longer than 30 days'), 'window-too-long'],
      [new RangeError('listing page size must be an integer within 1..100, got 101'), 'other'],
      [new Error('aborted'), 'other'],
      ['a string', 'other'],
    ];
    for (const [error, expected] of cases) expect([String(error), classifyListingFailure(error)]).toEqual([String(error), expected]);
  });
});
