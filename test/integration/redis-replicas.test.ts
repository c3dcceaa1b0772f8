import { afterEach, describe, expect } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { parseExposition, valueOf, type Sample } from '../helpers/exposition.js';
import { createTestExporter, simulatorClock, testConfig } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';
import { parseOpenMetrics } from '../helpers/openmetrics.js';
import { itWithRedis, startRedis, type RedisServer } from '../helpers/redis.js';

// Issue 11, items 3 and 4: several replicas on one Redis poll each job once per period and serve
// the same build families.

/** `/metrics` as a scraper gets it (the shared store's changes read first). */
async function scrapeText(exporter: Exporter): Promise<string> {
  return (await exporter.scrapes.body('identity')).toString('utf8');
}

/** Series of codearts_builds_total: "labels" -> value. */
function buildCounters(samples: Sample[]): Map<string, number> {
  return new Map(samples.filter((s) => s.name === 'codearts_builds_total').map((s) => [JSON.stringify(s.labels), s.value]));
}

describe('several replicas on one Redis', () => {
  let simulator: Simulator | undefined;
  let redis: RedisServer | undefined;
  const replicas: Exporter[] = [];
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.stop()));
    await simulator?.close();
    await redis?.stop();
  });

  async function replica(sim: Simulator, server: RedisServer): Promise<Exporter> {
    const config = testConfig(sim, {
      state: { backend: 'redis', redis: { url: server.url, key_prefix: 'ha:' } },
      log: { level: 'warn' },
    });
    const { exporter } = await createTestExporter(config, { clock: simulatorClock(sim) });
    return exporter;
  }

  itWithRedis(
    'three replicas: each job polled once per period (≤ 1.05 × the single-replica floor), identical families, no counter ever decreases, exact',
    async () => {
      redis = await startRedis();
      simulator = await createSimulator({ seed: 21, jobs: 25, buildEverySeconds: 900, gapProbability: 0.02 });
      const sim = simulator;
      const server = redis;
      for (let i = 0; i < 3; i++) replicas.push(await replica(sim, server));
      const last = new Map<string, number>();
      let decreases = 0;
      let floor = 0;
      let sent = 0;
      let compared = 0;
      for (let round = 0; round < 120; round++) {
        // Before the cycle: what the floor needs (pending builds and cursors as the replicas serve them).
        const texts = await Promise.all(replicas.map(scrapeText));
        expect(new Set(texts).size, `round ${round}: replicas scraped at once differ`).toBe(1);
        compared += 1;
        const before = parseExposition(texts[0] ?? '');
        for (const [series, value] of buildCounters(before)) {
          if (value < (last.get(series) ?? 0)) decreases += 1;
          last.set(series, value);
        }
        if (round === 70) {
          // A replica restarts: the families it serves continue where Redis has them.
          await replicas[2]?.stop();
          replicas[2] = await replica(sim, server);
        }
        sim.advance(30);
        const jobs = sim.jobs();
        const cursors = new Map(jobs.map((job) => [job.id, valueOf(before, 'codearts_build_last_number', { job_id: job.id }) ?? 0]));
        const pending = jobs.reduce((sum, job) => sum + (valueOf(before, 'codearts_builds_in_progress', { job_id: job.id }) ?? 0), 0);
        sim.resetRequests();
        // Replicas tick independently: which one reaches Redis first changes from period to period.
        const first = round % replicas.length;
        await Promise.all([...replicas.slice(first), ...replicas.slice(0, first)].map((r) => r.runCycle()));
        const requests = sim.requests();
        if (round < 40) continue; // warm-up: pending sets fill
        const after = parseExposition(await scrapeText(replicas[0] as Exporter));
        let fresh = 0;
        for (const job of sim.groundTruth()) {
          const from = cursors.get(job.id) ?? 0;
          const to = valueOf(after, 'codearts_build_last_number', { job_id: job.id }) ?? 0;
          fresh += job.existing.filter((n) => n > from && n <= to).length;
        }
        floor += pending + fresh + jobs.length;
        sent += requests.recordInfo + (requests.byEndpoint['running-status'] ?? 0);
      }
      const ratio = sent / floor;
      console.log(`3 replicas on Redis: sent ${sent}, single-replica floor ${floor}, ratio ${ratio.toFixed(4)}`);
      expect(floor).toBeGreaterThan(2000);
      expect(ratio, `sent ${sent} for a floor of ${floor}`).toBeLessThanOrEqual(1.05);
      expect(compared).toBe(120);
      expect(decreases).toBe(0);
      // The work was shared: every replica reached jobs itself (its own metrics, on /metrics/replica).
      for (const r of replicas) {
        const own = parseExposition((await r.replicaScrapes?.body('identity'))?.toString('utf8') ?? '');
        expect(own.filter((s) => s.name === 'codearts_exporter_last_successful_poll_timestamp_seconds').length).toBeGreaterThan(0);
        expect(own.some((s) => s.name === 'codearts_builds_total')).toBe(false);
        // In OpenMetrics too, with its own # EOF.
        const ownOpenMetrics = (await r.replicaScrapes?.body('identity', 'openmetrics'))?.toString('utf8') ?? '';
        expect(
          parseOpenMetrics(ownOpenMetrics).some((family) => family.name === 'codearts_exporter_last_successful_poll_timestamp_seconds'),
        ).toBe(true);
      }
      // OpenMetrics: the same samples on every replica; the exemplars are those of the builds each
      // replica committed itself (kept in its memory), so they differ.
      const openMetrics = await Promise.all(replicas.map(async (r) => (await r.scrapes.body('identity', 'openmetrics')).toString('utf8')));
      for (const body of openMetrics) expect(parseOpenMetrics(body).length).toBeGreaterThan(10);
      expect(new Set(openMetrics.map((body) => body.replace(/ # \{[^}]*\} \S+ \S+$/gm, ''))).size).toBe(1);
      expect(openMetrics.every((body) => body.includes(' # {build_no="'))).toBe(true);
      const samples = parseExposition(await scrapeText(replicas[1] as Exporter));
      for (const job of sim.groundTruth()) {
        const cursor = valueOf(samples, 'codearts_build_last_number', { job_id: job.id }) ?? 0;
        expect(
          compareCounters(
            samples,
            job,
            job.finished.filter((b) => b.buildNo <= cursor),
          ),
        ).toEqual([]);
        expect(job.existing.filter((n) => n > cursor).length, `${job.name}: builds past the cursor`).toBeLessThanOrEqual(2);
      }
    },
    180_000,
  );
});
