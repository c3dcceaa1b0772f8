import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../src/support/clock.js';
import { freePort } from './prometheus.js';

/** A real forward proxy (Debian's tinyproxy) on loopback, its log kept for assertions. */
export interface Tinyproxy {
  url: string;
  port: number;
  /** Every request line it logged: `CONNECT localhost:443 HTTP/1.1`, `GET http://127.0.0.1:80/x HTTP/1.1`. */
  requestLines(): string[];
  /** Tunnels opened to `host:port`. */
  connects(hostPort: string): number;
  stop(): Promise<void>;
}

/** Starts tinyproxy in the foreground with a generated config on a free port (retried if the port is taken meanwhile). */
export async function startTinyproxy(dir: string, options: { basicAuth?: { user: string; password: string } } = {}): Promise<Tinyproxy> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      return await launch(dir, port, options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function launch(dir: string, port: number, options: { basicAuth?: { user: string; password: string } }): Promise<Tinyproxy> {
  const config = join(dir, `tinyproxy-${port}.conf`);
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 30',
      'LogLevel Info',
      'MaxClients 200',
      'Allow 127.0.0.1',
      'DisableViaHeader Yes',
      // No ConnectPort line: CONNECT is allowed to any port (the test servers use random ones).
      ...(options.basicAuth ? [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`] : []),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('tinyproxy', ['-d', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 5000;
  while (!log.includes('Accepting connections')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tinyproxy did not start on port ${port}: ${log.slice(-500)}`);
    }
    await sleep(20);
  }
  const requestLines = () => [...log.matchAll(/Request \(file descriptor \d+\): (.+)$/gm)].map((match) => (match[1] ?? '').trim());
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requestLines,
    connects: (hostPort) => requestLines().filter((line) => line === `CONNECT ${hostPort} HTTP/1.1`).length,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
