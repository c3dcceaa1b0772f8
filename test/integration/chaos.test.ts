import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type FaultKind, type NotFoundShape, type Simulator } from '../../src/simulator/index.js';
import { RecordedLifetime, seededRandom, sleep, waitUntil } from '../helpers/chaos.js';
import { writeConfig } from '../helpers/exporter-process.js';
import { parseExposition, type Sample } from '../helpers/exposition.js';
import { compareAll } from '../helpers/ground-truth.js';

/**
 * Acceptance 1 and 5 of issue 5. The simulator keeps creating builds while it answers with every
 * fault kind and every not-found shape; the built exporter is SIGKILLed at seeded random moments
 * and restarted on its state file; then the faults stop and it catches up. The state file holds
 * the counters with the cursors, so the last lifetime's exposition (counters and histograms of
 * every job) must equal the simulator's finished builds exactly: anything lost or counted twice
 * by any lifetime shows there.
 */
const SEED = Number(process.env.CHAOS_SEED ?? 31337);
const SENTINEL = 'SENTINEL-TOKEN-CHAOS-31337';
const KILLS = 5;
const SHAPES: readonly NotFoundShape[] = ['404', '422-devcb', '422-cb', '403-cb', '200-fail'];
const JOBS = Array.from({ length: 15 }, (_, i) => ({
  id: `c4a05000000000000000000000000${String(i + 1).padStart(3, '0')}`,
  name: `chaos-${i}`,
  notFound: SHAPES[i % SHAPES.length] as NotFoundShape,
  buildEverySeconds: 150 + 20 * i,
  history: 3 + i,
}));
/** Each request meets at most one fault; together about a third of all requests fail. */
const FAULTS: ReadonlyArray<readonly [FaultKind, number]> = [
  ['500', 0.03],
  ['429', 0.01],
  ['apig-0308', 0.01],
  ['cb-00060211', 0.01],
  ['cb-00060100', 0.03],
  ['timeout', 0.01],
  ['reset', 0.03],
  ['malformed', 0.03],
  ['truncated', 0.03],
  ['schema', 0.04],
  ['string-json', 0.03],
];

describe('chaos: faults, bad answers and SIGKILL; nothing lost, nothing counted twice', () => {
  const random = seededRandom(SEED);
  const lifetimes: RecordedLifetime[] = [];
  const env = { CHAOS_TOKEN: SENTINEL };
  let simulator: Simulator;
  let configPath: string;
  let dir: string;
  /** Builds counted in each lifetime's last scrape before its kill: never less than the one before. */
  const totals: number[] = [];
  let clock: NodeJS.Timeout | undefined;
  let finalUrl = '';
  const requestCodes = new Map<string, number>();
  const retryReasons = new Map<string, number>();
  const add = (counts: Map<string, number>, key: string | undefined, value: number) =>
    counts.set(String(key), (counts.get(String(key)) ?? 0) + value);

  beforeAll(async () => {
    simulator = await createSimulator({ seed: SEED, jobs: JOBS, latencyMs: 3, gapProbability: 0.05, token: SENTINEL });
    dir = mkdtempSync(join(tmpdir(), 'cbe-chaos-'));
    configPath = writeConfig(dir, {
      codearts: {
        endpoint: simulator.url,
        auth: { token: '${CHAOS_TOKEN}' },
        // The 'timeout' fault holds a request for 30 s.
        request_timeout: '500ms',
        max_concurrency: 8,
        max_requests_per_second: 200,
        retry: { retries: 3, min_delay: '20ms', max_delay: '200ms' },
      },
      poll: { schedule: '* * * * * *', start_at: 1 },
      jobs: JOBS.map(({ id, name }) => ({ id, name })),
      server: { host: '127.0.0.1', port: 0 },
      state: { path: join(dir, 'state.json') },
      log: { level: 'debug' },
    });
  });

  afterAll(async () => {
    // CHAOS_DUMP=file keeps every lifetime's log lines, the ground truth and the request log for a post-mortem.
    if (process.env.CHAOS_DUMP && simulator) {
      writeFileSync(
        process.env.CHAOS_DUMP,
        JSON.stringify({ lifetimes: lifetimes.map((l) => l.lines), truth: simulator.groundTruth(), log: simulator.requests().log }),
      );
    }
    if (clock) clearInterval(clock);
    for (const lifetime of lifetimes) lifetime.process.kill('SIGKILL');
    await Promise.all(lifetimes.map((lifetime) => lifetime.process.exit(5000)));
    await simulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const builds = (samples: Sample[]) => samples.filter((s) => s.name === 'codearts_builds_total').reduce((sum, s) => sum + s.value, 0);
  const counted = (lifetime: RecordedLifetime) => lifetime.lines.filter((line) => line.event === 'build_counted').length;

  it(`survives ${KILLS} SIGKILLs at random moments while faults rain and builds keep coming`, async () => {
    for (const [kind, probability] of FAULTS) simulator.inject(kind, { probability });
    // 300 virtual seconds per real second: about one new build per job per second.
    clock = setInterval(() => simulator.advance(30), 100);
    for (let kill = 0; kill < KILLS; kill++) {
      const { lifetime, url } = await RecordedLifetime.run(configPath, env);
      lifetimes.push(lifetime);
      // What this lifetime met, from its own metrics (they die with it): scraped just before the kill.
      const scrapeFaultCounts = async () => {
        const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.text(),
          () => '',
        );
        const samples = text ? parseExposition(text) : [];
        if (samples.length > 0) totals.push(builds(samples));
        for (const sample of samples) {
          if (sample.name === 'codearts_exporter_api_requests_total') add(requestCodes, sample.labels.code, sample.value);
          if (sample.name === 'codearts_exporter_api_retries_total') add(retryReasons, sample.labels.reason, sample.value);
          if (sample.name === 'codearts_exporter_invalid_records_total') add(retryReasons, 'invalid_record', sample.value);
        }
      };
      if (random.next() < 0.5) {
        // The instant the n-th commit is reported (build_counted), with other commits and fetches in flight.
        await sleep(random.int(500, 4000));
        await scrapeFaultCounts();
        await lifetime.killOnCommit(random.int(1, 30), 20_000);
      } else {
        await sleep(random.int(2000, 10_000));
        await scrapeFaultCounts();
      }
      lifetime.process.kill('SIGKILL');
      expect((await lifetime.process.exit()).signal).toBe('SIGKILL');
    }
    expect(lifetimes.filter((lifetime) => counted(lifetime) > 0).length).toBeGreaterThanOrEqual(3);
    // A lifetime starts from what the ones before it committed: the counts never went back.
    for (let i = 1; i < totals.length; i++)
      expect(totals[i], `scrape ${i}: ${totals.join(', ')}`).toBeGreaterThanOrEqual(totals[i - 1] ?? 0);
  }, 120_000);

  it('after the faults stop, the exposition equals the finished builds exactly: counters and histograms of every job', async () => {
    if (clock) clearInterval(clock);
    clock = undefined;
    simulator.clearFaults();
    const { lifetime, url } = await RecordedLifetime.run(configPath, env);
    lifetimes.push(lifetime);
    finalUrl = url;
    const exposition = async () => parseExposition(await (await fetch(`${url}/metrics`)).text());
    await waitUntil(async () => compareAll(await exposition(), simulator.groundTruth()).length === 0, 60_000, 200);
    // A moment more for a double count to show up, if one were coming.
    await sleep(1500);

    const samples = await exposition();
    expect(compareAll(samples, simulator.groundTruth())).toEqual([]);
    expect(builds(samples)).toBeGreaterThan(200);
    console.log(
      `chaos: ${builds(samples)} builds counted over ${lifetimes.length} lifetimes (${KILLS} SIGKILLs), ` +
        `commits per lifetime ${lifetimes.map(counted).join('/')}, counts before each kill ${totals.join('/')}; final exposition exact`,
    );
  }, 90_000);

  it('really met every fault kind and every not-found shape', () => {
    const statuses = simulator.requests().byEndpointStatus['record-info-v4'] ?? {};
    // 0: reset or held; 429: throttled; 500: busy/throttled/string-json; 403/404/422/200: not-found shapes and records.
    for (const status of ['0', '200', '403', '404', '422', '429', '500']) expect(statuses[status], `status ${status}`).toBeGreaterThan(0);
    const lines = lifetimes.flatMap((lifetime) => lifetime.lines);
    const invalid = lines.filter((line) => line.event === 'invalid_record');
    expect(invalid.length).toBeGreaterThan(0);
    // The exporter's side, summed over the killed lifetimes' last scrapes.
    for (const code of ['200', '403', '404', '422', '429', '500', 'timeout', 'network'])
      expect(requestCodes.get(code), `requests code ${code}`).toBeGreaterThan(0);
    for (const reason of ['throttled', 'server_error', 'timeout', 'network', 'invalid_response', 'invalid_record']) {
      expect(retryReasons.get(reason), `retries ${reason}`).toBeGreaterThan(0);
    }
    console.log(
      `chaos: exporter requests by code ${JSON.stringify(Object.fromEntries(requestCodes))}, retries/invalid ${JSON.stringify(Object.fromEntries(retryReasons))}`,
    );
    // Records that failed validation belonged to builds that finished; the exact exposition above counted them.
    const finished = new Set(simulator.groundTruth().flatMap((job) => job.finished.map((b) => `${job.id}#${b.buildNo}`)));
    const invalidFinished = invalid.map((line) => `${String(line.job_id)}#${String(line.build_no)}`).filter((key) => finished.has(key));
    expect(invalidFinished.length).toBeGreaterThan(0);
  });

  it('the sentinel token appears in no log line of any lifetime, nor in /metrics or the landing page', async () => {
    const metrics = await (await fetch(`${finalUrl}/metrics`)).text();
    const landing = await (await fetch(`${finalUrl}/`)).text();
    const final = lifetimes.at(-1);
    final?.process.kill('SIGTERM');
    expect((await final?.process.exit())?.code).toBe(0);
    const warnings = lifetimes.flatMap((lifetime) => lifetime.lines).filter((line) => ['warn', 'error', 'fatal'].includes(line.level));
    expect(warnings.length).toBeGreaterThan(10);
    for (const [i, lifetime] of lifetimes.entries()) {
      expect(lifetime.rawStdout.length, `lifetime ${i} stdout`).toBeGreaterThan(0);
      expect(lifetime.rawStdout.includes(SENTINEL), `lifetime ${i} stdout`).toBe(false);
      expect(lifetime.rawStderr.includes(SENTINEL), `lifetime ${i} stderr`).toBe(false);
    }
    expect(metrics.includes(SENTINEL)).toBe(false);
    expect(landing.includes(SENTINEL)).toBe(false);
  });
});
