import { describe, expect, it } from 'vitest';
import { errorFields, parseJsonBody } from '../../src/codearts/error-body.js';
import {
  attemptCode,
  parseLastBuildNumber,
  parseRetryAfter,
  readAnswer,
  readTransportFailure,
  retryReason,
  type CallSite,
} from '../../src/codearts/error-mapping.js';
import { interpretResponse, notFoundCodeSet } from '../../src/codearts/envelope.js';
import { CodeArtsError } from '../../src/codearts/errors.js';
import { TransportError } from '../../src/codearts/transport.js';

/**
 * How an exchange becomes a result or a CodeArtsError (src/codearts/error-mapping.ts,
 * envelope.ts, error-body.ts): every answer shape of docs/design.md, "Talking to CodeArts".
 */
const SITE: CallSite = { route: 'record-info', target: 'job J build 7' };
const CODES = notFoundCodeSet([]);
const NOW = Date.parse('2026-01-01T00:00:00Z');

function answer(status: number, body: unknown, headers: Record<string, string> = {}) {
  return { status, headers: new Headers(headers), text: typeof body === 'string' ? body : JSON.stringify(body) };
}

function failure(status: number, body: unknown, headers: Record<string, string> = {}): CodeArtsError {
  const read = readAnswer(SITE, answer(status, body, headers), CODES, NOW);
  if (read.ok) throw new Error(`expected a failure, got ${JSON.stringify(read.result)}`);
  return read.error;
}

describe('readAnswer', () => {
  it('the result of a successful envelope, and a bare job list page', () => {
    expect(readAnswer(SITE, answer(200, { status: 'success', error: null, result: { build_no: 7 } }), CODES, NOW)).toEqual({
      ok: true,
      result: { build_no: 7 },
    });
    const page = { total: 1, jobs: [{ id: 'x', job_name: 'y' }] };
    expect(readAnswer({ route: 'job-list', target: 'p' }, answer(200, page), CODES, NOW)).toEqual({ ok: true, result: page });
    expect(readAnswer(SITE, answer(200, page), CODES, NOW)).toMatchObject({ ok: false, error: { kind: 'transient' } });
  });

  it.each([
    [429, { error_code: 'APIG.0308', error_msg: 'slow down' }, 'transient', true],
    [200, { error_code: 'CB.00060211', error_msg: 'too often' }, 'transient', true],
    [500, { error_code: 'CB.00060100', error_msg: 'busy' }, 'transient', false],
    [503, '<html>oops</html>', 'transient', false],
    [422, { error_code: 'DEVCB.00031006', error_msg: 'no such build' }, 'not_found', false],
    [200, { status: 'fail', error: { code: 'CB.00031006', message: 'gone' } }, 'not_found', false],
    [401, { error_code: 'APIGW.0301', error_msg: 'token expired' }, 'unauthorized', false],
    [400, { error_msg: 'bad request' }, 'permanent', false],
    [200, { status: 'failed', result: {} }, 'permanent', false],
    [200, { success: false, result: {} }, 'permanent', false],
    [200, 'not json', 'transient', false],
  ] as const)('HTTP %i %j: %s (throttled %s)', (status, body, kind, throttled) => {
    const error = failure(status, body);
    expect(error).toMatchObject({ kind, throttled, route: 'record-info', target: 'job J build 7', status });
    expect(error.message).toContain('record-info job J build 7');
  });

  it('honours Retry-After (seconds or a date), capped at two minutes', () => {
    expect(failure(429, {}, { 'retry-after': '3' }).retryAfterMs).toBe(3000);
    expect(failure(429, {}, { 'retry-after': new Date(NOW + 5000).toUTCString() }).retryAfterMs).toBe(5000);
    expect(parseRetryAfter('3600', NOW)).toBe(120_000);
    expect(parseRetryAfter('0', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});

describe('readTransportFailure', () => {
  const url = new URL('https://cloudbuild-ext.example.invalid:8443/v4/jobs/J/7/record-info?secret=1');

  it('a timeout or a network error is transient, counts towards the circuit and keeps its cause', () => {
    const timeout = new TransportError({ kind: 'timeout', url, detail: 'no answer within 10 ms' });
    const read = readTransportFailure(SITE, timeout);
    expect(read.reachable).toBe(false);
    expect(read.error).toMatchObject({ kind: 'transient', status: 'timeout', host: 'cloudbuild-ext.example.invalid', port: 8443 });
    expect(read.error.cause).toBe(timeout);
    expect(attemptCode(timeout)).toBe('timeout');
    const network = new TransportError({
      kind: 'network',
      url,
      detail: 'connect ECONNREFUSED',
      failure: { message: 'x', code: 'ECONNREFUSED', syscall: 'connect' },
    });
    expect(readTransportFailure(SITE, network).error).toMatchObject({ status: 'network', errno: 'ECONNREFUSED' });
    expect(attemptCode(network)).toBe('network');
  });

  it('a redirect is a configuration error and an oversized body was an answer: both reach CodeArts', () => {
    const redirect = readTransportFailure(SITE, new TransportError({ kind: 'redirect', url, status: 302, detail: 'HTTP 302 redirect' }));
    expect(redirect).toMatchObject({ reachable: true, error: { kind: 'permanent', status: 302 } });
    expect(redirect.error.detail).toContain('codearts.endpoint');
    const tooLarge = new TransportError({ kind: 'too_large', url, status: 200, detail: 'body larger than 1024 bytes' });
    expect(readTransportFailure(SITE, tooLarge)).toMatchObject({ reachable: true, error: { kind: 'transient', status: 200 } });
    expect(attemptCode(tooLarge)).toBe('200');
    expect(redirect.error.message).not.toContain('secret');
  });
});

describe('retry reasons and running-status answers', () => {
  it('names why a call is retried', () => {
    const error = (init: Partial<ConstructorParameters<typeof CodeArtsError>[0]>) =>
      new CodeArtsError({ kind: 'transient', route: 'record-info', status: 500, detail: 'x', target: 't', ...init });
    expect(retryReason(error({ throttled: true, status: 429 }))).toBe('throttled');
    expect(retryReason(error({ status: 'timeout' }))).toBe('timeout');
    expect(retryReason(error({ status: 'network' }))).toBe('network');
    expect(retryReason(error({ status: 502 }))).toBe('server_error');
    expect(retryReason(error({ status: 200 }))).toBe('invalid_response');
    expect(retryReason(new Error('x'))).toBe('error');
  });

  it('reads last_build_no as the SDK types it (a string, empty for a job that never ran) or as a number', () => {
    expect(parseLastBuildNumber({ last_build_no: '42' })).toBe(42);
    expect(parseLastBuildNumber({ last_build_no: 42 })).toBe(42);
    expect(parseLastBuildNumber({ last_build_no: '' })).toBe(0);
    expect(parseLastBuildNumber({ last_build_no: null })).toBe(0);
    expect(parseLastBuildNumber({ last_build_no: '4x' })).toBeUndefined();
    expect(parseLastBuildNumber({ last_build_no: -1 })).toBeUndefined();
    expect(parseLastBuildNumber('42')).toBeUndefined();
  });
});

describe('error bodies', () => {
  it('reads every shape of code and message, and JSON inside a JSON string', () => {
    expect(errorFields(parseJsonBody('{"error_code":"A.1","error_msg":" m "}'))).toEqual({ code: 'A.1', message: 'm' });
    expect(errorFields(parseJsonBody('{"err_code":"A.2","err_msg":"m2"}'))).toEqual({ code: 'A.2', message: 'm2' });
    expect(errorFields(parseJsonBody('{"error":{"code":"IAM.0007","message":"wrong"}}'))).toEqual({ code: 'IAM.0007', message: 'wrong' });
    expect(errorFields(parseJsonBody('{"error":"plain text"}'))).toEqual({ code: undefined, message: 'plain text' });
    expect(errorFields(parseJsonBody(JSON.stringify('{"error_code":"CB.1","error_msg":"inner"}')))).toEqual({
      code: 'CB.1',
      message: 'inner',
    });
    expect(errorFields(parseJsonBody('<html>'))).toEqual({ code: undefined, message: undefined });
    expect(parseJsonBody('')).toBeUndefined();
    expect(parseJsonBody('"just a string"')).toBe('just a string');
  });

  it('an error body with only a status text says so; a long message is cut', () => {
    expect(interpretResponse(200, '{"status":{"odd":true}}', CODES)).toMatchObject({ ok: false, detail: 'status {"odd":true}' });
    const long = interpretResponse(400, JSON.stringify({ error_msg: 'x'.repeat(500) }), CODES);
    expect(long).toMatchObject({ ok: false });
    if (!long.ok) expect(long.detail.length).toBeLessThanOrEqual(201);
  });
});
