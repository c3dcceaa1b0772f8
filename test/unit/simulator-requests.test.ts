import { describe, expect, it } from 'vitest';
import { getJson, jobId, recordPath, startSimulator } from '../helpers/simulator.js';

const JOB = jobId(1);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('simulator request counting and clock', () => {
  it('counts by endpoint and status, logs job and build, and resets', async () => {
    const simulator = await startSimulator({ jobs: [{ id: JOB, name: 'a', history: 3 }] });
    await getJson(simulator, recordPath(JOB, 1));
    await getJson(simulator, recordPath(JOB, 9, 'v1'));
    await getJson(simulator, recordPath(JOB, 2), {});
    await getJson(simulator, `/v1/job/${JOB}/running-status`);
    await getJson(simulator, '/nowhere');
    const counts = simulator.requests();
    expect(counts.byEndpoint).toEqual({ 'record-info-v4': 2, 'record-info-v1': 1, 'running-status': 1, other: 1 });
    expect(counts.byEndpointStatus).toEqual({
      'record-info-v4': { '200': 1, '401': 1 },
      'record-info-v1': { '422': 1 },
      'running-status': { '200': 1 },
      other: { '404': 1 },
    });
    expect(counts.recordInfo).toBe(3);
    expect(counts.log.slice(0, 2)).toMatchObject([
      { endpoint: 'record-info-v4', jobId: JOB, buildNo: 1, status: 200 },
      { endpoint: 'record-info-v1', jobId: JOB, buildNo: 9, status: 422 },
    ]);
    simulator.resetRequests();
    expect(simulator.requests()).toMatchObject({ byEndpoint: {}, recordInfo: 0, log: [] });
  });

  it('splits record-info requests into 1-second real-time windows', async () => {
    const simulator = await startSimulator({ jobs: [{ id: JOB, name: 'a', history: 3 }] });
    simulator.resetRequests();
    await Promise.all([1, 2, 3].map((n) => getJson(simulator, recordPath(JOB, n))));
    await getJson(simulator, `/v1/job/${JOB}/running-status`);
    await sleep(1050);
    await Promise.all([1, 2].map((n) => getJson(simulator, recordPath(JOB, n, 'v1'))));
    expect(simulator.requests().perSecond.slice(0, 2)).toEqual([3, 2]);
  });

  it('adds the configured latency to every response', async () => {
    const simulator = await startSimulator({ jobs: [{ id: JOB, name: 'a', history: 1 }], latencyMs: 120 });
    let started = performance.now();
    await getJson(simulator, recordPath(JOB, 1));
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    simulator.setLatency(0);
    started = performance.now();
    await getJson(simulator, recordPath(JOB, 1));
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('keeps manual time still between advance() calls', async () => {
    const simulator = await startSimulator({ jobs: 1, startTime: 1_000_000 });
    expect(simulator.now()).toBe(1_000_000);
    await sleep(20);
    expect(simulator.now()).toBe(1_000_000);
    simulator.advance(1.5);
    expect(simulator.now()).toBe(1_000_001.5);
    expect(() => simulator.advance(-1)).toThrow(RangeError);
  });

  it('runs a realtime clock at the given speed, creating builds as it goes', async () => {
    const simulator = await startSimulator({
      clock: 'realtime',
      speed: 2000,
      gapProbability: 0,
      jobs: [{ id: JOB, name: 'a', buildEverySeconds: 20 }],
    });
    const t0 = simulator.now();
    await sleep(250);
    expect(simulator.now() - t0).toBeGreaterThanOrEqual(400);
    const job = simulator.groundTruth()[0];
    expect(job?.highest).toBeGreaterThan(5);
    expect((await getJson(simulator, recordPath(JOB, 1))).status).toBe(200);
  });
});
