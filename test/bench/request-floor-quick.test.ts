import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const BENCH = join(import.meta.dirname, '..', '..', 'dist', 'bench', 'index.js');

interface Row {
  scenario: string;
  measured: string;
  reference: string;
  ratio: number;
  met: boolean | undefined;
  count?: boolean;
}

/**
 * The short variant of `npm run bench` (docs/performance.md): request counts against their floor, never
 * times. Requests per steady-state cycle (gap checks included), per catch-up build and per cold
 * start must stay within the targets; `--check` makes the bench itself exit 1 when one does not.
 */
describe('npm run bench -- --quick --check', () => {
  it('keeps requests within 1.05 x the floor at steady state (with and without running-status, with steps and failure causes, with and without the change feed) and in catch-up, and cold starts within 2*log2(n)+4', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'cbe-bench-')), 'quick.json');
    const run = await promisify(execFile)(
      process.execPath,
      [BENCH, '--quick', '--check', '--only', 'floor,feed,catch-up,cold', '--json', json],
      {
        // Five steady-state runs (steps and failure causes, per-job probing and the change feed side by side).
        timeout: 240_000,
      },
    ).catch((error: unknown) => error as { code?: number; stdout?: string; stderr?: string });
    const report = JSON.parse(readFileSync(json, 'utf8')) as { rows: Row[] };
    const counts = report.rows.filter((row) => row.count);
    expect(counts.map((row) => row.scenario)).toEqual([
      expect.stringContaining('requests per cycle, steady state'),
      expect.stringContaining('requests per cycle, steady state, running-status unpublished'),
      expect.stringContaining('requests per cycle, steady state, metrics.steps and metrics.failures on'),
      expect.stringContaining('per-job probing (change_feed: off'),
      expect.stringContaining('change feed (floor: list pages + pending + new + jobs'),
      expect.stringContaining('cold start'),
      expect.stringContaining('cold start'),
      expect.stringContaining('catch-up'),
    ]);
    for (const row of counts) expect(row.met, `${row.scenario}: ${row.measured} vs ${row.reference} (ratio ${row.ratio})`).toBe(true);
    // With steps and failure causes, the floor is one more request per finished build and one per failed build.
    for (const steady of counts.slice(0, 5)) expect(steady.ratio).toBeLessThanOrEqual(1.05);
    // Side by side on one world: the change feed sends fewer requests than per-job probing.
    const [perJob, feed] = counts.slice(3, 5).map((row) => Number(row.measured.replace(/,/g, '')));
    expect(feed).toBeLessThan(perJob! / 2);
    expect('code' in run ? run.code : 0, run.stderr).toBe(0);
  }, 250_000);
});
