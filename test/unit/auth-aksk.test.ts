import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAkskAuth } from '../../src/codearts/auth/aksk.js';
import type { AuthProvider } from '../../src/codearts/auth/types.js';
import { verifySignedRequest } from '../../src/simulator/aksk-verify.js';
import { withWallTime } from '../../src/support/clock.js';

const ACCESS_KEY = 'HPUAQ7NUKRXG2ZVTWXYZ';
const SECRET_KEY = 'SENTINEL-SECRET-KEY-9999';
const PROJECT_ID = '0b3e2c6f9a8d4e1f8c7b6a5d4e3f2a1b';
const JOB_ID = 'cb5fa20de5fd4cf8be681d4bd6fdd2f6';
const MINUTE = 60_000;

/** Everything the tests saw that an operator could see: descriptions, errors, response bodies. */
const observed: string[] = [];

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const result = verifySignedRequest(
        {
          method: req.method ?? 'GET',
          path: q === -1 ? raw : raw.slice(0, q),
          query: q === -1 ? '' : raw.slice(q + 1),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        },
        { keys: { [ACCESS_KEY]: SECRET_KEY, OTHERAKOTHERAKOTHER1: 'another-secret' }, now: () => Date.now() / 1000, maxSkewSeconds: 900 },
      );
      const body = result.ok ? { status: 'success', error: null, result: {} } : { error_code: result.code, error_msg: result.message };
      res.writeHead(result.ok ? 200 : result.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  for (const text of observed) expect(text).not.toContain(SECRET_KEY);
});

/** Sends a request the way the CodeArts client does: base headers + what authorize() returns. */
async function send(
  auth: AuthProvider,
  init: { method?: string; path: string; body?: string; headers?: Record<string, string>; tamper?: Record<string, string> },
): Promise<{ status: number; body: { error_code?: string; error_msg?: string } }> {
  const url = new URL(base + init.path);
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json', host: url.host, ...init.headers };
  const auth_ = await auth.authorize({ method, url, headers, ...(init.body === undefined ? {} : { body: init.body }) });
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...auth_, ...init.tamper },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  observed.push(text);
  return { status: response.status, body: JSON.parse(text) as { error_code?: string; error_msg?: string } };
}

function aksk(overrides: { secretKey?: string; accessKey?: string; skewMs?: number } = {}): AuthProvider {
  const auth = createAkskAuth({
    accessKey: overrides.accessKey ?? ACCESS_KEY,
    secretKey: overrides.secretKey ?? SECRET_KEY,
    projectId: PROJECT_ID,
    clock: withWallTime(() => Date.now() + (overrides.skewMs ?? 0)),
  });
  observed.push(auth.describe());
  return auth;
}

describe('AK/SK signing against the gateway verifier (real HTTP on loopback)', () => {
  it('accepts every request of a poll: record-info, running-status, odd paths and queries, a JSON POST', async () => {
    const auth = aksk();
    const requests = [
      { path: `/v4/jobs/${JOB_ID}/42/record-info` },
      { path: `/v1/record/${JOB_ID}/42/record-info` },
      { path: `/v1/job/${JOB_ID}/running-status` },
      { path: `/v4/jobs/${encodeURIComponent('job (été) #1')}/7/record-info` },
      { path: '/v3/jobs?page_index=0&page_size=100&tag=a+b&tag=%C3%A9&empty=&flag' },
      {
        method: 'POST',
        path: `/v3/jobs/${JOB_ID}/build?x=1`,
        headers: { 'content-type': 'application/json;charset=UTF-8' },
        body: JSON.stringify({ job_id: JOB_ID, parameter: [{ name: 'branch', value: 'feature/ä ö' }] }),
      },
    ];
    for (const request of requests) {
      const { status, body } = await send(auth, request);
      expect({ path: request.path, status, body }).toMatchObject({ status: 200 });
    }
  });

  it('signs X-Project-Id along with host and x-sdk-date', async () => {
    const url = new URL(`${base}/v4/jobs/${JOB_ID}/1/record-info`);
    const headers = await aksk().authorize({ method: 'GET', url, headers: { accept: 'application/json', host: url.host } });
    expect(headers['X-Project-Id']).toBe(PROJECT_ID);
    expect(headers['X-Sdk-Date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers.Authorization).toMatch(
      new RegExp(`^SDK-HMAC-SHA256 Access=${ACCESS_KEY}, SignedHeaders=accept;host;x-project-id;x-sdk-date, Signature=[0-9a-f]{64}$`),
    );
  });

  it('rejects a wrong secret key with APIGW.0301', async () => {
    const { status, body } = await send(aksk({ secretKey: 'not-the-secret' }), { path: `/v4/jobs/${JOB_ID}/1/record-info` });
    expect(status).toBe(401);
    expect(body.error_code).toBe('APIGW.0301');
    expect(body.error_msg).toContain('verify aksk signature fail');
  });

  it('rejects an unknown access key with APIGW.0301', async () => {
    const { status, body } = await send(aksk({ accessKey: 'UNKNOWNAKUNKNOWNAK00' }), { path: `/v4/jobs/${JOB_ID}/1/record-info` });
    expect(status).toBe(401);
    expect(body).toMatchObject({ error_code: 'APIGW.0301' });
    expect(body.error_msg).toContain('ak not exist');
  });

  it('rejects a signed header changed after signing, and a changed query', async () => {
    const tampered = await send(aksk(), {
      path: `/v4/jobs/${JOB_ID}/1/record-info`,
      tamper: { 'X-Project-Id': 'ffffffffffffffffffffffffffffffff' },
    });
    expect(tampered.status).toBe(401);
    expect(tampered.body.error_code).toBe('APIGW.0301');

    const auth = aksk();
    const url = new URL(`${base}/v4/jobs/${JOB_ID}/1/record-info?build_no=1`);
    const headers = { accept: 'application/json', host: url.host };
    const signed = await auth.authorize({ method: 'GET', url, headers });
    const response = await fetch(`${base}/v4/jobs/${JOB_ID}/1/record-info?build_no=2`, { headers: { ...headers, ...signed } });
    observed.push(await response.text());
    expect(response.status).toBe(401);
  });

  it.each([
    ['16 minutes slow', -16 * MINUTE, 401],
    ['16 minutes fast', 16 * MINUTE, 401],
    ['14 minutes slow', -14 * MINUTE, 200],
    ['14 minutes fast', 14 * MINUTE, 200],
  ])('clock %s -> %i', async (_label, skewMs, expected) => {
    const { status, body } = await send(aksk({ skewMs }), { path: `/v4/jobs/${JOB_ID}/1/record-info` });
    expect(status).toBe(expected);
    if (expected === 401) expect(body.error_code).toBe('APIGW.0303');
  });

  it('cannot refresh a signature: onUnauthorized answers false', async () => {
    expect(await aksk().onUnauthorized({ Authorization: 'SDK-HMAC-SHA256 Access=x' })).toBe(false);
  });

  it('describes itself with at most the last 4 characters of the access key and never the secret', () => {
    const description = aksk().describe();
    expect(description).toBe('AK/SK signing (access key …WXYZ)');
    expect(description).not.toContain(ACCESS_KEY.slice(0, -4));
    for (const bad of [{ accessKey: '' }, { secretKey: '' }]) {
      try {
        createAkskAuth({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY, ...bad });
        expect.unreachable();
      } catch (error) {
        observed.push(String(error), (error as Error).stack ?? '');
      }
    }
  });
});
