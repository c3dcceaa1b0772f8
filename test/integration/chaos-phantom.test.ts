import { afterEach, describe, expect, it } from 'vitest';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { select } from '../helpers/exposition.js';
import { createTestExporter, scrape, testConfig, type LogCapture } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';

const JOB = { id: 'c4a05000000000000000000000000901', name: 'phantom', history: 5, buildEverySeconds: 600 };

/**
 * Found by the chaos run: a broken 200 answer (a record that violates the schema) to the probe of a
 * build that does not exist yet made the exporter take the number as seen; the next cycle found
 * it gone and dropped it, and the real build that later got the number was never fetched.
 */
describe('a schema-violating answer for a build that does not exist yet', () => {
  let simulator: Simulator | undefined;
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
  });

  it('does not make the exporter lose the build that later gets that number', async () => {
    simulator = await createSimulator({ seed: 5, jobs: [JOB], gapProbability: 0 });
    let logs: LogCapture;
    ({ exporter, logs } = await createTestExporter(testConfig(simulator, { codearts: { retry: { retries: 0 } } })));
    await exporter.runCycle();
    const before = simulator.groundTruth()[0];
    expect(before?.inProgress).toEqual([]);
    const next = (before?.highest ?? 0) + 1;

    // The job's first request of the cycle is the probe of `next`, which does not exist yet.
    simulator.inject('schema', { count: 1, jobId: JOB.id, endpoint: 'record-info-v4' });
    await exporter.runCycle();
    expect(logs.lines.some((line) => line.msg === 'invalid build record; will fetch it again' && line.build_no === next)).toBe(true);
    const invalid = select(await scrape(exporter), 'codearts_exporter_invalid_records_total', { job_id: JOB.id })[0]?.value;
    expect(invalid).toBe(1);
    await exporter.runCycle();

    // Time passes: `next` and later builds are created and finish.
    for (let i = 0; i < 40 && (simulator.groundTruth()[0]?.finished.length ?? 0) < next + 2; i++) {
      simulator.advance(300);
      await exporter.runCycle();
    }
    for (let i = 0; i < 20; i++) {
      simulator.advance(3600);
      await exporter.runCycle();
    }
    const truth = simulator.groundTruth()[0];
    if (!truth) throw new Error('no job');
    expect(truth.finished.map((b) => b.buildNo)).toContain(next);
    expect(compareCounters(await scrape(exporter), truth)).toEqual([]);
  }, 60_000);
});
