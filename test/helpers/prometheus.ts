/**
 * A real Prometheus server (the Debian `prometheus` binary) for end-to-end tests: loopback only, a
 * free port, a temporary TSDB, 1 s scrape and rule evaluation, the exporter as its only target.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import { sleep } from '../../src/support/clock.js';

/** The scrape job name the shipped alert rules and config/prometheus.yml expect. */
export const EXPORTER_JOB = 'codearts-build-exporter';

export interface PrometheusOptions {
  /** `host:port` of every target of the exporter's scrape job. */
  targets: string[];
  /** Rule files to load; each is copied into the server's temp dir. */
  ruleFiles?: string[];
  /** @default EXPORTER_JOB */
  jobName?: string;
  /** @default '1s' */
  scrapeInterval?: string;
  /** @default '1s' */
  evaluationInterval?: string;
  /** How long to wait for /-/ready. @default 20000 */
  readyTimeoutMs?: number;
  /** More command-line flags (e.g. `--storage.tsdb.retention.time=60d`, `--enable-feature=exemplar-storage`). */
  extraArgs?: string[];
}

export interface Sample {
  metric: Record<string, string>;
  /** Instant vectors. */
  value?: [number, string];
  /** Range vectors / matrices. */
  values?: Array<[number, string]>;
}

export interface QueryResponse {
  status: 'success' | 'error';
  data?: { resultType: 'vector' | 'matrix' | 'scalar' | 'string'; result: unknown };
  errorType?: string;
  error?: string;
  warnings?: string[];
}

export interface ExemplarResponse {
  status: 'success' | 'error';
  data?: Array<{
    seriesLabels: Record<string, string>;
    exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }>;
  }>;
  errorType?: string;
  error?: string;
}

/** The samples of a vector/matrix answer; a scalar counts as one sample without labels. */
export function resultSamples(response: QueryResponse): Sample[] {
  const data = response.data;
  if (!data) return [];
  if (data.resultType === 'vector' || data.resultType === 'matrix') return data.result as Sample[];
  if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
  return [];
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class PrometheusServer {
  private output = '';
  private readonly exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly dir: string,
  ) {
    const keep = (chunk: string): void => {
      this.output = (this.output + chunk).slice(-20_000);
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // A missing binary surfaces as an 'error' event; keep it for the failure message.
    child.once('error', (error) => keep(`\n${String(error)}\n`));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Last lines Prometheus logged (for failure messages). */
  log(): string {
    return this.output;
  }

  /** Writes the config, starts Prometheus and waits for /-/ready. Retries once on a port race. */
  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await PrometheusServer.startOnce(options);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  private static async startOnce(options: PrometheusOptions): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'cbe-prometheus-'));
    const ruleFiles = (options.ruleFiles ?? []).map((file, i) => {
      const copy = join(dir, `${i}-${basename(file)}`);
      copyFileSync(file, copy);
      return copy;
    });
    const config = {
      global: {
        scrape_interval: options.scrapeInterval ?? '1s',
        scrape_timeout: '1s',
        evaluation_interval: options.evaluationInterval ?? '1s',
      },
      rule_files: ruleFiles,
      scrape_configs: [
        {
          job_name: options.jobName ?? EXPORTER_JOB,
          metrics_path: '/metrics',
          static_configs: [{ targets: options.targets }],
        },
      ],
    };
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, stringify(config));
    const port = await freePort();
    const child = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
    );
    const server = new PrometheusServer(child, `http://127.0.0.1:${port}`, dir);
    try {
      await server.waitReady(options.readyTimeoutMs ?? 20_000);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`prometheus exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready:\n${this.output}`);
      }
      try {
        const response = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus not ready within ${timeoutMs} ms:\n${this.output}`);
      await sleep(100);
    }
  }

  /** An instant query via /api/v1/query (POST form, so long expressions fit). */
  async query(expr: string, time?: number): Promise<QueryResponse> {
    const body = new URLSearchParams({ query: expr });
    if (time !== undefined) body.set('time', String(time));
    const response = await fetch(`${this.url}/api/v1/query`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as QueryResponse;
  }

  /** Exemplars via /api/v1/query_exemplars (needs `--enable-feature=exemplar-storage`). Times in Unix seconds. */
  async queryExemplars(expr: string, start: number, end: number): Promise<ExemplarResponse> {
    const params = new URLSearchParams({ query: expr, start: String(start), end: String(end) });
    const response = await fetch(`${this.url}/api/v1/query_exemplars?${params.toString()}`, { signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as ExemplarResponse;
  }

  /** A range query via /api/v1/query_range. Times in Unix seconds. */
  async queryRange(expr: string, start: number, end: number, step: number): Promise<QueryResponse> {
    const body = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
    const response = await fetch(`${this.url}/api/v1/query_range`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as QueryResponse;
  }

  /**
   * Polls an instant query until `predicate` holds for its samples; resolves with them. Throws after
   * `timeoutMs` with the last answer (a query error fails at once).
   */
  async waitFor(expr: string, predicate: (samples: Sample[]) => boolean, timeoutMs: number, intervalMs = 500): Promise<Sample[]> {
    const deadline = Date.now() + timeoutMs;
    let last: QueryResponse | undefined;
    for (;;) {
      last = await this.query(expr);
      if (last.status !== 'success') throw new Error(`query failed: ${expr}: ${last.errorType}: ${last.error}`);
      const samples = resultSamples(last);
      if (predicate(samples)) return samples;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${expr}; last answer: ${JSON.stringify(last.data).slice(0, 500)}`);
      }
      await sleep(intervalMs);
    }
  }

  /** SIGTERM by PID, SIGKILL after 10 s; removes the temp dir (config, rules, TSDB). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      process.kill(this.child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
          process.kill(this.child.pid, 'SIGKILL');
        }
      }, 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
