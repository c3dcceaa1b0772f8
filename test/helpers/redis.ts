import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sleep } from '../../src/support/clock.js';
import { itWithBinary } from './binaries.js';
import { freePort } from './prometheus.js';

/** `it` for tests that need Debian's redis-server: fails (never skips) under CI or REQUIRE_E2E=1. */
export const itWithRedis = itWithBinary('redis-server', 'redis-server');

/** A real redis-server on 127.0.0.1, a free port and its own temp dir. */
export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** A plain client for assertions (not the exporter's). */
  client(): Redis;
  /** SIGKILL (data since the last fsync of the AOF is what survives). */
  kill(): Promise<void>;
  /** Starts it again on the same port and dir (reads its AOF when `appendonly`). */
  restart(): Promise<void>;
  /** Kills it and removes its dir. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** AOF with fsync on every write, as docs/high-availability.md asks for. */
  appendonly?: boolean;
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cbe-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    ...(options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  let child: ChildProcess = await launch(args, port);
  const clients: Redis[] = [];
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    client: () => {
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    kill,
    restart: async () => {
      await kill();
      child = await launch(args, port);
    },
    stop: async () => {
      for (const client of clients) client.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const deadline = Date.now() + 10_000;
  while (!log.includes('Ready to accept connections')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}: ${log.slice(-800)}`);
    }
    await sleep(20);
  }
  return child;
}
