import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createIamAuth, isIamAuthError, refreshMargins, type IamAuthOptions } from '../../src/codearts/auth/iam.js';
import type { CodeArtsEvent, IamTokenEvent } from '../../src/codearts/events.js';
import { createLogger } from '../../src/log/logger.js';
import { BuildMetrics } from '../../src/metrics/build-metrics.js';
import { SelfMetrics } from '../../src/metrics/self-metrics.js';
import { createReporter } from '../../src/wiring/report.js';
import { createIamIssuer, type IamIssuer } from '../../src/simulator/iam.js';
import { withWallTime } from '../../src/support/clock.js';

const PASSWORD = 'SENTINEL-PASSWORD-4242';
const JOB_ID = 'cb5fa20de5fd4cf8be681d4bd6fdd2f6';

interface FakeCloud {
  base: string;
  issuer: IamIssuer;
  /** POSTs that reached /v3/auth/tokens, whatever the answer. */
  iamRequests(): number;
  /** 'down' answers 502 echoing the request body (a hostile proxy); 'slow' waits 500 ms. */
  iamMode: 'up' | 'down' | 'slow';
  close(): Promise<void>;
}

const clouds: FakeCloud[] = [];
afterEach(async () => {
  await Promise.all(clouds.splice(0).map((cloud) => cloud.close()));
});

/** IAM (the simulator's issuer) and one CodeArts-like route on a random loopback port. */
async function startCloud(options: { lifetimeSeconds: number; nowSeconds?: () => number; password?: string }): Promise<FakeCloud> {
  const issuer = createIamIssuer({
    tokenLifetimeSeconds: options.lifetimeSeconds,
    users: [{ domain: 'acme', user: 'alice', password: options.password ?? PASSWORD, project: 'cn-north-4' }],
    now: options.nowSeconds ?? (() => Date.now() / 1000),
  });
  let iamRequests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => void answer(Buffer.concat(chunks).toString('utf8')));
    const answer = async (body: string): Promise<void> => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'POST' && path === '/v3/auth/tokens') {
        iamRequests += 1;
        if (cloud.iamMode === 'down') {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`bad gateway while forwarding ${body}`);
          return;
        }
        if (cloud.iamMode === 'slow') await delay(500);
        const answer = issuer.handleTokenRequest(body);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      }
      const token = req.headers['x-auth-token'];
      const state = typeof token === 'string' ? issuer.checkToken(token) : 'unknown';
      res.writeHead(state === 'valid' ? 200 : 401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          state === 'valid'
            ? { status: 'success', error: null, result: {} }
            : { error_code: 'APIGW.0301', error_msg: `Incorrect IAM authentication information: token ${state}` },
        ),
      );
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cloud: FakeCloud = {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    issuer,
    iamRequests: () => iamRequests,
    iamMode: 'up',
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  clouds.push(cloud);
  return cloud;
}

/**
 * The provider's events, the token outcomes among them (with when they came), and every log line
 * (debug included) the exporter's reporter writes for them: what is searched for secrets.
 */
function recorder() {
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => lines.push(line) });
  const metrics = new BuildMetrics({ recordLabels: [], durationBuckets: [1], queueBuckets: [1], jobHistograms: true });
  const reporter = createReporter({ logger, self: new SelfMetrics('test'), metrics, endpoint: 'n/a' });
  const tokens: IamTokenEvent[] = [];
  const eventTimes: number[] = [];
  const events = {
    emit: (event: CodeArtsEvent) => {
      reporter.emit(event);
      if (event.type !== 'iam_token') return;
      tokens.push(event);
      eventTimes.push(Date.now());
    },
  };
  const logged = () => lines.map((line) => JSON.parse(line) as { level: string; msg: string; [field: string]: unknown });
  return { lines, tokens, eventTimes, events, logged };
}

function iamAuth(cloud: FakeCloud, rec: ReturnType<typeof recorder>, overrides: Partial<IamAuthOptions> = {}) {
  return createIamAuth({
    endpoint: cloud.base,
    domain: 'acme',
    user: 'alice',
    password: PASSWORD,
    project: 'cn-north-4',
    events: rec.events,
    failureBackoffMs: 50,
    ...overrides,
  });
}

/** One CodeArts call as the client makes it: authorize, send, and on 401 refresh once and resend. */
async function callApi(
  cloud: FakeCloud,
  auth: ReturnType<typeof createIamAuth>,
): Promise<{ status: number; first: number; token: string }> {
  const url = new URL(`${cloud.base}/v4/jobs/${JOB_ID}/1/record-info`);
  const base = { accept: 'application/json', host: url.host };
  let headers: Record<string, string> = { ...base, ...(await auth.authorize({ method: 'GET', url, headers: base })) };
  const first = (await fetch(url, { headers })).status;
  // What CodeArtsClient does: tell the provider CodeArts took the token.
  if (first !== 401) auth.onAccepted?.(headers);
  let status = first;
  if (first === 401 && (await auth.onUnauthorized(headers))) {
    headers = { ...base, ...(await auth.authorize({ method: 'GET', url, headers: base })) };
    status = (await fetch(url, { headers })).status;
  }
  return { status, first, token: headers['X-Auth-Token'] ?? '' };
}

function expectNoSecrets(texts: string[], secrets: string[]): void {
  for (const text of texts) for (const secret of secrets) expect(text).not.toContain(secret);
}

describe('IAM password token auth (real HTTP to the simulator issuer)', () => {
  it('obtains a project-scoped token, uses it, and reuses it while fresh', async () => {
    const cloud = await startCloud({ lifetimeSeconds: 3600 });
    const rec = recorder();
    const auth = iamAuth(cloud, rec);
    const before = Date.now();
    const a = await callApi(cloud, auth);
    const b = await callApi(cloud, auth);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.token).toBe(a.token);
    expect(cloud.iamRequests()).toBe(1);
    expect(auth.expiresAt()).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(auth.expiresAt()).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(rec.tokens).toEqual([
      {
        type: 'iam_token',
        outcome: 'success',
        iam: { endpoint: `${cloud.base}/v3/auth/tokens`, user: 'alice', domain: 'acme' },
        expiresAt: auth.expiresAt(),
      },
    ]);
    expect(rec.logged().find((line) => line.event === 'iam_token')).toMatchObject({
      level: 'info',
      msg: 'iam token obtained',
      user: 'alice',
      domain: 'acme',
    });
    expect(auth.describe()).toContain("user 'alice'");
    expectNoSecrets([...rec.lines, auth.describe()], [PASSWORD, a.token]);
  });

  it('refreshes ahead of expiry over several 2 s lifetimes without a single failed call', async () => {
    const cloud = await startCloud({ lifetimeSeconds: 2 });
    const rec = recorder();
    const auth = iamAuth(cloud, rec);
    const statuses: number[] = [];
    const tokens = new Set<string>();
    const until = Date.now() + 7_000;
    const worker = async () => {
      while (Date.now() < until) {
        const { first, token } = await callApi(cloud, auth);
        statuses.push(first);
        tokens.add(token);
        await delay(40);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);

    expect(statuses.length).toBeGreaterThan(200);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const successes = rec.tokens.flatMap((e) => (e.outcome === 'success' ? [e] : []));
    expect(rec.tokens.filter((e) => e.outcome === 'failure')).toEqual([]);
    // 7 s of 2 s tokens replaced after ~1.33 s: about 6 tokens, never one request per caller.
    expect(successes.length).toBeGreaterThanOrEqual(4);
    expect(successes.length).toBeLessThanOrEqual(8);
    expect(cloud.iamRequests()).toBe(successes.length);
    expect(tokens.size).toBe(successes.length);
    // Each new token arrived while the previous one still had at least a third of a second left.
    for (let i = 1; i < successes.length; i++) {
      expect(rec.eventTimes[i]).toBeLessThan(successes[i - 1]!.expiresAt - 300);
    }
    expectNoSecrets(rec.lines, [PASSWORD, ...tokens]);
  });

  it('50 concurrent authorize() calls with an expired token cause exactly one IAM request', async () => {
    let clockMs = Date.now();
    const cloud = await startCloud({ lifetimeSeconds: 3600, nowSeconds: () => clockMs / 1000 });
    const rec = recorder();
    const auth = iamAuth(cloud, rec, { clock: withWallTime(() => clockMs) });
    const url = new URL(`${cloud.base}/v4/jobs/${JOB_ID}/1/record-info`);
    const old = (await auth.authorize({ method: 'GET', url, headers: {} }))['X-Auth-Token'];
    expect(cloud.iamRequests()).toBe(1);

    clockMs += 3601_000;
    expect(cloud.issuer.checkToken(old!)).toBe('expired');
    cloud.iamMode = 'slow';
    const results = await Promise.all(Array.from({ length: 50 }, () => auth.authorize({ method: 'GET', url, headers: {} })));

    expect(cloud.iamRequests()).toBe(2);
    const fresh = new Set(results.map((h) => h['X-Auth-Token']));
    expect(fresh.size).toBe(1);
    const [token] = [...fresh];
    expect(token).not.toBe(old);
    expect(cloud.issuer.checkToken(token!)).toBe('valid');
  });

  it('a token revoked early is replaced after exactly one refresh, however many requests saw the 401', async () => {
    const cloud = await startCloud({ lifetimeSeconds: 3600 });
    const rec = recorder();
    const auth = iamAuth(cloud, rec);
    const first = await callApi(cloud, auth);
    expect(first.status).toBe(200);

    cloud.issuer.revoke(first.token);
    const results = await Promise.all(Array.from({ length: 10 }, () => callApi(cloud, auth)));

    expect(results.map((r) => r.first)).toEqual(Array(10).fill(401));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(cloud.iamRequests()).toBe(2);
    const replacement = results[0]!.token;
    expect(replacement).not.toBe(first.token);
    expect(new Set(results.map((r) => r.token))).toEqual(new Set([replacement]));

    // A late 401 for the old token: already replaced, so retry without asking IAM again.
    expect(await auth.onUnauthorized({ 'X-Auth-Token': first.token })).toBe(true);
    expect(cloud.iamRequests()).toBe(2);
  });

  it('a wrong password fails clearly, is not retried within the backoff, and leaks nothing', async () => {
    const cloud = await startCloud({ lifetimeSeconds: 3600, password: 'the-real-password' });
    const rec = recorder();
    const auth = iamAuth(cloud, rec, { failureBackoffMs: 60_000 });
    const url = new URL(`${cloud.base}/v4/jobs/${JOB_ID}/1/record-info`);

    const error = await auth.authorize({ method: 'GET', url, headers: {} }).catch((e: unknown) => e);
    expect(isIamAuthError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toBe(
      `IAM token request to ${cloud.base}/v3/auth/tokens for user 'alice' in domain 'acme' failed: HTTP 401 IAM.0007: The username or password is wrong.`,
    );

    const again = await auth.authorize({ method: 'GET', url, headers: {} }).catch((e: unknown) => e);
    expect((again as Error).message).toBe(message);
    expect(cloud.iamRequests()).toBe(1);
    expect(rec.tokens.map((e) => [e.outcome, e.outcome === 'failure' ? e.error.message : ''])).toEqual([['failure', message]]);
    expect(
      rec.logged().some((line) => line.level === 'warn' && line.msg === 'iam token request failed' && String(line.err).includes("'alice'")),
    ).toBe(true);
    expectNoSecrets([...rec.lines, message, String((error as Error).stack)], [PASSWORD]);
  });

  it('IAM unreachable: the error names endpoint and user; retried after the backoff', async () => {
    const cloud = await startCloud({ lifetimeSeconds: 3600 });
    await cloud.close();
    const rec = recorder();
    const auth = iamAuth(cloud, rec);
    const url = new URL(`${cloud.base}/x`);
    const error = (await auth.authorize({ method: 'GET', url, headers: {} }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(
      new RegExp(
        `^IAM token request to ${cloud.base.replace(/\./g, '\\.')}/v3/auth/tokens for user 'alice' in domain 'acme' failed: network: .*ECONNREFUSED`,
      ),
    );
    expectNoSecrets([...rec.lines, error.message], [PASSWORD]);
  });

  it('IAM answering 502 (echoing our body) then recovering: password scrubbed, next call after the backoff succeeds', async () => {
    const cloud = await startCloud({ lifetimeSeconds: 3600 });
    cloud.iamMode = 'down';
    const rec = recorder();
    const auth = iamAuth(cloud, rec, { failureBackoffMs: 100 });
    const url = new URL(`${cloud.base}/v4/jobs/${JOB_ID}/1/record-info`);

    const error = (await auth.authorize({ method: 'GET', url, headers: {} }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('HTTP 502');
    expect(error.message).toContain('***');
    cloud.iamMode = 'up';
    await expect(auth.authorize({ method: 'GET', url, headers: {} })).rejects.toThrow('HTTP 502');
    expect(cloud.iamRequests()).toBe(1);

    await delay(150);
    const headers = await auth.authorize({ method: 'GET', url, headers: {} });
    expect(cloud.issuer.checkToken(headers['X-Auth-Token']!)).toBe('valid');
    expect(rec.tokens.map((e) => e.outcome)).toEqual(['failure', 'success']);
    const failures = rec.tokens.flatMap((e) => (e.outcome === 'failure' ? [e.error.message] : []));
    expectNoSecrets([...rec.lines, error.message, ...failures], [PASSWORD, headers['X-Auth-Token']!]);
  });

  it('IAM too slow: a timeout error naming the endpoint', async () => {
    const cloud = await startCloud({ lifetimeSeconds: 3600 });
    cloud.iamMode = 'slow';
    const auth = iamAuth(cloud, recorder(), { requestTimeoutMs: 100 });
    await expect(auth.authorize({ method: 'GET', url: new URL(cloud.base), headers: {} })).rejects.toThrow(
      `IAM token request to ${cloud.base}/v3/auth/tokens for user 'alice' in domain 'acme' failed: timeout: no answer within 100 ms`,
    );
  });

  it('refuses an incomplete configuration without echoing the password', () => {
    const base = { endpoint: 'https://iam.cn-north-4.myhuaweicloud.com', domain: 'acme', user: 'alice', password: PASSWORD };
    expect(() => createIamAuth(base)).toThrow('exactly one of project or projectId');
    expect(() => createIamAuth({ ...base, project: 'a', projectId: 'b' })).toThrow('exactly one of project or projectId');
    expect(() => createIamAuth({ ...base, endpoint: 'iam.example.com', project: 'a' })).toThrow('not a URL');
    expect(() => createIamAuth({ ...base, password: '', project: 'a' })).toThrow('non-empty password');
  });
});

describe('refreshMargins', () => {
  it.each([
    ['24 h token', 86_400_000, 7_200_000, 30_000],
    ['1 h token', 3_600_000, 1_200_000, 30_000],
    ['3 s token', 3_000, 1_000, 300],
  ])('%s', (_label, lifetime, soft, hard) => {
    expect(refreshMargins(lifetime, 7_200_000)).toEqual({ soft, hard });
  });
});
