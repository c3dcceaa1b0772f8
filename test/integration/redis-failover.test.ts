import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { RecordedLifetime, sleep, waitUntil } from '../helpers/chaos.js';
import { writeConfig } from '../helpers/exporter-process.js';
import { parseExposition, type Sample } from '../helpers/exposition.js';
import { compareAll } from '../helpers/ground-truth.js';
import { itWithRedis, startRedis, type RedisServer } from '../helpers/redis.js';

// Issue 11, items 5 and 6: a replica's failover, and Redis itself SIGKILLed and restarted on its AOF.
const TOKEN = 'SENTINEL-TOKEN-REDIS-FAILOVER';
const LEASE_MS = 2000;
const PERIOD_MS = 1000;

describe('failover on Redis', () => {
  let simulator: Simulator | undefined;
  let redis: RedisServer | undefined;
  let dir: string | undefined;
  const lifetimes: RecordedLifetime[] = [];
  afterEach(async () => {
    for (const lifetime of lifetimes.splice(0)) {
      lifetime.process.kill('SIGKILL');
      await lifetime.process.exit(5000);
    }
    await simulator?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function config(sim: Simulator, server: RedisServer, jobs: ReadonlyArray<{ id: string; name: string }>): string {
    dir = mkdtempSync(join(tmpdir(), 'cbe-redis-failover-'));
    return writeConfig(dir, {
      codearts: { endpoint: sim.url, auth: { token: TOKEN }, request_timeout: '3s', max_requests_per_second: 200 },
      poll: { schedule: '* * * * * *', start_at: 1 },
      jobs: jobs.map(({ id, name }) => ({ id, name })),
      server: { host: '127.0.0.1', port: 0 },
      state: { backend: 'redis', redis: { url: server.url, key_prefix: 'fo:', lease: `${LEASE_MS}ms` } },
      log: { level: 'info' },
    });
  }

  async function start(configPath: string, count: number): Promise<Array<{ lifetime: RecordedLifetime; url: string }>> {
    const started = await Promise.all(Array.from({ length: count }, () => RecordedLifetime.run(configPath)));
    lifetimes.push(...started.map((s) => s.lifetime));
    return started;
  }

  itWithRedis(
    'after SIGKILL of the replica polling a job, the job is polled again within lease + one poll period',
    async () => {
      // Slow answers: a poll holds its lease for most of a second, so the kill lands mid-poll.
      simulator = await createSimulator({ seed: 5, jobs: 1, latencyMs: 700, token: TOKEN, clock: 'realtime', speed: 60 });
      redis = await startRedis();
      const job = simulator.jobs()[0] as { id: string; name: string };
      const replicas = await start(config(simulator, redis, [job]), 2);
      const client = redis.client();
      let holder = '';
      await waitUntil(
        async () => {
          holder = (await client.get(`fo:{j:${job.id}}:lease`)) ?? '';
          return holder !== '';
        },
        15_000,
        5,
      );
      const pid = Number(holder.split(':')[1]);
      const victim = replicas.find((r) => r.lifetime.process.child.pid === pid);
      expect(victim, `lease token ${holder} names one of the replicas`).toBeDefined();
      victim?.lifetime.process.kill('SIGKILL');
      simulator.resetRequests();
      await sleep(LEASE_MS + PERIOD_MS + 1500);
      const again = simulator.requests().log.find((entry) => entry.jobId === job.id && entry.endpoint !== 'iam-token');
      expect(again, 'polled again by the survivor').toBeDefined();
      console.log(
        `failover: job polled again ${again?.t} ms after the SIGKILL of its poller (lease ${LEASE_MS} ms, period ${PERIOD_MS} ms)`,
      );
      // The survivor's first request after the kill; 100 ms for its tick, claim and send on a loaded machine.
      expect(again?.t).toBeLessThanOrEqual(LEASE_MS + PERIOD_MS + 100);
    },
    60_000,
  );

  itWithRedis(
    'Redis SIGKILLed and restarted on its AOF: /readyz 503 meanwhile, replicas recover without a restart, exact',
    async () => {
      simulator = await createSimulator({ seed: 9, jobs: 6, buildEverySeconds: 200, token: TOKEN });
      const sim = simulator;
      redis = await startRedis({ appendonly: true });
      const replicas = await start(config(sim, redis, sim.jobs()), 2);
      const clock = setInterval(() => sim.advance(15), 100);
      const get = (url: string) => fetch(url, { signal: AbortSignal.timeout(3000) });
      const totals = async (url: string) => {
        const samples: Sample[] = parseExposition(await (await get(`${url}/metrics`)).text());
        return new Map(samples.filter((s) => s.name === 'codearts_builds_total').map((s) => [JSON.stringify(s.labels), s.value]));
      };
      try {
        await sleep(6000);
        const before = await totals(replicas[0]?.url ?? '');
        expect([...before.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
        await redis.kill();
        for (const { url } of replicas) {
          expect(await waitUntil(async () => (await get(`${url}/readyz`)).status === 503, 5000, 50), `${url} /readyz 503`).toBe(true);
          expect((await get(`${url}/metrics`)).status, 'no frozen numbers while Redis is down').toBe(503);
        }
        await sleep(3000);
        await redis.restart();
        for (const { url } of replicas)
          expect(await waitUntil(async () => (await get(`${url}/readyz`)).status === 200, 10_000, 50), `${url} /readyz 200`).toBe(true);
        const after = await totals(replicas[1]?.url ?? '');
        for (const [series, value] of before) expect(after.get(series), `${series} after the restart`).toBeGreaterThanOrEqual(value);
        await sleep(4000);
      } finally {
        clearInterval(clock);
      }
      const url = replicas[1]?.url ?? '';
      const exposition = async () => parseExposition(await (await get(`${url}/metrics`)).text());
      await waitUntil(async () => compareAll(await exposition(), sim.groundTruth()).length === 0, 30_000, 250);
      expect(compareAll(await exposition(), sim.groundTruth())).toEqual([]);
      for (const { lifetime } of replicas) expect(lifetime.process.child.exitCode, 'still the same process').toBeNull();
    },
    90_000,
  );
});
