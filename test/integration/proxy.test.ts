import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createSimulator, type SimJobSpec, type Simulator } from '../../src/simulator/index.js';
import { findBinary, itWithBinary } from '../helpers/binaries.js';
import { parseExposition } from '../helpers/exposition.js';
import { writeConfig } from '../helpers/exporter-process.js';
import { startTinyproxy, type Tinyproxy } from '../helpers/tinyproxy.js';
import { makeTestPki, startTlsFront, type TestPki, type TlsFront } from '../helpers/tls-front.js';

// Runs on the Node that runs the suite: CI runs it on Node 20 and again on Node 24.
const it = findBinary('openssl') ? itWithBinary('tinyproxy', 'tinyproxy') : itWithBinary('openssl', 'openssl');
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const PASSWORD = 'SENTINEL-PASSWORD-PROXY-5';
const PROXY_PASSWORD = 'SENTINEL-PROXY-PW-6';
const IAM_USER = { domain: 'acme', user: 'codearts-exporter', password: PASSWORD, project: 'cn-north-4' };
const JOBS: SimJobSpec[] = [
  { id: 'a9000000000000000000000000000001', name: 'alpha', history: 3, buildEverySeconds: 0 },
  { id: 'a9000000000000000000000000000002', name: 'beta', history: 2, buildEverySeconds: 0 },
];

interface Once {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `codearts-build-exporter once` as a child process with exactly this environment. */
function runOnce(configPath: string, env: NodeJS.ProcessEnv): Promise<Once> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'once', '--config', configPath], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function apiRequests(once: Once, endpoint?: string): number {
  return parseExposition(once.stdout)
    .filter(
      (sample) => sample.name === 'codearts_exporter_api_requests_total' && (endpoint === undefined || sample.labels.endpoint === endpoint),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

describe('through a real forward proxy (tinyproxy) with a private CA', () => {
  let dir: string;
  let pki: TestPki;
  let simulator: Simulator;
  let codearts: TlsFront;
  let iam: TlsFront;
  let proxy: Tinyproxy | undefined;
  let authedProxy: Tinyproxy | undefined;
  let runs = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cbe-proxy-'));
    if (!findBinary('openssl') || !findBinary('tinyproxy')) return;
    pki = makeTestPki(dir);
    simulator = await createSimulator({
      seed: 51,
      jobs: JOBS,
      gapProbability: 0,
      auth: { mode: 'iam', tokenLifetimeSeconds: 3600, users: [IAM_USER] },
    });
    codearts = await startTlsFront(pki, simulator.port);
    iam = await startTlsFront(pki, simulator.port);
    proxy = await startTinyproxy(dir);
    authedProxy = await startTinyproxy(dir, { basicAuth: { user: 'exporter', password: PROXY_PASSWORD } });
  });
  afterAll(async () => {
    await proxy?.stop();
    await authedProxy?.stop();
    await codearts?.close();
    await iam?.close();
    await simulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A config for one `once` run, with its own state file so every run polls from build 1. */
  const config = (codeartsOverrides: Record<string, unknown> = {}) =>
    writeConfig(
      dir,
      {
        codearts: {
          endpoint: codearts.url,
          auth: { iam: { endpoint: iam.url, domain: IAM_USER.domain, user: IAM_USER.user, password: PASSWORD, project: IAM_USER.project } },
          ca_file: pki.caFile,
          request_timeout: '5s',
          retry: { retries: 0 },
          ...codeartsOverrides,
        },
        poll: { start_at: 1 },
        jobs: JOBS.map(({ id, name }) => ({ id, name })),
        server: { host: '127.0.0.1', port: 0 },
        state: { path: join(dir, `state-${++runs}.json`) },
        log: { level: 'info' },
      },
      `exporter-${runs}.yml`,
    );

  const counts = () => ({
    codeartsConnections: codearts.connections(),
    codeartsRequests: codearts.requests(),
    iamConnections: iam.connections(),
    iamRequests: iam.requests(),
    codeartsTunnels: proxy!.connects(codearts.hostPort) + authedProxy!.connects(codearts.hostPort),
    iamTunnels: proxy!.connects(iam.hostPort) + authedProxy!.connects(iam.hostPort),
  });
  const delta = (before: ReturnType<typeof counts>) => {
    const after = counts();
    return Object.fromEntries(
      Object.entries(after).map(([key, value]) => [key, value - before[key as keyof typeof before]]),
    ) as typeof before;
  };

  for (const variable of ['HTTPS_PROXY', 'https_proxy']) {
    it(`${variable}: every CodeArts and IAM request goes through the proxy (every TLS connection the servers saw is a proxy tunnel)`, async () => {
      const before = counts();
      const once = await runOnce(config(), { [variable]: proxy!.url });
      expect(once.code, once.stderr).toBe(0);
      const seen = delta(before);
      console.info(`${process.version} ${variable}: ${JSON.stringify(seen)}`);
      expect(seen.iamRequests).toBe(1);
      expect(seen.codeartsRequests).toBe(apiRequests(once) - apiRequests(once, 'iam-token'));
      expect(seen.codeartsRequests).toBeGreaterThanOrEqual(JOBS.length * 2);
      expect(seen.codeartsConnections).toBeGreaterThan(0);
      expect(seen.iamTunnels).toBe(seen.iamConnections);
      expect(seen.codeartsTunnels).toBe(seen.codeartsConnections);
      expect(once.stdout).toContain('codearts_builds_total{');
    });
  }

  it('NO_PROXY bypasses it: the same run with NO_PROXY=localhost opens no tunnel', async () => {
    const before = counts();
    const once = await runOnce(config(), { HTTPS_PROXY: proxy!.url, NO_PROXY: 'localhost' });
    expect(once.code, once.stderr).toBe(0);
    const seen = delta(before);
    expect(seen.codeartsRequests).toBeGreaterThanOrEqual(JOBS.length * 2);
    expect(seen.iamRequests).toBe(1);
    expect(seen.codeartsTunnels + seen.iamTunnels).toBe(0);
  });

  it('codearts.proxy with credentials: used instead of HTTPS_PROXY, and the proxy password appears in no output', async () => {
    const before = counts();
    const proxyUrl = `http://exporter:${PROXY_PASSWORD}@127.0.0.1:${authedProxy!.port}`;
    // HTTPS_PROXY names the proxy without credentials: had it been used, tinyproxy would answer 407.
    const once = await runOnce(config({ proxy: proxyUrl }), { HTTPS_PROXY: proxy!.url });
    expect(once.code, once.stderr).toBe(0);
    const seen = delta(before);
    expect(authedProxy!.connects(codearts.hostPort)).toBeGreaterThan(0);
    expect(seen.codeartsTunnels).toBe(seen.codeartsConnections);
    expect(seen.iamTunnels).toBe(seen.iamConnections);
    expect(once.stderr).toContain('"network":"proxy http://***@127.0.0.1');
    expect(once.stdout + once.stderr).not.toContain(PROXY_PASSWORD);
    expect(once.stdout + once.stderr).not.toContain(PASSWORD);
  });

  it('a proxy refusing our credentials: the failure says so without the password', async () => {
    const proxyUrl = `http://exporter:wrong-${PROXY_PASSWORD}@127.0.0.1:${authedProxy!.port}`;
    const once = await runOnce(config({ proxy: proxyUrl }), {});
    expect(once.code).toBe(1);
    // tinyproxy answers a wrong Proxy-Authorization with 401 (407 when there is none).
    expect(once.stderr).toMatch(/Proxy response \((401|407)\) !== 200 when HTTP Tunneling/);
    expect(once.stdout + once.stderr).not.toContain(PROXY_PASSWORD);
  });

  it('private CA: without ca_file the certificate is refused; NODE_EXTRA_CA_CERTS works instead of ca_file', async () => {
    const refused = await runOnce(config({ ca_file: undefined }), {});
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|self-signed certificate/);
    const extra = await runOnce(config({ ca_file: undefined }), { NODE_EXTRA_CA_CERTS: pki.caFile });
    expect(extra.code, extra.stderr).toBe(0);
  });

  it('plain http target through HTTP_PROXY: forwarded as absolute-URI requests, one per API request', async () => {
    const linesBefore = proxy!.requestLines().length;
    const path = config({
      endpoint: simulator.url,
      ca_file: undefined,
      auth: { iam: { endpoint: simulator.url, domain: 'acme', user: IAM_USER.user, password: PASSWORD } },
    });
    const once = await runOnce(path, { HTTP_PROXY: proxy!.url });
    expect(once.code, once.stderr).toBe(0);
    const lines = proxy!.requestLines().slice(linesBefore);
    expect(lines.filter((line) => line.startsWith(`GET ${simulator.url}/`)).length).toBe(
      apiRequests(once) - apiRequests(once, 'iam-token'),
    );
    expect(lines.filter((line) => line.startsWith(`POST ${simulator.url}/v3/auth/tokens`)).length).toBe(1);
  });
});
