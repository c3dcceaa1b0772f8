import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { GroundTruthJob, Simulator } from '../../src/simulator/index.js';
import { getJson, jobId, recordPath, startSimulator } from '../helpers/simulator.js';

/** The brief's status table, written out again so the simulator's own table is checked too. */
const EXPECTED_RESULTS: Record<string, string> = {
  SUCCESS: 'success',
  FAILURE: 'failure',
  FAILED: 'failure',
  ERROR: 'failure',
  SCHEDULE_FAILURE: 'failure',
  ABORTED: 'aborted',
  CANCELED: 'aborted',
  CANCELLED: 'aborted',
  TIMEOUT: 'timeout',
  timeout: 'timeout',
  PARTIAL_SUCCESS: 'unknown',
};

async function fetchAllRecords(simulator: Simulator, job: GroundTruthJob): Promise<Map<number, any>> {
  const records = new Map<number, any>();
  await Promise.all(
    job.existing.map(async (buildNo) => {
      const answer = await getJson(simulator, recordPath(job.id, buildNo));
      expect(answer.status).toBe(200);
      records.set(buildNo, answer.body.result);
    }),
  );
  return records;
}

/** Checks that what record-info answers is exactly what the ground truth says exists. */
async function expectApiMatchesGroundTruth(simulator: Simulator, job: GroundTruthJob): Promise<void> {
  const records = await fetchAllRecords(simulator, job);
  const finished = new Map(job.finished.map((build) => [build.buildNo, build]));
  for (const [buildNo, record] of records) {
    expect(record.build_no).toBe(buildNo);
    expect(record.codeci_job_id).toBe(job.id);
    const truth = finished.get(buildNo);
    if (!truth) {
      expect(record.finish_time).toBeNull();
      expect(record.start_time === null).toBe(job.queued.includes(buildNo));
      expect(job.inProgress).toContain(buildNo);
      continue;
    }
    const start = Date.parse(record.start_time);
    const finish = Date.parse(record.finish_time);
    expect(record.status).toBe(truth.rawStatus);
    expect(truth.result).toBe(EXPECTED_RESULTS[truth.rawStatus]);
    expect((record.trigger_type ?? 'unknown').toLowerCase()).toBe(truth.triggerType);
    expect(record.duration ?? finish - start).toBe(truth.durationMs);
    expect((start - Date.parse(record.create_time)) / 1000).toBeCloseTo(truth.queueSeconds, 6);
    expect(Date.parse(record.create_time) / 1000).toBeCloseTo(truth.createdAt, 6);
    expect(start / 1000).toBeCloseTo(truth.startedAt, 6);
    expect(finish / 1000).toBeCloseTo(truth.finishedAt, 6);
  }
  const missing = [0, job.highest + 1, job.highest + 2];
  for (let n = 1; n < job.highest; n++) if (!job.existing.includes(n)) missing.push(n);
  for (const buildNo of missing) {
    expect((await getJson(simulator, recordPath(job.id, buildNo))).status).toBe(422);
  }
}

describe('simulator world', () => {
  it('is deterministic: same seed and same time give the same ground truth and bodies', async () => {
    const a = await startSimulator({ seed: 42, jobs: 3 });
    const b = await startSimulator({ seed: 42, jobs: 3 });
    a.advance(7200);
    for (let i = 0; i < 24; i++) b.advance(300);
    expect(b.groundTruth()).toEqual(a.groundTruth());
    const job = a.groundTruth()[0] as GroundTruthJob;
    for (const buildNo of job.existing.slice(-5)) {
      const [left, right] = await Promise.all([getJson(a, recordPath(job.id, buildNo)), getJson(b, recordPath(job.id, buildNo))]);
      expect(right.text).toBe(left.text);
    }
    const other = await startSimulator({ seed: 43, jobs: 3 });
    other.advance(7200);
    expect(other.groundTruth()).not.toEqual(a.groundTruth());
  });

  it('answers record-info (v4 and v1) exactly as the ground truth says, as time passes', async () => {
    const simulator = await startSimulator({
      jobs: [{ id: jobId(1), name: 'backend-ci', history: 15, buildEverySeconds: 120 }],
      gapProbability: 0.1,
    });
    for (let step = 0; step < 4; step++) {
      await expectApiMatchesGroundTruth(simulator, simulator.groundTruth()[0] as GroundTruthJob);
      simulator.advance(900);
    }
    const job = simulator.groundTruth()[0] as GroundTruthJob;
    const [v4, v1] = await Promise.all([
      getJson(simulator, recordPath(job.id, job.highest)),
      getJson(simulator, recordPath(job.id, job.highest, 'v1')),
    ]);
    expect(v1.text).toBe(v4.text);
  });

  it('has every field of the documented example, with offsets +00:00 and +08:00', async () => {
    const fixture = new URL('../fixtures/record-info-example.json', import.meta.url);
    const example = JSON.parse(await readFile(fixture, 'utf8'));
    const simulator = await startSimulator({ jobs: [{ id: jobId(2), name: 'docs-site', history: 40 }] });
    const job = simulator.groundTruth()[0] as GroundTruthJob;
    const records = [...(await fetchAllRecords(simulator, job)).values()];
    const fields = new Set(records.flatMap((record) => Object.keys(record)));
    for (const field of Object.keys(example.result)) expect(fields).toContain(field);
    const offsets = new Set(records.map((record) => String(record.create_time).slice(-6)));
    expect([...offsets].sort()).toEqual(['+00:00', '+08:00']);
    expect(records.every((record) => Date.parse(record.runnable_time) < Date.parse(record.create_time))).toBe(true);
  });

  it('shows every finished status, missing triggers and missing durations over a long history', async () => {
    const simulator = await startSimulator({ seed: 3, jobs: [{ id: jobId(3), name: 'long', history: 600 }] });
    const job = simulator.groundTruth()[0] as GroundTruthJob;
    expect(new Set(job.finished.map((build) => build.rawStatus))).toEqual(new Set(Object.keys(EXPECTED_RESULTS)));
    for (const build of job.finished) expect(build.result).toBe(EXPECTED_RESULTS[build.rawStatus]);
    expect(new Set(job.finished.map((build) => build.triggerType))).toEqual(
      new Set(['manual', 'timed_execution', 'codehub_trigger', 'pipeline_trigger', 'unknown']),
    );
    const records = await fetchAllRecords(simulator, { ...job, existing: job.existing.slice(0, 250) });
    const triggers = [...records.values()].map((record) => ('trigger_type' in record ? record.trigger_type : 'absent'));
    expect(triggers).toContain(null);
    expect(triggers).toContain('absent');
    const noDuration = [...records.values()].filter((record) => record.duration === null);
    expect(noDuration.length).toBeGreaterThan(3);
    expect(noDuration.length).toBeLessThan(30);
    const truth = new Map(job.finished.map((build) => [build.buildNo, build]));
    for (const record of noDuration) {
      const finishMinusStart = Date.parse(record.finish_time) - Date.parse(record.start_time);
      expect(truth.get(record.build_no)?.durationMs).toBe(finishMinusStart);
    }
  });

  it('moves builds through queued and running states with varied spellings', async () => {
    const simulator = await startSimulator({ seed: 5, jobs: [{ id: jobId(4), name: 'busy', buildEverySeconds: 20 }] });
    const seen = new Set<string>();
    const checked = new Set<string>();
    for (let step = 0; step < 160; step++) {
      simulator.advance(15);
      const job = simulator.groundTruth()[0] as GroundTruthJob;
      for (const buildNo of job.inProgress) {
        const queued = job.queued.includes(buildNo);
        const key = `${buildNo}:${queued}`;
        if (checked.has(key)) continue;
        checked.add(key);
        const record = (await getJson(simulator, recordPath(job.id, buildNo))).body.result;
        seen.add(record.status);
        expect(record.finish_time).toBeNull();
        expect([0, null]).toContain(record.duration);
        expect(record.start_time === null).toBe(queued);
      }
    }
    const expected = ['QUEUED', 'INQUEUE', 'InQueue', 'PENDING', 'INIT', 'WAITING', 'RUNNING', 'Running', 'BUILDING', 'STARTING'];
    for (const status of expected) expect(seen).toContain(status);
  });

  it('finishes concurrent builds out of order and skips some build numbers for good', async () => {
    const simulator = await startSimulator({
      seed: 9,
      gapProbability: 0.15,
      jobs: [{ id: jobId(5), name: 'gappy', buildEverySeconds: 120 }],
    });
    let outOfOrder = false;
    for (let step = 0; step < 100 && !outOfOrder; step++) {
      simulator.advance(60);
      const job = simulator.groundTruth()[0] as GroundTruthJob;
      const newestFinished = Math.max(0, ...job.finished.map((build) => build.buildNo));
      outOfOrder = job.inProgress.some((buildNo) => buildNo < newestFinished);
    }
    expect(outOfOrder).toBe(true);
    simulator.advance(6 * 3600);
    const job = simulator.groundTruth()[0] as GroundTruthJob;
    const gaps = [];
    for (let n = 1; n < job.highest; n++) if (!job.existing.includes(n)) gaps.push(n);
    expect(gaps.length).toBeGreaterThan(0);
    const gap = gaps[0] as number;
    expect((await getJson(simulator, recordPath(job.id, gap))).status).toBe(422);
    expect((await getJson(simulator, recordPath(job.id, gap + 1))).status).toBe(200);
    simulator.advance(24 * 3600);
    expect(simulator.groundTruth()[0]?.existing).not.toContain(gap);
  });

  it('applies retention, adds and removes jobs', async () => {
    const simulator = await startSimulator({
      jobs: [{ id: jobId(6), name: 'retained', history: 20, deletedBelow: 5, buildEverySeconds: 0 }],
    });
    const job = simulator.groundTruth()[0] as GroundTruthJob;
    expect(job.existing).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect((await getJson(simulator, recordPath(job.id, 4))).status).toBe(422);
    expect((await getJson(simulator, recordPath(job.id, 5))).status).toBe(200);

    simulator.advance(3600);
    const added = simulator.addJob({ history: 3, buildEverySeconds: 0 });
    expect(added.id).toMatch(/^[0-9a-f]{32}$/);
    const addedTruth = simulator.groundTruth().find((candidate) => candidate.id === added.id);
    expect(addedTruth?.existing).toEqual([1, 2, 3]);
    expect(Math.max(...(addedTruth?.finished ?? []).map((build) => build.finishedAt))).toBeLessThan(simulator.now());
    simulator.removeJob(added.id);
    expect(simulator.jobs().map((spec) => spec.id)).toEqual([jobId(6)]);
    expect((await getJson(simulator, recordPath(added.id, 1))).body.error_code).toBe('DEVCB.00031006');
    expect(() => simulator.addJob({ id: jobId(6) })).toThrow(/already exists/);
    expect(() => simulator.addJob({ id: 'NOT-HEX' })).toThrow(/32 lowercase hex/);
  });

  it('starts a build by hand with the status, queue time and duration asked for', async () => {
    const simulator = await startSimulator({ jobs: [{ id: jobId(7), name: 'manual', history: 2, buildEverySeconds: 0 }] });
    const n = simulator.triggerBuild(jobId(7), { status: 'TIMEOUT', queueSeconds: 5, durationSeconds: 60 });
    simulator.advance(70);
    expect(simulator.groundTruth()[0]?.finished.at(-1)).toMatchObject({
      buildNo: n,
      rawStatus: 'TIMEOUT',
      result: 'timeout',
      durationMs: 60_000,
      queueSeconds: 5,
    });
    expect(() => simulator.triggerBuild(jobId(7), { status: 'GREAT' })).toThrow(/status must be one of/);
  });
});
