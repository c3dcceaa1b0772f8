import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createIamAuth } from '../../src/codearts/auth/iam.js';
import type { AuthProvider } from '../../src/codearts/auth/types.js';
import { CodeArtsClient } from '../../src/codearts/client.js';
import { DEFAULT_NOT_FOUND_CODES } from '../../src/codearts/envelope.js';
import type { Config } from '../../src/config/schema.js';
import { Exporter } from '../../src/exporter.js';
import { createLogger } from '../../src/log/logger.js';
import { createSimulator, type SimJobSpec, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { select, valueOf, type Sample } from '../helpers/exposition.js';
import { LogCapture, scrape, testConfig, type LogLine } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';
import { withWallTime } from '../../src/support/clock.js';

const PASSWORD = 'SENTINEL-PASSWORD-4242';
const SECRET_KEY = 'SENTINEL-SECRET-KEY-9999';
const ACCESS_KEY = 'HPUAEXAMPLEACCESSKEY01';
const PROJECT_ID = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const IAM_USER = { domain: 'acme', user: 'codearts-exporter', password: PASSWORD, project: 'cn-north-4' };
// Once a year: these tests drive cycles themselves, the schedule must not run one concurrently.
const NEVER = '0 0 0 1 1 *';

const JOBS: SimJobSpec[] = [
  { id: 'c7000000000000000000000000000001', name: 'backend-ci', buildEverySeconds: 90, history: 4 },
  { id: 'c7000000000000000000000000000002', name: 'frontend-ci', buildEverySeconds: 150, history: 3, notFound: '404' },
  { id: 'c7000000000000000000000000000003', name: 'nightly', buildEverySeconds: 240, history: 2, notFound: '403-cb' },
];

const iamAuthConfig = (simulator: Simulator, password = PASSWORD) => ({
  token: undefined,
  iam: { endpoint: simulator.url, domain: IAM_USER.domain, user: IAM_USER.user, password, project: IAM_USER.project },
});
const akskAuthConfig = (secretKey = SECRET_KEY) => ({
  token: undefined,
  aksk: { access_key: ACCESS_KEY, secret_key: secretKey, project_id: PROJECT_ID },
});

interface Running {
  simulator: Simulator;
  exporter: Exporter;
  logs: LogCapture;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const simulator = await createSimulator({ seed: 21, jobs: JOBS, gapProbability: 0, ...options });
  cleanups.push(() => simulator.close());
  return simulator;
}

async function startExporter(
  simulator: Simulator,
  auth: Record<string, unknown>,
  options: { wrapAuth?: (auth: AuthProvider) => AuthProvider; level?: string; startAt?: 'latest' | number } = {},
): Promise<Running> {
  const config: Config = testConfig(simulator, {
    codearts: { auth },
    poll: { schedule: NEVER, start_at: options.startAt ?? 1 },
    log: { level: options.level ?? 'debug' },
  });
  const logs = new LogCapture();
  const exporter = await Exporter.create({
    config,
    logger: createLogger(config.log.level, logs.stream),
    ...(options.wrapAuth ? { wrapAuth: options.wrapAuth } : {}),
  });
  cleanups.push(() => exporter.stop());
  return { simulator, exporter, logs };
}

function total(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return select(samples, name, where).reduce((sum, s) => sum + s.value, 0);
}

function statusCount(simulator: Simulator, status: number): number {
  return Object.values(simulator.requests().byEndpointStatus).reduce((sum, byStatus) => sum + (byStatus[String(status)] ?? 0), 0);
}

const iamRequests = (simulator: Simulator): number => simulator.requests().byEndpoint['iam-token'] ?? 0;

/** Cycles without new builds until every counter matches the simulator (gap checks need quiet cycles). */
async function expectExactCounts(running: Running): Promise<void> {
  for (let i = 0; i < 5; i++) expect((await running.exporter.runCycle()).outcome).toBe('success');
  const samples = await scrape(running.exporter);
  for (const job of running.simulator.groundTruth()) {
    expect(job.finished.length).toBeGreaterThan(0);
    expect(compareCounters(samples, job)).toEqual([]);
  }
}

function jobFailures(logs: LogCapture): LogLine[] {
  return logs.lines.filter((line) => line.msg.startsWith('polling job failed'));
}

describe('IAM password tokens against the simulator (real time, 3 s tokens)', () => {
  it('polls for several token lifetimes without a failed cycle, refreshing ahead of expiry; a revoked token costs exactly one refresh; counts exact', async () => {
    const lifetimeSeconds = 3;
    const simulator = await startSimulator({ auth: { mode: 'iam', tokenLifetimeSeconds: lifetimeSeconds, users: [IAM_USER] } });
    const running = await startExporter(simulator, iamAuthConfig(simulator));
    const { exporter } = running;

    const started = Date.now();
    const outcomes: string[] = [];
    let minRemainingSeconds = Infinity;
    while (Date.now() - started < 12_000) {
      simulator.advance(60);
      outcomes.push((await exporter.runCycle()).outcome);
      const expiry = valueOf(await scrape(exporter), 'codearts_exporter_auth_token_expiry_timestamp_seconds') ?? 0;
      minRemainingSeconds = Math.min(minRemainingSeconds, expiry - Date.now() / 1000);
      await delay(400);
    }
    const lifetimes = (Date.now() - started) / 1000 / lifetimeSeconds;
    let samples = await scrape(exporter);
    const refreshes = valueOf(samples, 'codearts_exporter_auth_refreshes_total', { outcome: 'success' }) ?? 0;
    console.info(
      `iam: ${outcomes.length} cycles over ${lifetimes.toFixed(1)} lifetimes, ${refreshes} refreshes, ${iamRequests(simulator)} IAM requests, min remaining ${minRemainingSeconds.toFixed(2)} s`,
    );

    expect(outcomes.length).toBeGreaterThanOrEqual(20);
    expect(outcomes.every((outcome) => outcome === 'success')).toBe(true);
    // Refreshed ahead of expiry: the gateway never saw an expired token, and every cycle ended with time left.
    expect(statusCount(simulator, 401)).toBe(0);
    expect(minRemainingSeconds).toBeGreaterThan(0);
    expect(refreshes).toBeGreaterThan(lifetimes);
    expect(valueOf(samples, 'codearts_exporter_auth_refreshes_total', { outcome: 'failure' })).toBe(0);
    expect(iamRequests(simulator)).toBe(refreshes);
    expect(total(samples, 'codearts_exporter_api_requests_total', { endpoint: 'iam-token', code: '201' })).toBe(refreshes);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(1);

    // Revoke right after a refresh, so no refresh-ahead is due during the next cycle.
    const waitStarted = Date.now();
    while ((valueOf(await scrape(exporter), 'codearts_exporter_auth_refreshes_total', { outcome: 'success' }) ?? 0) === refreshes) {
      if (Date.now() - waitStarted > 5000) throw new Error('no refresh within 5 s');
      await exporter.runCycle();
      await delay(20);
    }
    const iamBefore = iamRequests(simulator);
    const unauthorizedBefore = statusCount(simulator, 401);
    // Older tokens stay valid until they expire (IAM does not invalidate them on a new issue).
    expect(simulator.revokeTokens()).toBeGreaterThanOrEqual(1);
    simulator.advance(60);
    expect((await exporter.runCycle()).outcome).toBe('success');
    expect(statusCount(simulator, 401) - unauthorizedBefore).toBeGreaterThanOrEqual(1);
    expect(iamRequests(simulator) - iamBefore).toBe(1);
    console.info(
      `iam revoke: ${statusCount(simulator, 401) - unauthorizedBefore} requests saw 401, ${iamRequests(simulator) - iamBefore} IAM request`,
    );

    await expectExactCounts(running);
    samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_auth_token_expiry_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000);
  }, 40_000);

  it('IAM failing: a clear log line naming endpoint and user, up 0, no IAM request within the backoff, recovery after it', async () => {
    const simulator = await startSimulator({ auth: { mode: 'iam', tokenLifetimeSeconds: 60, users: [IAM_USER] } });
    const { exporter, logs } = await startExporter(simulator, iamAuthConfig(simulator));
    simulator.inject('500', { endpoint: 'iam-token', count: 1 });

    expect((await exporter.runCycle()).outcome).toBe('failure');
    expect(iamRequests(simulator)).toBe(1);
    const tokenUrl = `${simulator.url}/v3/auth/tokens`;
    const iamLine = logs.lines.find((line) => line.msg === 'iam token request failed');
    expect(iamLine).toMatchObject({ endpoint: tokenUrl, user: IAM_USER.user, domain: IAM_USER.domain });
    expect(String(iamLine?.err)).toContain('HTTP 500');
    const failures = jobFailures(logs);
    expect(failures.length).toBe(JOBS.length);
    for (const line of failures) expect(JSON.stringify(line.err)).toContain(`IAM token request to ${tokenUrl} for user '${IAM_USER.user}'`);
    let samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
    expect(valueOf(samples, 'codearts_exporter_auth_refreshes_total', { outcome: 'failure' })).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_api_requests_total', { endpoint: 'iam-token', code: '500' })).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_auth_token_expiry_timestamp_seconds')).toBeUndefined();
    // No CodeArts request went out without credentials.
    expect(simulator.requests().log.filter((entry) => entry.endpoint !== 'iam-token')).toEqual([]);

    // Within the provider's 5 s backoff IAM is not asked again.
    expect((await exporter.runCycle()).outcome).toBe('failure');
    expect(iamRequests(simulator)).toBe(1);

    await delay(5_100);
    simulator.advance(600);
    expect((await exporter.runCycle()).outcome).toBe('success');
    expect(iamRequests(simulator)).toBe(2);
    samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_auth_refreshes_total', { outcome: 'success' })).toBe(1);
    for (const job of simulator.groundTruth()) expect(compareCounters(samples, job)).toEqual([]);
  }, 20_000);
});

describe('50 concurrent CodeArts requests through CodeArtsClient need one IAM request', () => {
  const JOB = 'c8000000000000000000000000000001';

  async function setup() {
    const simulator = await startSimulator({
      jobs: [{ id: JOB, name: 'wide', history: 50, buildEverySeconds: 0 }],
      auth: { mode: 'iam', tokenLifetimeSeconds: 60, users: [IAM_USER] },
    });
    let offsetSeconds = 0;
    const auth = createIamAuth({
      endpoint: simulator.url,
      domain: IAM_USER.domain,
      user: IAM_USER.user,
      password: PASSWORD,
      project: IAM_USER.project,
      clock: withWallTime(() => Date.now() + offsetSeconds * 1000),
    });
    const client = new CodeArtsClient({
      endpoint: simulator.url,
      recordApi: 'v4',
      auth,
      requestTimeoutMs: 5000,
      maxConcurrency: 50,
      maxRequestsPerSecond: 100_000,
      retry: { retries: 0, minDelayMs: 10, maxDelayMs: 10 },
      maxRetryTimeMs: 5000,
      notFoundCodes: DEFAULT_NOT_FOUND_CODES,
    });
    const fetchAll = () => Promise.all(Array.from({ length: 50 }, (_, i) => client.getRecord(JOB, i + 1)));
    /** Moves both clocks (ours and the gateway's), as if that much real time had passed. */
    const jump = (seconds: number) => {
      offsetSeconds += seconds;
      simulator.setAuthClockOffset(offsetSeconds);
    };
    expect((await client.getRecord(JOB, 1)).found).toBe(true);
    expect(iamRequests(simulator)).toBe(1);
    return { simulator, fetchAll, jump };
  }

  it('token expired (by our clock): one IAM request, no 401', async () => {
    const { simulator, fetchAll, jump } = await setup();
    jump(61);
    const results = await fetchAll();
    expect(results.every((r) => r.found)).toBe(true);
    expect(iamRequests(simulator)).toBe(2);
    expect(statusCount(simulator, 401)).toBe(0);
  });

  it('token revoked by IAM (50 answers of 401): one IAM request, every request replayed once', async () => {
    const { simulator, fetchAll } = await setup();
    simulator.revokeTokens();
    const results = await fetchAll();
    expect(results.every((r) => r.found)).toBe(true);
    expect(iamRequests(simulator)).toBe(2);
    expect(statusCount(simulator, 401)).toBe(50);
    expect(simulator.requests().recordInfo).toBe(1 + 50 + 50);
  });
});

describe('AK/SK signing against the simulator gateway', () => {
  const akskSimulator = () => startSimulator({ auth: { mode: 'aksk', keys: { [ACCESS_KEY]: SECRET_KEY } } });

  /** The cycle failed for every job with a 401 of this gateway code, reported per job, up 0, nothing retried. */
  async function expectRejected(running: Running, code: string): Promise<void> {
    const unauthorizedBefore = statusCount(running.simulator, 401);
    expect((await running.exporter.runCycle()).outcome).toBe('failure');
    expect(statusCount(running.simulator, 401) - unauthorizedBefore).toBe(JOBS.length);
    const failures = jobFailures(running.logs).slice(-JOBS.length);
    expect(failures.length).toBe(JOBS.length);
    for (const line of failures) {
      expect(line.err).toMatchObject({ status: 401, code, kind: 'unauthorized' });
      expect(String((line.err as { message?: unknown }).message)).toContain(`401 ${code} Incorrect IAM authentication information`);
    }
    const samples = await scrape(running.exporter);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
    expect(total(samples, 'codearts_exporter_api_retries_total')).toBe(0);
  }

  it('every signed request of a full poll (start_at latest and 1) is accepted; counts exact', async () => {
    const simulator = await akskSimulator();
    // start_at latest also uses running-status and the record-info search.
    const latest = await startExporter(simulator, akskAuthConfig(), { startAt: 'latest' });
    expect((await latest.exporter.runCycle()).outcome).toBe('success');
    expect(simulator.requests().byEndpoint['running-status']).toBeGreaterThan(0);
    const running = await startExporter(simulator, akskAuthConfig());
    for (let i = 0; i < 10; i++) {
      simulator.advance(120);
      expect((await running.exporter.runCycle()).outcome).toBe('success');
    }
    await expectExactCounts(running);
    const requests = simulator.requests();
    expect(requests.recordInfo).toBeGreaterThan(30);
    expect(statusCount(simulator, 401)).toBe(0);
    expect(Object.keys(requests.byEndpoint)).toContain('running-status');
    const samples = await scrape(running.exporter);
    expect(valueOf(samples, 'codearts_exporter_auth_token_expiry_timestamp_seconds')).toBeUndefined();
    expect(total(samples, 'codearts_exporter_auth_refreshes_total')).toBe(0);
  });

  it('a wrong secret key is rejected with APIGW.0301 and reported', async () => {
    const simulator = await akskSimulator();
    await expectRejected(await startExporter(simulator, akskAuthConfig('not-the-secret-key')), 'APIGW.0301');
  });

  it('a signed header changed after signing is rejected with APIGW.0301 and reported', async () => {
    const simulator = await akskSimulator();
    const tamper = (auth: AuthProvider): AuthProvider => ({
      ...auth,
      authorize: async (request, signal) => ({
        ...(await auth.authorize(request, signal)),
        'X-Project-Id': 'ffffffffffffffffffffffffffffffff',
      }),
    });
    await expectRejected(await startExporter(simulator, akskAuthConfig(), { wrapAuth: tamper }), 'APIGW.0301');
  });

  it('a clock 16 minutes off is rejected with APIGW.0303 and reported; 14 minutes is accepted', async () => {
    const simulator = await akskSimulator();
    const running = await startExporter(simulator, akskAuthConfig());
    simulator.setAuthClockOffset(16 * 60);
    await expectRejected(running, 'APIGW.0303');
    simulator.setAuthClockOffset(-16 * 60);
    await expectRejected(running, 'APIGW.0303');
    simulator.setAuthClockOffset(14 * 60);
    simulator.advance(600);
    await expectExactCounts(running);
  });
});

describe('secrets never leave the process', () => {
  it('password, issued tokens and secret key appear in no log line (trace), error message, /metrics or /', async () => {
    const texts: Array<{ where: string; text: string }> = [];
    const tokens = new Set<string>();
    const recordTokens = (auth: AuthProvider): AuthProvider => ({
      ...auth,
      authorize: async (request, signal) => {
        const headers = await auth.authorize(request, signal);
        if (headers['X-Auth-Token']) tokens.add(headers['X-Auth-Token']);
        return headers;
      },
    });
    const collectPages = async (label: string, exporter: Exporter) => {
      const { url } = await exporter.start();
      for (const path of ['/', '/metrics']) {
        const response = await fetch(url + path);
        expect(response.status, label + path).toBe(200);
        texts.push({ where: `${label} ${path}`, text: await response.text() });
      }
    };

    // IAM: tokens issued, one revoked, a wrong password, IAM down.
    const iamSimulator = await startSimulator({ auth: { mode: 'iam', tokenLifetimeSeconds: 2, users: [IAM_USER] } });
    const iam = await startExporter(iamSimulator, iamAuthConfig(iamSimulator), { level: 'trace', wrapAuth: recordTokens });
    for (let i = 0; i < 6; i++) {
      iamSimulator.advance(120);
      expect((await iam.exporter.runCycle()).outcome).toBe('success');
      await delay(300);
    }
    iamSimulator.revokeTokens();
    expect((await iam.exporter.runCycle()).outcome).toBe('success');
    await collectPages('iam', iam.exporter);
    const wrongPassword = await startExporter(iamSimulator, iamAuthConfig(iamSimulator, `${PASSWORD}-old`), { level: 'trace' });
    expect((await wrongPassword.exporter.runCycle()).outcome).toBe('failure');
    await collectPages('iam-wrong-password', wrongPassword.exporter);
    iamSimulator.inject('500', { endpoint: 'iam-token', count: 1 });
    const iamDown = await startExporter(iamSimulator, iamAuthConfig(iamSimulator), { level: 'trace' });
    expect((await iamDown.exporter.runCycle()).outcome).toBe('failure');

    // AK/SK: accepted, then a gateway that knows a different secret for the key.
    const aksk = await startExporter(
      await startSimulator({ auth: { mode: 'aksk', keys: { [ACCESS_KEY]: SECRET_KEY } } }),
      akskAuthConfig(),
      { level: 'trace' },
    );
    expect((await aksk.exporter.runCycle()).outcome).toBe('success');
    await collectPages('aksk', aksk.exporter);
    const rejecting = await startExporter(
      await startSimulator({ auth: { mode: 'aksk', keys: { [ACCESS_KEY]: 'another-secret' } } }),
      akskAuthConfig(),
      { level: 'trace' },
    );
    expect((await rejecting.exporter.runCycle()).outcome).toBe('failure');
    await collectPages('aksk-rejected', rejecting.exporter);

    const all = { iam, wrongPassword, iamDown, aksk, rejecting };
    for (const [label, running] of Object.entries(all)) {
      texts.push({ where: `${label} logs`, text: running.logs.raw });
      for (const line of running.logs.lines) {
        const message = (line.err as { message?: unknown } | undefined)?.message;
        if (message !== undefined)
          texts.push({ where: `${label} error message`, text: typeof message === 'string' ? message : JSON.stringify(message) });
      }
    }
    // The scenarios did what they claim: tokens were issued, errors were logged, trace was on.
    expect(tokens.size).toBeGreaterThanOrEqual(3);
    expect(texts.filter((t) => t.where.endsWith('error message')).length).toBeGreaterThanOrEqual(3 * JOBS.length);
    expect(iam.logs.lines.some((line) => line.msg === 'requesting iam token')).toBe(true);
    expect(wrongPassword.logs.raw).toContain('IAM.0007');
    expect(rejecting.logs.raw).toContain('APIGW.0301');

    const secrets = [PASSWORD, SECRET_KEY, ...tokens];
    const leaks = texts.flatMap(({ where, text }) =>
      secrets.filter((secret) => text.includes(secret)).map((secret) => `${where}: ${secret.slice(0, 12)}…`),
    );
    expect(leaks).toEqual([]);
  }, 30_000);
});
