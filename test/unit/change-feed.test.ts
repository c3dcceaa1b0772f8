import { afterEach, describe, expect, it } from 'vitest';
import { parseBuildNumber, parseFeedPage } from '../../src/codearts/job-feed.js';
import { emptyJobState } from '../../src/domain/job.js';
import { ChangeFeed, FIRST_FEED_RETRY_SECONDS } from '../../src/poller/change-feed.js';
import type { PollerEvent } from '../../src/poller/events.js';
import { freshGapMemory } from '../../src/poller/gap-policy.js';
import { isFullProbeDue, LISTED_MISSES_ALLOWED, nextMiss, planProbe } from '../../src/poller/probe-plan.js';
import { createSimulator, type JobFeedOptions, type Simulator } from '../../src/simulator/index.js';
import { ManualClock } from '../helpers/clock.js';
import { simulatorClient } from '../helpers/job-cycle.js';

/** The change feed's parts on their own: the page reader, the client against the simulator's ListJob, the plan. */
describe('ListJob pages (parseFeedPage)', () => {
  it('reads ListJobResult with numbers as numbers or as strings, build_number as the SDK writes it', () => {
    const page = parseFeedPage({
      total: '4',
      job_list: [
        { id: 'a', job_name: 'api', build_number: '12', last_build_time: '1767225600000', project_id: 'p1', project_name: 'shop' },
        { id: 'b', build_number: '', last_job_running_status: 'Finished' },
        { id: 'c', build_number: 7, last_build_time: 1767225600000 },
        { id: 'd', build_number: 'latest' },
        { job_name: 'no id' },
      ],
    });
    expect(page).toEqual({
      total: 4,
      unreadable: 1,
      jobs: [
        { id: 'a', name: 'api', newest: 12, lastBuildTime: 1767225600000, project: { id: 'p1', name: 'shop' } },
        { id: 'b', newest: 0, runningStatus: 'Finished' },
        { id: 'c', newest: 7, lastBuildTime: 1767225600000 },
        { id: 'd', newest: undefined },
      ],
    });
  });

  it('a page without total and job_list is a problem naming what came instead', () => {
    expect(parseFeedPage({ jobs: [] })).toEqual({ problem: 'unexpected job list shape (expected total and job_list; got jobs)' });
    expect(parseFeedPage('x')).toEqual({ problem: 'unexpected job list shape (expected total and job_list; got string)' });
  });

  it.each([
    ['', 0],
    ['0', 0],
    [' 42 ', 42],
    [42, 42],
    ['-1', undefined],
    ['4.5', undefined],
    [null, undefined],
    [undefined, undefined],
    ['1e3', undefined],
  ])('build_number %j -> %j', (raw, expected) => {
    expect(parseBuildNumber(raw)).toBe(expected);
  });
});

describe('the client reads every page of the simulator ListJob', () => {
  let simulator: Simulator | undefined;
  afterEach(async () => {
    await simulator?.close();
  });

  async function listWith(jobFeed: JobFeedOptions) {
    simulator = await createSimulator({ seed: 4, jobs: 250, buildEverySeconds: 300, jobFeed });
    simulator.advance(3600);
    return { simulator, listing: await simulatorClient(simulator).listAllJobs() };
  }

  it.each(['enveloped', 'bare'] as const)('%s: 3 pages, each job with its newest build and project', async (shape) => {
    const { simulator: sim, listing } = await listWith({ shape });
    expect(listing.pages).toBe(3);
    expect(listing.total).toBe(250);
    expect(listing.incomplete).toBeUndefined();
    const truth = new Map(sim.groundTruth().map((job) => [job.id, job.highest]));
    expect(new Map(listing.jobs.map((job) => [job.id, job.newest]))).toEqual(truth);
    const specs = new Map(sim.jobs().map((job) => [job.id, job]));
    for (const job of listing.jobs) expect(job.project?.id).toBe(specs.get(job.id)?.projectId);
    expect(simulator?.requests().byEndpoint['job-list-all']).toBe(3);
  });

  it('hidden jobs are left out; a lagging list shows the newest build as it was', async () => {
    const hidden = await listWith({ hiddenJobs: [] });
    const [first, second] = hidden.simulator.jobs();
    await simulator?.close();
    const { simulator: sim, listing } = await listWith({ hiddenJobs: [first!.id], lagSeconds: 1800 });
    expect(listing.total).toBe(249);
    expect(listing.jobs.some((job) => job.id === first!.id)).toBe(false);
    const lagged = listing.jobs.find((job) => job.id === second!.id)!;
    const truth = sim.groundTruth().find((job) => job.id === second!.id)!;
    const asOf = sim.now() - 1800;
    const newestThen = Math.max(0, ...truth.existing.filter((n) => (truth.finished.find((b) => b.buildNo === n)?.createdAt ?? 0) <= asOf));
    expect(lagged.newest).toBeLessThanOrEqual(truth.highest);
    expect(lagged.newest).toBeGreaterThanOrEqual(newestThen);
  });
});

describe('ChangeFeed: unavailable lists are backed off and reported once', () => {
  it('404 APIGW.0101: reported on the first failure only, asked again after 5, then 10 minutes; an answer again is reported', async () => {
    const simulator = await createSimulator({ seed: 5, jobs: 3, jobFeed: { mode: 'route-not-found' } });
    try {
      const events: PollerEvent[] = [];
      const clock = new ManualClock();
      const feed = new ChangeFeed(simulatorClient(simulator), { emit: (event) => events.push(event) }, clock);
      expect(await feed.read()).toBeUndefined();
      clock.advance((FIRST_FEED_RETRY_SECONDS - 1) * 1000);
      expect(await feed.read()).toBeUndefined();
      expect(simulator.requests().byEndpoint['job-list-all']).toBe(1);
      clock.advance(1000);
      expect(await feed.read()).toBeUndefined();
      expect(events).toMatchObject([
        { type: 'change_feed', available: false, first: true, retryInSeconds: 300 },
        { type: 'change_feed', available: false, first: false, retryInSeconds: 600 },
      ]);
      simulator.setJobFeed({ mode: 'ok' });
      clock.advance(600_000);
      const snapshot = await feed.read();
      expect(snapshot?.jobs.size).toBe(3);
      expect(events.at(-1)).toMatchObject({ type: 'change_feed', available: true, recovered: true, pages: 1, listed: 3, total: 3 });
    } finally {
      await simulator.close();
    }
  });
});

describe('the probe plan', () => {
  const listed = (newest: number) => ({ id: 'j', newest });
  const base = { memory: freshGapMemory(0), fullProbeDue: false, unsure: false, miss: undefined };
  const at = (cursor: number) => ({ ...emptyJobState(), cursor });

  it('skips a job the list shows at its cursor, probes one past it up to the listed number', () => {
    expect(planProbe({ ...base, state: at(5), listed: listed(5) })).toEqual({ kind: 'skip', listed: 5 });
    expect(planProbe({ ...base, state: at(5), listed: listed(3) })).toEqual({ kind: 'skip', listed: 3 });
    expect(planProbe({ ...base, state: at(5), listed: listed(8) })).toEqual({ kind: 'listed', listed: 8, ceiling: 8 });
  });

  it('pending builds, passed-over ranges to re-check: probed whatever the list says', () => {
    expect(planProbe({ ...base, state: { ...at(5), pending: [5] }, listed: listed(5) })).toEqual({
      kind: 'listed',
      listed: 5,
      ceiling: undefined,
    });
    const skipped = { ...at(9), skipped: [{ from: 6, to: 8, checksLeft: 2 }] };
    expect(planProbe({ ...base, state: skipped, listed: listed(9) }).kind).toBe('listed');
    // A counted build whose steps could not be fetched yet is asked again next cycle, not after the full-probe interval.
    const detailsDue = { ...at(5), details: [{ buildNo: 5, kinds: ['steps' as const], recordId: 'r5', failed: false, since: 0 }] };
    expect(planProbe({ ...base, state: detailsDue, listed: listed(5) }).kind).toBe('listed');
  });

  it('not listed, no usable number, or a start not settled: the full cycle; full probe due: the safety probe', () => {
    expect(planProbe({ ...base, state: at(5), listed: undefined })).toEqual({ kind: 'full' });
    expect(planProbe({ ...base, state: at(5), listed: { id: 'j', newest: undefined } })).toEqual({ kind: 'full' });
    expect(planProbe({ ...base, unsure: true, state: at(5), listed: listed(5) })).toEqual({ kind: 'full' });
    expect(planProbe({ ...base, fullProbeDue: true, state: at(5), listed: listed(5) })).toEqual({ kind: 'safety', listed: 5 });
  });

  it('a listed number the probes never reach is believed LISTED_MISSES_ALLOWED times, then left to the safety probe', () => {
    let miss = undefined;
    for (let i = 0; i < LISTED_MISSES_ALLOWED; i++) {
      expect(planProbe({ ...base, miss, state: at(5), listed: listed(9) }).kind).toBe('listed');
      miss = nextMiss(miss, 9, { before: 5, after: 5 }, false);
    }
    expect(planProbe({ ...base, miss, state: at(5), listed: listed(9) }).kind).toBe('skip');
    // A failed cycle is no evidence; a cursor that moved, or another listed number, starts afresh.
    expect(nextMiss(miss, 9, { before: 5, after: 5 }, true)).toEqual(miss);
    expect(nextMiss(miss, 9, { before: 5, after: 6 }, false)).toBeUndefined();
    expect(planProbe({ ...base, miss, state: at(5), listed: listed(10) }).kind).toBe('listed');
  });

  it('full probes come due once per interval per job, spread over the interval, not in one burst', () => {
    const interval = 600;
    const period = 30;
    const ids = Array.from({ length: 1000 }, (_, i) => `job-${i}`);
    const lastFull = new Map(ids.map((id) => [id, 0]));
    const perCycle: number[] = [];
    const perJob = new Map(ids.map((id) => [id, 0]));
    for (let now = period; now <= 3 * interval; now += period) {
      let due = 0;
      for (const id of ids) {
        if (!isFullProbeDue(id, lastFull.get(id)!, now, interval)) continue;
        due++;
        lastFull.set(id, now);
        perJob.set(id, perJob.get(id)! + 1);
      }
      perCycle.push(due);
    }
    // Three intervals: every job exactly three times, never two intervals apart.
    expect(new Set(perJob.values())).toEqual(new Set([3]));
    const mean = (ids.length * period) / interval;
    expect(Math.max(...perCycle)).toBeLessThan(mean * 2);
    expect(Math.min(...perCycle)).toBeGreaterThan(mean / 2);
  });
});
