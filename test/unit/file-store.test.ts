import { DEFAULT_RECOVERY_BUCKETS } from '../../src/domain/health.js';
import { DEFAULT_STEP_BUCKETS } from '../../src/domain/steps.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CountedBuild, CounterLayout, CycleDelta } from '../../src/domain/counters.js';
import { emptyJobState, type JobState } from '../../src/domain/job.js';
import { FileStore } from '../../src/state/file-store.js';
import { STATE_SCHEMA_VERSION } from '../../src/state/state-schema.js';
import { StaleVersionError, type StoreEvent } from '../../src/state/store.js';

/** The file store (src/state/file-store.ts) on a real file system: what it commits, keeps, reloads and refuses. */
const LAYOUT: CounterLayout = { recordLabels: [], durationBuckets: [30, 60, 120], queueBuckets: [1, 5, 15] };
const JOB = 'f5000000000000000000000000000001';
const LABELS = { branch: 'main', repo_name: 'r', build_type: '', build_config_type: '', executor: '' };

const dirs: string[] = [];
const stores: FileStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cbe-file-store-'));
  dirs.push(dir);
  return join(dir, 'state', 'state.json');
}

async function open(path: string, layout = LAYOUT, events: StoreEvent[] = []): Promise<FileStore> {
  const store = await FileStore.open(path, { layout, events: { emit: (event) => events.push(event) } });
  stores.push(store);
  return store;
}

function build(buildNo: number, result: CountedBuild['result'], durationSeconds: number): CountedBuild {
  return { buildNo, result, triggerType: 'manual', durationSeconds, queueSeconds: 3, labels: LABELS };
}

function delta(cursor: number, counted: CountedBuild[] = []): CycleDelta {
  const next: JobState = { ...emptyJobState(), cursor };
  return { counted, queued: [], next };
}

describe('file store', () => {
  it('commits state and counters together, durably: the file holds what begin() and load() return', async () => {
    const path = tempPath();
    const store = await open(path);
    expect(await store.begin(JOB)).toBeUndefined();
    const first = await store.commit(JOB, 0, delta(2, [build(1, 'success', 40), build(2, 'failure', 200)]));
    expect(first.version).toBe(1);
    expect(first.counters).toEqual({
      series: [
        { result: 'success', labels: [], builds: 1, duration: { buckets: [0, 1, 0], sumMs: 40_000, count: 1 } },
        { result: 'failure', labels: [], builds: 1, duration: { buckets: [0, 0, 0], sumMs: 200_000, count: 1 } },
      ],
      triggers: { manual: 2 },
      queue: { buckets: [0, 2, 0], sumMs: 6000, count: 2 },
    });
    expect(await store.begin(JOB)).toEqual(first);
    const file = JSON.parse(readFileSync(path, 'utf8')) as { schema_version: number; jobs: Record<string, unknown> };
    expect(file.schema_version).toBe(STATE_SCHEMA_VERSION);
    // The file keeps the buckets keyed by `le`, zero buckets left out.
    expect(file.jobs[JOB]).toEqual({
      version: 1,
      state: first.state,
      counters: {
        series: [
          { result: 'success', labels: [], builds: 1, duration: { buckets: { '60': 1 }, sumMs: 40_000, count: 1 } },
          { result: 'failure', labels: [], builds: 1, duration: { buckets: {}, sumMs: 200_000, count: 1 } },
        ],
        triggers: { manual: 2 },
        queue: { buckets: { '5': 2 }, sumMs: 6000, count: 2 },
      },
    });
    expect((await FileStore.readSnapshot(path, { layout: LAYOUT })).get(JOB)).toEqual(first);
  });

  it('refuses a commit against a stale version and applies nothing', async () => {
    const store = await open(tempPath());
    await store.commit(JOB, 0, delta(1, [build(1, 'success', 10)]));
    await expect(store.commit(JOB, 0, delta(9, [build(9, 'success', 10)]))).rejects.toBeInstanceOf(StaleVersionError);
    expect((await store.begin(JOB))?.state.cursor).toBe(1);
  });

  it('commits that arrive together share a write, each job at its own version', async () => {
    const path = tempPath();
    const store = await open(path);
    const ids = Array.from({ length: 100 }, (_, i) => `f5${String(i).padStart(30, '0')}`);
    const committed = await Promise.all(ids.map((id) => store.commit(id, 0, delta(1, [build(1, 'success', 10)]))));
    expect(committed.every((stored) => stored.version === 1)).toBe(true);
    const file = JSON.parse(readFileSync(path, 'utf8')) as { jobs: Record<string, unknown> };
    expect(Object.keys(file.jobs)).toHaveLength(100);
  });

  it('counts survive a reopen; a changed bucket layout restarts that family, reported once', async () => {
    const path = tempPath();
    const store = await open(path);
    await store.commit(JOB, 0, delta(2, [build(1, 'success', 40), build(2, 'success', 90)]));
    await store.close();
    stores.splice(0);

    const again = await open(path);
    expect((await again.load()).get(JOB)?.counters.series[0]).toMatchObject({ builds: 2, duration: { count: 2 } });
    await again.close();
    stores.splice(0);

    const events: StoreEvent[] = [];
    const changed = await open(path, { ...LAYOUT, durationBuckets: [60, 600] }, events);
    expect(events).toEqual([
      {
        type: 'counters_reset',
        families: ['duration'],
        from: { ...LAYOUT, stepBuckets: DEFAULT_STEP_BUCKETS, recoveryBuckets: DEFAULT_RECOVERY_BUCKETS },
        to: { ...LAYOUT, durationBuckets: [60, 600] },
        jobs: 1,
      },
    ]);
    const counters = (await changed.load()).get(JOB)?.counters;
    expect(counters?.series).toEqual([{ result: 'success', labels: [], builds: 2 }]);
    expect(counters?.queue?.count).toBe(2);
  });

  it('opens a version 2 file with its counters at zero and saves the current version on the next commit', async () => {
    const path = tempPath();
    mkdirSync(join(path, '..'), { recursive: true });
    const state = { ...emptyJobState(), cursor: 12 };
    writeFileSync(
      path,
      JSON.stringify({ format: 'codearts-build-exporter/state', schema_version: 2, saved_at: 'x', jobs: { [JOB]: { version: 4, state } } }),
    );
    const store = await open(path);
    expect(await store.begin(JOB)).toEqual({ version: 4, state, counters: { series: [], triggers: {} } });
    await store.commit(JOB, 4, delta(13, [build(13, 'timeout', 700)]));
    expect((JSON.parse(readFileSync(path, 'utf8')) as { schema_version: number }).schema_version).toBe(STATE_SCHEMA_VERSION);
  });

  it('a failed save rejects the commit, reports it, and changes nothing; the next save works again', async () => {
    const path = tempPath();
    const events: StoreEvent[] = [];
    const store = await open(path, LAYOUT, events);
    await store.commit(JOB, 0, delta(1, [build(1, 'success', 10)]));
    const saved = readFileSync(path, 'utf8');
    // The directory is replaced by a file: the temp file cannot be created (as root, a read-only mode would not stop us).
    const dir = join(path, '..');
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a directory');
    await expect(store.commit(JOB, 1, delta(2, [build(2, 'success', 10)]))).rejects.toThrow();
    expect(events.map((event) => event.type)).toEqual(['state_save_failed']);
    expect(events[0]).toMatchObject({ path });
    expect((await store.begin(JOB))?.version).toBe(1);

    rmSync(dir);
    await expect(store.commit(JOB, 1, delta(2, [build(2, 'success', 10)]))).resolves.toMatchObject({ version: 2 });
    expect(readFileSync(path, 'utf8')).not.toBe(saved);
  });

  it('forgets a job: gone from the file, and a later commit starts it afresh', async () => {
    const path = tempPath();
    const store = await open(path);
    await store.commit(JOB, 0, delta(5, [build(5, 'success', 10)]));
    await store.forget(JOB);
    expect(await store.begin(JOB)).toBeUndefined();
    expect((JSON.parse(readFileSync(path, 'utf8')) as { jobs: Record<string, unknown> }).jobs[JOB]).toBeUndefined();
    expect((await store.commit(JOB, 0, delta(1))).counters).toEqual({ series: [], triggers: {} });
  });

  it('a missing file is an empty store', async () => {
    expect((await FileStore.readSnapshot(tempPath(), { layout: LAYOUT })).size).toBe(0);
    expect((await (await open(tempPath())).load()).size).toBe(0);
  });
});
