import pLimit from 'p-limit';
import { afterEach, describe, expect, it } from 'vitest';
import type { CodeArtsClient } from '../../src/codearts/client.js';
import { emptyJobState } from '../../src/domain/job.js';
import type { PollerEvent } from '../../src/poller/events.js';
import { freshGapMemory } from '../../src/poller/gap-policy.js';
import type { PolledJob } from '../../src/poller/job-set.js';
import { RunningStatusHint } from '../../src/poller/running-status-hint.js';
import { findLatestStart, StartPointUnknownError, StartPoints } from '../../src/poller/start-point.js';
import { createSimulator, type RunningStatusMode, type Simulator } from '../../src/simulator/index.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { NO_EVENTS } from '../../src/support/events.js';
import { ManualClock } from '../helpers/clock.js';
import { recordRequests, simulatorClient } from '../helpers/job-cycle.js';

/** Where counting starts (src/poller/start-point.ts), against the simulator on loopback. */
const JOB = '57a00000000000000000000000000001';
const LAYOUT = { recordLabels: [], durationBuckets: [60], queueBuckets: [60] };

let simulator: Simulator;
let client: CodeArtsClient;

async function world(history: number, runningStatus: RunningStatusMode = 'ok', deletedBelow = 1): Promise<RunningStatusHint> {
  simulator = await createSimulator({
    seed: 9,
    jobs: [{ id: JOB, name: 'start', history, deletedBelow, buildEverySeconds: 0 }],
    gapProbability: 0,
    runningStatus,
  });
  client = simulatorClient(simulator);
  return new RunningStatusHint(client, NO_EVENTS, new ManualClock());
}

afterEach(async () => {
  await simulator.close();
});

describe('findLatestStart', () => {
  it('with running-status: its newest build, confirmed by record-info, and the last-build gauges', async () => {
    const hint = await world(1000);
    const state = await findLatestStart(client, hint, JOB);
    expect(state.cursor).toBe(1000);
    expect(state.last?.buildNo).toBe(1000);
    expect(recordRequests(simulator)).toBe(1);
  });

  it('without it: an exponential probe and a binary search, within 2*log2(n)+4 requests, past a retention hole', async () => {
    const hint = await world(777, 'route-not-found', 300);
    const state = await findLatestStart(client, hint, JOB);
    expect(state.cursor).toBe(777);
    expect(recordRequests(simulator)).toBeLessThanOrEqual(2 * Math.log2(777) + 4);
  });

  it('a job that never ran starts empty when running-status says so, and is unknown when nothing says so', async () => {
    expect(await findLatestStart(client, await world(0), JOB)).toEqual(emptyJobState());
    await simulator.close();
    const blind = await world(0, 'forbidden');
    await expect(findLatestStart(client, blind, JOB)).rejects.toBeInstanceOf(StartPointUnknownError);
  });

  it('hint only (a search already failed): no probing without running-status', async () => {
    const hint = await world(50, 'server-error');
    await expect(findLatestStart(client, hint, JOB, undefined, true)).rejects.toThrow(/cannot find its newest build/);
    expect(recordRequests(simulator)).toBe(0);
  });
});

describe('StartPoints', () => {
  const limit = pLimit(1);
  const job = (): PolledJob => ({ id: JOB, name: 'start', memory: freshGapMemory(0) });

  function starts(startAt: 'latest' | number, hint: RunningStatusHint, clock = new ManualClock()) {
    const events: PollerEvent[] = [];
    const store = new MemoryStore(LAYOUT);
    const points = new StartPoints({ client, store, hint, clock, startAt, events: { emit: (event) => events.push(event) } });
    return { events, store, points, clock };
  }

  it('start_at N commits cursor N-1 at version 1 and reports it', async () => {
    const { points, events } = starts(40, await world(100));
    const polled = job();
    const stored = await points.start(polled, limit);
    expect(stored).toMatchObject({ version: 1, state: { cursor: 39 } });
    expect(polled.stored).toBe(stored);
    expect(events.map((event) => event.type)).toEqual(['job_committed', 'start_chosen']);
    expect(recordRequests(simulator)).toBe(0);
  });

  it('latest, unknown: starts at 0, unsure, looked for again on a doubling backoff; found past a hole: moved there', async () => {
    const { points, events, clock } = starts('latest', await world(0, 'forbidden'));
    const polled = job();
    const first = await points.start(polled, limit);
    expect(first?.state.cursor).toBe(0);
    expect(polled.unsure).toMatchObject({ failures: 1 });
    expect(events.filter((event) => event.type === 'start_unknown')).toEqual([
      expect.objectContaining({ retryInSeconds: 600, first: true }),
    ]);

    // Before the retry time: nothing asked.
    const before = simulator.requests().byEndpoint['running-status'] ?? 0;
    expect(await points.confirm(polled, first!, limit)).toBe(first);
    expect(simulator.requests().byEndpoint['running-status'] ?? 0).toBe(before);

    // Builds appear past a hole (numbers 1-9 deleted); running-status answers again: moved to the newest.
    for (let i = 0; i < 12; i++) simulator.triggerBuild(JOB, { queueSeconds: 1, durationSeconds: 1 });
    simulator.advance(60);
    simulator.setRetention(JOB, 10);
    simulator.setRunningStatus('ok');
    clock.advance(601_000);
    const found = await points.confirm(polled, first!, limit);
    expect(found).toMatchObject({ version: 2, state: { cursor: 12 } });
    expect(polled.unsure).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'start_found', cursor: 12 });
  });

  it('latest, unknown, then its builds from 1 on turn up: confirmed as it is', async () => {
    const { points, events } = starts('latest', await world(0, 'forbidden'));
    const polled = job();
    await points.start(polled, limit);
    const confirmed = await points.confirm(polled, { version: 2, state: { ...emptyJobState(), cursor: 3 } }, limit);
    expect(confirmed.state.cursor).toBe(3);
    expect(polled.unsure).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'start_confirmed', cursor: 3 });
  });
});
