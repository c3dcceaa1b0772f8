import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type SimJobSpec, type Simulator } from '../../src/simulator/index.js';
import { select, valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, type LogCapture } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';

const JOB_COUNT = 1000;
const TIMEOUT_MS = 300;
const JOBS: SimJobSpec[] = Array.from({ length: JOB_COUNT }, (_, i) => ({
  id: `b0${String(i).padStart(30, '0')}`,
  name: `job-${i}`,
  history: 2,
  buildEverySeconds: 900,
}));

describe('API black-holed at 1,000 jobs: the circuit breaker ends cycles quickly, nothing is lost', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  const timed = async (run: () => Promise<{ outcome: string }>) => {
    const started = Date.now();
    const summary = await run();
    return { outcome: summary.outcome, started, ended: Date.now() };
  };
  const openedAt = (logs: LogCapture, after: number): number | undefined =>
    logs.lines
      .filter((line) => line.msg.startsWith('CodeArts unreachable: circuit open'))
      .map((line) => Date.parse(line.time))
      .find((time) => time >= after);

  it('opens after a run of timeouts, ends the cycle within 3 × request_timeout, probes with one request, resumes in one cycle', async () => {
    simulator = await createSimulator({ seed: 31, jobs: JOBS, gapProbability: 0 });
    const config = testConfig(simulator, {
      codearts: { request_timeout: `${TIMEOUT_MS}ms`, max_concurrency: 16, retry: { retries: 2, min_delay: '10ms', max_delay: '20ms' } },
      log: { level: 'info' },
    });
    let logs: LogCapture;
    ({ exporter, logs } = await createTestExporter(config));
    expect((await exporter.runCycle()).outcome).toBe('success');

    // Attempts as the exporter counts them: the in-process simulator may record a request the
    // client already gave up on only after the cycle ended, when the busy event loop gets to it.
    const attempts = async () =>
      select(await scrape(exporter!), 'codearts_exporter_api_requests_total', { endpoint: 'record-info' }).reduce(
        (sum, s) => sum + s.value,
        0,
      );
    simulator.advance(1800);
    simulator.inject('blackhole', { probability: 1 });
    let attemptsBefore = await attempts();
    const outage = await timed(() => exporter!.runCycle());
    const opened = openedAt(logs, outage.started);
    expect(opened, 'the circuit never opened').toBeDefined();
    const afterOpenMs = outage.ended - opened!;
    const sent = (await attempts()) - attemptsBefore;
    console.info(
      `black hole: cycle ${outage.ended - outage.started} ms, ${afterOpenMs} ms after the circuit opened, ${sent} requests sent for ${JOB_COUNT} jobs`,
    );
    expect(outage.outcome).toBe('failure');
    expect(afterOpenMs).toBeLessThanOrEqual(3 * TIMEOUT_MS);
    // Only the requests in flight when it opened (max_concurrency) plus the run that opened it went out.
    expect(sent).toBeLessThanOrEqual(10 + 2 * 16);
    let samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_circuit_open')).toBe(1);
    expect(valueOf(samples, 'codearts_exporter_up')).toBe(0);
    const refused = logs.lines.filter(
      (line) => line.msg.startsWith('polling job failed') && JSON.stringify(line.err).includes('circuit open'),
    );
    expect(refused.length).toBeGreaterThan(JOB_COUNT - 50);
    expect(logs.lines.filter((line) => line.msg.startsWith('CodeArts unreachable')).length).toBe(1);

    // Still down: the next cycle sends one probe, which times out, and ends right after it.
    attemptsBefore = await attempts();
    const stillDown = await timed(() => exporter!.runCycle());
    expect(stillDown.outcome).toBe('failure');
    expect((await attempts()) - attemptsBefore).toBe(1);
    expect(stillDown.ended - stillDown.started).toBeLessThan(3 * TIMEOUT_MS);

    // Back: the probe closes the circuit and the same cycle reaches every job.
    simulator.clearFaults();
    simulator.advance(900);
    const back = await timed(() => exporter!.runCycle());
    expect(back.outcome).toBe('success');
    expect(logs.lines.filter((line) => line.msg.startsWith('CodeArts reachable again: circuit closed')).length).toBe(1);
    for (let i = 0; i < 3; i++) expect((await exporter.runCycle()).outcome).toBe('success');
    samples = await scrape(exporter);
    expect(valueOf(samples, 'codearts_exporter_circuit_open')).toBe(0);
    const truth = simulator.groundTruth();
    expect(truth.reduce((sum, job) => sum + job.finished.length, 0)).toBeGreaterThan(2 * JOB_COUNT);
    // Grouped by job first: compareCounters scans the samples it is given, 1,000 times over.
    const byJob = new Map<string, typeof samples>();
    for (const sample of samples) {
      if (sample.name !== 'codearts_builds_total' && sample.name !== 'codearts_build_triggers_total') continue;
      const id = sample.labels.job_id ?? '';
      byJob.set(id, [...(byJob.get(id) ?? []), sample]);
    }
    const mismatches = truth.flatMap((job) => compareCounters(byJob.get(job.id) ?? [], job));
    expect(mismatches).toEqual([]);
  }, 120_000);
});
