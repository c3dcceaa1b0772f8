import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { parseConfigText } from '../config/load.js';
import type { CountedBuild } from '../domain/counters.js';
import { emptyJobState, type JobRef } from '../domain/job.js';
import { Exporter } from '../exporter.js';
import { createLogger } from '../log/logger.js';
import { FileStore } from '../state/file-store.js';
import { RedisStore } from '../state/redis-store.js';
import { sleep } from '../support/clock.js';
import { benchJobs, PromClientBuildMetrics, StoreSink, SyntheticFleet, type BuildSink, type SyntheticGauges } from './mix.js';
import { median } from './stats.js';

/**
 * Issue 11, item 8: `/metrics` of a replica whose build families come from Redis (committed by
 * another replica, read on scrape by per-job version) against the file backend's `/metrics` and
 * prom-client rendering the same build series; and the Redis commands a job poll costs.
 */
export interface RedisScrapeResult {
  jobs: number;
  lines: number;
  redisMs: number;
  fileMs: number;
  promClientMs: number;
  /** Commands Redis processed per job poll (claim, begin, commit, end of claim), as counted by INFO. */
  commandsPerPoll: number;
  commandsPerScrape: number;
  runs: { redis: number[]; file: number[]; promClient: number[] };
}

/** Commits as another replica does: under the job's lease. */
class ReplicaSink implements BuildSink {
  constructor(private readonly store: RedisStore) {}

  async commit(job: JobRef, builds: readonly CountedBuild[], gauges: SyntheticGauges): Promise<void> {
    if ((await this.store.claim(job.id, 0)) !== 'ok') throw new Error(`job ${job.id} busy`);
    const from = (await this.store.begin(job.id)) ?? { version: 0, state: emptyJobState() };
    const next = {
      ...from.state,
      last: gauges.last,
      ...(gauges.lastSuccessAt !== undefined ? { lastSuccessAt: gauges.lastSuccessAt } : {}),
    };
    await this.store.commit(job.id, from.version, { counted: builds, queued: [], next });
    await this.store.endClaim(job.id, false);
  }
}

export function redisServerAvailable(): boolean {
  return !spawnSync('redis-server', ['--version']).error;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

async function startRedisServer(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  for (let waited = 0; !log.includes('Ready to accept connections'); waited += 20) {
    if (waited > 10_000 || child.exitCode !== null) throw new Error(`redis-server did not start: ${log.slice(-300)}`);
    await sleep(20);
  }
  return { url: `redis://127.0.0.1:${port}`, child };
}

function exporterConfig(jobs: readonly JobRef[], state: Record<string, unknown>) {
  const raw = {
    codearts: { endpoint: 'http://127.0.0.1:9', auth: { token: 'bench-token-NOT-A-SECRET' } },
    jobs: jobs.map((job) => ({ id: job.id, name: job.name })),
    metrics: { job_histograms: true },
    server: { host: '127.0.0.1', port: 0 },
    state,
    log: { level: 'error' },
  };
  return parseConfigText(JSON.stringify(raw), { env: {} });
}

const logger = () => createLogger('error', { write: () => undefined });

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

async function commandsProcessed(store: RedisStore): Promise<number> {
  const info = await store.redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

export async function redisScrapeBench(options: { jobs: number; rounds: number; changeFraction: number }): Promise<RedisScrapeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cbe-bench-redis-'));
  const server = await startRedisServer(dir);
  const jobs = benchJobs(options.jobs);
  const redisState = { backend: 'redis', path: join(dir, 'unused.json'), redis: { url: server.url, key_prefix: 'bench:' } };
  const closers: Array<() => Promise<void>> = [];
  try {
    let fileSink: StoreSink | undefined;
    const file = await Exporter.create({
      config: exporterConfig(jobs, { path: join(dir, 'state.json') }),
      logger: logger(),
      openStore: async (layout, events) => {
        const store = await FileStore.open(join(dir, 'state.json'), { layout, events });
        fileSink = new StoreSink(store, events);
        return store;
      },
    });
    closers.push(() => file.stop());
    const replica = await Exporter.create({ config: exporterConfig(jobs, redisState), logger: logger() });
    closers.push(() => replica.stop());
    const layout = {
      recordLabels: [],
      durationBuckets: file.config.metrics.duration_buckets,
      queueBuckets: file.config.metrics.queue_buckets,
    };
    const writer = await RedisStore.open({
      url: server.url,
      keyPrefix: 'bench:',
      leaseMs: 30_000,
      slot: () => 0,
      replica: 'writer',
      layout,
    });
    closers.push(() => writer.close());
    const registry = new Registry();
    const mirror = new PromClientBuildMetrics(registry, { jobHistograms: true, ...layout });
    for (const job of jobs) mirror.setJob(job.id, job.name);
    if (!fileSink) throw new Error('file store not opened');
    const synthetic = new SyntheticFleet(jobs, [fileSink, new ReplicaSink(writer), mirror]);
    await synthetic.fill();
    return await measure({ synthetic, file, replica, registry, writer, ...options });
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

interface MeasureParts {
  synthetic: SyntheticFleet;
  file: Exporter;
  replica: Exporter;
  registry: Registry;
  writer: RedisStore;
  jobs: number;
  rounds: number;
  changeFraction: number;
}

/** Each round: a fraction of the jobs committed (by the other replica), then one scrape of each side after a GC, sides alternating. */
async function measure(parts: MeasureParts): Promise<RedisScrapeResult> {
  const { synthetic, file, replica, registry, writer } = parts;
  const gc = gcFunction();
  const body = (await replica.scrapes.body('identity')).toString('utf8');
  const runs = { redis: [] as number[], file: [] as number[], promClient: [] as number[] };
  let polls = 0;
  let pollCommands = 0;
  let scrapeCommands = 0;
  const sides: Array<[keyof typeof runs, () => Promise<unknown>]> = [
    ['redis', () => replica.scrapes.body('identity')],
    ['file', () => file.scrapes.body('identity')],
    ['promClient', () => registry.metrics()],
  ];
  for (let round = 0; round < parts.rounds; round++) {
    const before = await commandsProcessed(writer);
    polls += await synthetic.change(parts.changeFraction, round);
    const afterPolls = await commandsProcessed(writer);
    pollCommands += afterPolls - before - 1;
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const [side, scrape] of order) {
      gc();
      const start = side === 'redis' ? await commandsProcessed(writer) : 0;
      runs[side].push(await timed(scrape));
      if (side === 'redis') scrapeCommands += (await commandsProcessed(writer)) - start - 1;
    }
  }
  return {
    jobs: parts.jobs,
    lines: body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length,
    redisMs: median(runs.redis),
    fileMs: median(runs.file),
    promClientMs: median(runs.promClient),
    commandsPerPoll: pollCommands / Math.max(1, polls),
    commandsPerScrape: scrapeCommands / parts.rounds,
    runs,
  };
}
