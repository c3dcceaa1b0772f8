import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { FileStore } from '../../src/state/file-store.js';
import { StateLockedError } from '../../src/state/state-lock.js';
import { ExporterProcess, writeConfig } from '../helpers/exporter-process.js';
import { parseExposition } from '../helpers/exposition.js';
import { DEFAULT_DURATION_BUCKETS, DEFAULT_QUEUE_BUCKETS } from '../../src/config/schema.js';
import { STATE_SCHEMA_VERSION } from '../../src/state/state-schema.js';

/** The default metrics settings, as the exporter passes them to its store. */
const LAYOUT = { recordLabels: [], durationBuckets: [...DEFAULT_DURATION_BUCKETS], queueBuckets: [...DEFAULT_QUEUE_BUCKETS] };

const JOB = { id: '10c40000000000000000000000000001', name: 'locked', history: 6, buildEverySeconds: 120 };
const ENV = { CODEARTS_TOKEN: 'sim-token-NOT-A-SECRET' };

/** One process per state file: a second one stops naming the holder; `once` works on a copy. */
describe('the state file lock', () => {
  let simulator: Simulator;
  let dir: string;
  let configPath: string;
  let statePath: string;
  const children: ExporterProcess[] = [];

  beforeAll(async () => {
    simulator = await createSimulator({ seed: 8, jobs: [JOB], gapProbability: 0 });
    dir = mkdtempSync(join(tmpdir(), 'cbe-lock-'));
    statePath = join(dir, 'state.json');
    configPath = writeConfig(dir, {
      codearts: { endpoint: simulator.url, auth: { token: '${CODEARTS_TOKEN}' }, retry: { retries: 0 } },
      poll: { schedule: '*/30 * * * * *', start_at: 1 },
      jobs: [{ id: JOB.id, name: JOB.name }],
      server: { host: '127.0.0.1', port: 0 },
      state: { path: statePath },
      log: { level: 'info' },
    });
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => child.exit(5000)));
    await simulator?.close();
  });

  const spawn = (args: string[]): ExporterProcess => {
    const child = ExporterProcess.spawn(args, ENV);
    children.push(child);
    return child;
  };

  it('a second process on the same state file exits 1 naming the holder and the lock; once leaves the file byte-identical', async () => {
    const { process: service } = await ExporterProcess.run(configPath, ENV);
    children.push(service);
    await service.waitForLog((line) => line.msg === 'poll cycle finished', 10_000);
    const holder = JSON.parse(readFileSync(join(`${statePath}.lock`, 'holder.json'), 'utf8')) as { pid: number; host: string };
    expect(holder).toMatchObject({ pid: service.child.pid, host: hostname() });

    const second = spawn(['run', '--config', configPath]);
    expect((await second.exit()).code).toBe(1);
    expect(second.stderr).toContain(`state file ${statePath} is in use by process ${service.child.pid} on host ${hostname()}`);
    expect(second.stderr).toContain(`lock ${statePath}.lock`);
    expect(second.lines.some((line) => line.msg === 'exporter listening')).toBe(false);

    // `once --state` on the service's file is refused the same way.
    const onceOnState = spawn(['once', '--config', configPath, '--state', statePath]);
    expect((await onceOnState.exit()).code).toBe(1);
    expect(onceOnState.stderr).toContain(`lock ${statePath}.lock`);

    // Plain `once` works on a copy while the service runs: it counts new builds, writes nothing.
    service.kill('SIGTERM');
    expect((await service.exit()).code).toBe(0);
    expect(existsSync(`${statePath}.lock`)).toBe(false);
    const bytes = readFileSync(statePath);
    const { mtimeMs } = statSync(statePath);
    simulator.advance(600);
    const once = spawn(['once', '--config', configPath]);
    let stdout = '';
    once.child.stdout?.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    expect((await once.exit()).code).toBe(0);
    expect(readFileSync(statePath)).toEqual(bytes);
    expect(statSync(statePath).mtimeMs).toBe(mtimeMs);
    expect(existsSync(`${statePath}.lock`)).toBe(false);
    const counted = parseExposition(stdout)
      .filter((s) => s.name === 'codearts_builds_total')
      .reduce((sum, s) => sum + s.value, 0);
    expect(counted).toBeGreaterThan(0);
  }, 60_000);

  it('once --state FILE commits to FILE under its lock', async () => {
    const own = join(dir, 'once-state.json');
    const once = spawn(['once', '--config', configPath, '--state', own]);
    expect((await once.exit()).code).toBe(0);
    const saved = JSON.parse(readFileSync(own, 'utf8')) as { schema_version: number; jobs: Record<string, { state: { cursor: number } }> };
    expect(saved.schema_version).toBe(STATE_SCHEMA_VERSION);
    expect(saved.jobs[JOB.id]?.state.cursor).toBe(simulator.groundTruth()[0]?.highest);
    expect(existsSync(`${own}.lock`)).toBe(false);
  }, 30_000);

  it('a lock left by a killed process on this host is taken over at once; one from another host only once stale', async () => {
    const { process: victim } = await ExporterProcess.run(configPath, ENV);
    children.push(victim);
    victim.kill('SIGKILL');
    await victim.exit();
    expect(existsSync(`${statePath}.lock`)).toBe(true);
    const started = Date.now();
    const { process: next, url } = await ExporterProcess.run(configPath, ENV);
    children.push(next);
    expect(Date.now() - started).toBeLessThan(8000);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    next.kill('SIGTERM');
    await next.exit();

    // A fresh lock held by a process on another host: refused (its liveness cannot be checked here).
    const lockDir = `${statePath}.lock`;
    mkdirSync(lockDir);
    writeFileSync(join(lockDir, 'holder.json'), JSON.stringify({ pid: 4242, host: 'other-host', since: '2026-01-01T00:00:00.000Z' }));
    const error = await FileStore.open(statePath, { layout: LAYOUT }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StateLockedError);
    expect((error as Error).message).toContain('process 4242 on host other-host');
    // Not refreshed for longer than the stale time: the holder is gone, the lock is taken over.
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockDir, old, old);
    const store = await FileStore.open(statePath, { layout: LAYOUT });
    expect(JSON.parse(readFileSync(join(lockDir, 'holder.json'), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    // And a second store in this very process is refused too.
    await expect(FileStore.open(statePath, { layout: LAYOUT })).rejects.toBeInstanceOf(StateLockedError);
    await store.close();
    expect(existsSync(lockDir)).toBe(false);
  }, 60_000);
});
