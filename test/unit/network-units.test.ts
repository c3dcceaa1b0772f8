import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerState } from '../../src/codearts/circuit-breaker.js';
import { DEFAULT_NOT_FOUND_CODES, interpretResponse } from '../../src/codearts/envelope.js';
import { describeNetworkFailure } from '../../src/codearts/network-errors.js';
import { redactUrlCredentials } from '../../src/support/redact.js';
import { createHttpTransport, isTransportError } from '../../src/codearts/transport.js';
import { CycleWatchdog } from '../../src/server/watchdog.js';
import { ManualClock } from '../helpers/clock.js';

const codes = new Set<string>(DEFAULT_NOT_FOUND_CODES);

describe('a 404 means "does not exist" only with a CodeArts error body', () => {
  it.each([
    ['HTML page', '<html><body><h1>404 Not Found</h1></body></html>', 'permanent', 'HTTP 404 with a non-JSON body'],
    ['empty body', '', 'permanent', 'HTTP 404 with an empty body'],
    ['JSON without CodeArts fields', '{"message":"Not Found","path":"/v4/jobs"}', 'permanent', 'JSON body that has no CodeArts error code'],
    ['another gateway code', '{"error_code":"APIGW.0102","error_msg":"no app"}', 'permanent', 'gateway code APIGW.0102'],
    [
      'route not published (APIGW.0101)',
      '{"error_code":"APIGW.0101","error_msg":"The API does not exist"}',
      'permanent',
      'The API does not exist',
    ],
    [
      'CB.00060214',
      '{"error_code":"CB.00060214","error_msg":"The requested URL was not found"}',
      'not_found',
      'The requested URL was not found',
    ],
    ['DEVCB.00031006', '{"error_code":"DEVCB.00031006","error_msg":"gone"}', 'not_found', 'gone'],
    [
      'status/error envelope',
      '{"status":"fail","error":{"code":"CB.00031006","message":"The build record does not exist"},"result":null}',
      'not_found',
      'does not exist',
    ],
    ['stringified JSON', JSON.stringify('{"error_code":"CB.00031006","error_msg":"gone"}'), 'not_found', 'gone'],
  ])('%s', (_name, body, kind, detail) => {
    const envelope = interpretResponse(404, body, codes);
    expect(envelope.ok).toBe(false);
    if (envelope.ok) return;
    expect(envelope.kind).toBe(kind);
    expect(envelope.detail).toContain(detail);
    if (kind === 'permanent' && !detail.includes('API does not exist')) expect(envelope.detail).toContain('check codearts.endpoint');
    expect(envelope.detail).not.toContain('<html>');
  });

  it('other statuses keep their meaning: 422 and 403 with not-found codes are not found', () => {
    expect(interpretResponse(422, '{"error_code":"DEVCB.00031006","error_msg":"x"}', codes)).toMatchObject({
      ok: false,
      kind: 'not_found',
    });
    expect(interpretResponse(403, '{"error_code":"CB.00031059","error_msg":"x"}', codes)).toMatchObject({ ok: false, kind: 'not_found' });
  });
});

describe('network failures are described by host, port and errno', () => {
  it('a refused connection reads like Node: connect ECONNREFUSED host:port, and the transport keeps the fields', async () => {
    const port = await closedPort();
    const transport = createHttpTransport({ requestTimeoutMs: 2000, maxResponseBytes: 1024 });
    const error = await transport
      .send({
        method: 'GET',
        url: new URL(`http://127.0.0.1:${port}/v4/jobs/x/1/record-info?secret=SENTINEL`),
        headers: { 'x-auth-token': 'SENTINEL' },
      })
      .catch((e: unknown) => e);
    await transport.close();
    expect(isTransportError(error)).toBe(true);
    if (!isTransportError(error)) return;
    expect(error.message).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(error).toMatchObject({ kind: 'network', host: '127.0.0.1', port, errno: 'ECONNREFUSED', syscall: 'connect' });
    expect(JSON.stringify({ ...Object.fromEntries(Object.entries(error)), message: error.message })).not.toContain('SENTINEL');
  });

  it('undici errors get their code and the target; secrets and URL credentials are masked', () => {
    const cause = Object.assign(new Error('Proxy response (407) !== 200 when HTTP Tunneling via http://u:SENTINEL@proxy:3128'), {
      code: 'UND_ERR_ABORTED',
    });
    const failure = describeNetworkFailure(new TypeError('fetch failed', { cause }), new URL('https://api.example:8443/x?q=1'), [
      'SENTINEL',
    ]);
    expect(failure.message).toBe(
      'UND_ERR_ABORTED: Proxy response (407) !== 200 when HTTP Tunneling via http://***@proxy:3128 (api.example:8443)',
    );
    expect(failure.code).toBe('UND_ERR_ABORTED');
    expect(redactUrlCredentials('http://user:pw@proxy:3128')).toBe('http://***@proxy:3128');
    expect(redactUrlCredentials('http://proxy:3128')).toBe('http://proxy:3128');
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, refuses, probes once per cycle, closes on any answer', async () => {
    const changes: BreakerState[] = [];
    const breaker = new CircuitBreaker(3, { emit: (event) => (event.type === 'circuit' ? changes.push(event.state) : undefined) });
    for (let i = 0; i < 2; i++) breaker.onNetworkFailure('timeout');
    breaker.onAnswer();
    for (let i = 0; i < 2; i++) breaker.onNetworkFailure('timeout');
    expect(breaker.current()).toBe('closed');
    breaker.onNetworkFailure('timeout');
    expect(breaker.current()).toBe('open');
    expect(await breaker.admit()).toBe('refuse');
    expect(breaker.reason()).toContain('circuit open after 3 consecutive attempts without an HTTP answer (last: timeout)');

    breaker.beginCycle();
    expect(await breaker.admit()).toBe('probe');
    const waiting = [breaker.admit(), breaker.admit()];
    breaker.onNetworkFailure('still down');
    expect(await Promise.all(waiting)).toEqual(['refuse', 'refuse']);

    breaker.beginCycle();
    expect(await breaker.admit()).toBe('probe');
    const behind = breaker.admit();
    breaker.onAnswer();
    expect(await behind).toBe('go');
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('an inconclusive probe hands the probe to the next caller; threshold 0 never opens', async () => {
    const breaker = new CircuitBreaker(1);
    breaker.onNetworkFailure('x');
    breaker.beginCycle();
    expect(await breaker.admit()).toBe('probe');
    const next = breaker.admit();
    breaker.onInconclusive();
    expect(await next).toBe('probe');
    const off = new CircuitBreaker(0);
    for (let i = 0; i < 100; i++) off.onNetworkFailure('x');
    expect(await off.admit()).toBe('go');
  });
});

describe('watchdog', () => {
  it('unhealthy once no cycle finished for periods × period; 0 disables', () => {
    const clock = new ManualClock();
    const watchdog = new CycleWatchdog(30_000, 4, clock);
    clock.advance(120_000);
    expect(watchdog.check().healthy).toBe(true);
    clock.advance(1);
    expect(watchdog.check()).toEqual({
      healthy: false,
      reason: 'no poll cycle finished for 120 s (limit 4 poll periods of 30 s, poll.watchdog_periods)',
    });
    watchdog.cycleFinished();
    expect(watchdog.check().healthy).toBe(true);
    const idle = new CycleWatchdog(30_000, 0, clock);
    clock.advance(10_000_000);
    expect(idle.check().healthy).toBe(true);
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
