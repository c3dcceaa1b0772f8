import { afterEach, describe, expect, it } from 'vitest';
import { JobDiscovery } from '../../src/poller/discovery.js';
import type { PollerEvent } from '../../src/poller/events.js';
import { createSimulator, type SimulatorOptions, type Simulator } from '../../src/simulator/index.js';
import { ManualClock } from '../helpers/clock.js';
import { simulatorClient } from '../helpers/job-cycle.js';

/** Job discovery (src/poller/discovery.ts) on its own, listing the simulator's projects on loopback. */
const P1 = 'd1500000000000000000000000000001';
const P2 = 'd1500000000000000000000000000002';
const hex = (n: number) => `d15c${String(n).padStart(28, '0')}`;
const JOBS = [
  { id: hex(1), name: 'backend-ci', projectId: P1 },
  { id: hex(2), name: 'backend-nightly', projectId: P1 },
  { id: hex(3), name: 'docs', projectId: P1 },
  { id: hex(4), name: 'frontend-ci', projectId: P2 },
];

let simulator: Simulator;
afterEach(async () => {
  await simulator.close();
});

async function discovery(projects: Array<{ id: string; include?: string; exclude?: string }>, options: SimulatorOptions = {}) {
  simulator = await createSimulator({ seed: 2, jobs: JOBS.map((job) => ({ ...job, buildEverySeconds: 0 })), ...options });
  const events: PollerEvent[] = [];
  const clock = new ManualClock();
  const found = new JobDiscovery(simulatorClient(simulator), projects, 600_000, { emit: (event) => events.push(event) }, clock);
  return { found, events, clock };
}

const names = (jobs: Array<{ name: string }>) => jobs.map((job) => job.name).sort();

describe('job discovery', () => {
  it('lists every project, filters by name, reports each project, and is due again after its interval', async () => {
    const { found, events, clock } = await discovery([{ id: P1, include: '-ci$|nightly', exclude: 'nightly' }, { id: P2 }]);
    expect(found.isDue()).toBe(true);
    expect(names(await found.discover())).toEqual(['backend-ci', 'frontend-ci']);
    expect(events).toEqual(
      expect.arrayContaining([
        { type: 'project_listed', projectId: P1, jobs: 1 },
        { type: 'project_listed', projectId: P2, jobs: 1 },
      ]),
    );
    expect(found.isDue()).toBe(false);
    clock.advance(600_000);
    expect(found.isDue()).toBe(true);
  });

  it('a project whose listing fails keeps its last known jobs and is reported', async () => {
    const { found, events } = await discovery([{ id: P1 }, { id: P2 }]);
    expect(names(await found.discover())).toHaveLength(4);
    simulator.inject('500', { probability: 1, endpoint: 'job-list' });
    expect(names(await found.discover())).toHaveLength(4);
    expect(
      events
        .filter((event) => event.type === 'project_failed')
        .map((event) => (event.type === 'project_failed' ? [event.projectId, event.keptJobs] : [])),
    ).toEqual([
      [P1, 3],
      [P2, 1],
    ]);
  });

  it('a listing that ends before its total keeps the jobs it did not reach, and says why', async () => {
    const { found, events } = await discovery([{ id: P1 }], { jobListQuirks: { totalOffset: 5 } });
    expect(names(await found.discover())).toEqual(['backend-ci', 'backend-nightly', 'docs']);
    const listed = events.find((event) => event.type === 'project_listed');
    expect(listed).toMatchObject({ jobs: 3, incomplete: { listed: 3, total: 8 } });
  });

  it('no projects: never due', async () => {
    const { found } = await discovery([]);
    expect(found.isDue()).toBe(false);
    expect(await found.discover()).toEqual([]);
  });

  it('an aborted listing throws instead of keeping anything', async () => {
    const { found } = await discovery([{ id: P1 }]);
    const abort = new AbortController();
    abort.abort(new Error('shutting down'));
    await expect(found.discover(abort.signal)).rejects.toThrow('shutting down');
  });
});
