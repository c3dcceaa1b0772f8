import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CodeArtsClient } from '../../src/codearts/client.js';
import { consultHint, crossGap, lookPastGap, probeForward, searchBeyond } from '../../src/poller/forward.js';
import { FAR_PROBE_EVERY } from '../../src/poller/gap-policy.js';
import type { JobCycle } from '../../src/poller/job-cycle.js';
import { recheckSkipped, refetchPending } from '../../src/poller/pending.js';
import { RunningStatusHint } from '../../src/poller/running-status-hint.js';
import { RECHECKS_PER_CYCLE, SKIPPED_RECHECKS } from '../../src/poller/skipped-ranges.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import type { PollerEvent } from '../../src/poller/events.js';
import { ManualClock } from '../helpers/clock.js';
import { recordRequests, simulatorClient, startCycle } from '../helpers/job-cycle.js';

/**
 * Each named step of a job's cycle (docs/design.md, "Polling semantics") on its own, against the
 * simulator on loopback: what it fetches, what it counts, what it leaves for the next cycle.
 */
const JOB = '5e90000000000000000000000000000a';

let simulator: Simulator;
let client: CodeArtsClient;

async function world(history: number, options: { deletedBelow?: number } = {}): Promise<void> {
  simulator = await createSimulator({
    seed: 3,
    jobs: [{ id: JOB, name: 'steps', history, buildEverySeconds: 0, ...options }],
    gapProbability: 0,
  });
  client = simulatorClient(simulator);
}

afterEach(async () => {
  await simulator.close();
});

/** The cycle after `cycle`, starting from what it would commit. */
function nextCycle(cycle: JobCycle, options: Parameters<typeof startCycle>[4] = {}): JobCycle {
  const result = cycle.finish();
  return startCycle(client, simulator, JOB, result.next, { ...options, memory: result.memory });
}

describe('pending re-fetch (refetchPending)', () => {
  it('counts a pending build once it finished, its queue time observed once, while it waited', async () => {
    await world(3);
    const n = simulator.triggerBuild(JOB, { queueSeconds: 10, durationSeconds: 100 });
    let cycle = startCycle(client, simulator, JOB, { cursor: n, pending: [n], firstSeen: { [n]: simulator.now() } });
    await refetchPending(cycle);
    expect(cycle.result.counted).toEqual([]);
    expect(cycle.result.queued).toEqual([]);

    simulator.advance(20);
    cycle = nextCycle(cycle);
    await refetchPending(cycle);
    // With what the queue exemplar needs: the record id, and the time the wait ended.
    const triggeredAt = simulator.now() - 20;
    expect(cycle.result.queued).toEqual([{ buildNo: n, seconds: 10, recordId: expect.any(String), at: expect.any(Number) }]);
    expect(cycle.result.queued[0]?.at).toBeCloseTo(triggeredAt + 10, 0);
    expect(cycle.finish().next).toMatchObject({ pending: [n], queueObserved: [n] });

    simulator.advance(200);
    cycle = nextCycle(cycle);
    await refetchPending(cycle);
    expect(cycle.result.counted).toEqual([expect.objectContaining({ buildNo: n, durationSeconds: 100, queueSeconds: undefined })]);
    const { next } = cycle.finish();
    expect(next).toMatchObject({ pending: [], queueObserved: [], firstSeen: {}, last: { buildNo: n, durationSeconds: 100 } });
    expect(recordRequests(simulator)).toBe(3);
  });

  it('drops a pending build CodeArts says twice in a row does not exist (vanished), and an unconfirmed one (dropped)', async () => {
    await world(5);
    let cycle = startCycle(client, simulator, JOB, { cursor: 9, pending: [7], unconfirmed: [8] });
    await refetchPending(cycle);
    expect(cycle.finish().next).toMatchObject({ pending: [7], unconfirmed: [8], notFoundOnce: [7, 8] });
    cycle = nextCycle(cycle);
    await refetchPending(cycle);
    expect(cycle.result.vanished).toEqual([7]);
    expect(cycle.result.dropped).toEqual([8]);
    expect(cycle.finish().next).toMatchObject({ pending: [], unconfirmed: [], notFoundOnce: [] });
  });

  it('gives up a build past max_pending_age, by reason, without counting it', async () => {
    await world(3);
    const n = simulator.triggerBuild(JOB, { queueSeconds: 1, durationSeconds: 10 });
    simulator.overrideBuild(JOB, n, { kind: 'unknown-status', status: 'LIMBO' });
    const cycle = startCycle(
      client,
      simulator,
      JOB,
      { cursor: n, pending: [n], firstSeen: { [n]: simulator.now() - 7200 } },
      { maxPendingAgeSeconds: 3600 },
    );
    await refetchPending(cycle);
    expect(cycle.result.abandoned).toEqual([{ buildNo: n, reason: 'unknown_status', ageSeconds: 7200 }]);
    expect(cycle.result.counted).toEqual([]);
    expect(cycle.finish().next.pending).toEqual([]);
  });

  it('a failed call changes nothing: the build is fetched again next cycle', async () => {
    await world(5);
    simulator.inject('500', { count: 1, endpoint: 'record-info-v4' });
    const cycle = startCycle(client, simulator, JOB, { cursor: 5, pending: [5] });
    await refetchPending(cycle);
    expect(cycle.result.errors).toHaveLength(1);
    expect(cycle.result.counted).toEqual([]);
    expect(cycle.finish().next).toMatchObject({ pending: [5], notFoundOnce: [] });
  });
});

describe('skipped-range re-checks (recheckSkipped)', () => {
  it('re-checks the top of a range on the next cycles and forgets it after the last re-check', async () => {
    await world(5);
    const n = simulator.triggerBuild(JOB, { skipNumbers: 2, queueSeconds: 1, durationSeconds: 1 });
    simulator.advance(10);
    let cycle = startCycle(client, simulator, JOB, { cursor: n, skipped: [{ from: 6, to: 7, checksLeft: SKIPPED_RECHECKS }] });
    for (let left = SKIPPED_RECHECKS - 1; left >= 0; left--) {
      await recheckSkipped(cycle);
      expect(cycle.next.skipped).toEqual(left > 0 ? [{ from: 6, to: 7, checksLeft: left }] : []);
      cycle = nextCycle(cycle);
    }
    expect(recordRequests(simulator)).toBe(2 * SKIPPED_RECHECKS);
  });

  it('counts a late record found in a range and splits the range around it', async () => {
    await world(8);
    const cycle = startCycle(client, simulator, JOB, { cursor: 8, skipped: [{ from: 3, to: 7, checksLeft: 1 }] });
    await recheckSkipped(cycle);
    expect(cycle.result.counted.map((build) => build.buildNo)).toEqual([6, 7]);
    // The rest of the range answered nothing new: its last re-check is spent.
    expect(cycle.next.skipped).toEqual([]);
  });

  it(`re-checks at most ${RECHECKS_PER_CYCLE} numbers a cycle, oldest range first`, async () => {
    await world(1);
    const ranges = [2, 4, 6].map((n) => ({ from: n, to: n, checksLeft: 3 }));
    const cycle = startCycle(client, simulator, JOB, { cursor: 8, skipped: ranges });
    await recheckSkipped(cycle);
    expect(recordRequests(simulator)).toBe(RECHECKS_PER_CYCLE);
    expect(cycle.next.skipped).toEqual([
      { from: 2, to: 2, checksLeft: 2 },
      { from: 4, to: 4, checksLeft: 2 },
      { from: 6, to: 6, checksLeft: 3 },
    ]);
  });
});

describe('forward probe (probeForward)', () => {
  it('counts from the cursor until a number does not exist; keeps unfinished builds pending', async () => {
    await world(5);
    const running = simulator.triggerBuild(JOB, { queueSeconds: 600, durationSeconds: 600 });
    const cycle = startCycle(client, simulator, JOB, { cursor: 2 });
    expect(await probeForward(cycle)).toBe('not_found');
    expect(cycle.result.counted.map((build) => build.buildNo)).toEqual([3, 4, 5]);
    expect(cycle.next.cursor).toBe(running);
    expect(cycle.finish().next.pending).toEqual([running]);
    expect(recordRequests(simulator)).toBe(5);
  });

  it('stops at its budget', async () => {
    await world(10);
    const cycle = startCycle(client, simulator, JOB, { cursor: 0 }, { budget: 4 });
    expect(await probeForward(cycle)).toBe('bounded');
    expect(cycle.next.cursor).toBe(4);
    expect(recordRequests(simulator)).toBe(4);
  });

  it('an invalid answer below a real build is kept unconfirmed; one below nothing moves nothing', async () => {
    await world(7);
    simulator.overrideBuild(JOB, 6, { kind: 'invalid-record' });
    const below = startCycle(client, simulator, JOB, { cursor: 5 });
    expect(await probeForward(below)).toBe('not_found');
    expect(below.next.cursor).toBe(7);
    expect(below.finish().next.unconfirmed).toEqual([6]);
    expect(below.result.invalid.map((error) => error.buildNo)).toEqual([6]);

    simulator.overrideBuild(JOB, 7, { kind: 'invalid-record' });
    const last = startCycle(client, simulator, JOB, { cursor: 6 });
    expect(await probeForward(last)).toBe('invalid');
    expect(last.next.cursor).toBe(6);
    expect(last.finish().next.unconfirmed).toEqual([]);
  });

  it('a failed call ends the probe and moves nothing', async () => {
    await world(5);
    simulator.inject('500', { count: 1, endpoint: 'record-info-v4' });
    const cycle = startCycle(client, simulator, JOB, { cursor: 3 });
    expect(await probeForward(cycle)).toBe('failed');
    expect(cycle.next.cursor).toBe(3);
  });
});

describe('hint handling (consultHint, RunningStatusHint)', () => {
  let hint: RunningStatusHint;
  let clock: ManualClock;
  let events: PollerEvent[];
  beforeEach(() => {
    events = [];
    clock = new ManualClock();
  });
  const makeHint = () => (hint = new RunningStatusHint(client, { emit: (event) => events.push(event) }, clock));
  const statusRequests = () => simulator.requests().byEndpoint['running-status'] ?? 0;

  it('nothing past the cursor: the answer stands in for the probe', async () => {
    await world(5);
    makeHint();
    expect(await consultHint(startCycle(client, simulator, JOB, { cursor: 5 }), hint)).toBe('nothing_new');
    expect(recordRequests(simulator)).toBe(0);
    expect(statusRequests()).toBe(1);
  });

  it('a later build is remembered for the gap search; a known one is not asked again', async () => {
    await world(5);
    makeHint();
    const cycle = startCycle(client, simulator, JOB, { cursor: 3 });
    expect(await consultHint(cycle, hint)).toBe('answered');
    expect(cycle.result.memory.knownHighest).toBe(5);
    expect(await consultHint(startCycle(client, simulator, JOB, { cursor: 3 }, { memory: { knownHighest: 9 } }), hint)).toBe('no_answer');
    expect(statusRequests()).toBe(1);
  });

  it('unavailable: not asked for 10 minutes after 3 failures, then 20; reported once, and when it answers again', async () => {
    await world(5);
    simulator.setRunningStatus('route-not-found');
    makeHint();
    const ask = () => consultHint(startCycle(client, simulator, JOB, { cursor: 5 }), hint);
    for (let i = 0; i < 3; i++) expect(await ask()).toBe('no_answer');
    expect(events).toEqual([expect.objectContaining({ type: 'running_status', available: false, retryInSeconds: 600, first: true })]);
    await ask();
    expect(statusRequests()).toBe(3);
    clock.advance(601_000);
    for (let i = 0; i < 3; i++) await ask();
    expect(statusRequests()).toBe(6);
    expect(events.at(-1)).toMatchObject({ available: false, retryInSeconds: 1200, first: false });
    simulator.setRunningStatus('ok');
    clock.advance(1201_000);
    expect(await ask()).toBe('nothing_new');
    expect(events.at(-1)).toEqual({ type: 'running_status', available: true, recovered: true });
  });
});

describe('gap and hole search (lookPastGap, searchBeyond, crossGap)', () => {
  it('crosses a gap up to the build running-status named, in about 2*log2(gap) requests, and passes over the numbers', async () => {
    await world(5);
    const n = simulator.triggerBuild(JOB, { skipNumbers: 20, queueSeconds: 1, durationSeconds: 1 });
    simulator.advance(10);
    const cycle = startCycle(client, simulator, JOB, { cursor: 5 }, { memory: { knownHighest: n } });
    const beyond = await lookPastGap(cycle, false);
    expect(beyond?.buildNo).toBe(n);
    expect(recordRequests(simulator)).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n - 5)) + 1);
    crossGap(cycle, beyond!);
    expect(cycle.next).toMatchObject({ cursor: n, skipped: [{ from: 6, to: n - 1, checksLeft: 3 }] });
    expect(cycle.result.gapsSkipped).toEqual([{ from: 6, to: n - 1 }]);
  });

  it('a search out of budget pauses and continues next cycle from what it learned', async () => {
    await world(5);
    const n = simulator.triggerBuild(JOB, { skipNumbers: 200, queueSeconds: 1, durationSeconds: 1 });
    simulator.advance(10);
    let cycle = startCycle(client, simulator, JOB, { cursor: 5 }, { budget: 4, memory: { knownHighest: n } });
    expect(await searchBeyond(cycle, n)).toBeUndefined();
    expect(cycle.result.memory.search).toMatchObject({ missing: expect.any(Number) });
    const first = recordRequests(simulator);
    expect(first).toBe(4);
    cycle = nextCycle(cycle, { budget: 50 });
    expect((await searchBeyond(cycle, n)) as { buildNo: number }).toMatchObject({ buildNo: n });
    expect(recordRequests(simulator)).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(200)) + 2);
  });

  it('without a hint, a due check looks one number ahead; without one due it looks nowhere', async () => {
    await world(5);
    const n = simulator.triggerBuild(JOB, { skipNumbers: 1, queueSeconds: 1, durationSeconds: 1 });
    simulator.advance(10);
    expect(await lookPastGap(startCycle(client, simulator, JOB, { cursor: 5 }), false)).toBeUndefined();
    expect(recordRequests(simulator)).toBe(0);
    expect((await lookPastGap(startCycle(client, simulator, JOB, { cursor: 5 }), true))?.buildNo).toBe(n);
    expect(recordRequests(simulator)).toBe(1);
  });

  it('every few fruitless checks a far look finds the end of a retention hole', async () => {
    await world(100, { deletedBelow: 90 });
    const memory = { fruitlessChecks: FAR_PROBE_EVERY - 1, farExponent: 6 };
    const cycle = startCycle(client, simulator, JOB, { cursor: 30 }, { memory });
    const beyond = await lookPastGap(cycle, true);
    expect(cycle.result.farProbed).toBe(true);
    expect(beyond?.buildNo).toBe(90);
  });
});
