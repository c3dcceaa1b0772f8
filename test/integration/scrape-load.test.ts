import { afterAll, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { sleep, waitUntil } from '../helpers/chaos.js';
import { createTestExporter, testConfig } from '../helpers/exporter-harness.js';
import { parseExposition, select, valueOf } from '../helpers/exposition.js';

/**
 * Acceptance 4 of issue 5: 50 concurrent scrapers on /metrics for 20 s while the exporter polls
 * 500 jobs on its schedule (new builds arriving all the time). Every response is a 200 with the
 * whole exposition: it ends with the last family in full, and holds every job's
 * codearts_builds_total series; every 25th of each scraper is parsed line by line as well.
 */
const JOBS = 500;
const SCRAPERS = 50;
const LOAD_MS = 20_000;
const RESULTS = 5;

describe('scrape load: 50 concurrent scrapers during active polling of 500 jobs', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  let clock: NodeJS.Timeout | undefined;
  afterAll(async () => {
    if (clock) clearInterval(clock);
    await exporter?.stop();
    await simulator?.close();
  });

  it('answers every scrape with 200 and a complete exposition', async () => {
    simulator = await createSimulator({ seed: 500, jobs: JOBS, latencyMs: 2 });
    const sim = simulator;
    ({ exporter } = await createTestExporter(
      testConfig(sim, {
        codearts: { max_requests_per_second: 1000, max_concurrency: 16 },
        poll: { schedule: '*/2 * * * * *', start_at: 'latest' },
        log: { level: 'warn' },
      }),
    ));
    const ex = exporter;
    const { url } = await ex.start();
    const jobIds = sim.jobs().map((job) => job.id);
    expect(jobIds).toHaveLength(JOBS);
    const polls = async () => select(parseExposition(await ex.renderMetrics()), 'codearts_exporter_polls_total').reduce((sum, s) => sum + s.value, 0);
    expect(await waitUntil(async () => (await polls()) >= 1, 30_000, 200)).toBe(true);

    // The last family of a full exposition, and how its text ends, from a quiet scrape.
    const reference = await (await fetch(`${url}/metrics`)).text();
    const lastType = [...reference.matchAll(/^# TYPE (\S+) (\S+)$/gm)].at(-1);
    const lastFamily = lastType?.[1] ?? '';
    expect(lastFamily).not.toBe('');
    const tailLine = reference.trimEnd().split('\n').at(-1) ?? '';
    const tailName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(tailLine)?.[0] ?? '';
    expect(tailName.startsWith(lastFamily)).toBe(true);

    // Polling stays active: new builds keep arriving in the simulator.
    clock = setInterval(() => sim.advance(10), 100);
    const pollsBefore = await polls();
    sim.resetRequests();
    const countedBefore = select(parseExposition(reference), 'codearts_builds_total').reduce((sum, s) => sum + s.value, 0);

    const latencies: number[] = [];
    const failures: string[] = [];
    let parsed = 0;
    let bytes = 0;
    const deadline = performance.now() + LOAD_MS;
    const check = (status: number, contentType: string | null, text: string): string | undefined => {
      if (status !== 200) return `status ${status}`;
      if (!contentType?.startsWith('text/plain; version=0.0.4')) return `content type ${contentType}`;
      if (!text.endsWith('\n')) return 'no final newline';
      const lastTypeAt = text.lastIndexOf('\n# TYPE ');
      if (!text.startsWith(`# TYPE ${lastFamily} `, lastTypeAt + 1)) return 'last family missing';
      const last = text.slice(text.lastIndexOf('\n', text.length - 2) + 1);
      if (!last.startsWith(tailName)) return `ends with ${JSON.stringify(last.slice(0, 80))}`;
      let series = 0;
      for (let at = text.indexOf('\ncodearts_builds_total{'); at >= 0; at = text.indexOf('\ncodearts_builds_total{', at + 1)) series++;
      if (series < JOBS * RESULTS) return `${series} codearts_builds_total series`;
      return undefined;
    };
    const scraper = async () => {
      let n = 0;
      while (performance.now() < deadline) {
        const started = performance.now();
        try {
          const response = await fetch(`${url}/metrics`);
          const text = await response.text();
          latencies.push(performance.now() - started);
          bytes += text.length;
          const problem = check(response.status, response.headers.get('content-type'), text);
          if (problem) failures.push(problem);
          else if (n++ % 25 === 0) {
            const samples = parseExposition(text);
            const ids = new Set(select(samples, 'codearts_builds_total').map((s) => s.labels.job_id));
            if (ids.size !== JOBS || jobIds.some((id) => !ids.has(id))) failures.push(`${ids.size} jobs in codearts_builds_total`);
            parsed++;
          }
        } catch (error) {
          failures.push(`request failed: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: SCRAPERS }, scraper));
    clearInterval(clock);
    clock = undefined;

    const requestsDuring = sim.requests().log.length;
    const pollsDuring = (await polls()) - pollsBefore;
    // Polling went on under the load, and cycles complete again once it is over.
    expect(await waitUntil(async () => (await polls()) >= pollsBefore + pollsDuring + 2, 30_000, 200)).toBe(true);
    const samples = parseExposition(await ex.renderMetrics());
    const countedDuring = select(samples, 'codearts_builds_total').reduce((sum, s) => sum + s.value, 0) - countedBefore;
    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0);
    console.log(
      `scrape-load: ${latencies.length} scrapes by ${SCRAPERS} scrapers in ${LOAD_MS / 1000} s ` +
        `(${Math.round(bytes / Math.max(1, latencies.length) / 1024)} KiB each, ${parsed} parsed in full), ` +
        `latency p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${pct(1)} ms; meanwhile ${requestsDuring} API requests, ${pollsDuring} poll cycles completed; ${countedDuring} builds counted by the end`,
    );
    expect(failures.slice(0, 5)).toEqual([]);
    expect(latencies.length).toBeGreaterThanOrEqual(SCRAPERS * 2);
    expect(parsed).toBeGreaterThan(0);
    // Polling was under way throughout (slowed: scrapers, exporter and simulator share one event loop here).
    expect(requestsDuring).toBeGreaterThan(0);
    expect(countedDuring).toBeGreaterThan(0);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(1);
    await sleep(0);
  }, 90_000);
});
