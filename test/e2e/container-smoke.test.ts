/**
 * Issue 4, acceptance 4 and issue 14, acceptance 4 (smoke test): without a container engine, run
 * the image's exact runtime command on a production install laid out like the image, as the
 * image's non-root user, on a read-only root file system, with the image's NODE_OPTIONS.
 *
 * A temp dir stands in for WORKDIR /app: package.json + package-lock.json, `npm ci --omit=dev`, the
 * built dist/ minus what the Dockerfile's build stage deletes (`rm -rf dist/...`), config/exporter.yml,
 * and data/ as the only directory the app user may write (as the Dockerfile's
 * `chown 1000:1000 /app/data`). The final stage's CMD (parsed with dockerfile-ast) is run with its
 * config path mapped into the temp dir, the ENTRYPOINT (tini) skipped, and exactly the final stage's
 * ENV (NODE_ENV, NODE_OPTIONS) plus PATH and the token.
 *
 * Read-only root file system, as `docker run --read-only` or Kubernetes readOnlyRootFilesystem: the
 * command runs in its own mount namespace (`unshare --mount --propagation private`) in which data/
 * is bind-mounted onto itself (a separate, writable mount, like the image's VOLUME) and then `/` is
 * remounted read-only, which covers the install, /tmp and everything else on the root file
 * system; /proc, /sys and /dev stay separate mounts, as in a container. Then `setpriv` switches to
 * the USER's uid/gid with no supplementary groups and execs the CMD. The process's own mountinfo is
 * checked. Needs root (unshare, setpriv) and the npm registry or cache.
 */

import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerfileParser, Env, JSONInstruction, type Instruction } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { writeConfig } from '../helpers/exporter-process.js';
import { freePort } from '../helpers/prometheus.js';
import { REPO_ROOT } from '../helpers/promql.js';

const execFileAsync = promisify(execFile);

/** The exporter's default port (config server.port, Dockerfile EXPOSE). */
const DEFAULT_PORT = 10987;
/** Where the image expects the config (the CMD's --config argument). */
const CONFIG_IN_IMAGE = '/app/config/exporter.yml';
const TOKEN = 'smoke-token-NOT-A-SECRET';
const JOBS = [
  { id: 'c0ffee00000000000000000000000001', name: 'backend-ci', history: 6 },
  { id: 'c0ffee00000000000000000000000002', name: 'frontend-ci', history: 4 },
];

// ---- the Dockerfile's final stage -----------------------------------------------------------------
const dockerfile = DockerfileParser.parse(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const lastFromLine = Math.max(...dockerfile.getFROMs().map((f) => f.getRange().start.line));
const finalStage = dockerfile.getInstructions().filter((i) => i.getRange().start.line > lastFromLine);
const lastOf = (keyword: string): Instruction | undefined => finalStage.filter((i) => i.getKeyword().toUpperCase() === keyword).at(-1);
const execForm = (instruction: Instruction | undefined): string[] =>
  instruction instanceof JSONInstruction ? instruction.getJSONStrings().map((s) => s.getJSONValue()) : [];
const ENTRYPOINT = execForm(lastOf('ENTRYPOINT'));
const CMD = execForm(lastOf('CMD'));
const WORKDIR = lastOf('WORKDIR')?.getArgumentsContent()?.trim();
const USER = lastOf('USER')?.getArgumentsContent()?.trim() ?? '';
const ENV: Record<string, string> = Object.fromEntries(
  finalStage.filter((i): i is Env => i instanceof Env).flatMap((env) => env.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])),
);
const [UID, GID] = USER.split(':').map(Number) as [number, number | undefined];
/** The HEALTHCHECK's exec-form command. */
const HEALTHCHECK = (() => {
  const content = lastOf('HEALTHCHECK')?.getArgumentsContent() ?? '';
  return content.includes('[') ? (JSON.parse(content.slice(content.indexOf('['))) as string[]) : [];
})();
/** dist/ paths the build stage deletes (`rm -rf dist/...`), so the stand-in install lacks them too. */
const DIST_REMOVED = dockerfile
  .getInstructions()
  .filter((i) => i.getRange().start.line < lastFromLine && i.getKeyword().toUpperCase() === 'RUN')
  .flatMap((i) => [...(i.getArgumentsContent() ?? '').matchAll(/\brm -rf ([^&;]+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/)))
  .filter((path) => path.startsWith('dist/'));

const isRoot = process.getuid?.() === 0;
// Switching to the image's user needs root. Skipped loudly elsewhere; where the run must be complete
// (CI, REQUIRE_E2E=1) a non-root run fails instead.
if (!isRoot) {
  if (process.env.CI === 'true' || process.env.REQUIRE_E2E === '1') {
    it('container smoke test', () => {
      throw new Error('the container smoke test must run as root (it spawns the exporter as the image USER)');
    });
  } else {
    console.warn('\n*** SKIPPING the container smoke test: not running as root ***\n');
  }
}

describe.skipIf(!isRoot)('container smoke test: the image command on a production install, as the image user', () => {
  let app = '';
  let simulator: Simulator | undefined;
  let exporter: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  let port = 0;
  let output = '';

  beforeAll(async () => {
    // ---- /app: a production install like the deps + runtime stages ----
    app = mkdtempSync(join(tmpdir(), 'cbe-app-'));
    chmodSync(app, 0o755);
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(REPO_ROOT, file), join(app, file));
    await execFileAsync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: app,
      timeout: 120_000,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    cpSync(join(REPO_ROOT, 'dist'), join(app, 'dist'), { recursive: true });
    for (const path of DIST_REMOVED) rmSync(join(app, path), { recursive: true, force: true });
    mkdirSync(join(app, 'config'));
    mkdirSync(join(app, 'data'));
    chownSync(join(app, 'data'), UID, GID ?? UID);

    simulator = await createSimulator({ seed: 13, jobs: JOBS, token: TOKEN, buildEverySeconds: 0 });
    // Never the default port: the HEALTHCHECK must follow the configured one.
    do port = await freePort();
    while (port === DEFAULT_PORT);
    writeConfig(join(app, 'config'), {
      codearts: { endpoint: simulator.url, auth: { token: '${CODEARTS_TOKEN}' }, request_timeout: '2s' },
      poll: { schedule: '*/2 * * * * *', start_at: 1 },
      jobs: JOBS.map((job) => ({ id: job.id, name: job.name })),
      // The image's default state.path (./data/state.json, relative to WORKDIR) is kept.
      server: { host: '127.0.0.1', port },
    });

    // ---- the image's command ----
    const child = spawn('unshare', readOnlyRootArgs(join(app, 'data'), imageCommand(app)), {
      cwd: app,
      env: { PATH: process.env.PATH, ...ENV, CODEARTS_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exporter = child;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }, 180_000);

  afterAll(async () => {
    if (exporter?.exitCode === null && exporter.signalCode === null) exporter.kill('SIGKILL');
    await simulator?.close();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('runs the final stage CMD behind tini, as a numeric non-root USER in WORKDIR /app with NODE_ENV=production', () => {
    expect(ENTRYPOINT[0]).toMatch(/(^|\/)tini$/);
    expect(CMD[0]).toBe('node');
    expect(CMD.filter((arg) => arg === CONFIG_IN_IMAGE)).toHaveLength(1);
    expect(WORKDIR).toBe('/app');
    expect(CONFIG_IN_IMAGE.startsWith(`${WORKDIR}/`)).toBe(true);
    expect(USER).toMatch(/^\d+(:\d+)?$/);
    expect(UID).toBeGreaterThan(0);
    expect(ENV.NODE_ENV).toBe('production');
    // The only substitution: the config path of the image, mapped into the stand-in for /app.
    const command = imageCommand(app);
    const changed = command.flatMap((arg, i) => (arg === CMD[i] ? [] : [[CMD[i], arg]]));
    expect(changed).toEqual([[CONFIG_IN_IMAGE, join(app, 'config', 'exporter.yml')]]);
    // Production install: no dev dependency made it in.
    expect(existsSync(join(app, 'node_modules', 'express'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'vitest'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
  });

  it('sets a heap limit with NODE_OPTIONS in the final stage, and the exporter process gets it', async () => {
    const [, oldSpaceMiB, semiSpaceMiB] = /^--max-old-space-size=(\d+) --max-semi-space-size=(\d+)$/.exec(ENV.NODE_OPTIONS ?? '') ?? [];
    expect(oldSpaceMiB, ENV.NODE_OPTIONS).toBeDefined();
    await until(
      async () => (await get(`http://127.0.0.1:${port}/healthz`))?.status === 200,
      20_000,
      () => output,
    );
    const environ = readFileSync(`/proc/${exporter?.pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`NODE_OPTIONS=${ENV.NODE_OPTIONS}`);
    // And V8 honours it: the heap limit is lower than Node's default on this machine.
    const limit = (env: NodeJS.ProcessEnv) =>
      Number(
        execFileSync('node', ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'], {
          env,
          encoding: 'utf8',
        }),
      );
    // Old space plus a young generation of three semi-spaces, on Node 20 and 24 alike.
    const withLimit = limit({ PATH: process.env.PATH, NODE_OPTIONS: ENV.NODE_OPTIONS });
    expect(withLimit).toBeGreaterThanOrEqual(Number(oldSpaceMiB) * 2 ** 20);
    expect(withLimit).toBeLessThanOrEqual((Number(oldSpaceMiB) + 3 * Number(semiSpaceMiB) + 2) * 2 ** 20);
    expect(withLimit).toBeLessThan(limit({ PATH: process.env.PATH }));
  }, 30_000);

  it('runs on a read-only root file system: only data/ is a writable mount', async () => {
    await until(
      async () => (await get(`http://127.0.0.1:${port}/healthz`))?.status === 200,
      20_000,
      () => output,
    );
    const mounts = readFileSync(`/proc/${exporter?.pid}/mountinfo`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map((fields) => ({ target: fields[4]!, options: fields[5]!.split(',') }));
    expect(mounts.find((m) => m.target === '/')?.options).toContain('ro');
    expect(mounts.find((m) => m.target === join(app, 'data'))?.options).toContain('rw');
    // Every other writable mount is a kernel file system a container has too, none under the install.
    const writable = mounts.filter((m) => m.options.includes('rw')).map((m) => m.target);
    for (const target of writable) expect(target === join(app, 'data') || /^\/(proc|sys|dev)(\/|$)/.test(target), target).toBe(true);
    // The same sandbox, probed: the image user can write to data/ and nowhere else, not even /tmp.
    const touch = (path: string) => spawnSync('unshare', readOnlyRootArgs(join(app, 'data'), ['touch', path]), { encoding: 'utf8' });
    expect(touch(join(app, 'data', 'probe')).status).toBe(0);
    const inTmp = touch(join(tmpdir(), `cbe-ro-probe-${process.pid}`));
    expect(inTmp.status).not.toBe(0);
    expect(inTmp.stderr).toContain('Read-only file system');
    rmSync(join(app, 'data', 'probe'), { force: true });
  }, 30_000);

  it('answers /healthz 200 on the configured port and serves the simulator jobs in /metrics', async () => {
    const base = `http://127.0.0.1:${port}`;
    await until(
      async () => (await get(`${base}/healthz`))?.status === 200,
      20_000,
      () => output,
    );
    let body = '';
    await until(
      async () => {
        body = (await (await get(`${base}/metrics`))?.text()) ?? '';
        return (
          body.includes('codearts_exporter_up 1') &&
          JOBS.every((job) =>
            new RegExp(`codearts_builds_total\\{job_id="${job.id}",job_name="${job.name}",result="success"\\} [1-9]`).test(body),
          )
        );
      },
      20_000,
      () => `${output}\n---\n${body}`,
    );
    for (const job of JOBS)
      expect(body).toMatch(new RegExp(`^codearts_builds_total\\{job_id="${job.id}",job_name="${job.name}",result="[a-z]+"\\} \\d+$`, 'm'));
    expect(body).toMatch(/^codearts_exporter_up 1$/m);
  }, 45_000);

  it(`runs as uid/gid from USER, and writes the state file under data/ owned by it`, async () => {
    const status = readFileSync(`/proc/${exporter?.pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\s+${UID}\\s+${UID}\\s+${UID}\\s+${UID}$`, 'm'));
    expect(status).toMatch(new RegExp(`^Gid:\\s+${GID ?? UID}\\s+${GID ?? UID}\\s+${GID ?? UID}\\s+${GID ?? UID}$`, 'm'));
    const state = join(app, 'data', 'state.json');
    await until(
      () => Promise.resolve(existsSync(state)),
      15_000,
      () => output,
    );
    expect(statSync(state).uid).toBe(UID);
    expect(statSync(state).gid).toBe(GID ?? UID);
    expect(JSON.parse(readFileSync(state, 'utf8'))).toBeTypeOf('object');
  }, 30_000);

  it('passes the HEALTHCHECK command, which reads the configured (non-default) port', async () => {
    expect(HEALTHCHECK.slice(0, 2)).toEqual(['node', 'dist/healthcheck.js']);
    expect(HEALTHCHECK[HEALTHCHECK.indexOf('--config') + 1]).toBe(CONFIG_IN_IMAGE);
    expect(port).not.toBe(DEFAULT_PORT);
    const result = await runHealthcheck(app);
    expect(result, output).toEqual({ code: 0, stderr: '' });
  }, 20_000);

  it('stops on SIGTERM with exit code 0', async () => {
    exporter?.kill('SIGTERM');
    const timer = setTimeout(() => exporter?.kill('SIGKILL'), 10_000);
    const result = await exited;
    clearTimeout(timer);
    expect(result, output).toEqual({ code: 0, signal: null });
  }, 15_000);

  it('fails the HEALTHCHECK command once the exporter is down', async () => {
    const result = await runHealthcheck(app);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`http://127.0.0.1:${port}/healthz`);
    expect(result.stderr).toContain('ECONNREFUSED');
  }, 20_000);

  it('can run the simulator from the same install, read-only too (`node dist/cli.js simulate --port 0`, the compose demo)', async () => {
    const child = spawn('unshare', readOnlyRootArgs(join(app, 'data'), ['node', 'dist/cli.js', 'simulate', '--port', '0']), {
      cwd: app,
      env: { PATH: process.env.PATH, ...ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      await until(
        () => Promise.resolve(/listening on http:\/\/127\.0\.0\.1:\d+/.test(text)),
        10_000,
        () => text,
      );
      const [, url, ids] = /listening on (http:\/\/127\.0\.0\.1:\d+) .*jobs: ([0-9a-f ]+)/.exec(text) ?? [];
      const jobId = ids?.trim().split(' ')[0];
      const response = await fetch(`${url}/v1/job/${jobId}/running-status`, { headers: { 'X-Auth-Token': 'sim-token-NOT-A-SECRET' } });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'success' });
      child.kill('SIGTERM');
      expect(await done, text).toEqual({ code: 0, signal: null });
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 20_000);
});

/**
 * `unshare` arguments that run argv as the image USER in a private mount namespace whose root file
 * system is read-only except for `writable` (bind-mounted onto itself first, so it stays writable).
 */
function readOnlyRootArgs(writable: string, argv: string[]): string[] {
  const script = [
    'set -e',
    'mount --bind "$1" "$1"',
    'mount -o remount,bind,ro /',
    'shift',
    `exec setpriv --reuid=${UID} --regid=${GID ?? UID} --clear-groups -- "$@"`,
  ].join('\n');
  return ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', writable, ...argv];
}

/** Runs the Dockerfile's HEALTHCHECK command like Docker would: same user, cwd, env and config. */
async function runHealthcheck(app: string): Promise<{ code: number | null; stderr: string }> {
  const argv = HEALTHCHECK.map((arg) => (arg === CONFIG_IN_IMAGE ? join(app, 'config', 'exporter.yml') : arg));
  const child = spawn('unshare', readOnlyRootArgs(join(app, 'data'), argv), {
    cwd: app,
    env: { PATH: process.env.PATH, ...ENV, CODEARTS_TOKEN: TOKEN },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stderr };
}

/** The final stage's CMD with the image config path mapped to `<app>/config/exporter.yml`. */
function imageCommand(app: string): string[] {
  return CMD.map((arg) => (arg === CONFIG_IN_IMAGE ? join(app, 'config', 'exporter.yml') : arg));
}

async function get(url: string): Promise<Response | undefined> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(2000) });
  } catch {
    return undefined;
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms:\n${context().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
