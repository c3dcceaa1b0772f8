import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { JobFamily } from '../../src/metrics/job-family.js';
import { partsText } from '../helpers/exposition.js';

/** The hand-rendered per-job self-metric families print what prom-client printed for them. */
describe('JobFamily', () => {
  it('renders what a prom-client Counter and Gauge given the same calls render', async () => {
    const registry = new Registry();
    const labelNames = ['job_id', 'job_name'];
    const help = { counter: 'Invalid records.', gauge: 'Last poll \\ time\nof a job.' };
    const prom = {
      counter: new Counter({ name: 'x_invalid_total', help: help.counter, labelNames, registers: [registry] }),
      gauge: new Gauge({ name: 'x_last_seconds', help: help.gauge, labelNames, registers: [registry] }),
    };
    const ours = {
      counter: new JobFamily('x_invalid_total', 'counter', help.counter),
      gauge: new JobFamily('x_last_seconds', 'gauge', help.gauge),
    };
    const render = () => partsText(ours.counter.parts()) + partsText(ours.gauge.parts());
    // prom-client separates families with an empty line, which the text format ignores.
    const promClient = async () => (await registry.metrics()).replace(/\n\n+/g, '\n');

    const a = { job_id: 'a1', job_name: 'backend' };
    const b = { job_id: 'b2', job_name: 'quote " back \\ slash \n newline' };
    const c = { job_id: 'c3', job_name: 'docs' };
    expect(render()).toBe(await promClient());
    for (const side of [prom, ours]) {
      for (const labels of [a, b, c]) side.counter.inc(labels, 0);
      side.counter.inc(b, 3);
      side.gauge.set(a, 1_767_225_600.123);
      side.gauge.set(c, 1_767_225_601);
    }
    expect(render()).toBe(await promClient());
    for (const side of [prom, ours]) {
      side.counter.remove(a);
      side.gauge.set(c, 7);
      side.counter.inc({ job_id: 'a1', job_name: 'renamed' }, 0);
    }
    expect(render()).toBe(await promClient());
    expect(ours.counter.get(b)).toBe(3);
    expect(() => ours.counter.inc(b, -1)).toThrow(RangeError);
  });
});
