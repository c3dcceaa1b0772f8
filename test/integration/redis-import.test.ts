import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../../src/commands/program.js';
import type { Exporter } from '../../src/exporter.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { parseExposition, valueOf } from '../helpers/exposition.js';
import { createTestExporter, scrape, simulatorClock, testConfig } from '../helpers/exporter-harness.js';
import { compareCounters } from '../helpers/ground-truth.js';
import { itWithRedis, startRedis, type RedisServer } from '../helpers/redis.js';

// Issue 11, item 7: `state import` moves a file state into Redis; after the switch no build is counted again.
describe('state import: from the state file to Redis', () => {
  let simulator: Simulator | undefined;
  let redis: RedisServer | undefined;
  let exporter: Exporter | undefined;
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cbe-import-'));
  });
  afterEach(async () => {
    await exporter?.stop();
    await simulator?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, { io: { env: {}, stdout: (l) => out.push(l), stderr: (l) => err.push(l) } });
    return { code, out, err };
  }

  itWithRedis(
    'the Redis replica serves the file’s counts and goes on from its cursors: every build counted once',
    async () => {
      simulator = await createSimulator({ seed: 17, jobs: 8, buildEverySeconds: 300, gapProbability: 0.03 });
      const sim = simulator;
      redis = await startRedis();
      const fileConfig = testConfig(sim, { log: { level: 'warn' } }, dir);
      ({ exporter } = await createTestExporter(fileConfig, { clock: simulatorClock(sim) }));
      for (let i = 0; i < 40; i++) {
        sim.advance(30);
        await exporter.runCycle();
      }
      const before = await scrape(exporter);
      await exporter.stop();
      exporter = undefined;
      const counted = before.filter((s) => s.name === 'codearts_builds_total').reduce((sum, s) => sum + s.value, 0);
      expect(counted).toBeGreaterThan(30);

      const redisState = { backend: 'redis', path: fileConfig.state.path, redis: { url: redis.url, key_prefix: 'imp:' } };
      const configPath = join(dir, 'redis.yml');
      writeFileSync(
        configPath,
        stringify({ codearts: { endpoint: sim.url, auth: { token: 'sim-token-NOT-A-SECRET' } }, jobs: fileConfig.jobs, state: redisState }),
      );
      const imported = await cli(['state', 'import', '--config', configPath]);
      expect(imported.err).toEqual([]);
      expect(imported.code).toBe(0);
      expect(imported.out.join('\n')).toContain('8 of 8 jobs imported');
      // Twice is harmless: what Redis holds is never overwritten.
      const again = await cli(['state', 'import', '--config', configPath]);
      expect(again.out.join('\n')).toContain('0 of 8 jobs imported');

      ({ exporter } = await createTestExporter(testConfig(sim, { state: redisState, log: { level: 'warn' } }), {
        clock: simulatorClock(sim),
      }));
      const served = parseExposition((await exporter.scrapes.body('identity')).toString('utf8'));
      for (const s of before.filter((x) => x.name.startsWith('codearts_build')))
        expect(valueOf(served, s.name, s.labels), s.name).toBe(s.value);
      for (let i = 0; i < 40; i++) {
        sim.advance(30);
        await exporter.runCycle();
      }
      const after = parseExposition((await exporter.scrapes.body('identity')).toString('utf8'));
      for (const job of sim.groundTruth()) {
        const cursor = valueOf(after, 'codearts_build_last_number', { job_id: job.id }) ?? 0;
        expect(
          compareCounters(
            after,
            job,
            job.finished.filter((b) => b.buildNo <= cursor),
          ),
        ).toEqual([]);
      }
    },
    120_000,
  );

  itWithRedis('refuses a config without backend: redis, and a missing file, naming them', async () => {
    simulator = await createSimulator({ seed: 1, jobs: 1 });
    redis = await startRedis();
    const configPath = join(dir, 'file.yml');
    const jobs = simulator.jobs().map(({ id, name }) => ({ id, name }));
    writeFileSync(configPath, stringify({ codearts: { endpoint: simulator.url, auth: { token: 't-NOT-A-SECRET' } }, jobs }));
    const wrong = await cli(['state', 'import', '--config', configPath]);
    expect(wrong.code).toBe(2);
    expect(wrong.err.join('\n')).toContain('state.backend: redis');
    writeFileSync(
      configPath,
      stringify({
        codearts: { endpoint: simulator.url, auth: { token: 't-NOT-A-SECRET' } },
        jobs,
        state: { backend: 'redis', path: join(dir, 'none.json'), redis: { url: redis.url } },
      }),
    );
    const missing = await cli(['state', 'import', '--config', configPath]);
    expect(missing.code).toBe(1);
    expect(missing.err.join('\n')).toContain('none.json holds no job');
  });
});
