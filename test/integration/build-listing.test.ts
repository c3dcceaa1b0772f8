import { describe, expect, it } from 'vitest';
import { createAkskAuth } from '../../src/codearts/auth/aksk.js';
import { createIamAuth } from '../../src/codearts/auth/iam.js';
import { createStaticTokenAuth } from '../../src/codearts/auth/static-token.js';
import type { AuthProvider } from '../../src/codearts/auth/types.js';
import {
  classifyListingFailure,
  ListingWindowTooLongError,
  MAX_LISTING_WINDOW_MS,
  type ListedBuild,
  type ListingWindow,
} from '../../src/codearts/build-listing.js';
import { CodeArtsClient } from '../../src/codearts/client.js';
import { DEFAULT_NOT_FOUND_CODES } from '../../src/codearts/envelope.js';
import { isCodeArtsError } from '../../src/codearts/errors.js';
import type { CodeArtsEvent } from '../../src/codearts/events.js';
import { DEFAULT_TOKEN, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { jobId, startSimulator } from '../helpers/simulator.js';

/**
 * The client's build listing (listBuilds, ListBuildInfoRecordByJobId) against the simulator on
 * loopback: paging and windows against the simulator's ground truth, refusals, a missing job, the
 * endpoint switched off, every auth mode, and the requests, retries, budget and circuit it shares
 * with the other routes.
 */
const JOB = jobId(1);
const DAY_MS = 86_400_000;
const ACCESS_KEY = 'HPUAEXAMPLEACCESSKEY01';
const SECRET_KEY = 'SENTINEL-SECRET-KEY-7777';
const IAM_USER = { domain: 'acme', user: 'exporter', password: 'SENTINEL-PASSWORD-7777', project: 'cn-north-4' };

function clientFor(
  simulator: Simulator,
  options: { auth?: AuthProvider; retries?: number; events?: CodeArtsEvent[]; breakerThreshold?: number } = {},
): CodeArtsClient {
  const events = options.events;
  return new CodeArtsClient({
    endpoint: simulator.url,
    recordApi: 'v4',
    auth: options.auth ?? createStaticTokenAuth(DEFAULT_TOKEN),
    requestTimeoutMs: 2000,
    maxConcurrency: 4,
    maxRequestsPerSecond: 100_000,
    retry: { retries: options.retries ?? 0, minDelayMs: 1, maxDelayMs: 1 },
    maxRetryTimeMs: 2000,
    notFoundCodes: DEFAULT_NOT_FOUND_CODES,
    ...(options.breakerThreshold === undefined ? {} : { breakerThreshold: options.breakerThreshold }),
    ...(events ? { events: { emit: (event: CodeArtsEvent) => void events.push(event) } } : {}),
  });
}

/** A busy job with retention, one build aborted in the queue, queued and running builds at the end. */
async function busySimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = await startSimulator({
    seed: 42,
    gapProbability: 0.05,
    jobs: [{ id: JOB, name: 'busy', history: 60, deletedBelow: 4, buildEverySeconds: 90 }],
    ...options,
  });
  simulator.advance(1800);
  simulator.overrideBuild(JOB, 30, { kind: 'aborted-in-queue', afterSeconds: 25 });
  simulator.advance(600);
  return simulator;
}

/** Every build of the window, page after page; also how many pages that took. */
async function listAll(client: CodeArtsClient, window: ListingWindow, size: number): Promise<{ builds: ListedBuild[]; pages: number }> {
  const builds: ListedBuild[] = [];
  let pages = 0;
  for (let index = 0; ; index++) {
    const page = await client.listBuilds(JOB, window, { index, size });
    pages += 1;
    expect(page.pageIndex).toBe(index);
    builds.push(...page.builds);
    if (index + 1 >= page.totalPages) {
      expect(builds).toHaveLength(page.totalRecords);
      return { builds, pages };
    }
  }
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the listing to fail');
    },
    (error: unknown) => error,
  );
}

const lastDay = (simulator: Simulator): ListingWindow => ({ fromMs: simulator.now() * 1000 - DAY_MS, toMs: simulator.now() * 1000 });

describe('listBuilds against the simulator', () => {
  it('pages through a window: every started build exactly once, newest first, as the ground truth has it', async () => {
    const simulator = await busySimulator();
    simulator.resetRequests();
    const { builds, pages } = await listAll(clientFor(simulator), lastDay(simulator), 7);
    const truth = simulator.groundTruth()[0];
    if (!truth) throw new Error('no job');
    const started = truth.existing.filter((n) => !truth.queued.includes(n));
    expect(builds.map((build) => build.buildNo)).toEqual([...started].reverse());
    expect(pages).toBe(Math.ceil(started.length / 7));
    expect(pages).toBeGreaterThan(5);
    expect(simulator.requests().byEndpoint).toEqual({ 'record-list': pages });

    for (const build of builds) {
      const finished = truth.finished.find((b) => b.buildNo === build.buildNo);
      if (!finished) {
        // Running now: recognisable as unfinished, no duration, no finish.
        expect(truth.inProgress).toContain(build.buildNo);
        expect(build.phase.finished).toBe(false);
        expect(build).not.toHaveProperty('durationMs');
        expect(build).not.toHaveProperty('finishedAtMs');
        continue;
      }
      expect(build.phase).toMatchObject({ finished: true, result: finished.result });
      expect(build.rawStatus).toBe(finished.rawStatus);
      expect(build.triggerType).toBe(finished.triggerType);
      expect(build.startedAtMs).toBe(Math.round(finished.startedAt * 1000));
      if (finished.neverStarted) {
        expect(build).not.toHaveProperty('durationMs');
        continue;
      }
      expect(build.durationMs).toBe(finished.durationMs);
      expect(build.finishedAtMs).toBe(Math.round(finished.finishedAt * 1000));
    }
    expect(builds.some((build) => !build.phase.finished)).toBe(true);
    expect(builds.find((build) => build.buildNo === 30)?.phase).toMatchObject({ finished: true, result: 'aborted' });
  });

  it('adjacent windows [a, b - 1 s], [b, c - 1 s], ... together list every build once', async () => {
    const simulator = await busySimulator();
    const client = clientFor(simulator);
    const nowMs = simulator.now() * 1000;
    const { builds: all } = await listAll(client, lastDay(simulator), 100);
    const startMs = Math.floor(Math.min(...all.map((build) => build.startedAtMs ?? nowMs)) / 1000) * 1000;
    const tiled: number[] = [];
    for (let fromMs = startMs; fromMs <= nowMs; fromMs += 600_000) {
      const { builds } = await listAll(client, { fromMs, toMs: fromMs + 600_000 - 1000 }, 100);
      tiled.unshift(...builds.map((build) => build.buildNo));
    }
    expect(tiled).toEqual(all.map((build) => build.buildNo));
    const empty = await client.listBuilds(JOB, { fromMs: nowMs - 30 * DAY_MS, toMs: startMs - 1000 }, { index: 0, size: 10 });
    expect(empty).toEqual({ builds: [], pageIndex: 0, totalPages: 0, totalRecords: 0 });
  });

  it('refuses a window over 30 days without sending it', async () => {
    const simulator = await busySimulator();
    simulator.resetRequests();
    const nowMs = simulator.now() * 1000;
    const client = clientFor(simulator);
    const error = await failureOf(
      client.listBuilds(JOB, { fromMs: nowMs - MAX_LISTING_WINDOW_MS - 1000, toMs: nowMs }, { index: 0, size: 10 }),
    );
    expect(error).toBeInstanceOf(ListingWindowTooLongError);
    expect(classifyListingFailure(error)).toBe('window-too-long');
    await expect(client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 101 })).rejects.toThrow(RangeError);
    expect(simulator.requests().byEndpoint).toEqual({});
    // Exactly 30 days is what CodeArts (here, the simulator) accepts.
    const longest = await client.listBuilds(JOB, { fromMs: nowMs - MAX_LISTING_WINDOW_MS, toMs: nowMs }, { index: 0, size: 10 });
    expect(longest.totalRecords).toBeGreaterThan(50);
  });

  it('an unknown job: job-not-found, one request, never retried', async () => {
    const simulator = await busySimulator();
    simulator.resetRequests();
    const error = await failureOf(clientFor(simulator, { retries: 3 }).listBuilds(jobId(99), lastDay(simulator), { index: 0, size: 10 }));
    expect(isCodeArtsError(error) && [error.kind, error.status, error.code, error.route]).toEqual([
      'not_found',
      422,
      'DEVCB.00031006',
      'record-list',
    ]);
    expect(classifyListingFailure(error)).toBe('job-not-found');
    expect(simulator.requests().byEndpointStatus).toEqual({ 'record-list': { '422': 1 } });
  });

  it('the endpoint switched off or forbidden: unavailable, not retried; switched on again: answers', async () => {
    const simulator = await busySimulator({ recordList: false });
    simulator.resetRequests();
    const client = clientFor(simulator, { retries: 3 });
    const off = await failureOf(client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 10 }));
    expect(isCodeArtsError(off) && [off.status, off.code]).toEqual([404, 'APIGW.0101']);
    expect(classifyListingFailure(off)).toBe('unavailable');
    simulator.setRecordList('forbidden');
    expect(classifyListingFailure(await failureOf(client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 10 })))).toBe('unavailable');
    simulator.setRecordList(true);
    expect((await client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 10 })).builds).toHaveLength(10);
    expect(simulator.requests().byEndpointStatus).toEqual({ 'record-list': { '404': 1, '403': 1, '200': 1 } });
  });

  it('sends the credentials of every auth mode: a static token, an IAM token, an AK/SK signature over the query', async () => {
    const modes: Array<[SimulatorOptions, (simulator: Simulator) => AuthProvider]> = [
      [{ token: 'listing-token' }, () => createStaticTokenAuth('listing-token')],
      [
        { auth: { mode: 'iam', tokenLifetimeSeconds: 3600, users: [IAM_USER] } },
        (simulator) => createIamAuth({ endpoint: simulator.url, ...IAM_USER }),
      ],
      [
        { auth: { mode: 'aksk', keys: { [ACCESS_KEY]: SECRET_KEY } } },
        () => createAkskAuth({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY }),
      ],
    ];
    for (const [options, auth] of modes) {
      const simulator = await busySimulator(options);
      const page = await clientFor(simulator, { auth: auth(simulator) }).listBuilds(JOB, lastDay(simulator), { index: 1, size: 5 });
      expect(page.builds).toHaveLength(5);
      expect(simulator.requests().byEndpointStatus['record-list']).toEqual({ '200': 1 });
    }
    const guarded = await busySimulator({ token: 'right' });
    const refused = await failureOf(clientFor(guarded).listBuilds(JOB, lastDay(guarded), { index: 0, size: 5 }));
    expect(isCodeArtsError(refused) && [refused.kind, refused.status]).toEqual(['unauthorized', 401]);
    expect(classifyListingFailure(refused)).toBe('other');
  });

  it('retries transient failures, reports each attempt, slows down on throttling; a foreign 404 or a broken listing is not retried', async () => {
    const simulator = await busySimulator();
    simulator.resetRequests();
    const events: CodeArtsEvent[] = [];
    const client = clientFor(simulator, { retries: 3, events });
    simulator.inject('500', { endpoint: 'record-list', count: 1 });
    simulator.inject('429', { endpoint: 'record-list', count: 1 });
    const rate = client.currentRate();
    expect((await client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 10 })).builds).toHaveLength(10);
    expect(client.currentRate()).toBeLessThan(rate);
    expect(simulator.requests().byEndpointStatus).toEqual({ 'record-list': { '500': 1, '429': 1, '200': 1 } });
    expect(events.filter((event) => event.type === 'api_request').map((event) => [event.route, event.code])).toEqual([
      ['record-list', '500'],
      ['record-list', '429'],
      ['record-list', '200'],
    ]);
    expect(events.filter((event) => event.type === 'api_retry').map((event) => [event.route, event.reason])).toEqual([
      ['record-list', 'server_error'],
      ['record-list', 'throttled'],
    ]);

    // Not CodeArts' 404, or a listing that is not one: permanent, one request each, not retried.
    simulator.resetRequests();
    simulator.inject('404-json', { endpoint: 'record-list', count: 1 });
    expect(classifyListingFailure(await failureOf(client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 10 })))).toBe('unavailable');
    simulator.inject('schema', { endpoint: 'record-list', count: 1 });
    const broken = await failureOf(client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 10 }));
    expect(isCodeArtsError(broken) && [broken.kind, broken.status]).toEqual(['permanent', 200]);
    expect((broken as Error).message).toContain(`invalid build listing for job ${JOB}: total_record`);
    expect(classifyListingFailure(broken)).toBe('other');
    expect(simulator.requests().byEndpointStatus).toEqual({ 'record-list': { '404': 1, '200': 1 } });
  });

  it('shares the circuit breaker: unreachable, it opens and refuses without sending; the next cycle probes again', async () => {
    const simulator = await busySimulator();
    simulator.resetRequests();
    const events: CodeArtsEvent[] = [];
    const client = clientFor(simulator, { retries: 3, breakerThreshold: 2, events });
    simulator.inject('reset', { endpoint: 'record-list', count: 2 });
    const unreachable = await failureOf(client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 10 }));
    expect(isCodeArtsError(unreachable) && unreachable.status).toBe('network');
    expect(events.some((event) => event.type === 'circuit' && event.state === 'open')).toBe(true);
    const refused = await failureOf(client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 10 }));
    expect(isCodeArtsError(refused) && refused.status).toBe('circuit_open');
    expect(classifyListingFailure(refused)).toBe('other');
    expect(simulator.requests().byEndpoint).toEqual({ 'record-list': 2 });
    client.beginCycle();
    expect((await client.listBuilds(JOB, lastDay(simulator), { index: 0, size: 10 })).builds).toHaveLength(10);
    expect(simulator.requests().byEndpoint).toEqual({ 'record-list': 3 });
  });
});
