import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type FaultKind, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, type LogCapture, type LogLine } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';

const JOBS = [
  { id: 'f1000000000000000000000000000001', name: 'alpha', buildEverySeconds: 120, history: 4 },
  { id: 'f1000000000000000000000000000002', name: 'beta', buildEverySeconds: 180, history: 3 },
];
const PASSWORD = 'SENTINEL-PASSWORD-REDIRECT-77';
const SECRET_KEY = 'SENTINEL-SECRET-KEY-REDIRECT-88';
const IAM_USER = { domain: 'acme', user: 'codearts-exporter', password: PASSWORD, project: 'cn-north-4' };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(overrides: Record<string, unknown> = {}, options: SimulatorOptions = {}) {
  const simulator = await createSimulator({ seed: 10, jobs: JOBS, gapProbability: 0, ...options });
  cleanups.push(() => simulator.close());
  const { exporter, logs } = await createTestExporter(testConfig(simulator, overrides));
  cleanups.push(() => exporter.stop());
  return { simulator, exporter, logs };
}

function jobFailures(logs: LogCapture): LogLine[] {
  return logs.lines.filter((line) => line.msg.startsWith('polling job failed'));
}

async function expectExactAfterRecovery(simulator: Simulator, exporter: Exporter): Promise<void> {
  simulator.clearFaults();
  for (let i = 0; i < 3; i++) expect((await exporter.runCycle()).outcome).toBe('success');
  const samples = await scrape(exporter);
  for (const job of simulator.groundTruth()) expect(compareCounters(samples, job)).toEqual([]);
  expect(valueOf(samples, 'codearts_exporter_up')).toBe(1);
}

describe('slow and endless bodies: the whole exchange is bounded', () => {
  const timeoutMs = 400;
  const overrides = { codearts: { request_timeout: `${timeoutMs}ms`, retry: { retries: 1, min_delay: '10ms', max_delay: '10ms' } } };

  it('headers then one byte a second: every attempt ends within request_timeout, later cycles run, nothing lost', async () => {
    const { simulator, exporter, logs } = await start(overrides);
    await exporter.runCycle();
    simulator.advance(900);
    simulator.inject('slow-body', { probability: 1, endpoint: 'record-info-v4' });
    simulator.resetRequests();
    const started = performance.now();
    const summary = await exporter.runCycle();
    const seconds = (performance.now() - started) / 1000;
    expect(summary.outcome).toBe('failure');
    // One attempt per job plus one retry, both cut at request_timeout; the jobs run in parallel.
    expect(simulator.requests().recordInfo).toBe(JOBS.length * 2);
    expect(seconds).toBeLessThan((2 * timeoutMs + 500) / 1000);
    expect(JSON.stringify(jobFailures(logs)[0]?.err)).toContain(`no answer within ${timeoutMs} ms (headers and whole body)`);
    const samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_api_requests_total', { endpoint: 'record-info', code: 'timeout' })).toBe(JOBS.length * 2);
    await expectExactAfterRecovery(simulator, exporter);
  });

  it('a body that never ends: cut at max_response_bytes, memory bounded, reported, nothing lost', async () => {
    const { simulator, exporter, logs } = await start({ ...overrides, codearts: { ...overrides.codearts, request_timeout: '5s' } });
    await exporter.runCycle();
    simulator.advance(900);
    simulator.inject('endless-body', { probability: 1, endpoint: 'record-info-v4' });
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    for (let i = 0; i < 5; i++) expect((await exporter.runCycle()).outcome).toBe('failure');
    const seconds = (performance.now() - started) / 1000;
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    console.info(`endless body: 5 cycles in ${seconds.toFixed(2)} s, RSS grew ${grownMb.toFixed(1)} MB`);
    // Cut by size long before the 5 s timeout; unbounded, loopback would deliver gigabytes meanwhile.
    expect(seconds).toBeLessThan(5);
    expect(grownMb).toBeLessThan(150);
    expect(JSON.stringify(jobFailures(logs)[0]?.err)).toContain('body larger than 1048576 bytes (codearts.max_response_bytes)');
    await expectExactAfterRecovery(simulator, exporter);
  });

  it('/healthz turns 503 with a reason when no cycle finishes within the watchdog time, and 200 once one does', async () => {
    // Every second a tick; watchdog 2 periods; each request hangs 3 s before it times out.
    const { simulator, exporter } = await start({
      codearts: { request_timeout: '3s', retry: { retries: 0 } },
      poll: { schedule: '* * * * * *', watchdog_periods: 2 },
    });
    simulator.inject('slow-body', { probability: 1 });
    const { url } = await exporter.start();
    const started = performance.now();
    let unhealthy: { at: number; text: string } | undefined;
    while (!unhealthy && performance.now() - started < 6000) {
      const response = await fetch(`${url}/healthz`);
      if (response.status === 503) unhealthy = { at: (performance.now() - started) / 1000, text: await response.text() };
      else await response.text();
      await delay(100);
    }
    expect(unhealthy, 'healthz never turned 503').toBeDefined();
    console.info(`watchdog: 503 after ${unhealthy!.at.toFixed(2)} s: ${unhealthy!.text.trim()}`);
    expect(unhealthy!.at).toBeGreaterThanOrEqual(1.9);
    expect(unhealthy!.at).toBeLessThan(3.5);
    expect(unhealthy!.text).toMatch(
      /^unhealthy: no poll cycle finished for \d+(\.\d)? s \(limit 2 poll periods of 1 s, poll\.watchdog_periods\)\n$/,
    );
    simulator.clearFaults();
    let healthyAgain = false;
    while (!healthyAgain && performance.now() - started < 12_000) {
      healthyAgain = (await fetch(`${url}/healthz`).then((r) => r.status)) === 200;
      await delay(100);
    }
    expect(healthyAgain).toBe(true);
  }, 20_000);
});

/** A second origin that records every byte it receives. */
async function startRecordingServer(): Promise<{ url: string; received: () => string; requests: () => number }> {
  let bytes = '';
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    bytes += `${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n`;
    req.on('data', (chunk: Buffer) => (bytes += chunk.toString('latin1')));
    req.on('end', () => res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error_code":"CB.00031006","error_msg":"nope"}'));
  });
  server.on('connection', (socket) => socket.on('data', (chunk: Buffer) => (bytes += chunk.toString('latin1'))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received: () => bytes, requests: () => requests };
}

describe('redirects are never followed: no credential reaches another origin', () => {
  const authModes: Array<{
    name: string;
    sim: SimulatorOptions;
    auth: (sim: Simulator) => Record<string, unknown>;
    secrets: (sim: Simulator) => string[];
  }> = [
    { name: 'static token', sim: {}, auth: () => ({ token: 'sim-token-NOT-A-SECRET' }), secrets: () => ['sim-token-NOT-A-SECRET'] },
    {
      name: 'IAM token',
      sim: { auth: { mode: 'iam', tokenLifetimeSeconds: 600, users: [IAM_USER] } },
      auth: (sim) => ({
        token: undefined,
        iam: { endpoint: sim.url, domain: 'acme', user: IAM_USER.user, password: PASSWORD, project: 'cn-north-4' },
      }),
      secrets: () => [PASSWORD, 'MIIS', 'X-Auth-Token', 'x-auth-token'],
    },
    {
      name: 'AK/SK signature',
      sim: { auth: { mode: 'aksk', keys: { HPUAEXAMPLEACCESSKEY02: SECRET_KEY } } },
      auth: () => ({ token: undefined, aksk: { access_key: 'HPUAEXAMPLEACCESSKEY02', secret_key: SECRET_KEY } }),
      secrets: () => [SECRET_KEY, 'HPUAEXAMPLEACCESSKEY02', 'SDK-HMAC-SHA256', 'authorization'],
    },
  ];

  for (const mode of authModes) {
    it(`${mode.name}: a 302 to another host is a configuration error naming that host; the other host receives nothing`, async () => {
      const other = await startRecordingServer();
      const simulator = await createSimulator({ seed: 11, jobs: JOBS, gapProbability: 0, ...mode.sim });
      cleanups.push(() => simulator.close());
      const { exporter, logs } = await createTestExporter(testConfig(simulator, { codearts: { auth: mode.auth(simulator) } }));
      cleanups.push(() => exporter.stop());
      simulator.inject('redirect', { probability: 1, endpoint: 'record-info-v4', location: `${other.url}/steal?x=1` });
      expect((await exporter.runCycle()).outcome).toBe('failure');

      expect(other.requests()).toBe(0);
      expect(other.received()).toBe('');
      for (const secret of mode.secrets(simulator)) expect(other.received()).not.toContain(secret);
      const otherHost = new URL(other.url).host;
      const failures = jobFailures(logs);
      expect(failures.length).toBe(JOBS.length);
      for (const line of failures) {
        const err = JSON.stringify(line.err);
        expect(err).toContain(`HTTP 302 redirect to host ${otherHost}`);
        expect(err).toContain('codearts.endpoint');
        expect(err).not.toContain('/steal');
      }
      // Permanent: one request per job, not retried.
      expect(simulator.requests().recordInfo).toBe(JOBS.length);
      await expectExactAfterRecovery(simulator, exporter);
    });
  }

  it('IAM token request: a 302 to another host is not followed; the password reaches only IAM', async () => {
    const other = await startRecordingServer();
    const simulator = await createSimulator({
      seed: 12,
      jobs: JOBS,
      gapProbability: 0,
      auth: { mode: 'iam', tokenLifetimeSeconds: 600, users: [IAM_USER] },
    });
    cleanups.push(() => simulator.close());
    const auth = {
      token: undefined,
      iam: { endpoint: simulator.url, domain: 'acme', user: IAM_USER.user, password: PASSWORD, project: 'cn-north-4' },
    };
    const { exporter, logs } = await createTestExporter(testConfig(simulator, { codearts: { auth } }));
    cleanups.push(() => exporter.stop());
    simulator.inject('redirect', { count: 1, endpoint: 'iam-token', location: other.url });
    expect((await exporter.runCycle()).outcome).toBe('failure');
    expect(other.requests()).toBe(0);
    expect(other.received()).not.toContain(PASSWORD);
    const line = logs.lines.find((entry) => entry.msg === 'iam token request failed');
    expect(String(line?.err)).toContain(`HTTP 302 redirect to host ${new URL(other.url).host}`);
    expect(String(line?.err)).toContain('codearts.auth.iam.endpoint');
    expect(logs.raw).not.toContain(PASSWORD);
  });
});

describe('a 404 is "does not exist" only when CodeArts says so', () => {
  const foreign: FaultKind[] = ['404-html', '404-empty', '404-json'];
  for (const fault of foreign) {
    it(`${fault}: the job fails (up 0) naming codearts.endpoint; cursors stay; counts exact after recovery`, async () => {
      const { simulator, exporter, logs } = await start();
      await exporter.runCycle();
      const before = await scrape(exporter);
      simulator.advance(900);
      simulator.inject(fault, { probability: 1, endpoint: 'record-info-v4' });
      const summary = await exporter.runCycle();
      expect(summary.outcome).toBe('failure');
      const samples = await scrape(exporter);
      expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
      for (const job of JOBS) {
        expect(valueOf(samples, 'codearts_build_last_number', { job_id: job.id })).toBe(
          valueOf(before, 'codearts_build_last_number', { job_id: job.id }),
        );
      }
      const err = JSON.stringify(jobFailures(logs)[0]?.err);
      expect(err).toContain('not a CodeArts answer: check codearts.endpoint');
      expect(err).not.toContain('<html>');
      await expectExactAfterRecovery(simulator, exporter);
    });
  }
});

describe('network errors name host, port and errno, never the path or credentials', () => {
  it('connection refused', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const simulator = await createSimulator({ seed: 13, jobs: JOBS });
    cleanups.push(() => simulator.close());
    const config = testConfig(simulator, { codearts: { endpoint: `http://127.0.0.1:${port}`, retry: { retries: 0 } } });
    const { exporter, logs } = await createTestExporter(config);
    cleanups.push(() => exporter.stop());
    expect((await exporter.runCycle()).outcome).toBe('failure');
    const err = jobFailures(logs)[0]?.err as Record<string, unknown>;
    expect(err.message).toContain(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(err).toMatchObject({ host: '127.0.0.1', port, errno: 'ECONNREFUSED', status: 'network' });
    expect(logs.raw).not.toContain('sim-token-NOT-A-SECRET');
    expect(JSON.stringify(err)).not.toContain('/record-info');
  });
});
