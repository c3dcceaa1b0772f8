import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { Exporter } from '../../src/exporter.js';
import { createLogger } from '../../src/log/logger.js';
import type { Simulator } from '../../src/simulator/index.js';
import { withWallTime, type Clock } from '../../src/support/clock.js';
import { parseExposition, type Sample } from './exposition.js';
import { isPlainObject } from '../../src/support/objects.js';

export interface LogLine {
  /** pino's level label: trace, debug, info, warn, error, fatal. */
  level: string;
  /** ISO 8601. */
  time: string;
  msg: string;
  [key: string]: unknown;
}

/** Captures an in-process logger's JSON lines. */
export class LogCapture {
  readonly stream = new PassThrough();
  readonly lines: LogLine[] = [];
  raw = '';

  constructor() {
    this.stream.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.raw += text;
      for (const line of text.split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as LogLine);
    });
  }
}

/** A config for tests: the simulator's endpoint, fast retries, a temp state file. */
export function testConfig(simulator: Simulator, overrides: Record<string, unknown> = {}, stateDir?: string): Config {
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'cbe-state-'));
  const base = {
    codearts: {
      endpoint: simulator.url,
      auth: { token: 'sim-token-NOT-A-SECRET' },
      request_timeout: '2s',
      max_concurrency: 8,
      max_requests_per_second: 1000,
      retry: { retries: 3, min_delay: '10ms', max_delay: '50ms' },
    },
    // Most tests check what one job's cycle does (gap checks, faults on a build past the cursor,
    // requests per job): they poll every job. The change feed's tests, and the child-process
    // tests (restart, chaos, end-to-end), run with the default, `auto`.
    poll: { schedule: '*/30 * * * * *', start_at: 1, change_feed: 'off' },
    jobs: simulator.jobs().map((job) => ({ id: job.id, name: job.name })),
    server: { host: '127.0.0.1', port: 0 },
    state: { path: join(dir, 'state.json') },
    log: { level: 'debug' },
  };
  return parseConfigText(stringify(deepMerge(base, overrides)), { env: {} });
}

/** An exporter wired to a log capture; `clock` drives its poller (e.g. simulatorClock: the simulator's virtual time). */
export async function createTestExporter(
  config: Config,
  options: { clock?: Clock } = {},
): Promise<{ exporter: Exporter; logs: LogCapture }> {
  const logs = new LogCapture();
  const exporter = await Exporter.create({ config, logger: createLogger(config.log.level, logs.stream, config.log.format), ...options });
  return { exporter, logs };
}

/** The simulator's virtual time as the exporter's wall clock (monotonic time and sleeps stay real). */
export function simulatorClock(simulator: Pick<Simulator, 'now'>): Clock {
  return withWallTime(() => simulator.now() * 1000);
}

export async function scrape(exporter: Exporter): Promise<Sample[]> {
  return parseExposition(await exporter.renderMetrics());
}

export function removeDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}
