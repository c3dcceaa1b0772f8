import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { RecordedLifetime, sleep, waitUntil } from '../helpers/chaos.js';
import { writeConfig } from '../helpers/exporter-process.js';
import { parseExposition, valueOf } from '../helpers/exposition.js';
import { compareAll, compareCounters } from '../helpers/ground-truth.js';
import { STATE_SCHEMA_VERSION } from '../../src/state/state-schema.js';

/**
 * Acceptance of issue 5, state faults. A state file that cannot be used stops start-up with a
 * message naming the file and the way out, and is left exactly as it was. A state directory that
 * turns read-only under a running exporter costs no scrape and no count: the builds whose commit
 * failed stay out of the metrics, save errors are counted and logged, and once the directory is
 * writable again the builds are saved and counted exactly once.
 */
const JOB_ID = 'd5a7e000000000000000000000000001';
const VALID_STATE = {
  format: 'codearts-build-exporter/state',
  schema_version: 1,
  saved_at: '2026-01-01T00:00:00.000Z',
  jobs: { [JOB_ID]: { version: 3, state: { cursor: 12, pending: [11], queueObserved: [], skipped: [] } } },
};

/**
 * Root ignores directory permissions, so as root the exporter runs as `nobody` in a directory
 * that user owns; otherwise it runs as the current user, for whom chmod already binds.
 */
const AS_ROOT = process.getuid?.() === 0;
const CHILD_IDS = AS_ROOT ? { uid: 65534, gid: 65534 } : {};
function giveToChild(path: string): void {
  if (AS_ROOT) chownSync(path, 65534, 65534);
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cbe-state-faults-'));
  dirs.push(dir);
  giveToChild(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) {
    chmodRecursiveWritable(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});
function chmodRecursiveWritable(dir: string): void {
  try {
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'state'), 0o755);
  } catch {
    // not there
  }
}

function baseConfig(endpoint: string, statePath: string, jobs = [{ id: JOB_ID, name: 'state-faults' }]) {
  return {
    codearts: {
      endpoint,
      auth: { token: '${STATE_TOKEN}' },
      request_timeout: '1s',
      max_requests_per_second: 200,
      retry: { retries: 1, min_delay: '10ms', max_delay: '50ms' },
    },
    poll: { schedule: '* * * * * *', start_at: 1 },
    jobs,
    server: { host: '127.0.0.1', port: 0 },
    state: { path: statePath },
    log: { level: 'debug' },
  };
}

describe('a state file that cannot be used refuses start-up and is left unchanged', () => {
  const valid = JSON.stringify(VALID_STATE, null, 2);
  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['truncated JSON', valid.slice(0, Math.floor(valid.length / 2)), /not valid JSON/],
    [
      'wrong schema (a version is a string)',
      JSON.stringify({ ...VALID_STATE, jobs: { [JOB_ID]: { version: 'three', state: VALID_STATE.jobs[JOB_ID]?.state } } }),
      /unexpected content at jobs\./,
    ],
    [
      'wrong schema (a newer schema version)',
      JSON.stringify({ ...VALID_STATE, schema_version: STATE_SCHEMA_VERSION + 1 }),
      /unexpected content at schema_version/,
    ],
    ['wrong schema (a JSON array)', '[1, 2, 3]', /unexpected content/],
    ['binary junk', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256)), /not valid JSON/],
    ['an empty file', '', /not valid JSON/],
  ];

  for (const [name, content, reason] of cases) {
    it(`${name}: exit 1, a message naming the file and the recovery, file untouched`, async () => {
      const dir = tempDir();
      const statePath = join(dir, 'state.json');
      writeFileSync(statePath, content);
      giveToChild(statePath);
      const before = statSync(statePath);
      const configPath = writeConfig(dir, baseConfig('http://127.0.0.1:9', statePath));
      giveToChild(configPath);

      const lifetime = RecordedLifetime.spawn(['run', '--config', configPath], { STATE_TOKEN: 'state-token-NOT-A-SECRET' }, CHILD_IDS);
      const exit = await lifetime.process.exit(15_000);
      expect(exit.code).toBe(1);
      // One clear line on stderr; the same as a fatal JSON log line on stdout.
      expect(lifetime.rawStderr).toContain(`state file ${statePath} cannot be used`);
      expect(lifetime.rawStderr).toMatch(reason);
      expect(lifetime.rawStderr).toContain('It was left unchanged');
      expect(lifetime.rawStderr).toContain(`mv ${statePath} ${statePath}.broken`);
      expect(lifetime.rawStderr).not.toMatch(/^\s+at /m);
      const fatal = lifetime.lines.find((line) => line.level === 'fatal');
      expect(fatal?.msg).toContain(statePath);
      expect(lifetime.lines.some((line) => line.msg === 'exporter listening')).toBe(false);

      const after = statSync(statePath);
      expect(readFileSync(statePath)).toEqual(Buffer.isBuffer(content) ? content : Buffer.from(content));
      expect(after.mtimeMs).toBe(before.mtimeMs);
      expect(after.ino).toBe(before.ino);
    });
  }

  it('a state path that is a directory: exit 1 naming the path', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    mkdirSync(statePath);
    giveToChild(statePath);
    const configPath = writeConfig(dir, baseConfig('http://127.0.0.1:9', statePath));
    giveToChild(configPath);
    const lifetime = RecordedLifetime.spawn(['run', '--config', configPath], { STATE_TOKEN: 'x' }, CHILD_IDS);
    expect((await lifetime.process.exit(15_000)).code).toBe(1);
    expect(lifetime.rawStderr).toContain(`state file ${statePath} cannot be used: it cannot be read (EISDIR)`);
  });
});

describe('a state directory that turns read-only under a running exporter', () => {
  let simulator: Simulator | undefined;
  let lifetime: RecordedLifetime | undefined;
  afterAll(async () => {
    lifetime?.process.kill('SIGKILL');
    await lifetime?.process.exit(5000);
    await simulator?.close();
  });

  it('keeps serving, counts and logs the save errors, hides the uncommitted builds, then saves and counts them once', async () => {
    simulator = await createSimulator({
      seed: 44,
      jobs: [{ id: JOB_ID, name: 'state-faults', history: 6, buildEverySeconds: 120 }],
      gapProbability: 0,
      token: 'state-token-NOT-A-SECRET',
    });
    const sim = simulator;
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    giveToChild(stateDir);
    const statePath = join(stateDir, 'state.json');
    const configPath = writeConfig(dir, baseConfig(sim.url, statePath));
    giveToChild(configPath);

    const started = await RecordedLifetime.run(configPath, { STATE_TOKEN: 'state-token-NOT-A-SECRET' }, CHILD_IDS);
    lifetime = started.lifetime;
    const exporter = started.lifetime;
    const metrics = async () => {
      const response = await fetch(`${started.url}/metrics`);
      expect(response.status).toBe(200);
      return parseExposition(await response.text());
    };
    const job = () => sim.groundTruth()[0] ?? { id: JOB_ID, name: '', finished: [], inProgress: [], queued: [], existing: [], highest: 0 };
    const exact = async () => compareCounters(await metrics(), job()).length === 0;
    expect(await waitUntil(exact, 10_000)).toBe(true);
    const finishedBefore = job().finished.length;
    const savedBefore = readFileSync(statePath, 'utf8');

    // The directory turns read-only; new builds finish meanwhile.
    chmodSync(stateDir, 0o555);
    for (let i = 0; i < 6; i++) sim.advance(300);
    expect(job().finished.length).toBeGreaterThan(finishedBefore);
    expect(await waitUntil(async () => (valueOf(await metrics(), 'codearts_exporter_state_save_errors_total') ?? 0) >= 3, 10_000)).toBe(
      true,
    );
    await sleep(1500);

    let samples = await metrics();
    // The builds whose commit failed are not shown: the counters still say what was saved.
    expect(compareCounters(samples, job(), job().finished.slice(0, finishedBefore))).toEqual([]);
    expect(readFileSync(statePath, 'utf8')).toBe(savedBefore);
    const saveErrors = exporter.lines.filter((line) => line.level === 'error' && line.event === 'state_save_failed');
    expect(saveErrors.length).toBeGreaterThan(0);
    expect(JSON.stringify(saveErrors[0])).toContain('EACCES');
    expect(saveErrors[0]?.path).toBe(statePath);
    const errorsWhileReadOnly = valueOf(samples, 'codearts_exporter_state_save_errors_total') ?? 0;
    expect((await fetch(`${started.url}/healthz`)).status).toBe(200);

    // Writable again: saved, and each build counted exactly once.
    chmodSync(stateDir, 0o755);
    expect(await waitUntil(exact, 10_000)).toBe(true);
    await sleep(1500);
    samples = await metrics();
    expect(compareAll(samples, [job()])).toEqual([]);
    // What the file holds counts each build once too: a restart would serve the same.
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as {
      jobs: Record<string, { state: { cursor: number }; counters: { series: Array<{ builds: number }> } }>;
    };
    expect(saved.jobs[JOB_ID]?.state.cursor).toBe(job().highest);
    expect(saved.jobs[JOB_ID]?.counters.series.reduce((sum, series) => sum + series.builds, 0)).toBe(job().finished.length);
    // No save error since the directory came back.
    expect(valueOf(samples, 'codearts_exporter_state_save_errors_total')).toBeLessThanOrEqual(errorsWhileReadOnly + 1);
    console.log(
      `state-faults: ${finishedBefore} builds before, ${job().finished.length - finishedBefore} held back while read-only ` +
        `(${errorsWhileReadOnly} save errors), all ${job().finished.length} counted once after recovery`,
    );

    exporter.process.kill('SIGTERM');
    expect((await exporter.process.exit()).code).toBe(0);
  }, 60_000);
});
